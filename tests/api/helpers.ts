/**
 * What the API tests share: whether the kernel engine can run here, and a
 * getppid workload.
 */
import assert from "node:assert/strict";
import { kernelSkipReason, which } from "../support/skip.ts";

/** Why the kernel engine cannot run here, or undefined when it can. */
export const kernelSkip: string | undefined = kernelSkipReason();
if (kernelSkip !== undefined) {
  console.log(`Skipping kernel API tests: ${kernelSkip}`);
}

/** The kernel engine's verdict on this machine (`kernelSkip` as a record). */
export const kernel: { ok: boolean; reason: string } = {
  ok: kernelSkip === undefined,
  reason: kernelSkip ?? "",
};

const python = which("python3") !== undefined;
if (!python) console.log("Skipping getppid workloads: no python3");

/** True when the kernel tests with a getppid workload cannot run. */
export const ignoreKernel: boolean = !kernel.ok || !python;

/** Runs python3 calling getppid() `n` times; resolves to its pid. */
export async function getppidChild(
  n: number,
  comm?: string,
): Promise<number> {
  // A name of its own keeps other python3 processes on the machine out of
  // a test that filters by comm.
  const rename = comm === undefined
    ? ""
    : `open("/proc/self/comm", "w").write(${JSON.stringify(comm)})\n`;
  const child = new Deno.Command("python3", {
    args: ["-c", `import os\n${rename}for _ in range(${n}): os.getppid()`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const status = await child.status;
  assert.ok(status.success);
  return child.pid;
}

/**
 * Lets `session` tick every 50 ms until `done()` holds or `timeoutMs`
 * passes: a wait for the events a test expects rather than for a number
 * of ticks. The ring may hold other processes' records ahead of a
 * child's (every getppid on the machine fires the probe), and a loaded
 * machine reads it slowly, so a fixed number of ticks can end the
 * session before the child's records are read.
 */
export async function tickUntil(
  session: { every(intervalMs: number): AsyncGenerator<unknown> },
  done: () => boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const end = performance.now() + timeoutMs;
  for await (const _tick of session.every(50)) {
    if (done() || performance.now() > end) return;
  }
}
