/**
 * Start-up: wall time from spawning the tool to its attach line (bpftrace
 * 0.17's `Attaching N probes...`, tsbpf's `Attached N probes`), to the first event of an attached probe reaching standard output,
 * and, for `BEGIN { exit(); }`, to process exit. tsbpf and bpftrace
 * alternate within each round. Also a breakdown of tsbpf's start-up from
 * `bench/startup_phases.ts`.
 *
 * bpftrace 0.17 prints `Attaching N probes...` *before* it loads and
 * attaches, tsbpf after: the "first event" figure is the fair one.
 *
 * @module
 */

import { attempt, median } from "./stats.ts";
import { MOD, type Tool, ToolProcess, TOOLS } from "./tools.ts";
import { ticker } from "./workload.ts";
import { bundleCli } from "../tools/bundle_cli.ts";

/** One start-up metric, medians over the rounds. */
export interface StartupRow {
  /** What was timed. */
  name: string;
  /** Median milliseconds per tool. */
  ms: Record<Tool, number>;
  /** Every sample, per tool. */
  samples: Record<Tool, number[]>;
}

/** A phase of tsbpf's start-up and its median (ms, or MiB for memory). */
export interface PhaseRow {
  /** Phase name. */
  phase: string;
  /** Median milliseconds (MiB for the memory rows). */
  ms: number;
}

/** One-liner whose attach line is timed. */
export const ATTACH_PROGRAM =
  "tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }";
/**
 * One-liner that prints and exits on the first event of the ticker, whose
 * pid replaces `$PID`.
 */
export const FIRST_EVENT_PROGRAM =
  `tracepoint:syscalls:sys_enter_getppid /pid == $PID/ { printf("first\\n"); exit(); }`;
/** One-liner that exits at once. */
export const BEGIN_EXIT_PROGRAM = "BEGIN { exit(); }";

async function timeAttach(tool: Tool): Promise<number> {
  const p = ToolProcess.spawn(tool, ATTACH_PROGRAM);
  try {
    const at = await p.waitFor(
      /^Attach(ing \d+ probes?\.\.\.|ed \d+ probes?)/,
      30_000,
    );
    return at - p.spawnedAt;
  } finally {
    await p.abort();
  }
}

async function timeFirstEvent(
  tool: Tool,
  pid: number,
  entry?: string,
): Promise<[number, number]> {
  const program = FIRST_EVENT_PROGRAM.replace("$PID", String(pid));
  const p = ToolProcess.spawn(tool, program, { entry });
  const at = await p.waitFor(/^first$/, 30_000).catch(async (e) => {
    await p.stop();
    throw e;
  });
  const r = await p.wait();
  return [at - p.spawnedAt, r.wallMs];
}

async function timeBeginExit(
  tool: Tool,
  entry?: string,
): Promise<[number, number]> {
  const p = ToolProcess.spawn(tool, BEGIN_EXIT_PROGRAM, {
    timeRss: true,
    entry,
  });
  const r = await p.wait();
  if (r.code !== 0) {
    throw new Error(`${tool} failed on BEGIN { exit(); }: ${r.stderr}`);
  }
  return [r.wallMs, r.cpuMs ?? NaN];
}

/**
 * Runs `rounds` rounds of every start-up metric, the tools alternating.
 *
 * @example Two rounds (root, bpftrace, gcc)
 * ```ts ignore
 * import { measureStartup } from "./startup.ts";
 * for (const row of await measureStartup(2)) console.log(row.name, row.ms);
 * ```
 */
export async function measureStartup(rounds: number): Promise<StartupRow[]> {
  const names = [
    "to the attach line",
    "to first event (attached + delivered)",
    "first event, to process exit",
    "`BEGIN { exit(); }` to exit",
    "`BEGIN { exit(); }` CPU time (user + sys)",
    "to first event, bundled command (`deno task bundle`)",
    "`BEGIN { exit(); }` to exit, bundled command",
  ];
  const samples = names.map(() => ({
    tsbpf: [] as number[],
    bpftrace: [] as number[],
  }));
  // The bundled command, built (and its code cache primed) as
  // `deno task bundle` does; its rows compare it with the same rounds'
  // bpftrace figures.
  const dist = await Deno.makeTempDir({ prefix: "tsbpf-bench-" });
  const bundle = await attempt("bundle", () => bundleCli(dist));
  // Events for the first-event probe: getppid every 200 µs all along.
  const tick = await ticker(200, 3600);
  try {
    for (let r = 0; r < rounds; r++) {
      // Alternate which tool goes first, so neither always runs warm.
      const order = r % 2 ? [...TOOLS].reverse() : TOOLS;
      for (const tool of order) {
        const ms = await attempt(`${tool} attach`, () => timeAttach(tool));
        samples[0][tool].push(ms ?? NaN);
      }
      for (const tool of order) {
        const [first, exit] = await attempt(
          `${tool} first event`,
          () => timeFirstEvent(tool, tick.pid),
        ) ?? [NaN, NaN];
        samples[1][tool].push(first);
        samples[2][tool].push(exit);
      }
      for (const tool of order) {
        const [wall, cpu] = await attempt(
          `${tool} BEGIN exit`,
          () => timeBeginExit(tool),
        ) ?? [NaN, NaN];
        samples[3][tool].push(wall);
        samples[4][tool].push(cpu);
      }
      if (bundle !== undefined) {
        const [first] = await attempt(
          "bundled first event",
          () => timeFirstEvent("tsbpf", tick.pid, bundle.file),
        ) ?? [NaN];
        samples[5].tsbpf.push(first);
        samples[5].bpftrace.push(samples[1].bpftrace.at(-1)!);
        const [wall] = await attempt(
          "bundled BEGIN exit",
          () => timeBeginExit("tsbpf", bundle.file),
        ) ?? [NaN];
        samples[6].tsbpf.push(wall);
        samples[6].bpftrace.push(samples[3].bpftrace.at(-1)!);
      }
    }
  } finally {
    tick.stop();
    await tick.done;
    await Deno.remove(dist, { recursive: true });
  }
  return names.map((name, i) => ({
    name,
    ms: {
      tsbpf: median(samples[i].tsbpf),
      bpftrace: median(samples[i].bpftrace),
    },
    samples: samples[i],
  }));
}

const PHASES = new URL("./startup_phases.ts", import.meta.url).pathname;

async function runPhases(
  args: string[],
): Promise<{ spawn: number; exit: number; stamps: Record<string, number> }> {
  const spawn = performance.timeOrigin + performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", PHASES, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const exit = performance.timeOrigin + performance.now();
  if (!out.success) {
    throw new Error(
      `startup_phases.ts failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  const stamps = JSON.parse(new TextDecoder().decode(out.stdout));
  return { spawn, exit, stamps };
}

/**
 * Splits tsbpf's start-up into phases (medians over `rounds` runs): Deno
 * boot to the first line of user code, loading the module graph,
 * compiling, opening libbpf, loading, attaching, and closing.
 * An empty Deno script gives the floor no TypeScript tool can beat.
 *
 * @example Three rounds (root)
 * ```ts ignore
 * import { measurePhases } from "./startup.ts";
 * console.table(await measurePhases(3));
 * ```
 */
export async function measurePhases(rounds: number): Promise<PhaseRow[]> {
  const cols: Record<string, number[]> = {};
  const add = (k: string, v: number) => (cols[k] ??= []).push(v);
  for (let r = 0; r < rounds; r++) {
    const e = await runPhases(["empty"]);
    add("empty Deno script: spawn to exit", e.exit - e.spawn);
    add(
      "Deno boot: spawn to first line of user code",
      e.stamps.first - e.spawn,
    );
    const p = await runPhases(["phases", ATTACH_PROGRAM]);
    const s = p.stamps;
    add("phases: Deno boot", s.first - p.spawn);
    add("phases: load module graph (mod.ts, cached)", s.imported - s.first);
    add("phases: compile", s.compiled - s.imported);
    add(
      "phases: import kernel engine, dlopen libbpf, probe kernel",
      s.engine - s.compiled,
    );
    add("phases: create maps + load programs", s.loaded - s.engine);
    add("phases: attach", s.attached - s.loaded);
    add("phases: spawn to attached", s.attached - p.spawn);
    add("phases: detach + close", s.closed - s.attached);
    add("phases: closed to process exit", p.exit - s.closed);
    add(
      "tsbpf's own verifier (interpreter, --dry-run; not on the kernel path)",
      s.verifyMs,
    );
    add("memory: empty Deno script VmHWM (MiB)", e.stamps.hwmKb / 1024);
    add("memory: phases script VmHWM (MiB)", s.hwmKb / 1024);
    add("memory: empty script V8 heap used (MiB)", e.stamps.heapUsed / 2 ** 20);
    add("memory: phases script V8 heap used (MiB)", s.heapUsed / 2 ** 20);
    add("memory: phases script external (MiB)", s.external / 2 ** 20);
  }
  const dist = await Deno.makeTempDir({ prefix: "tsbpf-bench-" });
  const built = await attempt("bundle", () => bundleCli(dist));
  if (built !== undefined) {
    const bundle = built.file;
    // Round -1 warms Deno's caches (transpile, V8 code cache) for both.
    for (let r = -1; r < rounds; r++) {
      for (const [name, file] of [["mod.ts", MOD], ["bundled", bundle]]) {
        const t0 = performance.now();
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", file, "-e", BEGIN_EXIT_PROGRAM],
          stdout: "null",
          stderr: "null",
        }).output();
        if (out.success && r >= 0) {
          add(
            name === "mod.ts"
              ? "CLI `BEGIN { exit(); }`: deno run mod.ts"
              : "same, the bundled command (deno task bundle)",
            performance.now() - t0,
          );
        }
      }
    }
  }
  await Deno.remove(dist, { recursive: true });
  return Object.entries(cols).map(([phase, v]) => ({ phase, ms: median(v) }));
}
