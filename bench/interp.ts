/**
 * The interpreter engine on synthetic events: program runs per second,
 * end to end (event synthesis, the translated program, map updates), for
 * the same one-liners as the kernel comparison. Loaded dynamically so the
 * rest of the suite runs when the engine is missing or broken.
 *
 * @module
 */

import { compile } from "../runtime/compiler/compile.ts";
import { prepareKernelTypes } from "../runtime/compiler/kernel_types.ts";
import type { PerEventCase } from "./per_event.ts";
import { median } from "./stats.ts";

/** One case on the interpreter. */
export interface InterpRow {
  /** Case name. */
  name: string;
  /** Program runs per wall-clock second (median over the rounds). */
  runsPerSec: number;
  /** Runs in the last round. */
  runs: number;
  /** Every sample. */
  samples: number[];
}

/** Synthetic events per second per attach point fed to the engine. */
const RATE = 1_000_000;

/**
 * Why the interpreter engine cannot be benchmarked, or undefined.
 *
 * @example Check
 * ```ts
 * import { interpSkipReason } from "./interp.ts";
 * console.log((await interpSkipReason()) ?? "interpreter available");
 * ```
 */
export async function interpSkipReason(): Promise<string | undefined> {
  try {
    const m = await import("../runtime/engines/interp_engine.ts");
    if (typeof m.InterpEngine !== "function") {
      return "runtime/engines/interp_engine.ts exports no InterpEngine";
    }
    return undefined;
  } catch (e) {
    return `the interpreter engine cannot be loaded: ${
      e instanceof Error ? e.message : String(e)
    }`;
  }
}

/**
 * Runs each case for `rounds` windows of `windowMs` virtual milliseconds at
 * 1M events/s per attach point and reports runs per wall-clock second.
 *
 * @example A short run
 * ```ts ignore
 * import { measureInterp } from "./interp.ts";
 * import { PER_EVENT_CASES } from "./per_event.ts";
 * console.log(await measureInterp(PER_EVENT_CASES, 1, 10));
 * ```
 */
export async function measureInterp(
  cases: readonly PerEventCase[],
  rounds: number,
  windowMs: number,
): Promise<InterpRow[]> {
  const { InterpEngine } = await import(
    "../runtime/engines/interp_engine.ts"
  );
  const rows: InterpRow[] = [];
  for (const c of cases) {
    const engine = new InterpEngine({ seed: 1, rate: RATE });
    try {
      await prepareKernelTypes(c.program);
      await engine.load(compile(c.program.replaceAll("$PID", "1234")));
      await engine.attach();
      await engine.poll(Math.max(1, windowMs / 4), () => {}); // warm up
      const samples: number[] = [];
      let runs = 0;
      for (let r = 0; r < rounds; r++) {
        const before = engine.stats().reduce((n, s) => n + s.runCount, 0);
        const t0 = performance.now();
        await engine.poll(windowMs, () => {});
        const ms = performance.now() - t0;
        runs = engine.stats().reduce((n, s) => n + s.runCount, 0) - before;
        samples.push(runs / (ms / 1000));
      }
      rows.push({ name: c.name, runsPerSec: median(samples), runs, samples });
    } finally {
      engine.close();
    }
  }
  return rows;
}
