/**
 * Watching the process traced with `-p PID` (`trace({ pid })`): as in
 * bpftrace 0.26, the session ends when it exits.
 *
 * bpftrace checks `kill(pid, 0)` after every poll of its ring (at most
 * 100 ms apart). We read `/proc/PID/stat` every {@linkcode WATCH_MS}: a
 * process is gone once the file is, once it is a zombie (exited, its
 * parent not having reaped it yet, which `kill(pid, 0)` does not see), or
 * once the pid names another process (its start time changed). One small
 * read a tenth of a second, off the probes' path; no FFI needed (the
 * `syscall` binding cannot pass `pidfd_open` a pid, and a thread blocked
 * in `poll()` would keep the process from exiting).
 *
 * @module
 */

/** Milliseconds between two looks at the process (bpftrace: 100). */
export const WATCH_MS = 100;

/** A watch on one process: its signal aborts once the process exited. */
export interface ProcessWatch {
  /** The pid watched. */
  readonly pid: number;
  /** Aborted once the process has exited. */
  readonly signal: AbortSignal;
  /** Stops watching. Safe to call twice. */
  close(): void;
}

/**
 * The start time of process `pid` (field 22 of `/proc/PID/stat`, in clock
 * ticks since boot), "" when it exited (no such process, or a zombie), or
 * undefined when this cannot be told (no /proc, no permission).
 */
function startTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    return undefined;
  }
  // `PID (COMM) STATE ...`: COMM may hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  if (state === "Z" || state === "X" || state === "x") return "";
  return fields[19] ?? "";
}

/**
 * Watches process `pid` until `close()`: the signal aborts once it has
 * exited (within about `intervalMs`). Where /proc cannot tell (not Linux,
 * no permission to read it), the signal never aborts. The timer does not
 * keep the process alive.
 *
 * @example A child's exit ends the watch
 * ```ts
 * import assert from "node:assert/strict";
 * import { watchProcess } from "./process_watch.ts";
 *
 * if (Deno.build.os === "linux") {
 *   const child = new Deno.Command("sleep", { args: ["0.1"] }).spawn();
 *   const watch = watchProcess(child.pid, 20);
 *   assert.equal(watch.signal.aborted, false);
 *   await child.status;
 *   await new Promise((r) => setTimeout(r, 100));
 *   assert.equal(watch.signal.aborted, true);
 *   watch.close();
 * }
 * ```
 *
 * @param pid The process to watch.
 * @param intervalMs Milliseconds between two looks (default {@linkcode WATCH_MS}).
 */
export function watchProcess(
  pid: number,
  intervalMs: number = WATCH_MS,
): ProcessWatch {
  const abort = new AbortController();
  const first = startTime(pid);
  let timer: ReturnType<typeof setInterval> | undefined;
  const close = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };
  if (first === "") abort.abort();
  else if (first !== undefined) {
    const id = setInterval(() => {
      const now = startTime(pid);
      if (now === undefined || now === first) return;
      close();
      abort.abort();
    }, intervalMs);
    Deno.unrefTimer(id);
    timer = id;
  }
  return { pid, signal: abort.signal, close };
}
