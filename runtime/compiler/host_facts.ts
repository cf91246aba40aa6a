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

/**
 * The bytes of an IPv4 (`1.2.3.4`) or IPv6 (`::1`, `fe80::1`,
 * `::ffff:1.2.3.4`) address in network order, as `pton()` makes them at
 * compile time; undefined when the text is neither.
 *
 * @example Usage
 * ```ts
 * import { addressBytes } from "./host_facts.ts";
 * console.assert(addressBytes("127.0.0.1")?.join(".") === "127.0.0.1");
 * console.assert(addressBytes("::1")?.[15] === 1);
 * ```
 */
export function addressBytes(text: string): Uint8Array | undefined {
  if (!text.includes(":")) return ipv4(text);
  let head = text;
  let tailV4: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    tailV4 = ipv4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => s === "" ? [] : s.split(":");
  const left = groups(halves[0]);
  const right = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [
    ...left,
    ...Array(halves.length === 2 ? missing : 0).fill("0"),
    ...right,
  ];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-f]{1,4}$/i.test(all[i])) return undefined;
    const v = parseInt(all[i], 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  }
  if (tailV4 !== undefined) out.set(tailV4, 12);
  return out;
}

function ipv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i]) || Number(parts[i]) > 255) return undefined;
    out[i] = Number(parts[i]);
  }
  return out;
}
