/**
 * The recording file format (version 1): constants, the header, the event
 * model, and the byte codecs (CRC-32, varints) the writer and reader share.
 * docs/recording.md describes the layout in full.
 *
 * ```
 * file   = magic "TSBPFREC" | u16 version | u16 0 | u32 header length
 *          | u32 header CRC-32 | header (UTF-8 JSON) | block*
 * block  = u8 kind | u32 payload length | u32 payload CRC-32 | payload
 * ```
 *
 * Integers are little-endian. An `EVENTS` block holds events encoded one
 * after another (see {@linkcode encodeEvent}); `SYMBOLS` and `END` hold JSON.
 *
 * @module
 */

import type { ContextLayout } from "../program.ts";
import type { TracepointFormat } from "../probes/tracepoint_format.ts";

/** The first 8 bytes of every recording. */
export const MAGIC: Uint8Array = new TextEncoder().encode("TSBPFREC");
/** The format version this code writes and reads. */
export const VERSION = 1;
/** Bytes before the header JSON. */
export const PREAMBLE_SIZE = 20;
/** Bytes of a block's kind, length and CRC. */
export const BLOCK_HEADER_SIZE = 9;
/** Largest block payload a reader accepts (a guard against garbage lengths). */
export const MAX_BLOCK = 16 << 20;

/** Block kinds. */
export const BlockKind = {
  /** Events, encoded back to back. */
  EVENTS: 1,
  /** JSON: the symbol answers rendering needed ({@linkcode SymbolTable}). */
  SYMBOLS: 2,
  /** JSON: {@linkcode Trailer}; the last block of a complete file. */
  END: 3,
} as const;

/** One recorded probe: its attach points and context layout. */
export interface RecordedProbe {
  /** The probe's name in the program. */
  name: string;
  /** Canonical attach point texts, e.g. "tracepoint:syscalls:sys_enter_openat". */
  attach: string[];
  /** The context layout (for tracepoints: the format's fields). */
  ctx: ContextLayout;
}

/** The self-describing header, JSON after the preamble. */
export interface RecordingHeader {
  /** The format version (also in the preamble). */
  version: number;
  /** What made the file: "tsbpf" (the kernel engine) or "perf.data". */
  producer: "tsbpf" | "perf.data";
  /** ISO time the recording started. */
  created: string;
  /** `uname -r` of the recorded machine. */
  kernelRelease: string;
  /** Wall-clock ns since the epoch at which the boot clock read 0 (decimal). */
  bootTimeNs: string;
  /** Possible CPUs of the recorded machine. */
  numCpus: number;
  /** The probes, by the index events carry. */
  probes: RecordedProbe[];
  /** The recorded program's source, when tsbpf recorded it. */
  program?: { name: string; text: string };
  /** Bytes captured per `char *` tracepoint argument (0: none). */
  stringCapture: number;
  /** The formats of the recorded tracepoints, as tracefs gave them. */
  formats?: TracepointFormat[];
  /**
   * The task facts events carry, when not all of them ("pid", "tid",
   * "uid", "gid", "cpu", "time", "comm", "cgroup"): perf.data has no uid,
   * gid or cgroup.
   */
  facts?: string[];
  /**
   * The kernel types the program read (structures with the members read,
   * enums), as a BTF blob in base64, so that a replay compiles with no BTF
   * to read.
   */
  btf?: string;
  /**
   * Bytes of the events ring buffer (a power of two): output positions
   * ({@linkcode RING_POSITION}) are compared modulo it.
   */
  ringSize?: number;
  /**
   * False for events written by hand (the testing API): a probe the file
   * has no events for simply gets none, instead of refusing the replay.
   */
  complete?: boolean;
  /**
   * The recording holds only this process's runs (`-p PID`): runs of other
   * processes, which the program's pid test drops, were not recorded.
   */
  pid?: number;
}

/** The last block's contents. */
export interface Trailer {
  /** Events in the file. */
  events: number;
  /** Events the kernel could not hand over (ring buffer full). */
  lost: number;
  /** Events whose record overflowed the scratch area (incomplete). */
  incomplete: number;
  /** Monotonic ns of the earliest event (decimal), if any. */
  firstNs?: string;
  /** Monotonic ns of the latest event (decimal), if any. */
  lastNs?: string;
  /** Tick marks in the stream ({@linkcode MARK_PROBE}), when any. */
  marks?: number;
}

/**
 * Answers the live session's symbol resolver gave, keyed by query, so a
 * replay renders the same names with no kallsyms or /proc to read.
 */
export interface SymbolTable {
  /** `ksym` answers by address (hex). */
  ksym: Record<string, string>;
  /** `usym` answers by "pid:address" (hex). */
  usym: Record<string, string>;
  /** `stack` answers by "map:id:kernel:pid". */
  stack: Record<string, string[]>;
  /** `stackAddresses` answers by "map:id" (hex addresses). */
  stackAddresses: Record<string, string[]>;
  /** `userModule` answers by "pid:address". */
  userModule: Record<string, string | null>;
  /** `username` answers by uid. */
  username: Record<string, string>;
}

/** One recorded helper call, or one string captured at entry. */
export interface RecordedCall {
  /** The helper id. */
  helper: number;
  /** Captured by the recorder at entry, not called by the program. */
  capture: boolean;
  /** The helper's result (r0), as an unsigned 64-bit value. */
  r0: bigint;
  /** Reads: the source address (probe_read*); 0 otherwise. */
  addr: bigint;
  /** Helpers that write memory: the bytes they left at the destination. */
  bytes?: Uint8Array;
}

/** One recorded run of a probe. */
export interface RecordedEvent {
  /** Index into `RecordingHeader.probes`. */
  probe: number;
  /** The CPU it ran on. */
  cpu: number;
  /** Monotonic (`bpf_ktime_get_ns`) nanoseconds at entry. */
  timeNs: number;
  /** Process id (tgid). */
  pid: number;
  /** Thread id. */
  tid: number;
  /** User id. */
  uid: number;
  /** Group id. */
  gid: number;
  /** cgroup v2 id. */
  cgroupId: bigint;
  /** 16 bytes, NUL-padded. */
  comm: Uint8Array;
  /** Bit 0: the record overflowed and some calls are missing. */
  flags: number;
  /** The context bytes at entry. */
  ctx: Uint8Array;
  /** Helper results and reads, in call order (captures first). */
  calls: RecordedCall[];
}

/** Event flag: the kernel's scratch record overflowed. */
export const FLAG_INCOMPLETE = 1;

/** Helpers whose calls write memory, with their (dst, size, src) registers. */
export const WRITING_HELPERS: ReadonlyMap<
  number,
  { dst: number; size: number; src?: number; str?: boolean }
> = new Map([
  [4, { dst: 1, size: 2, src: 3 }], // probe_read
  [45, { dst: 1, size: 2, src: 3, str: true }], // probe_read_str
  [112, { dst: 1, size: 2, src: 3 }], // probe_read_user
  [113, { dst: 1, size: 2, src: 3 }], // probe_read_kernel
  [114, { dst: 1, size: 2, src: 3, str: true }], // probe_read_user_str
  [115, { dst: 1, size: 2, src: 3, str: true }], // probe_read_kernel_str
  [16, { dst: 1, size: 2 }], // get_current_comm
  [67, { dst: 2, size: 3 }], // get_stack
]);

/**
 * Helpers whose result differs run to run and is recorded per call. Task
 * facts constant within a run (pid, uid, comm, cpu, cgroup) come from the
 * event instead.
 */
export const RESULT_HELPERS: ReadonlySet<number> = new Set([
  5, // ktime_get_ns
  7, // get_prandom_u32
  27, // get_stackid
  35, // get_current_task
  42, // get_numa_node_id
  118, // jiffies64
  125, // ktime_get_boot_ns
  173, // get_func_ip
  208, // ktime_get_tai_ns
]);

/**
 * Helpers that put a record in the events ring buffer (ringbuf_output,
 * ringbuf_reserve): their entry's r0 is the `ktime_get_ns` time just after
 * the call, which orders outputs across CPUs on replay.
 */
export const ORDER_HELPERS: ReadonlySet<number> = new Set([130, 131]);

/**
 * A pseudo helper id: the entry after a `ringbuf_reserve` entry whose r0
 * is the low 32 bits of the reserved record's address, its position in
 * the ring: replay hands outputs on in ring order, the order the live
 * reader consumed them, even when two CPUs reserved within the same
 * nanoseconds.
 */
export const RING_POSITION = 0x7fff;

/**
 * The probe index of a tick mark: where in the stream of runs a recorded
 * `trace()` session's interval tick read its maps. Its one entry
 * ({@linkcode TICK_WALL}) holds the wall-clock ns of the tick. Replays by
 * other programs skip it (no probe has that index).
 */
export const MARK_PROBE = 0xffff;

/** The pseudo helper id of a tick mark's wall-clock time. */
export const TICK_WALL = 0x7ffe;

/**
 * The recording is damaged or not a recording.
 *
 * @example Where the damage is
 * ```ts
 * import { RecordingError } from "./format.ts";
 *
 * const e = new RecordingError("Recording is truncated", 4096);
 * console.assert(e.offset === 4096 && e.name === "RecordingError");
 * ```
 */
export class RecordingError extends Error {
  /** Byte offset of the damage, when known. */
  readonly offset?: number;
  /** Creates the error. */
  constructor(message: string, offset?: number) {
    super(message);
    this.name = "RecordingError";
    this.offset = offset;
  }
}

const CRC_TABLES = (() => {
  const t = new Int32Array(256 * 4);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 4; k++) {
      const p = t[(k - 1) * 256 + n];
      t[k * 256 + n] = t[p & 0xff] ^ (p >>> 8);
    }
  }
  return t;
})();

/**
 * CRC-32 (IEEE) of `bytes` (slicing by 4).
 *
 * @example Check value
 * ```ts
 * import { crc32 } from "./format.ts";
 * console.assert(crc32(new TextEncoder().encode("123456789")) === 0xcbf43926);
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  const t = CRC_TABLES;
  let c = -1;
  let i = 0;
  const end4 = bytes.length - 3;
  for (; i < end4; i += 4) {
    c ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) |
      (bytes[i + 3] << 24);
    c = t[768 + (c & 0xff)] ^ t[512 + ((c >>> 8) & 0xff)] ^
      t[256 + ((c >>> 16) & 0xff)] ^ t[c >>> 24];
  }
  for (; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/**
 * A growable byte buffer with varint writers.
 *
 * @example Write and read back a varint
 * ```ts
 * import { ByteReader, ByteWriter } from "./format.ts";
 * const w = new ByteWriter();
 * w.varint(300);
 * console.assert(new ByteReader(w.bytes()).varint() === 300);
 * ```
 */
export class ByteWriter {
  #buf = new Uint8Array(1 << 16);
  /** Bytes written. */
  length = 0;

  #room(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.length + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.#buf.subarray(0, this.length));
    this.#buf = b;
  }

  /** Appends an unsigned integer below 2^53 as a LEB128 varint. */
  varint(v: number): void {
    this.#room(10);
    const b = this.#buf;
    let n = this.length;
    while (v >= 0x80) {
      b[n++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[n++] = v;
    this.length = n;
  }

  /** Appends a u64 as two varints (low and high 32 bits). */
  u64(v: bigint): void {
    this.varint(Number(v & 0xffffffffn));
    this.varint(Number((v >> 32n) & 0xffffffffn));
  }

  /** Appends bytes as they are. */
  raw(bytes: Uint8Array): void {
    this.#room(bytes.length);
    this.#buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** The bytes written so far (a view, valid until the next write). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }

  /** Forgets the contents. */
  reset(): void {
    this.length = 0;
  }
}

/** Reads varints and bytes from a buffer; a read past the end throws. */
export class ByteReader {
  /** Read position. */
  pos = 0;
  readonly #b: Uint8Array;

  /** Reads `bytes` from the start. */
  constructor(bytes: Uint8Array) {
    this.#b = bytes;
  }

  /** The bytes read from. */
  get bytes(): Uint8Array {
    return this.#b;
  }

  /** Whether every byte was read. */
  get done(): boolean {
    return this.pos >= this.#b.length;
  }

  /** Reads a LEB128 varint below 2^53. */
  varint(): number {
    const b = this.#b;
    let pos = this.pos;
    let x = b[pos++];
    if (x < 0x80) {
      this.pos = pos;
      return x;
    }
    let v = x & 0x7f;
    let mul = 0x80;
    for (;;) {
      if (pos >= b.length || mul > 2 ** 49) {
        throw new RecordingError("Malformed varint");
      }
      x = b[pos++];
      v += (x & 0x7f) * mul;
      if (x < 0x80) break;
      mul *= 0x80;
    }
    this.pos = pos;
    return v;
  }

  /** Reads a u64 written by {@linkcode ByteWriter.u64}. */
  u64(): bigint {
    const lo = this.varint();
    const hi = this.varint();
    return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** `n` bytes (a view). */
  raw(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.#b.length) {
      throw new RecordingError(`Record runs past its block by ${n} bytes`);
    }
    const out = this.#b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

function zigzag(v: number): number {
  return v < 0 ? -2 * v - 1 : 2 * v;
}

function unzigzag(v: number): number {
  return v % 2 === 1 ? -(v + 1) / 2 : v / 2;
}

/** Bytes of `b` without its trailing zeros. */
function trimmed(b: Uint8Array): number {
  let n = b.length;
  while (n > 0 && b[n - 1] === 0) n--;
  return n;
}

/**
 * Appends one event; `prevNs` is the previous event's time in the block
 * (0 at a block's start): times are stored as zigzag deltas.
 *
 * @example Round trip
 * ```ts
 * import { ByteReader, ByteWriter, decodeEvent, encodeEvent } from "./format.ts";
 * const w = new ByteWriter();
 * const ev = {
 *   probe: 0, cpu: 1, timeNs: 5000, pid: 7, tid: 8, uid: 0, gid: 0,
 *   cgroupId: 1n, comm: new Uint8Array(16), flags: 0,
 *   ctx: new Uint8Array([1, 2]), calls: [],
 * };
 * encodeEvent(w, ev, 0);
 * console.assert(decodeEvent(new ByteReader(w.bytes()), 0).tid === 8);
 * ```
 */
export function encodeEvent(
  w: ByteWriter,
  e: RecordedEvent,
  prevNs: number,
): void {
  w.varint(e.probe);
  w.varint(e.cpu);
  w.varint(zigzag(e.timeNs - prevNs));
  w.varint(e.pid);
  w.varint(e.tid);
  w.varint(e.uid);
  w.varint(e.gid);
  w.u64(e.cgroupId);
  const cl = Math.min(
    16,
    Math.max(0, e.comm.indexOf(0) < 0 ? 16 : e.comm.indexOf(0)),
  );
  w.varint(cl);
  w.raw(e.comm.subarray(0, cl));
  w.varint(e.flags);
  const xl = trimmed(e.ctx);
  w.varint(e.ctx.length);
  w.varint(xl);
  w.raw(e.ctx.subarray(0, xl));
  w.varint(e.calls.length);
  for (const c of e.calls) {
    w.varint(c.helper * 2 + (c.capture ? 1 : 0));
    w.u64(c.r0);
    if (WRITING_HELPERS.has(c.helper)) {
      w.u64(c.addr);
      const b = c.bytes ?? new Uint8Array(0);
      const n = trimmed(b);
      w.varint(b.length);
      w.varint(n);
      w.raw(b.subarray(0, n));
    }
  }
}

/** Decodes one event written by {@linkcode encodeEvent}. */
export function decodeEvent(r: ByteReader, prevNs: number): RecordedEvent {
  return decodeEventInto(r, prevNs, blankEvent());
}

/** An event with every field zero, to decode into. */
export function blankEvent(): RecordedEvent {
  return {
    probe: 0,
    cpu: 0,
    timeNs: 0,
    pid: 0,
    tid: 0,
    uid: 0,
    gid: 0,
    cgroupId: 0n,
    comm: new Uint8Array(16),
    flags: 0,
    ctx: new Uint8Array(0),
    calls: [],
  };
}

let lastCgroup = 0;
let lastCgroupBig = 0n;

/**
 * Decodes one event into `out`, reusing its `comm` and (when the length
 * matches) `ctx` buffers: the fast path of replay, which runs each event
 * before decoding the next.
 */
export function decodeEventInto(
  r: ByteReader,
  prevNs: number,
  out: RecordedEvent,
): RecordedEvent {
  out.probe = r.varint();
  out.cpu = r.varint();
  out.timeNs = prevNs + unzigzag(r.varint());
  out.pid = r.varint();
  out.tid = r.varint();
  out.uid = r.varint();
  out.gid = r.varint();
  const cl = r.varint();
  const ch = r.varint();
  if (ch === 0 && cl === lastCgroup) out.cgroupId = lastCgroupBig;
  else {
    out.cgroupId = ch === 0 ? BigInt(cl) : (BigInt(ch) << 32n) | BigInt(cl);
    if (ch === 0) {
      lastCgroup = cl;
      lastCgroupBig = out.cgroupId;
    }
  }
  const comm = out.comm;
  const n = Math.min(16, r.varint());
  const at = r.pos;
  if (at + n > r.bytes.length) throw new RecordingError("Truncated comm");
  const b = r.bytes;
  for (let i = 0; i < n; i++) comm[i] = b[at + i];
  for (let i = n; i < 16; i++) comm[i] = 0;
  r.pos = at + n;
  out.flags = r.varint();
  const len = r.varint();
  const stored = r.varint();
  if (stored > len || len > MAX_BLOCK) {
    throw new RecordingError(`Malformed byte string (${stored} of ${len})`);
  }
  let ctx = out.ctx;
  if (ctx.length !== len) ctx = out.ctx = new Uint8Array(len);
  else if (stored < len) ctx.fill(0, stored);
  const cat = r.pos;
  if (cat + stored > b.length) throw new RecordingError("Truncated context");
  if (stored <= 64) { for (let i = 0; i < stored; i++) ctx[i] = b[cat + i]; }
  else ctx.set(b.subarray(cat, cat + stored));
  r.pos = cat + stored;
  const k = r.varint();
  const calls = out.calls;
  calls.length = 0;
  for (let i = 0; i < k; i++) {
    const kh = r.varint();
    const helper = Math.floor(kh / 2);
    const r0 = r.u64();
    if (WRITING_HELPERS.has(helper)) {
      const addr = r.u64();
      calls.push({ helper, capture: kh % 2 === 1, r0, addr, bytes: padded(r) });
    } else calls.push({ helper, capture: kh % 2 === 1, r0, addr: 0n });
  }
  out.calls = calls;
  return out;
}

function padded(r: ByteReader): Uint8Array {
  const len = r.varint();
  const stored = r.varint();
  if (stored > len || len > MAX_BLOCK) {
    throw new RecordingError(`Malformed byte string (${stored} of ${len})`);
  }
  const out = new Uint8Array(len);
  out.set(r.raw(stored));
  return out;
}
