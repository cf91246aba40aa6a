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
export const SKIPS: Skip[] = [];

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
