/**
 * Per-event cost in the kernel: the same one-liner run by tsbpf and by
 * bpftrace under the same generated workload, the tools alternating. With
 * `kernel.bpf_stats_enabled=1` the kernel counts each program's runs and
 * nanoseconds; the cost is Δrun_time_ns / Δrun_cnt over the workload,
 * summed over the tool's programs (found through `/proc/PID/fdinfo`).
 * The same runs give each program's instruction count after the
 * verifier's rewrite (`bytes_xlated / 8`) and the tool's memory.
 *
 * @module
 */

import { compile } from "../runtime/compiler/compile.ts";
import { prepareKernelTypes } from "../runtime/compiler/kernel_types.ts";
import { attempt, median, sleep } from "./stats.ts";
import { progShow, type Tool, ToolProcess, TOOLS } from "./tools.ts";
import { Workload } from "./workload.ts";

/** One one-liner with its workload. */
export interface PerEventCase {
  /** Short name for the table. */
  name: string;
  /** The program; `$PID` is replaced by the workload's pid. */
  program: string;
  /** Workload mode of `tests/support/workload.c`. */
  mode: "getppid" | "reads" | "opens";
  /** System calls the workload makes at scale 1. */
  calls: number;
}

/** The one-liners compared. */
export const PER_EVENT_CASES: readonly PerEventCase[] = [
  {
    name: "count by comm",
    program: "tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }",
    mode: "getppid",
    calls: 200_000,
  },
  {
    name: "count by syscall id, pid predicate",
    program:
      "tracepoint:raw_syscalls:sys_enter /pid == $PID/ { @[args->id] = count(); }",
    mode: "getppid",
    calls: 200_000,
  },
  {
    name: "hist of read sizes",
    program:
      "tracepoint:syscalls:sys_exit_read /args->ret > 0/ { @ = hist(args->ret); }",
    mode: "reads",
    calls: 50_000,
  },
  {
    name: "printf comm + filename",
    program:
      'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); }',
    mode: "opens",
    calls: 20_000,
  },
  {
    name: "read latency (start/end pair)",
    program:
      "tracepoint:syscalls:sys_enter_read { @s[tid] = nsecs; } tracepoint:syscalls:sys_exit_read /@s[tid]/ { @lat = hist(nsecs - @s[tid]); delete(@s[tid]); }",
    mode: "reads",
    calls: 50_000,
  },
  {
    name: "struct: curtask->real_parent->pid",
    program:
      "tracepoint:syscalls:sys_enter_getppid { @[curtask->real_parent->pid] = count(); }",
    mode: "getppid",
    calls: 200_000,
  },
  {
    name: "struct: nested . and char[16]",
    program:
      "tracepoint:syscalls:sys_enter_getppid /pid == $PID/ { @[curtask->real_parent->comm, curtask->se.nr_migrations] = count(); }",
    mode: "getppid",
    calls: 200_000,
  },
  {
    name: "struct: cast, three pointer hops",
    program:
      "tracepoint:syscalls:sys_enter_openat /pid == $PID/ { @[((struct task_struct *)curtask)->real_parent->real_parent->tgid] = count(); }",
    mode: "opens",
    calls: 20_000,
  },
];

/** One tool's figures for one case (medians over the rounds). */
export interface PerEventFigures {
  /** Nanoseconds per program run. */
  nsPerRun: number;
  /** Program runs during the workload. */
  runs: number;
  /** Instructions after the verifier, per program, by kernel name. */
  xlated: Record<string, number>;
  /** Peak RSS while running (VmHWM sampled before the stop), KiB. */
  vmHwmKb: number;
  /** Anonymous RSS before the stop, KiB. */
  anonKb: number;
  /** File-backed RSS (executable, libraries) before the stop, KiB. */
  fileKb: number;
  /** Peak RSS at exit (/usr/bin/time), KiB, when available. */
  maxRssKb: number;
  /** Every ns/run sample. */
  samples: number[];
}

/** One case, both tools. */
export interface PerEventRow {
  /** The case. */
  case: PerEventCase;
  /** Per tool. */
  tools: Record<Tool, PerEventFigures>;
  /** Instructions tsbpf emitted, per probe. */
  emitted: Record<string, number>;
}

interface Sample {
  nsPerRun: number;
  runs: number;
  xlated: Record<string, number>;
  vmHwmKb: number;
  anonKb: number;
  fileKb: number;
  maxRssKb: number;
}

async function readStats(ids: number[]) {
  return await Promise.all(ids.map(progShow));
}

async function runOnce(
  tool: Tool,
  c: PerEventCase,
  calls: number,
): Promise<Sample> {
  const work = await Workload.start(c.mode, calls);
  const program = c.program.replaceAll("$PID", String(work.pid));
  const p = ToolProcess.spawn(tool, program, {
    timeRss: true,
    eventMarker: "tsbbench ",
  });
  try {
    await p.waitFor(/^Attach(ing \d+ probes?\.\.\.|ed \d+ probes?)/, 30_000);
    // bpftrace prints the line before attaching: wait until it holds its
    // programs, then a little more for the attach itself.
    let ids: number[] = [];
    const want = program.split("tracepoint:").length - 1;
    for (let i = 0; i < 300 && ids.length < want; i++) {
      ids = await p.progIds();
      if (ids.length < want) await sleep(10);
    }
    if (ids.length < want) {
      throw new Error(`${tool} holds ${ids.length} of ${want} BPF programs`);
    }
    await sleep(300);
    // Read again: bpftrace loads short-lived programs (feature probes)
    // while it starts, which the first look may have caught.
    ids = await p.progIds();
    if (ids.length < want) {
      throw new Error(`${tool} holds ${ids.length} of ${want} BPF programs`);
    }
    const before = await readStats(ids);
    await work.release();
    const after = await readStats(ids);
    let dt = 0, dn = 0;
    const xlated: Record<string, number> = {};
    after.forEach((a, i) => {
      dt += a.runTimeNs - before[i].runTimeNs;
      dn += a.runCnt - before[i].runCnt;
      xlated[a.name] = a.xlatedInsns;
    });
    const mem = await p.memory();
    const r = await p.stop();
    if (r.code !== 0) {
      throw new Error(`${tool} exited with ${r.code}: ${r.stderr.trim()}`);
    }
    return {
      nsPerRun: dn > 0 ? dt / dn : NaN,
      runs: dn,
      xlated,
      vmHwmKb: mem.hwmKb,
      anonKb: mem.anonKb,
      fileKb: mem.fileKb,
      maxRssKb: r.maxRssKb ?? NaN,
    };
  } catch (e) {
    const err = await p.abortWith(e);
    await work.kill();
    throw err;
  }
}

/**
 * Measures every case `rounds` times per tool, alternating the tools.
 * `scale` multiplies the workload's system calls. Needs
 * `kernel.bpf_stats_enabled=1` (see {@linkcode withBpfStats}).
 *
 * @example One small round (root, bpftrace, bpftool, gcc)
 * ```ts ignore
 * import { measurePerEvent, PER_EVENT_CASES, withBpfStats } from "./per_event.ts";
 * const rows = await withBpfStats(() => measurePerEvent(PER_EVENT_CASES, 1, 0.1));
 * console.log(rows[0].tools.tsbpf.nsPerRun);
 * ```
 */
export async function measurePerEvent(
  cases: readonly PerEventCase[],
  rounds: number,
  scale = 1,
): Promise<PerEventRow[]> {
  const rows: PerEventRow[] = [];
  for (const c of cases) {
    const calls = Math.max(100, Math.round(c.calls * scale));
    const got: Record<Tool, Sample[]> = { tsbpf: [], bpftrace: [] };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...TOOLS].reverse() : TOOLS;
      for (const tool of order) {
        const s = await attempt(
          `${tool}, ${c.name}`,
          () => runOnce(tool, c, calls),
        );
        if (s) got[tool].push(s);
      }
    }
    const fig = (s: Sample[]): PerEventFigures => ({
      nsPerRun: median(s.map((x) => x.nsPerRun)),
      runs: median(s.map((x) => x.runs)),
      xlated: s[0]?.xlated ?? {},
      vmHwmKb: median(s.map((x) => x.vmHwmKb)),
      anonKb: median(s.map((x) => x.anonKb)),
      fileKb: median(s.map((x) => x.fileKb)),
      maxRssKb: median(s.map((x) => x.maxRssKb)),
      samples: s.map((x) => x.nsPerRun),
    });
    const emitted: Record<string, number> = {};
    await prepareKernelTypes(c.program);
    for (const p of compile(c.program.replaceAll("$PID", "1")).probes) {
      emitted[p.name] = p.insns.length;
    }
    rows.push({
      case: c,
      tools: { tsbpf: fig(got.tsbpf), bpftrace: fig(got.bpftrace) },
      emitted,
    });
  }
  return rows;
}

const STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled";

/**
 * Runs `fn` with `kernel.bpf_stats_enabled=1`, restoring the old value.
 *
 * @example Run with statistics on (root)
 * ```ts ignore
 * import { withBpfStats } from "./per_event.ts";
 * await withBpfStats(async () => {});
 * ```
 */
export async function withBpfStats<T>(fn: () => Promise<T>): Promise<T> {
  const old = Deno.readTextFileSync(STATS_SYSCTL).trim();
  Deno.writeTextFileSync(STATS_SYSCTL, "1");
  try {
    return await fn();
  } finally {
    Deno.writeTextFileSync(STATS_SYSCTL, old);
  }
}
