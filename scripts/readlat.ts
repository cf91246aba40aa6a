#!/usr/bin/env -S deno run -A
/**
 * readlat: how long read() takes, per process: a log2 latency histogram
 * in microseconds with p50/p90/p99, from paired syscall entry and exit.
 *
 * ```sh
 * deno run -A scripts/readlat.ts --duration 5
 * deno run -A scripts/readlat.ts -p 1234 -i 1
 * ```
 *
 * @module
 */

import {
  formatHistogram,
  type HistBucket,
  histPercentiles,
  topK,
  trace,
} from "../mod.ts";
import {
  COMMON_HELP,
  commonOptions,
  intervalHeader,
  out,
  parseTool,
  runTool,
  TABLE_OPTIONS,
  tableHelp,
  tableOptions,
  traceOptions,
} from "../runtime/api/tool.ts";

const USAGE = `USAGE: readlat.ts [options]

Histograms of read() latency (microseconds) per process, with percentiles.

OPTIONS:
${tableHelp({ top: 5 })}${COMMON_HELP}`;

const SOURCE = `
tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; }
tracepoint:syscalls:sys_exit_read /@start[tid]/ {
  @usecs[pid, comm] = hist((nsecs - @start[tid]) / 1000);
  delete(@start[tid]);
}`;

function total(buckets: HistBucket[]): number {
  return buckets.reduce((n, b) => n + Number(b.count), 0);
}

async function main(signal: AbortSignal): Promise<void> {
  const v = parseTool(Deno.args, {
    ...TABLE_OPTIONS,
  });
  const common = commonOptions(v);
  if (common.help) {
    out(USAGE);
    return;
  }
  const { intervalMs, top } = tableOptions(v, { top: 5 });
  await using session = await trace(SOURCE, traceOptions(common, signal));
  out("Tracing read() latency... Hit Ctrl-C to end.\n");
  const usecs = session.map<[number, string], HistBucket[]>("usecs");
  const print = () => {
    for (const [[pid, comm], buckets] of topK(usecs.read(), top, total)) {
      const p = histPercentiles(buckets);
      out(
        `\n${comm} (PID ${pid}): ${total(buckets)} reads, p50 ${
          p.p50.toFixed(1)
        } us, p90 ${p.p90.toFixed(1)} us, p99 ${p.p99.toFixed(1)} us\n`,
      );
      out(formatHistogram(buckets));
    }
  };
  if (intervalMs !== undefined) {
    for await (const _ of session.every(intervalMs)) {
      out(`\n${intervalHeader(session.wallClock())}\n`);
      print();
      usecs.clear();
    }
  } else {
    await session.run();
    print();
  }
}

if (import.meta.main) Deno.exit(await runTool("readlat", main));
