#!/usr/bin/env -S deno run -A
/**
 * kfree_skb: who drops packets. Counts calls of the kernel's `kfree_skb`
 * (a freed, i.e. dropped, socket buffer) per process and prints the counts
 * every second, most drops first — the classic BCC example, in tsbpf.
 *
 * ```sh
 * deno run -A scripts/kfree_skb.ts              # tracepoint:skb:kfree_skb
 * deno run -A scripts/kfree_skb.ts --kprobe     # kprobe:kfree_skb
 * deno run -A scripts/kfree_skb.ts --duration 5 -p 1234
 * ```
 *
 * @module
 */

import { formatTable, trace } from "../mod.ts";
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
  ToolUsageError,
  traceOptions,
} from "../runtime/api/tool.ts";

const DEFAULTS = { interval: 1, top: 10 };

const USAGE = `USAGE: kfree_skb.ts [options]

Counts dropped packets (kfree_skb calls) per process, printed every interval
under a timestamp, most drops first.

OPTIONS:
    --kprobe         attach kprobe:kfree_skb instead of the tracepoint
    --kretprobe      attach kretprobe:kfree_skb instead of the tracepoint
${tableHelp(DEFAULTS)}${COMMON_HELP}`;

// The program for each attach variant.
function kfreeSkbSource(
  variant: "tracepoint" | "kprobe" | "kretprobe",
): string {
  const probe = variant === "tracepoint"
    ? "tracepoint:skb:kfree_skb"
    : `${variant}:kfree_skb`;
  return `${probe} { @drops[pid, comm] = count(); }`;
}

async function main(signal: AbortSignal): Promise<void> {
  const v = parseTool(Deno.args, {
    kprobe: { type: "boolean" },
    kretprobe: { type: "boolean" },
    ...TABLE_OPTIONS,
  });
  const common = commonOptions(v);
  if (common.help) {
    out(USAGE);
    return;
  }
  if (v.kprobe && v.kretprobe) {
    throw new ToolUsageError("Choose one of --kprobe and --kretprobe");
  }
  const table = tableOptions(v, DEFAULTS);
  const variant = v.kprobe
    ? "kprobe"
    : v.kretprobe
    ? "kretprobe"
    : "tracepoint";
  await using session = await trace(
    kfreeSkbSource(variant),
    traceOptions(common, signal),
  );
  out("Tracing kfree_skb... Hit Ctrl-C to end.\n");
  const drops = session.map<[number, string], number | bigint>("drops");
  for await (const _ of session.every(table.intervalMs!)) {
    const rows = drops.entries()
      .map(([[pid, comm], n]) => ({ pid, comm, n }))
      .sort((a, b) => (a.n > b.n ? -1 : a.n < b.n ? 1 : a.pid - b.pid));
    out(
      `\n${intervalHeader(session.wallClock())}\n` +
        formatTable(rows.slice(0, table.top), [
          { key: "pid", title: "PID", width: 10 },
          { key: "comm", title: "COMM", width: 12 },
          { key: "n", title: "DROP_COUNTS", width: 10 },
        ]),
    );
  }
}

if (import.meta.main) Deno.exit(await runTool("kfree_skb", main));
