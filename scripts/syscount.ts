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
  intervalHeader,
  out,
  parseTool,
  runTool,
  TABLE_OPTIONS,
  tableHelp,
  tableOptions,
  traceOptions,
} from "../runtime/api/tool.ts";
import { syscallName } from "../runtime/probes/syscalls.ts";

const USAGE = `USAGE: syscount.ts [options]

Counts system calls by name (or by process with -P) and prints the top ones.

OPTIONS:
    -P               count per process (not per thread) instead of per syscall
${tableHelp({ top: 10 })}${COMMON_HELP}`;

const BY_SYSCALL =
  "tracepoint:raw_syscalls:sys_enter { @calls[args->id] = count(); }";
// Per process: one row per pid whatever its threads are called; the name
// is the process's own (/proc/PID/comm) where it can be read, else its main
// thread's as last seen.
const BY_PROCESS = `tracepoint:raw_syscalls:sys_enter {
  @calls[pid] = count();
  if (pid == tid) { @comm[pid] = comm; }
}`;

function processName(pid: number, seen: string | undefined): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trimEnd();
  } catch {
    return seen ?? "[unknown]";
  }
}

async function main(signal: AbortSignal): Promise<void> {
  const v = parseTool(Deno.args, {
    P: { type: "boolean", short: "P" },
    ...TABLE_OPTIONS,
  });
  const common = commonOptions(v);
  if (common.help) {
    out(USAGE);
    return;
  }
  const { intervalMs, top } = tableOptions(v, { top: 10 });
  await using session = await trace(
    v.P ? BY_PROCESS : BY_SYSCALL,
    traceOptions(common, signal),
  );
  out(`Tracing syscalls, printing top ${top}... Hit Ctrl-C to end.\n`);
  const calls = session.map<number, number | bigint>("calls");
  // Names from /proc only where the processes are this machine's.
  const kernel = session.engineKind === "kernel";
  const comms = v.P ? session.map<number, string>("comm") : undefined;
  const print = () => {
    const best = topK(calls.read(), top);
    if (v.P) {
      const seen = comms!.read();
      const rows = best.map(([pid, n]) => ({
        pid,
        comm: kernel ? processName(pid, seen.get(pid)) : seen.get(pid) ?? "",
        n,
      }));
      out(formatTable(rows, [
        { key: "pid", title: "PID", width: 7 },
        { key: "comm", title: "COMM", width: 16 },
        { key: "n", title: "COUNT", width: 10, align: "right" },
      ]));
    } else {
      const rows = best.map(([k, n]) => ({
        name: syscallName(k) ?? `syscall_${k}`,
        n,
      }));
      out(formatTable(rows, [
        { key: "name", title: "SYSCALL", width: 22 },
        { key: "n", title: "COUNT", width: 10, align: "right" },
      ]));
    }
  };
  if (intervalMs !== undefined) {
    for await (const _ of session.every(intervalMs)) {
      out(`\n${intervalHeader(session.wallClock())}\n`);
      print();
      calls.clear();
    }
  } else {
    await session.run();
  }
  if (intervalMs === undefined) {
    out("\n");
    print();
  }
}

if (import.meta.main) Deno.exit(await runTool("syscount", main));
