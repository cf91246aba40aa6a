/**
 * The interpreter's memory model. Every pointer a program can hold is a
 * tagged 64-bit value: the high 32 bits are `TAG + region id`, the low 32
 * bits an offset into that region. A region is a byte range the program may
 * read (and perhaps write): a stack frame, the context, a map value, a ring
 * buffer record, or a map handle (size 0, never dereferenced). Loads and
 * stores check the region's readable or writable length on every access,
 * so a forged or stale pointer can only fault, never reach host memory.
 *
 * Regions 0-7 are the stack frames of call depths 0-7, region 8 the
 * context, then one per map handle and map-value constant; regions made
 * during a run (map lookups, ring buffer reservations) follow and are
 * forgotten when the next run starts.
 *
 * @module
 */

import { VmError } from "./vm_error.ts";
import type { VmEnvironment } from "./environment.ts";

/** High-half tag of region 0 (as int32): pointers look like 0xff0000xx_…. */
export const TAG: number = -16777216;
/** Call frames (and stack regions) available: the kernel's MAX_CALL_FRAMES. */
export const MAX_FRAMES = 8;
/** Region id of the context. */
export const CTX_REGION = 8;
/** Bytes of one stack frame. */
export const FRAME_SIZE = 512;
/**
 * High half of a function pointer (`ld_imm64` with `BPF_PSEUDO_FUNC`): the
 * low half is the callee's first slot. No region has this tag.
 */
export const FUNC_TAG = 0x0f0c0000;
/**
 * High half of a per-CPU kernel variable (`ld_imm64` with
 * `BPF_PSEUDO_BTF_ID`): the low half is its BTF id. Only
 * `bpf_per_cpu_ptr` and `bpf_this_cpu_ptr` take it; no region has this tag.
 */
export const PERCPU_TAG = 0x0f0d0000;
/** Region capacity; a run needing more faults. */
export const MAX_REGIONS = 1 << 20;

/** What a region is. */
export const RegionKind: {
  readonly NONE: 0;
  readonly STACK: 1;
  readonly CTX: 2;
  readonly MAP_VALUE: 3;
  readonly RINGBUF_RECORD: 4;
  readonly MAP_HANDLE: 5;
} = {
  NONE: 0,
  STACK: 1,
  CTX: 2,
  MAP_VALUE: 3,
  RINGBUF_RECORD: 4,
  MAP_HANDLE: 5,
} as const;

const KIND_NAMES = [
  "unknown",
  "stack",
  "ctx",
  "map value",
  "ring buffer record",
  "map",
];

/** Output a program produces besides maps: trace_printk lines, signals. */
export interface VmOutput {
  /** Lines written by bpf_trace_printk, trailing newline removed. */
  trace: string[];
  /** Signals requested with bpf_send_signal. */
  signals: { signal: number; pid: number; tid: number }[];
}

/** An object a region can carry (map, ring record, ...). */
export type RegionObject = unknown;

/**
 * The per-program machine state shared by the translated code and the
 * helpers: the region table, the current environment and the output sinks.
 * Internal to runtime/vm.
 */
export class Machine {
  /**
   * Readable length per region (0: not readable). Replaced by a larger
   * array when regions run out: reload after helper calls.
   */
  rl: Int32Array = new Int32Array(64);
  /** Writable length per region (0: read-only); replaced like `rl`. */
  wl: Int32Array = new Int32Array(64);
  /** DataView per region. */
  readonly views: DataView[] = [];
  /** Bytes per region. */
  readonly bufs: Uint8Array[] = [];
  /** RegionKind per region. */
  kinds: Uint8Array = new Uint8Array(64);
  /** Map or ring record per region. */
  readonly objs: RegionObject[] = [];
  /** Regions in use. */
  n = 0;
  /** Regions that survive between runs. */
  base = 0;
  /** pc of the helper being called, for errors. */
  pc = 0;
  /**
   * Runs the subprogram starting at slot `t` with r1-r5 as pairs (a helper
   * calling a callback: `bpf_loop`, `bpf_for_each_map_elem`); returns r0's
   * low half, the high half in the helpers' `hi.v`. Set by the program
   * being run.
   */
  callback?: (
    t: number,
    a1l: number,
    a1h: number,
    a2l: number,
    a2h: number,
    a3l: number,
    a3h: number,
    a4l: number,
    a4h: number,
  ) => number;
  /** Current environment (valid during a run). */
  env!: VmEnvironment;
  /** Current CPU (valid during a run). */
  cpu = 0;
  /** Unique id of the current run, for per-run caches. */
  epoch = 0;
  /** Ring buffer records reserved and not yet submitted in this run. */
  pending: number[] = [];
  /** pc of each pending reservation. */
  pendingPc: number[] = [];
  /** Where trace_printk lines and signals go. */
  readonly output: VmOutput;
  readonly #describe: (pc: number) => string;

  /** Makes the stack frames and the ctx region; `describe` formats a pc. */
  constructor(describe: (pc: number) => string, output: VmOutput) {
    this.#describe = describe;
    this.output = output;
    const empty = new Uint8Array(0);
    const emptyView = new DataView(empty.buffer);
    for (let i = 0; i < MAX_FRAMES; i++) {
      const b = new Uint8Array(FRAME_SIZE);
      this.add(b, new DataView(b.buffer), RegionKind.STACK, undefined, true);
    }
    this.add(empty, emptyView, RegionKind.CTX, undefined, false);
  }

  /** Registers a region and returns its id. */
  add(
    buf: Uint8Array,
    view: DataView,
    kind: number,
    obj: RegionObject,
    writable: boolean,
  ): number {
    const id = this.n;
    if (id >= this.rl.length) this.#grow();
    this.n = id + 1;
    this.rl[id] = buf.length;
    this.wl[id] = writable ? buf.length : 0;
    this.views[id] = view;
    this.bufs[id] = buf;
    this.kinds[id] = kind;
    this.objs[id] = obj;
    return id;
  }

  #grow(): void {
    const size = this.rl.length * 2;
    if (size > MAX_REGIONS) {
      throw this.fault(`Too many live pointers (${MAX_REGIONS})`);
    }
    const rl = new Int32Array(size), wl = new Int32Array(size);
    const kinds = new Uint8Array(size);
    rl.set(this.rl);
    wl.set(this.wl);
    kinds.set(this.kinds);
    this.rl = rl;
    this.wl = wl;
    this.kinds = kinds;
  }

  /** Points the context region at `ctx`. */
  setCtx(ctx: Uint8Array, writable: boolean): void {
    if (this.bufs[CTX_REGION] !== ctx) {
      this.bufs[CTX_REGION] = ctx;
      this.views[CTX_REGION] = new DataView(
        ctx.buffer,
        ctx.byteOffset,
        ctx.byteLength,
      );
    }
    this.rl[CTX_REGION] = ctx.length;
    this.wl[CTX_REGION] = writable ? ctx.length : 0;
  }

  /** Forgets the regions of the previous run. */
  reset(): void {
    const { rl, wl, objs } = this;
    for (let i = this.base; i < this.n; i++) {
      rl[i] = 0;
      wl[i] = 0;
      objs[i] = undefined;
    }
    this.n = this.base;
  }

  /** Makes a VmError at the current helper's pc. */
  fault(reason: string): VmError {
    return this.faultAt(this.pc, reason);
  }

  /** Makes a VmError at `pc`. */
  faultAt(pc: number, reason: string): VmError {
    return new VmError(reason, pc, this.#describe(pc));
  }

  /** Explains why an access of `size` bytes through (lo, hi) failed. */
  accessFault(
    pc: number,
    lo: number,
    hi: number,
    off: number,
    size: number,
    write: boolean,
  ): VmError {
    return this.faultAt(pc, this.accessProblem(lo, hi, off, size, write));
  }

  /** Text of the problem with an access; "" when it is fine. */
  accessProblem(
    lo: number,
    hi: number,
    off: number,
    size: number,
    write: boolean,
  ): string {
    const what = write ? "write" : "read";
    const id = (hi - TAG) >>> 0;
    if (id >= this.n || this.kinds[id] === RegionKind.NONE) {
      const v = ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(16);
      return `Invalid ${what} of ${size} bytes through 0x${v}: not a pointer`;
    }
    const kind = KIND_NAMES[this.kinds[id]];
    if (this.kinds[id] === RegionKind.MAP_HANDLE) {
      return `Invalid ${what} through a map handle`;
    }
    const at = (lo >>> 0) + off;
    const len = this.rl[id];
    if (at < 0 || at + size > len) {
      return `Out-of-bounds ${what} of ${size} bytes at offset ${at} of ${kind} (${len} bytes)`;
    }
    if (write && at + size > this.wl[id]) {
      return `Invalid write of ${size} bytes to read-only ${kind}`;
    }
    return "";
  }

  /**
   * Region id of a pointer argument valid for `size` bytes, else throws.
   * `size` 0 only checks that the pointer is into a region.
   */
  region(lo: number, hi: number, size: number, write: boolean): number {
    const id = (hi - TAG) >>> 0;
    const len = write ? this.wl[id] : this.rl[id];
    if (id < this.n && lo >= 0 && size >= 0 && lo + size <= len) return id;
    throw this.fault(
      this.accessProblem(lo, hi, 0, size, write) ||
        "Invalid pointer argument",
    );
  }

  /** Region id of (lo, hi) if it points into a region with `size` bytes; -1. */
  tryRegion(lo: number, hi: number, size: number): number {
    const id = (hi - TAG) >>> 0;
    if (id < this.n && lo >= 0 && lo + size <= this.rl[id]) return id;
    return -1;
  }

  /** The object behind a map handle argument, else throws. */
  handle(lo: number, hi: number): RegionObject {
    const id = (hi - TAG) >>> 0;
    if (id >= this.n || this.kinds[id] !== RegionKind.MAP_HANDLE || lo !== 0) {
      throw this.fault("Helper argument is not a map");
    }
    return this.objs[id];
  }
}
