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
  numberOption,
  out,
  parseTool,
  runTool,
  ToolUsageError,
  traceOptions,
} from "../runtime/api/tool.ts";

const USAGE = `USAGE: readlat.ts [options]

Histograms of read() latency (microseconds) per process, with percentiles.

OPTIONS:
    -i S             print (and reset) every S seconds
    -T N             show the N processes with most reads (default 5)
${COMMON_HELP}`;

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
    i: { type: "string", short: "i" },
    T: { type: "string", short: "T" },
  });
  const common = commonOptions(v);
  if (common.help) {
    out(USAGE);
    return;
  }
  const top = numberOption("-T", v.T) ?? 5;
  const interval = numberOption("-i", v.i, false);
  if (interval === 0) {
    throw new ToolUsageError('Option -i needs a positive number, got "0"');
  }
  await using session = await trace(SOURCE, traceOptions(common, signal));
  out("Tracing read() latency... Ctrl-C to end.\n");
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
  if (interval !== undefined) {
    for await (const _ of session.every(interval * 1000)) {
      print();
      usecs.clear();
    }
  } else {
    await session.run();
    print();
  }
}

if (import.meta.main) Deno.exit(await runTool("readlat", main));
