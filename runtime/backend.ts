/**
 * Choosing the engine: the kernel when it can, else the interpreter on
 * synthetic events. One sentence says which and why.
 *
 * @module
 */

import { KernelEngine, probeKernel } from "../ffi/kernel_engine.ts";
import type { BackendChoice } from "./cli_args.ts";
import type { Engine } from "./engine.ts";
import { InterpEngine } from "./synthetic/interp_engine.ts";

/** Options passed on to the chosen engine. */
export interface EngineOptions {
  /** Seed of the synthetic events (interpreter). */
  seed?: number;
  /** Synthetic events per second per probe (interpreter). */
  rate?: number;
  /** Trace only this process. */
  pid?: number;
  /** Pace synthetic time with the wall clock (interpreter; CLI use). */
  realtime?: boolean;
}

/** The engine could not be used as asked. */
export class BackendError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "BackendError";
  }
}

/**
 * Picks and creates an engine.
 *
 * @throws {BackendError} when `kernel` is forced and impossible.
 * @example Ask for the best engine here
 * ```ts ignore
 * import { selectEngine } from "./backend.ts";
 * const { engine, note } = selectEngine("auto");
 * console.error(note);
 * engine.close();
 * ```
 */
export function selectEngine(
  choice: BackendChoice,
  options: EngineOptions = {},
): { engine: Engine; note: string } {
  const interp = () =>
    new InterpEngine({
      seed: options.seed,
      rate: options.rate,
      pid: options.pid,
      realtime: options.realtime,
    });
  if (choice === "interp") {
    return {
      engine: interp(),
      note: "running in the interpreter on synthetic events (--backend interp)",
    };
  }
  const probe = probeKernel();
  if (probe.ok) {
    return {
      engine: new KernelEngine({ pid: options.pid, enableStats: true }),
      note: "running in the kernel through libbpf",
    };
  }
  if (choice === "kernel") {
    throw new BackendError(`Cannot use the kernel engine: ${probe.reason}`);
  }
  return {
    engine: interp(),
    note: `${probe.reason}; running in the interpreter on synthetic events`,
  };
}
