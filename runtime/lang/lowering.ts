/**
 * Lowerings of modern bpftrace syntax to the tree the compiler already
 * knows:
 *
 * - {@linkcode lowerProgram} (run by the compiler before semantic
 *   analysis, after it expands macros with `macros.ts`): a probe whose
 *   attach points mix `BEGIN`/`END` with each other or with other
 *   providers becomes one probe per special provider plus one for the
 *   rest, each with its own copy of the predicate and body, in source
 *   order.
 * - {@linkcode lowerElvis} (run by the parser): `a ?: b` becomes
 *   `a ? a : b`; `a` must have no side effects, since it is evaluated
 *   twice.
 *
 * @module
 */

import type { Expr, Probe, Program, Span, TernaryExpr } from "./ast.ts";
import { children } from "./visit.ts";

/**
 * The program with every lowering of this module applied (the input is
 * not changed).
 *
 * @example Usage
 * ```ts
 * import { lowerProgram } from "./lowering.ts";
 * import { parse } from "./parser.ts";
 * import assert from "node:assert/strict";
 * const { ast } = parse('BEGIN,END { printf("x\\n"); }');
 * assert.equal(ast.probes.length, 1);
 * assert.equal(lowerProgram(ast).probes.length, 2);
 * ```
 *
 * @param program A parsed program.
 * @returns The lowered program.
 */
export function lowerProgram(program: Program): Program {
  return { ...program, probes: program.probes.flatMap(splitSpecialProbes) };
}

/**
 * Splits a probe whose attach points include `BEGIN` or `END` next to
 * attach points of another provider into probes of one kind each. Other
 * probes are returned as they are.
 *
 * @example Usage
 * ```ts
 * import { splitSpecialProbes } from "./lowering.ts";
 * import { parse } from "./parser.ts";
 * import assert from "node:assert/strict";
 * const { ast } = parse("BEGIN,END { exit(); } BEGIN { exit(); }");
 * const split = splitSpecialProbes(ast.probes[0]);
 * assert.deepEqual(split.map((p) => p.attachPoints[0].provider), ["BEGIN", "END"]);
 * assert.equal(splitSpecialProbes(ast.probes[1]).length, 1);
 * ```
 *
 * @param probe A parsed probe.
 * @returns The probes it stands for, in source order.
 */
export function splitSpecialProbes(probe: Probe): Probe[] {
  const groups = new Map<string, Probe["attachPoints"]>();
  for (const ap of probe.attachPoints) {
    const key = ap.provider === "BEGIN" || ap.provider === "END"
      ? ap.provider
      : "";
    const group = groups.get(key);
    if (group) group.push(ap);
    else groups.set(key, [ap]);
  }
  const special = groups.has("BEGIN") || groups.has("END");
  if (!special || groups.size === 1) return [probe];
  const out: Probe[] = [];
  for (const aps of groups.values()) {
    const first = out.length === 0;
    out.push({
      ...probe,
      attachPoints: aps,
      ...(probe.predicate
        ? {
          predicate: first ? probe.predicate : cloneTree(probe.predicate),
        }
        : {}),
      body: first ? probe.body : cloneTree(probe.body),
    });
  }
  return out;
}

/**
 * A deep copy of a syntax tree without recursion (`structuredClone`
 * exhausts the engine's stack on trees the parser still accepts, such as
 * a chain of 5000 `&&`); shared nodes stay shared.
 */
function cloneTree<T>(root: T): T {
  const copies = new Map<object, unknown>();
  const copyOf = (v: unknown): unknown => {
    if (typeof v !== "object" || v === null) return v;
    let c = copies.get(v);
    if (c === undefined) {
      c = Array.isArray(v) ? new Array(v.length) : {};
      copies.set(v, c);
      work.push(v);
    }
    return c;
  };
  const work: object[] = [];
  const top = copyOf(root);
  while (work.length > 0) {
    const v = work.pop()!;
    const c = copies.get(v) as Record<string, unknown>;
    for (const [k, x] of Object.entries(v)) c[k] = copyOf(x);
  }
  return top as T;
}

/** Functions that compute a value and change nothing. */
const PURE_CALLS: ReadonlySet<string> = new Set([
  "str",
  "buf",
  "strlen",
  "ntop",
  "pton",
  "kaddr",
  "uaddr",
  "ksym",
  "usym",
  "kptr",
  "uptr",
  "reg",
  "cgroupid",
  "strncmp",
  "strcontains",
  "has_key",
  "len",
  "bswap",
  "macaddr",
  "path",
  "sizeof",
]);

/**
 * The first sub-expression of `e` that changes state or output (an
 * assignment-like `++`/`--`, or a call other than a pure function), if any.
 *
 * @example Usage
 * ```ts
 * import { sideEffect } from "./lowering.ts";
 * import assert from "node:assert/strict";
 * const span = { start: 0, end: 1, line: 1, col: 1 };
 * assert.equal(sideEffect({ kind: "var", name: "x", span }), undefined);
 * ```
 *
 * @param e The expression.
 * @returns The offending node, or `undefined` when `e` is pure.
 */
export function sideEffect(e: Expr): Expr | undefined {
  const stack: Expr[] = [e];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.kind === "incdec") return n;
    if (n.kind === "call" && !PURE_CALLS.has(n.name)) return n;
    for (const c of children(n)) stack.push(c as Expr);
  }
  return undefined;
}

/**
 * Lowers `cond ?: other` to `cond ? cond : other`, or explains why `cond`
 * cannot be evaluated twice.
 *
 * @example Usage
 * ```ts
 * import { lowerElvis } from "./lowering.ts";
 * import assert from "node:assert/strict";
 * const span = { start: 0, end: 1, line: 1, col: 1 };
 * const r = lowerElvis({ kind: "var", name: "x", span }, { kind: "int", value: 1n, raw: "1", span }, span);
 * assert.ok("kind" in r && r.kind === "ternary");
 * ```
 *
 * @param cond The tested (and returned) operand.
 * @param other The value when `cond` is zero.
 * @param span The whole expression's span.
 * @returns The ternary node, or the offending node and a message.
 */
export function lowerElvis(
  cond: Expr,
  other: Expr,
  span: Span,
): TernaryExpr | { error: string; at: Span } {
  const bad = sideEffect(cond);
  if (bad) {
    return {
      error:
        'The first operand of "?:" is evaluated twice and must have no side effects; assign it to a variable first',
      at: bad.span,
    };
  }
  return {
    kind: "ternary",
    cond,
    then: structuredClone(cond),
    else: other,
    span,
  };
}
