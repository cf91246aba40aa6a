/**
 * Semantic analysis: on the compile units `units.ts` builds, types every
 * expression, fixes each map's key and value layout and each scratch
 * variable's type, and reports errors through a `Diagnostics` collector.
 *
 * @module
 */

import { PT_REGS as X86_PT_REGS, PT_REGS_SIZE } from "../probes/pt_regs.ts";
import type * as ast from "../lang/ast.ts";
import type { Diagnostics } from "../lang/diagnostics.ts";
import { didYouMean } from "../lang/suggest.ts";
import { BUILTINS, FUNCTIONS } from "./known_names.ts";
import { children } from "../lang/visit.ts";
import { literalInt, positionalText } from "./fold.ts";
import { buildUnits, type Unit } from "./units.ts";
import {
  arrayField,
  castType,
  fieldType,
  isPointer,
  pointerTo,
} from "./type_names.ts";
import { kernelAddress, signalNumber } from "./call_constants.ts";

import { type ElfInfo, readElf, resolveUprobe } from "../probes/elf.ts";
import { type CStructs, parseCStructs } from "./c_structs.ts";
import { usdtArgType } from "./usdt_units.ts";
import { keyNames } from "./key_names.ts";
import { type Preamble, preamble } from "./c_preamble.ts";
import type { LocalTypes } from "./c_types.ts";
import {
  enumValue,
  kernelTypeSource,
  member,
  namedType,
} from "./kernel_types.ts";
import { checkArg, parseFormat } from "./printf_format.ts";
import {
  type IntType,
  joinInts,
  NONE,
  S64,
  sizeOf,
  stored,
  STRING_SIZE,
  type SType,
  tupleOf,
  typeName,
  U32,
  U64,
  unify,
} from "./types.ts";

/** Bytes of the BPF stack. */
const STACK_LIMIT = 512;

/** Options of the analysis. */
export interface SemaOptions {
  /** Positional parameters `$1`... */
  params?: string[];
  /** Allow `system`, `cat`, `signal`. */
  unsafe?: boolean;
  /**
   * Read tracepoint formats and names from tracefs (default: when it is
   * mounted); `false` uses only the bundled capture.
   */
  tracefsAvailable?: boolean;
  /** The pid of the `-c` child, the value of `cpid`. */
  cpid?: number;
  /** The `-p` process: usdt binaries are looked up in its mappings. */
  pid?: number;
}

/** The aggregation functions. */
export type AggName =
  | "count"
  | "sum"
  | "avg"
  | "min"
  | "max"
  | "stats"
  | "hist"
  | "lhist";

/** The names of the aggregation functions ({@linkcode AggName}). */
export const AGGS: ReadonlySet<string> = new Set<AggName>([
  "count",
  "sum",
  "avg",
  "min",
  "max",
  "stats",
  "hist",
  "lhist",
]);

/** What a map holds, as analysis found it. */
export interface MapInfo {
  /** "@name" or "@". */
  name: string;
  /** Number of keys, fixed at first use. */
  nkeys: number;
  /** Key type: a single type or a tuple for several keys; none for 0. */
  key?: SType;
  /** The aggregation, or "value" for `@m = expr`. */
  kind?: AggName | "value";
  /** Value type for "value" maps. */
  value?: SType;
  /** lhist parameters. */
  lhist?: { min: number; max: number; step: number };
  /** sum: whether the summed expression is signed. */
  sumSigned?: boolean;
  /** Names of the keys, from the key expressions of the first use. */
  keyNames?: string[];
  /** Where first used. */
  span: ast.Span;
}

/** The analysis result. */
export interface Analysis {
  /** One per program to emit. */
  units: Unit[];
  /** User maps by name ("@x"). */
  maps: Map<string, MapInfo>;
  /** Whether `elapsed` is used anywhere. */
  usesElapsed: boolean;
}

/** pt_regs offsets on x86_64, by register name (runtime/probes' table). */
export const PT_REGS: Readonly<Record<string, number>> = X86_PT_REGS;
export { PT_REGS_SIZE };

/** Registers carrying arguments 0-5 on x86_64. */
export const ARG_REGS = ["di", "si", "dx", "cx", "r8", "r9"];

const STACK_DEPTH = 127;

/** A script's preamble: active definitions, constants, its own types. */
interface ScriptPreamble extends Preamble {
  /** Its structs and unions as types (when kernel types are loaded). */
  local?: LocalTypes;
}

/**
 * The preamble's conditionals applied (`BPFTRACE_HAVE_BTF` is defined when
 * the kernel's types come from BTF), its structs as types.
 */
function scriptPreamble(prog: ast.Program): ScriptPreamble {
  if (prog.cDefinitions.length === 0) {
    return { definitions: [], defines: new Map() };
  }
  const src = kernelTypeSource();
  const haveBtf = prog.cDefinitions.some((d) => d.text.startsWith("#")) &&
    src?.types().source === "btf";
  const pre: ScriptPreamble = preamble(
    prog.cDefinitions,
    new Set(haveBtf ? ["BPFTRACE_HAVE_BTF"] : []),
  );
  const texts = pre.definitions.map((d) => d.text);
  if (src !== undefined && texts.some((t) => /^\s*(struct|union)\b/.test(t))) {
    pre.local = src.preamble(texts);
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
  const structs = parseCStructs(pre.definitions.map((d) => d.text));
  // Pass 1 fixes map types silently (a map may be read before the probe
  // that assigns it); pass 2 reports.
  for (const final of [false, true]) {
    for (const u of units) {
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
class UnitTypeChecker {
  #u: Unit;
  #maps: Map<string, MapInfo>;
  #diag: Diagnostics | undefined;
  #opts: SemaOptions;
  #state: { usesElapsed: boolean };
  #loopDepth = 0;
  /**
   * Per variable, the type its first assignment gave it, at its own width
   * (`(uint16)1` stays 2 bytes) for `sizeof`; storage widens integers.
   */
  #declared = new Map<string, SType>();
  #structs: CStructs;
  #pre: ScriptPreamble;

  constructor(
    u: Unit,
    maps: Map<string, MapInfo>,
    diag: Diagnostics | undefined,
    opts: SemaOptions,
    state: { usesElapsed: boolean },
    structs: CStructs,
    pre: ScriptPreamble,
  ) {
    this.#pre = pre;
    this.#structs = structs;
    this.#u = u;
    this.#maps = maps;
    this.#diag = diag;
    this.#opts = opts;
    this.#state = state;
  }

  /** `; did you mean "@x"?` for a map that is used but never assigned. */
  #mapHint(name: string): string {
    const defined = [...this.#maps.values()]
      .filter((m) => m.kind !== undefined).map((m) => m.name);
    return didYouMean(name, defined);
  }

  /** `; did you mean "$x"?` for a variable read before any assignment. */
  #varHint(name: string): string {
    return didYouMean(`$${name}`, [...this.#u.vars.keys()].map((v) => `$${v}`));
  }

  /** Errors this checker reported. */
  #errors = 0;
  /** `#errors` when the innermost expression being checked began; -1 outside. */
  #exprStart = -1;

  #err(span: ast.Span, msg: string): void {
    // An expression with an error inside it has the error type: whatever
    // it would now say about its operands (a field of a bad value, a
    // printf argument of the wrong type) only repeats that error.
    if (this.#exprStart >= 0 && this.#errors > this.#exprStart) return;
    this.#errors++;
    this.#diag?.error(span, msg);
  }

  run(): void {
    const p = this.#u.probe;
    if (p.predicate !== undefined) {
      const t = this.#expr(p.predicate);
      if (t.k !== "int" && t.k !== "none") {
        this.#err(
          p.predicate.span,
          `Invalid type for predicate: ${typeName(t)}`,
        );
      }
    }
    this.#block(p.body);
    if (kernelTypeSource() !== undefined) this.#checkRecordUses();
  }

  /**
   * Struct and array values are only read through (`.field`, `[i]`,
   * `ntop()` of an address array): anything else (a variable, a map, a
   * printf argument) would copy them, which is refused by name.
   */
  #checkRecordUses(): void {
    const visit = (node: ast.Node, parent: ast.Node | undefined) => {
      const t = this.#u.types.get(node as ast.Expr);
      if (t !== undefined && (t.k === "record" || t.k === "array")) {
        const through = (parent?.kind === "field" && parent.expr === node) ||
          (parent?.kind === "index" && parent.expr === node) ||
          (parent?.kind === "call" && parent.name === "ntop");
        if (!through) {
          const big = t.size > STACK_LIMIT
            ? `; at ${t.size} bytes it would not fit the BPF stack (512 bytes)`
            : "";
          this.#err(
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
    visit(this.#u.probe.body, undefined);
  }

  #block(b: ast.Block): void {
    for (const s of b.stmts) this.#stmt(s);
  }

  #stmt(s: ast.Stmt): void {
    switch (s.kind) {
      case "block":
        this.#block(s);
        return;
      case "expr": {
        const e = s.expr;
        if (e.kind === "call" && AGGS.has(e.name)) {
          this.#err(
            e.span,
            `${e.name}() should be directly assigned to a map`,
          );
        }
        this.#expr(e, true);
        return;
      }
      case "assign":
        this.#assign(s);
        return;
      case "if": {
        this.#cond(s.cond, "if");
        this.#block(s.then);
        if (s.else !== undefined) this.#stmt(s.else);
        return;
      }
      case "unroll": {
        const n = this.#constInt(s.count);
        if (n === undefined) {
          this.#err(s.count.span, "unroll count must be an integer literal");
        } else if (n > 100n) {
          this.#err(s.count.span, "unroll maximum value is 100");
        } else if (n < 1n) {
          this.#err(s.count.span, "unroll minimum value is 1");
        }
        this.#block(s.body);
        return;
      }
      case "while": {
        this.#cond(s.cond, "while");
        this.#loopDepth++;
        this.#block(s.body);
        this.#loopDepth--;
        return;
      }
      case "break":
      case "continue":
        if (this.#loopDepth === 0) {
          this.#err(s.span, `${s.kind} used outside of a while loop`);
        }
        return;
      case "return":
        return;
    }
  }

  /** Reports an unknown type, or why its definition could not be used. */
  #unknownType(t: ast.TypeRef): void {
    const bad = this.#structs.errors.find((x) => x.type === t.name);
    this.#err(t.span, bad?.message ?? `Unknown type "${t.name}"`);
  }

  #cond(e: ast.Expr, what: string): void {
    const t = this.#expr(e);
    if (t.k !== "int" && t.k !== "none") {
      this.#err(e.span, `Invalid condition in ${what}: ${typeName(t)}`);
    }
  }

  /**
   * The value of a literal where the language wants one (see
   * `literalInt` in `fold.ts`).
   */
  #constInt(e: ast.Expr): bigint | undefined {
    return literalInt(e, this.#opts.params ?? []);
  }

  /** The text of positional parameter `e` (`$1`), if given. */
  #param(e: ast.PositionalExpr): string | undefined {
    return positionalText(e, this.#opts.params ?? []);
  }

  #assign(s: ast.AssignStmt): void {
    const t = s.target;
    const v = s.value;
    if (v.kind === "call" && AGGS.has(v.name)) {
      if (t.kind !== "map" || s.op !== "=") {
        this.#err(v.span, `${v.name}() should be directly assigned to a map`);
        this.#expr(v);
        return;
      }
      this.#expr(v);
      const m = this.#mapKeys(t);
      if (m === undefined) return;
      const agg = v.name as AggName;
      if (m.kind === undefined) m.kind = agg;
      else if (m.kind !== agg) {
        this.#err(
          s.span,
          `Type mismatch for ${m.name}: trying to assign value of type '${agg}' when map already contains a value of type '${
            m.kind === "value" ? typeName(m.value!) : m.kind
          }'`,
        );
        return;
      }
      if (agg === "sum") {
        const at = this.#u.types.get(v.args[0]);
        const signed = at?.k === "int" ? at.signed : true;
        m.sumSigned = (m.sumSigned ?? signed) && signed;
      }
      if (agg === "lhist") {
        const [, a, b, c] = v.args.map((x) => this.#constInt(x));
        if (a !== undefined && b !== undefined && c !== undefined) {
          m.lhist = { min: Number(a), max: Number(b), step: Number(c) };
        }
      }
      this.#u.types.set(t, NONE);
      return;
    }
    const vt = this.#expr(v);
    if (vt.k === "none" || vt.k === "args") {
      this.#err(v.span, `Cannot assign a value of type ${typeName(vt)}`);
      return;
    }
    if (s.op !== "=" && vt.k !== "int") {
      this.#err(v.span, `Operator ${s.op} needs an integer operand`);
      return;
    }
    if (t.kind === "var") {
      const old = this.#u.vars.get(t.name);
      if (old === undefined) {
        if (s.op !== "=") {
          this.#err(
            t.span,
            `Undefined or undeclared variable: $${t.name}${
              this.#varHint(t.name)
            }`,
          );
          return;
        }
        this.#u.vars.set(t.name, vt.k === "int" ? stored(vt) : vt);
        this.#declared.set(t.name, this.#sizeofType(v, vt));
      } else {
        const u = unify(old, vt);
        if (u === undefined) {
          this.#err(
            s.span,
            `Type mismatch for $${t.name}: trying to assign value of type '${
              typeName(vt)
            }' when variable already contains a value of type '${
              typeName(old)
            }'`,
          );
          return;
        }
        this.#u.vars.set(t.name, u);
      }
      this.#u.types.set(t, this.#u.vars.get(t.name)!);
      return;
    }
    const m = this.#mapKeys(t);
    if (m === undefined) return;
    this.#mapValue(m, s.op === "=" ? vt : U64, s.span);
    this.#u.types.set(t, m.value ?? vt);
  }

  /**
   * The type `sizeof` measures for an expression of type `t`, as bpftrace
   * 0.17 does: a variable keeps the width of its first assignment, a
   * builtin is 64 bits wide, a tuple literal lays out its elements at their
   * own widths; anything else measures its own type.
   */
  #sizeofType(e: ast.Expr, t: SType): SType {
    switch (e.kind) {
      case "var":
        return this.#declared.get(e.name) ?? t;
      case "builtin":
        return t.k === "int" ? stored(t) : t;
      case "tuple": {
        if (t.k !== "tuple" || t.elems.length !== e.elems.length) return t;
        return tupleOf(
          e.elems.map((x, i) =>
            this.#sizeofType(x, this.#u.types.get(x) ?? t.elems[i])
          ),
        );
      }
      default:
        return t;
    }
  }

  #mapValue(m: MapInfo, vt: SType, span: ast.Span): void {
    if (m.kind !== undefined && m.kind !== "value") {
      this.#err(
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
      this.#err(
        span,
        `Type mismatch for ${m.name}: trying to assign value of type '${
          typeName(vt)
        }' when map already contains a value of type '${typeName(m.value)}'`,
      );
      return;
    }
    m.value = u;
  }

  /** Types the keys of a map access and registers the map. */
  #mapKeys(e: ast.MapExpr): MapInfo | undefined {
    const name = `@${e.name}`;
    const kts: SType[] = [];
    for (const k of e.keys) {
      const t = this.#expr(k);
      if (t.k === "none" || t.k === "args" || t.k === "agg") {
        this.#err(k.span, `Invalid map key type: ${typeName(t)}`);
        return undefined;
      }
      kts.push(stored(t));
    }
    const kt = kts.length === 0
      ? undefined
      : kts.length === 1
      ? kts[0]
      : tupleOf(kts);
    let m = this.#maps.get(name);
    if (m === undefined) {
      m = { name, nkeys: kts.length, key: kt, span: e.span };
      if (e.keys.length > 0) m.keyNames = keyNames(e.keys);
      this.#maps.set(name, m);
      return m;
    }
    if (m.nkeys !== kts.length) {
      this.#err(
        e.span,
        `Argument mismatch for ${name}: map has ${m.nkeys} ${
          m.nkeys === 1 ? "key" : "keys"
        }, used with ${kts.length}`,
      );
      return undefined;
    }
    if (kt !== undefined && m.key !== undefined) {
      const u = unify(m.key, kt);
      if (u === undefined) {
        this.#err(
          e.span,
          `Argument mismatch for ${name}: trying to access with arguments: [${
            typeName(kt)
          }] when map expects arguments: [${typeName(m.key)}]`,
        );
        return undefined;
      }
      m.key = u;
    }
    return m;
  }

  #set(e: ast.Expr, t: SType): SType {
    this.#u.types.set(e, t);
    return t;
  }

  #expr(e: ast.Expr, stmt = false): SType {
    const outer = this.#exprStart;
    this.#exprStart = this.#errors;
    try {
      return this.#set(e, this.#exprInner(e, stmt));
    } finally {
      this.#exprStart = outer;
    }
  }

  #exprInner(e: ast.Expr, stmt: boolean): SType {
    switch (e.kind) {
      case "int":
        return S64;
      case "bool":
        return S64;
      case "str": {
        if (e.value.length > STRING_SIZE - 1) {
          this.#err(
            e.span,
            `String is too long (over ${STRING_SIZE} bytes): "${e.value}"`,
          );
        }
        return { k: "str", size: e.value.length + 1 };
      }
      case "positional": {
        const v = this.#param(e);
        if (v === undefined) {
          this.#err(e.span, `Positional parameter $${e.index} is not set`);
          return S64;
        }
        if (/^-?(0x[0-9a-f]+|\d+)$/i.test(v)) return S64;
        return { k: "str", size: Math.min(v.length + 1, STRING_SIZE) };
      }
      case "positional_count":
        return S64;
      case "var": {
        const t = this.#u.vars.get(e.name);
        if (t === undefined) {
          this.#err(
            e.span,
            `Undefined or undeclared variable: $${e.name}${
              this.#varHint(e.name)
            }`,
          );
          return S64;
        }
        return t;
      }
      case "map": {
        const m = this.#mapKeys(e);
        if (m === undefined) return S64;
        if (m.kind === undefined) {
          if (this.#diag !== undefined) {
            this.#err(
              e.span,
              `Undefined map: ${m.name}${this.#mapHint(m.name)}`,
            );
          }
          return S64;
        }
        if (m.kind !== "value") {
          this.#err(
            e.span,
            `The value of aggregation map ${m.name} (${m.kind}) cannot be read in an expression`,
          );
          return S64;
        }
        return m.value!;
      }
      case "builtin":
        return this.#builtin(e);
      case "ident": {
        const v = this.#enumConstant(e);
        if (v !== undefined) {
          (this.#u.consts ??= new Map()).set(e, v);
          return S64;
        }
        this.#err(
          e.span,
          /^[A-Z][A-Z0-9_]*$/.test(e.name) && kernelTypeSource() !== undefined
            ? `Unknown identifier: "${e.name}" is neither a builtin nor an enum constant of the kernel's types; a #define constant from a header is not in BTF: write its value`
            : `Unknown identifier: "${e.name}"${didYouMean(e.name, BUILTINS)}`,
        );
        return S64;
      }
      case "call":
        return this.#call(e, stmt);
      case "unary": {
        const t = this.#expr(e.expr);
        if (e.op === "&") {
          this.#err(e.span, `Operator "${e.op}" is not supported`);
          return S64;
        }
        if (e.op === "*") {
          // Dereference: what the pointer points at, else (a plain
          // integer used as an address) a u64, as bpftrace reads it.
          if (t.k !== "int") {
            this.#err(e.span, `Invalid operand to unary *: ${typeName(t)}`);
            return S64;
          }
          if (t.rec !== undefined) return this.#recordValue(t);
          return t.deref ?? U64;
        }
        if (t.k !== "int") {
          this.#err(
            e.span,
            `Invalid operand to unary ${e.op}: ${typeName(t)}`,
          );
          return S64;
        }
        if (e.op === "!") return U64;
        return { k: "int", size: 8, signed: e.op === "-" ? true : t.signed };
      }
      case "incdec": {
        const t = e.target;
        if (t.kind === "var") {
          const vt = this.#u.vars.get(t.name);
          if (vt === undefined) {
            this.#err(
              t.span,
              `Undefined or undeclared variable: $${t.name}${
                this.#varHint(t.name)
              }`,
            );
            return S64;
          }
          if (vt.k !== "int") {
            this.#err(e.span, `Operator ${e.op} needs an integer variable`);
          }
          this.#u.types.set(t, vt);
          return vt;
        }
        const m = this.#mapKeys(t);
        if (m === undefined) return S64;
        this.#mapValue(m, U64, e.span);
        this.#u.types.set(t, m.value ?? U64);
        return m.value ?? U64;
      }
      case "binary":
        return this.#binary(e);
      case "ternary": {
        this.#cond(e.cond, "ternary");
        const a = this.#expr(e.then);
        const b = this.#expr(e.else);
        const u = unify(a, b);
        if (u === undefined || a.k === "none") {
          this.#err(
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
        return this.#field(e);
      case "tuple_index": {
        const t = this.#expr(e.expr);
        if (t.k !== "tuple") {
          this.#err(e.span, `Cannot index a value of type ${typeName(t)}`);
          return S64;
        }
        if (e.index >= t.elems.length) {
          this.#err(
            e.span,
            `Tuple index ${e.index} out of range: tuple has ${t.elems.length} elements`,
          );
          return S64;
        }
        return t.elems[e.index];
      }
      case "tuple": {
        const ts = e.elems.map((x) => this.#expr(x));
        for (let i = 0; i < ts.length; i++) {
          const t = ts[i];
          if (t.k === "none" || t.k === "args" || t.k === "agg") {
            this.#err(e.elems[i].span, `Invalid tuple element: ${typeName(t)}`);
          }
        }
        return tupleOf(ts.map(stored));
      }
      case "cast": {
        const t = this.#expr(e.expr);
        const kt = this.#kernelCast(e, t);
        if (kt !== undefined) return kt;
        const ct = castType(e.type);
        if (ct === undefined) {
          this.#err(e.type.span, `Cannot cast to "${e.type.name}"`);
          return S64;
        }
        if (t.k !== "int") {
          this.#err(
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
            const n = this.#structs.sizeOf(t.name, t.pointer, t.arrayLength) ??
              this.#kernelSizeOf(t);
            if (n === undefined) this.#unknownType(t);
            else (this.#u.consts ??= new Map()).set(e, BigInt(n));
          } else if (castType(t) === undefined) {
            const n = this.#kernelSizeOf(t);
            if (n === undefined) this.#unknownType(t);
            else (this.#u.consts ??= new Map()).set(e, BigInt(n));
          }
        } else {
          const t = this.#sizeofType(e.arg, this.#expr(e.arg));
          (this.#u.consts ??= new Map()).set(e, BigInt(sizeOf(t)));
        }
        return U64;
      }
      case "offsetof": {
        let off = this.#structs.offsetOf(e.type.name, e.field);
        if (this.#structs.get(e.type.name) === undefined) {
          off = this.#kernelOffsetOf(e.type, e.field) ?? off;
        }
        if (typeof off === "number") {
          (this.#u.consts ??= new Map()).set(e, BigInt(off));
        } else if (
          this.#structs.get(e.type.name) === undefined &&
          off.startsWith("Unknown struct")
        ) {
          this.#unknownType(e.type);
        } else this.#err(e.span, off);
        return U64;
      }
      case "index": {
        const base = this.#expr(e.expr);
        const it = this.#expr(e.index);
        const a = arrayField(this.#u, e);
        if (
          base.k === "array" || (base.k === "int" && base.rec !== undefined)
        ) {
          if (it.k !== "int") {
            this.#err(
              e.index.span,
              `Index must be an integer, got ${typeName(it)}`,
            );
          }
          if (base.k === "int") return this.#recordValue(base);
          const i = this.#constInt(e.index);
          if (i !== undefined && (i < 0n || i >= BigInt(base.count))) {
            this.#err(
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
            this.#err(
              e.index.span,
              `Index must be an integer, got ${typeName(it)}`,
            );
          }
          return base.deref;
        }
        if (a === undefined) {
          this.#err(
            e.span,
            "Array subscripts are supported on tracepoint array fields and pointers only",
          );
          return S64;
        }
        const i = this.#constInt(e.index);
        if (i === undefined || i < 0n || i >= BigInt(a.field.arrayLen!)) {
          this.#err(
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

  #binary(e: ast.BinaryExpr): SType {
    const a = this.#expr(e.left);
    const b = this.#expr(e.right);
    if (e.op === "==" || e.op === "!=") {
      if (a.k === "str" && b.k === "str") return U64;
      if (a.k === "int" && b.k === "int") return U64;
      this.#err(
        e.span,
        `Type mismatch for "${e.op}": comparing ${typeName(a)} with ${
          typeName(b)
        }`,
      );
      return U64;
    }
    if (a.k !== "int" || b.k !== "int") {
      this.#err(
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
        return U64;
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

  #field(e: ast.FieldExpr): SType {
    const t = this.#expr(e.expr);
    if (t.k === "tuple") {
      this.#err(e.span, `Use .N to index a tuple`);
      return S64;
    }
    if (t.k === "record" || (t.k === "int" && t.rec !== undefined)) {
      return this.#member(e, t);
    }
    if (t.k === "int" && !e.arrow && t.ptr !== undefined) {
      this.#err(
        e.span,
        `Cannot access field "${e.field}" of a pointer with ".": use "->"`,
      );
      return S64;
    }
    if (t.k !== "args") {
      this.#err(
        e.span,
        `Cannot access field "${e.field}" of a value of type ${typeName(t)}`,
      );
      return S64;
    }
    const f = this.#u.fields?.get(e.field);
    if (f === undefined) {
      this.#err(
        e.span,
        `Tracepoint "${this.#u.attach[0].target}" has no field "${e.field}"${
          didYouMean(e.field, this.#u.fields?.keys() ?? [])
        }`,
      );
      return S64;
    }
    return fieldType(f, this.#u.userPtrs);
  }

  /** `p->f` or `s.f` on a struct or union (kernel types). */
  #member(e: ast.FieldExpr, t: SType): SType {
    if (t.k === "int") {
      if (!e.arrow) {
        this.#err(
          e.span,
          `Cannot access field "${e.field}" of ${
            typeName(t)
          } with ".": it is a pointer; use "->"`,
        );
        return S64;
      }
    } else if (e.arrow) {
      this.#err(
        e.span,
        `Cannot access field "${e.field}" of ${
          typeName(t)
        } with "->": it is not a pointer; use "."`,
      );
      return S64;
    }
    const rec = t.k === "int" ? t.rec! : (t as SType & { k: "record" }).rec;
    const origin = (t as { ptr?: "user" | "kernel" }).ptr;
    const m = member(rec, e.field, origin);
    if (typeof m === "string") {
      this.#err(e.span, m);
      return S64;
    }
    (this.#u.members ??= new Map()).set(e, m);
    return m.type;
  }

  /** The struct a pointer `t` points at, as a value read through. */
  #recordValue(t: IntType): SType {
    const st: SType = { k: "record", rec: t.rec!, size: t.rec!.size };
    if (t.ptr !== undefined) st.ptr = t.ptr;
    return st;
  }

  /** An enumerator of the kernel's types named by `e`, if there is one. */
  #enumConstant(e: ast.IdentExpr): bigint | undefined {
    const d = this.#pre.defines.get(e.name);
    if (d !== undefined) return d;
    if (kernelTypeSource() === undefined) return undefined;
    return enumValue(e.name);
  }

  /**
   * A cast to a struct, union, enum or typedef pointer of the kernel's
   * types (`(struct sock *)arg0`); undefined for the cast names
   * `castType` knows.
   */
  #kernelCast(e: ast.CastExpr, t: SType): SType | undefined {
    const name = e.type.name;
    const named = /^(struct|union|enum) /.test(name);
    if (!named && castType({ ...e.type, pointer: 0 }) !== undefined) {
      return undefined;
    }
    if (!named && kernelTypeSource() === undefined) return undefined;
    if (
      named && kernelTypeSource() === undefined &&
      this.#structs.get(name) !== undefined
    ) {
      this.#err(
        e.type.span,
        `Cannot read ${name}: kernel types are not loaded`,
      );
      return S64;
    }
    const found = namedType(name, this.#pre.local);
    if (typeof found === "string") {
      // The script defines it in a way its layout cannot be read: say so.
      const bad = this.#structs.errors.find((x) => x.type === name);
      this.#err(e.type.span, bad?.message ?? found);
      return S64;
    }
    if (t.k !== "int") {
      this.#err(
        e.span,
        `Cannot cast from ${typeName(t)} to ${name}${
          "*".repeat(e.type.pointer) ? " " + "*".repeat(e.type.pointer) : ""
        }`,
      );
      return S64;
    }
    if (e.type.pointer === 0) {
      if (found.rec !== undefined) {
        this.#err(
          e.span,
          `Cannot cast to ${found.rec.name}: cast to a pointer (${found.rec.name} *)`,
        );
        return S64;
      }
      if (found.type?.k !== "int") {
        this.#err(e.type.span, `Cannot cast to "${name}"`);
        return S64;
      }
      return found.type;
    }
    let p: IntType = { k: "int", size: 8, signed: false };
    if (t.ptr !== undefined) p.ptr = t.ptr;
    if (found.rec !== undefined) p.rec = found.rec;
    else if (found.type?.k === "int") p.deref = found.type;
    for (let i = 1; i < e.type.pointer; i++) {
      const q: IntType = { k: "int", size: 8, signed: false };
      if (t.ptr !== undefined) q.ptr = t.ptr;
      q.deref = p;
      p = q;
    }
    return p;
  }

  /** `sizeof` of a kernel type, if known. */
  #kernelSizeOf(t: ast.TypeRef): number | undefined {
    if (t.pointer > 0) return 8 * (t.arrayLength ?? 1);
    if (kernelTypeSource() === undefined) return undefined;
    const found = namedType(t.name, this.#pre.local);
    if (typeof found === "string") return undefined;
    return found.types.sizeOf(found.id) * (t.arrayLength ?? 1);
  }

  /** `offsetof` in a kernel type: the offset, an error, or undefined. */
  #kernelOffsetOf(
    t: ast.TypeRef,
    path: readonly string[],
  ): number | string | undefined {
    if (kernelTypeSource() === undefined) return undefined;
    const found = namedType(t.name, this.#pre.local);
    if (typeof found === "string") return undefined;
    let rec = found.rec;
    let off = 0;
    for (const f of path) {
      if (rec === undefined) return `"${f}" is not inside a struct or union`;
      const m = member(rec, f, undefined);
      if (typeof m === "string") return m;
      off += m.offset;
      rec = m.type.k === "record" ? m.type.rec : undefined;
    }
    return off;
  }

  #builtin(e: ast.BuiltinExpr): SType {
    const u = this.#u;
    const name = e.name;
    const m = /^arg(\d+)$/.exec(name);
    if (m !== null) {
      const n = Number(m[1]);
      if (u.kind === "rawtracepoint") {
        u.maxArg = Math.max(u.maxArg, n);
        u.ctx = { kind: "raw_tp", size: (u.maxArg + 1) * 8 };
        return U64;
      }
      if (u.kind === "usdt") {
        const t = usdtArgType(u.attach[0], n);
        if (typeof t === "string") this.#err(e.span, t);
        return typeof t === "string" ? U64 : t;
      }
      if (!["kprobe", "uprobe"].includes(u.kind)) {
        this.#err(
          e.span,
          `The ${name} builtin can only be used with kprobes and uprobes`,
        );
        return U64;
      }
      if (n >= ARG_REGS.length) {
        this.#err(
          e.span,
          `Only ${ARG_REGS.length} arguments are available: ${name}`,
        );
      }
      return {
        k: "int",
        size: 8,
        signed: false,
        ptr: u.kind === "uprobe" ? "user" : "kernel",
      };
    }
    switch (name) {
      case "pid":
      case "tid":
      case "uid":
      case "gid":
      case "cpu":
      case "rand":
        return U32;
      case "nsecs":
      case "cgroup":
      case "jiffies":
        return U64;
      case "numaid":
        return U32;
      case "username":
        return { k: "username" };
      case "cpid":
        if (this.#opts.cpid === undefined) {
          this.#err(e.span, "cpid is only available with -c");
        }
        return U32;
      case "elapsed":
        this.#state.usesElapsed = true;
        return U64;
      case "curtask": {
        const t: IntType = { k: "int", size: 8, signed: false, ptr: "kernel" };
        if (kernelTypeSource() !== undefined) {
          const found = namedType("struct task_struct");
          if (typeof found !== "string" && found.rec) t.rec = found.rec;
        }
        return t;
      }
      case "comm":
        return { k: "str", size: 16 };
      case "probe":
        return { k: "str", size: u.probeText.length + 1 };
      case "retval":
        if (u.kind !== "kretprobe" && u.kind !== "uretprobe") {
          this.#err(
            e.span,
            "The retval builtin can only be used with kretprobes and uretprobes",
          );
        }
        // A returned pointer points into the probed side's memory.
        return { ...U64, ptr: u.kind === "uretprobe" ? "user" : "kernel" };
      case "func":
        if (!["kprobe", "kretprobe", "uprobe", "uretprobe"].includes(u.kind)) {
          this.#err(
            e.span,
            "The func builtin can only be used with kprobes and uprobes",
          );
          return { k: "ksym" };
        }
        return u.kind.startsWith("u") ? { k: "usym" } : { k: "ksym" };
      case "args":
        if (u.kind !== "tracepoint") {
          this.#err(
            e.span,
            "The args builtin can only be used with tracepoints",
          );
        }
        return { k: "args" };
      case "kstack":
      case "stack":
        return this.#stack("kstack");
      case "ustack":
        return this.#stack("ustack");
      case "ctx":
        return { k: "int", size: 8, signed: false, ptr: "kernel" };
      default:
        this.#err(e.span, `The ${name} builtin is not supported`);
        return U64;
    }
  }

  /**
   * A stack value. In BEGIN and END (as in bpftrace) it is the stack of
   * whatever runs the program: the test run in the kernel, none in the
   * interpreter.
   */
  #stack(kind: "kstack" | "ustack", depth = STACK_DEPTH): SType {
    return { k: kind, depth };
  }

  /**
   * `uaddr("sym")`: the address of a symbol of the probe's binary, as a
   * user pointer to an integer of the symbol's size (1, 2 or 4 bytes,
   * else 8). Non-PIE binaries use the symbol's address; for PIE binaries
   * and shared libraries (loaded anywhere) a uprobe adds the load offset
   * it sees at run time (`ip` minus the probed address). A uretprobe
   * cannot see it (`ip` is the return address): PIE there is an error.
   */
  #uaddr(e: ast.CallExpr, name: string): SType {
    const u = this.#u;
    if (u.kind !== "uprobe" && u.kind !== "uretprobe") {
      this.#err(e.span, "uaddr() can only be used with uprobes and uretprobes");
      return U64;
    }
    const targets = new Set(u.attach.map((a) => a.target));
    if (targets.size > 1) {
      this.#err(
        e.span,
        "uaddr() needs all attach points of the probe in one binary",
      );
      return U64;
    }
    const ap = u.attach[0];
    let info: ElfInfo;
    let probeAddr: bigint;
    try {
      const t = resolveUprobe(ap.target, ap.symbol ?? "0", ap.offset ?? 0);
      info = readElf(t.path);
      probeAddr = t.address;
    } catch (err) {
      this.#err(
        e.span,
        `uaddr(): cannot read "${ap.target}": ${
          err instanceof Error ? err.message : String(err)
        }`,
      );
      return U64;
    }
    const sym = info.symbols.find((x) =>
      x.name === name && x.section !== 0 && x.value !== 0n
    );
    if (sym === undefined) {
      this.#err(
        e.args[0].span,
        `Could not resolve symbol: ${info.path}:${name}`,
      );
      return U64;
    }
    const pie = info.type !== 2;
    if (pie && u.kind === "uretprobe") {
      this.#err(
        e.span,
        `uaddr() in a uretprobe needs a non-PIE binary ("${info.path}" is PIE or a shared library)`,
      );
    } else if (pie && u.attach.length > 1) {
      this.#err(
        e.span,
        `uaddr() of a PIE binary needs a probe with one attach point`,
      );
    }
    (u.uaddrs ??= new Map()).set(
      e,
      pie ? { value: sym.value, relativeTo: probeAddr } : { value: sym.value },
    );
    const size = sym.size === 1 || sym.size === 2 || sym.size === 4
      ? sym.size
      : 8;
    return {
      k: "int",
      size: 8,
      signed: false,
      ptr: "user",
      deref: { k: "int", size, signed: true },
    };
  }

  #argc(e: ast.CallExpr, min: number, max = min): boolean {
    const n = e.args.length;
    if (n < min || n > max) {
      const want = min === max
        ? `${min}`
        : max === Infinity
        ? `at least ${min}`
        : `${min} to ${max}`;
      this.#err(
        e.span,
        `${e.name}() takes ${want} ${
          min === 1 && max === 1 ? "argument" : "arguments"
        } (${n} given)`,
      );
      for (const a of e.args) this.#expr(a);
      return false;
    }
    return true;
  }

  #intArg(e: ast.CallExpr, i: number): SType {
    const t = this.#expr(e.args[i]);
    if (t.k !== "int") {
      this.#err(
        e.args[i].span,
        `${e.name}() expects an integer argument ${i + 1}, got ${typeName(t)}`,
      );
    }
    return t;
  }

  #litArg(e: ast.CallExpr, i: number): bigint | undefined {
    this.#expr(e.args[i]);
    const v = this.#constInt(e.args[i]);
    if (v === undefined) {
      this.#err(
        e.args[i].span,
        `${e.name}() expects an integer literal as argument ${i + 1}`,
      );
    }
    return v;
  }

  #strLitArg(e: ast.CallExpr, i: number): string | undefined {
    const a = e.args[i];
    this.#expr(a);
    if (a.kind === "str") return a.value;
    if (a.kind === "positional") {
      const v = this.#param(a);
      if (v !== undefined) return v;
    }
    this.#err(
      a.span,
      `${e.name}() expects a string literal as argument ${i + 1}`,
    );
    return undefined;
  }

  #mapArg(e: ast.CallExpr, i: number, keyed: boolean): MapInfo | undefined {
    const a = e.args[i];
    if (a.kind !== "map") {
      this.#err(a.span, `${e.name}() expects a map argument`);
      this.#expr(a);
      return undefined;
    }
    if (!keyed && a.keys.length > 0) {
      this.#err(a.span, `${e.name}() expects a map without keys`);
      return undefined;
    }
    this.#u.types.set(a, NONE);
    const m = this.#maps.get(`@${a.name}`);
    if (m === undefined) {
      if (this.#diag !== undefined) {
        this.#err(
          a.span,
          `Undefined map: @${a.name}${this.#mapHint(`@${a.name}`)}`,
        );
      }
      return undefined;
    }
    if (m !== undefined && m.kind === undefined && this.#diag !== undefined) {
      this.#err(a.span, `Undefined map: ${m.name}${this.#mapHint(m.name)}`);
    }
    return m;
  }

  #format(e: ast.CallExpr): void {
    if (e.args.length === 0) {
      this.#err(e.span, `${e.name}() takes at least 1 argument (0 given)`);
      return;
    }
    const f = e.args[0];
    const ts = e.args.slice(1).map((a) => this.#expr(a));
    this.#expr(f);
    if (f.kind !== "str") {
      this.#err(f.span, `${e.name}() expects a string literal format`);
      return;
    }
    const specs = parseFormat(f.value);
    if (typeof specs === "string") {
      this.#err(f.span, `${e.name}: ${specs}`);
      return;
    }
    if (specs.length > ts.length) {
      this.#err(
        e.span,
        `${e.name}: Not enough arguments for format string (${ts.length} supplied, ${specs.length} expected)`,
      );
      return;
    }
    if (specs.length < ts.length) {
      this.#err(
        e.span,
        `${e.name}: Too many arguments for format string (${ts.length} supplied, ${specs.length} expected)`,
      );
      return;
    }
    // A format starting with the record separator is a staged emit's wire
    // form (`{ emit: "printf" }` in runtime/staging/events.ts): its `%s`
    // carries every value type, which user space decodes by type.
    const emitForm = f.value.startsWith("\x1e");
    for (let i = 0; i < specs.length; i++) {
      if (emitForm && specs[i].conv === "s") continue;
      const msg = checkArg(e.name, specs[i], ts[i]);
      if (msg !== undefined) this.#err(e.args[i + 1].span, msg);
    }
  }

  #call(e: ast.CallExpr, stmt: boolean): SType {
    const name = e.name;
    const needStmt = (): void => {
      if (!stmt) this.#err(e.span, `${name}() cannot be used as a value`);
    };
    switch (name) {
      case "count":
        this.#argc(e, 0);
        return { k: "agg" };
      case "sum":
      case "avg":
      case "min":
      case "max":
      case "stats":
      case "hist":
        if (this.#argc(e, 1)) this.#intArg(e, 0);
        return { k: "agg" };
      case "lhist":
        if (this.#argc(e, 4)) {
          this.#intArg(e, 0);
          const lo = this.#litArg(e, 1);
          const hi = this.#litArg(e, 2);
          const step = this.#litArg(e, 3);
          if (lo !== undefined && hi !== undefined && step !== undefined) {
            if (step <= 0n) {
              this.#err(e.args[3].span, "lhist() step must be >= 1");
            } else if (hi <= lo) {
              this.#err(e.args[2].span, "lhist() max must be greater than min");
            } else if ((hi - lo) / step > 1000n) {
              this.#err(e.span, "lhist() has too many buckets (over 1000)");
            }
          }
        }
        return { k: "agg" };
      case "printf":
        needStmt();
        this.#format(e);
        return NONE;
      case "system":
      case "cat":
        needStmt();
        // bpftrace 0.17 needs --unsafe for system() only (oomkill.bt
        // calls cat() without it).
        if (name === "system" && !this.#opts.unsafe) {
          this.#err(e.span, `${name}() is an unsafe function: use --unsafe`);
        }
        this.#format(e);
        return NONE;
      case "signal": {
        needStmt();
        if (!this.#opts.unsafe) {
          this.#err(e.span, `signal() is an unsafe function: use --unsafe`);
        }
        if (!this.#argc(e, 1)) return NONE;
        const a = e.args[0];
        if (a.kind === "str") {
          this.#expr(a);
          if (signalNumber(a.value) === undefined) {
            this.#err(a.span, `Unknown signal "${a.value}"`);
          }
        } else this.#intArg(e, 0);
        return NONE;
      }
      case "exit":
        needStmt();
        this.#argc(e, 0);
        return NONE;
      case "print": {
        needStmt();
        if (!this.#argc(e, 1, 3)) return NONE;
        const a = e.args[0];
        if (a.kind === "map" && a.keys.length === 0) {
          this.#mapArg(e, 0, false);
          for (let i = 1; i < e.args.length; i++) this.#litArg(e, i);
          return NONE;
        }
        if (e.args.length > 1) {
          this.#err(e.span, "print() takes 1 argument for a non-map value");
        }
        const t = this.#expr(a);
        if (t.k === "none" || t.k === "args" || t.k === "agg") {
          this.#err(
            a.span,
            `print() cannot print a value of type ${typeName(t)}`,
          );
        }
        return NONE;
      }
      case "clear":
      case "zero":
        needStmt();
        if (this.#argc(e, 1)) this.#mapArg(e, 0, false);
        return NONE;
      case "delete": {
        needStmt();
        if (!this.#argc(e, 1)) return NONE;
        const a = e.args[0];
        if (a.kind !== "map") {
          this.#err(a.span, "delete() expects a map element");
          return NONE;
        }
        const m = this.#mapKeys(a);
        this.#u.types.set(a, NONE);
        if (m !== undefined && m.kind === undefined && this.#diag) {
          this.#err(a.span, `Undefined map: ${m.name}${this.#mapHint(m.name)}`);
        }
        return NONE;
      }
      case "time":
        needStmt();
        if (this.#argc(e, 0, 1) && e.args.length === 1) this.#strLitArg(e, 0);
        return NONE;
      case "str": {
        if (!this.#argc(e, 1, 2)) return { k: "str", size: STRING_SIZE };
        const t = this.#expr(e.args[0]);
        let size = STRING_SIZE;
        if (e.args.length === 2) {
          const n = this.#litArg(e, 1);
          if (n !== undefined) {
            if (n < 1n) this.#err(e.args[1].span, "str() length must be >= 1");
            else size = Math.min(Number(n) + 1, STRING_SIZE);
          }
        }
        if (t.k === "str") return { k: "str", size: Math.min(size, t.size) };
        if (t.k !== "int") {
          this.#err(
            e.args[0].span,
            `str() expects an integer or a string, got ${typeName(t)}`,
          );
        }
        return { k: "str", size };
      }
      case "buf": {
        if (!this.#argc(e, 2)) return { k: "buf", size: 1 };
        this.#intArg(e, 0);
        const n = this.#constInt(e.args[1]);
        if (n === undefined) {
          // A length known only at run time: up to a string's size
          // (bpftrace 0.17's BPFTRACE_STRLEN).
          this.#intArg(e, 1);
          return { k: "buf", size: STRING_SIZE + 1 };
        }
        this.#expr(e.args[1]);
        if (n < 1n || n > 255n) {
          this.#err(e.args[1].span, "buf() length must be between 1 and 255");
          return { k: "buf", size: 1 };
        }
        return { k: "buf", size: Number(n) + 1 };
      }
      case "ksym":
        if (this.#argc(e, 1)) this.#intArg(e, 0);
        return { k: "ksym" };
      case "usym":
        if (this.#argc(e, 1)) this.#intArg(e, 0);
        return { k: "usym" };
      case "kstack":
      case "ustack": {
        if (!this.#argc(e, 0, 2)) return { k: name, depth: STACK_DEPTH };
        // kstack([mode,] [depth]): mode is the bare word bpftrace or perf.
        let mode: "perf" | undefined;
        let at = 0;
        const first = e.args[0];
        if (first?.kind === "ident") {
          this.#u.types.set(first, NONE);
          if (first.name === "perf") mode = "perf";
          else if (first.name !== "bpftrace") {
            this.#err(
              first.span,
              `${name}() mode must be bpftrace or perf, not "${first.name}"`,
            );
          }
          at = 1;
        }
        let depth = STACK_DEPTH;
        if (e.args.length === 2 && at === 0) {
          this.#err(
            e.args[0].span,
            `${name}() with 2 arguments expects a mode (bpftrace or perf) first`,
          );
          this.#expr(e.args[0]);
          at = 1;
        }
        if (e.args.length > at) {
          const n = this.#litArg(e, at);
          if (n !== undefined) {
            if (n < 1n || n > 127n) {
              this.#err(
                e.args[at].span,
                `${name}() depth must be between 1 and 127`,
              );
            } else depth = Number(n);
          }
        }
        const t = this.#stack(name, depth);
        return mode === undefined ? t : { k: name, depth, mode };
      }
      case "bswap": {
        // bpftrace 0.17: the bytes of an integer reversed, at its size.
        if (!this.#argc(e, 1)) return U64;
        const t = this.#intArg(e, 0);
        if (t.k !== "int") return U64;
        // A variable swaps at the size it was declared with ($p = u16).
        const arg = e.args[0];
        const d = arg.kind === "var" ? this.#declared.get(arg.name) : undefined;
        const size = d?.k === "int" ? d.size : t.size;
        return { k: "int", size, signed: t.signed };
      }
      case "ntop": {
        if (!this.#argc(e, 1, 2)) return { k: "inet", size: 24 };
        const last = e.args.length - 1;
        for (let i = 0; i < last; i++) this.#intArg(e, i);
        // An address member of a kernel struct (`u8[16]`, read as bytes).
        const a = e.args[last];
        if (a.kind === "field" || a.kind === "index") {
          const t = this.#expr(a);
          if (
            (t.k === "str" || t.k === "array") &&
            this.#u.members?.has(a) !== false &&
            (t.size === 4 || t.size === 16)
          ) {
            return { k: "inet", size: 24 };
          }
          if (t.k !== "int") {
            this.#err(
              a.span,
              `ntop() expects an integer or a 4- or 16-byte address, got ${
                typeName(t)
              }`,
            );
          }
          return { k: "inet", size: 24 };
        }
        this.#intArg(e, last);
        return { k: "inet", size: 24 };
      }
      case "strftime": {
        if (!this.#argc(e, 2)) return { k: "timestamp" };
        const format = this.#strLitArg(e, 0);
        this.#intArg(e, 1);
        return format === undefined
          ? { k: "timestamp" }
          : { k: "timestamp", format };
      }
      case "emit": {
        needStmt();
        if (!this.#argc(e, 3, Infinity)) return NONE;
        const [ev, names] = e.args;
        if (ev.kind !== "str" || names.kind !== "str") {
          this.#err(e.span, "emit() expects an event name and field names");
          return NONE;
        }
        const fields = names.value.split(",");
        if (fields.length !== e.args.length - 2) {
          this.#err(
            e.span,
            `emit(): ${fields.length} field names for ${
              e.args.length - 2
            } values`,
          );
        }
        this.#u.types.set(ev, NONE);
        this.#u.types.set(names, NONE);
        for (const a of e.args.slice(2)) {
          const t = this.#expr(a);
          if (t.k === "none" || t.k === "args" || t.k === "agg") {
            this.#err(
              a.span,
              `emit() cannot send a value of type ${typeName(t)}`,
            );
          }
        }
        return NONE;
      }
      case "join": {
        needStmt();
        if (!this.#argc(e, 1, 2)) return NONE;
        this.#intArg(e, 0);
        if (e.args.length === 2) this.#strLitArg(e, 1);
        return NONE;
      }
      case "reg": {
        if (!this.#argc(e, 1)) return U64;
        const r = this.#strLitArg(e, 0);
        if (
          this.#u.ctx.kind !== "pt_regs" && this.#u.ctx.kind !== "perf_event"
        ) {
          this.#err(
            e.span,
            "reg() can only be used with kprobes, uprobes and perf events",
          );
        } else if (r !== undefined && PT_REGS[r] === undefined) {
          this.#err(e.args[0].span, `Unknown register "${r}"`);
        }
        const k = this.#u.kind;
        return k === "uprobe" || k === "uretprobe"
          ? { ...U64, ptr: "user" }
          : k === "kprobe" || k === "kretprobe"
          ? { ...U64, ptr: "kernel" }
          : U64;
      }
      case "kaddr": {
        if (!this.#argc(e, 1)) return U64;
        const name = this.#strLitArg(e, 0);
        if (name !== undefined && kernelAddress(name) === undefined) {
          this.#err(e.args[0].span, `Unknown kernel symbol "${name}"`);
        }
        return { k: "int", size: 8, signed: false, ptr: "kernel" };
      }
      case "uaddr": {
        if (!this.#argc(e, 1)) return U64;
        const name = this.#strLitArg(e, 0);
        if (name === undefined) return U64;
        return this.#uaddr(e, name);
      }
      case "strncmp": {
        if (!this.#argc(e, 3)) return U64;
        const a = this.#expr(e.args[0]);
        const b = this.#expr(e.args[1]);
        if (a.k !== "str" || b.k !== "str") {
          this.#err(e.span, "strncmp() expects two strings");
        }
        this.#litArg(e, 2);
        return U64;
      }
      default:
        this.#err(
          e.span,
          `Unknown function: "${name}"${didYouMean(name, FUNCTIONS)}`,
        );
        for (const a of e.args) this.#expr(a);
        return S64;
    }
  }
}
