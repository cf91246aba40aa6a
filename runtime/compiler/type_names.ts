/**
 * C type names and tracepoint fields as types: what a cast, `sizeof`, a
 * tracepoint field or a pointer's C type text denotes.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import type { FieldLayout } from "../program.ts";
import type { Unit } from "./units.ts";
import { kernelTypeSource, namedType } from "./kernel_types.ts";
import { type IntType, STRING_SIZE, type SType } from "./types.ts";
import { enumCast } from "./sema_types.ts";

/**
 * The tracepoint array field an index expression reads (`args->args[1]`),
 * with its element type.
 */
export function arrayField(
  u: Unit,
  e: ast.IndexExpr,
): { field: FieldLayout; elem: SType & { k: "int" } } | undefined {
  const f = e.expr;
  if (f.kind !== "field" || f.expr.kind !== "builtin") return undefined;
  if (f.expr.name !== "args") return undefined;
  const field = u.fields?.get(f.field);
  if (field?.arrayLen === undefined || field.arrayLen === 0) return undefined;
  if (/\bchar$/.test(field.ctype)) return undefined;
  const es = field.size / field.arrayLen;
  if (es !== 1 && es !== 2 && es !== 4 && es !== 8) return undefined;
  const signed = ctypeSigned(field.ctype) ?? field.signed;
  return { field, elem: { k: "int", size: es, signed } };
}

/**
 * Whether an integer is a pointer (knows its origin or its pointee).
 *
 * @example Usage
 * ```ts
 * import { isPointer } from "./type_names.ts";
 * console.assert(!isPointer({ k: "int", size: 8, signed: true }));
 * ```
 *
 * @param t An integer type.
 * @returns Whether it points somewhere.
 */
export function isPointer(t: IntType): boolean {
  return t.ptr !== undefined || t.deref !== undefined || t.rec !== undefined;
}

/** The value type of a tracepoint field. */
export function fieldType(f: FieldLayout, userPtrs: boolean): SType {
  if (f.dataLoc) return { k: "str", size: STRING_SIZE };
  if (f.arrayLen !== undefined && /\bchar$/.test(f.ctype)) {
    return { k: "str", size: f.arrayLen };
  }
  if (f.arrayLen !== undefined && f.arrayLen > 0 && !f.ctype.includes("*")) {
    // An integer array (`__u8 saddr[4]`): a value printed [127,0,0,1].
    const es = f.size / f.arrayLen;
    if (es === 1 || es === 2 || es === 4 || es === 8) {
      const elem: IntType = {
        k: "int",
        size: es,
        signed: ctypeSigned(f.ctype) ?? f.signed,
      };
      return { k: "intarray", elem, count: f.arrayLen, size: f.size };
    }
  }
  if (f.ctype.includes("*")) {
    const origin = userPtrs || f.ctype.includes("__user") ? "user" : "kernel";
    const t = pointerType(f.ctype, origin);
    const m = /\b(struct|union)\s+(\w+)\s*\*/.exec(f.ctype);
    if (
      m !== null && kernelTypeSource() !== undefined && t.deref === undefined
    ) {
      const found = namedType(`${m[1]} ${m[2]}`);
      if (typeof found !== "string" && found.rec !== undefined) {
        t.rec = found.rec;
      }
    }
    return t;
  }
  const size = f.size === 1 || f.size === 2 || f.size === 4 ? f.size : 8;
  const t: IntType = {
    k: "int",
    size,
    signed: ctypeSigned(f.ctype) ?? f.signed,
  };
  // A field declared as an enum (`enum skb_drop_reason reason`) prints as
  // its enumerator's name, as 0.26 types it from the kernel's types.
  const em = /^\s*enum\s+(\w+)\s*$/.exec(f.ctype);
  if (em !== null && kernelTypeSource() !== undefined) {
    const found = namedType(`enum ${em[1]}`);
    if (typeof found !== "string") {
      return enumCast(`enum ${em[1]}`, found.types, found.id, t);
    }
  }
  return t;
}

/**
 * The type of a C pointer type text (`const char *const *`): an unsigned
 * 64-bit integer pointing into `origin` memory, with what it points at
 * when the pointee is an integer or another pointer.
 *
 * @example Usage
 * ```ts
 * import { pointerType } from "./type_names.ts";
 * const t = pointerType("const char *const *", "user");
 * console.assert(t.deref?.size === 8 && t.deref.deref?.size === 1);
 * ```
 */
export function pointerType(
  ctype: string,
  origin: "user" | "kernel" | undefined,
): IntType {
  const clean = ctype.replace(
    /\b(const|volatile|restrict|__restrict|__user|__kernel)\b/g,
    " ",
  );
  const stars = (clean.match(/\*/g) ?? []).length;
  const base = clean.replace(/\*/g, " ").replace(/\s+/g, " ").trim();
  return pointerTo(integerCType(base), stars, origin);
}

/**
 * `stars` levels of pointer to `base` (an integer type or unknown).
 *
 * @example Usage
 * ```ts
 * import { pointerTo } from "./type_names.ts";
 * console.assert(pointerTo(undefined, 2, "user").deref?.ptr === "user");
 * ```
 *
 * @param base The innermost pointee, if an integer.
 * @param stars Levels of pointer.
 * @param origin Whose memory the pointers point into.
 * @returns The pointer type.
 */
export function pointerTo(
  base: IntType | undefined,
  stars: number,
  origin: "user" | "kernel" | undefined,
): IntType {
  let deref = base;
  for (let i = 1; i < stars; i++) {
    const p: IntType = { k: "int", size: 8, signed: false };
    if (origin !== undefined) p.ptr = origin;
    if (deref !== undefined) p.deref = deref;
    deref = p;
  }
  const t: IntType = { k: "int", size: 8, signed: false };
  if (origin !== undefined) t.ptr = origin;
  if (deref !== undefined) t.deref = deref;
  return t;
}

/** An integer C type name (`unsigned long`, `u32`, `size_t`), if known. */
function integerCType(name: string): IntType | undefined {
  const t = castType({ kind: "type", name, pointer: 0, span: NO_SPAN });
  if (t !== undefined && t.k === "int") return t;
  const m = /^(?:__)?([us])(8|16|32|64)$/.exec(name);
  if (m !== null) {
    return {
      k: "int",
      size: (Number(m[2]) / 8) as 1 | 2 | 4 | 8,
      signed: m[1] === "s",
    };
  }
  const c = C_INTS[name];
  return c === undefined ? undefined : { k: "int", size: c[0], signed: c[1] };
}

/** Integer C type names beyond the cast names: [size, signed]. */
const C_INTS: Readonly<Record<string, [1 | 2 | 4 | 8, boolean]>> = {
  "signed char": [1, true],
  "long long": [8, true],
  "long int": [8, true],
  "unsigned long long": [8, false],
  "unsigned long int": [8, false],
  "size_t": [8, false],
  "ssize_t": [8, true],
  "loff_t": [8, true],
  "off_t": [8, true],
  "pid_t": [4, true],
  "uid_t": [4, false],
  "gid_t": [4, false],
  "umode_t": [2, false],
};

const NO_SPAN: ast.Span = { start: 0, end: 0, line: 0, col: 0 };

const SIGNED_TYPEDEFS = new Set([
  "pid_t",
  "ssize_t",
  "off_t",
  "loff_t",
  "time_t",
  "clockid_t",
  "key_serial_t",
  "timer_t",
  "mqd_t",
]);

/**
 * Signedness from a field's C type, as bpftrace reads it (syscall formats
 * mark every 8-byte argument unsigned, `int dfd` included); undefined when
 * the type does not say.
 */
function ctypeSigned(ctype: string): boolean | undefined {
  const t = ctype.replace(/\b(const|volatile)\s+/g, "").trim();
  if (/\bunsigned\b/.test(t) || /^(__)?u(8|16|32|64)$/.test(t)) return false;
  if (/^(signed\s+)?(char|short|int|long|long long|long int)$/.test(t)) {
    return true;
  }
  if (/^(__)?s(8|16|32|64)$/.test(t) || SIGNED_TYPEDEFS.has(t)) return true;
  return undefined;
}

/** The type a cast names, if it is an integer type. */
export function castType(t: ast.TypeRef): SType | undefined {
  if (t.pointer > 0) return { k: "int", size: 8, signed: false };
  const m = /^(u?)int(8|16|32|64)(_t)?$/.exec(t.name) ??
    /^([us])(8|16|32|64)$/.exec(t.name);
  if (m !== null) {
    return {
      k: "int",
      size: (Number(m[2]) / 8) as 1 | 2 | 4 | 8,
      signed: m[1] !== "u",
    };
  }
  switch (t.name) {
    case "char":
      return { k: "int", size: 1, signed: true };
    case "short":
      return { k: "int", size: 2, signed: true };
    case "int":
      return { k: "int", size: 4, signed: true };
    case "long":
      return { k: "int", size: 8, signed: true };
    case "unsigned char":
      return { k: "int", size: 1, signed: false };
    case "unsigned short":
      return { k: "int", size: 2, signed: false };
    case "unsigned int":
    case "unsigned":
      return { k: "int", size: 4, signed: false };
    case "unsigned long":
      return { k: "int", size: 8, signed: false };
  }
  return undefined;
}
