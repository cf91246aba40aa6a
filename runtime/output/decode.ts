/**
 * Decoding raw engine data into plain values: single values by
 * {@linkcode TypeDesc}, whole maps (reduced over CPUs, grouped, sorted as
 * bpftrace sorts them) and ring-buffer event records.
 *
 * Value layouts this module expects (the contract with the code generator):
 *
 * - `count`, `sum`: one 64-bit integer per CPU, summed.
 * - `min`, `max` with `valueSize` 16: per CPU an i64 value then a u64 flag,
 *   non-zero once that CPU has stored a value; CPUs without the flag are
 *   ignored. With `valueSize` 8: bpftrace 0.17's convention: `max` stores the
 *   value, `min` stores `0xffffffff - value`, 0 means "unset" on a CPU.
 * - `avg`, `stats`: per CPU a u64 count then an i64 total, summed.
 * - `hist`, `lhist`: the key ends in a u64 bucket index; the value is a u64
 *   count per CPU, summed.
 * - `value`: the stored value decoded by its type; integers of per-CPU maps
 *   are summed, as bpftrace does.
 * - Keyless aggregations in a per-CPU array (u32 key: the hist/lhist bucket,
 *   else 0): every slot exists; one no CPU wrote (count or bucket count 0;
 *   `sum` (`valueSize` 16), `min`, `max`: the u64 flag after the value 0)
 *   is no entry, as in the hash map it stands for.
 *
 * @module
 */

import type { RawMapEntry } from "../engines/engine.ts";
import { MapType } from "../bpf/opcodes.ts";
import { hostBootTimeNs } from "./boot_time.ts";
import { formatStrftime } from "./strftime.ts";
import { decodeTseries } from "./tseries.ts";
import type { EventFormat, MapSpec, Program, TypeDesc } from "../program.ts";
import type {
  ArrayValue,
  BufValue,
  DecodedEvent,
  HistBucket,
  Int,
  MapData,
  MapEntry,
  RecordValue,
  StackValue,
  Stats,
  SymbolResolver,
  Value,
} from "./types.ts";

const MAX_SAFE = 2n ** 53n;
const decoder = new TextDecoder();

/** Turns a 64-bit bigint into a `number` when it is exactly representable. */
export function toInt(v: bigint): Int {
  return v < MAX_SAFE && v > -MAX_SAFE ? Number(v) : v;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function readInt(
  dv: DataView,
  offset: number,
  size: number,
  signed: boolean,
): Int {
  switch (size) {
    case 1:
      return signed ? dv.getInt8(offset) : dv.getUint8(offset);
    case 2:
      return signed ? dv.getInt16(offset, true) : dv.getUint16(offset, true);
    case 4:
      return signed ? dv.getInt32(offset, true) : dv.getUint32(offset, true);
    default: {
      // Fast path: values below 2^52 in magnitude need no BigInt.
      const hi = signed
        ? dv.getInt32(offset + 4, true)
        : dv.getUint32(offset + 4, true);
      if (hi < 0x100000 && hi >= -0x100000) {
        return hi * 0x100000000 + dv.getUint32(offset, true);
      }
      return toInt(
        signed ? dv.getBigInt64(offset, true) : dv.getBigUint64(offset, true),
      );
    }
  }
}

function readU64(bytes: Uint8Array, offset: number): bigint {
  return view(bytes).getBigUint64(offset, true);
}

function readI64(bytes: Uint8Array, offset: number): bigint {
  return view(bytes).getBigInt64(offset, true);
}

let passwd: Map<number, string> | undefined;

let numberNamer:
  | ((table: "errno" | "signal" | "syscall", n: number) => string)
  | undefined;

/**
 * Loads the names numbers print as (`strerror()`, `signal_name()`,
 * `syscall_name()`) when `program` has such values; until then they
 * decode as their numbers. Kept out of the start-up module graph.
 *
 * @example Usage
 * ```ts
 * import { compile } from "../compiler/compile.ts";
 * import { loadNumberNames } from "./decode.ts";
 * await loadNumberNames(compile("BEGIN { print(strerror(1)); }"));
 * ```
 */
export async function loadNumberNames(program: Program): Promise<void> {
  if (numberNamer !== undefined) return;
  const used = JSON.stringify([
    program.formats.map((f) => f.action),
    program.maps,
  ]).includes('"kind":"intname"');
  if (used) numberNamer = (await import("./int_names.ts")).numberName;
}

/**
 * The name /etc/passwd gives `uid`, or `""` when it has none (or cannot be
 * read), as bpftrace prints `username`.
 */
export function userName(uid: number): string {
  if (passwd === undefined) {
    passwd = new Map();
    let text = "";
    try {
      text = Deno.readTextFileSync("/etc/passwd");
    } catch {
      // No file or no permission: every name is unknown.
    }
    for (const line of text.split("\n")) {
      const f = line.split(":");
      if (f.length >= 3 && /^\d+$/.test(f[2]) && !passwd.has(Number(f[2]))) {
        passwd.set(Number(f[2]), f[0]);
      }
    }
  }
  return passwd.get(uid) ?? "";
}

function hexAddr(addr: bigint): string {
  // bpftrace prints an unresolved address with `(void *)` stream output.
  return addr === 0n ? "0" : "0x" + addr.toString(16);
}

/**
 * Formats IPv4 (4 bytes) or IPv6 (16 bytes) addresses as `inet_ntop` does.
 *
 * @example Formatting addresses
 * ```ts
 * import { formatInet } from "./decode.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatInet(new Uint8Array([127, 0, 0, 1])), "127.0.0.1");
 * const v6 = new Uint8Array(16);
 * v6[15] = 1;
 * assert.equal(formatInet(v6), "::1");
 * ```
 */
export function formatInet(addr: Uint8Array): string {
  if (addr.length === 4) return addr.join(".");
  if (addr.length !== 16) return "";
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((addr[i] << 8) | addr[i + 1]);
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms, as glibc prints.
  if (
    words.slice(0, 5).every((w) => w === 0) &&
    (words[5] === 0xffff || (words[5] === 0 && (words[6] !== 0))) &&
    !(words[5] === 0 && words[6] === 0)
  ) {
    const v4 = `${addr[12]}.${addr[13]}.${addr[14]}.${addr[15]}`;
    return words[5] === 0xffff ? `::ffff:${v4}` : `::${v4}`;
  }
  // Longest run (length ≥ 2) of zero words becomes "::".
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return words.map((w) => w.toString(16)).join(":");
  const head = words.slice(0, bestStart).map((w) => w.toString(16));
  const tail = words.slice(bestStart + bestLen).map((w) => w.toString(16));
  return head.join(":") + "::" + tail.join(":");
}

/**
 * Decodes one value of type `type` at `offset` in `bytes`.
 *
 * Integers become {@linkcode Int}; strings stop at the first NUL; tuples
 * become arrays; `ksym`/`usym` are resolved through `resolver` (hexadecimal
 * without one; a 16-byte `usym` passes its tgid as `pid`); `username` through `resolver.username` or /etc/passwd;
 * `kstack`/`ustack` hold a stack id that `resolver.stack` turns into frames
 * (perf mode adds `resolver.stackAddresses` and, for user frames,
 * `resolver.userModule`); `inet` is formatted like `ntop()`; a
 * `timestamp` with a `format` (`strftime()`) becomes that text: the
 * boot-clock nanoseconds plus the boot time (`resolver.bootTimeNs`, else
 * the host's), formatted in local time (without a format: the raw
 * nanoseconds).
 *
 * @example Decoding a tuple of an int and a string
 * ```ts
 * import { decodeValue } from "./decode.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new Uint8Array(12);
 * new DataView(bytes.buffer).setInt32(0, -5, true);
 * bytes.set(new TextEncoder().encode("hi"), 4);
 * const v = decodeValue(bytes, 0, {
 *   kind: "tuple",
 *   fields: [{ kind: "int", size: 4, signed: true }, { kind: "string", size: 8 }],
 *   offsets: [0, 4],
 *   size: 12,
 * });
 * assert.deepEqual(v, [-5, "hi"]);
 * ```
 */
export function decodeValue(
  bytes: Uint8Array,
  offset: number,
  type: TypeDesc,
  resolver?: SymbolResolver,
): Value {
  switch (type.kind) {
    case "int": {
      const v = readInt(view(bytes), offset, type.size, type.signed);
      return type.show === undefined ? v : showInt(v, type);
    }
    case "string":
      return stringAt(bytes, offset, type.size);
    case "buf": {
      // Layout as bpftrace: a length byte, then the data.
      const len = Math.min(bytes[offset], type.size - 1);
      const buf: BufValue = {
        type: "buf",
        bytes: bytes.slice(offset + 1, offset + 1 + len),
      };
      return buf;
    }
    case "tuple": {
      const vs = type.fields.map((f, i) =>
        decodeValue(bytes, offset + type.offsets[i], f, resolver)
      );
      if (type.names === undefined) return vs;
      const rec: RecordValue = {
        type: "record",
        fields: vs.map((v, i) => [type.names![i], v]),
      };
      return rec;
    }
    case "record": {
      const rec: RecordValue = {
        type: "record",
        fields: type.fields.map((f): [string, Value] => [
          f.name,
          f.bits === undefined
            ? decodeValue(bytes, offset + f.offset, f.type, resolver)
            : bitfield(bytes, offset + f.offset, f.type, f.bits),
        ]),
        struct: true,
      };
      return rec;
    }
    case "array": {
      const es = type.count > 0 ? type.size / type.count : 0;
      const arr: ArrayValue = {
        type: "array",
        values: Array.from(
          { length: type.count },
          (_, i) => decodeValue(bytes, offset + i * es, type.elem, resolver),
        ),
      };
      return arr;
    }
    case "ksym": {
      const addr = readU64(bytes, offset);
      return resolver ? resolver.ksym(addr) : hexAddr(addr);
    }
    case "usym": {
      const addr = readU64(bytes, offset);
      if (!resolver) return hexAddr(addr);
      // Size 16: the tgid follows the address (bpftrace's layout).
      return type.size >= 16
        ? resolver.usym(addr, Number(readU64(bytes, offset + 8) & 0xffffffffn))
        : resolver.usym(addr);
    }
    case "kstack":
    case "ustack": {
      const raw = readU64(bytes, offset);
      const id = Number(BigInt.asIntN(32, raw));
      const kernel = type.kind === "kstack";
      const pid = Number(raw >> 32n);
      if (type.mode === "raw") {
        // No symbols: the addresses in hexadecimal (bpftrace's raw mode).
        const addrs = resolver?.stackAddresses && id >= 0
          ? resolver.stackAddresses(type.mapIndex, id)
          : [];
        return {
          type: "stack",
          kernel,
          mode: "raw",
          frames: addrs.slice(0, type.depth).map((a) => a.toString(16)),
        };
      }
      const stack: StackValue = {
        type: "stack",
        kernel,
        frames: resolver && id >= 0
          ? resolver.stack(type.mapIndex, id, kernel, kernel ? undefined : pid)
            .slice(0, type.depth)
          : [],
      };
      if (type.mode === "perf") {
        stack.mode = "perf";
        const addrs = resolver?.stackAddresses && id >= 0
          ? resolver.stackAddresses(type.mapIndex, id)
          : undefined;
        if (addrs !== undefined) {
          stack.addresses = addrs.slice(0, stack.frames.length);
          // perf mode names the object of every user frame, as bpftrace.
          const mod = resolver?.userModule;
          if (!kernel && mod !== undefined) {
            stack.frames = stack.frames.map((f, i) => {
              const a = stack.addresses![i];
              const m = a === undefined ? undefined : mod(a, pid);
              return `${f} (${m ?? "[unknown]"})`;
            });
          }
        }
      }
      return stack;
    }
    case "inet": {
      // Layout as bpftrace: a u64 address family, then the address bytes.
      if (type.size >= 24) {
        const family = readU64(bytes, offset);
        const len = family === 10n ? 16 : 4;
        return formatInet(bytes.subarray(offset + 8, offset + 8 + len));
      }
      return formatInet(bytes.subarray(offset, offset + type.size));
    }
    case "timestamp": {
      // Boot-clock nanoseconds (`nsecs`): with a format (`strftime()`),
      // the wall-clock time formatted as bpftrace prints it.
      const ns = readU64(bytes, offset);
      if (type.format === undefined) return toInt(ns);
      const boot = resolver?.bootTimeNs?.() ?? hostBootTimeNs();
      return formatStrftime(type.format, boot + ns);
    }
    case "username": {
      const uid = view(bytes).getUint32(offset, true);
      return resolver?.username?.(uid) ?? userName(uid);
    }
    case "intname": {
      const n = Number(BigInt.asIntN(32, readU64(bytes, offset)));
      return numberNamer === undefined ? String(n) : numberNamer(type.table, n);
    }
    case "none":
      return 0;
  }
}

/**
 * An integer shown as 0.26 prints it: a bool as `true`/`false`, a typed
 * pointer as hex text, an enum as its enumerator's name (its number when
 * the value names none).
 */
function showInt(v: Int, type: TypeDesc & { kind: "int" }): Value {
  switch (type.show) {
    case "bool":
      return v !== 0 && v !== 0n;
    case "hex":
      return "0x" + BigInt.asUintN(64, BigInt(v)).toString(16);
    case "enum": {
      const text = String(v);
      const hit = type.enumerators?.find(([n]) => n === text);
      return hit === undefined ? v : hit[1];
    }
    default:
      return v;
  }
}

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
      const boot = resolver?.bootTimeNs?.() ?? hostBootTimeNs();
      const out = decodeTseries(spec, entries, boot).map((g) => ({
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

/** Reads a little-endian u32 without a DataView. */
function u32At(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/** Reads a little-endian u64 as {@linkcode Int} without a DataView. */
function u64At(b: Uint8Array, o: number): Int {
  const hi = u32At(b, o + 4);
  if (hi < 0x100000) return hi * 0x100000000 + u32At(b, o);
  return toInt(view(b).getBigUint64(o, true));
}

/** Reads a little-endian i64 as {@linkcode Int} without a DataView. */
function i64At(b: Uint8Array, o: number): Int {
  const hi = b[o + 4] | (b[o + 5] << 8) | (b[o + 6] << 16) | (b[o + 7] << 24);
  if (hi < 0x100000 && hi >= -0x100000) {
    return hi * 0x100000000 + u32At(b, o);
  }
  return toInt(view(b).getBigInt64(o, true));
}

/**
 * A NUL-terminated string of at most `size` bytes at `o`: ASCII directly,
 * anything else through `TextDecoder` (the same text either way).
 */
function stringAt(b: Uint8Array, o: number, size: number): string {
  const end = Math.min(o + size, b.length);
  let i = o;
  for (; i < end; i++) {
    const c = b[i];
    if (c === 0) break;
    if (c >= 0x80) {
      let nul = b.indexOf(0, i);
      if (nul < 0 || nul > end) nul = end;
      return decoder.decode(b.subarray(o, nul));
    }
  }
  if (i === o) return "";
  return String.fromCharCode.apply(
    null,
    b.subarray(o, i) as unknown as number[],
  );
}

/** Decodes one argument of a record at an absolute offset. */
type ArgReader = (
  rec: Uint8Array,
  resolver: SymbolResolver | undefined,
) => Value;

function argReader(t: TypeDesc, at: number): ArgReader {
  if (t.kind === "int" && t.show !== undefined) {
    return (r, resolver) => decodeValue(r, at, t, resolver);
  }
  if (t.kind === "int") {
    if (t.size === 8) {
      return t.signed ? (r) => i64At(r, at) : (r) => u64At(r, at);
    }
    if (t.size === 4) {
      return t.signed ? (r) => u32At(r, at) | 0 : (r) => u32At(r, at);
    }
    if (t.size === 2) {
      return t.signed
        ? (r) => ((r[at] | (r[at + 1] << 8)) << 16) >> 16
        : (r) => r[at] | (r[at + 1] << 8);
    }
    return t.signed ? (r) => (r[at] << 24) >> 24 : (r) => r[at];
  }
  if (t.kind === "string") {
    const size = t.size;
    return (r) => stringAt(r, at, size);
  }
  return (r, resolver) => decodeValue(r, at, t, resolver);
}

/** A format's record decoder, built once from its types and offsets. */
interface FormatDecoder {
  /** The format it was built from (formats are replaced, not mutated). */
  fmt: EventFormat;
  /**
   * Bytes a record needs for its integer arguments (strings end early at
   * the record's end instead).
   */
  minLength: number;
  decode(
    rec: Uint8Array,
    resolver: SymbolResolver | undefined,
  ): DecodedEvent;
}

function buildDecoder(id: number, fmt: EventFormat): FormatDecoder {
  const a = fmt.action;
  const offsets = fmt.layout.offsets;
  const intEnd = (types: TypeDesc[]) =>
    types.reduce(
      (m, t, i) => t.kind === "int" ? Math.max(m, 8 + offsets[i] + t.size) : m,
      8,
    );
  if (a.kind === "join") {
    // A u64 count, then up to `args.length - 1` strings: keep the first
    // `count`, stopping early at an empty one as bpftrace 0.17 does.
    const max = Math.max(0, a.args.length - 1);
    const countAt = 8 + offsets[0];
    const readers = a.args.map((t, i) => argReader(t, 8 + offsets[i]));
    return {
      fmt,
      minLength: countAt + 8,
      decode(rec, resolver) {
        const c = u64At(rec, countAt);
        const n = Math.min(typeof c === "number" ? c : max, max);
        const out: Value[] = [];
        for (let i = 1; i <= n; i++) {
          const v = readers[i](rec, resolver);
          if (v === "") break;
          out.push(v);
        }
        return { id, action: a, args: out };
      },
    };
  }
  let types: TypeDesc[] = [];
  if (
    a.kind === "printf" || a.kind === "system" || a.kind === "cat" ||
    a.kind === "emit" || a.kind === "errorf" || a.kind === "warnf"
  ) {
    types = a.args;
  } else if (a.kind === "exit") types = a.args ?? [];
  else if (a.kind === "print_value") types = [a.type];
  const readers = types.map((t, i) => argReader(t, 8 + offsets[i]));
  const n = readers.length;
  const minLength = intEnd(types);
  if (n === 0) {
    return { fmt, minLength, decode: () => ({ id, action: a, args: [] }) };
  }
  return {
    fmt,
    minLength,
    decode(rec, resolver) {
      const args: Value[] = new Array(n);
      for (let i = 0; i < n; i++) args[i] = readers[i](rec, resolver);
      return { id, action: a, args };
    },
  };
}

/** Per program (by its format table), the decoders built so far. */
const decoders = new WeakMap<EventFormat[], (FormatDecoder | undefined)[]>();

/**
 * Decodes a ring-buffer record: the leading u64 is the index into
 * `program.formats`; the arguments follow at `layout.offsets` (relative to
 * the end of the id). A `join` record's arguments are its first `count`
 * strings up to the first empty one (the count itself is not among them).
 *
 * Each format's decoder (argument readers at fixed offsets) is built on
 * first use and kept with the program's format table, so a record costs
 * only its reads; ASCII strings are decoded without `TextDecoder`.
 *
 * @example Decoding a printf record
 * ```ts
 * import { decodeEvent } from "./decode.ts";
 * import assert from "node:assert/strict";
 *
 * const rec = new Uint8Array(16);
 * new DataView(rec.buffer).setBigUint64(8, 42n, true);
 * const ev = decodeEvent({
 *   probes: [], maps: [],
 *   formats: [{
 *     id: 0,
 *     action: { kind: "printf", format: "%d\n", args: [{ kind: "int", size: 8, signed: false }] },
 *     layout: { offsets: [0], size: 8 },
 *   }],
 * }, rec);
 * assert.deepEqual(ev.args, [42]);
 * ```
 */
export function decodeEvent(
  program: Program,
  record: Uint8Array,
  resolver?: SymbolResolver,
): DecodedEvent {
  if (record.length < 8) {
    throw new RangeError(
      `Event record too short: ${record.length} bytes, need at least 8`,
    );
  }
  const formats = program.formats;
  const id = u32At(record, 0);
  const fmt = u32At(record, 4) === 0 ? formats[id] : undefined;
  if (!fmt) {
    throw new RangeError(`Unknown event format id ${readU64(record, 0)}`);
  }
  let cache = decoders.get(formats);
  if (cache === undefined) {
    cache = [];
    decoders.set(formats, cache);
  }
  let d = cache[id];
  if (d === undefined || d.fmt !== fmt) {
    d = buildDecoder(id, fmt);
    cache[id] = d;
  }
  if (record.length < d.minLength) {
    throw new RangeError(
      `Event record too short for format ${id}: ${record.length} bytes, need ${d.minLength}`,
    );
  }
  return d.decode(record, resolver);
}

/** A bit-field: `width` bits from bit `shift` of the bytes at `offset`. */
function bitfield(
  bytes: Uint8Array,
  offset: number,
  type: TypeDesc,
  bits: { shift: number; width: number },
): Int {
  let raw = 0n;
  const n = Math.ceil((bits.shift + bits.width) / 8);
  for (let i = n - 1; i >= 0; i--) {
    raw = (raw << 8n) | BigInt(bytes[offset + i] ?? 0);
  }
  let v = (raw >> BigInt(bits.shift)) & ((1n << BigInt(bits.width)) - 1n);
  if (type.kind === "int" && type.signed) v = BigInt.asIntN(bits.width, v);
  return toInt(v);
}
