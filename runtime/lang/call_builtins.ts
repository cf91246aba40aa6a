/**
 * Call-style builtins (bpftrace 0.26): `pid()`, `comm()`, `nsecs()`, ...
 * are the builtin variables `pid`, `comm`, `nsecs`; `pid(init)` and
 * `tid(init)` name the initial PID namespace, and `nsecs(boot)` the boot
 * clock, which is what the plain builtins read. `pcomm`, `leader_comm`,
 * `leader_tid` and `ppid(task)` read members of a task's relatives.
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
 * The task-struct builtins of 0.26's standard library, each a member of
 * a relative of a task: `ppid(t)` is `t->real_parent->pid`.
 */
const TASK_RELATIVES: Readonly<Record<string, [string, string]>> = {
  ppid: ["real_parent", "pid"],
  pcomm: ["real_parent", "comm"],
  leader_comm: ["group_leader", "comm"],
  leader_tid: ["group_leader", "pid"],
};

/**
 * `pcomm`, `leader_comm`, `leader_tid` (bpftrace 0.26), and with a task
 * argument also `ppid(task)`: the member of the task's parent or group
 * leader they stand for, of `task` or else the current task (`curtask`).
 * Undefined for other names.
 *
 * @example Usage
 * ```ts
 * import { taskRelative } from "./call_builtins.ts";
 * const span = { start: 0, end: 5, line: 1, col: 1 };
 * const e = taskRelative("pcomm", undefined, span);
 * console.assert(e?.kind === "field" && e.field === "comm");
 * ```
 */
export function taskRelative(
  name: string,
  task: Expr | undefined,
  span: Span,
): Expr | undefined {
  const path = TASK_RELATIVES[name];
  if (path === undefined) return undefined;
  const expr: Expr = task ?? { kind: "builtin", name: "curtask", span };
  const relative: Expr = {
    kind: "field",
    expr,
    field: path[0],
    arrow: true,
    span,
  };
  return { kind: "field", expr: relative, field: path[1], arrow: true, span };
}

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
  if (name !== "ppid" && TASK_RELATIVES[name] !== undefined) {
    if (args.length <= 1) return taskRelative(name, args[0], span);
    return { error: `${name}() takes at most 1 argument`, span };
  }
  if (!CALL_STYLE.has(name) || !isBuiltinName(name)) return undefined;
  if (args.length === 0) return { kind: "builtin", name, span };
  const a = args[0];
  if (args.length === 1 && name === "ppid") {
    return taskRelative(name, a, span);
  }
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
    if (word === "monotonic" || word === "tai" || word === "sw_tai") {
      return { kind: "builtin", name, clock: word, span };
    }
    // bpftrace 0.26 (tests/type_checker.cpp): "Invalid timestamp mode: xxx".
    return {
      error: a.kind === "ident"
        ? `Invalid timestamp mode: ${word}`
        : `nsecs() takes a clock (boot, monotonic, tai, sw_tai), not an expression`,
      span: a.span,
    };
  }
  if (name === "comm") {
    // 0.26's comm(pid) looks the task up with the bpf_task_from_pid kfunc.
    return {
      error:
        "comm(pid) is not supported: tsbpf does not call kfuncs (bpf_task_from_pid); comm() is the current thread's",
      span: a.span,
    };
  }
  return {
    error: `${name}() takes no arguments`,
    span: a.span,
  };
}
