/**
 * Shared setup of the end-to-end kernel acceptance tests: why a test must
 * be skipped, a streaming runner for the real CLI (and for bpftrace), the
 * gcc-built workload binary, and what `bpftool` says is loaded.
 *
 * @module
 */

import {
  commandSkipReason,
  kernelSkipReason,
  skip,
  which,
} from "../support/skip.ts";
import {
  type Finished,
  hasStackTrace,
  progIdsOf,
  Tracer,
} from "../support/child.ts";
import {
  workloadBinary,
  workloadOutput,
  workloadSkipReason,
} from "../support/workload.ts";

export { skip };
export { type Finished, hasStackTrace, progIdsOf, Tracer };

/** Why the kernel acceptance tests cannot run here, or undefined. */
export const skipReason: string | undefined = kernelSkipReason() ??
  workloadSkipReason() ?? commandSkipReason("bpftool", "list programs");

/** Path of bpftrace, when installed. */
export const BPFTRACE: string | undefined = which("bpftrace");

/** Why the bpftrace comparisons cannot run here, or undefined. */
export const bpftraceSkipReason: string | undefined = skipReason ??
  (BPFTRACE === undefined ? "bpftrace is not installed" : undefined);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  onText: (text: string) => void,
): Promise<void> {
  const d = new TextDecoder();
  for await (const chunk of stream) onText(d.decode(chunk, { stream: true }));
  onText(d.decode());
}

/** Runs the tsbpf CLI to its end (`deno run -A mod.ts ...args`). */
export function runTsbpf(
  args: string[],
  timeoutMs = 30_000,
): Promise<Finished> {
  return Tracer.tsbpf(args).finish(timeoutMs);
}

/** Runs bpftrace to its end. */
export function runBpftrace(
  args: string[],
  timeoutMs = 30_000,
): Promise<Finished> {
  return Tracer.bpftrace(args).finish(timeoutMs);
}

/** Standard output after the first line (the `Attaching` line). */
export function afterAttachLine(stdout: string): string {
  const i = stdout.indexOf("\n");
  return i < 0 ? "" : stdout.slice(i + 1);
}

/**
 * Path of the workload binary (`tests/support/workload.c`, built once,
 * cached in /tmp), named `tsbwork`: its processes' comm.
 */
export function workloadPath(): Promise<string> {
  return workloadBinary("tsbwork");
}

/**
 * The workload binary running in a child process, gated: it prints
 * `ready` and waits for `go()` before doing its work.
 */
export class Workload {
  /** The child process. */
  readonly child: Deno.ChildProcess;
  /** Standard output so far. */
  stdout = "";
  #reader: Promise<void>;

  private constructor(child: Deno.ChildProcess) {
    this.child = child;
    this.#reader = collect(child.stdout, (t) => this.stdout += t);
  }

  /** Starts `tsbwork ...args` and waits until it is ready. */
  static async start(args: string[]): Promise<Workload> {
    const bin = await workloadPath();
    const w = new Workload(
      new Deno.Command(bin, {
        args,
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn(),
    );
    const end = performance.now() + 10_000;
    while (!w.stdout.includes("ready\n")) {
      if (performance.now() > end) {
        await w.kill();
        throw new Error(`Workload ${args.join(" ")} never became ready`);
      }
      await sleep(5);
    }
    return w;
  }

  /** The child's pid (its comm is `tsbwork`). */
  get pid(): number {
    return this.child.pid;
  }

  /** Lets the work begin. */
  async go(): Promise<void> {
    const w = this.child.stdin.getWriter();
    await w.write(encoder.encode("g"));
    await w.close();
  }

  /** Waits for the end; returns the status and what it printed. */
  async wait(): Promise<{ code: number; stdout: string }> {
    const status = await this.child.status;
    await this.#reader;
    return { code: status.code, stdout: this.stdout };
  }

  /**
   * `go()` then `wait()`; asserts the work succeeded and returns what the
   * mode printed (without the `ready` and `done` lines).
   */
  async run(): Promise<string> {
    await this.go();
    const r = await this.wait();
    if (r.code !== 0) throw new Error(`Workload exited with ${r.code}`);
    return workloadOutput(r.stdout);
  }

  /** Kills the child if it still runs (for `finally`). */
  async kill(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // gone
    }
    try {
      await this.child.stdin.close();
    } catch {
      // closed by go()
    }
    await this.child.status;
    await this.#reader;
  }
}

/** One program as `bpftool prog show -j` lists it. */
export interface BpftoolProg {
  /** Program id. */
  id: number;
  /** Program type name, e.g. `tracepoint`. */
  type: string;
  /** Name (at most 15 characters). */
  name?: string;
  /** Run count (with BPF statistics on). */
  run_cnt?: number;
  /** Total run time in ns (with BPF statistics on). */
  run_time_ns?: number;
  /** Bytes of translated instructions (8 per instruction). */
  bytes_xlated?: number;
}

/** Every loaded BPF program, as `bpftool prog show -j` lists it. */
export async function bpftoolProgs(): Promise<BpftoolProg[]> {
  const out = await new Deno.Command("bpftool", {
    args: ["prog", "show", "-j"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`bpftool failed: ${decoder.decode(out.stderr)}`);
  }
  const text = decoder.decode(out.stdout).trim();
  return text === "" ? [] : JSON.parse(text) as BpftoolProg[];
}

/**
 * Waits (up to `timeoutMs`: the kernel frees programs after an RCU grace
 * period) until none of `ids` is loaded; returns those still loaded.
 */
export async function stillLoaded(
  ids: number[],
  timeoutMs = 3000,
): Promise<BpftoolProg[]> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const left = (await bpftoolProgs()).filter((p) => ids.includes(p.id));
    if (left.length === 0 || performance.now() > end) return left;
    await sleep(50);
  }
}
