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

Prints every execve() as it happens: time, PID, the calling process's
name, and the new program's arguments.

OPTIONS:
    -n NAME          only programs whose arguments contain NAME
${COMMON_HELP}`;

// With join(), the arguments; without it, the path alone.
const WITH_ARGS = String.raw`tracepoint:syscalls:sys_enter_execve {
  printf("%d\t%d\t%s\t%s\n", elapsed / 1000000, pid, comm, str(args->filename));
  join(args->argv);
}`;
const PATH_ONLY = String.raw`tracepoint:syscalls:sys_enter_execve {
  printf("%d\t%d\t%s\t%s\n", elapsed / 1000000, pid, comm, str(args->filename));
}`;

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

async function main(signal: AbortSignal): Promise<void> {
  const v = parseTool(Deno.args, { n: { type: "string", short: "n" } });
  const common = commonOptions(v);
  if (common.help) {
    out(USAGE);
    return;
  }
  const { session, withArgs } = await start(traceOptions(common, signal));
  await using _ = session;
  out(
    "TIME(s)".padEnd(9) + "PID".padEnd(8) + "PCOMM".padEnd(17) + "ARGS\n",
  );
  // A header (printf) is followed by its arguments (join) from the same
  // probe run; pair them in arrival order.
  let pending: string | undefined;
  let path = "";
  const emit = (args: string) => {
    if (pending === undefined) return;
    if (v.n === undefined || args.includes(v.n)) {
      out(pending + (args === "" ? path : args) + "\n");
    }
    pending = undefined;
  };
  for await (const ev of session.events()) {
    if (ev.action.kind === "printf") {
      emit(path);
      const [ms, pid, comm, file] = ev.args as [number, number, string, string];
      pending = (ms / 1000).toFixed(3).padEnd(9) + String(pid).padEnd(8) +
        comm.padEnd(17);
      path = file;
      if (!withArgs) emit(path);
    } else if (ev.action.kind === "join") {
      // One exec, one line: newlines inside arguments are shown escaped.
      emit((ev.text ?? "").replace(/\n$/, "").replaceAll("\n", "\\n"));
    }
  }
  emit(path);
}

if (import.meta.main) Deno.exit(await runTool("execsnoop", main));
