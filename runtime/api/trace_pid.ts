/**
 * `trace({ pid })` checked as the CLI checks `-p PID`
 * (`runtime/cli_targets.ts`, a layer above): a pid that names no live
 * process is an error, in the CLI's words. Loaded only when a pid is given.
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
 * Throws when `pid` names no live process of this machine (on Linux, where
 * /proc tells; not for the interpreter, whose processes are synthetic).
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
  if (
    backend !== "interp" && Deno.build.os === "linux" &&
    exists("/proc/self") && !exists(`/proc/${pid}`)
  ) {
    throw new NoSuchProcessError(
      pid,
      `Cannot trace pid ${pid} (-p): No such process`,
    );
  }
}
