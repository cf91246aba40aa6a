/**
 * An operating system error in one line: its errno name and the system's
 * words, without Deno's decoration (`ENOENT (No such file or directory)`),
 * for every message that names a file tsbpf could not open or write.
 *
 * @module
 */

/**
 * `ENOSPC (No space left on device)` for an operating system error,
 * else the error's message.
 *
 * @example An OS error and another one
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeOsError } from "./os_error.ts";
 *
 * try {
 *   Deno.openSync("/nonexistent/file");
 * } catch (e) {
 *   assert.equal(describeOsError(e), "ENOENT (No such file or directory)");
 * }
 * assert.equal(describeOsError(new Error("Nope")), "Nope");
 * ```
 *
 * @param e What a file operation threw.
 * @returns The description.
 */
export function describeOsError(e: unknown): string {
  const code = (e as { code?: unknown } | undefined)?.code;
  const message = (e instanceof Error ? e.message : String(e))
    .replace(/ \(os error \d+\).*$/s, "");
  return typeof code === "string" && code !== "" && code !== message
    ? `${code} (${message})`
    : message;
}
