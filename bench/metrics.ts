/**
 * What the metrics exporter costs.
 *
 * - `scrape`: CPU time of one `/metrics` scrape of a kernel map holding
 *   10,000 series (`@calls[comm, nsecs % 10000] = count()` filled by a
 *   getppid workload), read through HTTP as Prometheus would: the process'
 *   user + system time (from /proc/self/stat) over many scrapes, divided
 *   by their number; with the decode-only part beside it.
 * - `perevent`: in-kernel nanoseconds per program run of the benchmark
 *   one-liners (`bench/per_event.ts`) with and without `metrics`, from
 *   the kernel's run-time statistics, the two alternating.
 *
 * ```sh
 * deno run -A bench/metrics.ts                 # both, 3 rounds
 * deno run -A bench/metrics.ts --only scrape
 * ```
 *
 * Needs root, BPF and gcc (the workload); prints Markdown tables.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { trace } from "../mod.ts";
import { median } from "./stats.ts";
import { PER_EVENT_CASES } from "./per_event.ts";
import { Workload } from "./workload.ts";

const TICKS = 100; // USER_HZ

/** CPU seconds (user + system) this process has used. */
function cpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / TICKS;
}

/** Per-scrape CPU ms, wall ms and series count for 10,002 keys in three maps. */
async function measureScrape(
  scrapes: number,
): Promise<
  {
    cpuMs: number;
    wallMs: number;
    decodeMs: number;
    series: number;
    bytes: number;
  }
> {
  // Maps hold at most 4096 keys: three maps of 3334 make 10,002 series.
  await using s = await trace(
    `tracepoint:syscalls:sys_enter_getppid /comm == "tsbbench"/ {
       $k = nsecs % 3334;
       @calls[comm, $k] = count(); @more[comm, $k] = count();
       @most[comm, $k] = count();
     }`,
    { backend: "kernel", metrics: "127.0.0.1:0" },
  );
  const work = await Workload.start("getppid", 400_000);
  await work.release();
  const url = s.metricsUrl!;
  // Warm up (JIT), then measure.
  let body = "";
  for (let i = 0; i < 5; i++) body = await (await fetch(url)).text();
  const series =
    body.split("\n").filter((l) => /^tsbpf_(calls|more|most)_total\{/.test(l))
      .length;
  const c0 = cpuSeconds();
  const t0 = performance.now();
  for (let i = 0; i < scrapes; i++) body = await (await fetch(url)).text();
  const wallMs = (performance.now() - t0) / scrapes;
  const cpuMs = (cpuSeconds() - c0) * 1000 / scrapes;
  const d0 = cpuSeconds();
  for (let i = 0; i < scrapes; i++) s.maps();
  const decodeMs = (cpuSeconds() - d0) * 1000 / scrapes;
  return { cpuMs, wallMs, decodeMs, series, bytes: body.length };
}

/** ns per run of one case, with or without metrics. */
async function perEventOnce(
  program: string,
  mode: string,
  calls: number,
  metrics: boolean,
): Promise<number> {
  const work = await Workload.start(mode, calls);
  const src = program.replaceAll("$PID", String(work.pid));
  await using s = await trace(src, {
    backend: "kernel",
    stats: true,
    ...(metrics ? { metrics: "127.0.0.1:0" } : {}),
  });
  const sum = () =>
    s.stats().reduce(
      (a, p) => ({ n: a.n + p.runCount, t: a.t + p.runTimeNs }),
      { n: 0, t: 0 },
    );
  const before = sum();
  // Keep events flowing (printf cases) while the workload runs.
  const done = work.release();
  const pump = (async () => {
    for await (const _ of s.events()) if (s.done) break;
  })();
  await done;
  s.stop();
  await pump.catch(() => {});
  const after = sum();
  return (after.t - before.t) / Math.max(1, after.n - before.n);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      only: { type: "string" },
      rounds: { type: "string" },
      scrapes: { type: "string" },
    },
  });
  const only = (values.only ?? "scrape,perevent").split(",");
  const rounds = Number(values.rounds ?? 3);
  if (only.includes("scrape")) {
    const r = await measureScrape(Number(values.scrapes ?? 50));
    console.log(
      "| series | body bytes | CPU ms / scrape | wall ms / scrape | CPU ms to read and decode alone |",
    );
    console.log("|---:|---:|---:|---:|---:|");
    console.log(
      `| ${r.series} | ${r.bytes} | ${r.cpuMs.toFixed(1)} | ${
        r.wallMs.toFixed(1)
      } | ${r.decodeMs.toFixed(1)} |`,
    );
    console.log();
  }
  if (only.includes("perevent")) {
    console.log("| one-liner | ns/run without | ns/run with --metrics |");
    console.log("|---|---:|---:|");
    for (const c of PER_EVENT_CASES) {
      const off: number[] = [], on: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 ? [true, false] : [false, true];
        for (const m of order) {
          const ns = await perEventOnce(c.program, c.mode, c.calls, m);
          (m ? on : off).push(ns);
        }
      }
      console.log(
        `| ${c.name} | ${median(off).toFixed(0)} | ${median(on).toFixed(0)} |`,
      );
    }
  }
}

if (import.meta.main) await main();
