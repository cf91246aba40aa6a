/**
 * Shared setup of the end-to-end kernel acceptance tests: why a test must
 * be skipped, a streaming runner for the real CLI (and for bpftrace), the
 * gcc-built workload binary, and what `bpftool` says is loaded.
 *
 * @module
 */

export { json017As026 } from "../output/json_017_as_026.ts";
import {
  commandSkipReason,
  kernelSkipReason,
  skip as skipWithReason,
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
  WorkloadProcess,
  workloadSkipReason,
} from "../support/workload.ts";

export { type Finished, hasStackTrace, progIdsOf, Tracer };

/** Why the kernel acceptance tests cannot run here, or undefined. */
export const skipReason: string | undefined = kernelSkipReason() ??
  workloadSkipReason() ?? commandSkipReason("bpftool", "list programs");

/**
 * True when the test must be skipped; prints `Skipping WHAT: REASON`
 * (`tests/support/skip.ts`), the reason being `skipReason` unless given.
 */
export function skip(what: string, reason = skipReason): boolean {
  return skipWithReason(what, reason);
}

/** Path of bpftrace, when installed. */
export const BPFTRACE: string | undefined = which("bpftrace");

/** Why the bpftrace comparisons cannot run here, or undefined. */
export const bpftraceSkipReason: string | undefined = skipReason ??
  (BPFTRACE === undefined ? "bpftrace is not installed" : undefined);

const decoder = new TextDecoder();

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
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

/**
 * Standard output without bpftrace 0.17's attach line (its first line,
 * `Attaching N probes...`, or the JSON record): tsbpf writes no attach line
 * on standard output in text (it goes to standard error, as in bpftrace
 * 0.26), so its output is returned whole.
 */
export function afterAttachLine(stdout: string): string {
  if (
    !/^(Attaching \d+ probes?\.\.\.|\{"type": "attached_probes")/.test(stdout)
  ) {
    return stdout;
  }
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
 * The workload binary running in a child process as `tsbwork`, gated: it
 * prints `ready` and waits for `go()` before doing its work.
 */
export const Workload = {
  /** Starts `tsbwork ...args` (in `cwd` if given) and waits until ready. */
  start(args: string[], cwd?: string): Promise<WorkloadProcess> {
    return WorkloadProcess.start("tsbwork", args, cwd);
  },
};

/** A running `tsbwork` workload (see `Workload.start`). */
export type Workload = WorkloadProcess;

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
