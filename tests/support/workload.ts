/**
 * The workload binary of the tests and benchmarks (`workload.c` next to
 * this file): built once per version of its source into a cache folder in
 * the temporary directory, shared by every test file, test run and
 * benchmark, then hard-linked under the name each user wants as the
 * process's comm (`tsbwork`, `tsbparity`, `tsbbench`).
 *
 * @module
 */

import { which } from "./skip.ts";

/** Path of the workload's C source. */
export const WORKLOAD_C: string =
  new URL("./workload.c", import.meta.url).pathname;

/** The gcc flags: symbols and frame pointers for stacks and uprobes. */
const CFLAGS = ["-O1", "-g", "-fno-omit-frame-pointer", "-pthread"];

/**
 * Why the workload cannot be built here (not Linux, no gcc), or undefined
 * when it can.
 *
 * @example Skipping without gcc
 * ```ts ignore
 * import { workloadSkipReason } from "./workload.ts";
 * console.log(workloadSkipReason() ?? "gcc is here");
 * ```
 */
export function workloadSkipReason(): string | undefined {
  if (Deno.build.os !== "linux") {
    return `the workload is a Linux ELF binary, this is ${Deno.build.os}`;
  }
  return which("gcc") === undefined
    ? "no gcc to build the workload"
    : undefined;
}

let built: Promise<string> | undefined;
const named = new Map<string, Promise<string>>();

async function build(): Promise<string> {
  const src = await Deno.readFile(WORKLOAD_C);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", src));
  const tag = [...digest.slice(0, 6)]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/tsbpf_workload_${tag}`;
  const bin = `${dir}/workload`;
  try {
    if (Deno.statSync(bin).isFile) return bin;
  } catch {
    // not built yet
  }
  Deno.mkdirSync(dir, { recursive: true });
  // Concurrent runs each build their own copy, then one rename wins.
  const tmp = `${bin}.${Deno.pid}`;
  const out = await new Deno.Command("gcc", {
    args: [...CFLAGS, "-o", tmp, WORKLOAD_C],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Cannot build the workload: gcc failed:\n${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  Deno.renameSync(tmp, bin);
  return bin;
}

/**
 * The path of the workload binary named `name` (its processes' comm),
 * building the source first if this version was never built.
 *
 * @example A workload whose comm is "tsbwork"
 * ```ts ignore
 * import { workloadBinary } from "./workload.ts";
 * const bin = await workloadBinary("tsbwork");
 * const out = await new Deno.Command(bin, {
 *   args: ["getppid", "10"],
 *   env: { NOGATE: "1" },
 * }).output();
 * console.log(new TextDecoder().decode(out.stdout)); // ready, done 10 …
 * ```
 */
export function workloadBinary(name: string): Promise<string> {
  if (!/^[A-Za-z0-9_]{1,15}$/.test(name)) {
    throw new RangeError(`Invalid workload name "${name}"`);
  }
  let path = named.get(name);
  if (path === undefined) {
    path = (async () => {
      const bin = await (built ??= build());
      const link = `${bin.slice(0, bin.lastIndexOf("/"))}/${name}`;
      try {
        if (Deno.statSync(link).ino === Deno.statSync(bin).ino) return link;
      } catch {
        // not linked yet
      }
      const tmp = `${link}.${Deno.pid}`;
      Deno.linkSync(bin, tmp);
      Deno.renameSync(tmp, link);
      return link;
    })();
    named.set(name, path);
  }
  return path;
}

/**
 * What a workload printed for its mode: its standard output without the
 * `ready` and `done N ELAPSED_NS` lines of the protocol.
 *
 * @example Stripping the protocol
 * ```ts ignore
 * import { workloadOutput } from "./workload.ts";
 * console.log(workloadOutput("ready\n999\ndone 1000 52000\n")); // "999\n"
 * ```
 */
export function workloadOutput(stdout: string): string {
  return stdout.replace(/^ready\n/, "").replace(/^done \d+ \d+\n/m, "");
}

const encoder = new TextEncoder();

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * The workload running in a child process, gated: started, it prints
 * `ready` and waits at its gate. `go()` opens the gate and closes standard
 * input (the workload exits when done); `open()` opens it and keeps
 * standard input open, so the workload stays alive after `done` until
 * `release()`.
 *
 * @example Ten getppid calls as "tsbwork"
 * ```ts ignore
 * import { WorkloadProcess } from "./workload.ts";
 * const w = await WorkloadProcess.start("tsbwork", ["getppid", "10"]);
 * try {
 *   console.log(w.pid, await w.run());
 * } finally {
 *   await w.kill();
 * }
 * ```
 */
export class WorkloadProcess {
  /** The child process. */
  readonly child: Deno.ChildProcess;
  /** Standard output so far. */
  stdout = "";
  #reader: Promise<void>;
  #stdin?: WritableStreamDefaultWriter<Uint8Array>;
  #ended = false;

  private constructor(child: Deno.ChildProcess) {
    this.child = child;
    this.#reader = (async () => {
      const d = new TextDecoder();
      for await (const chunk of child.stdout) {
        this.stdout += d.decode(chunk, { stream: true });
      }
      this.stdout += d.decode();
    })();
    child.status.then(() => this.#ended = true);
  }

  /**
   * Starts the workload named `name` (its comm) with `args` and waits (up
   * to 10 s) until it is at its gate; in directory `cwd` when given.
   */
  static async start(
    name: string,
    args: string[],
    cwd?: string,
  ): Promise<WorkloadProcess> {
    const bin = await workloadBinary(name);
    const w = new WorkloadProcess(
      new Deno.Command(bin, {
        args,
        cwd,
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn(),
    );
    const end = performance.now() + 10_000;
    while (!w.stdout.includes("ready\n")) {
      if (performance.now() > end || w.#ended) {
        await w.kill();
        throw new Error(`Workload ${args.join(" ")} never became ready`);
      }
      await sleep(2);
    }
    return w;
  }

  /** The child's pid. */
  get pid(): number {
    return this.child.pid;
  }

  /** Opens the gate; the work begins, the workload exits when done. */
  async go(): Promise<void> {
    const w = this.#stdin ?? this.child.stdin.getWriter();
    this.#stdin = undefined;
    await w.write(encoder.encode("g"));
    await w.close();
  }

  /**
   * Opens the gate and waits (up to `timeoutMs`) until the work is done
   * (or the workload ended); it stays alive until `release()`.
   */
  async open(timeoutMs = 20_000): Promise<void> {
    this.#stdin = this.child.stdin.getWriter();
    await this.#stdin.write(encoder.encode("g"));
    const end = performance.now() + timeoutMs;
    while (!/^done \d+ \d+$/m.test(this.stdout) && !this.#ended) {
      if (performance.now() > end) throw new Error("Workload never done");
      await sleep(2);
    }
  }

  /** Closes standard input after `open()`; throws unless it exits with 0. */
  async release(): Promise<void> {
    await this.#stdin?.close().catch(() => {});
    this.#stdin = undefined;
    const status = await this.child.status;
    await this.#reader;
    if (status.code !== 0) {
      throw new Error(`Workload exited with status ${status.code}`);
    }
  }

  /** Waits for the end; returns the status and what it printed. */
  async wait(): Promise<{ code: number; stdout: string }> {
    const status = await this.child.status;
    await this.#reader;
    return { code: status.code, stdout: this.stdout };
  }

  /**
   * `go()` then `wait()`; throws unless the work succeeded, and returns
   * what the mode printed (without the `ready` and `done` lines).
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
      await (this.#stdin ?? this.child.stdin).close();
    } catch {
      // closed already
    }
    await this.child.status;
    await this.#reader;
  }
}
