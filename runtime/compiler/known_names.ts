/**
 * The names the bpftrace language knows, for "did you mean" suggestions:
 * the functions a program may call and the builtin variables.
 *
 * @example Suggest a function
 * ```ts
 * import assert from "node:assert/strict";
 * import { closest } from "../lang/suggest.ts";
 * import { FUNCTIONS } from "./known_names.ts";
 *
 * assert.equal(closest("cnt", FUNCTIONS), "count");
 * ```
 *
 * @module
 */

/** The functions a program may call, for "did you mean" suggestions. */
export const FUNCTIONS: readonly string[] = [
  "count",
  "bswap",
  "sum",
  "avg",
  "min",
  "max",
  "stats",
  "hist",
  "lhist",
  "printf",
  "system",
  "cat",
  "signal",
  "exit",
  "print",
  "clear",
  "zero",
  "delete",
  "time",
  "str",
  "buf",
  "ksym",
  "usym",
  "kstack",
  "ustack",
  "ntop",
  "strftime",
  "emit",
  "join",
  "reg",
  "kaddr",
  "uaddr",
  "strncmp",
  "sizeof",
  "has_key",
  "strcontains",
  "errorf",
  "warnf",
  "strerror",
  "getopt",
  "tseries",
  "len",
  "is_str",
  "is_ptr",
  "is_array",
  "is_integer",
  "is_unsigned_integer",
  "is_literal",
  "kptr",
  "uptr",
  "static_assert",
  "is_err",
  "fail",
  "cgroupid",
  "strlen",
  "strstr",
  "signal_name",
  "syscall_name",
  "macaddr",
  "cgroup_path",
  "signal_thread",
  "override",
  "path",
  "skboutput",
];

/** The builtin variables, for "did you mean" suggestions. */
export const BUILTINS: readonly string[] = [
  "pid",
  "tid",
  "uid",
  "gid",
  "cpu",
  "rand",
  "nsecs",
  "cgroup",
  "jiffies",
  "numaid",
  "username",
  "cpid",
  "elapsed",
  "curtask",
  "comm",
  "probe",
  "retval",
  "func",
  "args",
  "kstack",
  "stack",
  "ustack",
  "ctx",
  "arg0",
  "arg1",
  "arg2",
  "arg3",
  "arg4",
  "arg5",
  "ppid",
  "ncpus",
  "usermode",
  "probetype",
  "has_cpid",
];

/** Builtins that read the probe's context (r1). */
export const CTX_BUILTINS: ReadonlySet<string> = new Set([
  "args",
  "retval",
  "func",
  "kstack",
  "ustack",
  "stack",
  "ctx",
  "usermode",
]);
