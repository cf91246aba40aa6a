/**
 * Functions of the modern language (bpftrace 0.26) that stand for an
 * expression the compiler already knows: `ppid` is
 * `curtask->real_parent->pid`, `has_key(@m, k)` and `delete(@m, k)` look
 * up or delete the element `@m[k]`, `probetype` is the name of the probe's
 * type. Sema and codegen ask for the same
 * node (cached per call), so the types sema records are the ones codegen
 * reads.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";

const expansions = new WeakMap<ast.Expr, ast.Expr>();

function cached<T extends ast.Expr>(e: ast.Expr, make: () => T): T {
  let x = expansions.get(e);
  if (x === undefined) {
    x = make();
    expansions.set(e, x);
  }
  return x as T;
}

/**
 * `ppid`: the pid of the current task's real parent, as bpftrace's
 * standard library defines it (`curtask->real_parent->pid`).
 *
 * @example Usage
 * ```ts
 * import { ppidExpr } from "./sugar.ts";
 * const span = { start: 0, end: 4, line: 1, col: 1 };
 * const e = ppidExpr({ kind: "builtin", name: "ppid", span });
 * console.assert(e.kind === "field" && e.field === "pid");
 * ```
 */
export function ppidExpr(e: ast.BuiltinExpr): ast.FieldExpr {
  return cached(e, () => {
    const span = e.span;
    const task: ast.Expr = { kind: "builtin", name: "curtask", span };
    const parent: ast.FieldExpr = {
      kind: "field",
      expr: task,
      field: "real_parent",
      arrow: true,
      span,
    };
    return { kind: "field", expr: parent, field: "pid", arrow: true, span };
  });
}

/**
 * The element a two-argument map call names: `has_key(@m, k)` and
 * `delete(@m, k)` mean `@m[k]`; a tuple literal key `(a, b)` means
 * `@m[a, b]`, as bpftrace stores several keys as one tuple.
 *
 * @example Usage
 * ```ts
 * import { keyedMap } from "./sugar.ts";
 * const span = { start: 0, end: 1, line: 1, col: 1 };
 * const call = {
 *   kind: "call" as const,
 *   name: "has_key",
 *   args: [
 *     { kind: "map" as const, name: "m", keys: [], span },
 *     { kind: "int" as const, value: 1n, raw: "1", span },
 *   ],
 *   span,
 * };
 * console.assert(keyedMap(call)?.keys.length === 1);
 * ```
 *
 * @returns The element, or undefined when the first argument is no map.
 */
export function keyedMap(e: ast.CallExpr): ast.MapExpr | undefined {
  const [m, k] = e.args;
  if (m?.kind !== "map" || k === undefined) return undefined;
  return cached(e, () => ({
    kind: "map",
    name: m.name,
    keys: k.kind === "tuple" ? k.elems : [k],
    span: m.span,
  }));
}

/**
 * The exit code `assert(cond, msg)` exits with when `cond` is false (1,
 * as bpftrace's standard library), as a literal node of the call.
 *
 * @example Usage
 * ```ts
 * import { assertCode } from "./sugar.ts";
 * const span = { start: 0, end: 1, line: 1, col: 1 };
 * const call = { kind: "call" as const, name: "assert", args: [], span };
 * console.assert(assertCode(call).value === 1n);
 * ```
 */
export function assertCode(e: ast.CallExpr): ast.IntLit {
  return cached(e, () => ({ kind: "int", value: 1n, raw: "1", span: e.span }));
}

/** 0.26's names of probe types, where they differ from the provider's. */
const PROBE_TYPE_NAMES: Readonly<Record<string, string>> = {
  BEGIN: "special",
  END: "special",
  bench: "benchmark",
  kfunc: "fentry",
  kretfunc: "fexit",
};

/**
 * `probetype`: the type of the probe's first attach point as bpftrace
 * 0.26 names it (`begin` and `end` are `special`).
 *
 * @example Usage
 * ```ts
 * import { probetypeText } from "./sugar.ts";
 * console.assert(probetypeText("BEGIN") === "special");
 * console.assert(probetypeText("tracepoint") === "tracepoint");
 * ```
 */
export function probetypeText(provider: string): string {
  return PROBE_TYPE_NAMES[provider] ?? provider;
}

/**
 * The string `strlen(x)` measures: `x` itself, or for a pointer `str(x)`
 * (0.26 reads a `char *` up to the default string length).
 *
 * @example Usage
 * ```ts
 * import { strlenOf } from "./sugar.ts";
 * const span = { start: 0, end: 1, line: 1, col: 1 };
 * const p = { kind: "builtin" as const, name: "arg0", span };
 * const e = { kind: "call" as const, name: "strlen", args: [p], span };
 * console.assert(strlenOf(e, true).kind === "call");
 * console.assert(strlenOf(e, false) === p);
 * ```
 */
export function strlenOf(e: ast.CallExpr, pointer: boolean): ast.Expr {
  const a = e.args[0];
  if (!pointer) return a;
  return cached(
    e,
    () => ({ kind: "call", name: "str", args: [a], span: a.span }),
  );
}

/**
 * `find(@m, k, $v)` (bpftrace 0.26) as the block it stands for:
 * `{ if (has_key(@m, k)) { $v = @m[k]; } has_key(@m, k) }` (true and `$v`
 * set when the key is there; `$v` unchanged otherwise).
 *
 * @example Usage
 * ```ts
 * import { findOf } from "./sugar.ts";
 * const span = { start: 0, end: 1, line: 1, col: 1 };
 * const m = { kind: "map" as const, name: "m", keys: [], span };
 * const k = { kind: "int" as const, value: 1n, raw: "1", span };
 * const v = { kind: "var" as const, name: "v", span };
 * const e = { kind: "call" as const, name: "find", args: [m, k, v], span };
 * console.assert(findOf(e).kind === "block_expr");
 * ```
 */
export function findOf(e: ast.CallExpr): ast.BlockExpr {
  return cached(e, () => {
    const [m, k, v] = e.args as [ast.MapExpr, ast.Expr, ast.VarExpr];
    const span = e.span;
    const has = (): ast.CallExpr => ({
      kind: "call",
      name: "has_key",
      args: [m, k],
      span,
    });
    const elem: ast.MapExpr = {
      kind: "map",
      name: m.name,
      keys: k.kind === "tuple" ? k.elems : [k],
      span: m.span,
    };
    const assign: ast.AssignStmt = {
      kind: "assign",
      op: "=",
      target: v,
      value: elem,
      span,
    };
    const test: ast.IfStmt = {
      kind: "if",
      cond: has(),
      then: { kind: "block", stmts: [assign], span },
      span,
    };
    return { kind: "block_expr", stmts: [test], value: has(), span };
  });
}
