/**
 * Macro expansion: `macro name($v, @m, x) { ... }` definitions replaced
 * by their bodies at every call, before semantic analysis.
 *
 * Rules (bpftrace 0.26's): a `$v` parameter takes a scratch variable and
 * the body uses (and may change) the caller's; a `@m` parameter takes a
 * map; a bare-name parameter takes any expression, inserted wherever the
 * name appears (evaluated as often as it appears). The body's own
 * variables are renamed so they never meet the caller's (hygiene), and it
 * may use no map it was not given. A body ending in an expression without
 * `;` has that expression as its value. A zero-parameter macro may be
 * called by its bare name.
 *
 * tsbpf has no block expressions yet: a call used as a value whose macro
 * also has statements is expanded by placing those statements before the
 * statement holding the call, which is allowed only in an assignment or an
 * expression statement, outside `?:`, `&&` and `||` operands.
 *
 * @module
 */

import type {
  Block,
  BuiltinExpr,
  CallExpr,
  Expr,
  IdentExpr,
  MacroDef,
  Program,
  Span,
  Stmt,
  TypeRef,
} from "./ast.ts";
import type { Diagnostics } from "./diagnostics.ts";
import { children } from "./visit.ts";

const EXPR_KINDS: ReadonlySet<string> = new Set([
  "int",
  "str",
  "bool",
  "var",
  "map",
  "builtin",
  "ident",
  "positional",
  "positional_count",
  "call",
  "unary",
  "incdec",
  "binary",
  "ternary",
  "field",
  "tuple_index",
  "index",
  "tuple",
  "cast",
  "sizeof",
  "offsetof",
]);

function isExpr(v: unknown): v is Expr {
  return v !== null && typeof v === "object" &&
    EXPR_KINDS.has((v as { kind?: string }).kind ?? "");
}

function describeArg(e: Expr): string {
  if (e.kind === "var") return "a variable";
  if (e.kind === "map") return "a map";
  return "an expression";
}

/** Whether evaluating `e` changes anything (a call, `++`/`--`). */
function hasEffect(e: Expr): boolean {
  const stack: Expr[] = [e];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.kind === "incdec" || n.kind === "call") return true;
    for (const c of children(n)) stack.push(c as Expr);
  }
  return false;
}

/** Applies `f` to every node in `root` (objects and arrays, depth first). */
function eachNode(root: unknown, f: (n: Record<string, unknown>) => void) {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const n = stack.pop();
    if (n === null || typeof n !== "object") continue;
    if (Array.isArray(n)) {
      stack.push(...n);
      continue;
    }
    const o = n as Record<string, unknown>;
    if (typeof o.kind === "string") f(o);
    for (const [k, v] of Object.entries(o)) if (k !== "span") stack.push(v);
  }
}

/**
 * How far a macro's parameters are from a call's arguments (bpftrace
 * 0.26's measure): 1024 per missing or extra argument, 1 per `$v` or `@m`
 * parameter given something else. 0 is a match.
 */
function distance(m: MacroDef, args: readonly Expr[]): number {
  let d = 1024 * Math.abs(m.params.length - args.length);
  for (let i = 0; i < Math.min(m.params.length, args.length); i++) {
    const p = m.params[i].kind;
    if ((p === "var" || p === "map") && args[i].kind !== p) d++;
  }
  return d;
}

/** Whether two macros take the same kinds of arguments. */
function sameSignature(a: MacroDef, b: MacroDef): boolean {
  return a.params.length === b.params.length &&
    a.params.every((p, i) =>
      (p.kind === "ident") === (b.params[i].kind === "ident") &&
      (p.kind === "ident" || p.kind === b.params[i].kind)
    );
}

/**
 * Builtins bpftrace 0.26 defines as macros of its standard library
 * (`macro cpu() { __builtin_cpu }`): a user macro of the same name with no
 * parameters replaces them, called or bare. (`pid`, `tid`, `nsecs`, `args`
 * and the others remain builtins: a user macro replaces only `pid()`.)
 */
const STDLIB_MACRO_BUILTINS: ReadonlySet<string> = new Set([
  "cgroup",
  "comm",
  "cpid",
  "cpu",
  "curtask",
  "elapsed",
  "func",
  "gid",
  "has_cpid",
  "jiffies",
  "ncpus",
  "numaid",
  "probe",
  "probetype",
  "rand",
  "retval",
  "uid",
  "usermode",
  "username",
]);

class Expander {
  /** The macros of each name: overloads by number and kind of argument. */
  #macros = new Map<string, MacroDef[]>();
  #diag: Diagnostics;
  #fresh = 0;

  constructor(macros: MacroDef[], diag: Diagnostics) {
    this.#diag = diag;
    for (const m of macros) {
      const same = this.#macros.get(m.name) ?? [];
      if (same.some((o) => sameSignature(o, m))) {
        diag.error(m.span, `Redefinition of macro: ${m.name}`);
        continue;
      }
      same.push(m);
      this.#macros.set(m.name, same);
      this.#checkDefinition(m);
    }
  }

  #checkDefinition(m: MacroDef): void {
    const seen = new Set<string>();
    const what = { var: "Variable", map: "Map", ident: "Ident" };
    for (const p of m.params) {
      const key = `${p.kind}:${p.name}`;
      if (seen.has(key)) {
        const sigil = p.kind === "var" ? "$" : p.kind === "map" ? "@" : "";
        this.#diag.error(
          p.span,
          `${
            what[p.kind]
          } for macro argument has already been used: ${sigil}${p.name}`,
        );
      }
      seen.add(key);
    }
    const maps = new Set(
      m.params.filter((p) => p.kind === "map").map((p) => p.name),
    );
    eachNode(m.body, (n) => {
      if (n.kind === "map" && !maps.has(n.name as string)) {
        const e = n as unknown as Expr;
        this.#diag.error(
          e.span,
          `Unhygienic access to map: @${n.name}. Maps must be passed into the macro as arguments.`,
        );
      }
    });
  }

  /**
   * The macro a call or bare name stands for, if any: the one its
   * arguments match, else (to report the mismatch) the closest of its
   * name. A builtin written as a call, or one 0.26 defines as a standard
   * macro, stands for a user macro only when one matches.
   */
  #macroOf(e: Expr): MacroDef | undefined {
    if (e.kind === "builtin") {
      if (e.raw) return undefined;
      if (!e.called && !STDLIB_MACRO_BUILTINS.has(e.name)) return undefined;
      return this.#macros.get(e.name)?.find((m) => m.params.length === 0);
    }
    if (e.kind !== "call" && e.kind !== "ident") return undefined;
    const args = e.kind === "call" ? e.args : [];
    let best: MacroDef | undefined;
    for (const m of this.#macros.get(e.name) ?? []) {
      if (best === undefined || distance(m, args) < distance(best, args)) {
        best = m;
      }
    }
    return best;
  }

  block(b: Block, stack: MacroDef[]): Block {
    return { ...b, stmts: this.stmts(b.stmts, stack) };
  }

  stmts(list: Stmt[], stack: MacroDef[]): Stmt[] {
    const out: Stmt[] = [];
    for (const s of list) {
      if (s.kind === "expr" && this.#macroOf(s.expr)) {
        const body = this.#instantiate(
          s.expr as CallExpr | IdentExpr | BuiltinExpr,
          out,
          stack,
        );
        if (body === undefined) continue;
        out.push(...body.stmts);
        if (body.value !== undefined && hasEffect(body.value)) {
          out.push({ kind: "expr", expr: body.value, span: body.value.span });
        }
        continue;
      }
      const hoisted: Stmt[] = [];
      const next = this.#stmt(
        s,
        s.kind === "assign" || s.kind === "expr" ? hoisted : null,
        stack,
      );
      if (next.kind === "expr" && next.expr.kind === "block_expr") {
        // A block argument used as a statement (`x;` with x a block):
        // a block, whose last expression is a statement too (0.26
        // accepts `{ printf("hi") }` there).
        const be = next.expr;
        out.push(...hoisted, {
          kind: "block",
          stmts: [...be.stmts, {
            kind: "expr",
            expr: be.value,
            span: be.value.span,
          }],
          span: be.span,
        });
        continue;
      }
      out.push(...hoisted, next);
    }
    return out;
  }

  #stmt(s: Stmt, hoisted: Stmt[] | null, stack: MacroDef[]): Stmt {
    const copy: Record<string, unknown> = { ...s };
    for (const [k, v] of Object.entries(s)) {
      if (k === "span" || v === null || typeof v !== "object") continue;
      const kind = (v as { kind?: string }).kind;
      if (kind === "block") copy[k] = this.block(v as Block, stack);
      else if (kind === "if") copy[k] = this.#stmt(v as Stmt, null, stack);
      else if (isExpr(v)) copy[k] = this.expr(v, hoisted, stack);
      else if (kind === "type" && (v as TypeRef).of !== undefined) {
        // typeof(expr): macros expand inside, with nothing hoisted (the
        // expression is never evaluated).
        const t = v as TypeRef;
        copy[k] = { ...t, of: this.expr(t.of!, null, stack) };
      }
    }
    return copy as unknown as Stmt;
  }

  expr(e: Expr, hoisted: Stmt[] | null, stack: MacroDef[]): Expr {
    const m = this.#macroOf(e);
    if (m) {
      const call = e as CallExpr | IdentExpr | BuiltinExpr;
      // After an error, a 0 in its place: no errors that follow from it.
      const zero: Expr = { kind: "int", value: 0n, raw: "0", span: e.span };
      const body = this.#instantiate(call, hoisted, stack);
      if (body === undefined) return zero;
      if (body.value === undefined) {
        this.#diag.error(
          e.span,
          `Macro ${m.name}() has no value: its body ends with a statement`,
        );
        return zero;
      }
      if (body.stmts.length > 0) {
        if (hoisted === null) {
          this.#diag.error(
            e.span,
            `Macro ${m.name}() has statements before its value: call it as a statement or in an assignment here (block expressions are not supported yet)`,
          );
          return zero;
        }
        hoisted.push(...body.stmts);
      }
      return body.value;
    }
    const copy: Record<string, unknown> = { ...e };
    const conditional = e.kind === "ternary" ||
      (e.kind === "binary" && (e.op === "&&" || e.op === "||"));
    for (const [k, v] of Object.entries(e)) {
      if (k === "span") continue;
      // Operands evaluated only sometimes take no hoisted statements.
      const into = conditional && k !== "cond" && k !== "left" ? null : hoisted;
      if (isExpr(v)) copy[k] = this.expr(v, into, stack);
      else if (Array.isArray(v)) {
        copy[k] = v.map((x) => isExpr(x) ? this.expr(x, into, stack) : x);
      }
    }
    return copy as unknown as Expr;
  }

  /** The macro's body for this call: its statements and value. */
  #instantiate(
    call: CallExpr | IdentExpr | BuiltinExpr,
    hoisted: Stmt[] | null,
    stack: MacroDef[],
  ): { stmts: Stmt[]; value?: Expr } | undefined {
    const m = this.#macroOf(call)!;
    if (stack.includes(m)) {
      this.#diag.error(
        call.span,
        `Recursive macro call detected. Call chain: ${
          [...stack.slice(stack.indexOf(m)), m].map((d) => d.name).join(" > ")
        }`,
      );
      return undefined;
    }
    const args = call.kind === "call"
      ? call.args.map((a) => this.expr(a, hoisted, stack))
      : [];
    if (args.length !== m.params.length) {
      this.#diag.error(
        call.span,
        `Call to ${m.name}() has the wrong number of arguments. Expected: ${m.params.length} but got ${args.length}.`,
      );
      return undefined;
    }
    const vars = new Map<string, string>();
    const maps = new Map<string, string>();
    const exprs = new Map<string, Expr>();
    let ok = true;
    m.params.forEach((p, i) => {
      const a = args[i];
      if (p.kind === "var" && a.kind !== "var") {
        this.#diag.error(
          a.span,
          `Mismatched arg. ${m.name}() expects a variable for arg $${p.name} but got ${
            describeArg(a)
          }.`,
        );
        ok = false;
      } else if (p.kind === "map" && (a.kind !== "map" || a.keys.length > 0)) {
        this.#diag.error(
          a.span,
          `Mismatched arg. ${m.name}() expects a map for arg @${p.name} but got ${
            a.kind === "map" ? "a map element" : describeArg(a)
          }.`,
        );
        ok = false;
      } else if (p.kind === "var" && a.kind === "var") vars.set(p.name, a.name);
      else if (p.kind === "map" && a.kind === "map") maps.set(p.name, a.name);
      else exprs.set(p.name, a);
    });
    if (!ok) return undefined;
    const body = structuredClone(m.body);
    // Errors in the body also show the call it was expanded from.
    const from = { span: call.span, macro: m.name };
    const marked = new Map<Span, Span>();
    eachNode(body, (n) => {
      const span = n.span as Span | undefined;
      if (span === undefined) return;
      let next = marked.get(span);
      if (next === undefined) {
        next = { ...span, expandedFrom: from };
        marked.set(span, next);
      }
      n.span = next;
    });
    // Hygiene: the body's own variables get names no caller can write.
    const id = ++this.#fresh;
    eachNode(body, (n) => {
      if (n.kind === "var") {
        const name = n.name as string;
        n.name = vars.get(name) ?? `__${m.name}_${id}_${name}`;
      } else if (n.kind === "map") {
        n.name = maps.get(n.name as string) ?? n.name;
      }
    });
    // Expression parameters: the caller's expression in place of the name.
    const substitute = (x: Expr): Expr => {
      if (
        (x.kind === "ident" || x.kind === "builtin") && exprs.has(x.name)
      ) {
        return structuredClone(exprs.get(x.name)!);
      }
      const copy: Record<string, unknown> = { ...x };
      for (const [k, v] of Object.entries(x)) {
        if (isExpr(v)) copy[k] = substitute(v);
        else if (Array.isArray(v)) {
          copy[k] = v.map((y) => isExpr(y) ? substitute(y) : y);
        }
      }
      return copy as unknown as Expr;
    };
    const substStmts = (list: Stmt[]): Stmt[] =>
      list.map((s) => {
        const copy: Record<string, unknown> = { ...s };
        for (const [k, v] of Object.entries(s)) {
          if (k === "span" || v === null || typeof v !== "object") continue;
          const kind = (v as { kind?: string }).kind;
          if (kind === "block") {
            copy[k] = {
              ...(v as Block),
              stmts: substStmts((v as Block).stmts),
            };
          } else if (kind === "if") copy[k] = substStmts([v as Stmt])[0];
          else if (isExpr(v)) copy[k] = substitute(v);
          else if (kind === "type" && (v as TypeRef).of !== undefined) {
            const t = v as TypeRef;
            copy[k] = { ...t, of: substitute(t.of!) };
          }
        }
        return copy as unknown as Stmt;
      });
    const stmts = substStmts(body.stmts);
    const inner = [...stack, m];
    const last = m.hasValue ? stmts.pop() : undefined;
    const out = this.stmts(stmts, inner);
    if (last === undefined || last.kind !== "expr") return { stmts: out };
    const value = this.expr(last.expr, out, inner);
    return { stmts: out, value };
  }
}

/**
 * The program with every macro call expanded and the definitions removed
 * (the input is not changed); errors go to `diag`.
 *
 * @example Usage
 * ```ts
 * import { expandMacros } from "./macros.ts";
 * import { Diagnostics } from "./diagnostics.ts";
 * import { parse } from "./parser.ts";
 * import assert from "node:assert/strict";
 * const { ast } = parse("macro inc($x) { $x += 1; } begin { $a = 1; inc($a); }");
 * const out = expandMacros(ast, new Diagnostics());
 * assert.deepEqual(out.probes[0].body.stmts.map((s) => s.kind), ["assign", "assign"]);
 * ```
 *
 * @param program The parsed program.
 * @param diag Where errors go.
 * @returns The expanded program.
 */
export function expandMacros(program: Program, diag: Diagnostics): Program {
  if (!program.macros?.length) return program;
  if (program.probes.length === 0) {
    diag.error(program.span, "Program has no probes");
  }
  const x = new Expander(program.macros, diag);
  const out: Program = {
    ...program,
    probes: program.probes.map((p) => ({
      ...p,
      ...(p.predicate ? { predicate: x.expr(p.predicate, null, []) } : {}),
      body: x.block(p.body, []),
    })),
  };
  delete out.macros;
  return out;
}
