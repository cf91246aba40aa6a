/**
 * Checks of the 0.26 value types: `(bool)` casts, records
 * (`(a=1, b="x")` and `.a`), tuple subscripts (`$t[1]`) and string
 * subscripts (`$s[0]`).
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { didYouMean } from "../lang/suggest.ts";
import { BOOL, type IntType, S64, type SType, typeName } from "./types.ts";
import type { SemaScope } from "./sema_scope.ts";
import type { KernelTypes } from "../btf/kernel_types.ts";

/**
 * `(bool)e`: an integer or pointer is true when not 0, a string when not
 * empty (as bpftrace 0.26).
 *
 * @example Usage
 * ```ts ignore
 * const t = boolCast(scope, castNode, { k: "str", size: 6 }); // BOOL
 * ```
 */
export function boolCast(c: SemaScope, e: ast.CastExpr, t: SType): SType {
  if (t.k !== "int" && t.k !== "str") {
    c.err(e.span, `Cannot cast from ${typeName(t)} to bool`);
  }
  return BOOL;
}

/** `r.a` on a record: its element, noted in `u.elems`. *
 * @example Usage
 * ```ts ignore
 * const t = recordField(scope, fieldNode, recordType); // the field's type
 * ```
 */
export function recordField(
  c: SemaScope,
  e: ast.FieldExpr,
  t: SType & { k: "tuple" },
): SType {
  const names = t.names!;
  const i = names.indexOf(e.field);
  if (i < 0) {
    c.err(
      e.span,
      `Record has no field "${e.field}"${didYouMean(e.field, names)}`,
    );
    return S64;
  }
  (c.u.elems ??= new Map()).set(e, i);
  return t.elems[i];
}

/**
 * `t[i]` on a tuple (a constant index: the element, as `t.i`) or `s[i]`
 * on a string (the byte at a constant index, an unsigned 8-bit integer).
 *
 * @example Usage
 * ```ts ignore
 * const t = indexValue(scope, indexNode, { k: "str", size: 6 }, S64); // u8
 * ```
 */
export function indexValue(
  c: SemaScope,
  e: ast.IndexExpr,
  base: SType & { k: "tuple" | "str" | "intarray" },
  it: SType,
): SType {
  if (it.k !== "int") {
    c.err(e.index.span, `Index must be an integer, got ${typeName(it)}`);
    return S64;
  }
  const i = constIndex(c, e.index);
  const what = base.k === "tuple"
    ? "tuple"
    : base.k === "str"
    ? "string"
    : "array";
  if (i === undefined && base.k !== "tuple") {
    // A run-time index: checked against the size when it runs.
    (c.u.varIndex ??= new Set()).add(e);
    return base.k === "str" ? { k: "int", size: 1, signed: false } : base.elem;
  }
  if (i === undefined) {
    c.err(
      e.index.span,
      `The index of a ${what} must be a constant integer expression`,
    );
    return S64;
  }
  const n = base.k === "tuple"
    ? base.elems.length
    : base.k === "str"
    ? base.size
    : base.count;
  if (i < 0n || i >= BigInt(n)) {
    c.err(
      e.index.span,
      base.k === "tuple"
        ? `Tuple index ${i} out of range: tuple has ${n} elements`
        : base.k === "str"
        ? `String index ${i} out of bounds for a string of ${n} bytes`
        : `The index ${i} is out of bounds for array of size ${n}`,
    );
    return S64;
  }
  (c.u.elems ??= new Map()).set(e, Number(i));
  if (base.k === "str") return { k: "int", size: 1, signed: false };
  if (base.k === "intarray") return base.elem;
  return base.elems[Number(i)];
}

/** A constant index: a literal, or `+ - *` of constant indexes. */
function constIndex(c: SemaScope, e: ast.Expr): bigint | undefined {
  if (e.kind !== "binary") return c.constInt(e);
  const a = constIndex(c, e.left);
  const b = constIndex(c, e.right);
  if (a === undefined || b === undefined) return undefined;
  if (e.op === "+") return a + b;
  if (e.op === "-") return a - b;
  if (e.op === "*") return a * b;
  return undefined;
}

/**
 * `&$x`: the address of a scratch variable on the BPF stack, a kernel
 * pointer to its value (an integer's 64-bit slot, a string's first byte);
 * valid while the probe runs.
 *
 * @example Usage
 * ```ts ignore
 * const t = addressOf(scope, unaryNode, S64); // a kernel pointer to int64
 * ```
 */
export function addressOf(
  c: SemaScope,
  e: ast.UnaryExpr,
  t: SType,
): SType {
  if (e.expr.kind === "map" && e.expr.keys.length === 0) {
    // 0.26's `&@m` is the BPF map object itself, for its C library.
    c.err(
      e.span,
      `The address of a map (the BPF map object) is not supported: copy the value to a scratch variable ($x = @m; &$x)`,
    );
    return S64;
  }
  if (e.expr.kind !== "var") {
    // bpftrace 0.26's words (tests/parser.cpp).
    c.err(
      e.span,
      "The address-of operator (&) can only be used on a map or variable",
    );
    return S64;
  }
  const p: IntType = { k: "int", size: 8, signed: false, ptr: "kernel" };
  if (t.k === "int" && !t.bool && t.enumType === undefined) {
    p.deref = { k: "int", size: 8, signed: t.signed };
  } else if (
    t.k === "str" || t.k === "tuple" || t.k === "intarray" ||
    t.k === "username" || t.k === "ksym" || t.k === "timestamp" ||
    t.k === "inet" || t.k === "buf" || t.k === "usym"
  ) {
    // `*p` reads the whole value back (0.26: `print(*(&$t))`).
    p.pointee = t;
  } else {
    c.err(e.span, `Cannot take the address of a value of type ${typeName(t)}`);
    return S64;
  }
  return p;
}

/**
 * `(enum name)x`: the integer type of the enum, knowing its enumerators,
 * so that print() and `%s` show the name (as bpftrace 0.26).
 *
 * @example Usage
 * ```ts ignore
 * const t = enumCast("enum sock_type", types, id, { k: "int", size: 4, signed: false });
 * ```
 */
export function enumCast(
  name: string,
  types: KernelTypes,
  id: number,
  t: IntType,
): IntType {
  const bt = types.resolve(id);
  if (bt.kind !== "enum" && bt.kind !== "enum64") return t;
  return {
    ...t,
    enumType: {
      name: /^enum /.test(name) ? name : `enum ${name}`,
      values: bt.values.map((v) => [String(v.value), v.name]),
    },
  };
}
