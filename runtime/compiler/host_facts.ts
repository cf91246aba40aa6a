/**
 * Facts about the machine that the compiler writes into a program as
 * constants, as bpftrace does: `ncpus` is the number of possible CPUs.
 *
 * @module
 */

let possible: number | undefined;

/**
 * Counts the CPUs of a kernel CPU list (`0-3,8`, as in
 * `/sys/devices/system/cpu/possible`).
 *
 * @example Usage
 * ```ts
 * import { countCpuList } from "./host_facts.ts";
 * console.assert(countCpuList("0-3,8\n") === 5);
 * ```
 */
export function countCpuList(text: string): number {
  let n = 0;
  for (const part of text.trim().split(",")) {
    if (part === "") continue;
    const [a, b] = part.split("-").map(Number);
    n += b === undefined ? 1 : b - a + 1;
  }
  return n;
}

/**
 * The number of possible CPUs of this machine (bpftrace's `ncpus`): the
 * kernel's list where it can be read, else the CPUs Deno reports.
 *
 * @example Usage
 * ```ts
 * import { ncpus } from "./host_facts.ts";
 * console.assert(ncpus() >= 1);
 * ```
 */
export function ncpus(): number {
  if (possible !== undefined) return possible;
  try {
    possible = countCpuList(
      Deno.readTextFileSync("/sys/devices/system/cpu/possible"),
    );
  } catch {
    possible = 0;
  }
  if (!(possible >= 1)) possible = navigator.hardwareConcurrency || 1;
  return possible;
}
