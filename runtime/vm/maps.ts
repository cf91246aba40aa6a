/**
 * In-memory eBPF maps with the kernel's semantics: hash, array, their
 * per-CPU and LRU variants, ring buffer, stack trace and perf event array.
 *
 * Each map has a user-space API (lookup, update, delete, entries, clear)
 * working on byte arrays, and an internal program-side API the helpers use.
 *
 * @module
 */

import { MapType } from "../bpf/opcodes.ts";
import { checkObject } from "../bpf/validate.ts";
import type { RawMapEntry } from "../engines/engine.ts";

/** `BPF_ANY`: create or update. */
export const BPF_ANY = 0;
/** `BPF_NOEXIST`: create only. */
export const BPF_NOEXIST = 1;
/** `BPF_EXIST`: update only. */
export const BPF_EXIST = 2;

/** Negative errno values the kernel's map and helper calls return. */
export const Errno = {
  ENOENT: -2,
  E2BIG: -7,
  EAGAIN: -11,
  ENOMEM: -12,
  EFAULT: -14,
  ERANGE: -34,
  EEXIST: -17,
  EINVAL: -22,
  ENOSPC: -28,
  EOPNOTSUPP: -95,
} as const;

/** The shape of a map, as `bpf_map_create` takes it. */
export interface MapShape {
  /** `MapType`. */
  type: number;
  /** Key bytes (0 for ring buffers). */
  keySize: number;
  /** Value bytes (0 for ring buffers). */
  valueSize: number;
  /** Most entries; a ring buffer's size in bytes. */
  maxEntries: number;
}

/** The user-space API every interpreter map offers. */
export interface VmMap extends MapShape {
  /** CPUs the per-CPU maps keep a value for. */
  readonly numCpus: number;
  /** Whether the map keeps one value per CPU. */
  readonly perCpu: boolean;
  /** Copies of the value(s) for a key (one per CPU if per-CPU). */
  lookup(key: Uint8Array): Uint8Array[] | undefined;
  /**
   * Creates or updates an entry; returns 0 or a negative errno. A per-CPU
   * map takes one value per CPU, or one value for every CPU.
   */
  update(
    key: Uint8Array,
    value: Uint8Array | readonly Uint8Array[],
    flags?: number,
  ): number;
  /** Deletes an entry; returns 0 or a negative errno. */
  delete(key: Uint8Array): number;
  /** Every entry, values copied. */
  entries(): RawMapEntry[];
  /** Deletes every entry (array maps: zeroes every value). */
  clear(): void;
}

/** A value slot of a key/value map, as the program sees it. */
export interface Slot {
  /** Key bytes (a copy). */
  key: Uint8Array;
  /** One value per CPU (one element for ordinary maps). */
  vals: Uint8Array[];
  /** DataViews of `vals`, made on first use. */
  views: (DataView | undefined)[];
  /** Run epoch for which `rid` is this slot's region id. */
  epoch: number;
  /** CPU whose value `rid` covers. */
  ecpu: number;
  /** Region id of the value in run `epoch`. */
  rid: number;
  /** LRU reference bit. */
  ref: boolean;
}

/** Deleted slots a hash map keeps for reuse. */
const FREE_SLOTS = 1024;

function round8(n: number): number {
  return (n + 7) & ~7;
}

function checkShape(s: MapShape): void {
  for (const k of ["keySize", "valueSize", "maxEntries"] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 0 || s[k] > 0xffffffff) {
      throw new RangeError(`Invalid map ${k}: ${s[k]}`);
    }
  }
}

function makeSlot(key: Uint8Array, valueSize: number, cpus: number): Slot {
  const stride = round8(valueSize);
  const buf = new ArrayBuffer(stride * cpus || 8);
  const vals: Uint8Array[] = [];
  for (let c = 0; c < cpus; c++) {
    vals.push(new Uint8Array(buf, c * stride, valueSize));
  }
  return { key, vals, views: [], epoch: -1, ecpu: -1, rid: 0, ref: false };
}

/** DataView of a slot's value on `cpu`, made on first use. */
export function slotView(s: Slot, cpu: number): DataView {
  let v = s.views[cpu];
  if (v === undefined) {
    const b = s.vals[cpu];
    v = s.views[cpu] = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  return v;
}

function copyValues(s: Slot): Uint8Array[] {
  return s.vals.map((v) => v.slice());
}

/** Map key identity: a number for small keys, else a string of the bytes. */
export type KeyId = number | string;

/** Computes the key identity of `size` bytes at `off`. */
export function keyId(buf: Uint8Array, off: number, size: number): KeyId {
  switch (size) {
    case 4:
      return (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) |
        (buf[off + 3] << 24)) >>> 0;
    case 8: {
      const lo = (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) |
        (buf[off + 3] << 24)) >>> 0;
      const hi = (buf[off + 4] | (buf[off + 5] << 8) | (buf[off + 6] << 16) |
        (buf[off + 7] << 24)) >>> 0;
      if (hi < 0x200000) return hi * 4294967296 + lo;
      return String.fromCharCode(
        lo & 0xffff,
        lo >>> 16,
        hi & 0xffff,
        hi >>> 16,
      );
    }
    case 1:
      return buf[off];
    case 2:
      return buf[off] | (buf[off + 1] << 8);
    case 16: // comm, the most common string key: one call, no concatenation
      return String.fromCharCode(
        buf[off] | (buf[off + 1] << 8),
        buf[off + 2] | (buf[off + 3] << 8),
        buf[off + 4] | (buf[off + 5] << 8),
        buf[off + 6] | (buf[off + 7] << 8),
        buf[off + 8] | (buf[off + 9] << 8),
        buf[off + 10] | (buf[off + 11] << 8),
        buf[off + 12] | (buf[off + 13] << 8),
        buf[off + 14] | (buf[off + 15] << 8),
      );
  }
  let s = "";
  const end = off + size;
  let i = off;
  for (; i + 1 < end; i += 2) {
    s += String.fromCharCode(buf[i] | (buf[i + 1] << 8));
  }
  if (i < end) s += String.fromCharCode(buf[i]);
  return s;
}

/** The base of every interpreter map. */
export abstract class BaseMap implements VmMap {
  /** `MapType`. */
  readonly type: number;
  /** Key bytes. */
  readonly keySize: number;
  /** Value bytes. */
  readonly valueSize: number;
  /** Most entries; a ring buffer's size in bytes. */
  readonly maxEntries: number;
  /** CPUs per-CPU values are kept for. */
  readonly numCpus: number;
  /** Whether the map keeps one value per CPU. */
  readonly perCpu: boolean;

  /** Checks and records the shape. */
  constructor(shape: MapShape, numCpus: number, perCpu: boolean) {
    checkShape(shape);
    this.type = shape.type;
    this.keySize = shape.keySize;
    this.valueSize = shape.valueSize;
    this.maxEntries = shape.maxEntries;
    this.numCpus = numCpus;
    this.perCpu = perCpu;
  }

  /** Throws RangeError unless the key has the map's key size. */
  protected checkKey(key: Uint8Array): void {
    if (key.length !== this.keySize) {
      throw new RangeError(
        `Invalid key size ${key.length}: the map's is ${this.keySize}`,
      );
    }
  }

  /** Normalises a user-space value argument to one value per CPU. */
  protected valuesOf(value: Uint8Array | readonly Uint8Array[]): Uint8Array[] {
    const cpus = this.perCpu ? this.numCpus : 1;
    const list = value instanceof Uint8Array
      ? Array.from({ length: cpus }, () => value)
      : [...value];
    if (list.length !== cpus) {
      throw new RangeError(`Expected ${cpus} values, got ${list.length}`);
    }
    for (const v of list) {
      if (v.length !== this.valueSize) {
        throw new RangeError(
          `Invalid value size ${v.length}: the map's is ${this.valueSize}`,
        );
      }
    }
    return list;
  }

  /** Copies of the value(s) for a key. */
  abstract lookup(key: Uint8Array): Uint8Array[] | undefined;
  /** Creates or updates an entry; 0 or a negative errno. */
  abstract update(
    key: Uint8Array,
    value: Uint8Array | readonly Uint8Array[],
    flags?: number,
  ): number;
  /** Deletes an entry; 0 or a negative errno. */
  abstract delete(key: Uint8Array): number;
  /** Every entry, values copied. */
  abstract entries(): RawMapEntry[];
  /** Deletes every entry. */
  abstract clear(): void;
}

/** A key/value map the program can look up, update and delete in. */
export abstract class KvMap extends BaseMap {
  /** Program lookup: the slot for the key bytes at `off`, if any. */
  abstract find(buf: Uint8Array, off: number): Slot | undefined;
  /**
   * Program update from key and value bytes on `cpu`; returns 0 or errno.
   */
  abstract store(
    kbuf: Uint8Array,
    koff: number,
    vbuf: Uint8Array,
    voff: number,
    flags: number,
    cpu: number,
  ): number;
  /** Program delete; returns 0 or errno. */
  abstract remove(buf: Uint8Array, off: number): number;

  /** Copies of the value(s) for a key. */
  lookup(key: Uint8Array): Uint8Array[] | undefined {
    this.checkKey(key);
    const s = this.find(key, 0);
    return s === undefined ? undefined : copyValues(s);
  }

  /** Deletes an entry; 0 or a negative errno. */
  delete(key: Uint8Array): number {
    this.checkKey(key);
    return this.remove(key, 0);
  }
}

/** HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH. */
export class HashMap extends KvMap {
  /** Whether a full map evicts instead of refusing new keys. */
  readonly lru: boolean;
  readonly #slots = new Map<KeyId, Slot>();
  /**
   * Slots of deleted entries, reused by the next inserts as the kernel
   * reuses a preallocated hash map's elements: a start/end pair that stores
   * and deletes a key per event would otherwise allocate a slot per event.
   */
  readonly #free: Slot[] = [];

  /** An empty hash map. */
  constructor(shape: MapShape, numCpus: number, perCpu: boolean, lru: boolean) {
    super(shape, numCpus, perCpu);
    if (shape.keySize === 0 || shape.maxEntries === 0) {
      throw new RangeError("A hash map needs a key size and max entries");
    }
    this.lru = lru;
  }

  /** Entries in the map. */
  get size(): number {
    return this.#slots.size;
  }

  /** Program lookup: the slot for the key bytes at `off`. */
  find(buf: Uint8Array, off: number): Slot | undefined {
    const s = this.#slots.get(keyId(buf, off, this.keySize));
    if (s !== undefined) s.ref = true;
    return s;
  }

  #insert(buf: Uint8Array, off: number, flags: number): Slot | number {
    if ((flags & ~4) > BPF_EXIST) return Errno.EINVAL;
    const id = keyId(buf, off, this.keySize);
    const old = this.#slots.get(id);
    if (old !== undefined) {
      if ((flags & 3) === BPF_NOEXIST) return Errno.EEXIST;
      old.ref = true;
      return old;
    }
    if ((flags & 3) === BPF_EXIST) return Errno.ENOENT;
    if (this.#slots.size >= this.maxEntries) {
      if (!this.lru) return Errno.E2BIG;
      this.#evict();
    }
    let s = this.#free.pop();
    if (s === undefined) {
      const key = buf.slice(off, off + this.keySize);
      s = makeSlot(key, this.valueSize, this.perCpu ? this.numCpus : 1);
    } else {
      s.key.set(buf.subarray(off, off + this.keySize));
      for (const v of s.vals) v.fill(0);
      s.epoch = -1;
      s.ecpu = -1;
      s.rid = 0;
      s.ref = false;
    }
    this.#slots.set(id, s);
    return s;
  }

  /** Second-chance eviction of the least recently used entry. */
  #evict(): void {
    for (;;) {
      for (const [id, s] of this.#slots) {
        this.#slots.delete(id);
        if (!s.ref) return;
        s.ref = false;
        this.#slots.set(id, s);
      }
    }
  }

  /** Program update from key and value bytes on `cpu`; 0 or errno. */
  store(
    kbuf: Uint8Array,
    koff: number,
    vbuf: Uint8Array,
    voff: number,
    flags: number,
    cpu: number,
  ): number {
    const s = this.#insert(kbuf, koff, flags);
    if (typeof s === "number") return s;
    const c = this.perCpu ? cpu : 0;
    s.vals[c].set(vbuf.subarray(voff, voff + this.valueSize));
    return 0;
  }

  /** Program delete; 0 or errno. */
  remove(buf: Uint8Array, off: number): number {
    const id = keyId(buf, off, this.keySize);
    const s = this.#slots.get(id);
    if (s === undefined) return Errno.ENOENT;
    this.#slots.delete(id);
    if (this.#free.length < FREE_SLOTS) this.#free.push(s);
    return 0;
  }

  /** Creates or updates an entry; 0 or a negative errno. */
  update(
    key: Uint8Array,
    value: Uint8Array | readonly Uint8Array[],
    flags = BPF_ANY,
  ): number {
    this.checkKey(key);
    const vals = this.valuesOf(value);
    const s = this.#insert(key, 0, flags);
    if (typeof s === "number") return s;
    for (let c = 0; c < vals.length; c++) s.vals[c].set(vals[c]);
    return 0;
  }

  /** Every entry, values copied. */
  entries(): RawMapEntry[] {
    return [...this.#slots.values()].map((s) => ({
      key: s.key.slice(),
      values: copyValues(s),
    }));
  }

  /** Deletes every entry (array maps: zeroes every value). */
  clear(): void {
    this.#slots.clear();
  }
}

const MAX_ARRAY_BYTES = 1 << 28;

/** ARRAY and PERCPU_ARRAY: `maxEntries` values, all always present. */
export class ArrayMap extends KvMap {
  readonly #slots: (Slot | undefined)[] = [];

  /** Checks the shape and makes an empty map. */
  constructor(shape: MapShape, numCpus: number, perCpu: boolean) {
    super(shape, numCpus, perCpu);
    if (shape.keySize !== 4) {
      throw new RangeError(
        `An array map needs key size 4, not ${shape.keySize}`,
      );
    }
    const cpus = perCpu ? numCpus : 1;
    if (round8(shape.valueSize) * cpus * shape.maxEntries > MAX_ARRAY_BYTES) {
      throw new RangeError(
        `Array map of ${shape.maxEntries} x ${shape.valueSize} bytes is too big`,
      );
    }
  }

  /** The slot at index `i`, made on first use; undefined out of range. */
  at(i: number): Slot | undefined {
    if (i >= this.maxEntries) return undefined;
    let s = this.#slots[i];
    if (s === undefined) {
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, i, true);
      s = makeSlot(key, this.valueSize, this.perCpu ? this.numCpus : 1);
      this.#slots[i] = s;
    }
    return s;
  }

  /** Program lookup: the slot for the key bytes at `off`. */
  find(buf: Uint8Array, off: number): Slot | undefined {
    return this.at(keyId(buf, off, 4) as number);
  }

  /** Program update from key and value bytes on `cpu`; 0 or errno. */
  store(
    kbuf: Uint8Array,
    koff: number,
    vbuf: Uint8Array,
    voff: number,
    flags: number,
    cpu: number,
  ): number {
    if ((flags & ~4) > BPF_EXIST) return Errno.EINVAL;
    const s = this.at(keyId(kbuf, koff, 4) as number);
    if (s === undefined) return Errno.E2BIG;
    if ((flags & 3) === BPF_NOEXIST) return Errno.EEXIST;
    s.vals[this.perCpu ? cpu : 0].set(
      vbuf.subarray(voff, voff + this.valueSize),
    );
    return 0;
  }

  /** Program delete; 0 or errno. */
  remove(): number {
    return Errno.EINVAL;
  }

  /** Creates or updates an entry; 0 or a negative errno. */
  update(
    key: Uint8Array,
    value: Uint8Array | readonly Uint8Array[],
    flags = BPF_ANY,
  ): number {
    this.checkKey(key);
    const vals = this.valuesOf(value);
    if ((flags & ~4) > BPF_EXIST) return Errno.EINVAL;
    const s = this.at(keyId(key, 0, 4) as number);
    if (s === undefined) return Errno.E2BIG;
    if ((flags & 3) === BPF_NOEXIST) return Errno.EEXIST;
    for (let c = 0; c < vals.length; c++) s.vals[c].set(vals[c]);
    return 0;
  }

  /** Every entry, values copied. */
  entries(): RawMapEntry[] {
    const out: RawMapEntry[] = [];
    for (let i = 0; i < this.maxEntries; i++) {
      const s = this.#slots[i];
      if (s !== undefined) {
        out.push({ key: s.key.slice(), values: copyValues(s) });
      } else {
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, i, true);
        const cpus = this.perCpu ? this.numCpus : 1;
        out.push({
          key,
          values: Array.from(
            { length: cpus },
            () => new Uint8Array(this.valueSize),
          ),
        });
      }
    }
    return out;
  }

  /** Deletes every entry (array maps: zeroes every value). */
  clear(): void {
    for (const s of this.#slots) {
      if (s !== undefined) { for (const v of s.vals) v.fill(0); }
    }
  }
}

/** A ring buffer record. */
export interface RingRecord {
  bytes: Uint8Array;
  view: DataView;
  /** 0 reserved, 1 committed, 2 discarded. */
  state: number;
  /** Bytes it occupies in the buffer (header included). */
  cost: number;
  /** The ring it was reserved in. */
  ring?: RingBufMap;
}

/** Bytes of a ring buffer record header. */
export const RINGBUF_HDR = 8;

/** RINGBUF: records in order; a consumer drains committed ones. */
export class RingBufMap extends BaseMap {
  /** Records dropped because the buffer was full. */
  lost = 0;
  /**
   * Called with every record as it is submitted (before any consumer
   * reads it): the interpreter engine watches for `exit()` with it.
   */
  onSubmit?: (record: Uint8Array) => void;
  #queue: RingRecord[] = [];
  #head = 0;
  #used = 0;

  /** Checks the shape and makes an empty map. */
  constructor(shape: MapShape, numCpus: number) {
    super(shape, numCpus, false);
    const n = shape.maxEntries;
    if (n < 16 || (n & (n - 1)) !== 0) {
      throw new RangeError(
        `Ring buffer size must be a power of 2 of at least 16, not ${n}`,
      );
    }
    if (shape.keySize !== 0 || shape.valueSize !== 0) {
      throw new RangeError("A ring buffer has key and value size 0");
    }
  }

  /** Bytes reserved or waiting to be consumed. */
  get used(): number {
    return this.#used;
  }

  /** Reserves a record of `size` bytes; null (and lost+1) when full. */
  reserve(size: number): RingRecord | null {
    const cost = RINGBUF_HDR + round8(size);
    if (
      size > this.maxEntries - RINGBUF_HDR ||
      this.#used + cost > this.maxEntries
    ) {
      this.lost++;
      return null;
    }
    const bytes = new Uint8Array(size);
    const rec: RingRecord = {
      bytes,
      view: new DataView(bytes.buffer),
      state: 0,
      cost,
      ring: this,
    };
    this.#used += cost;
    this.#queue.push(rec);
    return rec;
  }

  /** Submits (or discards) a reserved record. */
  commit(rec: RingRecord, discard: boolean): void {
    rec.state = discard ? 2 : 1;
    if (!discard) this.onSubmit?.(rec.bytes);
  }

  /** Copies bytes into a new committed record; -EAGAIN (lost+1) when full. */
  output(data: Uint8Array): number {
    const rec = this.reserve(data.length);
    if (rec === null) return Errno.EAGAIN;
    rec.bytes.set(data);
    rec.state = 1;
    this.onSubmit?.(rec.bytes);
    return 0;
  }

  /**
   * Hands every committed record, in order, to `cb`, stopping at the first
   * record still reserved. Returns how many were delivered.
   */
  drain(cb: (record: Uint8Array) => void, limit = Infinity): number {
    let n = 0;
    const q = this.#queue;
    while (this.#head < q.length && n < limit) {
      const rec = q[this.#head];
      if (rec.state === 0) break;
      this.#head++;
      this.#used -= rec.cost;
      if (rec.state === 1) {
        n++;
        cb(rec.bytes);
      }
    }
    if (this.#head > 1024 && this.#head * 2 > q.length) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
    return n;
  }

  /** Copies of the value(s) for a key. */
  lookup(): Uint8Array[] | undefined {
    return undefined;
  }
  /** Creates or updates an entry; 0 or a negative errno. */
  update(): number {
    return Errno.EINVAL;
  }
  /** Deletes an entry; 0 or a negative errno. */
  delete(): number {
    return Errno.EINVAL;
  }
  /** Every entry, values copied. */
  entries(): RawMapEntry[] {
    return [];
  }
  /** Drops every record. */
  clear(): void {
    this.#queue = [];
    this.#head = 0;
    this.#used = 0;
  }
}

/** `BPF_F_CURRENT_CPU` for perf_event_output's index. */
export const BPF_F_CURRENT_CPU = 0xffffffff;

/** PERF_EVENT_ARRAY: one record queue per CPU with a byte budget each. */
export class PerfEventArrayMap extends BaseMap {
  /** Records dropped because a CPU's buffer was full. */
  lost = 0;
  /** Bytes each CPU's buffer holds. */
  readonly capacity: number;
  #queue: { cpu: number; bytes: Uint8Array }[] = [];
  #used: number[] = [];

  /** Checks the shape and makes an empty map. */
  constructor(shape: MapShape, numCpus: number, capacity = 64 * 4096) {
    super(shape, numCpus, false);
    this.capacity = capacity;
  }

  /** Appends a record for `cpu`; returns 0, -E2BIG or -ENOSPC (lost+1). */
  output(cpu: number, data: Uint8Array): number {
    if (cpu >= this.maxEntries) return Errno.E2BIG;
    const cost = round8(data.length + 12);
    const used = this.#used[cpu] ?? 0;
    if (used + cost > this.capacity) {
      this.lost++;
      return Errno.ENOSPC;
    }
    this.#used[cpu] = used + cost;
    this.#queue.push({ cpu, bytes: data.slice() });
    return 0;
  }

  /** Hands every record, in order, to `cb`; returns how many. */
  drain(cb: (record: Uint8Array, cpu: number) => void): number {
    const q = this.#queue;
    this.#queue = [];
    this.#used = [];
    for (const r of q) cb(r.bytes, r.cpu);
    return q.length;
  }

  /** Copies of the value(s) for a key. */
  lookup(): Uint8Array[] | undefined {
    return undefined;
  }
  /** Creates or updates an entry; 0 or a negative errno. */
  update(): number {
    return Errno.EINVAL;
  }
  /** Deletes an entry; 0 or a negative errno. */
  delete(): number {
    return Errno.EINVAL;
  }
  /** Every entry, values copied. */
  entries(): RawMapEntry[] {
    return [];
  }
  /** Deletes every entry (array maps: zeroes every value). */
  clear(): void {
    this.#queue = [];
    this.#used = [];
  }
}

/** `BPF_F_USER_STACK` flag of get_stackid/get_stack. */
export const BPF_F_USER_STACK = 1 << 8;
/** `BPF_F_FAST_STACK_CMP`. */
export const BPF_F_FAST_STACK_CMP = 1 << 9;
/** `BPF_F_REUSE_STACKID`. */
export const BPF_F_REUSE_STACKID = 1 << 10;

/** STACK_TRACE: stack id (hash bucket) → array of u64 instruction pointers. */
export class StackTraceMap extends BaseMap {
  readonly #buckets: (bigint[] | undefined)[];

  /** Checks the shape and makes an empty map. */
  constructor(shape: MapShape, numCpus: number) {
    super(shape, numCpus, false);
    if (
      shape.keySize !== 4 || shape.valueSize % 8 !== 0 || shape.valueSize === 0
    ) {
      throw new RangeError(
        "A stack trace map needs key size 4 and a value size multiple of 8",
      );
    }
    if (shape.maxEntries === 0 || shape.maxEntries > 1 << 24) {
      throw new RangeError(`Invalid stack map max entries ${shape.maxEntries}`);
    }
    let n = 1;
    while (n < shape.maxEntries) n *= 2;
    this.#buckets = new Array(n);
  }

  /** Stores a stack (innermost first); returns its id or a negative errno. */
  getStackId(ips: readonly bigint[], flags: number): number {
    const depth = this.valueSize / 8;
    const trace = ips.slice(0, depth).map((x) => BigInt.asUintN(64, x));
    if (trace.length === 0) return Errno.EFAULT;
    let h = 0x811c9dc5;
    for (const ip of trace) {
      h = Math.imul(h ^ Number(ip & 0xffffffffn), 16777619);
      h = Math.imul(h ^ Number(ip >> 32n), 16777619);
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    const id = (h >>> 0) & (this.#buckets.length - 1);
    const old = this.#buckets[id];
    if (old !== undefined) {
      const same = old.length === trace.length &&
        old.every((x, i) => x === trace[i]);
      if (same) return id;
      if (!(flags & BPF_F_REUSE_STACKID)) return Errno.EEXIST;
    }
    this.#buckets[id] = trace;
    return id;
  }

  #bytes(trace: readonly bigint[]): Uint8Array {
    const out = new Uint8Array(this.valueSize);
    const v = new DataView(out.buffer);
    trace.forEach((ip, i) => v.setBigUint64(i * 8, ip, true));
    return out;
  }

  /** Copies of the value(s) for a key. */
  lookup(key: Uint8Array): Uint8Array[] | undefined {
    this.checkKey(key);
    const t = this.#buckets[keyId(key, 0, 4) as number];
    return t === undefined ? undefined : [this.#bytes(t)];
  }
  /** Creates or updates an entry; 0 or a negative errno. */
  update(): number {
    return Errno.EINVAL;
  }
  /** Deletes an entry; 0 or a negative errno. */
  delete(key: Uint8Array): number {
    this.checkKey(key);
    const id = keyId(key, 0, 4) as number;
    if (this.#buckets[id] === undefined) return Errno.ENOENT;
    this.#buckets[id] = undefined;
    return 0;
  }
  /** Every entry, values copied. */
  entries(): RawMapEntry[] {
    const out: RawMapEntry[] = [];
    this.#buckets.forEach((t, id) => {
      if (t === undefined) return;
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, id, true);
      out.push({ key, values: [this.#bytes(t)] });
    });
    return out;
  }
  /** Deletes every entry (array maps: zeroes every value). */
  clear(): void {
    this.#buckets.fill(undefined);
  }
}

/**
 * Creates an in-memory map of any supported type.
 *
 * @throws {RangeError} for an unsupported type or an invalid shape.
 * @throws {TypeError} when `spec` is not an object.
 * @example Count into a hash map from user space
 * ```ts
 * import { createMap } from "./maps.ts";
 * import { MapType } from "../bpf/opcodes.ts";
 * const m = createMap(
 *   { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 2 },
 *   1,
 * );
 * const key = new Uint8Array([1, 0, 0, 0]);
 * console.assert(m.update(key, new Uint8Array(8)) === 0);
 * console.assert(m.lookup(key)?.[0].length === 8);
 * console.assert(m.entries().length === 1);
 * ```
 */
export function createMap(spec: MapShape, numCpus: number): VmMap {
  checkObject(spec, "the map shape", "createMap()");
  if (!Number.isInteger(numCpus) || numCpus < 1) {
    throw new RangeError(`Invalid CPU count ${numCpus}`);
  }
  switch (spec.type) {
    case MapType.HASH:
      return new HashMap(spec, numCpus, false, false);
    case MapType.PERCPU_HASH:
      return new HashMap(spec, numCpus, true, false);
    case MapType.LRU_HASH:
      return new HashMap(spec, numCpus, false, true);
    case MapType.LRU_PERCPU_HASH:
      return new HashMap(spec, numCpus, true, true);
    case MapType.ARRAY:
      return new ArrayMap(spec, numCpus, false);
    case MapType.PERCPU_ARRAY:
      return new ArrayMap(spec, numCpus, true);
    case MapType.RINGBUF:
      return new RingBufMap(spec, numCpus);
    case MapType.PERF_EVENT_ARRAY:
      return new PerfEventArrayMap(spec, numCpus);
    case MapType.STACK_TRACE:
      return new StackTraceMap(spec, numCpus);
  }
  throw new RangeError(`Unsupported map type ${spec.type}`);
}
