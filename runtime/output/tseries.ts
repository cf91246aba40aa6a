/**
 * `tseries()` maps (bpftrace 0.26): decoding the per-key interval slots
 * into the last `num` intervals, and printing them as bpftrace does, as
 * a chart in text and as `interval_start`/`value` pairs in JSON.
 *
 * @module
 */

import type { MapSpec, TseriesParams } from "../program.ts";
import { formatStrftime } from "./strftime.ts";
import type { Int, TseriesPoint } from "./types.ts";

export type { TseriesPoint };

/** A slot of a tseries map as read: its key prefix, epoch and value. */
interface Slot {
  key: Uint8Array;
  epoch: bigint;
  value: bigint;
}

function u64(bytes: Uint8Array, off: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .getBigUint64(off, true);
}

function toInt(v: bigint): Int {
  return v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v;
}

/**
 * The time series of every key of a tseries map: the intervals from the
 * first one a key has within the last `num` (ending at the latest epoch
 * of the whole map) to that latest one, missing ones null, keys in the
 * order of their bytes. Epochs count intervals of CLOCK_TAI, as in
 * bpftrace 0.26: an interval starts at `epoch * interval` nanoseconds
 * since the Unix epoch, printed as wall-clock time (src/types_format.cpp).
 *
 * @example Usage
 * ```ts
 * import { decodeTseries } from "./tseries.ts";
 * const spec = {
 *   name: "@", type: 1, keySize: 8, valueSize: 24, maxEntries: 8,
 *   key: { kind: "none" as const, size: 0 as const }, internal: false,
 *   agg: { kind: "tseries" as const, interval: 10, num: 2, agg: "last" as const, signed: true },
 * };
 * const value = new Uint8Array(24);
 * new DataView(value.buffer).setBigInt64(0, 7n, true);
 * new DataView(value.buffer).setBigUint64(16, 3n, true);
 * const out = decodeTseries(spec, [{ key: new Uint8Array(8), values: [value] }]);
 * console.assert(out[0].value[0].value === 7);
 * ```
 */
export function decodeTseries(
  spec: MapSpec,
  entries: { key: Uint8Array; values: Uint8Array[] }[],
): { key: Uint8Array; value: TseriesPoint[] }[] {
  const ts = spec.agg as TseriesParams;
  const prefixLen = spec.keySize - 8;
  const slots: Slot[] = [];
  for (const e of entries) {
    const v = e.values[0];
    const epoch = u64(v, 16);
    const meta = u64(v, 8);
    let value = u64(v, 0);
    if (ts.signed) value = BigInt.asIntN(64, value);
    if (ts.agg === "avg") {
      if (meta === 0n) continue;
      value = value / meta;
    }
    slots.push({ key: e.key.subarray(0, prefixLen), epoch, value });
  }
  if (slots.length === 0) return [];
  let last = 0n;
  for (const s of slots) if (s.epoch > last) last = s.epoch;
  const num = BigInt(ts.num);
  const first = last + 1n >= num ? last - num + 1n : 0n;
  const byKey = new Map<
    string,
    { key: Uint8Array; values: Map<bigint, bigint> }
  >();
  for (const s of slots) {
    if (s.epoch < first) continue;
    const id = Array.from(s.key).join(",");
    let k = byKey.get(id);
    if (k === undefined) {
      k = { key: s.key, values: new Map() };
      byKey.set(id, k);
    }
    k.values.set(s.epoch, s.value);
  }
  const interval = BigInt(ts.interval);
  const out = [...byKey.values()].map((k) => {
    let from = last;
    for (const e of k.values.keys()) if (e < from) from = e;
    const points: TseriesPoint[] = [];
    for (let e = from; e <= last; e++) {
      const v = k.values.get(e);
      points.push({
        start: e * interval,
        value: v === undefined ? null : toInt(v),
      });
    }
    return { key: k.key, value: points };
  });
  out.sort((a, b) => compareBytes(a.key, b.key));
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

const GRAPH_WIDTH = 53;
const PADDING = 21;

/** The unit bpftrace shows interval starts in: digits after the second. */
function unitDigits(intervalNs: bigint): 0 | 3 | 6 | 9 {
  if (intervalNs >= 1_000_000_000n) return 0;
  if (intervalNs >= 1_000_000n) return 3;
  if (intervalNs >= 1_000n) return 6;
  return 9;
}

function fraction(ns: bigint, digits: number): string {
  if (digits === 0) return "";
  const sub = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  return "." + String(sub / 10n ** BigInt(9 - digits)).padStart(digits, "0");
}

/** `a * b / c` in C floats, as bpftrace places the chart's marks. */
function ratio(a: number, b: number, c: number): number {
  const f = Math.fround;
  return f(f(f(a) * f(b)) / f(c));
}

function big(v: Int): bigint {
  return typeof v === "bigint" ? v : BigInt(v);
}

/**
 * One time series as bpftrace 0.26 prints it: the range of its values on
 * top, a row per interval (its start, a `*` at the value's place, a `.`
 * at zero when the range spans it, the value or `-`), the range again.
 *
 * @example Usage
 * ```ts
 * import { formatTseriesText } from "./tseries.ts";
 * const text = formatTseriesText([{ start: 500_000_000n, value: 9 }]);
 * console.assert(text.includes(" 9\n"));
 * ```
 */
export function formatTseriesText(points: TseriesPoint[]): string {
  if (points.length === 0) return "<no data>\n";
  const present = points.filter((p) => p.value !== null).map((p) =>
    big(p.value!)
  );
  let min = present.length > 0 ? present[0] : 0n;
  let max = min;
  for (const v of present) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === max) {
    min -= 1n;
    max += 1n;
  }
  const span = points.length > 1
    ? (points[points.length - 1].start - points[0].start) /
      BigInt(points.length - 1)
    : 0n;
  const digits = unitDigits(span);
  const fmt = digits === 0
    ? "hh:mm:ss"
    : `hh:mm:ss.${["", "", "", "ms", "", "", "us", "", "", "ns"][digits]}`;
  const timeSize = 8 + (digits === 0 ? 0 : 1 + digits);
  const range = " ".repeat(timeSize + 1) + String(min).padEnd(PADDING) +
    String(max).padStart(GRAPH_WIDTH - PADDING) + "\n";
  let out = range;
  out += fmt.padEnd(timeSize + 1) + "|" + "_".repeat(GRAPH_WIDTH - 2) +
    "|\n";
  const width = Number(max - min);
  const zero = min < 0n && max > 0n
    ? Math.trunc(ratio(GRAPH_WIDTH, Number(-min), width))
    : 0;
  for (const p of points) {
    const line = Array(GRAPH_WIDTH).fill(" ");
    line[0] = "|";
    line[GRAPH_WIDTH - 1] = "|";
    if (zero > 0) line[zero] = ".";
    const time = formatStrftime("%H:%M:%S", p.start) +
      fraction(p.start, digits);
    if (p.value === null) {
      out += `${time} ${line.join("")} -\n`;
      continue;
    }
    const at = Math.trunc(
      ratio(GRAPH_WIDTH - 1, Number(big(p.value) - min), width),
    );
    line[Math.max(0, Math.min(GRAPH_WIDTH - 1, at))] = "*";
    out += `${time} ${line.join("")} ${p.value}\n`;
  }
  out += " ".repeat(timeSize) + " v" + "_".repeat(GRAPH_WIDTH - 2) + "v\n";
  return out + range;
}

/**
 * One time series in bpftrace 0.26's JSON: the recorded intervals as
 * `{"interval_start":"YYYY-MM-DD hh:mm:ss.nnnnnnnnn","value":v}`.
 *
 * @example Usage
 * ```ts
 * import { formatTseriesJson } from "./tseries.ts";
 * console.assert(formatTseriesJson([{ start: 0n, value: null }]) === "[]");
 * ```
 */
export function formatTseriesJson(points: TseriesPoint[]): string {
  const parts = points.filter((p) => p.value !== null).map((p) =>
    `{"interval_start":"${
      formatStrftime("%Y-%m-%d %H:%M:%S", p.start) + fraction(p.start, 9)
    }","value":${p.value}}`
  );
  return "[" + parts.join(",") + "]";
}
