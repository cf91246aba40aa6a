#!/usr/bin/env -S deno run -A
/**
 * syscount: system calls counted per syscall (or per process with `-P`),
 * the top ones printed at the end and, with `-i`, every interval.
 *
 * ```sh
 * deno run -A scripts/syscount.ts --duration 5
 * deno run -A scripts/syscount.ts -P -i 1
 * ```
 *
 * @module
 */

import { formatTable, topK, trace } from "../mod.ts";
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
import { syscallName } from "../runtime/probes/syscalls.ts";

const USAGE = `USAGE: syscount.ts [options]

Counts system calls by name (or by process with -P) and prints the top ones.

OPTIONS:
    -P               count per process instead of per syscall
    -i S             print (and reset) the counts every S seconds
    -T N             show the top N (default 10)
${COMMON_HELP}`;

const BY_SYSCALL =
  "tracepoint:raw_syscalls:sys_enter { @calls[args->id] = count(); }";
const BY_PROCESS =
  "tracepoint:raw_syscalls:sys_enter { @calls[pid, comm] = count(); }";

function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}

async function main(signal: AbortSignal): Promise<void> {
  const v = parseTool(Deno.args, {
    P: { type: "boolean", short: "P" },
    i: { type: "string", short: "i" },
    T: { type: "string", short: "T" },
  });
  const common = commonOptions(v);
  if (common.help) {
    out(USAGE);
    return;
  }
  const top = numberOption("-T", v.T) ?? 10;
  const interval = numberOption("-i", v.i, false);
  if (interval === 0) {
    throw new ToolUsageError('Option -i needs a positive number, got "0"');
  }
  await using session = await trace(
    v.P ? BY_PROCESS : BY_SYSCALL,
    traceOptions(common, signal),
  );
  out(`Tracing syscalls, printing top ${top}... Ctrl-C to end.\n`);
  const calls = session.map<number | [number, string], number | bigint>(
    "calls",
  );
  const print = () => {
    const best = topK(calls.read(), top);
    if (v.P) {
      const rows = best.map(([k, n]) => {
        const [pid, comm] = k as [number, string];
        return { pid, comm, n };
      });
      out(formatTable(rows, [
        { key: "pid", title: "PID", width: 7 },
        { key: "comm", title: "COMM", width: 16 },
        { key: "n", title: "COUNT", width: 10, align: "right" },
      ]));
    } else {
      const rows = best.map(([k, n]) => ({
        name: syscallName(k as number) ?? `syscall_${k}`,
        n,
      }));
      out(formatTable(rows, [
        { key: "name", title: "SYSCALL", width: 22 },
        { key: "n", title: "COUNT", width: 10, align: "right" },
      ]));
    }
  };
  if (interval !== undefined) {
    for await (const _ of session.every(interval * 1000)) {
      out(`\n[${clock()}]\n`);
      print();
      calls.clear();
    }
  } else {
    await session.run();
  }
  if (interval === undefined) {
    out("\n");
    print();
  }
}

if (import.meta.main) Deno.exit(await runTool("syscount", main));
