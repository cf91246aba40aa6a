/**
 * Choosing the engine: the kernel when it can, the interpreter on
 * synthetic events where the kernel path cannot exist (not Linux, no
 * libbpf) or when asked for. One sentence says which and why.
 *
 * Each engine's module is imported only once it is chosen: a kernel session
 * never loads the interpreter and its synthetic events, and the other way
 * round, which keeps start-up time and memory down.
 *
 * @module
 */

import type { Engine } from "./engine.ts";

/** Which engine runs the program (`--backend`, `trace({ backend })`). */
export type BackendChoice = "auto" | "kernel" | "interp";

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
  /**
   * Kernel: turn on the kernel's run-time statistics while the engine
   * lives, so `stats()` reports run counts and times. They cost every BPF
   * program on the machine two clock reads per run, so they are off unless
   * asked for (or `kernel.bpf_stats_enabled` is set). The interpreter
   * always counts.
   */
  stats?: boolean;
  /** Kernel: verifier log level of every load (`-d verifier`: 1). */
  logLevel?: 0 | 1 | 2;
}

/** The engine could not be used as asked. */
export class BackendError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "BackendError";
  }
}

type KernelModule = typeof import("./kernel_engine.ts");
type InterpModule = typeof import("./interp_engine.ts");

let kernelModule: Promise<KernelModule> | undefined;
let interpModule: Promise<InterpModule> | undefined;

function importKernel(): Promise<KernelModule> {
  return kernelModule ??= import("./kernel_engine.ts");
}

function importInterp(): Promise<InterpModule> {
  return interpModule ??= import("./interp_engine.ts");
}

/**
 * Starts importing the engine `choice` will most likely pick (the kernel's
 * unless `interp` is asked for), so that Deno reads its modules while the
 * caller compiles. {@linkcode selectEngine} uses the same import.
 *
 * @example Start loading before compiling
 * ```ts ignore
 * import { preloadEngine, selectEngine } from "./backend.ts";
 * preloadEngine("auto");
 * // ... compile and verify ...
 * const { engine } = await selectEngine("auto");
 * engine.close();
 * ```
 */
export function preloadEngine(choice: BackendChoice): void {
  const loading = choice === "interp" ? importInterp() : importKernel();
  // A failed import is reported by selectEngine, which awaits it again.
  loading.catch(() => {});
}

/**
 * Picks and creates an engine, importing only the chosen engine's modules.
 *
 * @throws {BackendError} when `kernel` is forced and impossible, or when
 *   `auto` finds a Linux kernel it may not use (missing capabilities).
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
    const { InterpEngine } = await importInterp();
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
  const { KernelEngine, probeKernel } = await importKernel();
  const probe = probeKernel();
  if (probe.ok) {
    return {
      engine: new KernelEngine({
        pid: options.pid,
        enableStats: options.stats ?? false,
        logLevel: options.logLevel,
      }),
      note: "running in the kernel through libbpf",
    };
  }
  if (choice === "kernel") {
    throw new BackendError(`Cannot use the kernel engine: ${probe.reason}`);
  }
  // `auto` stands in the interpreter only where the kernel path cannot
  // exist (not Linux, no libbpf). On Linux without privileges it stops
  // rather than pass synthetic events off as the machine's.
  if (!probe.absent) {
    const reason = probe.reason[0].toUpperCase() + probe.reason.slice(1);
    throw new BackendError(
      reason.includes("--backend interp") ? reason : `${reason}; ` +
        "--backend interp runs the program on synthetic events instead",
    );
  }
  return {
    engine: await interp(),
    note: `${probe.reason}; running in the interpreter on synthetic events`,
  };
}
