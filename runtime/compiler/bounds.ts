/**
 * Resource bounds checked on a syntax tree before any recursive pass runs:
 * how deeply nodes nest, and how large each probe becomes once its
 * `unroll` blocks are expanded. Sema and codegen walk the tree recursively
 * and codegen expands every `unroll` body `count` times, so a tree past
 * these bounds would overflow the JavaScript stack or take seconds and
 * gigabytes before the kernel's instruction limit stopped it. This pass is
 * iterative, linear in the size of the tree, and reports with a location.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import type { Diagnostics } from "../lang/diagnostics.ts";
import { children } from "../lang/visit.ts";

/**
 * Deepest nesting of syntax tree nodes a program may have. A chain of
 * `N` binary operators (`a + b + …`) or `N` `else if` links nests `N`
 * deep; the parser itself stops bracketed nesting much earlier.
 */
export const MAX_NESTING = 1000;

/**
 * Most instructions in one program: the kernel's limit for a privileged
 * loader (`BPF_COMPLEXITY_LIMIT_INSNS`).
 */
export const MAX_PROGRAM_INSNS = 1_000_000;

/** Largest `unroll` count (bpftrace's). */
export const MAX_UNROLL = 100;

/**
 * Checks that no node of `tree` nests deeper than {@linkcode MAX_NESTING}
 * and that no probe, with its `unroll` bodies expanded, has more than
 * {@linkcode MAX_PROGRAM_INSNS} nodes (each node compiles to at least
 * about one instruction, so such a probe could never load). Reports at
 * most one error into `diag`.
 *
 * @returns whether the tree is within bounds.
 * @example A long `+` chain is fine, a four-deep `unroll(100)` is not
 * ```ts
 * import { parse } from "../lang/parser.ts";
 * import { checkBounds } from "./bounds.ts";
 * const ok = parse("BEGIN { @x = 1 + 2 + 3; }");
 * console.assert(checkBounds(ok.ast, ok.diagnostics));
 * const u = "unroll(100) { ".repeat(4);
 * const big = parse(`BEGIN { ${u} @x = 1; ${"} ".repeat(4)} }`);
 * console.assert(!checkBounds(big.ast, big.diagnostics));
 * ```
 */
export function checkBounds(
  tree: ast.Program,
  diag: Diagnostics,
  params: readonly string[] = [],
): boolean {
  for (const probe of tree.probes) {
    const big = tooBig(probe, params);
    if (big === undefined) continue;
    diag.error(
      big.span,
      big.kind === "unroll"
        ? `unroll expands the probe past ${MAX_PROGRAM_INSNS} instructions, the kernel's limit for a program`
        : `Probe is too large: more than ${MAX_PROGRAM_INSNS} instructions, the kernel's limit for a program`,
    );
    return false;
  }
  const deep = tooDeep(tree);
  if (deep !== undefined) {
    diag.error(
      deep.span,
      `Program is nested too deeply: more than ${MAX_NESTING} levels (split long chains of operators or "else if" with $variables or separate statements)`,
    );
    return false;
  }
  return true;
}

/**
 * Checks that no macro body nests deeper than {@linkcode MAX_NESTING}
 * (the expander copies bodies recursively, before `checkBounds` runs).
 * Reports the first one too deep into `diag`.
 *
 * @returns whether every body is within bounds.
 * @example A macro of ordinary depth
 * ```ts
 * import { parse } from "../lang/parser.ts";
 * import { checkMacroDepth } from "./bounds.ts";
 * const { ast, diagnostics } = parse("macro one() { 1 } BEGIN { @x = one(); }");
 * console.assert(checkMacroDepth(ast.macros ?? [], diagnostics));
 * ```
 */
export function checkMacroDepth(
  macros: readonly ast.MacroDef[],
  diag: Diagnostics,
): boolean {
  for (const m of macros) {
    const deep = tooDeep(m.body);
    if (deep === undefined) continue;
    diag.error(
      deep.span,
      `Program is nested too deeply: more than ${MAX_NESTING} levels (in macro ${m.name}())`,
    );
    return false;
  }
  return true;
}

/**
 * The first node found deeper than {@linkcode MAX_NESTING}, walking
 * iteratively (any depth is fine here).
 *
 * @example Find a node too deep
 * ```ts
 * import { parse } from "../lang/parser.ts";
 * import { tooDeep } from "./bounds.ts";
 * const { ast } = parse(`BEGIN { @x = ${"1 + ".repeat(2000)}1; }`);
 * console.assert(tooDeep(ast) !== undefined);
 * console.assert(tooDeep(parse("BEGIN { @x = 1; }").ast) === undefined);
 * ```
 */
export function tooDeep(root: ast.Node): ast.Node | undefined {
  const nodes: ast.Node[] = [root];
  const depths: number[] = [0];
  while (nodes.length > 0) {
    const n = nodes.pop()!;
    const d = depths.pop()!;
    if (d > MAX_NESTING) return n;
    for (const k of children(n)) {
      nodes.push(k);
      depths.push(d + 1);
    }
  }
  return undefined;
}

/** An `unroll` count as the estimate uses it (sema reports bad ones). */
function unrollCount(e: ast.Expr, params: readonly string[]): number {
  let v: number | undefined;
  if (e.kind === "int") v = Number(e.value);
  else if (e.kind === "positional") {
    const p = e.value ?? params[e.index - 1];
    if (p !== undefined && /^\d+$/.test(p)) v = Number(p);
  }
  if (v === undefined || !Number.isFinite(v)) return 1;
  return Math.min(Math.max(Math.trunc(v), 1), MAX_UNROLL);
}

/**
 * The node of a probe that makes it too big (its outermost enclosing
 * `unroll`, else the probe), or undefined.
 */
function tooBig(
  probe: ast.Probe,
  params: readonly string[],
): ast.Node | undefined {
  const m = measure(probe, params, MAX_PROGRAM_INSNS);
  return m.size > MAX_PROGRAM_INSNS ? m.culprit : undefined;
}

/**
 * The expanded size of a probe: its nodes, those inside `unroll` counted
 * once per copy. The walk stops as soon as the size passes `limit`, so
 * it costs at most that many steps; `culprit` is then the outermost
 * `unroll` around the node where it stopped (else the probe).
 */
function measure(
  probe: ast.Probe,
  params: readonly string[],
  limit: number,
): { size: number; culprit: ast.Node } {
  const nodes: ast.Node[] = [probe];
  const mults: number[] = [1];
  const outer: (ast.Node | undefined)[] = [undefined];
  let size = 0;
  while (nodes.length > 0) {
    const n = nodes.pop()!;
    const m = mults.pop()!;
    const o = outer.pop();
    size += m;
    if (size > limit) return { size, culprit: o ?? probe };
    const inner = n.kind === "unroll"
      ? m * unrollCount((n as ast.UnrollStmt).count, params)
      : m;
    for (const k of children(n)) {
      nodes.push(k);
      // The count expression itself is evaluated at compile time.
      mults.push(
        n.kind === "unroll" && k === (n as ast.UnrollStmt).count ? m : inner,
      );
      outer.push(o ?? (n.kind === "unroll" ? n : undefined));
    }
  }
  return { size, culprit: probe };
}

/**
 * Most operations compiled for one script over all the programs its
 * probes expand to (a wildcard attach point compiles the body once per
 * match): about a second of compiling on a small machine.
 */
export const MAX_TOTAL_OPS = 300_000;

/**
 * Checks, after probe expansion, that compiling every program stays
 * within {@linkcode MAX_TOTAL_OPS}: each probe's expanded size times the
 * number of programs made from it. Reports at most one error.
 *
 * @returns whether the total is within bounds.
 * @example A wildcard over many tracepoints with a huge body is refused
 * ```ts
 * import { parse } from "../lang/parser.ts";
 * import { checkExpansion } from "./bounds.ts";
 * const { ast, diagnostics } = parse(`BEGIN { @x = ${"1 + ".repeat(900)}1; }`);
 * const units = Array.from({ length: 400 }, () => ({ probe: ast.probes[0] }));
 * console.assert(!checkExpansion(units, diagnostics));
 * console.assert(checkExpansion(units.slice(0, 1), diagnostics));
 * ```
 */
export function checkExpansion(
  units: readonly { probe: ast.Probe }[],
  diag: Diagnostics,
  params: readonly string[] = [],
): boolean {
  const counts = new Map<ast.Probe, number>();
  for (const u of units) counts.set(u.probe, (counts.get(u.probe) ?? 0) + 1);
  let total = 0;
  for (const [probe, n] of counts) {
    const { size, culprit } = measure(probe, params, MAX_TOTAL_OPS);
    total += size * n;
    if (total <= MAX_TOTAL_OPS) continue;
    if (n === 1) {
      diag.error(
        culprit === probe
          ? probe.attachPoints[0]?.span ?? probe.span
          : culprit.span,
        `The probe is too large to compile: more than ${MAX_TOTAL_OPS} operations${
          culprit.kind === "unroll" ? " once unrolled" : ""
        }`,
      );
    } else {
      diag.error(
        probe.attachPoints[0]?.span ?? probe.span,
        `The script is too large to compile: this probe makes ${n} programs of about ${size} operations each, more than ${MAX_TOTAL_OPS} in all (narrow the wildcard or shorten the body)`,
      );
    }
    return false;
  }
  return true;
}
