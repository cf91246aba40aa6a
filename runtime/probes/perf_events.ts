/**
 * The `software:` and `hardware:` probe events bpftrace knows: names,
 * aliases, `perf_event_attr` type and config, and the default sample
 * period used when the probe gives no count.
 *
 * @module
 */

/** `perf_event_attr.type` values. */
export const PerfType = {
  HARDWARE: 0,
  SOFTWARE: 1,
  TRACEPOINT: 2,
  HW_CACHE: 3,
  RAW: 4,
  BREAKPOINT: 5,
} as const;

/** One software or hardware event. */
export interface PerfEventInfo {
  /** Canonical name, e.g. "cpu-clock". */
  name: string;
  /** Short alias, e.g. "cpu" (bpftrace's). */
  alias?: string;
  /** `perf_event_attr.type`: PerfType.SOFTWARE or PerfType.HARDWARE. */
  type: number;
  /** `perf_event_attr.config` (`PERF_COUNT_SW_*` / `PERF_COUNT_HW_*`). */
  config: number;
  /** Sample period used when the probe does not give one. */
  defaultPeriod: number;
}

/** `software:` events (`PERF_COUNT_SW_*`), as bpftrace names them. */
export const SOFTWARE_EVENTS: readonly PerfEventInfo[] = [
  {
    name: "cpu-clock",
    alias: "cpu",
    type: 1,
    config: 0,
    defaultPeriod: 1000000,
  },
  { name: "task-clock", type: 1, config: 1, defaultPeriod: 1 },
  {
    name: "page-faults",
    alias: "faults",
    type: 1,
    config: 2,
    defaultPeriod: 100,
  },
  {
    name: "context-switches",
    alias: "cs",
    type: 1,
    config: 3,
    defaultPeriod: 1000,
  },
  { name: "cpu-migrations", type: 1, config: 4, defaultPeriod: 1 },
  { name: "minor-faults", type: 1, config: 5, defaultPeriod: 100 },
  { name: "major-faults", type: 1, config: 6, defaultPeriod: 1 },
  { name: "alignment-faults", type: 1, config: 7, defaultPeriod: 1 },
  { name: "emulation-faults", type: 1, config: 8, defaultPeriod: 1 },
  { name: "dummy", type: 1, config: 9, defaultPeriod: 1 },
  { name: "bpf-output", type: 1, config: 10, defaultPeriod: 1 },
];

/** `hardware:` events (`PERF_COUNT_HW_*`), as bpftrace names them. */
export const HARDWARE_EVENTS: readonly PerfEventInfo[] = [
  {
    name: "cpu-cycles",
    alias: "cycles",
    type: 0,
    config: 0,
    defaultPeriod: 1000000,
  },
  { name: "instructions", type: 0, config: 1, defaultPeriod: 1000000 },
  { name: "cache-references", type: 0, config: 2, defaultPeriod: 1000000 },
  { name: "cache-misses", type: 0, config: 3, defaultPeriod: 1000000 },
  {
    name: "branch-instructions",
    alias: "branches",
    type: 0,
    config: 4,
    defaultPeriod: 100000,
  },
  { name: "branch-misses", type: 0, config: 5, defaultPeriod: 100000 },
  { name: "bus-cycles", type: 0, config: 6, defaultPeriod: 100000 },
  { name: "frontend-stalls", type: 0, config: 7, defaultPeriod: 1000000 },
  { name: "backend-stalls", type: 0, config: 8, defaultPeriod: 1000000 },
  { name: "ref-cycles", type: 0, config: 9, defaultPeriod: 1000000 },
];

/**
 * Look up a software (`kind = "software"`) or hardware event by name or
 * alias.
 *
 * @example Resolving aliases
 * ```ts
 * import assert from "node:assert/strict";
 * import { perfEvent } from "./perf_events.ts";
 *
 * assert.equal(perfEvent("software", "cs")?.name, "context-switches");
 * assert.equal(perfEvent("hardware", "cycles")?.config, 0);
 * assert.equal(perfEvent("software", "nope"), undefined);
 * ```
 */
export function perfEvent(
  kind: "software" | "hardware",
  name: string,
): PerfEventInfo | undefined {
  const table = kind === "software" ? SOFTWARE_EVENTS : HARDWARE_EVENTS;
  return table.find((e) => e.name === name || e.alias === name);
}

/**
 * The host kernel's limit of samples per second per CPU
 * (`kernel.perf_event_max_sample_rate`): a `profile:hz:N` above it fails
 * with EINVAL. Undefined when unreadable (not Linux, no /proc).
 *
 * @example Read it
 * ```ts
 * import { maxSampleRate } from "./perf_events.ts";
 * const max = maxSampleRate();
 * console.assert(max === undefined || max > 0);
 * ```
 */
export function maxSampleRate(): number | undefined {
  try {
    const n = Number(
      Deno.readTextFileSync("/proc/sys/kernel/perf_event_max_sample_rate"),
    );
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
