/**
 * Memory accesses for the verifier: loads and stores through context, stack,
 * map value and ringbuf record pointers (bounds, alignment, initialized
 * bytes, spills), atomic operations, and helper memory arguments.
 *
 * @module
 */

import { ProgType, STACK_SIZE } from "../bpf/opcodes.ts";
import { constOf, FULL, loadRange, rangeText } from "./scalar.ts";
import {
  ALL_MISC,
  byteKind,
  type Frame,
  isOrNull,
  isPointer,
  markMisc,
  ownStack,
  type Reg,
  S,
  scalar,
  spillAt,
  T,
  typeName,
} from "./state.ts";
import type { Dec } from "./structure.ts";
import { MAX_VAR_OFF, type Verification } from "./verification.ts";

/**
 * Checks a load or store through pointer `p` (register `regno`) at
 * instruction offset `off`. Returns the loaded value for loads.
 */
export function access(
  vr: Verification,
  pc: number,
  regno: number,
  p: Reg,
  off: number,
  size: number,
  write: boolean,
  value: Reg | undefined,
  sx: boolean,
): Reg | undefined {
  const rn = `R${regno}`;
  switch (p.t) {
    case T.SCALAR:
      vr.fail(
        pc,
        `${rn} is a scalar, not a pointer; it cannot be dereferenced`,
      );
      break;
    case T.MAP_PTR:
      vr.fail(
        pc,
        `${rn} is a map pointer; it cannot be dereferenced, only passed to helpers`,
      );
      break;
    case T.MAP_VALUE_OR_NULL:
    case T.MEM_OR_NULL:
    case T.KPTR_OR_NULL:
      vr.fail(pc, `${rn} is ${typeName(p)}; check it against 0 first`);
      break;
    case T.CTX: {
      if (p.off !== 0 || constOf(p.r) !== 0n) {
        vr.fail(
          pc,
          `dereference of a modified context pointer ${rn} (offset ${
            p.off !== 0 ? p.off : rangeText(p.r)
          }) is not allowed; put the offset in the instruction instead`,
        );
      }
      if (
        write && (!vr.opts.ctxWritable || (value && isPointer(value.t)))
      ) {
        vr.fail(
          pc,
          value && isPointer(value.t)
            ? `cannot store a pointer into the context`
            : `the context is read-only`,
        );
      }
      const size0 = vr.opts.ctxSize;
      if (off < 0 || off + size > size0) {
        vr.fail(
          pc,
          `context access out of range: ${size} bytes at offset ${off}, the context has ${size0} bytes`,
        );
      }
      if (off % size !== 0) {
        vr.fail(
          pc,
          `misaligned context access: ${size} bytes at offset ${off}`,
        );
      }
      if (vr.opts.progType === ProgType.TRACEPOINT && off < 8) {
        vr.fail(
          pc,
          `context access at offset ${off}: a tracepoint's first 8 bytes (the common header) cannot be read`,
        );
      }
      return scalar(loadRange(size, sx));
    }
    case T.MAP_VALUE:
    case T.MEM: {
      checkRegion(vr, pc, rn, p, off, size);
      // A kernel address may be stored (the kernel lets CAP_PERFMON,
      // which bpf_per_cpu_ptr needs, store pointers).
      if (write && value && isPointer(value.t) && value.t !== T.KPTR) {
        vr.fail(
          pc,
          `storing a pointer (${typeName(value)}) into ${
            p.t === T.MEM ? "a ringbuf record" : "a map value"
          } would leak it`,
        );
      }
      return write ? undefined : scalar(loadRange(size, sx));
    }
    case T.STACK:
      return stackAccess(vr, pc, p, off, size, write, value, sx);
  }
  return vr.fail(pc, `${rn} is ${typeName(p)}; it cannot be dereferenced`);
}

/** Bounds check of a map value or ringbuf record access. */
function checkRegion(
  vr: Verification,
  pc: number,
  rn: string,
  p: Reg,
  off: number,
  size: number,
): void {
  const limit = p.t === T.MEM ? p.size : vr.opts.maps[p.map].valueSize;
  const what = p.t === T.MEM ? "ringbuf record" : "map value";
  if (p.r.umax >= BigInt(MAX_VAR_OFF)) {
    // The kernel bounds the variable offset by its unsigned maximum: a
    // variable part that may be negative is unbounded there.
    vr.fail(
      pc,
      `${what} access through ${rn} with a variable offset that may be negative (${
        rangeText(p.r)
      }) is unbounded; make the offset non-negative first`,
    );
  }
  const lo = p.off + off + Number(p.r.smin);
  const hi = p.off + off + Number(p.r.smax) + size;
  if (lo < 0 || hi > limit) {
    const at = p.r.smin === p.r.smax
      ? `offset ${lo}`
      : `offsets ${lo} to ${hi - size} (${rn} has a variable offset ${
        rangeText(p.r)
      })`;
    vr.fail(
      pc,
      `${what} access out of range: ${size} bytes at ${at}, the ${what} has ${limit} bytes`,
    );
  }
}

function stackFrameOf(vr: Verification, p: Reg): Frame {
  return vr.cur.frames[p.frame];
}

function noteDepth(vr: Verification, p: Reg, lowest: number): void {
  const f = stackFrameOf(vr, p);
  if (-lowest > vr.funcDepth[f.func]) vr.funcDepth[f.func] = -lowest;
}

function stackAccess(
  vr: Verification,
  pc: number,
  p: Reg,
  off: number,
  size: number,
  write: boolean,
  value: Reg | undefined,
  sx: boolean,
): Reg | undefined {
  const f = stackFrameOf(vr, p);
  const lo = p.off + off + Number(p.r.smin);
  const hi = p.off + off + Number(p.r.smax) + size;
  if (lo < -STACK_SIZE || hi > 0) {
    vr.fail(
      pc,
      `stack access out of range: ${size} bytes at fp${sign(lo)}${
        p.r.smin !== p.r.smax ? ` to fp${sign(hi - size)}` : ""
      }; the stack is [fp-512, fp)`,
    );
  }
  const variable = p.r.smin !== p.r.smax;
  if (variable ? size !== 1 : lo % size !== 0) {
    vr.fail(
      pc,
      variable
        ? `variable-offset stack access of ${size} bytes: its alignment cannot be proven (only 1-byte accesses may use a variable offset)`
        : `misaligned stack access: ${size} bytes at fp${sign(lo)}`,
    );
  }
  noteDepth(vr, p, lo);
  const start = lo + STACK_SIZE, end = hi + STACK_SIZE;
  if (write) {
    ownStack(f);
    if (!variable && start < f.lo) f.lo = start;
    const v = value!;
    if (isPointer(v.t)) {
      if (variable || size !== 8 || (start & 7) !== 0) {
        vr.fail(
          pc,
          `a pointer (${
            typeName(v)
          }) must be stored on the stack as 8 bytes at an 8-aligned offset (fp${
            sign(lo)
          } with ${size} bytes is not)`,
        );
      }
      if (v.t === T.STACK && v.frame > p.frame) {
        vr.fail(
          pc,
          `storing a pointer to a callee's stack into a caller's stack is not allowed`,
        );
      }
    }
    if (!variable && size === 8 && (start & 7) === 0) {
      f.slots[start >> 3] = v;
      return undefined;
    }
    forgetSpills(f, start, end);
    if (!variable) markMisc(f, start, end);
    return undefined;
  }
  for (let i = start; i < end; i++) {
    if (byteKind(f, i) === S.INVALID) {
      vr.fail(
        pc,
        `reads ${size} bytes at fp${sign(lo)}${
          variable ? ` to fp${sign(hi - size)}` : ""
        } but fp${
          sign(i - STACK_SIZE)
        } was never written (uninitialized stack)`,
      );
    }
  }
  if (!variable && size === 8 && (start & 7) === 0) {
    const sp = spillAt(f, start >> 3);
    if (sp) return sp;
  }
  for (let s = start >> 3; s <= (end - 1) >> 3; s++) {
    const sp = spillAt(f, s);
    if (sp && sp.t !== T.SCALAR) {
      vr.fail(
        pc,
        `partial read of a spilled pointer (${typeName(sp)}) at fp${
          sign(s * 8 - STACK_SIZE)
        }; a spilled pointer must be loaded as 8 aligned bytes`,
      );
    }
  }
  return scalar(loadRange(size, sx));
}

/** Checks an atomic read-modify-write instruction. */
export function doAtomic(vr: Verification, pc: number, d: Dec): void {
  const p = vr.read(pc, d.dst);
  const v = vr.read(pc, d.src);
  if (v.t !== T.SCALAR) {
    vr.fail(
      pc,
      `atomic operation with a pointer operand is not allowed (R${d.src} is ${
        typeName(v)
      })`,
    );
  }
  if (d.op === "CMPXCHG") {
    const r0 = vr.read(pc, 0, " (the compare value of cmpxchg)");
    if (r0.t !== T.SCALAR) {
      vr.fail(pc, `cmpxchg needs a scalar in R0, not ${typeName(r0)}`);
    }
  }
  if (p.t !== T.STACK && p.t !== T.MAP_VALUE && p.t !== T.MEM) {
    if (p.t === T.CTX) {
      vr.fail(pc, `atomic operation on the context is not allowed`);
    }
    access(vr, pc, d.dst, p, d.off, d.size, true, v, false);
  }
  if (constOf(p.r) !== 0n) {
    vr.fail(
      pc,
      `atomic operation through R${d.dst} with a variable offset is not allowed`,
    );
  }
  if ((p.off + d.off) % d.size !== 0) {
    vr.fail(
      pc,
      `misaligned atomic access: ${d.size} bytes at offset ${
        p.off + d.off
      } from R${d.dst}`,
    );
  }
  access(vr, pc, d.dst, p, d.off, d.size, false, undefined, false);
  if (p.t === T.STACK) {
    // The slot now holds data, whatever was spilled there.
    access(vr, pc, d.dst, p, d.off, d.size, true, scalar(FULL), false);
    const f = stackFrameOf(vr, p);
    const at = p.off + d.off + STACK_SIZE;
    if (d.size === 8) {
      ownStack(f);
      f.slots[at >> 3] = ALL_MISC;
    }
  }
  if (d.sx) {
    const out = scalar(loadRange(d.size, false));
    vr.set(d.op === "CMPXCHG" ? 0 : d.src, out);
  }
}

/** Checks a pointer argument to `size` bytes (-1: type only). */
export function memArg(
  vr: Verification,
  pc: number,
  what: string,
  p: Reg,
  size: number,
  write: boolean,
): void {
  if (isOrNull(p.t)) {
    vr.fail(pc, `${what} is ${typeName(p)}; check it against 0 first`);
  }
  if (p.t !== T.STACK && p.t !== T.MAP_VALUE && p.t !== T.MEM) {
    vr.fail(
      pc,
      `${what} must point to memory (stack, map value or ringbuf record), but it is ${
        typeName(p)
      }`,
    );
  }
  if (size < 0) return;
  if (p.t !== T.STACK) {
    checkRegion(vr, pc, what, p, 0, size);
    return;
  }
  const f = stackFrameOf(vr, p);
  const lo = p.off + Number(p.r.smin);
  const hi = p.off + Number(p.r.smax) + size;
  if (lo < -STACK_SIZE || hi > 0) {
    vr.fail(
      pc,
      `${what}: ${size} bytes at fp${
        sign(lo)
      } are outside the stack [fp-512, fp)`,
    );
  }
  noteDepth(vr, p, lo);
  const start = lo + STACK_SIZE, end = hi + STACK_SIZE;
  const variable = p.r.smin !== p.r.smax;
  if (write) {
    ownStack(f);
    if (!variable && start < f.lo) f.lo = start;
    forgetSpills(f, start, end);
    if (!variable) markMisc(f, start, end);
    return;
  }
  for (let i = start; i < end; i++) {
    if (byteKind(f, i) === S.INVALID) {
      vr.fail(
        pc,
        `${what}: reads ${size} bytes at fp${sign(lo)} but fp${
          sign(i - STACK_SIZE)
        } was never written (uninitialized stack)`,
      );
    }
  }
}

/**
 * Turns the spilled registers in the slots of bytes [start, end) into
 * data (a write over part of a spill, or at a variable offset).
 */
function forgetSpills(f: Frame, start: number, end: number): void {
  for (let s = start >> 3; s <= (end - 1) >> 3; s++) {
    if (typeof f.slots[s] !== "number") f.slots[s] = ALL_MISC;
  }
}

/** `+8` or `-8`: an offset from r10 as the messages show it. */
function sign(v: number): string {
  return v < 0 ? `${v}` : `+${v}`;
}
