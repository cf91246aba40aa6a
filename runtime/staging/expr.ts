/**
 * Symbolic values of staged probe bodies: an {@linkcode Expr} wraps the
 * bpftrace syntax tree node that computes it, with a phantom value type.
 * Operators build new nodes; nothing is evaluated in JavaScript.
 *
 * An `Expr` is a recipe, not a value: each use re-evaluates it in the
 * probe, exactly as the same bpftrace expression written twice would. Use
 * `c.let()` to evaluate once into a scratch variable.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { MAX_NESTING } from "../compiler/bounds.ts";
import type {
  Bool,
  Int,
  IntT,
  Ptr,
  S16,
  S32,
  S64,
  S8,
  Str,
  Tuple,
  U16,
  U32,
  U64,
  U8,
  VType,
} from "./types.ts";

/** A fresh empty span; the printer gives staged nodes real spans. */
export function noSpan(): ast.Span {
  return { start: 0, end: 0, line: 1, col: 1 };
}

/**
 * A deep copy of a syntax tree node (spans included), so that a staged
 * value used twice gives two distinct nodes, as parsed source would.
 *
 * @example Usage
 * ```ts
 * import { cloneNode, noSpan } from "./expr.ts";
 * import assert from "node:assert/strict";
 * const n = { kind: "builtin", name: "pid", span: noSpan() } as const;
 * const c = cloneNode(n);
 * assert.deepEqual(c, n);
 * assert.notEqual(c, n);
 * ```
 */
export function cloneNode<N>(node: N): N {
  // Iterative (a staged chain may be long) and bounded: a tree nesting
  // deeper than the compiler accepts is refused here, where the staging
  // call that made it is still on the stack.
  const top: { v?: unknown } = {};
  const todo: [unknown, Record<string | number, unknown>, string | number][] = [
    [node, top, "v"],
  ];
  const depths = [0];
  while (todo.length > 0) {
    const [src, dst, key] = todo.pop()!;
    let depth = depths.pop()!;
    if (src === null || typeof src !== "object") {
      dst[key] = src;
      continue;
    }
    if ("kind" in src && ++depth > MAX_NESTING) {
      throw new RangeError(
        `Cannot stage an expression nested more than ${MAX_NESTING} levels deep: evaluate parts of it into variables with c.let()`,
      );
    }
    const out = (Array.isArray(src) ? new Array(src.length) : {}) as Record<
      string | number,
      unknown
    >;
    dst[key] = out;
    for (const [k, v] of Object.entries(src)) {
      out[k] = undefined; // keeps the key order
      todo.push([v, out, k]);
      depths.push(depth);
    }
  }
  return top.v as N;
}

/**
 * A staged value of type `T`: the syntax tree node computing it.
 *
 * Methods only apply to fitting types (checked through their `this`
 * parameter): arithmetic and ordering on integers, equality on integers
 * and strings.
 *
 * @example Stage `pid > 100 && comm == "bash"`
 * ```ts
 * import { builtin, lit } from "./expr.ts";
 * import type { Str, U32 } from "./types.ts";
 * const pid = builtin<U32>("pid");
 * const comm = builtin<Str>("comm");
 * const cond = pid.gt(100).and(comm.eq("bash"));
 * console.assert(cond.node.kind === "binary");
 * console.assert(lit(5).node.kind === "int");
 * ```
 */
export class Expr<T extends VType = VType> {
  /** Phantom: the value type (absent at run time). */
  declare readonly type: T;
  /**
   * The node computing the value (copy it before reuse: see `use()`).
   *
   * @ignore
   */
  readonly node: ast.Expr;

  /** Wraps a node; callers vouch for `T`. */
  constructor(node: ast.Expr) {
    this.node = node;
  }

  /**
   * A fresh copy of the node, to place in a tree.
   *
   * @ignore
   */
  use(): ast.Expr {
    return cloneNode(this.node);
  }

  /** `this + b`. */
  add(this: Expr<Int>, b: IntLike): Expr<Int> {
    return bin("+", this, b);
  }
  /** `this - b`. */
  sub(this: Expr<Int>, b: IntLike): Expr<Int> {
    return bin("-", this, b);
  }
  /** `this * b`. */
  mul(this: Expr<Int>, b: IntLike): Expr<Int> {
    return bin("*", this, b);
  }
  /** `this / b` (division by zero gives 0, as in eBPF). */
  div(this: Expr<Int>, b: IntLike): Expr<Int> {
    return bin("/", this, b);
  }
  /** `this % b`. */
  mod(this: Expr<Int>, b: IntLike): Expr<Int> {
    return bin("%", this, b);
  }
  /** `this & b` (bitwise). */
  bitAnd(this: Expr<Int>, b: IntLike): Expr<Int> {
    return bin("&", this, b);
  }
  /** `this | b` (bitwise). */
  bitOr(this: Expr<Int>, b: IntLike): Expr<Int> {
    return bin("|", this, b);
  }
  /** `this ^ b`. */
  bitXor(this: Expr<Int>, b: IntLike): Expr<Int> {
    return bin("^", this, b);
  }
  /** `this << b`. */
  shl(this: Expr<Int>, b: IntLike): Expr<Int> {
    return bin("<<", this, b);
  }
  /** `this >> b`. */
  shr(this: Expr<Int>, b: IntLike): Expr<Int> {
    return bin(">>", this, b);
  }
  /** `~this`. */
  bitNot(this: Expr<Int>): Expr<Int> {
    return un("~", this);
  }
  /** `-this`. */
  neg(this: Expr<Int>): Expr<S64> {
    return un("-", this);
  }
  /** `!this`. */
  not(this: Expr<Int>): Expr<Bool> {
    return un("!", this);
  }
  /** `this && b`. */
  and(this: Expr<Int>, b: IntLike): Expr<Bool> {
    return bin("&&", this, b);
  }
  /** `this || b`. */
  or(this: Expr<Int>, b: IntLike): Expr<Bool> {
    return bin("||", this, b);
  }
  /** `this == b`. */
  eq(this: Expr<Int>, b: IntLike): Expr<Bool>;
  /** `this == b` (string comparison). */
  eq(this: Expr<Str>, b: StrLike): Expr<Bool>;
  eq(b: IntLike | StrLike): Expr<Bool> {
    return bin("==", this, b);
  }
  /** `this != b`. */
  ne(this: Expr<Int>, b: IntLike): Expr<Bool>;
  /** `this != b` (string comparison). */
  ne(this: Expr<Str>, b: StrLike): Expr<Bool>;
  ne(b: IntLike | StrLike): Expr<Bool> {
    return bin("!=", this, b);
  }
  /** `this < b`. */
  lt(this: Expr<Int>, b: IntLike): Expr<Bool> {
    return bin("<", this, b);
  }
  /** `this <= b`. */
  le(this: Expr<Int>, b: IntLike): Expr<Bool> {
    return bin("<=", this, b);
  }
  /** `this > b`. */
  gt(this: Expr<Int>, b: IntLike): Expr<Bool> {
    return bin(">", this, b);
  }
  /** `this >= b`. */
  ge(this: Expr<Int>, b: IntLike): Expr<Bool> {
    return bin(">=", this, b);
  }
  /** `(type) this`: an integer cast. */
  as<N extends CastName>(this: Expr<Int>, type: N): Expr<CastType[N]> {
    return new Expr({
      kind: "cast",
      type: { kind: "type", name: type, pointer: 0, span: noSpan() },
      expr: this.use(),
      span: noSpan(),
    });
  }
  /** `this.N`: element `i` of a tuple. */
  get<E extends readonly VType[], I extends number & keyof E>(
    this: Expr<Tuple<E>>,
    i: I,
  ): Expr<E[I]> {
    return new Expr({
      kind: "tuple_index",
      expr: this.use(),
      index: i,
      span: noSpan(),
    });
  }
}

/** Integer cast targets of {@linkcode Expr.as}. */
export interface CastType {
  /** u8. */
  u8: U8;
  /** u16. */
  u16: U16;
  /** u32. */
  u32: U32;
  /** u64. */
  u64: U64;
  /** s8. */
  s8: S8;
  /** s16. */
  s16: S16;
  /** s32. */
  s32: S32;
  /** s64. */
  s64: S64;
}

/** Names accepted by {@linkcode Expr.as}. */
export type CastName = keyof CastType;

/** An integer operand: a staged integer or a JS integer literal. */
export type IntLike = Expr<Int> | number | bigint | boolean;
/** A string operand: a staged string or a JS string literal. */
export type StrLike = Expr<Str> | string;
/** Any operand. */
export type AnyLike = Expr | number | bigint | boolean | string;

/** The operand type accepted where a value of type `T` is expected. */
export type OperandOf<T> = T extends Int ? IntLike
  : T extends Str ? StrLike
  : T extends VType ? Expr<T>
  : never;

/** The staged type of an operand (JS numbers are s64, strings `Str`). */
export type TypeOf<O> = O extends Expr<infer T> ? T
  : O extends number | bigint | boolean ? S64
  : O extends string ? Str
  : never;

/**
 * The node of an operand: literals become `int`/`str`/`bool` nodes (a
 * negative integer is unary minus of its magnitude, as the parser makes
 * it); staged values are copied.
 *
 * @throws {RangeError} for a non-integer or out-of-range number.
 * @example Usage
 * ```ts
 * import { toNode } from "./expr.ts";
 * console.assert(toNode(-3).kind === "unary");
 * console.assert(toNode("x").kind === "str");
 * ```
 */
export function toNode(v: AnyLike): ast.Expr {
  if (v instanceof Expr) return v.use();
  switch (typeof v) {
    case "string":
      return { kind: "str", value: byteString(v), span: noSpan() };
    case "boolean":
      return { kind: "bool", value: v, span: noSpan() };
    case "number":
      if (!Number.isSafeInteger(v)) {
        throw new RangeError(
          `Cannot stage the number ${v}: only safe integers are supported (use a bigint)`,
        );
      }
      return intNode(BigInt(v));
    case "bigint":
      return intNode(v);
  }
  throw new TypeError(
    `Cannot stage a value of type "${typeof v}"${stageHint(v)}`,
  );
}

/** What was probably meant, for a value `toNode` cannot stage. */
function stageHint(v: unknown): string {
  const o = v as {
    mapNode?: unknown;
    at?: unknown;
    name?: unknown;
    constructor?: { name?: unknown };
  } | undefined;
  if (o === undefined) {
    return ": undefined, a misspelt field (c.args.x) or an unset variable?";
  }
  if (o === null) return ": null is not a value in a probe";
  if (typeof o.at === "function" && typeof o.name === "string") {
    return `: the map @${o.name} is not a value; read an element with .at(keys).get()`;
  }
  if (typeof o.mapNode === "function") {
    const node = o.mapNode() as { name?: string };
    return `: a map slot (@${
      node.name ?? ""
    }[...]) is not a value; read its value with .get()`;
  }
  const ctor = typeof o === "object" ? o.constructor?.name : undefined;
  return `${
    typeof ctor === "string" && ctor !== "" && ctor !== "Object"
      ? ` (${ctor})`
      : ""
  }: a probe works on staged values (c.pid, c.args.x, map.at(k).get()) ` +
    `and number, bigint, boolean or string literals`;
}

function intNode(v: bigint): ast.Expr {
  if (v < -(1n << 63n) || v >= 1n << 64n) {
    throw new RangeError(`Integer ${v} does not fit in 64 bits`);
  }
  if (v < 0n) {
    return {
      kind: "unary",
      op: "-",
      expr: { kind: "int", value: -v, raw: String(-v), span: noSpan() },
      span: noSpan(),
    };
  }
  return { kind: "int", value: v, raw: String(v), span: noSpan() };
}

/** UTF-8 encodes JS text into the parser's byte-string form. */
function byteString(s: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return s;
  return String.fromCharCode(...new TextEncoder().encode(s));
}

/**
 * A staged value of an integer literal or string literal.
 *
 * @example Usage
 * ```ts
 * import { lit } from "./expr.ts";
 * console.assert(lit("hi").node.kind === "str");
 * ```
 */
export function lit(v: number | bigint | boolean): Expr<S64>;
/** A staged string literal. */
export function lit(v: string): Expr<Str>;
export function lit(v: number | bigint | boolean | string): Expr {
  return new Expr(toNode(v));
}

/**
 * A builtin variable (`pid`, `comm`, `args`, ...) with the type the caller
 * states.
 *
 * @example Usage
 * ```ts
 * import { builtin } from "./expr.ts";
 * import type { U64 } from "./types.ts";
 * console.assert(builtin<U64>("nsecs").node.kind === "builtin");
 * ```
 */
export function builtin<T extends VType>(name: string): Expr<T> {
  return new Expr({ kind: "builtin", name, span: noSpan() });
}

/**
 * A call `name(args)` with the result type the caller states.
 *
 * @example Usage
 * ```ts
 * import { call, builtin } from "./expr.ts";
 * import type { Str } from "./types.ts";
 * const s = call<Str>("str", [builtin("arg0")]);
 * console.assert(s.node.kind === "call");
 * ```
 */
export function call<T extends VType>(
  name: string,
  args: readonly AnyLike[],
): Expr<T> {
  return new Expr({
    kind: "call",
    name,
    args: args.map(toNode),
    span: noSpan(),
  });
}

function bin<T extends VType>(
  op: ast.BinaryOp,
  a: AnyLike,
  b: AnyLike,
): Expr<T> {
  return new Expr({
    kind: "binary",
    op,
    left: toNode(a),
    right: toNode(b),
    span: noSpan(),
  });
}

function un<T extends VType>(op: ast.UnaryOp, a: AnyLike): Expr<T> {
  return new Expr({ kind: "unary", op, expr: toNode(a), span: noSpan() });
}

/** `a + b`. */
export function add(a: IntLike, b: IntLike): Expr<Int> {
  return bin("+", a, b);
}
/** `a - b`. */
export function sub(a: IntLike, b: IntLike): Expr<Int> {
  return bin("-", a, b);
}
/** `a * b`. */
export function mul(a: IntLike, b: IntLike): Expr<Int> {
  return bin("*", a, b);
}
/** `a / b`. */
export function div(a: IntLike, b: IntLike): Expr<Int> {
  return bin("/", a, b);
}
/** `a % b`. */
export function mod(a: IntLike, b: IntLike): Expr<Int> {
  return bin("%", a, b);
}
/** `a == b` on integers or strings. */
export function eq(a: IntLike, b: IntLike): Expr<Bool>;
/** `a == b` on strings. */
export function eq(a: StrLike, b: StrLike): Expr<Bool>;
export function eq(a: AnyLike, b: AnyLike): Expr<Bool> {
  return bin("==", a, b);
}
/** `a != b` on integers or strings. */
export function ne(a: IntLike, b: IntLike): Expr<Bool>;
/** `a != b` on strings. */
export function ne(a: StrLike, b: StrLike): Expr<Bool>;
export function ne(a: AnyLike, b: AnyLike): Expr<Bool> {
  return bin("!=", a, b);
}
/** `a < b`. */
export function lt(a: IntLike, b: IntLike): Expr<Bool> {
  return bin("<", a, b);
}
/** `a <= b`. */
export function le(a: IntLike, b: IntLike): Expr<Bool> {
  return bin("<=", a, b);
}
/** `a > b`. */
export function gt(a: IntLike, b: IntLike): Expr<Bool> {
  return bin(">", a, b);
}
/** `a >= b`. */
export function ge(a: IntLike, b: IntLike): Expr<Bool> {
  return bin(">=", a, b);
}
/** `!a`. */
export function not(a: IntLike): Expr<Bool> {
  return un("!", a);
}

/**
 * `a && b && ...` (left-associative, as the parser groups it).
 *
 * @example Usage
 * ```ts
 * import { and, builtin } from "./expr.ts";
 * import type { U32 } from "./types.ts";
 * const c = and(builtin<U32>("pid").gt(1), builtin<U32>("tid").gt(1), true);
 * console.assert(c.node.kind === "binary");
 * ```
 */
export function and(first: IntLike, ...rest: IntLike[]): Expr<Bool> {
  return chain("&&", first, rest);
}

/** `a || b || ...` (left-associative). */
export function or(first: IntLike, ...rest: IntLike[]): Expr<Bool> {
  return chain("||", first, rest);
}

function chain(op: ast.BinaryOp, first: IntLike, rest: IntLike[]): Expr<Bool> {
  let acc: Expr = first instanceof Expr ? first : new Expr(toNode(first));
  for (const r of rest) acc = bin(op, acc, r);
  return acc as Expr<Bool>;
}

/**
 * `cond ? a : b`.
 *
 * @example Usage
 * ```ts
 * import { builtin, select } from "./expr.ts";
 * import type { U32 } from "./types.ts";
 * const pid = builtin<U32>("pid");
 * console.assert(select(pid.gt(0), pid, 0).node.kind === "ternary");
 * ```
 */
export function select(cond: IntLike, a: IntLike, b: IntLike): Expr<Int>;
/** `cond ? a : b` on strings. */
export function select(cond: IntLike, a: StrLike, b: StrLike): Expr<Str>;
/** `cond ? a : b` on other values of one type. */
export function select<T extends VType>(
  cond: IntLike,
  a: Expr<T>,
  b: Expr<T>,
): Expr<T>;
export function select(cond: IntLike, a: AnyLike, b: AnyLike): Expr {
  return new Expr({
    kind: "ternary",
    cond: toNode(cond),
    then: toNode(a),
    else: toNode(b),
    span: noSpan(),
  });
}

/** The staged types of a list of operands. */
export type TypesOf<A extends readonly AnyLike[]> = {
  -readonly [I in keyof A]: TypeOf<A[I]>;
};

/**
 * `(a, b, ...)`: a tuple of two or more values.
 *
 * @example Usage
 * ```ts
 * import { builtin, tuple } from "./expr.ts";
 * import type { Str, U32 } from "./types.ts";
 * const t = tuple(builtin<U32>("pid"), builtin<Str>("comm"));
 * console.assert(t.get(1).node.kind === "tuple_index");
 * ```
 */
export function tuple<A extends readonly [AnyLike, AnyLike, ...AnyLike[]]>(
  ...elems: A
): Expr<Tuple<TypesOf<A>>> {
  return new Expr({
    kind: "tuple",
    elems: elems.map(toNode),
    span: noSpan(),
  });
}

/** A pointer-typed staged value (`arg0`, a `char *` field). */
export type PtrExpr<S extends "user" | "kernel" = "user" | "kernel"> = Expr<
  Ptr<S>
>;

/** An integer with its width and signedness. */
export type IntExpr<S extends boolean = boolean> = Expr<IntT<S>>;
