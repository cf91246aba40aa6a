/**
 * Call-style builtins (bpftrace 0.26): `pid()`, `comm()`, `nsecs()`, ...
 * are the builtin variables `pid`, `comm`, `nsecs`; `pid(init)` and
 * `tid(init)` name the initial PID namespace, and `nsecs(boot)` the boot
 * clock, which is what the plain builtins read.
 *
 * @module
 */

import type { Expr, Span } from "./ast.ts";
import { isBuiltinName } from "./ast.ts";

/** The builtins 0.26 documents with a call form taking no argument. */
const CALL_STYLE: ReadonlySet<string> = new Set([
  "cgroup",
  "comm",
  "cpid",
  "cpu",
  "curtask",
  "elapsed",
  "func",
  "gid",
  "has_cpid",
  "jiffies",
  "leader_comm",
  "leader_tid",
  "ncpus",
  "nsecs",
  "numaid",
  "pcomm",
  "pid",
  "ppid",
  "probe",
  "probetype",
  "rand",
  "retval",
  "tid",
  "uid",
  "usermode",
  "username",
]);

/**
 * The builtin a call `name(args)` stands for, a message saying why the
 * arguments are not accepted, or undefined when the call is an ordinary
 * function call.
 *
 * @example Usage
 * ```ts
 * import { callStyleBuiltin } from "./call_builtins.ts";
 * import assert from "node:assert/strict";
 * const span = { start: 0, end: 5, line: 1, col: 1 };
 * const e = callStyleBuiltin("pid", [], span);
 * assert.deepEqual(e, { kind: "builtin", name: "pid", span });
 * assert.equal(callStyleBuiltin("printf", [], span), undefined);
 * ```
 */
export function callStyleBuiltin(
  name: string,
  args: Expr[],
  span: Span,
): Expr | { error: string; span: Span } | undefined {
  if (!CALL_STYLE.has(name) || !isBuiltinName(name)) return undefined;
  if (args.length === 0) return { kind: "builtin", name, span };
  const a = args[0];
  const word = a.kind === "ident" || a.kind === "builtin" ? a.name : "";
  if (args.length === 1 && (name === "pid" || name === "tid")) {
    // tsbpf reads ids from the initial namespace (bpf_get_current_pid_tgid),
    // which is also the current one unless tsbpf runs in a container.
    if (word === "init" || word === "curr_ns") {
      return { kind: "builtin", name, span };
    }
    return {
      error: `${name}() takes "curr_ns" or "init", not an expression`,
      span: a.span,
    };
  }
  if (args.length === 1 && name === "nsecs") {
    if (word === "boot") return { kind: "builtin", name, span };
    if (word === "monotonic" || word === "tai") {
      return { kind: "builtin", name, clock: word, span };
    }
    return {
      error: word === "sw_tai"
        ? `nsecs(sw_tai) is not supported: use nsecs(tai), which reads CLOCK_TAI directly`
        : `nsecs() takes a clock (boot, monotonic, tai, sw_tai), not an expression`,
      span: a.span,
    };
  }
  if (name === "comm") {
    return {
      error: "comm(pid) is not supported: only comm() of the current thread",
      span: a.span,
    };
  }
  return {
    error: `${name}() takes no arguments`,
    span: a.span,
  };
}
