/**
 * Constant folding, shared by sema and codegen: what an expression's value
 * or a condition's truth is when known at compile time.
 *
 * Two levels, both here so that the rules live in one place:
 * - {@linkcode literalInt}: where the language wants a literal (an `unroll`
 *   count, `lhist` bounds, a tuple index, a constant argument), sema
 *   accepts an integer literal, a numeric positional parameter or their
 *   negation, as bpftrace does; nothing else is folded there.
 * - {@linkcode ConstFolder}: codegen folds every expression it can
 *   (arithmetic, comparisons, casts, `sizeof`, known `&&`/`||` sides) with
 *   the types sema gave, so that constant conditions emit no dead code.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { sizeOf, type SType } from "./types.ts";

/** How a numeric positional parameter is written: decimal or hex, signed. */
const NUMERIC = /^-?(0x[0-9a-f]+|\d+)$/i;

/**
 * The text of positional parameter `e` (`$1` is `params[0]`), or undefined
 * when the script was not given that many.
 *
 * @example Usage
 * ```ts
 * import { parse } from "../lang/parser.ts";
 * import { positionalText } from "./fold.ts";
 * const { ast } = parse("BEGIN { @x = $2; }", "stdin", ["a", "b"]);
 * const stmt = ast.probes[0].body.stmts[0];
 * if (stmt.kind === "assign" && stmt.value.kind === "positional") {
 *   console.assert(positionalText(stmt.value, ["a", "b"]) === "b");
 * }
 * ```
 *
 * @param e The `$N` expression.
 * @param params The positional parameters.
 * @returns The parameter's text, if given.
 */
export function positionalText(
  e: ast.PositionalExpr,
  params: readonly string[],
): string | undefined {
  return e.value ?? params[e.index - 1];
}

/**
 * The integer a positional parameter's text denotes, if it is numeric.
 *
 * @example Usage
 * ```ts
 * import { numericParam } from "./fold.ts";
 * console.assert(numericParam("0x10") === 16n);
 * console.assert(numericParam("ten") === undefined);
 * ```
 *
 * @param text The parameter's text.
 * @returns Its value, or undefined when it is not a number.
 */
export function numericParam(text: string | undefined): bigint | undefined {
  return text !== undefined && NUMERIC.test(text) ? BigInt(text) : undefined;
}

/**
 * The value of an integer literal, a numeric positional parameter, or the
 * negation of one (unwrapped): what sema accepts where the language wants
 * a literal.
 *
 * @example Usage
 * ```ts
 * import { parse } from "../lang/parser.ts";
 * import { literalInt } from "./fold.ts";
 * const { ast } = parse("BEGIN { @x = -$1; }", "stdin", ["5"]);
 * const stmt = ast.probes[0].body.stmts[0];
 * if (stmt.kind === "assign") {
 *   console.assert(literalInt(stmt.value, ["5"]) === -5n);
 * }
 * ```
 *
 * @param e Any expression.
 * @param params The positional parameters.
 * @returns Its value, or undefined when `e` is not such a literal.
 */
export function literalInt(
  e: ast.Expr,
  params: readonly string[],
): bigint | undefined {
  if (e.kind === "int") return e.value;
  if (e.kind === "positional") {
    const text = positionalText(e, params);
    if (text === undefined) return 0n;
    const v = numericParam(text);
    if (v !== undefined) return v;
  }
  if (e.kind === "unary" && e.op === "-") {
    const v = literalInt(e.expr, params);
    return v === undefined ? undefined : -v;
  }
  return undefined;
}

/**
 * For `p + n` / `p - n` / `n + p` with a pointer that knows its pointee:
 * which side is the integer to scale, and by how much (bpftrace's pointer
 * arithmetic). Undefined when no scaling applies.
 *
 * @example Usage
 * ```ts
 * import { pointerScale } from "./fold.ts";
 * const p = { k: "int", size: 8, signed: false, deref: { k: "int", size: 4, signed: true } } as const;
 * const n = { k: "int", size: 8, signed: true } as const;
 * console.assert(pointerScale("+", p, n)?.by === 4);
 * ```
 *
 * @param op The operator.
 * @param l The left operand's type.
 * @param r The right operand's type.
 * @returns The side to scale and the factor, if any.
 */
export function pointerScale(
  op: ast.BinaryOp,
  l: SType,
  r: SType,
): { side: "left" | "right"; by: number } | undefined {
  if (op !== "+" && op !== "-") return undefined;
  const pl = l.k === "int" &&
    (l.ptr !== undefined || l.deref !== undefined || l.rec !== undefined);
  const pr = r.k === "int" &&
    (r.ptr !== undefined || r.deref !== undefined || r.rec !== undefined);
  if (pl === pr) return undefined;
  const p = (pl ? l : r) as SType & { k: "int" };
  const by = pointerStep(p);
  if (by === 1) return undefined;
  if (pl) return { side: "right", by };
  return op === "+" ? { side: "left", by } : undefined;
}

/**
 * How far `p++` moves a pointer: the pointee's size; 1 for integers.
 *
 * @example Usage
 * ```ts
 * import { pointerStep } from "./fold.ts";
 * console.assert(pointerStep({ k: "int", size: 8, signed: true }) === 1);
 * ```
 *
 * @param t The pointer's (or integer's) type.
 * @returns The step in bytes.
 */
export function pointerStep(t: SType): number {
  if (t.k !== "int") return 1;
  return t.deref?.size ?? t.rec?.size ?? 1;
}

/** What {@linkcode ConstFolder} needs to know about one probe unit. */
export interface FoldContext {
  /** Positional parameters: `$1` is `params[0]`. */
  params: readonly string[];
  /** The `cpid` option, if set: the value of the `cpid` builtin. */
  cpid?: number;
  /** Values sema computed (`sizeof`, `offsetof`, enum names). */
  known?: Map<ast.Expr, bigint>;
  /** The type sema gave an expression. */
  type(e: ast.Expr): SType;
  /** The type a type name denotes (sema's `castType`), if known. */
  castType(t: ast.TypeRef): SType | undefined;
}

/**
 * Folds the expressions of one probe unit, memoizing every answer.
 *
 * @example Usage
 * ```ts
 * import { parse } from "../lang/parser.ts";
 * import { ConstFolder } from "./fold.ts";
 * const { ast } = parse("BEGIN { @x = 1 + 2 * 3; }");
 * const stmt = ast.probes[0].body.stmts[0];
 * const folder = new ConstFolder({
 *   params: [],
 *   type: () => ({ k: "int", size: 8, signed: true }),
 *   castType: () => undefined,
 * });
 * if (stmt.kind === "assign") console.assert(folder.fold(stmt.value) === 7n);
 * ```
 */
export class ConstFolder {
  #params: readonly string[];
  #cpid: number | undefined;
  #known: Map<ast.Expr, bigint> | undefined;
  #type: (e: ast.Expr) => SType;
  #castType: (t: ast.TypeRef) => SType | undefined;
  #folded = new Map<ast.Expr, bigint | null>();
  #truths = new Map<ast.Expr, boolean | null>();

  /**
   * Prepares to fold one unit's expressions.
   *
   * @param ctx Parameters, `cpid`, sema's known values and types.
   */
  constructor(ctx: FoldContext) {
    this.#params = ctx.params;
    this.#cpid = ctx.cpid;
    this.#known = ctx.known;
    this.#type = ctx.type;
    this.#castType = ctx.castType;
  }

  /**
   * Constant value of `e` (wrapped to 64 bits as the kernel computes it),
   * computed once per node: codegen's branches and `truth` ask again at
   * every level of a chain, which without the memo is quadratic (cubic
   * for `&&` chains) in its length.
   *
   * @param e Any expression of the unit.
   * @returns Its value, or undefined when it depends on run time.
   */
  fold(e: ast.Expr): bigint | undefined {
    const memo = this.#folded.get(e);
    if (memo !== undefined) return memo === null ? undefined : memo;
    const v = this.#foldNode(e);
    this.#folded.set(e, v ?? null);
    return v;
  }

  /** `fold` without the memo. */
  #foldNode(e: ast.Expr): bigint | undefined {
    switch (e.kind) {
      case "int":
        return e.value;
      case "bool":
        return e.value ? 1n : 0n;
      case "positional": {
        // Not given: 0, as in bpftrace.
        const text = positionalText(e, this.#params);
        return text === undefined ? 0n : numericParam(text);
      }
      case "positional_count":
        return BigInt(this.#params.length);
      case "builtin":
        // has_cpid: whether there is a -c child (stdlib.md's words; the
        // macro of 0.26.1's base.bt tests the opposite).
        if (e.name === "has_cpid") return this.#cpid === undefined ? 0n : 1n;
        return e.name === "cpid" && this.#cpid !== undefined
          ? BigInt(this.#cpid)
          : undefined;
      case "offsetof":
      case "ident":
      case "call": // is_str(), is_ptr(), ...: sema's answer
        return this.#known?.get(e);
      case "sizeof": {
        const c = this.#known?.get(e);
        if (c !== undefined) return c;
        if (e.arg.kind === "type") {
          const t = this.#castType(e.arg);
          return t === undefined ? undefined : BigInt(sizeOf(t));
        }
        return BigInt(sizeOf(this.#type(e.arg)));
      }
      case "cast": {
        const v = this.fold(e.expr);
        const t = this.#type(e);
        if (v === undefined || t.k !== "int") return undefined;
        if (t.bool) return v === 0n ? 0n : 1n;
        return t.signed
          ? BigInt.asIntN(t.size * 8, v)
          : BigInt.asUintN(t.size * 8, v);
      }
      case "unary": {
        const v = this.fold(e.expr);
        if (v === undefined) return undefined;
        if (e.op === "-") return BigInt.asIntN(64, -v);
        if (e.op === "~") return BigInt.asIntN(64, ~v);
        if (e.op === "!") return v === 0n ? 1n : 0n;
        return undefined;
      }
      case "binary": {
        let a = this.fold(e.left);
        if (a === undefined) return undefined;
        // `0 && x` and `1 || x` never evaluate x: their value is known.
        if (e.op === "&&" && a === 0n) return 0n;
        if (e.op === "||" && a !== 0n) return 1n;
        let b = this.fold(e.right);
        if (b === undefined) return undefined;
        const sc = pointerScale(
          e.op,
          this.#type(e.left),
          this.#type(e.right),
        );
        if (sc?.side === "left") a *= BigInt(sc.by);
        if (sc?.side === "right") b *= BigInt(sc.by);
        const ua = BigInt.asUintN(64, a);
        const ub = BigInt.asUintN(64, b);
        const signed = (this.#type(e) as { signed?: boolean }).signed ?? false;
        switch (e.op) {
          case "+":
            return BigInt.asIntN(64, a + b);
          case "-":
            return BigInt.asIntN(64, a - b);
          case "*":
            return BigInt.asIntN(64, a * b);
          case "/":
            return ub === 0n ? 0n : BigInt.asIntN(64, ua / ub);
          case "%":
            return ub === 0n ? a : BigInt.asIntN(64, ua % ub);
          case "&":
            return a & b;
          case "|":
            return a | b;
          case "^":
            return a ^ b;
          case "<<":
            return BigInt.asIntN(64, a << (b & 63n));
          case ">>":
            return signed ? a >> (b & 63n) : BigInt.asIntN(64, ua >> (b & 63n));
          case "==":
            return a === b ? 1n : 0n;
          case "!=":
            return a !== b ? 1n : 0n;
          case "<":
            return a < b ? 1n : 0n;
          case "<=":
            return a <= b ? 1n : 0n;
          case ">":
            return a > b ? 1n : 0n;
          case ">=":
            return a >= b ? 1n : 0n;
          case "&&":
            return a !== 0n && b !== 0n ? 1n : 0n;
          case "||":
            return a !== 0n || b !== 0n ? 1n : 0n;
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }

  /**
   * The truth of a condition when it is known at compile time even though
   * evaluating it may have side effects (`@n++ && 0` is false but counts):
   * a known side makes `&&`/`||` decided, `!` flips. Undefined when the
   * truth depends on run-time values.
   *
   * @param e A condition of the unit.
   * @returns Its truth, or undefined when it depends on run time.
   */
  truth(e: ast.Expr): boolean | undefined {
    const memo = this.#truths.get(e);
    if (memo !== undefined) return memo === null ? undefined : memo;
    const v = this.#truthNode(e);
    this.#truths.set(e, v ?? null);
    return v;
  }

  /** `truth` without the memo. */
  #truthNode(e: ast.Expr): boolean | undefined {
    const c = this.fold(e);
    if (c !== undefined) return c !== 0n;
    if (e.kind === "unary" && e.op === "!") {
      const t = this.truth(e.expr);
      return t === undefined ? undefined : !t;
    }
    if (e.kind === "binary" && (e.op === "&&" || e.op === "||")) {
      const decided = e.op === "||";
      const l = this.truth(e.left);
      if (l === decided) return decided;
      const r = this.truth(e.right);
      if (r === decided) return decided;
      if (l !== undefined && r !== undefined) return !decided;
    }
    return undefined;
  }
}
