/**
 * One harness for the tests that run the CLI, a script or bpftrace in a
 * child process and talk to it with signals: `Tracer` reads its output as
 * it comes, `closedStdout()` runs one until its reader goes away.
 *
 * @module
 */

import { which } from "./skip.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

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
 * A tracer (the tsbpf CLI, a TypeScript script or bpftrace) running in a
 * child process, its output read as it comes: wait for a line, send
 * signals, collect everything at the end.
 *
 * @example Ctrl-C after the attach line
 * ```ts ignore
 * import { Tracer } from "./child.ts";
 * const t = Tracer.tsbpf(["--backend", "interp", "-e", "BEGIN { @ = 1; }"]);
 * try {
 *   await t.attached();
 *   const r = await t.stop();
 *   console.log(r.code, r.stdout);
 * } finally {
 *   await t.kill();
 * }
 * ```
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
    const bpftrace = which("bpftrace");
    if (bpftrace === undefined) throw new Error("bpftrace is not installed");
    return new Tracer([bpftrace, ...args]);
  }

  /**
   * Starts `deno run -A SCRIPT ...args` (a TypeScript script using the
   * API, or one of `scripts/`).
   */
  static script(script: string, args: string[]): Tracer {
    return new Tracer([
      Deno.execPath(),
      "run",
      "-A",
      "--no-lock",
      script,
      ...args,
    ]);
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

  /**
   * Waits until standard error matches `re`; returns the match, or
   * undefined when the tracer exits or `timeoutMs` passes first.
   */
  async waitForStderr(
    re: RegExp,
    timeoutMs = 20_000,
  ): Promise<RegExpExecArray | undefined> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.stderr);
      if (m !== null) return m;
      if (this.#done || performance.now() > end) {
        await sleep(50); // let the readers drain
        return re.exec(this.stderr) ?? undefined;
      }
      await sleep(20);
    }
  }

  /**
   * Waits for the attach line both tools print: JSON's record on standard
   * output; in text, bpftrace 0.17's `Attaching N probes...` on standard
   * output or tsbpf's (bpftrace 0.26's) `Attached N probes` on standard
   * error.
   */
  async attached(timeoutMs = 20_000): Promise<void> {
    if (this.json) return await this.waitFor('"attached_probes"', timeoutMs);
    const end = performance.now() + timeoutMs;
    const seen = () =>
      this.stdout.includes("Attaching") ||
      /^Attached \d+ probe/m.test(this.stderr);
    while (!seen()) {
      if (this.#done || performance.now() > end) {
        await sleep(50); // let the readers drain
        if (seen()) return;
        throw new Error(
          `${
            this.#done ? "Tracer exited" : "Timed out"
          } before attaching\n--- stdout:\n${this.stdout}\n--- stderr:\n${this.stderr}`,
        );
      }
      await sleep(20);
    }
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

/**
 * Runs `deno run -A SCRIPT ...args` (the CLI when `script` is undefined),
 * reads the first chunk of its standard output and then goes away, as
 * `head -1` does; returns how the child ended and its standard error.
 * SIGKILL after `timeoutMs`.
 *
 * @example A reader that leaves
 * ```ts ignore
 * import { closedStdout } from "./child.ts";
 * const r = await closedStdout(undefined, ["--backend", "interp", "-e",
 *   'tracepoint:syscalls:sys_enter_getppid { printf("x\\n"); }']);
 * console.log(r.status.code); // 141
 * ```
 */
export async function closedStdout(
  script: string | undefined,
  args: string[],
  timeoutMs = 20_000,
): Promise<{ status: Deno.CommandStatus; first: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", script ?? MOD, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  await reader.cancel();
  const [status, stderr] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
  ]);
  clearTimeout(timer);
  return { status, first: new TextDecoder().decode(value), stderr };
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
 * True when text looks like a JavaScript stack trace (an `at file:line:col`
 * line or an uncaught error): what a user must never see.
 *
 * @example A stack trace
 * ```ts ignore
 * import { hasStackTrace } from "./child.ts";
 * console.log(hasStackTrace("    at main (file:///x.ts:1:2)")); // true
 * ```
 */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+:\d+:\d+\)?$/m.test(text) || text.includes("Uncaught");
}
