#!/usr/bin/env -S deno run -A
/**
 * execsnoop: every new program run (execve), with its arguments, as it
 * happens.
 *
 * ```sh
 * deno run -A scripts/execsnoop.ts --duration 10
 * ```
 *
 * @module
 */

import { trace, type TraceSession } from "../mod.ts";
import {
  COMMON_HELP,
  commonOptions,
  out,
  parseTool,
  runTool,
  traceOptions,
} from "../runtime/api/tool.ts";

const USAGE = `USAGE: execsnoop.ts [options]

Prints every execve() as it returns, as BCC's execsnoop -t does: time, the
new program's name, its PID, its parent's PID, the return value (0, or
-errno) and its arguments.

OPTIONS:
    -x               only failed execs
    -n NAME          only programs whose arguments contain NAME
${COMMON_HELP}`;

// Entry: the path and (with join()) the arguments. Exit: the result and,
// as BCC reads it in the kernel, the parent: the task's real_parent (a
// process forked before tracing started has one too).
const COMMON = String.raw`
tracepoint:syscalls:sys_exit_execve {
  printf("X\t%d\t%d\t%d\t%s\t%d\t%d\n", elapsed / 1000000, tid, pid, comm,
    args->ret, curtask->real_parent->tgid);
}`;
const WITH_ARGS = String.raw`tracepoint:syscalls:sys_enter_execve {
  printf("E\t%d\t%d\t%s\n", tid, pid, str(args->filename));
  join(args->argv);
}` + COMMON;
const PATH_ONLY = String.raw`tracepoint:syscalls:sys_enter_execve {
  printf("E\t%d\t%d\t%s\n", tid, pid, str(args->filename));
}` + COMMON;

async function start(
  options: Parameters<typeof trace>[1],
): Promise<{ session: TraceSession; withArgs: boolean }> {
  try {
    return { session: await trace(WITH_ARGS, options), withArgs: true };
  } catch (e) {
    if (!(e instanceof Error && e.name === "CompileErrors")) throw e;
    return { session: await trace(PATH_ONLY, options), withArgs: false };
  }
}

/** An exec between its entry and its exit. */
interface Pending {
  pid: number;
  path: string;
  args?: string;
}

async function main(signal: AbortSignal): Promise<void> {
  const v = parseTool(Deno.args, {
    x: { type: "boolean", short: "x" },
    n: { type: "string", short: "n" },
  });
  const common = commonOptions(v);
  if (common.help) {
    out(USAGE);
    return;
  }
  const { session, withArgs } = await start(traceOptions(common, signal));
  await using _ = session;
  out(
    "TIME(s)".padEnd(9) + "PCOMM".padEnd(17) + "PID".padEnd(8) +
      "PPID".padEnd(8) + "RET ARGS\n",
  );
  // Entries by thread; a join() follows its entry's printf.
  const pending = new Map<number, Pending>();
  let last: Pending | undefined;
  for await (const ev of session.events()) {
    if (ev.action.kind === "join") {
      // One exec, one line: newlines inside arguments are shown escaped.
      if (last !== undefined) {
        last.args = (ev.text ?? "").replace(/\n$/, "").replaceAll("\n", "\\n");
      }
      continue;
    }
    if (ev.action.kind !== "printf") continue;
    const [kind, ...f] = (ev.text ?? "").replace(/\n$/, "").split("\t");
    if (kind === "E") {
      last = { pid: Number(f[1]), path: f.slice(2).join("\t") };
      pending.set(Number(f[0]), last);
      if (!withArgs) last.args = last.path;
      continue;
    }
    if (kind !== "X") continue;
    const [ms, tid, pid, comm, ret, ppid] = [
      Number(f[0]),
      Number(f[1]),
      Number(f[2]),
      f[3],
      Number(f[4]),
      Number(f[5]),
    ];
    // A thread other than the leader that execs takes the leader's id.
    let entry = pending.get(tid);
    if (entry !== undefined) {
      pending.delete(tid);
    } else {
      for (const [t, p] of pending) {
        if (p.pid !== pid) continue;
        entry = p;
        pending.delete(t);
        break;
      }
    }
    if (entry === undefined) continue;
    if (v.x && ret >= 0) continue;
    const args = entry.args === undefined || entry.args === ""
      ? entry.path
      : entry.args;
    if (v.n !== undefined && !args.includes(v.n)) continue;
    // A successful exec names the task after the program's file, as the
    // kernel does (the last path component, 15 bytes at most); a failed one
    // leaves the caller's name.
    const pcomm = ret === 0
      ? (entry.path.split("/").at(-1) ?? "").slice(0, 15)
      : comm;
    out(
      (ms / 1000).toFixed(3).padEnd(9) + pcomm.padEnd(17) +
        String(pid).padEnd(8) + String(ppid).padEnd(8) +
        String(ret).padStart(3) + " " + args + "\n",
    );
  }
}

if (import.meta.main) Deno.exit(await runTool("execsnoop", main));
