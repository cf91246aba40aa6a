/**
 * A BPF ring buffer (`BPF_MAP_TYPE_RINGBUF`) read straight from its memory
 * mapping, without libbpf's per-record C → JS callback.
 *
 * The kernel lets user space map a ring buffer map's fd: the consumer page
 * (holding `consumer_pos`) read-write at offset 0, and from offset
 * `page_size` the producer page (holding `producer_pos`) followed by the
 * data area, read-only. The kernel lays the data pages out twice in a row,
 * so that a record wrapping past the end is contiguous. Every record starts
 * with an 8-byte header: a u32 length whose bit 31 says "still being
 * written" (busy) and bit 30 "discarded", then a u32 page offset; records
 * are 8-byte aligned. Positions are 64-bit byte counters that only grow; a
 * position's place in the data area is `pos & (size - 1)`.
 *
 * libbpf maps the whole data area, twice, for as long as the ring is open,
 * and every mapped page of a ring buffer counts in the process's resident
 * memory: 8 MiB for a 4 MiB ring. This consumer keeps only the consumer and
 * producer pages mapped, and maps a window of the data area (about 256 KiB,
 * where the double layout makes a wrapping stretch contiguous) for each
 * batch it copies out, so a large ring costs no resident memory.
 *
 * The consumer works in batches: it reads `producer_pos`, maps the window
 * at `consumer_pos`, walks the headers up to the first busy record (or
 * about 256 KiB), copies that committed stretch into one fresh JS buffer,
 * unmaps the window, hands the space back to the kernel at once (stores
 * `consumer_pos`), and only then calls the handler on each record of the
 * copy. The kernel can thus refill the whole ring while JavaScript formats
 * the previous batch, and a handler may keep the records it is given.
 *
 * @module
 */

import type { NativeLibs } from "./libbpf.ts";

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const EPOLL_CLOEXEC = 0o2000000;
const EPOLL_CTL_ADD = 1;
const EPOLLIN = 1;
const SC_PAGESIZE = 30;
/** Bytes of one `struct epoll_event` on x86_64 (packed). */
const EPOLL_EVENT_SIZE = 12;
/**
 * Bytes copied out per batch at most: the batch and what its records decode
 * to are garbage soon after, so a full ring is read in slices that keep the
 * process's memory small (a whole 4 MiB ring at once would grow the heap).
 */
const BATCH_BYTES = 256 * 1024;
/** Record header bytes: u32 length (with flag bits), u32 page offset. */
const HDR = 8;
const BUSY_BIT = 0x80000000;
const DISCARD_BIT = 0x40000000;
const LEN_MASK = 0x3fffffff;
const TWO_32 = 0x100000000;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const MAP_FAILED = 0xffffffffffffffffn;

/** A mapped window of the data area; its views die with the mapping. */
interface Window {
  /** Start of the mapping; null once unmapped. */
  ptr: Deno.PointerValue;
  /** The window's bytes. */
  bytes: Uint8Array;
  /** The same, as i32s, for the atomic header loads. */
  words: Int32Array;
}

/** Records not yet handed over when a handler threw. */
interface Pending {
  /** The batch copy. */
  bytes: Uint8Array<ArrayBuffer>;
  /** Its headers, as u32s. */
  words: Uint32Array<ArrayBuffer>;
  /** Offset of the next header. */
  at: number;
}

function failed(p: Deno.PointerValue): boolean {
  return p === null || BigInt(Deno.UnsafePointer.value(p)) === MAP_FAILED;
}

/**
 * A ring buffer map consumed from its mapping, with an epoll fd to wait on.
 *
 * Records handed to the handler are views into a private copy: they stay
 * valid after the handler returns and may be kept.
 *
 * @example Map an empty ring buffer map and drain it
 * ```ts
 * import assert from "node:assert/strict";
 * import { MmapRingBuffer } from "./ringbuf.ts";
 * import { native } from "./libbpf.ts";
 * import { probeKernel } from "../runtime/engines/kernel_engine.ts";
 * import { cstr } from "./structs.ts";
 * import { MapType } from "../runtime/bpf/opcodes.ts";
 *
 * if (probeKernel().ok) {
 *   const n = native();
 *   const fd = n.bpf.bpf_map_create(MapType.RINGBUF, cstr("doc_rb"), 0, 0, 4096, null);
 *   try {
 *     using rb = MmapRingBuffer.open(n, fd, 4096);
 *     assert.equal(rb.available(), 0);
 *     assert.equal(rb.consume(() => assert.fail("empty")), 0);
 *     assert.equal(await rb.wait(10), false);
 *   } finally {
 *     n.closeFd(fd);
 *   }
 * }
 * ```
 */
export class MmapRingBuffer implements Disposable {
  #n: NativeLibs;
  #size: number;
  #page: number;
  #mapFd: number;
  #consPtr: Deno.PointerValue;
  #prodPtr: Deno.PointerValue;
  #cons32: Uint32Array;
  #cons64: BigUint64Array;
  #prod32: Uint32Array;
  /** consumer_pos as a number (exact up to 2^53 bytes). */
  #cons: number;
  #consHi: number;
  #epfd: number;
  #events = new Uint8Array(EPOLL_EVENT_SIZE);
  #pending: Pending | undefined;
  #waiting = false;
  #closed = false;

  private constructor(
    n: NativeLibs,
    mapFd: number,
    size: number,
    page: number,
    consPtr: Deno.PointerValue,
    prodPtr: Deno.PointerValue,
    epfd: number,
  ) {
    this.#n = n;
    this.#mapFd = mapFd;
    this.#size = size;
    this.#page = page;
    this.#consPtr = consPtr;
    this.#prodPtr = prodPtr;
    this.#epfd = epfd;
    const cons = Deno.UnsafePointerView.getArrayBuffer(consPtr!, 8);
    this.#cons32 = new Uint32Array(cons);
    this.#cons64 = new BigUint64Array(cons);
    const prod = Deno.UnsafePointerView.getArrayBuffer(prodPtr!, 8);
    this.#prod32 = new Uint32Array(prod, 0, 2);
    this.#cons = Number(Atomics.load(this.#cons64, 0));
    this.#consHi = Math.floor(this.#cons / TWO_32);
  }

  /**
   * Maps the ring buffer map `mapFd` whose data area is `size` bytes (a
   * power of two, a multiple of the page size) and creates an epoll fd
   * watching it.
   *
   * @throws {KernelError} (from `errors.ts`) when a mapping or the epoll fd cannot be made;
   * nothing is left open then.
   */
  static open(n: NativeLibs, mapFd: number, size: number): MmapRingBuffer {
    if ((size & (size - 1)) !== 0 || size <= 0) {
      throw new RangeError(`Ring buffer size ${size} is not a power of two`);
    }
    const page = Number(n.libc.sysconf(SC_PAGESIZE));
    if (!(page > 0) || size % page !== 0) {
      throw new RangeError(
        `Ring buffer size ${size} is not a multiple of the page size ${page}`,
      );
    }
    const cons = n.libc.mmap(
      null,
      BigInt(page),
      PROT_READ | PROT_WRITE,
      MAP_SHARED,
      mapFd,
      0n,
    );
    if (failed(cons)) {
      throw n.error("map the ring buffer's consumer page", n.errno());
    }
    // The producer page only: the data is mapped a window at a time.
    const prod = n.libc.mmap(
      null,
      BigInt(page),
      PROT_READ,
      MAP_SHARED,
      mapFd,
      BigInt(page),
    );
    if (failed(prod)) {
      const errno = n.errno();
      n.libc.munmap(cons, BigInt(page));
      throw n.error("map the ring buffer's producer page", errno);
    }
    const epfd = n.libc.epoll_create1(EPOLL_CLOEXEC);
    let errno = epfd < 0 ? n.errno() : 0;
    if (epfd >= 0) {
      const ev = new Uint8Array(EPOLL_EVENT_SIZE);
      new DataView(ev.buffer).setUint32(0, EPOLLIN, true);
      if (n.libc.epoll_ctl(epfd, EPOLL_CTL_ADD, mapFd, ev) < 0) {
        errno = n.errno();
        n.closeFd(epfd);
      }
    }
    if (errno !== 0) {
      n.libc.munmap(cons, BigInt(page));
      n.libc.munmap(prod, BigInt(page));
      throw n.error("watch the ring buffer with epoll", errno);
    }
    return new MmapRingBuffer(n, mapFd, size, page, cons, prod, epfd);
  }

  /** The data area's size in bytes. */
  get size(): number {
    return this.#size;
  }

  /** Bytes consumed since the ring was created (consumer_pos). */
  get consumed(): number {
    return this.#cons;
  }

  /** Bytes committed or reserved by the kernel and not yet consumed. */
  available(): number {
    if (this.#closed) return 0;
    return (Atomics.load(this.#prod32, 0) - (this.#cons >>> 0)) >>> 0;
  }

  /**
   * Hands every committed record to `onRecord`, in order, skipping
   * discarded ones; stops at the first record still being written, when
   * the ring is empty, or after about `maxBytes` (default: four times the
   * ring) so a steady stream cannot hold the caller forever, or once
   * `performance.now()` passes `deadline` (checked between batches of
   * records). Returns how many records were handed over.
   *
   * When `onRecord` throws, that record counts as consumed, the records
   * after it are kept for the next call, and the error is rethrown.
   */
  consume(
    onRecord: (record: Uint8Array<ArrayBuffer>) => void,
    maxBytes: number = 4 * this.#size,
    deadline: number = Infinity,
  ): number {
    let delivered = 0;
    if (this.#pending !== undefined) {
      const p = this.#pending;
      this.#pending = undefined;
      delivered += this.#deliver(p.bytes, p.words, p.at, onRecord);
    }
    let budget = maxBytes;
    let bytes: Uint8Array<ArrayBuffer>;
    while (!this.#closed && budget > 0) {
      if (delivered > 0 && performance.now() >= deadline) break;
      const avail = (Atomics.load(this.#prod32, 0) - (this.#cons >>> 0)) >>>
        0;
      if (avail === 0) break;
      const size = this.#size;
      const page = this.#page;
      const start = this.#cons % size;
      // The window starts at the page holding `start`; thanks to the double
      // layout it may run past the end of the data area, up to one size.
      const base = start - (start % page);
      const head = start - base;
      let win = this.#mapWindow(base, head + Math.min(avail, BATCH_BYTES));
      let n = 0;
      try {
        // Walk the headers: the committed stretch ends at the first busy
        // one, at the window's end, or after about BATCH_BYTES.
        while (n < avail && n < BATCH_BYTES) {
          const at = head + n;
          if (at + HDR > win.bytes.length) break;
          const len = Atomics.load(win.words, at >>> 2);
          if ((len & BUSY_BIT) !== 0) break;
          const rec = ((len & LEN_MASK) + HDR + 7) & ~7;
          if (at + rec > win.bytes.length) {
            if (n > 0) break;
            if (rec > size) {
              throw new RangeError(
                `Ring buffer record of ${rec} bytes is larger than the ring (${size})`,
              );
            }
            // A first record longer than the window: map enough for it.
            this.#unmapWindow(win);
            win = this.#mapWindow(base, at + rec);
            continue;
          }
          n += rec;
        }
        if (n === 0) break; // the oldest record is still being written
        bytes = win.bytes.slice(head, head + n);
      } finally {
        this.#unmapWindow(win);
      }
      this.#release(n);
      budget -= n;
      delivered += this.#deliver(
        bytes,
        new Uint32Array(bytes.buffer),
        0,
        onRecord,
      );
    }
    return delivered;
  }

  /**
   * Maps `len` bytes (rounded up to pages, at most one ring plus a page) of
   * the data area's double layout from `base`, a page-aligned offset into
   * the first copy.
   */
  #mapWindow(base: number, len: number): Window {
    const page = this.#page;
    const size = Math.min(
      Math.ceil(len / page) * page,
      this.#size + page,
      2 * this.#size - base,
    );
    const n = this.#n;
    const ptr = n.libc.mmap(
      null,
      BigInt(size),
      PROT_READ,
      MAP_SHARED,
      this.#mapFd,
      // The consumer page, the producer page, then the data.
      BigInt(2 * page + base),
    );
    if (failed(ptr)) throw n.error("map the ring buffer's data", n.errno());
    const buf = Deno.UnsafePointerView.getArrayBuffer(ptr!, size);
    return {
      ptr,
      bytes: new Uint8Array(buf),
      words: new Int32Array(buf),
    };
  }

  #unmapWindow(win: Window): void {
    if (win.ptr === null) return;
    this.#n.libc.munmap(win.ptr, BigInt(win.bytes.length));
    win.ptr = null;
  }

  #deliver(
    bytes: Uint8Array<ArrayBuffer>,
    words: Uint32Array<ArrayBuffer>,
    at: number,
    onRecord: (record: Uint8Array<ArrayBuffer>) => void,
  ): number {
    const end = bytes.length;
    let delivered = 0;
    while (at < end) {
      const word = words[at >>> 2];
      const len = word & LEN_MASK;
      const rec = at + HDR;
      at = rec + ((len + 7) & ~7);
      if ((word & DISCARD_BIT) !== 0) continue;
      delivered++;
      try {
        onRecord(bytes.subarray(rec, rec + len));
      } catch (e) {
        if (at < end) this.#pending = { bytes, words, at };
        throw e;
      }
    }
    return delivered;
  }

  /** Advances consumer_pos by `n` bytes: the kernel may reuse them. */
  #release(n: number): void {
    const cons = this.#cons + n;
    this.#cons = cons;
    const hi = Math.floor(cons / TWO_32);
    if (hi === this.#consHi && LITTLE_ENDIAN) {
      // The high half is unchanged: one 32-bit store of the low half sets
      // the whole 64-bit position atomically.
      Atomics.store(this.#cons32, 0, cons >>> 0);
    } else {
      this.#consHi = hi;
      Atomics.store(this.#cons64, 0, BigInt(cons));
    }
  }

  /**
   * Waits (off the JS thread) up to `timeoutMs` for the kernel to signal
   * data. True when it did; false on timeout or when closed meanwhile.
   */
  async wait(timeoutMs: number): Promise<boolean> {
    if (this.#closed || this.#waiting) return false;
    this.#waiting = true;
    let got = 0;
    try {
      got = await this.#n.libc.epoll_wait(
        this.#epfd,
        this.#events,
        1,
        Math.max(0, Math.min(Math.trunc(timeoutMs), 2 ** 31 - 1)),
      );
    } finally {
      this.#waiting = false;
      if (this.#closed) this.#closeEpoll();
    }
    return got > 0 && !this.#closed;
  }

  #closeEpoll(): void {
    this.#n.closeFd(this.#epfd);
    this.#epfd = -1;
  }

  /**
   * Unmaps the ring and closes the epoll fd (after a wait in progress
   * returns). Records already handed out stay valid. Safe to call twice.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = undefined;
    // Drop every view of the mapping before it goes away.
    this.#cons32 = new Uint32Array(2);
    this.#cons64 = new BigUint64Array(1);
    this.#prod32 = new Uint32Array(2);
    this.#n.libc.munmap(this.#consPtr, BigInt(this.#page));
    this.#n.libc.munmap(this.#prodPtr, BigInt(this.#page));
    this.#consPtr = null;
    this.#prodPtr = null;
    if (!this.#waiting) this.#closeEpoll();
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
