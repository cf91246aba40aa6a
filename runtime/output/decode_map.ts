/**
 * Decoding whole maps: per-CPU values reduced by aggregation kind, keys
 * grouped, histogram buckets built and entries sorted as bpftrace sorts them.
 * The value layouts are described in `decode.ts`.
 *
 * @module
 */

import type { RawMapEntry } from "../engines/engine.ts";
import { MapType } from "../bpf/opcodes.ts";
import { decodeValue, readI64, readU64, toInt, view } from "./decode_value.ts";
import { decodeTseries } from "./tseries.ts";
import type { MapSpec } from "../program.ts";
import type {
  ArrayValue,
  HistBucket,
  Int,
  MapData,
  MapEntry,
  StackValue,
  Stats,
  SymbolResolver,
  Value,
} from "./types.ts";

/**
 * Per-CPU reduction helpers (wrapping 64-bit arithmetic, as in C). The fast
 * path sums in doubles while every value and the total stay below 2^53.
 */
function sumU64(values: Uint8Array[], offset: number): bigint {
  let fast = 0;
  for (const v of values) {
    const dv = view(v);
    const hi = dv.getUint32(offset + 4, true);
    if (hi >= 0x100000) return sumU64Slow(values, offset);
    fast += hi * 0x100000000 + dv.getUint32(offset, true);
  }
  return fast < 2 ** 53 ? BigInt(fast) : sumU64Slow(values, offset);
}

function sumU64Slow(values: Uint8Array[], offset: number): bigint {
  let s = 0n;
  for (const v of values) s += readU64(v, offset);
  return BigInt.asUintN(64, s);
}

function sumI64(values: Uint8Array[], offset: number): bigint {
  let fast = 0;
  for (const v of values) {
    const dv = view(v);
    const hi = dv.getInt32(offset + 4, true);
    if (hi >= 0x100000 || hi < -0x100000) return sumI64Slow(values, offset);
    fast += hi * 0x100000000 + dv.getUint32(offset, true);
  }
  return Math.abs(fast) < 2 ** 53 ? BigInt(fast) : sumI64Slow(values, offset);
}

function sumI64Slow(values: Uint8Array[], offset: number): bigint {
  let s = 0n;
  for (const v of values) s += readI64(v, offset);
  return BigInt.asIntN(64, s);
}

function reduceMinMax(
  values: Uint8Array[],
  valueSize: number,
  isMin: boolean,
): bigint {
  if (valueSize >= 16) {
    let best: bigint | undefined;
    for (const v of values) {
      if (readU64(v, 8) === 0n) continue;
      const x = readI64(v, 0);
      if (best === undefined || (isMin ? x < best : x > best)) best = x;
    }
    return best ?? 0n;
  }
  if (!isMin) {
    let max = 0n;
    for (const v of values) {
      const x = readU64(v, 0);
      if (x > max) max = x;
    }
    return max;
  }
  // bpftrace 0.17: stored = 0xffffffff - value, largest stored wins.
  let max = 0n;
  for (const v of values) {
    const x = readI64(v, 0);
    if (x > max) max = x;
  }
  if (max === 0n) return 0n;
  return 0xffffffffn - max;
}

/**
 * The slots of a keyless aggregation's array some CPU wrote, keyed as the
 * hash map layout: a u64 bucket index (or 0).
 */
function writtenSlots(spec: MapSpec, entries: RawMapEntry[]): RawMapEntry[] {
  const kind = spec.agg?.kind;
  const flagged = (kind === "sum" && spec.valueSize >= 16) ||
    kind === "min" || kind === "max";
  const at = flagged ? 8 : 0;
  const out: RawMapEntry[] = [];
  for (const e of entries) {
    if (!e.values.some((v) => v.length >= at + 8 && readU64(v, at) !== 0n)) {
      continue;
    }
    const key = new Uint8Array(8);
    if (e.key.length >= 4) key.set(e.key.subarray(0, 4));
    out.push({ key, values: e.values });
  }
  return out;
}

function decodeKey(
  spec: MapSpec,
  key: Uint8Array,
  resolver?: SymbolResolver,
): Value[] {
  const t = spec.key;
  if (t.kind === "none") return [];
  if (t.kind === "tuple" && t.names === undefined) {
    return t.fields.map((f, i) => decodeValue(key, t.offsets[i], f, resolver));
  }
  return [decodeValue(key, 0, t, resolver)];
}

function compareBytes(a: Uint8Array, b: Uint8Array, len: number): number {
  for (let i = 0; i < len; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return 0;
}

/** Inclusive value range of bucket `index` of a `hist()`. */
export function histBucketRange(index: number): { min?: Int; max?: Int } {
  if (index === 0) return { max: -1 };
  if (index === 1) return { min: 0, max: 0 };
  if (index === 2) return { min: 1, max: 1 };
  const lo = 1n << BigInt(index - 2);
  return { min: toInt(lo), max: toInt((lo << 1n) - 1n) };
}

/**
 * Inclusive value range of bucket `index` of a `hist(n, k)` with k >= 1:
 * 0 is the negative values, 1 to 2^k the values 0 to 2^k - 1, then each
 * power of 2 in 2^k equal parts.
 *
 * @example Usage
 * ```ts
 * import { finerRange } from "./decode.ts";
 * console.assert(finerRange(17, 3).min === 16 && finerRange(17, 3).max === 17);
 * ```
 */
export function finerRange(index: number, k: number): { min?: Int; max?: Int } {
  const n = 1 << k;
  if (index === 0) return { max: -1 };
  if (index <= n) return { min: index - 1, max: index - 1 };
  const j = BigInt(index - 1);
  const l = (j >> BigInt(k)) - 1n;
  const lo = (BigInt(n) + (j & BigInt(n - 1))) << l;
  return { min: toInt(lo), max: toInt(lo + (1n << l) - 1n) };
}

/** Inclusive value range of bucket `index` of an `lhist(min, max, step)`. */
export function lhistBucketRange(
  index: number,
  min: number,
  max: number,
  step: number,
): { min?: Int; max?: Int } {
  const buckets = Math.trunc((max - min) / step);
  if (index === 0) return { max: min - 1 };
  if (index === buckets + 1) return { min: max };
  return { min: (index - 1) * step + min, max: index * step + min - 1 };
}

function buildBuckets(
  counts: Map<number, bigint>,
  range: (i: number) => { min?: Int; max?: Int },
  sums?: Map<number, bigint>,
): HistBucket[] {
  let first = Infinity, last = -1;
  for (const [i, c] of counts) {
    if (c === 0n) continue;
    if (i < first) first = i;
    if (i > last) last = i;
  }
  const out: HistBucket[] = [];
  for (let i = first; i <= last; i++) {
    const b: HistBucket = {
      index: i,
      ...range(i),
      count: toInt(counts.get(i) ?? 0n),
    };
    if (sums !== undefined) b.sum = toInt(sums.get(i) ?? 0n);
    out.push(b);
  }
  return out;
}

/**
 * Decodes and reduces every entry of a user-visible map into
 * {@linkcode MapData}: per-CPU values reduced, hist/lhist/avg/stats rows
 * grouped by key, and entries in the order bpftrace prints them (see
 * `sortMapEntries` in `text.ts`).
 *
 * @example A keyed count map read from a per-CPU map on 2 CPUs
 * ```ts
 * import { decodeMap } from "./decode.ts";
 * import assert from "node:assert/strict";
 *
 * const u64 = (n: number) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);
 * const data = decodeMap({
 *   name: "@c", type: 5, keySize: 8, valueSize: 8, maxEntries: 16,
 *   key: { kind: "int", size: 8, signed: false }, agg: { kind: "count" },
 *   internal: false,
 * }, [
 *   { key: u64(1), values: [u64(2), u64(3)] },
 *   { key: u64(2), values: [u64(1), u64(0)] },
 * ]);
 * assert.deepEqual(data.entries, [
 *   { key: [2], value: 1 },
 *   { key: [1], value: 5 },
 * ]);
 * ```
 */
export function decodeMap(
  spec: MapSpec,
  entries: RawMapEntry[],
  resolver?: SymbolResolver,
): MapData {
  const agg = spec.agg;
  if (!agg) {
    throw new TypeError(
      `Cannot decode map "${spec.name}": it has no aggregation kind`,
    );
  }
  if (spec.type === MapType.PERCPU_ARRAY || spec.type === MapType.ARRAY) {
    entries = writtenSlots(spec, entries);
    spec = { ...spec, keySize: 8 };
  }
  const base = { name: spec.name, keyed: spec.key.kind !== "none" };
  switch (agg.kind) {
    case "count":
    case "sum":
    case "min":
    case "max": {
      const out: MapEntry<Int>[] = [];
      for (const e of entries) {
        let v: bigint;
        if (agg.kind === "count") v = sumU64(e.values, 0);
        else if (agg.kind === "sum") {
          v = agg.signed === false ? sumU64(e.values, 0) : sumI64(e.values, 0);
        } else v = reduceMinMax(e.values, spec.valueSize, agg.kind === "min");
        out.push({ key: decodeKey(spec, e.key, resolver), value: toInt(v) });
      }
      return sortMapData({ ...base, kind: agg.kind, entries: out });
    }
    case "avg":
    case "stats": {
      const keyLen = spec.key.kind === "none" ? 0 : spec.key.size;
      const sorted = [...entries].sort((a, b) =>
        compareBytes(a.key, b.key, keyLen)
      );
      const out: MapEntry<Stats>[] = sorted.map((e) => {
        const count = BigInt.asIntN(64, sumU64(e.values, 0));
        const total = sumI64(e.values, 8);
        const average = count === 0n ? 0n : total / count;
        return {
          key: decodeKey(spec, e.key, resolver),
          value: {
            count: toInt(count),
            total: toInt(total),
            average: toInt(average),
          },
        };
      });
      return sortMapData({ ...base, kind: agg.kind, entries: out });
    }
    case "tseries": {
      const out = decodeTseries(spec, entries).map((g) => ({
        key: decodeKey(spec, g.key, resolver),
        value: g.value,
      }));
      return { ...base, kind: "tseries", entries: out };
    }
    case "hist":
    case "lhist": {
      const prefixLen = spec.keySize - 8;
      const groups = new Map<
        string,
        {
          key: Uint8Array;
          counts: Map<number, bigint>;
          sums?: Map<number, bigint>;
        }
      >();
      for (const e of entries) {
        const prefix = e.key.subarray(0, prefixLen);
        const id = Array.from(prefix).join(",");
        let g = groups.get(id);
        if (!g) {
          g = { key: prefix, counts: new Map() };
          if (agg.sum === true) g.sums = new Map();
          groups.set(id, g);
        }
        const bucket = Number(readU64(e.key, prefixLen));
        g.counts.set(bucket, sumU64(e.values, 0));
        g.sums?.set(bucket, sumI64(e.values, 8));
      }
      const ordered = [...groups.values()].sort((a, b) =>
        compareBytes(a.key, b.key, prefixLen)
      );
      const bits = agg.kind === "hist" ? agg.bits ?? 0 : 0;
      const range = agg.kind === "hist"
        ? (bits === 0 ? histBucketRange : (i: number) => finerRange(i, bits))
        : (i: number) => lhistBucketRange(i, agg.min, agg.max, agg.step);
      const out: MapEntry<HistBucket[]>[] = ordered.map((g) => ({
        key: decodeKey(spec, g.key, resolver),
        value: buildBuckets(g.counts, range, g.sums),
      }));
      if (agg.kind === "hist") {
        const data = { ...base, kind: "hist" as const, entries: out };
        return sortMapData(bits === 0 ? data : { ...data, bits });
      }
      return sortMapData({
        ...base,
        kind: "lhist",
        min: agg.min,
        max: agg.max,
        step: agg.step,
        entries: out,
      });
    }
    case "value": {
      const t = agg.type;
      const out: MapEntry<Value>[] = entries.map((e) => {
        let v: Value;
        if (t.kind === "int" && e.values.length > 1) {
          let s = 0n;
          for (const b of e.values) {
            const x = decodeValue(b, 0, t);
            s += BigInt(x as Int);
          }
          v = toInt(
            t.signed
              ? BigInt.asIntN(t.size * 8, s)
              : BigInt.asUintN(t.size * 8, s),
          );
        } else v = decodeValue(e.values[0], 0, t, resolver);
        return { key: decodeKey(spec, e.key, resolver), value: v };
      });
      return sortMapData({ ...base, kind: "value", type: t, entries: out });
    }
  }
}

function cmpInt(a: Int, b: Int): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = BigInt(a), y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function totalCount(buckets: HistBucket[]): bigint {
  let s = 0n;
  for (const b of buckets) s += BigInt(b.count);
  return s;
}

function isIntValue(v: Value): v is Int {
  return typeof v === "number" || typeof v === "bigint";
}

function keyFieldCompare(a: Value, b: Value): number {
  if (isIntValue(a) && isIntValue(b)) {
    // bpftrace compares integer keys as unsigned.
    if (typeof a === "number" && typeof b === "number" && a >= 0 && b >= 0) {
      return a - b;
    }
    const x = BigInt.asUintN(64, BigInt(a)), y = BigInt.asUintN(64, BigInt(b));
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "string" && typeof b === "string") {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (Array.isArray(a) && Array.isArray(b)) return compareKeys(a, b);
  if (isStackValue(a) && isStackValue(b)) {
    // Stacks by their frames, innermost first: the same order on both
    // engines, whatever their stack ids.
    return compareKeys(a.frames, b.frames);
  }
  if (isArrayValue(a) && isArrayValue(b)) {
    return compareKeys(a.values, b.values);
  }
  return 0;
}

function isArrayValue(v: Value): v is ArrayValue {
  return typeof v === "object" && v !== null && !Array.isArray(v) &&
    (v as ArrayValue).type === "array";
}

function isStackValue(v: Value): v is StackValue {
  return typeof v === "object" && v !== null && !Array.isArray(v) &&
    (v as StackValue).type === "stack";
}

/** Keys compared field by field, the first field most significant. */
function compareKeys(a: Value[], b: Value[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = keyFieldCompare(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** Ascending by integer value; equal values ascending by key. */
function byValueThenKey(a: MapEntry<unknown>, b: MapEntry<unknown>): number {
  return cmpInt(a.value as Int, b.value as Int) || compareKeys(a.key, b.key);
}

/**
 * Returns `data` with its entries in bpftrace's print order: ascending by
 * value (count, sum, min, max, integer values), by average (avg, stats), by
 * total count (hist, lhist), otherwise by key (integer fields unsigned,
 * strings bytewise, tuples field by field, first key field most
 * significant). Entries with equal values (count, sum, min, max, integer
 * values) print in that key order too, so both engines print the same
 * text (bpftrace's own order for ties is its hash order, unspecified).
 * Other sorts are stable: ties keep their input order (`decodeMap` hands
 * avg, stats and histogram entries over in raw key byte order).
 *
 * @example Sorting a count map
 * ```ts
 * import { sortMapData } from "./decode.ts";
 * import assert from "node:assert/strict";
 *
 * const d = sortMapData({ name: "@c", keyed: true, kind: "count", entries: [
 *   { key: ["a"], value: 3 }, { key: ["b"], value: 1 },
 * ]});
 * assert.deepEqual(d.entries.map((e) => e.key[0]), ["b", "a"]);
 * ```
 */
export function sortMapData<T extends MapData>(data: T): T {
  const entries = [...data.entries] as MapEntry<unknown>[];
  switch (data.kind) {
    case "count":
    case "sum":
    case "min":
    case "max":
      entries.sort(byValueThenKey);
      break;
    case "avg":
    case "stats":
      entries.sort((a, b) =>
        cmpInt((a.value as Stats).average, (b.value as Stats).average)
      );
      break;
    case "hist":
    case "lhist":
      entries.sort((a, b) => {
        const x = totalCount(a.value as HistBucket[]);
        const y = totalCount(b.value as HistBucket[]);
        return x < y ? -1 : x > y ? 1 : 0;
      });
      break;
    case "value": {
      const intValued = data.type
        ? data.type.kind === "int"
        : entries.every((e) => isIntValue(e.value as Value));
      if (intValued) entries.sort(byValueThenKey);
      else entries.sort((a, b) => compareKeys(a.key, b.key));
      break;
    }
  }
  return { ...data, entries } as T;
}
