/**
 * The one check of a pid asked for, shared by the CLI's `-p PID`
 * (`runtime/cli_targets.ts`) and `trace({ pid })`: a pid that names no
 * live process is an error, in the same words for both.
 *
 * @module
 */

import type { BackendChoice } from "../engines/backend.ts";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The `pid` given to `trace()` names no live process (the CLI's `-p PID`
 * error, in the same words).
 *
 * @example Refuse a pid that is gone
 * ```ts
 * import assert from "node:assert/strict";
 * import { NoSuchProcessError } from "./trace_pid.ts";
 *
 * const e = new NoSuchProcessError(4242, "Cannot trace pid 4242 (-p): No such process");
 * assert.equal(e.pid, 4242);
 * assert.equal(e.name, "NoSuchProcessError");
 * ```
 */
export class NoSuchProcessError extends Error {
  /** The pid asked for. */
  readonly pid: number;
  /** Creates the error. */
  constructor(pid: number, message: string) {
    super(message);
    this.name = "NoSuchProcessError";
    this.pid = pid;
  }
}

/**
 * Why `pid` cannot be traced: the CLI's `-p` message when it names no live
 * process of this machine (on Linux, where /proc tells; never for the
 * interpreter, whose processes are synthetic), else undefined. The CLI's
 * `-p` check and `trace({ pid })` both ask this.
 *
 * @example A process that lives, and one above pid_max
 * ```ts
 * import assert from "node:assert/strict";
 * import { pidProblem } from "./trace_pid.ts";
 *
 * assert.equal(pidProblem(Deno.pid, "auto"), undefined);
 * if (Deno.build.os === "linux") {
 *   assert.equal(
 *     pidProblem(99999999, "kernel"),
 *     "Cannot trace pid 99999999 (-p): No such process",
 *   );
 * }
 * assert.equal(pidProblem(99999999, "interp"), undefined);
 * ```
 *
 * @param pid The pid asked for.
 * @param backend The engine asked for.
 * @returns The message, or undefined when the pid can be traced.
 */
export function pidProblem(
  pid: number,
  backend: BackendChoice,
): string | undefined {
  if (
    backend !== "interp" && Deno.build.os === "linux" &&
    exists("/proc/self") && !exists(`/proc/${pid}`)
  ) {
    return `Cannot trace pid ${pid} (-p): No such process`;
  }
  return undefined;
}

/**
 * Throws when `pid` names no live process of this machine
 * ({@linkcode pidProblem}).
 *
 * @throws {NoSuchProcessError} with the CLI's message.
 * @example A process that lives
 * ```ts
 * import { checkPid } from "./trace_pid.ts";
 *
 * checkPid(Deno.pid, "auto");
 * ```
 */
export function checkPid(pid: number, backend: BackendChoice): void {
  const problem = pidProblem(pid, backend);
  if (problem !== undefined) throw new NoSuchProcessError(pid, problem);
}
