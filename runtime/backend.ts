/**
 * Choosing the engine: the kernel when it can, else the interpreter on
 * synthetic events. One sentence says which and why.
 *
 * Each engine's module is imported only once it is chosen: a kernel session
 * never loads the interpreter and its synthetic events, and the other way
 * round, which keeps start-up time and memory down.
 *
 * @module
 */

import type { BackendChoice } from "./cli_args.ts";
import type { Engine } from "./engine.ts";

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
 * Picks and creates an engine, importing only the chosen engine's modules.
 *
 * @throws {BackendError} when `kernel` is forced and impossible.
 * @example Ask for the best engine here
 * ```ts ignore
 * import { selectEngine } from "./backend.ts";
 * const { engine, note } = await selectEngine("auto");
 * console.error(note);
 * engine.close();
 * ```
 */
export async function selectEngine(
  choice: BackendChoice,
  options: EngineOptions = {},
): Promise<{ engine: Engine; note: string }> {
  const interp = async () => {
    const { InterpEngine } = await import("./synthetic/interp_engine.ts");
    return new InterpEngine({
      seed: options.seed,
      rate: options.rate,
      pid: options.pid,
      realtime: options.realtime,
    });
  };
  if (choice === "interp") {
    return {
      engine: await interp(),
      note: "running in the interpreter on synthetic events (--backend interp)",
    };
  }
  const { KernelEngine, probeKernel } = await import(
    "../ffi/kernel_engine.ts"
  );
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
    engine: await interp(),
    note: `${probe.reason}; running in the interpreter on synthetic events`,
  };
}
