/**
 * The two tracers under comparison, run as real processes: tsbpf's CLI
 * (`deno run -A mod.ts -e …`) and bpftrace (`bpftrace -e …`). A
 * {@linkcode ToolProcess} streams the tool's standard output (timing when a
 * line appears, counting event lines), finds the tool's BPF programs through
 * `/proc/PID/fdinfo`, samples its memory, and stops it with SIGINT as a user
 * would.
 *
 * @module
 */

/** One of the two tracers compared. */
export type Tool = "tsbpf" | "bpftrace";

/** Both tools, in the order each round runs them. */
export const TOOLS: readonly Tool[] = ["tsbpf", "bpftrace"];

/** Absolute path of tsbpf's entry point. */
export const MOD: string = new URL("../mod.ts", import.meta.url).pathname;

/**
 * Finds an executable on `PATH` (and the sbin directories).
 *
 * @example Find a shell
 * ```ts
 * import { which } from "./tools.ts";
 * console.log(which("sh") ?? "no sh");
 * ```
 */
export function which(cmd: string): string | undefined {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat([
    "/usr/sbin",
    "/sbin",
    "/usr/bin",
    "/bin",
    "/usr/local/bin",
  ]);
  for (const dir of dirs) {
    if (dir === "") continue;
    try {
      const path = `${dir}/${cmd}`;
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * Command line that runs `program` with `tool`.
 *
 * @example tsbpf's command line
 * ```ts
 * import { toolArgv } from "./tools.ts";
 * const [cmd, args] = toolArgv("tsbpf", "BEGIN { exit(); }");
 * console.assert(cmd === Deno.execPath() && args.includes("-e"));
 * ```
 */
export function toolArgv(
  tool: Tool,
  program: string,
  extra: string[] = [],
  entry: string = MOD,
): [string, string[]] {
  if (tool === "tsbpf") {
    return [Deno.execPath(), ["run", "-A", entry, ...extra, "-e", program]];
  }
  return [which("bpftrace") ?? "bpftrace", [...extra, "-e", program]];
}

/** What a stopped tool left behind. */
export interface ToolResult {
  /** Exit code. */
  code: number;
  /** Standard output (the first 1 MiB and the last 64 KiB when longer). */
  stdout: string;
  /** Standard error. */
  stderr: string;
  /** Lines on standard output that began with the event marker. */
  eventLines: number;
  /** `Lost N events` figures the tool printed, summed. */
  lost: number;
  /** Peak RSS in KiB from /usr/bin/time (when run under it). */
  maxRssKb?: number;
  /** User + system CPU ms from /usr/bin/time (when run under it). */
  cpuMs?: number;
  /** Wall-clock ms from spawn to exit. */
  wallMs: number;
}

/** Options of {@linkcode ToolProcess.spawn}. */
export interface SpawnOptions {
  /** Lines starting with this are counted (and not kept) as events. */
  eventMarker?: string;
  /** Run under `/usr/bin/time -v` to get the peak RSS at exit. */
  timeRss?: boolean;
  /** Extra command-line arguments before `-e`. */
  extra?: string[];
  /** What tsbpf runs instead of `mod.ts` (the bundled command). */
  entry?: string;
}

const KEEP_HEAD = 1 << 20;
const KEEP_TAIL = 64 << 10;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A running tracer.
 *
 * @example Run bpftrace's and tsbpf's BEGIN probe (root only)
 * ```ts ignore
 * import { ToolProcess } from "./tools.ts";
 * const p = ToolProcess.spawn("tsbpf", 'BEGIN { printf("hi\\n"); }');
 * await p.waitFor(/^hi$/m, 10_000);
 * const r = await p.stop();
 * console.log(r.stdout);
 * ```
 */
export class ToolProcess {
  /** Which tool. */
  readonly tool: Tool;
  /** `performance.now()` just before the spawn. */
  readonly spawnedAt: number;
  #child: Deno.ChildProcess;
  #viaTime: boolean;
  #pid = 0;
  #head = "";
  #tail = "";
  #partial = "";
  #marker: string | undefined;
  #events = 0;
  #firstEventAt = 0;
  #lastEventAt = 0;
  #lost = 0;
  #stderr = "";
  #done: Promise<void>;
  #waiters: { re: RegExp; resolve: (t: number) => void }[] = [];
  #lines: { line: string; at: number }[] = [];
  #exitedAt = 0;
  #status: Promise<Deno.CommandStatus>;

  private constructor(tool: Tool, program: string, opts: SpawnOptions) {
    this.tool = tool;
    this.#marker = opts.eventMarker;
    const [cmd, args] = toolArgv(tool, program, opts.extra, opts.entry);
    const time = opts.timeRss ? which("time") : undefined;
    this.#viaTime = time !== undefined;
    this.spawnedAt = performance.now();
    this.#child = new Deno.Command(time ?? cmd, {
      args: time ? ["-v", cmd, ...args] : args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (!this.#viaTime) this.#pid = this.#child.pid;
    this.#status = this.#child.status.then((s) => {
      this.#exitedAt = performance.now();
      return s;
    });
    this.#done = Promise.all([
      this.#readStdout(this.#child.stdout),
      this.#readStderr(this.#child.stderr),
    ]).then(() => {});
  }

  /** Starts `program` under `tool`. */
  static spawn(
    tool: Tool,
    program: string,
    opts: SpawnOptions = {},
  ): ToolProcess {
    return new ToolProcess(tool, program, opts);
  }

  /** Lines counted as events so far. */
  get eventLines(): number {
    return this.#events;
  }

  /** `performance.now()` when the first and the last event line came. */
  get eventSpan(): [number, number] {
    return [this.#firstEventAt, this.#lastEventAt];
  }

  /** Pid of the tool itself (not of /usr/bin/time). */
  async pid(): Promise<number> {
    for (let i = 0; this.#pid === 0 && i < 500; i++) {
      const t = this.#child.pid;
      try {
        const kids = Deno.readTextFileSync(`/proc/${t}/task/${t}/children`)
          .trim();
        if (kids !== "") this.#pid = Number(kids.split(/\s+/)[0]);
      } catch {
        // not yet
      }
      if (this.#pid === 0) await sleep(2);
    }
    if (this.#pid === 0) throw new Error(`Cannot find the ${this.tool} pid`);
    return this.#pid;
  }

  async #readStdout(stream: ReadableStream<Uint8Array>): Promise<void> {
    const d = new TextDecoder();
    for await (const chunk of stream) {
      const at = performance.now();
      this.#onText(d.decode(chunk, { stream: true }), at);
    }
    this.#onText(d.decode() + "\n", performance.now());
  }

  async #readStderr(stream: ReadableStream<Uint8Array>): Promise<void> {
    const d = new TextDecoder();
    let partial = "";
    for await (const chunk of stream) {
      const at = performance.now();
      const text = d.decode(chunk, { stream: true });
      this.#stderr += text;
      // tsbpf (as bpftrace 0.24+) writes its attach and lost-events lines
      // on standard error: waiters and the lost count see them too.
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const line of lines) this.#onErrLine(line, at);
    }
    this.#stderr += d.decode();
  }

  #onErrLine(line: string, at: number): void {
    const m = /^Lost (\d+) events/.exec(line);
    if (m) this.#lost += Number(m[1]);
    if (this.#lines.length < 1000) this.#lines.push({ line, at });
    for (const w of this.#waiters.slice()) {
      if (w.re.test(line)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(at);
      }
    }
  }

  #onText(text: string, at: number): void {
    const all = this.#partial + text;
    const cut = all.lastIndexOf("\n");
    if (cut < 0) {
      this.#partial = all;
      return;
    }
    this.#partial = all.slice(cut + 1);
    const lines = all.slice(0, cut).split("\n");
    let kept = "";
    for (const line of lines) {
      if (this.#marker !== undefined && line.startsWith(this.#marker)) {
        if (this.#events++ === 0) this.#firstEventAt = at;
        this.#lastEventAt = at;
        continue;
      }
      const m = /^Lost (\d+) events/.exec(line);
      if (m) this.#lost += Number(m[1]);
      kept += line + "\n";
      if (this.#lines.length < 1000) this.#lines.push({ line, at });
      for (const w of this.#waiters.slice()) {
        if (w.re.test(line)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(at);
        }
      }
    }
    if (kept === "") return;
    if (this.#head.length < KEEP_HEAD) this.#head += kept;
    else this.#tail = (this.#tail + kept).slice(-KEEP_TAIL);
  }

  /**
   * Resolves with the `performance.now()` time at which a line of standard
   * output (non-event lines only) or of standard error first matched `re`.
   */
  waitFor(re: RegExp, timeoutMs: number): Promise<number> {
    const seen = this.#lines.find((l) => re.test(l.line));
    if (seen) return Promise.resolve(seen.at);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `${this.tool} printed no ${re} within ${timeoutMs} ms; stderr: ${this.#stderr.trim()}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.push({
        re,
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      });
      this.#status.then(() => {
        setTimeout(() => {
          clearTimeout(timer);
          reject(
            new Error(
              `${this.tool} exited before printing ${re}; stderr: ${this.#stderr.trim()}`,
            ),
          );
        }, 50);
      });
    });
  }

  /** Ids of the BPF programs the tool holds open (from /proc/PID/fdinfo). */
  async progIds(): Promise<number[]> {
    const pid = await this.pid();
    const ids = new Set<number>();
    for (const e of Deno.readDirSync(`/proc/${pid}/fdinfo`)) {
      try {
        const text = Deno.readTextFileSync(`/proc/${pid}/fdinfo/${e.name}`);
        const m = /^prog_id:\s*(\d+)/m.exec(text);
        if (m) ids.add(Number(m[1]));
      } catch {
        // closed meanwhile
      }
    }
    return [...ids].sort((a, b) => a - b);
  }

  /** Peak resident set size so far (VmHWM), KiB. */
  async vmHwmKb(): Promise<number> {
    return (await this.memory()).hwmKb;
  }

  /**
   * The tool's memory now, from /proc/PID/status: peak RSS (VmHWM), and
   * the current RSS split into anonymous (heap, stacks) and file-backed
   * (mapped executable and libraries, shared) pages; KiB.
   */
  async memory(): Promise<{ hwmKb: number; anonKb: number; fileKb: number }> {
    const pid = await this.pid();
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const get = (key: string) => {
      const m = new RegExp(`^${key}:\\s*(\\d+) kB`, "m").exec(text);
      return m ? Number(m[1]) : NaN;
    };
    return {
      hwmKb: get("VmHWM"),
      anonKb: get("RssAnon"),
      fileKb: get("RssFile"),
    };
  }

  /** Waits for the tool to exit on its own. */
  async wait(timeoutMs = 30_000): Promise<ToolResult> {
    const timer = setTimeout(() => this.#kill("SIGKILL"), timeoutMs);
    const status = await this.#status;
    clearTimeout(timer);
    await this.#done;
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(this.#stderr);
    const user = /User time \(seconds\): ([\d.]+)/.exec(this.#stderr);
    const sys = /System time \(seconds\): ([\d.]+)/.exec(this.#stderr);
    return {
      code: status.code,
      stdout: this.#head + this.#tail,
      stderr: this.#stderr,
      eventLines: this.#events,
      lost: this.#lost,
      maxRssKb: m ? Number(m[1]) : undefined,
      cpuMs: user && sys
        ? (Number(user[1]) + Number(sys[1])) * 1000
        : undefined,
      wallMs: this.#exitedAt - this.spawnedAt,
    };
  }

  #kill(signal: Deno.Signal): void {
    try {
      Deno.kill(this.#pid || this.#child.pid, signal);
    } catch {
      // already gone
    }
  }

  /** Kills the tool at once (SIGKILL) and waits for it. */
  async abort(): Promise<ToolResult> {
    await this.pid().catch(() => 0);
    this.#kill("SIGKILL");
    return await this.wait();
  }

  /**
   * Kills the tool after a measurement failed with `e`, and returns the
   * error to throw: `e`'s message and the tool's last error lines (its
   * RLIMIT_MEMLOCK warning left out).
   */
  async abortWith(e: unknown): Promise<Error> {
    const r = await this.abort();
    const why = r.stderr.split("\n").filter((l) =>
      /error/i.test(l) && !l.includes("RLIMIT_MEMLOCK")
    );
    return new Error(
      `${e instanceof Error ? e.message : String(e)}${
        why.length > 0 ? `; ${this.tool} said: ${why.slice(-2).join(" ")}` : ""
      }`,
    );
  }

  /**
   * Sends SIGINT (as Ctrl-C) and waits for the exit. bpftrace ignores a
   * SIGINT that arrives while it is still attaching, so it is repeated
   * every second until the tool exits.
   */
  async stop(timeoutMs = 30_000): Promise<ToolResult> {
    await this.pid().catch(() => 0);
    let exited = false;
    this.#status.then(() => exited = true);
    this.#kill("SIGINT");
    const again = setInterval(() => {
      if (!exited) this.#kill("SIGINT");
    }, 1000);
    try {
      return await this.wait(timeoutMs);
    } finally {
      clearInterval(again);
    }
  }
}

/** What `bpftool prog show` says about one program. */
export interface ProgInfo {
  /** Program id. */
  id: number;
  /** Kernel name. */
  name: string;
  /** Times run (needs `kernel.bpf_stats_enabled=1`). */
  runCnt: number;
  /** Nanoseconds run. */
  runTimeNs: number;
  /** Instructions after the verifier's rewrite (`bytes_xlated / 8`). */
  xlatedInsns: number;
}

/**
 * Looks one program up with `bpftool prog show id ID -j`.
 *
 * @example Look up a program (root only)
 * ```ts ignore
 * import { progShow } from "./tools.ts";
 * console.log(await progShow(1));
 * ```
 */
export async function progShow(id: number): Promise<ProgInfo> {
  let out: Deno.CommandOutput | undefined;
  for (let i = 0; i < 3 && !out?.success; i++) {
    out = await new Deno.Command(which("bpftool") ?? "bpftool", {
      args: ["prog", "show", "id", String(id), "-j"],
      stdout: "piped",
      stderr: "piped",
    }).output();
  }
  if (!out?.success) {
    const d = new TextDecoder();
    throw new Error(
      `bpftool prog show id ${id} failed (status ${out?.code}): ${
        (d.decode(out?.stderr) + d.decode(out?.stdout)).trim()
      }`,
    );
  }
  const j = JSON.parse(new TextDecoder().decode(out.stdout));
  return {
    id,
    name: String(j.name ?? ""),
    runCnt: Number(j.run_cnt ?? 0),
    runTimeNs: Number(j.run_time_ns ?? 0),
    xlatedInsns: Number(j.bytes_xlated ?? 0) / 8,
  };
}

/**
 * Why the kernel comparisons cannot run here, or undefined when they can:
 * needs Linux, root, bpftrace, bpftool and gcc.
 *
 * @example Print the reason
 * ```ts
 * import { kernelSkipReason } from "./tools.ts";
 * console.log(kernelSkipReason() ?? "kernel comparisons can run");
 * ```
 */
export function kernelSkipReason(): string | undefined {
  if (Deno.build.os !== "linux") return `not Linux (${Deno.build.os})`;
  if (Deno.uid() !== 0) return "not root";
  for (const cmd of ["bpftrace", "bpftool", "gcc"]) {
    if (which(cmd) === undefined) return `${cmd} is not installed`;
  }
  return undefined;
}
