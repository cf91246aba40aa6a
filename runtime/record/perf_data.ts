/**
 * perf.data import: a file from `perf record -e 'subsys:event' ...` read
 * as a recording. Each tracepoint sample (`PERF_SAMPLE_RAW`) becomes an
 * event of the probe on that tracepoint, with its tid, time and CPU; the
 * process names come from the file's `PERF_RECORD_COMM` records; the
 * tracepoint formats from its tracing data (the same text tracefs gives).
 * A perf.data file holds no helper results, reads or user ids: replaying a
 * program that needs them is a one-line error.
 *
 * The layout read (see `linux/perf_event.h` and perf's
 * `Documentation/perf.data-file-format.txt`): a 104-byte header with the
 * attribute, data and feature sections; attributes with their sample ids;
 * records (`perf_event_header`, then the body) in the data section; the
 * feature sections after it, one per bit set in the header's bitmap.
 *
 * @module
 */

import {
  parseTracepointFormat,
  tracepointContext,
  type TracepointFormat,
} from "../probes/tracepoint_format.ts";
import {
  blankEvent,
  type RecordedEvent,
  RecordingError,
  type RecordingHeader,
  type Trailer,
  VERSION,
} from "./format.ts";
import {
  type ByteSource,
  emptySymbols,
  fileSource,
  type OpenOptions,
  type Recording,
} from "./reader.ts";

const PERF_MAGIC = 0x32454c4946524550n; // "PERFILE2"
const HEADER_SIZE = 104;
const RECORD_COMM = 3;
const RECORD_LOST = 2;
const RECORD_SAMPLE = 9;
const RECORD_LOST_SAMPLES = 13;
const FEAT_TRACING_DATA = 1;
const FEAT_OSRELEASE = 4;
const FEAT_NRCPUS = 7;
const FEAT_EVENT_DESC = 12;

const S = {
  IP: 1n << 0n,
  TID: 1n << 1n,
  TIME: 1n << 2n,
  ADDR: 1n << 3n,
  READ: 1n << 4n,
  CALLCHAIN: 1n << 5n,
  ID: 1n << 6n,
  CPU: 1n << 7n,
  PERIOD: 1n << 8n,
  STREAM_ID: 1n << 9n,
  RAW: 1n << 10n,
  IDENTIFIER: 1n << 16n,
};

interface Attr {
  type: number;
  config: number;
  sampleType: bigint;
  ids: bigint[];
}

const decoder = new TextDecoder();

/** Reads little-endian values at offsets of one buffer. */
class View {
  readonly dv: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u16(at: number): number {
    return this.dv.getUint16(at, true);
  }
  u32(at: number): number {
    return this.dv.getUint32(at, true);
  }
  u64(at: number): bigint {
    return this.dv.getBigUint64(at, true);
  }
  n64(at: number): number {
    return Number(this.dv.getBigUint64(at, true));
  }
}

/**
 * Opens a perf.data file as a {@linkcode Recording}.
 *
 * @throws {RecordingError} for a file that is not perf.data, is truncated
 *   (unless `salvage`), or has no tracepoint samples to replay.
 * @example Open a perf.data file
 * ```ts ignore
 * import { openPerfData } from "./perf_data.ts";
 * using rec = openPerfData("perf.data");
 * console.log(rec.header.probes.map((p) => p.attach[0]));
 * ```
 */
export function openPerfData(
  path: string,
  options: OpenOptions = {},
): Recording {
  let src: ByteSource;
  try {
    src = fileSource(path);
  } catch (e) {
    throw new RecordingError(
      `Cannot open "${path}": ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  try {
    return readPerfData(src, path, options);
  } catch (e) {
    src.close();
    throw e;
  }
}

function readPerfData(
  src: ByteSource,
  name: string,
  options: OpenOptions,
): Recording {
  const fail = (what: string, at: number) =>
    new RecordingError(`perf.data file "${name}" ${what} (at byte ${at})`, at);
  const h = new View(src.read(0, HEADER_SIZE));
  if (h.bytes.length < HEADER_SIZE || h.u64(0) !== PERF_MAGIC) {
    throw fail("is not a perf.data file (version 2)", 0);
  }
  const attrSize = h.n64(16);
  const attrsAt = h.n64(24), attrsLen = h.n64(32);
  const dataAt = h.n64(40), dataLen = h.n64(48);
  const features = h.bytes.slice(72, 104);
  // Attributes and their sample ids.
  const attrs: Attr[] = [];
  const ab = new View(src.read(attrsAt, attrsLen));
  if (ab.bytes.length < attrsLen || attrSize < 80) {
    throw fail("is truncated in its attributes", attrsAt);
  }
  for (let at = 0; at + attrSize <= attrsLen; at += attrSize) {
    const size = ab.u32(at + 4);
    const idsAt = ab.n64(at + size), idsLen = ab.n64(at + size + 8);
    const ib = new View(src.read(idsAt, idsLen));
    const ids: bigint[] = [];
    for (let k = 0; k + 8 <= ib.bytes.length; k += 8) ids.push(ib.u64(k));
    attrs.push({
      type: ab.u32(at),
      config: ab.n64(at + 8),
      sampleType: ab.u64(at + 24),
      ids,
    });
  }
  // Feature sections follow the data, one per bit set.
  const sections = new Map<number, [number, number]>();
  let secAt = dataAt + dataLen;
  for (let bit = 0; bit < 256; bit++) {
    if (!(features[bit >> 3] & (1 << (bit & 7)))) continue;
    const s = new View(src.read(secAt, 16));
    if (s.bytes.length === 16) sections.set(bit, [s.n64(0), s.n64(8)]);
    secAt += 16;
  }
  const section = (bit: number) => {
    const s = sections.get(bit);
    return s === undefined ? undefined : src.read(s[0], s[1]);
  };
  const formats = tracingFormats(section(FEAT_TRACING_DATA));
  const release = stringFeature(section(FEAT_OSRELEASE)) ?? "unknown";
  const cpus = section(FEAT_NRCPUS);
  const numCpus = cpus !== undefined && cpus.length >= 8
    ? new View(cpus).u32(0)
    : 1;
  const names = eventNames(section(FEAT_EVENT_DESC));
  // Tracepoint attributes become probes.
  const probeOf = new Map<bigint, number>();
  const probes: RecordingHeader["probes"] = [];
  const used: TracepointFormat[] = [];
  for (const a of attrs) {
    if (a.type !== 2) continue; // PERF_TYPE_TRACEPOINT
    const f = formats.get(a.config);
    const text = f !== undefined
      ? `${f.category}:${f.name}`
      : a.ids.map((id) => names.get(id)).find((n) => n !== undefined);
    if (text === undefined) continue;
    const index = probes.length;
    probes.push({
      name: text,
      attach: [`tracepoint:${text}`],
      ctx: f === undefined
        ? { kind: "tracepoint", size: 8 }
        : tracepointContext(f),
    });
    if (f !== undefined) used.push(f);
    for (const id of a.ids) probeOf.set(id, index);
    if (a.ids.length === 0) probeOf.set(-1n, index);
  }
  if (probes.length === 0) {
    if (src.size < secAt) {
      // perf writes the event descriptions last: a file cut short has none.
      throw fail(
        "is truncated: it ends before its event descriptions, so its samples cannot be named",
        src.size,
      );
    }
    throw fail("has no tracepoint events (record with -e 'subsys:event')", 0);
  }
  const single = attrs.length === 1 ? attrs[0] : undefined;
  const attrOf = new Map<bigint, Attr>();
  for (const a of attrs) for (const id of a.ids) attrOf.set(id, a);
  const sampleType0 = attrs[0].sampleType;
  // One pass over the records: count, times, losses, damage.
  let at = dataAt;
  const end = dataAt + dataLen;
  let events = 0, lost = 0;
  let first: number | undefined, last: number | undefined;
  let damage: RecordingError | undefined;
  const scanner = new Chunked(src, dataAt, end);
  const commHistory = new Map<number, [number, Uint8Array][]>();
  const idTime = sampleIdTimeFromEnd(sampleType0);
  while (at < end) {
    const hv = scanner.view(at, 8);
    if (hv === undefined) {
      damage = fail("is truncated in a record header", at);
      break;
    }
    const type = hv.u32(0), size = hv.u16(6);
    if (size < 8) {
      damage = fail(`is corrupted: a record of ${size} bytes`, at);
      break;
    }
    const body = scanner.view(at, size);
    if (body === undefined || at + size > end) {
      damage = fail("is truncated: a record runs past the data", at);
      break;
    }
    if (type === RECORD_COMM) {
      // Names by time: perf writes per-CPU rounds, so a sample may come
      // before the COMM record of an exec that preceded it.
      const tid = body.u32(12);
      const raw = body.bytes.subarray(16, size);
      const nul = raw.indexOf(0);
      const comm = new Uint8Array(16);
      comm.set(raw.subarray(0, Math.min(15, nul < 0 ? raw.length : nul)));
      const t = idTime === undefined || size < 16 + idTime
        ? 0
        : body.n64(size - idTime);
      let h = commHistory.get(tid);
      if (h === undefined) commHistory.set(tid, h = []);
      h.push([t, comm]);
    } else if (type === RECORD_SAMPLE) {
      const s = parseSample(body, single, attrOf, sampleType0);
      if (s !== undefined && probeOf.has(s.id ?? -1n)) {
        events++;
        if (s.time !== undefined) {
          // Samples are in per-CPU rounds, not in time order.
          if (first === undefined || s.time < first) first = s.time;
          if (last === undefined || s.time > last) last = s.time;
        }
      }
    } else if (type === RECORD_LOST) lost += body.n64(16);
    else if (type === RECORD_LOST_SAMPLES) lost += body.n64(8);
    at += size;
  }
  if (damage === undefined && src.size < end) {
    damage = fail("is truncated: its data section is cut short", src.size);
  }
  if (damage !== undefined && !options.salvage) {
    throw new RecordingError(
      `${damage.message}; --salvage replays the events before it`,
      damage.offset,
    );
  }
  const header: RecordingHeader = {
    version: VERSION,
    producer: "perf.data",
    created: new Date(0).toISOString(),
    kernelRelease: release,
    bootTimeNs: "0",
    numCpus: Math.max(1, numCpus),
    probes,
    stringCapture: 0,
    formats: used,
    facts: ["pid", "tid", "cpu", "time", "comm"],
  };
  const trailer: Trailer = { events, lost, incomplete: 0 };
  if (first !== undefined) {
    trailer.firstNs = String(first);
    trailer.lastNs = String(last);
  }
  const stream = () => {
    const chunks = new Chunked(src, dataAt, end);
    for (const h of commHistory.values()) h.sort((a, b) => a[0] - b[0]);
    const commAt = (tid: number, t: number): Uint8Array | undefined => {
      const h = commHistory.get(tid);
      if (h === undefined) return undefined;
      let best: Uint8Array | undefined;
      for (const [at, c] of h) if (at <= t) best = c;
      return best ?? h[0][1];
    };
    const ev = blankEvent();
    let pos = dataAt;
    return {
      next(): RecordedEvent | undefined {
        while (pos < end) {
          const hv = chunks.view(pos, 8);
          if (hv === undefined) return undefined;
          const type = hv.u32(0), size = hv.u16(6);
          const body = size >= 8 ? chunks.view(pos, size) : undefined;
          if (body === undefined) return undefined;
          pos += size;
          if (type !== RECORD_SAMPLE) continue;
          const s = parseSample(body, single, attrOf, sampleType0);
          const probe = s === undefined ? undefined : probeOf.get(s.id ?? -1n);
          if (s === undefined || probe === undefined) continue;
          ev.probe = probe;
          ev.cpu = s.cpu ?? 0;
          ev.timeNs = s.time ?? 0;
          ev.pid = s.pid ?? 0;
          ev.tid = s.tid ?? 0;
          ev.comm = commAt(ev.tid, ev.timeNs) ?? commAt(ev.pid, ev.timeNs) ??
            new Uint8Array(16);
          ev.ctx = s.raw ?? new Uint8Array(0);
          ev.calls.length = 0;
          return ev;
        }
        return undefined;
      },
    };
  };
  return {
    header,
    trailer: damage === undefined ? trailer : undefined,
    symbols: emptySymbols(),
    damage,
    *events() {
      const s = stream();
      for (let e = s.next(); e !== undefined; e = s.next()) {
        yield { ...e, comm: e.comm.slice(), ctx: e.ctx.slice(), calls: [] };
      }
    },
    stream,
    close: () => src.close(),
    [Symbol.dispose]: () => src.close(),
  };
}

/**
 * Bytes from the end of a non-sample record to its `sample_id` time
 * (`sample_id_all`): TIME is followed by ID, STREAM_ID, CPU and IDENTIFIER
 * when present. Undefined without TIME.
 */
function sampleIdTimeFromEnd(t: bigint): number | undefined {
  if (!(t & S.TIME)) return undefined;
  let n = 8;
  if (t & S.ID) n += 8;
  if (t & S.STREAM_ID) n += 8;
  if (t & S.CPU) n += 8;
  if (t & S.IDENTIFIER) n += 8;
  return n;
}

interface Sample {
  id?: bigint;
  pid?: number;
  tid?: number;
  time?: number;
  cpu?: number;
  raw?: Uint8Array;
}

/** The fields of a sample record up to its raw data. */
function parseSample(
  v: View,
  single: Attr | undefined,
  attrOf: Map<bigint, Attr>,
  type0: bigint,
): Sample | undefined {
  let at = 8;
  const out: Sample = {};
  let t = single?.sampleType ?? type0;
  if (t & S.IDENTIFIER) {
    out.id = v.u64(at);
    at += 8;
    const a = attrOf.get(out.id);
    if (a === undefined) return undefined;
    t = a.sampleType;
  }
  if (t & S.IP) at += 8;
  if (t & S.TID) {
    out.pid = v.u32(at);
    out.tid = v.u32(at + 4);
    at += 8;
  }
  if (t & S.TIME) {
    out.time = v.n64(at);
    at += 8;
  }
  if (t & S.ADDR) at += 8;
  if (t & S.ID) {
    out.id ??= v.u64(at);
    at += 8;
  }
  if (t & S.STREAM_ID) at += 8;
  if (t & S.CPU) {
    out.cpu = v.u32(at);
    at += 8;
  }
  if (t & S.PERIOD) at += 8;
  if (t & S.READ) return out.id === undefined && single ? out : out; // no raw
  if (t & S.CALLCHAIN) at += 8 + 8 * v.n64(at);
  if (t & S.RAW) {
    const n = v.u32(at);
    if (at + 4 + n > v.bytes.length) return undefined;
    out.raw = v.bytes.slice(at + 4, at + 4 + n);
  }
  if (out.id === undefined && single !== undefined) {
    out.id = single.ids[0] ?? -1n;
  }
  return out;
}

/** Bounded-memory access to the data section: one chunk at a time. */
class Chunked {
  #base = 0;
  #buf: Uint8Array = new Uint8Array(0);
  #view?: View;
  constructor(
    readonly src: ByteSource,
    readonly start: number,
    readonly end: number,
  ) {}

  /** A view of `n` bytes at `at` (offset 0 of the view), or undefined. */
  view(at: number, n: number): View | undefined {
    if (at < this.#base || at + n > this.#base + this.#buf.length) {
      this.#base = at;
      this.#buf = this.src.read(at, Math.max(n, 1 << 20));
      this.#view = new View(this.#buf);
      if (this.#buf.length < n) return undefined;
    }
    const off = at - this.#base;
    return off === 0 ? this.#view : new View(this.#buf.subarray(off, off + n));
  }
}

function stringFeature(b: Uint8Array | undefined): string | undefined {
  if (b === undefined || b.length < 4) return undefined;
  const n = new View(b).u32(0);
  const s = b.subarray(4, 4 + n);
  const nul = s.indexOf(0);
  return decoder.decode(nul < 0 ? s : s.subarray(0, nul));
}

/** Event names by sample id, from the EVENT_DESC feature. */
function eventNames(b: Uint8Array | undefined): Map<bigint, string> {
  const out = new Map<bigint, string>();
  if (b === undefined || b.length < 8) return out;
  const v = new View(b);
  const nr = v.u32(0), attrSize = v.u32(4);
  let at = 8;
  for (let i = 0; i < nr && at < b.length; i++) {
    at += attrSize;
    const nrIds = v.u32(at);
    const len = v.u32(at + 4);
    const s = b.subarray(at + 8, at + 8 + len);
    const nul = s.indexOf(0);
    const name = decoder.decode(nul < 0 ? s : s.subarray(0, nul));
    at += 8 + len;
    for (let k = 0; k < nrIds; k++) out.set(v.u64(at + 8 * k), name);
    at += 8 * nrIds;
  }
  return out;
}

/** The event formats of the TRACING_DATA feature, by tracepoint id. */
function tracingFormats(
  b: Uint8Array | undefined,
): Map<number, TracepointFormat> {
  const out = new Map<number, TracepointFormat>();
  if (b === undefined || b.length < 16) return out;
  const v = new View(b);
  try {
    let at = 10; // "\x17\x08\x44tracing"
    const cstr = () => {
      const nul = b.indexOf(0, at);
      const s = decoder.decode(b.subarray(at, nul));
      at = nul + 1;
      return s;
    };
    cstr(); // version
    at += 2; // endianness, long size
    at += 4; // page size
    for (const _ of ["header_page", "header_event"]) {
      cstr();
      at += 8 + v.n64(at);
    }
    const ftrace = v.u32(at);
    at += 4;
    for (let i = 0; i < ftrace; i++) at += 8 + v.n64(at);
    const systems = v.u32(at);
    at += 4;
    for (let s = 0; s < systems; s++) {
      const system = cstr();
      const count = v.u32(at);
      at += 4;
      for (let i = 0; i < count; i++) {
        const len = v.n64(at);
        const text = decoder.decode(b.subarray(at + 8, at + 8 + len));
        at += 8 + len;
        try {
          const f = parseTracepointFormat(text, system);
          out.set(f.id, f);
        } catch {
          // an event perf could not describe: named from EVENT_DESC
        }
      }
    }
  } catch {
    // damaged tracing data: names come from EVENT_DESC, layouts are unknown
  }
  return out;
}
