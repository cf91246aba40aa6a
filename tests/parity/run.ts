/**
 * The backend parity suite's runner: one bpftrace program, compiled once
 * per run, verified by our verifier, then driven by a `Session` on either
 * engine — the kernel (libbpf) with a real, deterministic workload child,
 * or the interpreter on seeded synthetic events and a virtual clock — and
 * the result reduced to what both engines can be compared on: the printed
 * output and the decoded maps.
 *
 * @module
 */

import { compile } from "../../runtime/compiler/compile.ts";
import { prepareKernelTypes } from "../../runtime/compiler/kernel_types.ts";
import type { Engine } from "../../runtime/engines/engine.ts";
import type { MapData } from "../../runtime/output/types.ts";
import { type ExitReason, Session } from "../../runtime/session.ts";
import { InterpEngine } from "../../runtime/engines/interp_engine.ts";
import { verifyProgram } from "../../runtime/verify_program.ts";
import {
  KernelEngine,
  type KernelEngineOptions,
} from "../../runtime/engines/kernel_engine.ts";
import { kernelSkipReason as supportKernelSkip } from "../support/skip.ts";
import {
  workloadBinary,
  WorkloadProcess,
  workloadSkipReason as supportWorkloadSkip,
} from "../support/workload.ts";

/** The two engines. */
export type EngineKind = "kernel" | "interp";

/** Both engines, in the order the suite runs them. */
export const ENGINES: readonly EngineKind[] = ["interp", "kernel"];

/** The pid the interpreter's synthetic target process gets. */
export const INTERP_TARGET_PID = 4242;

/** The comm of the interpreter's synthetic `-p` target process. */
export const INTERP_TARGET_COMM = "target";

/** The comm of the kernel workload (its binary's name). */
export const KERNEL_TARGET_COMM = "tsbparity";

/**
 * Why the workload binary cannot be built here (uprobe rows need it on
 * both engines), or undefined when it can.
 */
export const workloadSkipReason: string | undefined = supportWorkloadSkip();

/** Why the kernel engine cannot run here, or undefined when it can. */
export const kernelSkipReason: string | undefined = supportKernelSkip() ??
  workloadSkipReason;

/**
 * Path of the workload binary (`tests/support/workload.c`, built once per
 * source version, cached in /tmp, shared by every row), named
 * `tsbparity`. Uprobe rows name it in their source on both engines.
 */
export function workloadPath(): Promise<string> {
  return workloadBinary(KERNEL_TARGET_COMM);
}

/** Who the program traces on this engine: the values rows expect. */
export interface Target {
  /** Which engine runs. */
  engine: EngineKind;
  /** The traced process: the workload child, or the synthetic target. */
  pid: number;
  /** Its comm. */
  comm: string;
  /** The workload binary (uprobe targets). */
  bin: string;
}

/** How to run one program. */
export interface RunSpec {
  /** bpftrace source; a function gets the target (e.g. the binary path). */
  source: string | ((t: Target) => string);
  /** Positional parameters (`$1` first); may depend on the target. */
  params?: string[] | ((t: Target) => string[]);
  /**
   * Arguments of the workload binary (kernel: run once between start and
   * the event loop). The interpreter runs no workload.
   */
  workload?: string[];
  /**
   * Trace only the target (compile option `pid`; the interpreter engine's
   * `pid` makes its events come only from the synthetic target process).
   */
  pidFilter?: boolean;
  /**
   * Give the engine the target's pid without the compile option: the
   * interpreter's events then come from the synthetic target only (the
   * program filters by itself, e.g. `/pid == $1/`); the kernel engine
   * restricts uprobes and perf events to it.
   */
  targetOnly?: boolean;
  /** Run time after start (kernel: wall ms after the workload ends). */
  kernelMs?: number;
  /** Virtual run time of the interpreter (default 20 ms). */
  interpMs?: number;
  /** Synthetic events per second per attach point (default 1000). */
  rate?: number;
  /** Seed of the synthetic events (default 1). */
  seed?: number;
  /** Allow unsafe builtins. */
  unsafe?: boolean;
  /** Output format of the session (default `text`). */
  format?: "text" | "json";
  /** Options of the kernel engine beyond the pid (e.g. `signExtension`). */
  kernel?: KernelEngineOptions;
}

/** What one run printed and left in its maps. */
export interface RunResult {
  /** The engine that ran. */
  engine: EngineKind;
  /** The target's pid and comm on this engine. */
  target: Target;
  /** What the session wrote before `finish()`, the attach line excepted. */
  output: string;
  /** What `finish()` wrote: END's events, then the exit maps. */
  exitOutput: string;
  /** Every user-visible map, decoded, read before END ran. */
  maps: MapData[];
  /** Why the event loop ended. */
  reason: ExitReason;
  /** The code the program gave `exit(code)`, if any. */
  exitCode?: number;
  /** What the session wrote on standard error (errorf, warnf, warnings). */
  stderr: string;
  /** Interpreter runs that faulted (always 0 on the kernel). */
  faults: number;
  /** The first fault's message, if any. */
  firstFault?: string;
}

/**
 * Compiles, verifies and runs `spec` on `engine`.
 *
 * @example Run a BEGIN-only program on the interpreter
 * ```ts
 * import assert from "node:assert/strict";
 * import { runProgram } from "./run.ts";
 * const r = await runProgram("interp", {
 *   source: 'BEGIN { printf("hi %d\\n", 1 + 1); exit(); }',
 * });
 * assert.equal(r.output, "hi 2\n");
 * ```
 */
export async function runProgram(
  engine: EngineKind,
  spec: RunSpec,
): Promise<RunResult> {
  const needsBin = typeof spec.source === "function" ||
    (engine === "kernel" && spec.workload !== undefined);
  const bin = needsBin ? await workloadPath() : "";
  let child: WorkloadProcess | undefined;
  try {
    let pid = INTERP_TARGET_PID;
    let comm = INTERP_TARGET_COMM;
    if (engine === "kernel" && spec.workload !== undefined) {
      child = await WorkloadProcess.start(KERNEL_TARGET_COMM, spec.workload);
      pid = child.pid;
      comm = KERNEL_TARGET_COMM;
    }
    const target: Target = { engine, pid, comm, bin };
    const source = typeof spec.source === "string"
      ? spec.source
      : spec.source(target);
    const params = typeof spec.params === "function"
      ? spec.params(target)
      : spec.params;
    await prepareKernelTypes(source);
    const program = compile(source, {
      params,
      pid: spec.pidFilter ? pid : undefined,
      unsafe: spec.unsafe,
    });
    verifyProgram(program);
    const enginePid = spec.pidFilter || spec.targetOnly ? pid : undefined;
    const eng: Engine = engine === "kernel"
      ? new KernelEngine({ ...spec.kernel, pid: enginePid })
      : new InterpEngine({
        seed: spec.seed ?? 1,
        rate: spec.rate ?? 1000,
        realtime: false,
        pid: enginePid,
      });
    let output = "";
    let attachLine = true;
    let stderr = "";
    const session = new Session(program, eng, {
      format: spec.format ?? "text",
      warn: (text) => stderr += text,
      error: (text) => stderr += text,
      write: (text) => {
        if (attachLine) {
          attachLine = false;
          if (
            /^Attached \d+ probes?( \(synthetic .*\))?\n$|"attached_probes"/
              .test(text)
          ) {
            return;
          }
        }
        output += text;
      },
    });
    let maps: MapData[] = [];
    let reason: ExitReason = "stopped";
    let exitOutput = "";
    try {
      await session.start();
      await child?.open();
      reason = await session.run({
        durationMs: engine === "kernel"
          ? (spec.kernelMs ?? 100)
          : (spec.interpMs ?? 20),
        tickMs: engine === "kernel" ? 20 : 10,
      });
      maps = session.readMaps();
      const before = output.length;
      await session.finish({ printMaps: true });
      exitOutput = output.slice(before);
      output = output.slice(0, before);
      if (child !== undefined) {
        const c = child;
        child = undefined;
        await c.release();
      }
    } finally {
      await session.finish({ printMaps: false }).catch(() => {});
      eng.close();
    }
    const faults = eng instanceof InterpEngine
      ? eng.runtimeErrors()
      : { count: 0 };
    return {
      engine,
      target,
      output,
      exitOutput,
      maps,
      reason,
      ...(session.exitCode !== undefined ? { exitCode: session.exitCode } : {}),
      stderr,
      faults: faults.count,
      firstFault: faults.first,
    };
  } finally {
    await child?.kill();
  }
}
