/**
 * Member access checks: `.field` and `->field` on tuples, records, kernel
 * and script structs, tracepoint `args`, casts to kernel types, and
 * `sizeof`/`offsetof` of kernel types.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { didYouMean } from "../lang/suggest.ts";
import {
  enumValue,
  kernelTypeSource,
  member,
  namedType,
} from "./kernel_types.ts";
import { type IntType, S64, type SType, typeName } from "./types.ts";
import { castType, fieldType } from "./type_names.ts";
import type { SemaScope } from "./sema_scope.ts";
import { enumCast, recordField } from "./sema_types.ts";

/**
 * The type of `e.field` / `e->field`: a tuple element, a record or struct
 * member, or a tracepoint `args` field; reports unknown fields.
 */
export function checkField(c: SemaScope, e: ast.FieldExpr): SType {
  const t = c.expr(e.expr);
  if (t.k === "tuple" && t.names !== undefined && !e.arrow) {
    return recordField(c, e, t);
  }
  if (t.k === "tuple") {
    c.err(e.span, `Use .N to index a tuple`);
    return S64;
  }
  if (t.k === "record" || (t.k === "int" && t.rec !== undefined)) {
    return checkMember(c, e, t);
  }
  if (t.k === "int" && !e.arrow && t.ptr !== undefined) {
    c.err(
      e.span,
      `Cannot access field "${e.field}" of a pointer with ".": use "->"`,
    );
    return S64;
  }
  if (t.k !== "args") {
    c.err(
      e.span,
      `Cannot access field "${e.field}" of a value of type ${typeName(t)}`,
    );
    return S64;
  }
  const f = c.u.fields?.get(e.field);
  if (f === undefined) {
    c.err(
      e.span,
      `Tracepoint "${c.u.attach[0].target}" has no field "${e.field}"${
        didYouMean(e.field, c.u.fields?.keys() ?? [])
      }`,
    );
    return S64;
  }
  // A __data_loc string is read at the size of any string (max_strlen).
  if (f.dataLoc && c.opts.maxStrlen !== undefined) {
    return { k: "str", size: c.opts.maxStrlen };
  }
  return fieldType(f, c.u.userPtrs);
}

/** `p->f` or `s.f` on a struct or union (kernel types). */
function checkMember(c: SemaScope, e: ast.FieldExpr, t: SType): SType {
  if (t.k === "int") {
    if (!e.arrow) {
      c.err(
        e.span,
        `Cannot access field "${e.field}" of ${
          typeName(t)
        } with ".": it is a pointer; use "->"`,
      );
      return S64;
    }
  } else if (e.arrow) {
    c.err(
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
    c.err(e.span, m);
    return S64;
  }
  (c.u.members ??= new Map()).set(e, m);
  return m.type;
}

/** The struct a pointer `t` points at, as a value read through. */
export function recordValue(t: IntType): SType {
  const st: SType = { k: "record", rec: t.rec!, size: t.rec!.size };
  if (t.ptr !== undefined) st.ptr = t.ptr;
  return st;
}

/** An enumerator of the kernel's types named by `e`, if there is one. */
export function enumConstant(
  c: SemaScope,
  e: ast.IdentExpr,
): bigint | undefined {
  const d = c.pre.defines.get(e.name);
  if (d !== undefined) return d;
  if (kernelTypeSource() === undefined) return undefined;
  return enumValue(e.name);
}

/**
 * A cast to a struct, union, enum or typedef pointer of the kernel's
 * types (`(struct sock *)arg0`); undefined for the cast names
 * `castType` knows.
 */
export function kernelCast(
  c: SemaScope,
  e: ast.CastExpr,
  t: SType,
): SType | undefined {
  const name = e.type.name;
  const named = /^(struct|union|enum) /.test(name);
  if (!named && castType({ ...e.type, pointer: 0 }) !== undefined) {
    return undefined;
  }
  if (!named && kernelTypeSource() === undefined) return undefined;
  if (
    named && kernelTypeSource() === undefined &&
    c.structs.get(name) !== undefined
  ) {
    c.err(
      e.type.span,
      `Cannot read ${name}: kernel types are not loaded`,
    );
    return S64;
  }
  const found = namedType(name, c.pre.local);
  if (typeof found === "string") {
    // The script defines it in a way its layout cannot be read: say so.
    const bad = c.structs.errors.find((x) => x.type === name);
    c.err(e.type.span, bad?.message ?? found);
    return S64;
  }
  if (t.k !== "int") {
    c.err(
      e.span,
      `Cannot cast from ${typeName(t)} to ${name}${
        "*".repeat(e.type.pointer) ? " " + "*".repeat(e.type.pointer) : ""
      }`,
    );
    return S64;
  }
  if (e.type.pointer === 0) {
    if (found.rec !== undefined) {
      c.err(
        e.span,
        `Cannot cast to ${found.rec.name}: cast to a pointer (${found.rec.name} *)`,
      );
      return S64;
    }
    if (found.type?.k !== "int") {
      c.err(e.type.span, `Cannot cast to "${name}"`);
      return S64;
    }
    return enumCast(name, found.types, found.id, found.type);
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
export function kernelSizeOf(c: SemaScope, t: ast.TypeRef): number | undefined {
  if (t.pointer > 0) return 8 * (t.arrayLength ?? 1);
  if (kernelTypeSource() === undefined) return undefined;
  const found = namedType(t.name, c.pre.local);
  if (typeof found === "string") return undefined;
  return found.types.sizeOf(found.id) * (t.arrayLength ?? 1);
}

/** `offsetof` in a kernel type: the offset, an error, or undefined. */
export function kernelOffsetOf(
  c: SemaScope,
  t: ast.TypeRef,
  path: readonly string[],
): number | string | undefined {
  if (kernelTypeSource() === undefined) return undefined;
  const found = namedType(t.name, c.pre.local);
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
