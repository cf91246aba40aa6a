/**
 * Phantom value types of staged probe bodies. They exist only for the
 * TypeScript checker: a staged `Expr<U32>` holds an `ast.Expr` node at run
 * time, and its type tag says what the compiler will make of it, so that
 * `hist()` of a string or a map key of the wrong kind fails `deno check`
 * instead of compiling.
 *
 * The tags mirror the compiler's value types (`runtime/compiler/types.ts`):
 * integers by width and signedness (pointers are unsigned 64-bit integers
 * that remember their address space), strings, stacks, symbols, tuples.
 *
 * @module
 */

import type { AggName } from "../compiler/sema.ts";

/** Integer widths in bits. */
export type Bits = 8 | 16 | 32 | 64;

/** An integer type tag; `Int` (no parameters) is any integer. */
export interface IntT<S extends boolean = boolean, B extends Bits = Bits> {
  /** Type kind. */
  readonly kind: "int";
  /** Whether the integer is signed. */
  readonly signed: S;
  /** Width in bits. */
  readonly bits: B;
}

/** Any integer (the compiler widens integers to 64 bits in registers). */
export type Int = IntT;
/** u8. */
export type U8 = IntT<false, 8>;
/** u16. */
export type U16 = IntT<false, 16>;
/** u32 (`pid`, `tid`, `uid`, `gid`, `cpu`). */
export type U32 = IntT<false, 32>;
/** u64 (`nsecs`, comparison results). */
export type U64 = IntT<false, 64>;
/** s8. */
export type S8 = IntT<true, 8>;
/** s16. */
export type S16 = IntT<true, 16>;
/** s32. */
export type S32 = IntT<true, 32>;
/** s64 (integer literals). */
export type S64 = IntT<true, 64>;
/** The result of a comparison or a logical operator: 0 or 1, as u64. */
export type Bool = U64;

/** A pointer: an unsigned 64-bit integer into user or kernel memory. */
export interface Ptr<Space extends "user" | "kernel" = "user" | "kernel">
  extends IntT<false, 64> {
  /** The address space the pointer points into. */
  readonly ptr: Space;
}

/** A NUL-terminated string (`comm`, `str(ptr)`, string literals). */
export interface Str {
  /** Type kind. */
  readonly kind: "str";
}

/** A kernel stack (`kstack`). */
export interface KStack {
  /** Type kind. */
  readonly kind: "kstack";
}

/** A user stack (`ustack`). */
export interface UStack {
  /** Type kind. */
  readonly kind: "ustack";
}

/** A kernel symbol (`ksym(addr)`, `func` in kprobes). */
export interface Ksym {
  /** Type kind. */
  readonly kind: "ksym";
}

/** A user symbol (`usym(addr)`, `func` in uprobes). */
export interface Usym {
  /** Type kind. */
  readonly kind: "usym";
}

/** A byte buffer (`buf(ptr, n)`). */
export interface Buf {
  /** Type kind. */
  readonly kind: "buf";
}

/** An IP address (`ntop(...)`). */
export interface Inet {
  /** Type kind. */
  readonly kind: "inet";
}

/** A timestamp printed with a strftime format (`strftime(fmt, ns)`). */
export interface Timestamp {
  /** Type kind. */
  readonly kind: "timestamp";
}

/** A tuple of values (`(a, b)`). */
export interface Tuple<E extends readonly VType[] = readonly VType[]> {
  /** Type kind. */
  readonly kind: "tuple";
  /** Element types. */
  readonly elems: E;
}

/** Every value type a staged expression can have. */
export type VType =
  | Int
  | Str
  | KStack
  | UStack
  | Ksym
  | Usym
  | Buf
  | Inet
  | Timestamp
  | Tuple;

/**
 * The type parameter default of untyped maps (`c.map("x")`): `any`, so
 * that each operation is checked on its own (`hist` still needs an
 * integer) instead of against declared key and value types.
 */
// deno-lint-ignore no-explicit-any
export type Untyped = any;

/** Value types usable as map keys and map values (all of them). */
export type KeyType = VType;

/**
 * The JavaScript value user space decodes for a value type
 * (see `runtime/output/decode.ts`): integers are `number` when exactly
 * representable, else `bigint`; strings and symbols are `string`.
 */
export type JsOf<T> = T extends Int ? number | bigint
  : T extends Str | Ksym | Usym | Inet | Timestamp ? string
  : T extends Tuple<infer E> ? { -readonly [I in keyof E]: JsOf<E[I]> }
  : unknown;

/** The aggregation functions a map can hold (the compiler's list). */
export type AggKind = AggName;
