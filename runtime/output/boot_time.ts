/**
 * The wall-clock time of the host's boot, which turns the boot-clock
 * nanoseconds of `nsecs` (`bpf_ktime_get_boot_ns`) into wall-clock time for
 * `strftime()`, as bpftrace 0.17 does (it adds `CLOCK_REALTIME -
 * CLOCK_BOOTTIME`, read once at start, to the timestamp).
 *
 * Without a clock call (no FFI here), the boot time is `Date.now()`-style
 * wall time minus the uptime in `/proc/uptime` (the boot clock, suspend
 * included, truncated to hundredths of a second): correct to about 10 ms,
 * which is well within the second. Where `/proc/uptime` cannot be read
 * (macOS, Windows, no /proc) the process start time stands in for the boot
 * time, so `strftime("…", nsecs)` of the interpreter's synthetic clock
 * still prints a plausible date.
 *
 * @module
 */

let cached: bigint | undefined;

/**
 * Parses `/proc/uptime` text into nanoseconds since boot, or `undefined`
 * when it is not in the expected form. The kernel truncates the value to
 * hundredths of a second; half of that (5 ms) is added, the middle of the
 * interval the real uptime lies in.
 *
 * @example Usage
 * ```ts
 * import { parseUptime } from "./boot_time.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseUptime("5811.30 4442.04\n"), 5_811_305_000_000n);
 * assert.equal(parseUptime("garbage"), undefined);
 * ```
 */
export function parseUptime(text: string): bigint | undefined {
  const m = /^(\d+)\.(\d{2})\s/.exec(text);
  if (m === null) return undefined;
  return BigInt(m[1]) * 1_000_000_000n + BigInt(m[2]) * 10_000_000n +
    5_000_000n;
}

/** Wall-clock nanoseconds since the Unix epoch, to the microsecond. */
function nowEpochNs(): bigint {
  return BigInt(
    Math.round((performance.timeOrigin + performance.now()) * 1e3),
  ) *
    1000n;
}

/**
 * The host's boot time in nanoseconds since the Unix epoch: what
 * `strftime()` adds to a boot-clock timestamp. Computed once per process
 * (from `/proc/uptime`, or the process start time where there is none)
 * and cached, so every timestamp of a run shares one offset.
 *
 * @example The boot lies in the past
 * ```ts
 * import { hostBootTimeNs } from "./boot_time.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(hostBootTimeNs() <= BigInt(Date.now()) * 1_000_000n);
 * ```
 */
export function hostBootTimeNs(): bigint {
  if (cached !== undefined) return cached;
  let uptime: bigint | undefined;
  try {
    uptime = parseUptime(Deno.readTextFileSync("/proc/uptime"));
  } catch {
    // No /proc (or no permission): fall back to the process start.
  }
  cached = uptime === undefined
    ? BigInt(Math.round(performance.timeOrigin * 1e3)) * 1000n
    : nowEpochNs() - uptime;
  return cached;
}
