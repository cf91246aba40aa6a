/**
 * Semantic analysis: on the compile units `units.ts` builds, types every
 * expression, fixes each map's key and value layout and each scratch
 * variable's type, and reports errors through a `Diagnostics` collector.
 *
 * This file holds the unit type checker and the expressions; statements
 * are checked in `sema_stmts.ts`, builtins in `sema_builtins.ts`, calls in
 * `sema_calls.ts` and members in `sema_members.ts`, each through the
 * `SemaScope` interface (`sema_scope.ts`).
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import type { Diagnostics } from "../lang/diagnostics.ts";
import { didYouMean } from "../lang/suggest.ts";
import { BUILTINS } from "./known_names.ts";
import { children } from "../lang/visit.ts";
import { literalInt, positionalText } from "./fold.ts";
import { checkCall } from "./sema_calls.ts";
import { checkBuiltin } from "./sema_builtins.ts";
import {
  checkBlock,
  checkCond,
  checkStmt,
  mapValue,
  sizeofType,
} from "./sema_stmts.ts";
import {
  checkField,
  enumConstant,
  kernelCast,
  kernelOffsetOf,
  kernelSizeOf,
  recordValue,
  unknownConstant,
} from "./sema_members.ts";
import type {
  MapInfo,
  ScriptPreamble,
  SemaOptions,
  SemaScope,
} from "./sema_scope.ts";
import { buildUnits, type Unit } from "./units.ts";
import { addressOf, boolCast, indexValue } from "./sema_types.ts";
import { isOutOfScope, scopeHint, shownName, shownNames } from "./scopes.ts";
import { aggregateEq, castableMap, intArrayCast } from "./sema_arrays.ts";
import { arrayField, castType, isPointer, pointerTo } from "./type_names.ts";
import { CStructs } from "./c_structs.ts";
import { keyNames } from "./key_names.ts";
import { preamble } from "./c_preamble.ts";
import { onDemand } from "./on_demand.ts";
import { kernelTypeSource } from "./kernel_types.ts";
import {
  BOOL,
  joinInts,
  S64,
  sizeOf,
  stored,
  STRING_SIZE,
  type SType,
  tupleOf,
  typeName,
  U64,
  unify,
} from "./types.ts";

/** Bytes of the BPF stack. */
const STACK_LIMIT = 512;

export { AGGS } from "./sema_scope.ts";
export type { AggName, MapInfo, SemaOptions } from "./sema_scope.ts";

/** The analysis result. */
export interface Analysis {
  /** One per program to emit. */
  units: Unit[];
  /** User maps by name ("@x"). */
  maps: Map<string, MapInfo>;
  /** Whether `elapsed` is used anywhere. */
  usesElapsed: boolean;
}

export { ARG_REGS, PT_REGS, PT_REGS_SIZE } from "./call_constants.ts";

/**
 * The preamble's conditionals applied (`BPFTRACE_HAVE_BTF` is defined when
 * the kernel's types come from BTF), its structs as types.
 */
function scriptPreamble(prog: ast.Program): ScriptPreamble {
  if (prog.cDefinitions.length === 0 && prog.includes.length === 0) {
    return { definitions: [], defines: new Map() };
  }
  const src = kernelTypeSource();
  const haveBtf = prog.cDefinitions.some((d) => d.text.startsWith("#")) &&
    src?.types().source === "btf";
  const pre: ScriptPreamble = preamble(
    prog.cDefinitions,
    new Set(haveBtf ? ["BPFTRACE_HAVE_BTF"] : []),
    prog.includes,
  );
  const texts = pre.definitions.map((d) => d.text);
  if (src !== undefined && texts.some((t) => /^\s*(struct|union)\b/.test(t))) {
    pre.local = src.preamble(texts);
  }
  if (texts.some((t) => /^\s*enum\b/.test(t))) {
    pre.enums = onDemand("enums").parseCEnums(texts);
  }
  return pre;
}

/**
 * Analyses a parsed program.
 *
 * @example Usage
 * ```ts
 * import { parse } from "../lang/parser.ts";
 * import { Diagnostics } from "../lang/diagnostics.ts";
 * import { analyze } from "./sema.ts";
 * const src = "BEGIN { @x = 1; }";
 * const a = analyze(parse(src).ast, new Diagnostics("stdin", src));
 * console.assert(a.maps.get("@x")?.kind === "value");
 * ```
 */
export function analyze(
  prog: ast.Program,
  diag: Diagnostics,
  opts: SemaOptions = {},
): Analysis {
  const units = buildUnits(
    prog,
    diag,
    opts.tracefsAvailable ?? true,
    opts.pid,
  );
  const maps = new Map<string, MapInfo>();
  const state = { usesElapsed: false };
  const pre = scriptPreamble(prog);
  for (const e of pre.enums?.errors ?? []) {
    diag.error(pre.definitions[e.index].span, e.message);
  }
  const texts = pre.definitions.map((d) => d.text);
  const structs = texts.some((t) => /^\s*(struct|union)\b/.test(t))
    ? onDemand("layout").parseCStructs(texts)
    : new CStructs();
  // Pass 1 fixes map types silently (a map may be read before the probe
  // that assigns it) and finds each variable's widest type; pass 2 reports.
  const widest = new Map<Unit, Map<string, SType>>();
  for (const final of [false, true]) {
    for (const u of units) {
      if (final) widest.set(u, u.vars);
      u.types = new Map();
      u.vars = new Map();
      new UnitTypeChecker(
        u,
        maps,
        final ? diag : undefined,
        opts,
        state,
        structs,
        pre,
        widest.get(u),
      )
        .run();
    }
  }
  return { units, maps, usesElapsed: state.usesElapsed };
}

/**
 * Type-checks one probe unit: gives every expression its type (`Unit.types`),
 * fixes map and variable types, and reports misuse into the diagnostics
 * (on the final pass only; the first pass runs silent).
 */
class UnitTypeChecker implements SemaScope {
  u: Unit;
  maps: Map<string, MapInfo>;
  diag: Diagnostics | undefined;
  opts: SemaOptions;
  state: { usesElapsed: boolean };
  /** How many loops the statement being checked is inside. */
  loopDepth = 0;
  /**
   * Per variable, the type its first assignment gave it, at its own width
   * (`(uint16)1` stays 2 bytes) for `sizeof`; storage widens integers.
   */
  declared = new Map<string, SType>();
  structs: CStructs;
  pre: ScriptPreamble;
  /**
   * Per variable, its type at the end of pass 1: the widest of all its
   * assignments, which is how it is stored.
   */
  #widest: Map<string, SType> | undefined;

  /** Prepares to check one unit; `diag` undefined runs silent (pass 1). */
  constructor(
    u: Unit,
    maps: Map<string, MapInfo>,
    diag: Diagnostics | undefined,
    opts: SemaOptions,
    state: { usesElapsed: boolean },
    structs: CStructs,
    pre: ScriptPreamble,
    widest?: Map<string, SType>,
  ) {
    this.#widest = widest;
    this.pre = pre;
    this.structs = structs;
    this.u = u;
    this.maps = maps;
    this.diag = diag;
    this.opts = opts;
    this.state = state;
  }

  /** `; did you mean "@x"?` for a map that is used but never assigned. */
  mapHint(name: string): string {
    const defined = [...this.maps.values()]
      .filter((m) => m.kind !== undefined).map((m) => m.name);
    return didYouMean(name, defined);
  }

  /** `; did you mean "$x"?` for a variable read before any assignment. */
  varHint(name: string): string {
    return didYouMean(`$${name}`, [...this.u.vars.keys()].map((v) => `$${v}`));
  }

  /** Errors this checker reported. */
  #errors = 0;
  /** `#errors` when the innermost expression being checked began; -1 outside. */
  #exprStart = -1;

  /**
   * Reports an error, once per expression (errors inside an expression
   * make it the error type, so its parents say nothing more).
   */
  err(span: ast.Span, msg: string): void {
    // An expression with an error inside it has the error type: whatever
    // it would now say about its operands (a field of a bad value, a
    // printf argument of the wrong type) only repeats that error.
    if (this.#exprStart >= 0 && this.#errors > this.#exprStart) return;
    this.#errors++;
    this.diag?.error(span, shownNames(msg));
  }

  /** Checks the unit: its predicate, its body, then record uses. */
  run(): void {
    const p = this.u.probe;
    if (p.predicate !== undefined) {
      const t = this.expr(p.predicate);
      if (t.k !== "int" && t.k !== "none") {
        this.err(
          p.predicate.span,
          `Invalid type for predicate: ${typeName(t)}`,
        );
      }
    }
    checkBlock(this, p.body);
    for (const name of this.untyped) {
      if (!this.u.vars.has(name)) this.u.vars.set(name, S64);
    }
    if (kernelTypeSource() !== undefined) this.#checkRecordUses();
  }

  /**
   * Struct and array values are only read through (`.field`, `[i]`,
   * `ntop()` of an address array): anything else (a variable, a map, a
   * printf argument) would copy them, which is refused by name.
   */
  #checkRecordUses(): void {
    const visit = (node: ast.Node, parent: ast.Node | undefined) => {
      const t = this.u.types.get(node as ast.Expr);
      if (t !== undefined && (t.k === "record" || t.k === "array")) {
        const through = (parent?.kind === "field" && parent.expr === node) ||
          (parent?.kind === "index" && parent.expr === node) ||
          (parent?.kind === "call" && parent.name === "ntop") ||
          // sizeof reads nothing (an array of arrays too: 0.26); a
          // comparison #binary has refused already, if it must.
          parent?.kind === "sizeof" ||
          (parent?.kind === "binary" &&
            (parent.op === "==" || parent.op === "!=")) ||
          // An integer array is copied as a value (0.26).
          (stored(t).k === "intarray" && t.size <= STACK_LIMIT);
        // Copied whole, as bpftrace does: printed, or a map's value or key.
        const copied = t.size <= STACK_LIMIT && (
          (parent?.kind === "call" && parent.name === "print" &&
            parent.args[0] === node) ||
          (parent?.kind === "assign" && parent.op === "=" &&
            (parent.value === node || parent.target === node)) ||
          (node.kind === "var" && parent?.kind === "call" &&
            parent.name === "print") ||
          (node.kind === "var" && parent?.kind === "assign" &&
            parent.value === node) ||
          (parent?.kind === "map" && parent.keys.includes(node as ast.Expr)) ||
          parent?.kind === "tuple"
        );
        if (!through && !copied) {
          const big = t.size > STACK_LIMIT
            ? `; at ${t.size} bytes it would not fit the BPF stack (512 bytes)`
            : "";
          this.err(
            (node as ast.Expr).span,
            t.k === "record"
              ? `A ${
                typeName(t)
              } value cannot be copied: read its members with "."${big}`
              : `An array of ${typeName(t)} cannot be copied: index it${big}`,
          );
          return;
        }
      }
      for (const c of children(node)) visit(c, node);
    };
    visit(this.u.probe.body, undefined);
  }

  /** Variables declared by `let $x;` with no type and no value yet. */
  untyped = new Set<string>();

  /** Reports an unknown type, or why its definition could not be used. */
  #unknownType(t: ast.TypeRef): void {
    const bad = this.structs.errors.find((x) => x.type === t.name);
    this.err(t.span, bad?.message ?? `Unknown type "${t.name}"`);
  }

  /**
   * The value of a literal where the language wants one (see
   * `literalInt` in `fold.ts`).
   */
  constInt(e: ast.Expr): bigint | undefined {
    return literalInt(e, this.opts.params ?? []);
  }

  /** The text of positional parameter `e` (`$1`), if given. */
  param(e: ast.PositionalExpr): string | undefined {
    return positionalText(e, this.opts.params ?? []);
  }

  /**
   * Types the keys of a map access and registers the map. Several keys
   * are one tuple key, as in bpftrace 0.26: `@m[a, b]` and `@m[(a, b)]`
   * (or `@m[$t]` with `$t = (a, b)`) name the same element of one map.
   */
  mapKeys(e: ast.MapExpr): MapInfo | undefined {
    const name = `@${e.name}`;
    const kts: SType[] = [];
    for (const k of e.keys) {
      const t = this.expr(k);
      if (t.k === "none" || t.k === "args" || t.k === "agg") {
        this.err(k.span, `Invalid map key type: ${typeName(t)}`);
        return undefined;
      }
      kts.push(stored(t));
    }
    const kt = kts.length === 0
      ? undefined
      : kts.length === 1
      ? kts[0]
      : tupleOf(kts);
    let m = this.maps.get(name);
    if (m === undefined) {
      m = { name, nkeys: kts.length, key: kt, span: e.span };
      if (kt !== undefined) m.keyNames = keyNames(e.keys, kt);
      this.maps.set(name, m);
      return m;
    }
    if ((m.nkeys === 0) !== (kts.length === 0)) {
      // 0.26's words for a map used both with and without keys.
      this.err(
        e.span,
        kts.length === 0
          ? `${name} used as a map without an explicit key (scalar map), previously used with an explicit key (non-scalar map)`
          : `${name} used as a map with an explicit key (non-scalar map), previously used without an explicit key (scalar map)`,
      );
      return undefined;
    }
    if (kt !== undefined && m.key !== undefined) {
      const u = unify(m.key, kt);
      if (u === undefined) {
        this.err(
          e.span,
          `Argument mismatch for ${name}: trying to access with arguments: '${
            typeName(kt)
          }' when map expects arguments: '${typeName(m.key)}'`,
        );
        return undefined;
      }
      m.key = u;
    }
    return m;
  }

  /** Records the type of `e`; returns it. */
  #set(e: ast.Expr, t: SType): SType {
    this.u.types.set(e, t);
    return t;
  }

  /**
   * Checks an expression and records its type; `stmt`: it is a statement
   * of its own (a call whose value is unused).
   */
  expr(e: ast.Expr, stmt = false): SType {
    const outer = this.#exprStart;
    this.#exprStart = this.#errors;
    try {
      return this.#set(e, this.#exprInner(e, stmt));
    } finally {
      this.#exprStart = outer;
    }
  }

  /** `expr` for each kind of node. */
  #exprInner(e: ast.Expr, stmt: boolean): SType {
    switch (e.kind) {
      case "int":
        return S64;
      case "bool":
        return BOOL;
      case "str": {
        // A literal is as long as written, up to the larger of a string's
        // default size and max_strlen.
        const max = Math.max(STRING_SIZE, this.opts.maxStrlen ?? 0);
        if (e.value.length > max - 1) {
          this.err(
            e.span,
            `String is too long (over ${max} bytes): "${e.value}"`,
          );
        }
        return { k: "str", size: e.value.length + 1 };
      }
      case "positional": {
        const v = this.param(e);
        // Not given: 0 (and "" in `str()`), as in bpftrace.
        if (v === undefined) return S64;
        if (/^-?(0x[0-9a-f]+|\d+)$/i.test(v)) return S64;
        return {
          k: "str",
          size: Math.min(v.length + 1, this.opts.maxStrlen ?? STRING_SIZE),
        };
      }
      case "positional_count":
        return S64;
      case "var": {
        const t = this.u.vars.get(e.name);
        if (t === undefined && this.untyped.has(e.name)) {
          this.diag?.warning(
            e.span,
            `Variable used before it was assigned: $${shownName(e.name)}`,
          );
          this.u.vars.set(e.name, S64);
          return S64;
        }
        if (t === undefined && isOutOfScope(e.name)) {
          const n = shownName(e.name);
          this.err(
            e.span,
            `Undefined or undeclared variable: $${n}${scopeHint(n)}`,
          );
          return S64;
        }
        if (t === undefined) {
          this.err(
            e.span,
            `Undefined or undeclared variable: $${e.name}${
              this.varHint(e.name)
            }`,
          );
          return S64;
        }
        // A read before a later, wider assignment (`$t = ("hi", 1); print($t);
        // $t = ("longer", 2);`) reads the variable as it is stored.
        // Only a tuple's layout changes: its elements move.
        const w = this.#widest?.get(e.name);
        if (t.k !== "tuple" || w?.k !== "tuple") return t;
        return unify(t, w) ?? t;
      }
      case "map": {
        const m = this.mapKeys(e);
        if (m === undefined) return S64;
        if (m.kind === undefined) {
          if (this.diag !== undefined) {
            this.err(
              e.span,
              `Undefined map: ${m.name}${this.mapHint(m.name)}`,
            );
          }
          return S64;
        }
        if (m.kind !== "value") {
          const read = castableMap(this, e);
          if (read !== undefined) return read;
          this.err(
            e.span,
            `The value of aggregation map ${m.name} (${m.kind}) cannot be read in an expression`,
          );
          return S64;
        }
        return m.value!;
      }
      case "builtin":
        return checkBuiltin(this, e);
      case "block_expr":
        for (const s of e.stmts) checkStmt(this, s);
        return this.expr(e.value);
      case "ident": {
        const own = this.pre.enums?.constants.get(e.name);
        if (own !== undefined) {
          // A script's enumerator prints as its name (0.26).
          (this.u.consts ??= new Map()).set(e, own.value);
          return { ...S64, enumType: own.type };
        }
        const v = enumConstant(this, e);
        if (v !== undefined) {
          (this.u.consts ??= new Map()).set(e, v);
          return S64;
        }
        this.err(
          e.span,
          /^[A-Z][A-Z0-9_]*$/.test(e.name) && kernelTypeSource() !== undefined
            ? unknownConstant(this, e.name)
            : `Unknown identifier: "${e.name}"${didYouMean(e.name, BUILTINS)}`,
        );
        return S64;
      }
      case "call":
        return checkCall(this, e, stmt);
      case "unary": {
        const t = this.expr(e.expr);
        if (e.op === "&") return addressOf(this, e, t);
        if (e.op === "*") {
          // Dereference: what the pointer points at, else (a plain
          // integer used as an address) a u64, as bpftrace reads it.
          if (t.k !== "int") {
            this.err(e.span, `Invalid operand to unary *: ${typeName(t)}`);
            return S64;
          }
          if (t.rec !== undefined) return recordValue(t);
          if (t.pointee !== undefined) return t.pointee;
          return t.deref ?? U64;
        }
        if (t.k !== "int") {
          this.err(
            e.span,
            `Invalid operand to unary ${e.op}: ${typeName(t)}`,
          );
          return S64;
        }
        if (e.op === "!") return BOOL;
        return { k: "int", size: 8, signed: e.op === "-" ? true : t.signed };
      }
      case "incdec": {
        const t = e.target;
        if (t.kind === "var") {
          const vt = this.u.vars.get(t.name);
          if (vt === undefined) {
            this.err(
              t.span,
              `Undefined or undeclared variable: $${t.name}${
                this.varHint(t.name)
              }`,
            );
            return S64;
          }
          if (vt.k !== "int") {
            this.err(e.span, `Operator ${e.op} needs an integer variable`);
          }
          this.u.types.set(t, vt);
          return vt;
        }
        const m = this.mapKeys(t);
        if (m === undefined) return S64;
        mapValue(this, m, U64, e.span);
        this.u.types.set(t, m.value ?? U64);
        return m.value ?? U64;
      }
      case "binary":
        return this.#binary(e);
      case "ternary": {
        checkCond(this, e.cond, "ternary");
        const a = this.expr(e.then);
        const b = this.expr(e.else);
        const u = unify(a, b);
        if (u === undefined || a.k === "none") {
          this.err(
            e.span,
            `Ternary operands must have one type: ${typeName(a)} and ${
              typeName(b)
            }`,
          );
          return a;
        }
        return a.k === "int" && b.k === "int"
          ? joinInts(a, b, a.signed && b.signed)
          : u;
      }
      case "field":
        return checkField(this, e);
      case "tuple_index": {
        const t = this.expr(e.expr);
        if (t.k !== "tuple") {
          this.err(e.span, `Cannot index a value of type ${typeName(t)}`);
          return S64;
        }
        if (e.index >= t.elems.length) {
          this.err(
            e.span,
            `Tuple index ${e.index} out of range: tuple has ${t.elems.length} elements`,
          );
          return S64;
        }
        return t.elems[e.index];
      }
      case "tuple": {
        const ts = e.elems.map((x) => this.expr(x));
        for (let i = 0; i < ts.length; i++) {
          const t = ts[i];
          if (t.k === "none" || t.k === "args" || t.k === "agg") {
            this.err(e.elems[i].span, `Invalid tuple element: ${typeName(t)}`);
          }
        }
        return tupleOf(ts.map(stored), e.names);
      }
      case "cast": {
        const t = castableMap(this, e.expr) ?? this.expr(e.expr);
        if (
          e.type.name === "bool" && e.type.pointer === 0 &&
          e.type.arrayLength === undefined
        ) {
          return boolCast(this, e, t);
        }
        if (e.type.arrayLength !== undefined && e.type.pointer === 0) {
          return intArrayCast(this, e, t);
        }
        const kt = kernelCast(this, e, t);
        if (kt !== undefined) return kt;
        const ct = castType(e.type);
        if (ct === undefined) {
          this.err(e.type.span, `Cannot cast to "${e.type.name}"`);
          return S64;
        }
        if (
          (t.k === "intarray" ||
            (t.k === "array" && e.expr.kind === "call" &&
              e.expr.name === "pton")) &&
          ct.k === "int" && ct.size === t.size
        ) {
          return ct;
        }
        if (t.k !== "int") {
          this.err(
            e.span,
            `Cannot cast from ${typeName(t)} to ${e.type.name}`,
          );
          return ct;
        }
        // A pointer cast (`(int32 *)p`, `(char **)arg0`) says what it
        // points at; a cast keeps the value's memory origin.
        if (e.type.pointer > 0) {
          const base = castType({ ...e.type, pointer: 0 });
          return pointerTo(
            base?.k === "int" ? base : undefined,
            e.type.pointer,
            t.ptr,
          );
        }
        if (ct.k === "int" && ct.size === 8 && t.ptr !== undefined) {
          return { ...ct, ptr: t.ptr };
        }
        return ct;
      }
      case "sizeof": {
        if (e.arg.kind === "type") {
          const t = e.arg;
          if (/^(struct|union) /.test(t.name) || t.arrayLength !== undefined) {
            const n = this.structs.sizeOf(t.name, t.pointer, t.arrayLength) ??
              kernelSizeOf(this, t);
            if (n === undefined) this.#unknownType(t);
            else (this.u.consts ??= new Map()).set(e, BigInt(n));
          } else if (castType(t) === undefined) {
            let n = kernelSizeOf(this, t);
            if (
              n === undefined && t.pointer === 0 &&
              /^[A-Za-z_]\w*$/.test(t.name) &&
              (this.pre.enums?.constants.has(t.name) ||
                enumConstant(this, {
                    kind: "ident",
                    name: t.name,
                    span: t.span,
                  }) !==
                  undefined)
            ) {
              // `sizeof(BTF_VAR_STATIC)`: an enumerator, 64 bits in 0.26.
              n = 8;
            }
            if (n === undefined) this.#unknownType(t);
            else (this.u.consts ??= new Map()).set(e, BigInt(n));
          }
        } else {
          const t = sizeofType(this, e.arg, this.expr(e.arg));
          (this.u.consts ??= new Map()).set(e, BigInt(sizeOf(t)));
        }
        return U64;
      }
      case "offsetof": {
        let off = this.structs.offsetOf(e.type.name, e.field);
        if (this.structs.get(e.type.name) === undefined) {
          off = kernelOffsetOf(this, e.type, e.field) ?? off;
        }
        if (typeof off === "number") {
          (this.u.consts ??= new Map()).set(e, BigInt(off));
        } else if (
          this.structs.get(e.type.name) === undefined &&
          off.startsWith("Unknown struct")
        ) {
          this.#unknownType(e.type);
        } else this.err(e.span, off);
        return U64;
      }
      case "index": {
        const base = this.expr(e.expr);
        const it = this.expr(e.index);
        if (
          (base.k === "tuple" || base.k === "str" || base.k === "intarray") &&
          arrayField(this.u, e) === undefined
        ) {
          return indexValue(this, e, base, it);
        }
        const a = arrayField(this.u, e);
        if (
          base.k === "array" || (base.k === "int" && base.rec !== undefined)
        ) {
          if (it.k !== "int") {
            this.err(
              e.index.span,
              `Index must be an integer, got ${typeName(it)}`,
            );
          }
          if (base.k === "int") return recordValue(base);
          const i = this.constInt(e.index);
          if (
            i === undefined && e.expr.kind === "call" &&
            e.expr.name === "pton"
          ) {
            this.err(
              e.index.span,
              "The index of pton() must be a constant: copy it to a variable ($a = pton(...); $a[$i])",
            );
          }
          if (i !== undefined && (i < 0n || i >= BigInt(base.count))) {
            this.err(
              e.index.span,
              `Index ${i} is out of bounds for an array of ${base.count} elements`,
            );
          }
          return base.elem.k === "int" || base.elem.k === "record" ||
              base.elem.k === "array" || base.elem.k === "str"
            ? base.elem
            : S64;
        }
        if (a === undefined && base.k === "int" && base.deref !== undefined) {
          // p[i]: the i-th element behind a pointer (`args->argv[1]`).
          if (it.k !== "int") {
            this.err(
              e.index.span,
              `Index must be an integer, got ${typeName(it)}`,
            );
          }
          return base.deref;
        }
        if (a === undefined) {
          this.err(
            e.span,
            "Array subscripts are supported on tracepoint array fields and pointers only",
          );
          return S64;
        }
        const i = this.constInt(e.index);
        if (i === undefined || i < 0n || i >= BigInt(a.field.arrayLen!)) {
          this.err(
            e.index.span,
            `Index must be an integer literal from 0 to ${
              a.field.arrayLen! - 1
            }`,
          );
          return S64;
        }
        return a.elem;
      }
    }
  }

  /** The type of a binary operation, checking its operands agree. */
  #binary(e: ast.BinaryExpr): SType {
    const a = this.expr(e.left);
    const b = this.expr(e.right);
    if (e.op === "==" || e.op === "!=") {
      if (a.k === "str" && b.k === "str") return BOOL;
      if (a.k === "int" && b.k === "int") return BOOL;
      if (a.k === "buf" && b.k === "buf") return BOOL;
      // Same user ids, same function addresses (0.26 compares these).
      if (
        a.k === b.k &&
        (a.k === "username" || a.k === "ksym" || a.k === "usym")
      ) return BOOL;
      const why = aggregateEq(a, b);
      if (why === undefined) return BOOL;
      if (why !== "") {
        this.err(e.span, why);
        return BOOL;
      }
      this.err(
        e.span,
        `Type mismatch for "${e.op}": comparing ${typeName(a)} with ${
          typeName(b)
        }`,
      );
      return U64;
    }
    if (a.k !== "int" || b.k !== "int") {
      this.err(
        e.span,
        `Type mismatch for "${e.op}": ${typeName(a)} and ${typeName(b)}`,
      );
      return S64;
    }
    switch (e.op) {
      case "<":
      case "<=":
      case ">":
      case ">=":
      case "&&":
      case "||":
        return BOOL;
      default: {
        // Pointer ± integer stays a pointer (bpftrace scales the integer
        // by the pointee's size); pointer - pointer is a plain integer.
        const pa = isPointer(a);
        const pb = isPointer(b);
        if ((e.op === "+" || e.op === "-") && pa !== pb) {
          if (pa) return { ...a, size: 8, signed: false };
          if (e.op === "+") return { ...b, size: 8, signed: false };
        }
        const lit = (x: ast.Expr) => x.kind === "int";
        const signed = lit(e.left)
          ? b.signed
          : lit(e.right)
          ? a.signed
          : a.signed && b.signed;
        return { k: "int", size: 8, signed };
      }
    }
  }
}
