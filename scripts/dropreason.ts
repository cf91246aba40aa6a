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
  intervalHeader,
  numberOption,
  out,
  parseTool,
  runTool,
  TABLE_OPTIONS,
  tableHelp,
  tableOptions,
  ToolUsageError,
  traceOptions,
} from "../runtime/api/tool.ts";
import {
  readTracepointFormat,
  symbolicValues,
} from "../runtime/probes/tracepoint_format.ts";

const DEFAULTS = { interval: 1, top: 10 };
const WINDOW_HELP =
  "    -w N             ticks in the sparkline window (default 10)\n";

const USAGE = `USAGE: dropreason.ts [options]

Counts dropped packets by drop reason, printed every interval under a
timestamp with the rate per second and a sparkline of the recent ticks.

OPTIONS:
${tableHelp(DEFAULTS)}${WINDOW_HELP}${COMMON_HELP}`;

// The number (a cast drops the enum), named below from the format.
const SOURCE =
  "tracepoint:skb:kfree_skb { @reasons[(uint32)args->reason] = count(); }";

async function main(signal: AbortSignal): Promise<void> {
  const v = parseTool(Deno.args, {
    ...TABLE_OPTIONS,
    w: { type: "string", short: "w" },
  });
  const common = commonOptions(v);
  if (common.help) {
    out(USAGE);
    return;
  }
  const table = tableOptions(v, DEFAULTS);
  const width = numberOption("-w", v.w) ?? 10;
  if (width === 0) {
    throw new ToolUsageError('Option -w needs a positive integer, got "0"');
  }
  let names = new Map<number, string>();
  try {
    names = symbolicValues(readTracepointFormat("skb", "kfree_skb"), "reason");
  } catch {
    // No format: print reason numbers.
  }
  await using session = await trace(SOURCE, traceOptions(common, signal));
  out("Tracing packet drops by reason... Hit Ctrl-C to end.\n");
  const reasons = session.map<number, number | bigint>("reasons");
  const window = new SlidingWindow<number>(width);
  let prev = reasons.read();
  for await (const tick of session.every(table.intervalMs!)) {
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
      .sort((a, b) => (a.n > b.n ? -1 : a.n < b.n ? 1 : 0))
      .slice(0, table.top);
    out(
      `\n${intervalHeader(session.wallClock())}\n` + formatTable(rows, [
        { key: "reason", title: "REASON", width: 24 },
        { key: "n", title: "COUNT", width: 8, align: "right" },
        { key: "rate", title: "PER_SEC", width: 8, align: "right" },
        { key: "trend", title: "TREND" },
      ]),
    );
  }
}

if (import.meta.main) Deno.exit(await runTool("dropreason", main));
