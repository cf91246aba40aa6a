/**
 * The parity suite's skip list: every (row, engine) pair that does not run,
 * with the reason. A `bug:` reason names a difference between the engines
 * (or a failure on one) that the suite found; the report carries its
 * minimal reproduction.
 *
 * @module
 */

import type { EngineKind } from "./run.ts";

/** One skipped (row, engine) pair. */
export interface Skip {
  /** The row's name. */
  row: string;
  /** The engine that does not run it. */
  engine: EngineKind;
  /** Why, in one sentence (`bug: ...` for a found defect). */
  reason: string;
}

/** Every skip; the test fails on an entry naming no row. */
export const SKIPS: Skip[] = [
  {
    row: "strftime",
    engine: "kernel",
    reason:
      "bug: strftime() values print as raw nanoseconds (runtime/output/decode.ts returns a timestamp as its integer and nothing applies the format)",
  },
  {
    row: "strftime",
    engine: "interp",
    reason:
      "bug: strftime() values print as raw nanoseconds (runtime/output/decode.ts returns a timestamp as its integer and nothing applies the format)",
  },
  {
    row: "sizeof_expr",
    engine: "kernel",
    reason:
      "bug: sizeof($x) is 8 for $x = (uint16)1 (bpftrace 0.17: 2): a scratch variable loses its cast's width",
  },
  {
    row: "sizeof_expr",
    engine: "interp",
    reason:
      "bug: sizeof($x) is 8 for $x = (uint16)1 (bpftrace 0.17: 2): a scratch variable loses its cast's width",
  },
  {
    row: "constant_short_circuit",
    engine: "kernel",
    reason:
      "bug: `if (1 || X)` and `if (0 && X)` compile to unreachable code that the verifier rejects (bpftrace 0.17 runs them)",
  },
  {
    row: "constant_short_circuit",
    engine: "interp",
    reason:
      "bug: `if (1 || X)` and `if (0 && X)` compile to unreachable code that the verifier rejects (bpftrace 0.17 runs them)",
  },
];

/**
 * The reason `row` is skipped on `engine`, if it is.
 *
 * @example Look up a skip
 * ```ts
 * import { skipReason } from "./skips.ts";
 * console.assert(skipReason("no_such_row", "kernel") === undefined);
 * ```
 */
export function skipReason(
  row: string,
  engine: EngineKind,
): string | undefined {
  return SKIPS.find((s) => s.row === row && s.engine === engine)?.reason;
}
