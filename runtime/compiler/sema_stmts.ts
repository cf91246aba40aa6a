/**
 * Statement checks: blocks, `if`, `while`, `unroll`, `for` loops, `let`
 * declarations and assignments to variables and maps, which fix each
 * scratch variable's type and each map's value type on first use. They
 * reach the unit type checker (`sema.ts`) through `SemaScope`.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { CTX_BUILTINS } from "./known_names.ts";
import { walk } from "../lang/visit.ts";
import { castType } from "./type_names.ts";
import { kernelIntType } from "./sema_members.ts";
import {
  type AggName,
  AGGS,
  type MapInfo,
  type SemaScope,
} from "./sema_scope.ts";
import {
  NONE,
  S64,
  stored,
  STRING_SIZE,
  type SType,
  tupleOf,
  typeName,
  U64,
  unify,
} from "./types.ts";

/** Checks every statement of a block. */
export function checkBlock(c: SemaScope, b: ast.Block): void {
  for (const s of b.stmts) checkStmt(c, s);
}

/** Checks one statement. */
export function checkStmt(c: SemaScope, s: ast.Stmt): void {
  switch (s.kind) {
    case "block":
      checkBlock(c, s);
      return;
    case "expr": {
      const e = s.expr;
      if (e.kind === "call" && AGGS.has(e.name)) {
        c.err(
          e.span,
          `${e.name}() should be directly assigned to a map`,
        );
      }
      c.expr(e, true);
      return;
    }
    case "assign":
      checkAssign(c, s);
      return;
    case "if": {
      checkCond(c, s.cond, "if");
      checkBlock(c, s.then);
      if (s.else !== undefined) checkStmt(c, s.else);
      return;
    }
    case "unroll": {
      const n = c.constInt(s.count);
      if (n === undefined) {
        c.err(s.count.span, "unroll count must be an integer literal");
      } else if (n > 100n) {
        c.err(s.count.span, "unroll maximum value is 100");
      } else if (n < 1n) {
        c.err(s.count.span, "unroll minimum value is 1");
      }
      checkBlock(c, s.body);
      return;
    }
    case "while": {
      checkCond(c, s.cond, "while");
      c.loopDepth++;
      checkBlock(c, s.body);
      c.loopDepth--;
      return;
    }
    case "break":
    case "continue":
      if (c.loopDepth === 0) {
        c.err(s.span, `${s.kind} used outside of a loop`);
      }
      return;
    case "return": {
      if (s.value === undefined) return;
      // 0.26: any probe may return an integer, the program's r0.
      const t = c.expr(s.value);
      if (t.k !== "int") {
        c.err(
          s.span,
          `Probe return values can only be integers. Found ${typeName(t)}`,
        );
      }
      return;
    }
    case "let":
      checkLet(c, s);
      return;
    case "for":
      checkFor(c, s);
      return;
  }
}

/** `let $x [: type] [= value]`. */
function checkLet(c: SemaScope, s: ast.LetStmt): void {
  const name = s.target.name;
  let declared: SType | undefined;
  const of = s.type?.of;
  if (of !== undefined) {
    // typeof(name) names a type; typeof(expr) is the expression's type.
    const named = { ...s.type!, name: of.kind === "ident" ? of.name : "" };
    const t = of.kind === "ident" && !c.u.vars.has(of.name)
      ? castType(named) ?? kernelIntType(c, named)
      : (of.kind === "var" && c.declared.get(of.name)) || c.expr(of);
    if (t === undefined || t.k === "none" || t.k === "agg") {
      c.err(
        s.type!.span,
        `Cannot declare a variable of type "${
          t === undefined ? (of as ast.IdentExpr).name : typeName(t)
        }"`,
      );
    } else {
      c.u.vars.set(name, t.k === "int" ? stored(t) : t);
      c.declared.set(name, t);
      declared = t;
    }
  } else if (s.type !== undefined) {
    declared = s.type.name === "string" && s.type.pointer === 0
      ? { k: "str", size: STRING_SIZE }
      : castType(s.type) ?? kernelIntType(c, s.type);
    if (declared === undefined) {
      c.err(
        s.type.span,
        `Cannot declare a variable of type "${s.type.name}"`,
      );
    } else {
      c.u.vars.set(
        name,
        declared.k === "int" ? stored(declared) : declared,
      );
      c.declared.set(name, declared);
    }
  }
  if (s.value !== undefined) {
    checkAssign(c, {
      kind: "assign",
      op: "=",
      target: s.target,
      value: s.value,
      span: s.span,
    });
    return;
  }
  if (declared === undefined && !c.u.vars.has(name)) {
    c.untyped.add(name);
  }
  c.u.types.set(s.target, c.u.vars.get(name) ?? S64);
}

/** `for ($kv : @map)` or `for ($i : from..to)`. */
function checkFor(c: SemaScope, s: ast.ForStmt): void {
  const name = s.target.name;
  if (s.map !== undefined) {
    const m = s.map;
    if (m.keys.length > 0) {
      c.err(
        m.span,
        "A for loop iterates over a whole map: write it without keys",
      );
      return;
    }
    const info = c.maps.get(`@${m.name}`);
    if (info === undefined || info.kind === undefined) {
      if (c.diag !== undefined) {
        c.err(
          m.span,
          `Undefined map: @${m.name}${c.mapHint(`@${m.name}`)}`,
        );
      }
    } else if (info.nkeys === 0) {
      c.err(
        m.span,
        `A for loop needs a map with keys: @${m.name} has none`,
      );
    } else if (
      info.kind !== "value" && info.kind !== "count" && info.kind !== "sum" &&
      info.kind !== "min" && info.kind !== "max" && info.kind !== "avg"
    ) {
      c.err(
        m.span,
        `A for loop cannot iterate over a map of ${info.kind}()`,
      );
    } else {
      // Per-CPU aggregations: the value is the total over the CPUs
      // (codegen_agg_read.ts), as bpftrace's map_lookup_percpu_elem loop.
      const vt: SType = info.kind === "value" ? info.value! : {
        k: "int",
        size: 8,
        signed: info.kind === "sum"
          ? info.sumSigned ?? true
          : info.kind !== "count",
      };
      const t = tupleOf([info.key!, vt]);
      c.u.vars.set(name, t);
      c.declared.set(name, t);
      c.u.types.set(s.target, t);
      c.u.types.set(m, NONE);
    }
  } else {
    for (const e of [s.from!, s.to!]) {
      const t = c.expr(e);
      if (t.k !== "int" && t.k !== "none") {
        c.err(e.span, `Invalid type for a range bound: ${typeName(t)}`);
      }
    }
    c.u.vars.set(name, S64);
    c.declared.set(name, S64);
    c.u.types.set(s.target, S64);
  }
  // The loop body runs in a callback, without the probe's context.
  walk(s.body, (n) => {
    if (
      n.kind === "builtin" &&
      (CTX_BUILTINS.has(n.name) || /^s?arg\d+$/.test(n.name))
    ) {
      c.err(n.span, `'${n.name}' builtin is not allowed in a for-loop`);
    } else if (
      n.kind === "call" &&
      ["kstack", "ustack", "reg", "uaddr"].includes(n.name)
    ) {
      c.err(n.span, `'${n.name}' is not allowed in a for-loop`);
    }
  });
  c.loopDepth++;
  checkBlock(c, s.body);
  c.loopDepth--;
}

/** Checks a condition (of `what`: "if", "while", …) is an integer. */
export function checkCond(c: SemaScope, e: ast.Expr, what: string): void {
  const t = c.expr(e);
  if (t.k !== "int" && t.k !== "none") {
    c.err(e.span, `Invalid condition in ${what}: ${typeName(t)}`);
  }
}

/** Checks an assignment to a variable or map, fixing its type on first use. */
function checkAssign(c: SemaScope, s: ast.AssignStmt): void {
  const t = s.target;
  const v = s.value;
  if (v.kind === "call" && AGGS.has(v.name)) {
    if (t.kind !== "map" || s.op !== "=") {
      c.err(v.span, `${v.name}() should be directly assigned to a map`);
      c.expr(v);
      return;
    }
    c.expr(v);
    const m = c.mapKeys(t);
    if (m === undefined) return;
    const agg = v.name as AggName;
    if (m.kind === undefined) m.kind = agg;
    else if (m.kind !== agg) {
      c.err(
        s.span,
        `Type mismatch for ${m.name}: trying to assign value of type '${agg}' when map already contains a value of type '${
          m.kind === "value" ? typeName(m.value!) : m.kind
        }'`,
      );
      return;
    }
    if (agg === "sum") {
      const at = c.u.types.get(v.args[0]);
      const signed = at?.k === "int" ? at.signed : true;
      m.sumSigned = (m.sumSigned ?? signed) && signed;
    }
    if (agg === "hist") {
      const k = v.args.length === 2 ? c.constInt(v.args[1]) : 0n;
      const bits = Number(k ?? 0n);
      if (m.histBits === undefined) m.histBits = bits;
      else if (m.histBits !== bits) {
        c.err(
          v.span,
          `hist() of ${m.name} was used with ${m.histBits} bits, not ${bits}`,
        );
      }
    }
    if (agg === "tseries") {
      const [, iv, num] = v.args.map((x) => c.constInt(x));
      const at = c.u.types.get(v.args[0]);
      const f = v.args[3]?.kind === "str" ? v.args[3].value : "last";
      if (iv !== undefined && num !== undefined) {
        m.tseries ??= {
          interval: Number(iv),
          num: Number(num),
          agg: f as "last",
          signed: at?.k === "int" ? at.signed : true,
        };
      }
    }
    if (agg === "lhist") {
      const [, a, b, step] = v.args.map((x) => c.constInt(x));
      if (a !== undefined && b !== undefined && step !== undefined) {
        m.lhist = { min: Number(a), max: Number(b), step: Number(step) };
      }
    }
    c.u.types.set(t, NONE);
    return;
  }
  if (v.kind === "map" && s.op === "=" && aggCopy(c, t, v, s.span)) return;
  const vt = c.expr(v);
  if (vt.k === "none" || vt.k === "args") {
    c.err(v.span, `Cannot assign a value of type ${typeName(vt)}`);
    return;
  }
  if (s.op !== "=" && vt.k !== "int") {
    c.err(v.span, `Operator ${s.op} needs an integer operand`);
    return;
  }
  if (t.kind === "var") {
    if (
      s.op !== "=" && c.untyped.has(t.name) && !c.u.vars.has(t.name)
    ) {
      c.u.vars.set(t.name, S64); // `let $x; $x += 1;`: from zero
    }
    const old = c.u.vars.get(t.name);
    if (old === undefined) {
      if (s.op !== "=") {
        c.err(
          t.span,
          `Undefined or undeclared variable: $${t.name}${c.varHint(t.name)}`,
        );
        return;
      }
      c.u.vars.set(
        t.name,
        vt.k === "int" || vt.k === "array" ? stored(vt) : vt,
      );
      c.declared.set(t.name, sizeofType(c, v, vt));
    } else {
      const u = unify(old, vt);
      if (u === undefined) {
        c.err(
          s.span,
          `Type mismatch for $${t.name}: trying to assign value of type '${
            typeName(vt)
          }' when variable already contains a value of type '${typeName(old)}'`,
        );
        return;
      }
      c.u.vars.set(t.name, u);
    }
    c.u.types.set(t, c.u.vars.get(t.name)!);
    return;
  }
  const m = c.mapKeys(t);
  if (m === undefined) return;
  mapValue(c, m, s.op === "=" ? vt : U64, s.span);
  c.u.types.set(t, m.value ?? vt);
}

/**
 * `@x = @agg` and `$x = @agg` as 0.26 checks them: true (after an error)
 * when `@agg`'s value cannot go to `t`. A count, sum, min, max or avg
 * map's value goes to a variable, or to a map already holding integers.
 */
function aggCopy(
  c: SemaScope,
  t: ast.AssignStmt["target"],
  v: ast.MapExpr,
  span: ast.Span,
): boolean {
  const kind = c.maps.get(`@${v.name}`)?.kind;
  if (kind === undefined || kind === "value") return false;
  const castable = /^(count|sum|min|max|avg)$/.test(kind);
  if (t.kind === "var") {
    if (castable) return false;
    c.err(span, `Value '${kind}_t' cannot be assigned to a scratch variable.`);
    return true;
  }
  const into = c.maps.get(`@${t.name}`);
  if (castable && into?.kind === "value" && into.value?.k === "int") {
    return false;
  }
  const call = {
    count: "count()",
    stats: "stats(arg2)",
    lhist: "lhist(rand %10, 0, 10, 1)",
    tseries: "tseries(rand %10, 10s, 1)",
  }[kind as string] ?? `${kind}(retval)`;
  c.err(
    span,
    `Map value '${kind}_t' cannot be assigned from one map to another. The function that returns this type must be called directly e.g. \`@${t.name} = ${call};\`.${
      castable
        ? ` Add a cast to integer if you want the value of the aggregate, e.g. \`@${t.name} = (int64)@${v.name};\`.`
        : ""
    }`,
  );
  return true;
}

/**
 * The type `sizeof` measures for an expression of type `t`, as bpftrace
 * 0.17 does: a variable keeps the width of its first assignment, a
 * builtin is 64 bits wide, a tuple literal lays out its elements at their
 * own widths; anything else measures its own type.
 */
export function sizeofType(c: SemaScope, e: ast.Expr, t: SType): SType {
  switch (e.kind) {
    case "var":
      return c.declared.get(e.name) ?? t;
    case "builtin":
      return t.k === "int" ? stored(t) : t;
    case "tuple": {
      if (t.k !== "tuple" || t.elems.length !== e.elems.length) return t;
      return tupleOf(
        e.elems.map((x, i) => sizeofType(c, x, c.u.types.get(x) ?? t.elems[i])),
      );
    }
    default:
      return t;
  }
}

/** Fixes or checks the value type of map `m` assigned a `vt`. */
export function mapValue(
  c: SemaScope,
  m: MapInfo,
  vt: SType,
  span: ast.Span,
): void {
  if (m.kind !== undefined && m.kind !== "value") {
    c.err(
      span,
      `Type mismatch for ${m.name}: trying to assign value of type '${
        typeName(vt)
      }' when map already contains a value of type '${m.kind}'`,
    );
    return;
  }
  // A pointer in a map keeps where it points and what it points at
  // (bpftrace's `@p++` steps by the pointee's size).
  const st = stored(vt);
  if (m.value === undefined) {
    m.kind = "value";
    m.value = st;
    return;
  }
  const u = unify(m.value, st);
  if (u === undefined) {
    c.err(
      span,
      `Type mismatch for ${m.name}: trying to assign value of type '${
        typeName(vt)
      }' when map already contains a value of type '${typeName(m.value)}'`,
    );
    return;
  }
  m.value = u;
}
