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
import {
  type IntType,
  type RecordRef,
  S64,
  type SType,
  typeName,
} from "./types.ts";
import { castType, fieldType } from "./type_names.ts";
import type { SemaScope } from "./sema_scope.ts";
import { enumCast, recordField } from "./sema_types.ts";
import { argsError } from "./sema_builtins.ts";
import { onDemand } from "./on_demand.ts";

/**
 * The type of `e.field` / `e->field`: a tuple element, a record or struct
 * member, or a tracepoint `args` field; reports unknown fields.
 */
export function checkField(c: SemaScope, e: ast.FieldExpr): SType {
  let t = e.expr.kind === "builtin" && e.expr.name === "args"
    ? argsBase(c, e.expr)
    : c.expr(e.expr);
  if (t.k === "int" && t.pointee?.k === "tuple" && t.pointee.names) {
    // A pointer to a record (`$p = &$r; $p.a`): read as `(*$p).a`, as
    // 0.26 puts the dereference into the tree.
    e.expr = { kind: "unary", op: "*", expr: e.expr, span: e.expr.span };
    t = c.expr(e.expr);
  }
  // `->` is an alias of `.` (0.26): a record's fields read with either.
  if (t.k === "tuple" && t.names !== undefined) return recordField(c, e, t);
  if (t.k === "tuple") {
    c.err(e.span, `Use .N to index a tuple`);
    return S64;
  }
  if (t.k === "record") return checkMember(c, e, t.rec, 0, t.ptr);
  // A cast to an unknown type was reported already.
  if (t.k === "int" && t.failed) return S64;
  const to = t.k === "int" ? structPointer(t) : undefined;
  if (to !== undefined) return checkMember(c, e, to.rec, to.reads, to.ptr);
  if (t.k !== "args") {
    c.err(
      e.span,
      `Cannot access field "${e.field}" of a value of type ${typeName(t)}${
        whyNotStruct(c, e.expr)
      }`,
    );
    return S64;
  }
  if (c.u.btfSig !== undefined) return onDemand("btf").btfArgType(c, e);
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

/**
 * Why a tracepoint field declared as a struct pointer (`args->rqtp`, a
 * `struct __kernel_timespec *`) is a plain integer here: no kernel types,
 * or types (a recording's, the bundle) without that struct. Empty for
 * other expressions.
 */
function whyNotStruct(c: SemaScope, e: ast.Expr): string {
  if (e.kind !== "field" || e.expr.kind !== "builtin") return "";
  if (e.expr.name !== "args") return "";
  const f = c.u.fields?.get(e.field);
  const m = f === undefined
    ? null
    : /\b(struct|union)\s+(\w+)\s*\*/.exec(f.ctype);
  if (f === undefined || m === null) return "";
  const name = `${m[1]} ${m[2]}`;
  const src = kernelTypeSource();
  const why = src === undefined
    ? "kernel types are not loaded"
    : typeof namedType(name) === "string"
    ? `the kernel types in use (${src.types().source}) have no ${name}`
    : "";
  return why === ""
    ? ""
    : `: args->${e.field} is a "${f.ctype.trim()}", but ${why}`;
}

/**
 * `p.f`, `p->f`, `s.f` or `s->f` on a struct or union (kernel types):
 * `.` and `->` are one operator (0.26), which reads through as many
 * pointers as lead to the struct (`reads`: 0 for a struct where it lives).
 */
function checkMember(
  c: SemaScope,
  e: ast.FieldExpr,
  rec: RecordRef,
  reads: number,
  origin: "user" | "kernel" | undefined,
): SType {
  const m = member(rec, e.field, origin);
  if (typeof m === "string") {
    c.err(e.span, m);
    return S64;
  }
  (c.u.members ??= new Map()).set(e, reads === 0 ? m : { ...m, reads });
  return m.type;
}

/**
 * The struct or union a pointer leads to, through one pointer
 * (`struct sock *`) or more (`struct sock **`): the struct, how many
 * pointers are read to reach it, and the memory the last one points
 * into; undefined for a pointer to anything else or a plain integer.
 *
 * @example A pointer to a pointer to a struct
 * ```ts ignore
 * structPointer(sockPtrPtr); // { rec: struct sock, reads: 2, ptr: "kernel" }
 * ```
 */
export function structPointer(
  t: IntType,
): { rec: RecordRef; reads: number; ptr?: "user" | "kernel" } | undefined {
  let p: IntType | undefined = t;
  for (let reads = 1; p !== undefined; reads++) {
    if (p.rec !== undefined) return { rec: p.rec, reads, ptr: p.ptr };
    p = p.deref;
  }
  return undefined;
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
  const src = kernelTypeSource();
  if (src === undefined) return undefined;
  // As clang expands a header's macros before anything else sees them.
  if (c.pre.includes !== undefined && src.headers !== undefined) {
    const h = src.headers(c.pre.includes).lookup(e.name);
    if (h.kind === "value") return h.value;
  }
  return enumValue(e.name);
}

/**
 * The error for an upper-case name that is no constant: what was looked
 * at (the kernel's enums, the included headers, found or not).
 */
export function unknownConstant(c: SemaScope, name: string): string {
  const head =
    `Unknown identifier: "${name}" is neither a builtin nor an enum constant of the kernel's types`;
  const incs = c.pre.includes;
  const src = kernelTypeSource();
  if (incs === undefined || src?.headers === undefined) {
    return `${head}; a #define constant from a header is not in BTF: write its value`;
  }
  const h = src.headers(incs);
  const found = h.lookup(name);
  if (found.kind === "other") {
    return `${head}; ${found.file} defines it as "${found.text}", which is not an integer constant: write its value`;
  }
  const names = incs.map((i) => (i.system ? `<${i.path}>` : `"${i.path}"`));
  if (h.missing.length === incs.length) {
    const where = h.dirs.length === 0
      ? "no system include directories on this system"
      : `searched ${h.dirs.join(", ")}`;
    return `${head}, and ${names.join(", ")} ${
      names.length === 1 ? "was" : "were"
    } not found (${where}): write its value`;
  }
  const missing = h.missing.length === 0
    ? ""
    : ` (${h.missing.join(", ")} not found)`;
  const read = h.files.length === 0
    ? ""
    : ` (read ${h.files[0]}${
      h.files.length > 1 ? ` and ${h.files.length - 1} more` : ""
    })`;
  return `${head}, nor a #define of ${
    names.join(", ")
  }${missing}${read}: installed headers are the userspace API; the kernel's internal headers, where constants such as the task states are, are not installed: write its value`;
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
  const own = c.pre.enums?.types.get(name);
  if (own !== undefined && e.type.pointer === 0) {
    // A script's enum (0.26: 64 bits wide), printed as its names.
    if (t.k !== "int") {
      c.err(e.span, `Cannot cast from ${typeName(t)} to ${name}`);
      return S64;
    }
    return { k: "int", size: 8, signed: t.signed, enumType: own };
  }
  const named = /^(struct|union|enum) /.test(name);
  // `(void *)p`: an address, nothing known of what it points at.
  if (name === "void" && e.type.pointer > 0) return undefined;
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
    return { ...S64, failed: true };
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

/**
 * An integer typedef of the kernel's types (`size_t`, `pid_t`) as the type
 * of a `let` declaration, if it is one.
 *
 * @example Usage
 * ```ts ignore
 * const t = kernelIntType(scope, letStmt.type); // uint64 for size_t
 * ```
 */
export function kernelIntType(
  c: SemaScope,
  t: ast.TypeRef,
): IntType | undefined {
  if (t.pointer > 0 || kernelTypeSource() === undefined) return undefined;
  if (/^(struct|union) /.test(t.name)) return undefined;
  const found = namedType(t.name, c.pre.local);
  if (typeof found === "string" || found.type?.k !== "int") return undefined;
  return found.type;
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

/**
 * `args` as the base of a field read (`args.dfd`, `args->dfd`): the
 * tracepoint's record in place, recorded as type `args` (used whole, it is
 * a record of its fields: `sema_args.ts`).
 */
function argsBase(c: SemaScope, e: ast.BuiltinExpr): SType {
  if (c.u.kind !== "tracepoint" && c.u.btfSig === undefined) {
    c.err(e.span, argsError(c.u.kind));
  }
  const t: SType = { k: "args" };
  c.u.types.set(e, t);
  return t;
}
