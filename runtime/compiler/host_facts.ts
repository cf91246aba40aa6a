/**
 * Facts about the machine that the compiler writes into a program as
 * constants, as bpftrace does: `ncpus` is the number of possible CPUs,
 * `nsecs(sw_tai)` the boot clock plus the host's TAI offset.
 *
 * @module
 */

let possible: number | undefined;
let taiDelta: bigint | undefined;

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
 * Reads CLOCK_TAI minus CLOCK_BOOTTIME from `/proc/timer_list` text: the
 * kernel lists each hrtimer clock base's `.offset` from the monotonic
 * clock (index 2 is the boot clock, 3 TAI). Undefined when the text
 * does not list both.
 *
 * @example Usage
 * ```ts
 * import { parseTimerListTaiDelta } from "./host_facts.ts";
 * const text = [
 *   " clock 2:", "  .index:      2", "  .offset:     5 nsecs",
 *   " clock 3:", "  .index:      3", "  .offset:     1700000000000000037 nsecs",
 * ].join("\n");
 * console.assert(parseTimerListTaiDelta(text) === 1700000000000000032n);
 * ```
 */
export function parseTimerListTaiDelta(text: string): bigint | undefined {
  const offsets = new Map<number, bigint>();
  let index = -1;
  for (const line of text.split("\n")) {
    const i = /^\s*\.index:\s+(\d+)\s*$/.exec(line);
    if (i !== null) {
      index = Number(i[1]);
      continue;
    }
    const o = /^\s*\.offset:\s+(-?\d+) nsecs\s*$/.exec(line);
    if (o !== null && index >= 0 && !offsets.has(index)) {
      offsets.set(index, BigInt(o[1]));
      if (offsets.has(2) && offsets.has(3)) break;
    }
  }
  const boot = offsets.get(2);
  const tai = offsets.get(3);
  return boot === undefined || tai === undefined ? undefined : tai - boot;
}

/**
 * CLOCK_TAI minus CLOCK_BOOTTIME of this host in nanoseconds, which
 * `nsecs(sw_tai)` adds to the boot clock (bpftrace 0.26 measures it once
 * at start). Read exactly from `/proc/timer_list` (root only); elsewhere
 * the wall-clock time less the uptime of `/proc/uptime` (to about 10 ms,
 * TAI's leap seconds not counted), else the wall-clock time less the
 * process's run time.
 *
 * @example Usage
 * ```ts
 * import { taiBootDeltaNs } from "./host_facts.ts";
 * console.assert(taiBootDeltaNs() > 0n);
 * ```
 */
export function taiBootDeltaNs(): bigint {
  if (taiDelta !== undefined) return taiDelta;
  try {
    taiDelta = parseTimerListTaiDelta(
      Deno.readTextFileSync("/proc/timer_list"),
    );
  } catch {
    // Not root, or no /proc: the approximations below.
  }
  if (taiDelta === undefined) {
    const wallNs = BigInt(Math.round(Date.now() * 1e6));
    let uptimeNs = BigInt(Math.round(performance.now() * 1e6));
    try {
      const m = /^(\d+)\.(\d{2})\s/.exec(
        Deno.readTextFileSync("/proc/uptime"),
      );
      if (m !== null) {
        uptimeNs = BigInt(m[1]) * 1_000_000_000n + BigInt(m[2]) * 10_000_000n;
      }
    } catch {
      // No /proc/uptime: the process's run time stands in.
    }
    taiDelta = wallNs - uptimeNs;
  }
  return taiDelta;
}

/**
 * The cgroup id `cgroupid(path)` stands for: the inode number of a
 * directory of a cgroup file system (kernfs gives a cgroup's id as its
 * inode number, which is what bpftrace's file handle holds). Throws a
 * message for paths that are not there or not cgroups.
 *
 * @example Usage
 * ```ts ignore
 * import { cgroupId } from "./host_facts.ts";
 * console.log(cgroupId("/sys/fs/cgroup"));
 * ```
 */
export function cgroupId(path: string): bigint {
  let ino: number | null;
  try {
    ino = Deno.statSync(path).ino;
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "No such file or directory"
      : e instanceof Deno.errors.PermissionDenied
      ? "Permission denied"
      : (e as Error).message.replace(/ \(os error \d+\)$/, "");
    throw new Error(`Failed to get \`cgroupid\` for path: "${path}": ${why}`);
  }
  const fs = mountType(path);
  if (fs !== "cgroup2" && fs !== "cgroup") {
    throw new Error(
      `Failed to get \`cgroupid\` for path: "${path}": not a cgroup (${
        fs ?? "unknown"
      } file system)`,
    );
  }
  return BigInt(ino ?? 0);
}

/** The file system type of the mount `path` is on (`/proc/mounts`). */
function mountType(path: string): string | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/mounts");
  } catch {
    return undefined;
  }
  const full = path.endsWith("/") ? path : `${path}/`;
  let best = "";
  let type: string | undefined;
  for (const line of text.split("\n")) {
    const [, dir, fs] = line.split(" ");
    if (dir === undefined || fs === undefined) continue;
    const d = dir.endsWith("/") ? dir : `${dir}/`;
    if (full.startsWith(d) && d.length >= best.length) {
      best = d;
      type = fs;
    }
  }
  return type;
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
