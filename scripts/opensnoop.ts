#!/usr/bin/env -S deno run -A
/**
 * opensnoop: every file open (open, openat) with its result: the file
 * descriptor, or the error.
 *
 * ```sh
 * deno run -A scripts/opensnoop.ts --duration 5 -x   # failed opens only
 * ```
 *
 * @module
 */

import { trace } from "../mod.ts";
import {
  COMMON_HELP,
  commonOptions,
  out,
  parseTool,
  runTool,
  traceOptions,
} from "../runtime/api/tool.ts";

const USAGE = `USAGE: opensnoop.ts [options]

Prints every open()/openat() as it returns: PID, process name, the file
descriptor (or -1), the error number and name, and the path.

OPTIONS:
    -x               only failed opens
    -n NAME          only processes whose name contains NAME
${COMMON_HELP}`;

// The path is read at entry (str() of the user pointer), the result at
// exit; the two are paired by thread id. With `-n NAME`, other processes'
// opens are left out in the probe: on a busy machine they would fill the
// ring buffer and crowd out the ones asked for.
function source(name: string | undefined): string {
  // deno-lint-ignore no-control-regex
  const only = name === undefined || /[\x00-\x1f\x7f]/.test(name)
    ? ""
    : ` /strcontains(comm, "${name.replace(/[\\"]/g, "\\$&")}")/`;
  return String.raw`
tracepoint:syscalls:sys_enter_open, tracepoint:syscalls:sys_enter_openat${only} {
  @path[tid] = str(args->filename);
  @open[tid] = 1;
}
tracepoint:syscalls:sys_exit_open, tracepoint:syscalls:sys_exit_openat /@open[tid]/ {
  printf("%d %s %d %s\n", pid, comm, args->ret, @path[tid]);
  delete(@path[tid]);
  delete(@open[tid]);
}`;
}

const ERRNO: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  6: "ENXIO",
  9: "EBADF",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  26: "ETXTBSY",
  27: "EFBIG",
  28: "ENOSPC",
  30: "EROFS",
  36: "ENAMETOOLONG",
  40: "ELOOP",
  95: "EOPNOTSUPP",
  110: "ETIMEDOUT",
};

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
  await using session = await trace(
    source(v.n),
    traceOptions(common, signal),
  );
  out(
    "PID".padEnd(8) + "COMM".padEnd(17) + "FD".padStart(4) + " " +
      "ERR".padEnd(8) + "PATH\n",
  );
  for await (const ev of session.events<[number, string, number, string]>()) {
    if (ev.action.kind !== "printf") continue;
    const [pid, comm, ret, path] = ev.args;
    if (v.x && ret >= 0) continue;
    if (v.n !== undefined && !comm.includes(v.n)) continue;
    const err = ret < 0 ? (ERRNO[-ret] ?? String(-ret)) : "0";
    out(
      String(pid).padEnd(8) + comm.padEnd(17) +
        String(ret < 0 ? -1 : ret).padStart(4) + " " + err.padEnd(8) + path +
        "\n",
    );
  }
}

if (import.meta.main) Deno.exit(await runTool("opensnoop", main));
