/**
 * The compiler's value types: integers that live in registers, and
 * fixed-size byte objects (strings, buffers, tuples) that live on the stack.
 *
 * @module
 */

import type { TypeDesc } from "../program.ts";
import type { KernelTypes } from "../btf/kernel_types.ts";
import { recordDesc } from "./record_desc.ts";

/**
 * A struct or union of a type table (the kernel's BTF, the bundle, or a
 * script's preamble): its id in `types`, its C name and size.
 */
export interface RecordRef {
  /** The table that defines it. */
  types: KernelTypes;
  /** Its id in `types`. */
  id: number;
  /** Its C name (`struct sock`). */
  name: string;
  /** Its size in bytes. */
  size: number;
}

/** A value type during semantic analysis and code generation. */
export type SType =
  | IntType
  | { k: "str"; size: number }
  | { k: "buf"; size: number }
  | {
    k: "tuple";
    elems: SType[];
    offsets: number[];
    size: number;
    /** A record's field names (`(a=1, b="x")`), one per element. */
    names?: string[];
  }
  | { k: "ksym" }
  /** 16 bytes in memory: the address, then the tgid (as bpftrace). */
  | { k: "usym" }
  | { k: "kstack"; depth: number; mode?: "perf" | "raw" }
  | { k: "ustack"; depth: number; mode?: "perf" | "raw" }
  | { k: "inet"; size: number }
  | { k: "timestamp"; format?: string; epoch?: true }
  /** A uid printed as its user name (`username`). */
  | { k: "username" }
  /** A number printed as its name (`strerror()`, …; see `int_names.ts`). */
  | {
    k: "intname";
    table: "errno" | "signal" | "syscall" | "cgroup";
    /** `cgroup_path()`'s filter of hierarchies. */
    filter?: string;
  }
  /** The `args` record of a tracepoint (only usable with `->`). */
  | { k: "args" }
  /**
   * A struct or union value in memory, only ever read through (`.field`):
   * where it lives (`ptr`) decides the helper.
   */
  | { k: "record"; rec: RecordRef; size: number; ptr?: "user" | "kernel" }
  /** An array member (not of `char`), indexed or handed to `ntop()`. */
  | {
    k: "array";
    elem: SType;
    count: number;
    size: number;
    ptr?: "user" | "kernel";
  }
  /**
   * An integer array held as a value (0.26 `(uint8[4])x`), on the stack
   * like a string: `count` elements of `elem`, not widened in maps.
   */
  | { k: "intarray"; elem: IntType; count: number; size: number }
  /** An aggregation call (`count()` ...), valid only as a map value. */
  | { k: "agg" }
  /** No value (`printf`, `exit`, ...). */
  | { k: "none" };

/**
 * An integer. Pointers are 8-byte unsigned integers that may know where
 * they point (`ptr`: user or kernel memory, which decides the helper that
 * reads through them; unknown uses the legacy helper, which on x86 picks
 * by address, as bpftrace does) and what they point at (`deref`: the type
 * `*p` and `p[i]` read, whose size scales `p + n`).
 */
export interface IntType {
  k: "int";
  size: 1 | 2 | 4 | 8;
  signed: boolean;
  /** Where a pointer points: user or kernel memory. */
  ptr?: "user" | "kernel";
  /** What a pointer points at, when known. */
  deref?: IntType;
  /**
   * What a pointer to a scratch variable (0.26 `&$t`) points at when that
   * is not an integer: a tuple, a string, a `username`, ...
   */
  pointee?: SType;
  /** The struct or union a pointer points at (`->` reads its members). */
  rec?: RecordRef;
  /** A `bool` (0.26): 0 or 1, printed `false`/`true`. */
  bool?: true;
  /**
   * A timestamp of `nsecs(monotonic)`, or of `nsecs(tai)`/`nsecs(sw_tai)`
   * (nanoseconds since the epoch), for `strftime()` (0.26).
   */
  clock?: "monotonic" | "tai";
  /** An enum: printed as its enumerator's name (`(enum tcp_state)$x`). */
  enumType?: EnumRef;
  /**
   * The value of a cast to a type that does not exist (already reported):
   * its members are not checked, so that one typo makes one error.
   */
  failed?: true;
  /**
   * Printed in hexadecimal though nothing is known of what it points at:
   * a pointer field (`void *`) of a tracepoint's `args` record, as 0.26
   * prints a record's pointers.
   */
  hex?: true;
}

/** An enum type of the kernel's types or a script's: its values' names. */
export interface EnumRef {
  /** Its C name (`enum tcp_state`). */
  name: string;
  /** Its enumerators, value (decimal text) to name. */
  values: [string, string][];
}

/** Default bytes of a string (bpftrace's `BPFTRACE_STRLEN`). */
export const STRING_SIZE = 64;

/** u64. */
export const U64: IntType = { k: "int", size: 8, signed: false };
/** s64 (integer literals). */
export const S64: IntType = { k: "int", size: 8, signed: true };
/** u32. */
export const U32: IntType = { k: "int", size: 4, signed: false };
/** `bool`: one byte, 0 or 1 (8 bytes wide in registers, maps, tuples). */
export const BOOL: IntType = { k: "int", size: 1, signed: false, bool: true };
/** No value. */
export const NONE: SType = { k: "none" };

/**
 * Whether a type is held in a register (integers and 8-byte handles;
 * `usym` is 16 bytes in memory).
 *
 * @example Usage
 * ```ts
 * import { isScalar, U64 } from "./types.ts";
 * console.assert(isScalar(U64));
 * ```
 */
export function isScalar(t: SType): boolean {
  return t.k === "int" || t.k === "ksym" || t.k === "kstack" ||
    t.k === "ustack" || t.k === "timestamp" ||
    t.k === "username" || t.k === "intname";
}

/**
 * Byte size of a value of this type in memory (maps, events, the stack).
 * Integers occupy their own size here; maps and events widen them to 8.
 *
 * @example Usage
 * ```ts
 * import { sizeOf } from "./types.ts";
 * console.assert(sizeOf({ k: "str", size: 16 }) === 16);
 * ```
 */
export function sizeOf(t: SType): number {
  switch (t.k) {
    case "int":
      return t.size;
    case "str":
    case "buf":
    case "inet":
    case "tuple":
    case "record":
    case "array":
    case "intarray":
      return t.size;
    case "usym":
      return 16;
    case "ksym":
    case "kstack":
    case "ustack":
    case "timestamp":
    case "username":
    case "intname":
      return 8;
    default:
      return 0;
  }
}

/**
 * Alignment of a type in tuples, keys and events (C rules).
 *
 * @example Usage
 * ```ts
 * import { alignOf, U32 } from "./types.ts";
 * console.assert(alignOf(U32) === 4);
 * ```
 */
export function alignOf(t: SType): number {
  switch (t.k) {
    case "int":
      return t.size;
    case "str":
    case "buf":
    case "inet":
      return 1;
    case "tuple":
      return t.elems.reduce((a, e) => Math.max(a, alignOf(e)), 1);
    case "intarray":
      // Up to 8 bytes: stored and loaded as one integer (the stack wants
      // aligned access).
      return t.size <= 8 ? 8 : t.elem.size;
    case "array": {
      // An array of arrays of integers: as its innermost integers (0.26).
      let e: SType = t.elem;
      while (e.k === "array") e = e.elem;
      return e.k === "int" && t.size > 8 ? e.size : 8;
    }
    default:
      return 8;
  }
}

/**
 * The type as stored in a map or an event: integers widened to 64 bits,
 * tuples re-laid out with widened elements.
 *
 * @example Usage
 * ```ts
 * import { stored, U32 } from "./types.ts";
 * console.assert(stored(U32).k === "int");
 * ```
 */
export function stored(t: SType): SType {
  if (t.k === "int") return { ...t, size: 8 };
  if (t.k === "array" && t.elem.k === "int") {
    // An integer array member, copied: its bytes as they are (0.26).
    return { k: "intarray", elem: t.elem, count: t.count, size: t.size };
  }
  if (t.k === "tuple") return tupleOf(t.elems.map(stored), t.names);
  return t;
}

/**
 * Lays out a tuple with C struct alignment.
 *
 * @example Usage
 * ```ts
 * import { tupleOf, U64 } from "./types.ts";
 * const t = tupleOf([{ k: "str", size: 16 }, U64]);
 * console.assert(t.k === "tuple" && t.offsets[1] === 16 && t.size === 24);
 * ```
 */
export function tupleOf(
  elems: SType[],
  names?: string[],
): SType & { k: "tuple" } {
  const offsets: number[] = [];
  let off = 0;
  let maxAlign = 1;
  for (const e of elems) {
    const a = alignOf(e);
    maxAlign = Math.max(maxAlign, a);
    off = alignUp(off, a);
    offsets.push(off);
    off += sizeOf(e);
  }
  const t: SType & { k: "tuple" } = {
    k: "tuple",
    elems,
    offsets,
    size: alignUp(off, maxAlign),
  };
  if (names !== undefined) t.names = names;
  return t;
}

/**
 * Rounds `n` up to a multiple of `a`.
 *
 * @example Usage
 * ```ts
 * import { alignUp } from "./types.ts";
 * console.assert(alignUp(13, 8) === 16);
 * ```
 */
export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/**
 * Whether two types are equal (string sizes included).
 *
 * @example Usage
 * ```ts
 * import { sameType, U64 } from "./types.ts";
 * console.assert(sameType(U64, U64));
 * ```
 */
export function sameType(a: SType, b: SType): boolean {
  if (a.k !== b.k) return false;
  switch (a.k) {
    case "int":
      return b.k === "int" && a.size === b.size && a.signed === b.signed;
    case "str":
    case "buf":
    case "inet":
      return (b as { size: number }).size === a.size;
    case "tuple": {
      const t = b as typeof a;
      return t.elems.length === a.elems.length &&
        sameNames(a.names, t.names) &&
        a.elems.every((e, i) => sameType(e, t.elems[i]));
    }
    case "kstack":
    case "ustack": {
      const t = b as typeof a;
      return t.depth === a.depth && t.mode === a.mode;
    }
    case "intarray": {
      const t = b as typeof a;
      return t.count === a.count && sameType(t.elem, a.elem) &&
        !t.elem.bool === !a.elem.bool;
    }
    default:
      return true;
  }
}

/**
 * Joins two types a map or variable holds: integers widen, strings take the
 * larger size, tuples join element-wise. `undefined` when incompatible.
 *
 * @example Usage
 * ```ts
 * import { unify } from "./types.ts";
 * const t = unify({ k: "str", size: 16 }, { k: "str", size: 64 });
 * console.assert(t?.k === "str" && t.size === 64);
 * ```
 */
export function unify(a: SType, b: SType): SType | undefined {
  if (a.k === "int" && b.k === "int") return joinInts(a, b, a.signed);
  if (
    (a.k === "str" && b.k === "str") || (a.k === "buf" && b.k === "buf") ||
    (a.k === "inet" && b.k === "inet")
  ) {
    return { k: a.k, size: Math.max(a.size, b.size) } as SType;
  }
  if (a.k === "tuple" && b.k === "tuple") {
    if (a.elems.length !== b.elems.length) return undefined;
    if (!sameNames(a.names, b.names)) {
      // A record with the same fields in another order (0.26): by name,
      // in the order `a` has.
      const bn = b.names;
      if (a.names === undefined || bn === undefined) return undefined;
      const elems: SType[] = [];
      for (let i = 0; i < a.elems.length; i++) {
        const j = bn.indexOf(a.names[i]);
        const u = j < 0 ? undefined : unify(a.elems[i], b.elems[j]);
        if (u === undefined) return undefined;
        elems.push(u);
      }
      return tupleOf(elems, a.names);
    }
    const elems: SType[] = [];
    for (let i = 0; i < a.elems.length; i++) {
      const u = unify(a.elems[i], b.elems[i]);
      if (u === undefined) return undefined;
      elems.push(u);
    }
    return tupleOf(elems, a.names);
  }
  return sameType(a, b) ? a : undefined;
}

/** Whether two tuples' field names agree (both plain, or the same). */
function sameNames(a?: string[], b?: string[]): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/**
 * Two integers as one 64-bit integer of the given signedness: a pointer's
 * origin and pointee survive when the other side agrees or does not say
 * (a literal `0` does not make a user pointer a kernel one).
 *
 * @example Usage
 * ```ts
 * import { joinInts, U64 } from "./types.ts";
 * const t = joinInts({ ...U64, ptr: "user" }, U64, false);
 * console.assert(t.ptr === "user" && t.size === 8);
 * ```
 */
export function joinInts(a: IntType, b: IntType, signed: boolean): IntType {
  const t: IntType = { k: "int", size: 8, signed };
  const ptr = a.ptr === undefined
    ? b.ptr
    : b.ptr === undefined || b.ptr === a.ptr
    ? a.ptr
    : undefined;
  if (ptr !== undefined) t.ptr = ptr;
  const deref = a.deref === undefined
    ? b.deref
    : b.deref === undefined || sameType(a.deref, b.deref)
    ? a.deref
    : undefined;
  if (deref !== undefined) t.deref = deref;
  const rec = a.rec === undefined ? b.rec : b.rec === undefined ||
      (b.rec.id === a.rec.id && b.rec.types === a.rec.types)
    ? a.rec
    : undefined;
  if (rec !== undefined) t.rec = rec;
  if (
    a.pointee !== undefined && b.pointee !== undefined &&
    sameType(a.pointee, b.pointee)
  ) t.pointee = a.pointee;
  if (a.bool && b.bool) t.bool = true;
  if (a.hex && b.hex) t.hex = true;
  if (a.clock !== undefined && a.clock === b.clock) t.clock = a.clock;
  const ea = a.enumType;
  const eb = b.enumType;
  if (
    ea !== undefined && eb !== undefined && ea.name === eb.name &&
    ea.values.length === eb.values.length &&
    // Anonymous enums share a name: the same enumerators, then.
    ea.values.every(([v, n], i) =>
      eb.values[i][0] === v && eb.values[i][1] === n
    )
  ) t.enumType = ea;
  return t;
}

/**
 * bpftrace's name of a type, for error messages (`int64`, `string[16]`).
 *
 * @example Usage
 * ```ts
 * import { typeName, U32 } from "./types.ts";
 * console.assert(typeName(U32) === "uint32");
 * ```
 */
export function typeName(t: SType): string {
  switch (t.k) {
    case "int":
      if (t.rec !== undefined) return `${t.rec.name} *`;
      if (t.pointee !== undefined) return `${typeName(t.pointee)} *`;
      if (t.bool) return "bool";
      if (t.enumType !== undefined) return t.enumType.name;
      return `${t.signed ? "" : "u"}int${t.size * 8}`;
    case "record":
      return t.rec.name;
    case "array":
    case "intarray":
      return `${typeName(t.elem)}[${t.count}]`;
    case "str":
      return `string[${t.size}]`;
    case "buf":
      return `buffer[${t.size}]`;
    case "tuple":
      if (t.names !== undefined) {
        return `record { ${
          t.elems.map((e, i) => `${typeName(e)} ${t.names![i]}`).join(", ")
        } }`;
      }
      return `(${t.elems.map(typeName).join(",")})`;
    case "inet":
      return `inet[${t.size}]`;
    case "kstack":
    case "ustack":
      return t.mode === undefined ? t.k : `${t.k}(${t.mode})`;
    case "args":
      return "args";
    case "agg":
      return "aggregation";
    case "none":
      return "none";
    default:
      return t.k;
  }
}

/**
 * The `TypeDesc` user space decodes a stored value with.
 *
 * @param t The type (already `stored()` where widened).
 * @param stackMap Map index of the stack map for kstack/ustack types.
 * @example Usage
 * ```ts
 * import { toTypeDesc, U32 } from "./types.ts";
 * console.assert(toTypeDesc(U32).size === 4);
 * ```
 */
export function toTypeDesc(
  t: SType,
  stackMap: (kind: "kstack" | "ustack", depth: number) => number = () => -1,
): TypeDesc {
  switch (t.k) {
    case "int": {
      const d: TypeDesc & { kind: "int" } = {
        kind: "int",
        size: t.size,
        signed: t.signed,
      };
      if (t.bool) d.show = "bool";
      else if (t.enumType !== undefined) {
        d.show = "enum";
        d.enumerators = t.enumType.values;
      } else if (
        t.deref !== undefined || t.rec !== undefined ||
        t.pointee !== undefined || t.hex
      ) {
        d.show = "hex";
      }
      return d;
    }
    case "str":
      return { kind: "string", size: t.size };
    case "buf":
      return { kind: "buf", size: t.size };
    case "inet":
      return { kind: "inet", size: t.size };
    case "tuple":
      return {
        kind: "tuple",
        fields: t.elems.map((e) => toTypeDesc(e, stackMap)),
        offsets: t.offsets,
        size: t.size,
        ...(t.names !== undefined ? { names: t.names } : {}),
      };
    case "intarray":
      return {
        kind: "array",
        elem: toTypeDesc(t.elem) as TypeDesc & { kind: "int" },
        count: t.count,
        size: t.size,
      };
    case "ksym":
      return { kind: "ksym", size: 8 };
    case "usym":
      return { kind: "usym", size: 16 };
    case "username":
      return { kind: "username", size: 8 };
    case "intname":
      return t.filter === undefined
        ? { kind: "intname", size: 8, table: t.table }
        : { kind: "intname", size: 8, table: t.table, filter: t.filter };
    case "timestamp":
      return t.format === undefined
        ? { kind: "timestamp", size: 8 }
        : t.epoch
        ? { kind: "timestamp", size: 8, format: t.format, epoch: true }
        : { kind: "timestamp", size: 8, format: t.format };
    case "kstack":
    case "ustack": {
      const d: TypeDesc & { kind: "kstack" | "ustack" } = {
        kind: t.k,
        size: 8,
        mapIndex: stackMap(t.k, t.depth),
        depth: t.depth,
      };
      if (t.mode !== undefined) d.mode = t.mode;
      return d;
    }
    case "record":
      return recordDesc(t.rec.types, t.rec.id);
    case "array":
      return {
        kind: "array",
        size: t.size,
        elem: toTypeDesc(t.elem, stackMap),
        count: t.count,
      };
    default:
      return { kind: "none", size: 0 };
  }
}
