/**
 * Event streaming: a printf per `openat` of the workload, at increasing
 * rates, lines received on the tool's standard output against the system
 * calls made, and the loss each tool reports (`Lost N events`). The tools
 * alternate at every rate. The highest rate whose median round missed
 * nothing is each tool's loss-free rate; the last step is a burst as fast
 * as the workload can go.
 *
 * @module
 */

import { attempt, median, sleep } from "./stats.ts";
import { type Tool, ToolProcess, TOOLS } from "./tools.ts";
import { Workload, WORKLOAD_COMM } from "./workload.ts";

/**
 * The printf one-liner streamed; `$PID` stands for the workload's pid (a
 * comm filter would also count another user's concurrent benchmark).
 */
export const STREAM_PROGRAM =
  `tracepoint:syscalls:sys_enter_openat /pid == $PID/ { printf("%s %s\\n", comm, str(args->filename)); }`;

/** One tool at one rate (medians over the rounds). */
export interface StreamFigures {
  /** Syscalls per second the workload achieved. */
  achievedRate: number;
  /** Syscalls made. */
  made: number;
  /** Lines received. */
  received: number;
  /** Lines per second reaching the reader, release to last line. */
  deliveredRate: number;
  /** `made - received` (lines missing). */
  missing: number;
  /** Loss the tool reported itself. */
  reportedLost: number;
  /** True when the median round received every line. */
  lossFree: boolean;
  /** Every round: [made, received, reported lost]. */
  samples: [number, number, number][];
}

/** One rate step, both tools. */
export interface StreamRow {
  /** Target rate (events/s); 0 means a burst, as fast as possible. */
  rate: number;
  /** Per tool. */
  tools: Record<Tool, StreamFigures>;
}

interface Sample {
  made: number;
  received: number;
  deliveredRate: number;
  reportedLost: number;
  seconds: number;
}

async function runOnce(
  tool: Tool,
  rate: number,
  seconds: number,
  burst: number,
): Promise<Sample> {
  const work = rate > 0
    ? await Workload.start("openrate", rate, seconds)
    : await Workload.start("opens", burst);
  const program = STREAM_PROGRAM.replace("$PID", String(work.pid));
  const p = ToolProcess.spawn(tool, program, {
    eventMarker: `${WORKLOAD_COMM} `,
  });
  try {
    await p.waitFor(/^Attach(ing \d+ probes?\.\.\.|ed \d+ probes?)/, 30_000);
    for (let i = 0; i < 300 && (await p.progIds()).length === 0; i++) {
      await sleep(10);
    }
    await sleep(300);
    const released = performance.now();
    const w = await work.release();
    // Let the output drain: stop once no line came for 300 ms.
    let last = -1;
    for (let i = 0; i < 50 && p.eventLines !== last; i++) {
      last = p.eventLines;
      await sleep(300);
    }
    const r = await p.stop();
    const [, lastAt] = p.eventSpan;
    return {
      made: w.syscalls,
      received: r.eventLines,
      deliveredRate: r.eventLines > 0
        ? r.eventLines / ((lastAt - released) / 1000)
        : 0,
      reportedLost: r.lost,
      seconds: w.elapsedNs / 1e9,
    };
  } catch (e) {
    const err = await p.abortWith(e);
    await work.kill();
    throw err;
  }
}

/**
 * Streams at each rate of `rates` (events/s, 0 = burst of `burst` calls)
 * for `seconds` each, `rounds` times per tool, the tools alternating.
 *
 * @example Two small steps (root, bpftrace, gcc)
 * ```ts ignore
 * import { measureStreaming } from "./streaming.ts";
 * const rows = await measureStreaming([1000, 0], 0.2, 1, 2000);
 * console.log(rows.map((r) => r.tools.tsbpf.received));
 * ```
 */
export async function measureStreaming(
  rates: readonly number[],
  seconds: number,
  rounds: number,
  burst: number,
): Promise<StreamRow[]> {
  const rows: StreamRow[] = [];
  for (const rate of rates) {
    const got: Record<Tool, Sample[]> = { tsbpf: [], bpftrace: [] };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...TOOLS].reverse() : TOOLS;
      for (const tool of order) {
        const s = await attempt(
          `${tool}, ${rate}/s`,
          () => runOnce(tool, rate, seconds, burst),
        );
        if (s) got[tool].push(s);
      }
    }
    const fig = (s: Sample[]): StreamFigures => ({
      achievedRate: median(s.map((x) => x.made / x.seconds)),
      made: median(s.map((x) => x.made)),
      received: median(s.map((x) => x.received)),
      deliveredRate: median(s.map((x) => x.deliveredRate)),
      missing: median(s.map((x) => x.made - x.received)),
      reportedLost: median(s.map((x) => x.reportedLost)),
      lossFree: s.length > 0 && median(s.map((x) => x.made - x.received)) <= 0,
      samples: s.map((x) => [x.made, x.received, x.reportedLost]),
    });
    rows.push({
      rate,
      tools: { tsbpf: fig(got.tsbpf), bpftrace: fig(got.bpftrace) },
    });
  }
  return rows;
}

/**
 * The highest achieved rate at which `tool` lost nothing (0 if none).
 *
 * @example From measured rows
 * ```ts ignore
 * import { lossFreeRate, measureStreaming } from "./streaming.ts";
 * const rows = await measureStreaming([1000], 0.2, 1, 0);
 * console.log(lossFreeRate(rows, "tsbpf"));
 * ```
 */
export function lossFreeRate(rows: readonly StreamRow[], tool: Tool): number {
  let best = 0;
  for (const r of rows) {
    const f = r.tools[tool];
    if (f.lossFree) best = Math.max(best, f.achievedRate);
  }
  return best;
}
