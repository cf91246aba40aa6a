/**
 * Argument checks the function call checks (`sema_calls.ts`) share: the
 * number of arguments, integer and literal arguments, string literals,
 * map arguments and map elements, each reporting what it refuses.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { NONE, type SType, typeName } from "./types.ts";
import type { MapInfo, SemaScope } from "./sema_scope.ts";
import { keyedMap } from "./sugar.ts";

/** Whether call `e` has `min` to `max` arguments; reports otherwise. */
export function argc(
  c: SemaScope,
  e: ast.CallExpr,
  min: number,
  max = min,
): boolean {
  const n = e.args.length;
  if (n < min || n > max) {
    const want = min === max
      ? `${min}`
      : max === Infinity
      ? `at least ${min}`
      : `${min} to ${max}`;
    c.err(
      e.span,
      `${e.name}() takes ${want} ${
        min === 1 && max === 1 ? "argument" : "arguments"
      } (${n} given)`,
    );
    // The arguments' own errors, but a whole map (`len(@m, 1)`) is no
    // value to check: that would report its keys missing too.
    for (const a of e.args) {
      if (a.kind !== "map" || a.keys.length > 0) c.expr(a);
    }
    return false;
  }
  return true;
}

/** Checks argument `i` of call `e` is an integer; returns its type. */
export function intArg(c: SemaScope, e: ast.CallExpr, i: number): SType {
  const t = c.expr(e.args[i]);
  if (t.k !== "int") {
    c.err(
      e.args[i].span,
      `${e.name}() expects an integer argument ${i + 1}, got ${typeName(t)}`,
    );
  }
  return t;
}

/** Argument `i` of call `e` as an integer literal; reports otherwise. */
export function litArg(
  c: SemaScope,
  e: ast.CallExpr,
  i: number,
): bigint | undefined {
  c.expr(e.args[i]);
  const v = c.constInt(e.args[i]);
  if (v === undefined) {
    c.err(
      e.args[i].span,
      `${e.name}() expects an integer literal as argument ${i + 1}`,
    );
  }
  return v;
}

/**
 * Argument `i` of call `e` as a string literal or positional parameter;
 * reports otherwise.
 */
export function strLitArg(
  c: SemaScope,
  e: ast.CallExpr,
  i: number,
): string | undefined {
  const a = e.args[i];
  c.expr(a);
  if (a.kind === "str") return a.value;
  if (a.kind === "positional") {
    const v = c.param(a);
    if (v !== undefined) return v;
  }
  c.err(
    a.span,
    `${e.name}() expects a string literal as argument ${i + 1}`,
  );
  return undefined;
}

/**
 * Argument `i` of call `e` as a map (without keys unless `keyed`);
 * reports otherwise.
 */
export function mapArg(
  c: SemaScope,
  e: ast.CallExpr,
  i: number,
  keyed: boolean,
): MapInfo | undefined {
  const a = e.args[i];
  if (a.kind !== "map") {
    c.err(a.span, `${e.name}() expects a map argument`);
    c.expr(a);
    return undefined;
  }
  if (!keyed && a.keys.length > 0) {
    c.err(a.span, `${e.name}() expects a map without keys`);
    return undefined;
  }
  c.u.types.set(a, NONE);
  const m = c.maps.get(`@${a.name}`);
  if (m === undefined) {
    if (c.diag !== undefined) {
      c.err(
        a.span,
        `Undefined map: @${a.name}${c.mapHint(`@${a.name}`)}`,
      );
    }
    return undefined;
  }
  if (m !== undefined && m.kind === undefined && c.diag !== undefined) {
    c.err(a.span, `Undefined map: ${m.name}${c.mapHint(m.name)}`);
  }
  return m;
}

/** The string a string literal or positional parameter `e` is, if any. */
export function strConstant(c: SemaScope, e: ast.Expr): string | undefined {
  if (e.kind === "str") return e.value;
  if (e.kind === "positional" && c.constInt(e) === undefined) {
    return c.param(e);
  }
  return undefined;
}

/**
 * `f(@m, k)` (`has_key`, `delete`): `@m` a map with keys, `k` its key
 * (a tuple for several: `@m[a, b]` is `@m[(a, b)]`); checks the element
 * `@m[k]` as a lookup.
 */
export function elementArg(c: SemaScope, e: ast.CallExpr): MapInfo | undefined {
  const a = e.args[0];
  if (a.kind !== "map" || a.keys.length > 0) {
    c.err(a.span, `${e.name}() expects a map as argument 1`);
    c.expr(a);
    c.expr(e.args[1]);
    return undefined;
  }
  c.u.types.set(a, NONE);
  const known = c.maps.get(`@${a.name}`);
  if (known !== undefined && known.nkeys === 0) {
    c.err(
      a.span,
      `call to ${e.name}() expects a map with explicit keys (non-scalar map)`,
    );
    c.expr(e.args[1]);
    return undefined;
  }
  const el = keyedMap(e)!;
  const m = c.mapKeys(el);
  c.u.types.set(el, NONE);
  if (m !== undefined && m.kind === undefined && c.diag) {
    c.err(a.span, `Undefined map: ${m.name}${c.mapHint(m.name)}`);
  }
  return m;
}
