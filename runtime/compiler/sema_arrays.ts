/**
 * Checks of integer-array values (0.26): casts between integers or
 * strings and integer arrays (`(uint8[4])x`, `(int8[])"abc"`), and their
 * comparison with `==`/`!=`.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import {
  BOOL,
  type IntType,
  S64,
  stored,
  type SType,
  typeName,
} from "./types.ts";
import { castType } from "./type_names.ts";
import type { SemaScope } from "./sema_scope.ts";

/**
 * `(T[N])x`: an integer (its bytes, little-endian; a narrower integer or
 * a constant that fits is zero-extended to arrays of up to 8 bytes) or a
 * string of the same size, as an array of `N` integers of type `T`.
 * `T[]` takes `N` from the value's size.
 *
 * @example Usage
 * ```ts ignore
 * const t = intArrayCast(scope, castNode, U32); // uint8[4] for (uint8[4])
 * ```
 */
export function intArrayCast(
  c: SemaScope,
  e: ast.CastExpr,
  t: SType,
): SType {
  const tr = e.type;
  const want = `${tr.name}[${tr.arrayLength || ""}]`;
  const base = tr.name === "bool"
    ? BOOL
    : castType({ ...tr, arrayLength: undefined });
  if (base?.k !== "int") {
    c.err(e.span, `Cannot cast from "${typeName(t)}" to "${want}"`);
    return S64;
  }
  const elem: IntType = base;
  if (t.k !== "int" && t.k !== "str") {
    c.err(e.span, `Cannot cast from "${typeName(t)}" to "${want}"`);
    return S64;
  }
  let count = tr.arrayLength!;
  if (count === 0) {
    if (t.size % elem.size !== 0) {
      c.err(
        e.span,
        "Cannot determine array size: the element size is incompatible with the cast integer size",
      );
      return S64;
    }
    count = t.size / elem.size;
  }
  const size = count * elem.size;
  const k = t.k === "int" ? c.constInt(e.expr) : undefined;
  const fits = k !== undefined && size <= 8 &&
    k >= -(1n << BigInt(size * 8 - 1)) && k < (1n << BigInt(size * 8));
  const ok = size === t.size ||
    (t.k === "int" && size <= 8 && (size > t.size || fits));
  if (!ok) {
    c.err(
      e.span,
      `Cannot cast from "${typeName(t)}" to "${
        elem.bool ? "bool" : typeName(elem)
      }[${count}]": ` +
        `the sizes differ (${t.size} and ${size} bytes)`,
    );
    return S64;
  }
  return { k: "intarray", elem, count, size };
}

/**
 * `(bool)@c` / `(int64)@s` on a `count()`, `sum()`, `min()`, `max()` or
 * `avg()` map (0.26's castable maps): the value folded over the CPUs as an
 * integer, noted in `u.aggReads`.
 * Undefined for anything else (the ordinary checks apply).
 *
 * @example Usage
 * ```ts ignore
 * const t = castableMap(scope, castNode.expr); // U64 for a count map
 * ```
 */
export function castableMap(c: SemaScope, e: ast.Expr): SType | undefined {
  if (e.kind !== "map") return undefined;
  const known = c.maps.get(`@${e.name}`);
  const kind = known?.kind;
  if (
    kind !== "count" && kind !== "sum" && kind !== "min" && kind !== "max" &&
    kind !== "avg"
  ) return undefined;
  const m = c.mapKeys(e);
  if (m === undefined) return S64;
  (c.u.aggReads ??= new Set()).add(e);
  // count() is unsigned; sum() as its values; min, max and avg signed.
  const t: IntType = {
    k: "int",
    size: 8,
    signed: m.kind === "sum" ? m.sumSigned !== false : m.kind !== "count",
  };
  c.u.types.set(e, t);
  return t;
}

/**
 * Whether `a == b` / `a != b` compares two values of these types
 * element by element (tuples and records whose elements compare, integer
 * arrays of the same type); the message says why not.
 *
 * @example Usage
 * ```ts ignore
 * const why = aggregateEq(tupleA, tupleB); // undefined: comparable
 * ```
 */
export function aggregateEq(x: SType, y: SType): string | undefined {
  const a = stored(x), b = stored(y);
  if (a.k === "intarray" && b.k === "intarray") {
    if (a.count !== b.count) {
      return "Only arrays of same size support comparison operators.";
    }
    if (a.elem.size !== b.elem.size || a.elem.signed !== b.elem.signed) {
      return "Only arrays of same sized integer support comparison operators.";
    }
    return undefined;
  }
  if (a.k === "array" && b.k === "array") {
    // An array of arrays (0.26's words: its elements are no integers).
    return a.count !== b.count
      ? "Only arrays of same size support comparison operators."
      : "Only arrays of same sized integer support comparison operators.";
  }
  if (a.k === "tuple" && b.k === "tuple") {
    if (a.elems.length !== b.elems.length) return "";
    if ((a.names === undefined) !== (b.names === undefined)) return "";
    // Records compare field by field by name, whatever their order.
    const at = (i: number) =>
      a.names === undefined ? i : b.names!.indexOf(a.names[i]);
    for (let i = 0; i < a.elems.length; i++) {
      if (at(i) < 0) return "";
      const x = a.elems[i], y = b.elems[at(i)];
      if (x.k === "int" && y.k === "int") continue;
      if (x.k === "str" && y.k === "str") continue;
      if (aggregateEq(x, y) !== undefined) return "";
    }
    return undefined;
  }
  return "";
}
