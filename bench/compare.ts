/**
 * The tsbpf-vs-bpftrace benchmark suite: start-up, per-event cost in the
 * kernel, instruction counts, event streaming, memory, and the interpreter
 * engine. Prints Markdown tables (the ones in bench/README.md).
 *
 * ```sh
 * deno task bench                       # everything, 5 rounds
 * deno run -A bench/compare.ts --rounds 3 --only startup,perevent
 * deno run -A bench/compare.ts --json results.json
 * ```
 *
 * Sections: `startup`, `phases`, `perevent` (also instructions and
 * memory), `stream`, `consumer` (tsbpf's user-space cost per streamed
 * event), `interp`. The kernel sections need root, bpftrace,
 * bpftool and gcc; without them they are skipped with the reason.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { measureConsumer } from "./consumer.ts";
import { interpSkipReason, measureInterp } from "./interp.ts";
import { measurePerEvent, PER_EVENT_CASES, withBpfStats } from "./per_event.ts";
import { type BenchResults, renderReport } from "./report.ts";
import { measurePhases, measureStartup } from "./startup.ts";
import { measureStreaming } from "./streaming.ts";
import { kernelSkipReason } from "./tools.ts";

/** Every section, in the order they run. */
export const SECTIONS = [
  "startup",
  "phases",
  "perevent",
  "stream",
  "consumer",
  "interp",
] as const;

/** A section of the suite. */
export type Section = typeof SECTIONS[number];

/** Options of {@linkcode runSuite}. */
export interface SuiteOptions {
  /** Rounds per tool (default 5). */
  rounds?: number;
  /** Sections to run (default all). */
  only?: readonly Section[];
  /** Multiplies workload sizes and durations (default 1). */
  scale?: number;
  /** Progress messages (default: none). */
  log?: (line: string) => void;
}

/** Target rates of the streaming ladder (0 = burst). */
export const STREAM_RATES = [
  10_000,
  25_000,
  50_000,
  75_000,
  100_000,
  150_000,
  200_000,
  0,
];

function loadavg(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3)
      .join(" ");
  } catch {
    return "n/a";
  }
}

function kernelRelease(): string {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/osrelease").trim();
  } catch {
    return Deno.osRelease();
  }
}

/**
 * Runs the chosen sections and returns what they measured.
 *
 * @example The interpreter section only, tiny
 * ```ts ignore
 * import { runSuite } from "./compare.ts";
 * const r = await runSuite({ only: ["interp"], rounds: 1, scale: 0.01 });
 * console.log(r.interp);
 * ```
 */
export async function runSuite(opts: SuiteOptions = {}): Promise<BenchResults> {
  const rounds = opts.rounds ?? 5;
  const scale = opts.scale ?? 1;
  const only = new Set(opts.only ?? SECTIONS);
  const log = opts.log ?? (() => {});
  const res: BenchResults = {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    nproc: navigator.hardwareConcurrency,
    kernel: kernelRelease(),
    load: [loadavg(), ""],
    rounds,
    skipped: [],
  };
  const kernelSkip = kernelSkipReason();
  const kernelSections: Section[] = [
    "startup",
    "phases",
    "perevent",
    "stream",
    "consumer",
  ];
  if (kernelSkip !== undefined) {
    const asked = kernelSections.filter((s) => only.has(s));
    if (asked.length > 0) {
      res.skipped.push(`${asked.join(", ")}: ${kernelSkip}`);
    }
  } else {
    if (only.has("startup")) {
      log("start-up…");
      res.startup = await measureStartup(rounds);
    }
    if (only.has("phases")) {
      log("start-up phases…");
      res.phases = await measurePhases(rounds);
    }
    if (only.has("perevent")) {
      log("per-event cost…");
      res.perEvent = await withBpfStats(() =>
        measurePerEvent(PER_EVENT_CASES, rounds, scale)
      );
    }
    if (only.has("stream")) {
      log("streaming…");
      res.streaming = await measureStreaming(
        STREAM_RATES,
        0.5 * scale,
        Math.max(1, Math.ceil(rounds / 2)),
        Math.max(1000, Math.round(200_000 * scale)),
      );
    }
    if (only.has("consumer")) {
      log("tsbpf's event consumer…");
      res.consumer = await measureConsumer(
        rounds,
        Math.max(100, Math.round(30_000 * scale)),
      );
    }
  }
  if (only.has("interp")) {
    const why = await interpSkipReason();
    if (why !== undefined) res.skipped.push(`interp: ${why}`);
    else {
      log("interpreter…");
      res.interp = await measureInterp(
        PER_EVENT_CASES,
        rounds,
        Math.max(1, 200 * scale),
      );
    }
  }
  res.load[1] = loadavg();
  return res;
}

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        rounds: { type: "string", default: "5" },
        only: { type: "string" },
        scale: { type: "string", default: "1" },
        json: { type: "string" },
      },
    });
    const only = values.only?.split(",").map((s) => s.trim());
    for (const s of only ?? []) {
      if (!(SECTIONS as readonly string[]).includes(s)) {
        throw new RangeError(
          `Unknown section "${s}"; sections: ${SECTIONS.join(", ")}`,
        );
      }
    }
    const rounds = Number(values.rounds);
    const scale = Number(values.scale);
    if (!(rounds >= 1) || !(scale > 0)) {
      throw new RangeError(
        `Rounds must be ≥ 1 and scale > 0, got "${values.rounds}", "${values.scale}"`,
      );
    }
    const res = await runSuite({
      rounds,
      scale,
      only: only as Section[] | undefined,
      log: (l) => console.error(l),
    });
    if (values.json) {
      Deno.writeTextFileSync(values.json, JSON.stringify(res, null, 1));
    }
    console.log(renderReport(res));
  } catch (e) {
    console.error(`ERROR: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
