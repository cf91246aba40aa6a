/**
 * Decoding ring-buffer event records by their {@linkcode EventFormat}: a
 * decoder per format id, built once and cached per program.
 *
 * @module
 */

import { decodeValue, readU64, stringAt, toInt, view } from "./decode_value.ts";
import type { EventFormat, Program, TypeDesc } from "../program.ts";
import type { DecodedEvent, Int, SymbolResolver, Value } from "./types.ts";

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

/** Decodes one argument of a record at an absolute offset. */
type ArgReader = (
  rec: Uint8Array,
  resolver: SymbolResolver | undefined,
) => Value;

function argReader(t: TypeDesc, at: number, format = false): ArgReader {
  if (format && t.kind === "int" && t.show === "enum") {
    // `printf("%s", e)` asks for the name, in JSON output too (0.26).
    return (r) => decodeValue(r, at, t);
  }
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
    return (r, resolver) =>
      resolver?.strTruncTrailer === undefined
        ? stringAt(r, at, size)
        : decodeValue(r, at, t, resolver);
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
  const format = a.kind !== "exit" && a.kind !== "print_value";
  const readers = types.map((t, i) => argReader(t, 8 + offsets[i], format));
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
