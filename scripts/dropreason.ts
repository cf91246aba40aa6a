#!/usr/bin/env -S deno run -A
/**
 * dropreason: why packets are dropped. Counts `skb:kfree_skb` events by
 * their drop reason, named from the tracepoint's own format
 * (`SKB_DROP_REASON_*` without the prefix), and prints every second the
 * total, the rate and a sparkline of the last ticks per reason.
 *
 * ```sh
 * deno run -A scripts/dropreason.ts --duration 10
 * ```
 *
 * @module
 */

import { formatTable, rate, SlidingWindow, sparkline, trace } from "../mod.ts";
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
import {
  readTracepointFormat,
  symbolicValues,
} from "../runtime/probes/tracepoint_format.ts";

const USAGE = `USAGE: dropreason.ts [options]

Counts dropped packets by drop reason, printed every interval with the rate
per second and a sparkline of the recent ticks.

OPTIONS:
    -i S             seconds between tables (default 1)
    -w N             ticks in the sparkline window (default 10)
${COMMON_HELP}`;

const SOURCE = "tracepoint:skb:kfree_skb { @reasons[args->reason] = count(); }";

async function main(signal: AbortSignal): Promise<void> {
  const v = parseTool(Deno.args, {
    i: { type: "string", short: "i" },
    w: { type: "string", short: "w" },
  });
  const common = commonOptions(v);
  if (common.help) {
    out(USAGE);
    return;
  }
  const interval = numberOption("-i", v.i, false) ?? 1;
  const width = numberOption("-w", v.w) ?? 10;
  if (interval === 0 || width === 0) {
    throw new ToolUsageError("Options -i and -w need positive values");
  }
  let names = new Map<number, string>();
  try {
    names = symbolicValues(readTracepointFormat("skb", "kfree_skb"), "reason");
  } catch {
    // No format: print reason numbers.
  }
  await using session = await trace(SOURCE, traceOptions(common, signal));
  out("Tracing packet drops by reason... Ctrl-C to end.\n");
  const reasons = session.map<number, number | bigint>("reasons");
  const window = new SlidingWindow<number>(width);
  let prev = reasons.read();
  for await (const tick of session.every(interval * 1000)) {
    const now = reasons.read();
    window.observe(now);
    const perSec = rate(prev, now, tick.intervalMs);
    prev = now;
    const rows = [...now]
      .map(([reason, n]) => ({
        reason: names.get(reason) ?? String(reason),
        n,
        rate: (perSec.get(reason) ?? 0).toFixed(1),
        trend: sparkline(window.series(reason)),
      }))
      .sort((a, b) => (a.n > b.n ? -1 : a.n < b.n ? 1 : 0));
    out(
      `\n${(tick.elapsedMs / 1000).toFixed(0)}s\n` + formatTable(rows, [
        { key: "reason", title: "REASON", width: 24 },
        { key: "n", title: "COUNT", width: 8, align: "right" },
        { key: "rate", title: "PER_SEC", width: 8, align: "right" },
        { key: "trend", title: "TREND" },
      ]),
    );
  }
}

if (import.meta.main) Deno.exit(await runTool("dropreason", main));
