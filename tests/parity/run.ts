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
import type { Engine } from "../../runtime/engine.ts";
import type { MapData } from "../../runtime/output/types.ts";
import { type ExitReason, Session } from "../../runtime/session.ts";
import { InterpEngine } from "../../runtime/synthetic/interp_engine.ts";
import { verifyProgram } from "../../runtime/verify_program.ts";
import { KernelEngine, probeKernel } from "../../ffi/kernel_engine.ts";

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

const WORKLOAD_C = new URL("./workload.c", import.meta.url).pathname;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

function computeGccSkip(): string | undefined {
  if (Deno.build.os !== "linux") {
    return `the workload is a Linux ELF binary, this is ${Deno.build.os}`;
  }
  try {
    const out = new Deno.Command("gcc", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return out.success
      ? undefined
      : "gcc does not run: cannot build the workload";
  } catch {
    return "no gcc to build the workload";
  }
}

/**
 * Why the workload binary cannot be built here (uprobe rows need it on
 * both engines), or undefined when it can.
 */
export const workloadSkipReason: string | undefined = computeGccSkip();

function computeKernelSkip(): string | undefined {
  if (Deno.build.os !== "linux") return `not Linux (${Deno.build.os})`;
  const probe = probeKernel();
  if (!probe.ok) return probe.reason;
  return workloadSkipReason;
}

/** Why the kernel engine cannot run here, or undefined when it can. */
export const kernelSkipReason: string | undefined = computeKernelSkip();

let built: Promise<string> | undefined;

async function buildWorkload(): Promise<string> {
  const src = await Deno.readFile(WORKLOAD_C);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", src));
  const tag = [...digest.slice(0, 6)]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const dir = `/tmp/tsbpf_parity_${tag}`;
  const bin = `${dir}/${KERNEL_TARGET_COMM}`;
  try {
    if (Deno.statSync(bin).isFile) return bin;
  } catch {
    // not built yet
  }
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${Deno.pid}`;
  const out = await new Deno.Command("gcc", {
    args: ["-O1", "-g", "-fno-omit-frame-pointer", "-o", tmp, WORKLOAD_C],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`gcc failed:\n${decoder.decode(out.stderr)}`);
  }
  Deno.renameSync(tmp, bin);
  return bin;
}

/**
 * Path of the gcc-built workload binary (built once per source version,
 * cached in /tmp, shared by every row). Uprobe rows name it in their
 * source on both engines.
 */
export function workloadPath(): Promise<string> {
  return built ??= buildWorkload();
}

/** The workload child, started and waiting at its gate. */
class Child {
  readonly child: Deno.ChildProcess;
  stdout = "";
  readonly #reader: Promise<void>;
  #stdin?: WritableStreamDefaultWriter<Uint8Array>;

  constructor(bin: string, args: string[]) {
    const child = new Deno.Command(bin, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.child = child;
    this.#reader = (async () => {
      for await (const chunk of child.stdout) {
        this.stdout += decoder.decode(chunk, { stream: true });
      }
    })();
  }

  async ready(): Promise<void> {
    const end = performance.now() + 10_000;
    while (!this.stdout.includes("ready\n")) {
      if (performance.now() > end) throw new Error("Workload never ready");
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Opens the gate and waits until the work is done (or the child ended). */
  async go(): Promise<void> {
    this.#stdin = this.child.stdin.getWriter();
    await this.#stdin.write(encoder.encode("g"));
    let ended = false;
    this.child.status.then(() => ended = true);
    const end = performance.now() + 20_000;
    while (!this.stdout.includes("done\n") && !ended) {
      if (performance.now() > end) throw new Error("Workload never done");
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Closes standard input, lets the child exit and checks its status. */
  async release(): Promise<void> {
    await this.#stdin?.close().catch(() => {});
    this.#stdin = undefined;
    const status = await this.child.status;
    await this.#reader;
    if (status.code !== 0) {
      throw new Error(`Workload exited with status ${status.code}`);
    }
  }

  async kill(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already gone
    }
    try {
      await (this.#stdin ?? this.child.stdin).close();
    } catch {
      // already closed
    }
    await this.child.status;
    await this.#reader;
  }
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
  let child: Child | undefined;
  try {
    let pid = INTERP_TARGET_PID;
    let comm = INTERP_TARGET_COMM;
    if (engine === "kernel" && spec.workload !== undefined) {
      child = new Child(bin, spec.workload);
      await child.ready();
      pid = child.child.pid;
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
      ? new KernelEngine({ pid: enginePid })
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
            /^Attaching \d+ probes?\.\.\.( \(synthetic .*\))?\n$|"attached_probes"/
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
      await child?.go();
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
