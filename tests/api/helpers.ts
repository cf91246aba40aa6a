/**
 * What the API tests share: whether the kernel engine can run here, and a
 * getppid workload.
 */
import assert from "node:assert/strict";
import { probeKernel } from "../../runtime/engines/kernel_engine.ts";

/** The kernel engine's verdict on this machine. */
export const kernel: ReturnType<typeof probeKernel> = probeKernel();
if (!kernel.ok) console.log(`Skipping kernel API tests: ${kernel.reason}`);

const python = (() => {
  try {
    return new Deno.Command("python3", { args: ["-c", "pass"] }).outputSync()
      .success;
  } catch {
    return false;
  }
})();
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
