/**
 * The shape of one parity-table row, shared by `table.ts` and the
 * per-area row files (`rows_*.ts`).
 *
 * @module
 */

import type { RunResult, RunSpec } from "./run.ts";

/** One program of the table. */
export interface Row extends RunSpec {
  /** Unique name, used in test names and the skip list. */
  name: string;
  /** The language features the row covers. */
  features: string[];
  /** Assertions that hold on both engines. */
  expect: (r: RunResult) => void;
  /** Something the kernel half needs from the machine beyond BPF. */
  needs?: "hardware-counters" | "fentry" | "percpu-vars";
}

/** Events each workload makes (and the interpreter's 20 ms at 1000/s). */
export const N = 20;
