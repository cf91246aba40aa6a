/**
 * `trace({ pid })` checked as the CLI checks `-p PID`: a pid that names no
 * live process is an error. Loaded only when a pid is given.
 *
 * @module
 */

import type { BackendChoice } from "../engines/backend.ts";
import { checkTargets } from "../cli_targets.ts";

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
 * Throws when `pid` names no live process of this machine (not checked
 * for the interpreter, whose processes are synthetic).
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
  const bad = checkTargets({ pid, backend });
  if (bad !== undefined) throw new NoSuchProcessError(pid, bad);
}
