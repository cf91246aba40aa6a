/**
 * Conditional jumps for the verifier: which sides can happen, the ranges
 * learnt on each side (also for registers copied from a compared one), and
 * turning a maybe-NULL pointer into a pointer or 0 after a NULL check.
 *
 * @module
 */

import {
  branchTaken,
  type CmpKind,
  constOf,
  constRange,
  FULL,
  negateCmp,
  type Range,
  refine,
  refine32,
} from "./scalar.ts";
import {
  copyState,
  type Frame,
  isOrNull,
  ownStack,
  type Reg,
  scalar,
  type State,
  T,
} from "./state.ts";
import type { Dec } from "./structure.ts";
import type { Verification } from "./verification.ts";

/**
 * Checks a conditional jump, queues the side not taken first (narrowed) and
 * returns the pc the current path goes on at.
 */
export function doJcond(vr: Verification, pc: number, d: Dec): number {
  const a = vr.read(pc, d.dst);
  const b = d.useReg ? vr.read(pc, d.src) : scalar(d.immR);
  const op = d.op as CmpKind;
  const next = pc + 1;
  if (a.t === T.SCALAR && b.t === T.SCALAR) {
    const fn = d.bits === 64 ? refine : refine32;
    let yes = fn(op, a.r, b.r);
    let no = fn(negateCmp(op), a.r, b.r);
    if (!yes || !no) {
      // The kernel leaves out a side only when its bounds decide the
      // compare; a side that narrowing alone shows impossible is still
      // followed there, so we follow it too, with the compared values
      // unknown.
      const taken = branchTaken(op, a.r, b.r, d.bits);
      const lost: [Range, Range] = [FULL, d.useReg ? FULL : b.r];
      if (taken !== false) yes ??= lost;
      if (taken !== true) no ??= lost;
    }
    if (yes && no) {
      const other = copyState(vr.cur);
      applyRefine(other, d, a, b, yes);
      vr.fork(other, d.target);
      applyRefine(vr.cur, d, a, b, no);
      return next;
    }
    if (yes) {
      applyRefine(vr.cur, d, a, b, yes);
      return d.target;
    }
    if (no) {
      applyRefine(vr.cur, d, a, b, no);
      return next;
    }
    return -1;
  }
  // Comparisons involving pointers: NULL checks, and non-NULL vs 0.
  const zero = b.t === T.SCALAR && constOf(b.r) === 0n;
  if (d.bits === 64 && zero && (op === "JEQ" || op === "JNE")) {
    if (isOrNull(a.t)) {
      const other = copyState(vr.cur);
      // target side: null when JEQ
      markNull(other, a.id, op === "JEQ");
      vr.fork(other, d.target);
      markNull(vr.cur, a.id, op !== "JEQ");
      return next;
    }
    // As the kernel, only pointers that cannot be NULL: stack and
    // context pointers are compared like unknown values.
    if (a.t === T.MAP_VALUE || a.t === T.MEM || a.t === T.MAP_PTR) {
      return op === "JEQ" ? next : d.target;
    }
  }
  vr.fork(copyState(vr.cur), d.target);
  return next;
}

function applyRefine(
  st: State,
  d: Dec,
  a: Reg,
  b: Reg,
  [ra, rb]: [Range, Range],
): void {
  const f = st.frames[st.frames.length - 1];
  if (ra !== a.r) setScalar(st, f, d.dst, a, ra);
  if (d.useReg && rb !== b.r) setScalar(st, f, d.src, b, rb);
}

function setScalar(
  st: State,
  f: Frame,
  r: number,
  old: Reg,
  range: Range,
): void {
  const nv = { ...old, r: range };
  f.regs[r] = nv;
  if (old.id === 0) return;
  for (const fr of st.frames) {
    for (let i = 0; i < 10; i++) {
      const x = fr.regs[i];
      if (x.t === T.SCALAR && x.id === old.id) fr.regs[i] = nv;
    }
    for (let s = 0; s < fr.slots.length; s++) {
      const x = fr.slots[s];
      if (typeof x !== "number" && x.t === T.SCALAR && x.id === old.id) {
        ownStack(fr);
        fr.slots[s] = nv;
      }
    }
  }
}

function markNull(
  st: State,
  id: number,
  isNull: boolean,
): void {
  const conv = (x: Reg): Reg => {
    if (isNull) return scalar(constRange(0n));
    return {
      ...x,
      t: x.t === T.MAP_VALUE_OR_NULL
        ? T.MAP_VALUE
        : x.t === T.KPTR_OR_NULL
        ? T.KPTR
        : T.MEM,
      id: 0,
    };
  };
  for (const fr of st.frames) {
    for (let i = 0; i < 10; i++) {
      const x = fr.regs[i];
      if (isOrNull(x.t) && x.id === id) fr.regs[i] = conv(x);
    }
    for (let s = 0; s < fr.slots.length; s++) {
      const x = fr.slots[s];
      if (typeof x !== "number" && isOrNull(x.t) && x.id === id) {
        ownStack(fr);
        fr.slots[s] = conv(x);
      }
    }
  }
  if (isNull) st.refs = st.refs.filter((r) => r.id !== id);
}
