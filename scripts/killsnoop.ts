#!/usr/bin/env -S deno run -A
/**
 * killsnoop: every `kill()` as it returns — who sent which signal to whom,
 * and whether it worked — then, at the end, how many of each signal.
 *
 * The probe bodies are TypeScript, staged into eBPF: typed maps pair each
 * `kill()` entry with its exit by thread id, a typed event carries one
 * record per call to user space, and the options choose at staging time
 * which filters the probes contain.
 *
 * ```sh
 * deno run -A scripts/killsnoop.ts --duration 5      # every kill()
 * deno run -A scripts/killsnoop.ts -x -s 15          # failed SIGTERMs only
 * ```
 *
 * @module
 */

import {
  type S32,
  type Str,
  trace,
  Tracer,
  type U32,
  type U64,
} from "../mod.ts";
import {
  COMMON_HELP,
  commonOptions,
  out,
  parseTool,
  runTool,
  ToolUsageError,
  traceOptions,
} from "../runtime/api/tool.ts";

const USAGE = `USAGE: killsnoop.ts [options]

Prints every kill() as it returns: seconds since start, the sender's PID
and name, the signal, the target PID and the result (0, or -errno and its
name); at the end, the number of kill() calls per signal.

OPTIONS:
    -x               only failed kill() calls
    -s SIG           only signal SIG: a name (TERM, SIGTERM) or a number
                     (0 for the null signal)
${COMMON_HELP}`;

/** What the options put into the probes. */
export interface KillsnoopFilter {
  /** Only failed calls. */
  failedOnly?: boolean;
  /** Only this signal number. */
  signal?: number;
}

/**
 * Declares the program: maps, the `kill` event and both probes.
 *
 * @example Stage it and read the bpftrace text it compiles as
 * ```ts
 * import assert from "node:assert/strict";
 * import { killsnoop } from "./killsnoop.ts";
 *
 * const { tracer } = killsnoop({ signal: 15 });
 * const { source } = tracer.finish();
 * assert.ok(source.includes("tracepoint:syscalls:sys_enter_kill /(args->sig == 15)/"));
 * ```
 */
export function killsnoop(filter: KillsnoopFilter = {}) {
  const t = new Tracer();
  // Per thread, between entry and exit: the target and the signal.
  const inflight = t.map<[U32], U64>("inflight");
  const target = t.map<[U32], S32>("target");
  const sig = t.map<[U32], S32>("sig");
  // Per signal, how many calls (kept in the kernel, read at the end).
  const bySignal = t.map<[S32], "count">("by_signal");
  const kill = t.event<{
    time: U64;
    pid: U32;
    comm: Str;
    sig: S32;
    tpid: S32;
    ret: S32;
  }>("kill");

  t.probe("tracepoint:syscalls:sys_enter_kill", (c) => {
    // A JS `if` runs at staging time: the filter is in the probe or not.
    if (filter.signal !== undefined) c.filter(c.args.sig.eq(filter.signal));
    inflight.at(c.tid).set(1);
    target.at(c.tid).set(c.args.pid.as("s32"));
    sig.at(c.tid).set(c.args.sig.as("s32"));
  });

  t.probe("tracepoint:syscalls:sys_exit_kill", (c) => {
    c.filter(inflight.at(c.tid).get());
    const tpid = c.let(target.at(c.tid).get(), "tpid");
    const signal = c.let(sig.at(c.tid).get(), "signal");
    inflight.at(c.tid).delete();
    target.at(c.tid).delete();
    sig.at(c.tid).delete();
    const ret = c.let(c.args.ret.as("s32"), "ret");
    if (filter.failedOnly) c.filter(ret.lt(0));
    bySignal.at(signal).count();
    c.emit(kill, {
      time: c.elapsed,
      pid: c.pid,
      comm: c.comm,
      sig: signal,
      tpid,
      ret,
    });
  });
  return { tracer: t, kill, bySignal };
}

const SIGNALS = [
  "0",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

const ERRNO: Record<number, string> = {
  1: "EPERM",
  3: "ESRCH",
  11: "EAGAIN",
  22: "EINVAL",
};

const WIDTHS = [9, 7, 16, 9, 10, 0];

function signalName(n: number): string {
  return SIGNALS[n] ?? `SIG${n}`;
}

/**
 * The signal number of `-s`'s value: a number up to 64, or a name with or
 * without `SIG`, in any case.
 *
 * @throws {ToolUsageError} for anything else.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { signalNumber } from "./killsnoop.ts";
 *
 * assert.equal(signalNumber("TERM"), 15);
 * assert.equal(signalNumber("sigkill"), 9);
 * assert.equal(signalNumber("10"), 10);
 * assert.throws(() => signalNumber("NOPE"), /Option -s needs a signal/);
 * ```
 */
export function signalNumber(text: string): number {
  if (/^\d+$/.test(text) && Number(text) <= 64) return Number(text);
  const upper = text.toUpperCase();
  const n = SIGNALS.indexOf(upper.startsWith("SIG") ? upper : `SIG${upper}`);
  if (n > 0) return n;
  throw new ToolUsageError(
    `Option -s needs a signal name or number, got "${text}"`,
  );
}

async function main(signal: AbortSignal): Promise<void> {
  const v = parseTool(Deno.args, {
    x: { type: "boolean", short: "x" },
    s: { type: "string", short: "s" },
  });
  const common = commonOptions(v);
  if (common.help) {
    out(USAGE);
    return;
  }
  const only = v.s === undefined ? undefined : signalNumber(v.s);
  const { tracer, kill, bySignal } = killsnoop({
    failedOnly: v.x,
    signal: only,
  });
  await using session = await trace(tracer, traceOptions(common, signal));
  const row = (cols: string[]) =>
    out(cols.map((c, i) => c.padEnd(WIDTHS[i])).join(" ").trimEnd() + "\n");
  row(["TIME(s)", "PID", "COMM", "SIG", "TPID", "RESULT"]);
  for await (const k of session.emits(kill)) {
    row([
      (Number(k.time) / 1e9).toFixed(3),
      String(k.pid),
      k.comm,
      signalName(k.sig),
      String(k.tpid),
      k.ret < 0 ? `${k.ret} ${ERRNO[-k.ret] ?? ""}` : "0",
    ]);
  }
  const counts = session.map(bySignal).entries()
    .sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  out("\n" + "SIGNAL".padEnd(10) + "CALLS\n");
  for (const [sig, n] of counts) {
    out(signalName(sig).padEnd(10) + n + "\n");
  }
}

if (import.meta.main) Deno.exit(await runTool("killsnoop", main));
