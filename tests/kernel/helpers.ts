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
  workloadBinary,
  workloadOutput,
  workloadSkipReason,
} from "../support/workload.ts";

export { skip };

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

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

/** What a finished process printed and returned. */
export interface Finished {
  /** Exit status. */
  code: number;
  /** Signal that ended it, if any. */
  signal: Deno.Signal | null;
  /** All of standard output. */
  stdout: string;
  /** All of standard error. */
  stderr: string;
}

/**
 * A tracer (the tsbpf CLI or bpftrace) running in a child process, its
 * output read as it comes.
 */
export class Tracer {
  /** The child process. */
  readonly child: Deno.ChildProcess;
  /** Standard output so far. */
  stdout = "";
  /** Standard error so far. */
  stderr = "";
  #readers: Promise<void>;
  #status: Promise<Deno.CommandStatus>;
  #done = false;
  /** Whether the tracer was asked for JSON output (`-f json`). */
  readonly json: boolean;

  private constructor(argv: string[]) {
    this.json = argv.some((a, i) => a === "json" && argv[i - 1] === "-f");
    this.child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#readers = Promise.all([
      collect(this.child.stdout, (t) => this.stdout += t),
      collect(this.child.stderr, (t) => this.stderr += t),
    ]).then(() => {});
    this.#status = this.child.status;
    this.#status.then(() => this.#done = true);
  }

  /** Starts `deno run -A mod.ts ...args`. */
  static tsbpf(args: string[]): Tracer {
    return new Tracer([
      Deno.execPath(),
      "run",
      "-A",
      "--no-lock",
      MOD,
      ...args,
    ]);
  }

  /**
   * Starts `deno run -A mod.ts ...args` through `sh`, which execs it: the
   * argument `$$` there is the tracer's own pid.
   */
  static tsbpfWithOwnPid(args: string[]): Tracer {
    return new Tracer([
      "sh",
      "-c",
      'exec "$0" run -A --no-lock "$@" "$$"',
      Deno.execPath(),
      MOD,
      ...args,
    ]);
  }

  /** Starts `bpftrace ...args`. */
  static bpftrace(args: string[]): Tracer {
    if (BPFTRACE === undefined) throw new Error("bpftrace is not installed");
    return new Tracer([BPFTRACE, ...args]);
  }

  /** The child's pid. */
  get pid(): number {
    return this.child.pid;
  }

  /** True once the child has exited. */
  get exited(): boolean {
    return this.#done;
  }

  /**
   * Waits until standard output contains `text`; throws with everything
   * printed so far when the tracer exits or `timeoutMs` passes first.
   */
  async waitFor(text: string, timeoutMs = 20_000): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (!this.stdout.includes(text)) {
      if (this.#done || performance.now() > end) {
        await sleep(50); // let the readers drain
        if (this.stdout.includes(text)) return;
        throw new Error(
          `${
            this.#done ? "Tracer exited" : "Timed out"
          } before printing "${text}"\n--- stdout:\n${this.stdout}\n--- stderr:\n${this.stderr}`,
        );
      }
      await sleep(20);
    }
  }

  /** Waits for the attach line both tools print (text or JSON). */
  attached(timeoutMs = 20_000): Promise<void> {
    return this.waitFor(
      this.json ? '"attached_probes"' : "Attaching",
      timeoutMs,
    );
  }

  /** Sends a signal (ignored when already exited). */
  signal(sig: Deno.Signal): void {
    if (this.#done) return;
    try {
      this.child.kill(sig);
    } catch {
      // already gone
    }
  }

  /**
   * Waits for the exit (SIGKILL after `timeoutMs`) and returns everything
   * printed.
   */
  async finish(timeoutMs = 20_000): Promise<Finished> {
    const timer = setTimeout(() => this.signal("SIGKILL"), timeoutMs);
    const status = await this.#status;
    clearTimeout(timer);
    await this.#readers;
    return {
      code: status.code,
      signal: status.signal,
      stdout: this.stdout,
      stderr: this.stderr,
    };
  }

  /** SIGINT, then `finish()`. */
  stop(timeoutMs = 20_000): Promise<Finished> {
    this.signal("SIGINT");
    return this.finish(timeoutMs);
  }

  /** Kills the child if it still runs and waits for it (for `finally`). */
  async kill(): Promise<void> {
    this.signal("SIGKILL");
    await this.#status;
    await this.#readers;
  }

  /** Ids of the BPF programs this tracer holds open right now. */
  progIds(): number[] {
    return progIdsOf(this.pid);
  }

  /**
   * Waits until the tracer holds at least `n` programs (bpftrace prints
   * its `Attaching` line before it loads them) and returns their ids.
   */
  async waitProgIds(n: number, timeoutMs = 20_000): Promise<number[]> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const ids = this.progIds();
      if (ids.length >= n) return ids;
      if (this.#done || performance.now() > end) {
        throw new Error(
          `Tracer holds ${ids.length} programs, not ${n}\n--- stderr:\n${this.stderr}`,
        );
      }
      await sleep(20);
    }
  }
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

/** True when text looks like a JavaScript stack trace. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+:\d+:\d+\)?$/m.test(text) || text.includes("Uncaught");
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
 * Ids of the BPF programs process `pid` holds open, read from
 * `/proc/PID/fdinfo` (fds whose target is `anon_inode:bpf-prog`).
 */
export function progIdsOf(pid: number): number[] {
  const ids: number[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(`/proc/${pid}/fd`)];
  } catch {
    return ids;
  }
  for (const e of entries) {
    try {
      const target = Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`);
      if (!target.includes("bpf-prog")) continue;
      const info = Deno.readTextFileSync(`/proc/${pid}/fdinfo/${e.name}`);
      const m = info.match(/^prog_id:\s*(\d+)/m);
      if (m) ids.push(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return ids.sort((a, b) => a - b);
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
