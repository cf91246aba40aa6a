/**
 * The abstract machine state the verifier tracks along one path: per call
 * frame the eleven registers and the 512-byte stack (what each byte holds,
 * and registers spilled to 8-byte slots), plus the acquired ringbuf records.
 * Also the two state comparisons: exact equality (infinite loop detection)
 * and "old covers new" (state pruning).
 *
 * @module
 */

import { STACK_SIZE } from "../bpf/opcodes.ts";
import { constRange, type Range, rangeEqual, rangeWithin } from "./scalar.ts";
import type { Structure } from "./structure.ts";

/** Register value kinds. */
export const T = {
  NOT_INIT: 0,
  SCALAR: 1,
  CTX: 2,
  MAP_PTR: 3,
  MAP_VALUE: 4,
  MAP_VALUE_OR_NULL: 5,
  STACK: 6,
  MEM: 7,
  MEM_OR_NULL: 8,
  /** A callback function (`ld_imm64` of a function); `off` is its pc. */
  FUNC: 9,
  /**
   * A per-CPU kernel variable (`ld_imm64` with `BPF_PSEUDO_BTF_ID`; `size`
   * is its BTF id): only `bpf_per_cpu_ptr` and `bpf_this_cpu_ptr` take it.
   */
  PERCPU: 10,
  /**
   * A kernel address from `bpf_per_cpu_ptr`/`bpf_this_cpu_ptr`: read only
   * through `bpf_probe_read_kernel`, never dereferenced (the kernel would
   * allow loads from it; tsbpf's code never makes them).
   */
  KPTR: 11,
  /** A `KPTR` that may be NULL (`bpf_per_cpu_ptr` of a CPU that is not). */
  KPTR_OR_NULL: 12,
} as const;

/** What a register holds. Treated as immutable: replace, never mutate. */
export interface Reg {
  /** One of `T`. */
  t: number;
  /** Scalar: its value range. Pointer: range of its variable offset. */
  r: Range;
  /** Pointer: fixed offset. */
  off: number;
  /** Map index (map pointers and map values). */
  map: number;
  /** Null-check id of maybe-NULL pointers; link id of copied scalars. */
  id: number;
  /** Reference id of a ringbuf record (MEM, MEM_OR_NULL). */
  ref: number;
  /** Byte size of a ringbuf record. */
  size: number;
  /** Stack pointer: the frame number it points into. */
  frame: number;
  /** NOT_INIT: why, for messages. */
  note: string;
}

/** Kinds of stack bytes. */
export const S = { INVALID: 0, MISC: 1, SPILL: 2 } as const;

/**
 * One 8-byte stack slot: a spilled register (all 8 bytes `S.SPILL`), or a
 * mask of the bytes holding data (bit b set: byte b of the slot is
 * `S.MISC`, clear: `S.INVALID`, never written).
 */
export type Slot = Reg | number;

/** Every byte of a slot holds data. */
export const ALL_MISC = 0xff;

/** One call frame. */
export interface Frame {
  /** r0 to r10. */
  regs: Reg[];
  /**
   * The 64 slots of the stack, from fp-512 (index 0) to fp-8 (index 63):
   * byte index i (0 for fp-512, 511 for fp-1) is in slot i >> 3.
   */
  slots: Slot[];
  /** The call instruction that created the frame (-1 for the main one). */
  callsite: number;
  /** Index of the function the frame runs. */
  func: number;
  /**
   * False while `slots` may be shared with another state; call `ownStack`
   * before changing it.
   */
  own: boolean;
  /** Lowest byte index ever written (512 when none): bytes below are INVALID. */
  lo: number;
}

/** An acquired reference (ringbuf record) and where it was acquired. */
export interface Ref {
  /** Reference id (also the record's `Reg.ref`). */
  id: number;
  /** The instruction that acquired it. */
  pc: number;
}

/** The state along one path. */
export interface State {
  /** Call frames, the current one last. */
  frames: Frame[];
  /**
   * Acquired ringbuf records not yet submitted or discarded. Shared
   * between copies: replace it, never change it in place.
   */
  refs: readonly Ref[];
}

const ZERO = constRange(0n);

/** A register with the given kind and defaults for the rest. */
export function mkReg(t: number, p: Partial<Reg> = {}): Reg {
  return {
    t,
    r: ZERO,
    off: 0,
    map: -1,
    id: 0,
    ref: 0,
    size: 0,
    frame: 0,
    note: "",
    ...p,
  };
}

/** An uninitialized register with a note saying why. */
export function notInit(note: string): Reg {
  return mkReg(T.NOT_INIT, { note });
}

/** A scalar with the given range. */
export function scalar(r: Range): Reg {
  return {
    t: T.SCALAR,
    r,
    off: 0,
    map: -1,
    id: 0,
    ref: 0,
    size: 0,
    frame: 0,
    note: "",
  };
}

/** A fresh frame whose r10 points at its own stack. */
export function newFrame(
  index: number,
  callsite: number,
  func: number,
  note: string,
): Frame {
  const u = notInit(note);
  const regs: Reg[] = new Array(11).fill(u);
  regs[10] = mkReg(T.STACK, { frame: index });
  return {
    regs,
    slots: new Array<Slot>(STACK_SIZE / 8).fill(0),
    callsite,
    func,
    own: true,
    lo: STACK_SIZE,
  };
}

/** Makes a frame's stack private to it before a change. */
export function ownStack(f: Frame): void {
  if (f.own) return;
  f.slots = f.slots.slice();
  f.own = true;
}

/** What byte `i` of a frame's stack holds: one of `S`. */
export function byteKind(f: Frame, i: number): number {
  const x = f.slots[i >> 3];
  if (typeof x !== "number") return S.SPILL;
  return (x >> (i & 7)) & 1 ? S.MISC : S.INVALID;
}

/** The register spilled to slot `s`, if any. */
export function spillAt(f: Frame, s: number): Reg | undefined {
  const x = f.slots[s];
  return typeof x === "number" ? undefined : x;
}

/** Marks bytes [start, end) of a frame's own stack as data. */
export function markMisc(f: Frame, start: number, end: number): void {
  for (let s = start >> 3; s <= (end - 1) >> 3; s++) {
    const x = f.slots[s];
    const from = Math.max(start, s * 8) - s * 8;
    const to = Math.min(end, s * 8 + 8) - s * 8;
    const bits = ((1 << to) - 1) & ~((1 << from) - 1);
    f.slots[s] = (typeof x === "number" ? x : ALL_MISC) | bits;
  }
}

/**
 * A copy (registers and the list of references are shared: they are
 * immutable; stacks are shared copy-on-write, see `ownStack`).
 */
export function copyState(s: State): State {
  return {
    frames: s.frames.map((f) => {
      f.own = false;
      return {
        regs: f.regs.slice(),
        slots: f.slots,
        callsite: f.callsite,
        func: f.func,
        own: false,
        lo: f.lo,
      };
    }),
    refs: s.refs,
  };
}

/** True for the pointer kinds that may be NULL. */
export function isOrNull(t: number): boolean {
  return t === T.MAP_VALUE_OR_NULL || t === T.MEM_OR_NULL ||
    t === T.KPTR_OR_NULL;
}

/** True for every pointer kind. */
export function isPointer(t: number): boolean {
  return t !== T.NOT_INIT && t !== T.SCALAR;
}

/** Words for a register's kind, for messages. */
export function typeName(r: Reg): string {
  switch (r.t) {
    case T.NOT_INIT:
      return "uninitialized";
    case T.SCALAR:
      return "a scalar";
    case T.CTX:
      return "the context pointer";
    case T.MAP_PTR:
      return "a map pointer";
    case T.MAP_VALUE:
      return "a map value pointer";
    case T.MAP_VALUE_OR_NULL:
      return "a map value that may be NULL";
    case T.STACK:
      return "a stack pointer";
    case T.MEM:
      return "a ringbuf record pointer";
    case T.MEM_OR_NULL:
      return "a ringbuf record that may be NULL";
    case T.FUNC:
      return "a callback function";
    case T.PERCPU:
      return "a per-CPU variable (for bpf_per_cpu_ptr or bpf_this_cpu_ptr)";
    case T.KPTR:
      return "a kernel pointer (read through bpf_probe_read_kernel)";
    case T.KPTR_OR_NULL:
      return "a kernel pointer that may be NULL";
  }
  return "unknown";
}

/** A two-way id correspondence built while comparing two states. */
class IdMap {
  #fwd: Map<number, number> | undefined;
  #back: Map<number, number> | undefined;
  /** True when `a` in the old state may stand for `b` in the new one. */
  check(a: number, b: number): boolean {
    if (a === 0 && b === 0) return true;
    if (a === 0 || b === 0) return false;
    this.#fwd ??= new Map();
    this.#back ??= new Map();
    const f = this.#fwd.get(a), r = this.#back.get(b);
    if (f === undefined && r === undefined) {
      this.#fwd.set(a, b);
      this.#back.set(b, a);
      return true;
    }
    return f === b && r === a;
  }
}

function ptrFieldsEqual(a: Reg, b: Reg): boolean {
  return a.off === b.off && a.map === b.map && a.size === b.size &&
    a.frame === b.frame;
}

/** True when `old` covers every value `cur` may hold. */
function regCovers(old: Reg, cur: Reg, ids: IdMap, exact = true): boolean {
  if (old.t === T.NOT_INIT) return true;
  if (old === cur) {
    // The same register (they are immutable): only its ids must match up.
    if (old.t === T.SCALAR) {
      return !exact || old.id === 0 || ids.check(old.id, old.id);
    }
    return ids.check(old.id, old.id) && ids.check(old.ref, old.ref);
  }
  if (old.t !== cur.t) return false;
  if (old.t === T.SCALAR) {
    if (!exact) return true;
    if (!rangeWithin(old.r, cur.r)) return false;
    return old.id === 0 || ids.check(old.id, cur.id);
  }
  return ptrFieldsEqual(old, cur) && rangeWithin(old.r, cur.r) &&
    ids.check(old.id, cur.id) && ids.check(old.ref, cur.ref);
}

function regEqual(a: Reg, b: Reg, ids: IdMap): boolean {
  if (a.t !== b.t) return false;
  if (a.t === T.NOT_INIT) return true;
  if (a === b) return ids.check(a.id, a.id) && ids.check(a.ref, a.ref);
  return ptrFieldsEqual(a, b) && rangeEqual(a.r, b.r) &&
    ids.check(a.id, b.id) &&
    ids.check(a.ref, b.ref);
}

function stackCovers(
  old: Frame,
  cur: Frame,
  ids: IdMap,
  need0: number,
  need1: number,
): boolean {
  const os = old.slots, cs = cur.slots;
  if (os === cs) {
    // Same bytes: only the ids of spilled registers need matching up.
    for (const sp of os) {
      if (
        typeof sp !== "number" && (sp.id !== 0 || sp.ref !== 0) &&
        !regCovers(sp, sp, ids)
      ) {
        return false;
      }
    }
    return true;
  }
  for (let slot = old.lo >> 3; slot < os.length; slot++) {
    const o = os[slot];
    const c = cs[slot];
    if (typeof o === "number") {
      // Data: the same bytes (or more) hold data, or a spilled scalar.
      if (o === 0) continue;
      if (typeof c === "number" ? (o & ~c) !== 0 : c.t !== T.SCALAR) {
        return false;
      }
      continue;
    }
    const need = slot < 32 ? need0 & (1 << slot) : need1 & (1 << (slot - 32));
    if (!need && o.t === T.SCALAR) {
      // A scalar whose value does not matter: any data will do.
      if (typeof c === "number" ? c !== ALL_MISC : c.t !== T.SCALAR) {
        return false;
      }
      continue;
    }
    if (typeof c === "number" || !regCovers(o, c, ids)) return false;
  }
  return true;
}

function refsMatch(
  a: readonly Ref[],
  b: readonly Ref[],
  ids: IdMap,
): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (!ids.check(a[i].id, b[i].id)) return false;
  }
  return true;
}

/**
 * True when everything `cur` can do from `pc` on was already checked from
 * `old`: same frames, every live register and every stack byte of `old`
 * at least as general as in `cur`. Scalars whose value is not needed
 * (see `Structure.needIn`) are compared by kind only.
 *
 * @param s the static analyses: registers live at a pc, registers and
 * stack slots (of the current frame) whose value matters at a pc.
 */
export function stateCovers(
  old: State,
  cur: State,
  pc: number,
  s: Pick<Structure, "liveIn" | "needIn" | "slotNeedIn">,
): boolean {
  if (old.frames.length !== cur.frames.length) return false;
  const ids = new IdMap();
  const last = cur.frames.length - 1;
  for (let f = last; f >= 0; f--) {
    const of = old.frames[f], cf = cur.frames[f];
    if (of.callsite !== cf.callsite) return false;
    // A caller's r0-r5 are overwritten when its callee returns.
    const at = f === last ? pc : cur.frames[f + 1].callsite + 1;
    const mask = f === last ? 0x7ff : 0x3c0;
    const live = s.liveIn[at] & mask, need = s.needIn[at];
    for (let r = 0; r < 10; r++) {
      const b = 1 << r;
      if ((live & b) === 0) continue;
      if (!regCovers(of.regs[r], cf.regs[r], ids, (need & b) !== 0)) {
        return false;
      }
    }
    const n0 = f === last ? s.slotNeedIn[2 * pc] : -1;
    const n1 = f === last ? s.slotNeedIn[2 * pc + 1] : -1;
    if (!stackCovers(of, cf, ids, n0, n1)) return false;
  }
  return refsMatch(old.refs, cur.refs, ids);
}

/** Mixes the 64 bits of `v` into hash `h`. */
function mix64(h: number, v: bigint): number {
  h = (Math.imul(h, 31) + Number(BigInt.asUintN(32, v))) | 0;
  return (Math.imul(h, 31) + Number(BigInt.asIntN(32, v >> 32n))) | 0;
}

/** Hashes of ranges already seen (ranges are immutable and shared). */
const rangeHashes = new WeakMap<Range, number>();

/** A hash of all four bounds of a range, computed once per range. */
function rangeHash(r: Range): number {
  let h = rangeHashes.get(r);
  if (h === undefined) {
    h = mix64(mix64(mix64(mix64(0, r.umin), r.umax), r.smin), r.smax);
    rangeHashes.set(r, h);
  }
  return h;
}

/** A hash of a register's kind, offset and range (not its ids). */
function regHash(h: number, x: Reg): number {
  h = (Math.imul(h, 31) + x.t) | 0;
  if (x.t === T.NOT_INIT) return h;
  h = (Math.imul(h, 31) + x.off) | 0;
  return (Math.imul(h, 31) + rangeHash(x.r)) | 0;
}

/**
 * A hash of the current frame (registers and stack), equal for states
 * that `stateEqual` finds equal: where a loop may have come back to a
 * state, only states of the same hash need comparing.
 */
export function stateHash(st: State): number {
  const f = st.frames[st.frames.length - 1];
  let h = (st.frames.length * 131 + f.callsite) | 0;
  for (let r = 0; r < 10; r++) h = regHash(h, f.regs[r]);
  h = (Math.imul(h, 31) + f.lo) | 0;
  const sl = f.slots;
  for (let i = f.lo >> 3; i < sl.length; i++) {
    const x = sl[i];
    h = typeof x === "number"
      ? (Math.imul(h, 31) + x) | 0
      : regHash(Math.imul(h, 31) | 0, x);
  }
  return h;
}

/** True when both states are the same (ids matched up to renaming). */
export function stateEqual(a: State, b: State): boolean {
  if (a.frames.length !== b.frames.length) return false;
  const ids = new IdMap();
  for (let f = a.frames.length - 1; f >= 0; f--) {
    const x = a.frames[f], y = b.frames[f];
    if (x.callsite !== y.callsite) return false;
    for (let r = 0; r < 10; r++) {
      if (!regEqual(x.regs[r], y.regs[r], ids)) return false;
    }
    if (x.lo !== y.lo) return false;
    const xs = x.slots, ys = y.slots;
    for (let i = 0; i < xs.length; i++) {
      const p = xs[i], q = ys[i];
      if (p === q) continue;
      if (typeof p === "number" || typeof q === "number") return false;
      if (!regEqual(p, q, ids)) return false;
    }
  }
  return refsMatch(a.refs, b.refs, ids);
}
