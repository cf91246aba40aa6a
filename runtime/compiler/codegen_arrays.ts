/**
 * Integer-array values (0.26 `(uint8[4])x`): writing a cast into memory,
 * reading an element, and comparing arrays, tuples and records with
 * `==`/`!=`.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import type { Width } from "../bpf/builder.ts";
import { Helper, R10 } from "../bpf/opcodes.ts";
import type { Ref } from "./regs.ts";
import { sizeOf, stored, type SType } from "./types.ts";
import type { Dst, Emitter } from "./emitter.ts";

/**
 * Writes `(T[N])x` into `d`: a string's bytes, or an integer's bytes
 * (little-endian, as bpftrace), zero-extended to the array's size.
 *
 * @example Usage
 * ```ts ignore
 * intArrayInto(cg, castNode, { base: R10, off: -16 }, arrayType, true);
 * ```
 */
export function intArrayInto(
  cg: Emitter,
  e: ast.CastExpr,
  d: Dst,
  st: SType & { k: "intarray" },
  clean: boolean,
): void {
  const src = cg.type(e.expr);
  if (src.k === "str") {
    cg.into(e.expr, d, { k: "str", size: st.size }, clean);
    return;
  }
  const v = cg.scalar(e.expr);
  if (st.size === 1 || st.size === 2 || st.size === 4 || st.size === 8) {
    cg.storeScalar(d, v, st.size);
    cg.ra.free(v);
    return;
  }
  // 3, 5, 6 or 7 bytes: the widest store that fits, then the rest.
  const r = cg.own(v);
  let at = 0;
  while (at < st.size) {
    const left = st.size - at;
    const w: Width = left >= 4 ? 4 : left >= 2 ? 2 : 1;
    cg.storeScalar({ base: d.base, off: d.off + at }, r, w);
    at += w;
    if (at < st.size) cg.b.alu64Imm("RSH", cg.ra.reg(r), w * 8);
  }
  cg.ra.free(r);
}

/**
 * `$s[$i]` / `$a[$i]` with a run-time index: the element read from the
 * value's stack copy at `i * size` when `i` is below the element count
 * (unsigned: a negative index is out of bounds too), else 0.
 *
 * @example Usage
 * ```ts ignore
 * const r = varIndexLoad(cg, indexNode); // the byte, or 0
 * ```
 */
export function varIndexLoad(cg: Emitter, e: ast.IndexExpr): Ref {
  const b = cg.b;
  const ra = cg.ra;
  const bt = cg.type(e.expr);
  const es = (bt.k === "intarray" ? bt.elem.size : 1) as Width;
  const n = bt.k === "intarray" ? bt.count : sizeOf(bt);
  const signed = bt.k === "intarray" && bt.elem.signed;
  const src = cg.mem(e.expr);
  const res = cg.alloc(8);
  b.st(8, R10, res, 0);
  const i = cg.own(cg.scalar(e.index));
  ra.evictCallerSaved();
  const floor = ra.split();
  const out = b.newLabel("oob");
  cg.region(() => {
    b.jmpImm("JGE", ra.reg(i), n, out);
    const at = cg.times(i, es);
    b.alu64Reg("ADD", ra.reg(at), R10);
    b.alu64Imm("ADD", ra.reg(at), src.off);
    cg.call(
      Helper.probe_read_kernel,
      [{ fp: res }, ra.imm(es), at],
      false,
    );
    b.label(out);
  });
  ra.floor = floor;
  return loadInt(cg, R10, res, es, signed);
}

/**
 * Loads an integer of `size` bytes at `base + off` into a register,
 * sign-extending it when `signed`.
 *
 * @example Usage
 * ```ts ignore
 * const r = loadInt(cg, R10, -8, 2, true); // an int16 element
 * ```
 */
export function loadInt(
  cg: Emitter,
  base: number,
  off: number,
  size: Width,
  signed: boolean,
): ReturnType<Emitter["scalar"]> {
  const r = cg.ra.newReg();
  const rr = cg.ra.reg(r);
  cg.b.ldx(size, rr, base, off);
  if (signed && size < 8) {
    cg.b.alu64Imm("LSH", rr, 64 - size * 8);
    cg.b.alu64Imm("ARSH", rr, 64 - size * 8);
  }
  return r;
}

/**
 * `a == b` on integer arrays, tuples or records: falls through when
 * equal, jumps to `ne` otherwise. Integer elements compare as integers,
 * strings up to their NUL, arrays byte by byte.
 *
 * @example Usage
 * ```ts ignore
 * aggregateEq(cg, e.left, e.right, "ne");
 * ```
 */
export function aggregateEq(
  cg: Emitter,
  a: ast.Expr,
  c: ast.Expr,
  ne: string,
): void {
  const x = memOf(cg, a);
  const y = memOf(cg, c);
  const ta = stored(cg.type(a));
  const tc = stored(cg.type(c));
  const t = cg.ra.newReg();
  const u = cg.ra.holding([t], () => cg.ra.newReg());
  memEq(cg, ta, tc, x.off, y.off, t, u, ne);
  cg.ra.free(t);
  cg.ra.free(u);
}

/** Where the value of `e` is on the stack (an array member: copied there). */
function memOf(cg: Emitter, e: ast.Expr): { base: number; off: number } {
  const t = cg.type(e);
  if (t.k !== "array") return cg.mem(e);
  const st = stored(t);
  const d = { base: R10, off: cg.alloc(sizeOf(st)) };
  cg.into(e, d, st, true);
  return d;
}

/** Compares the values of types `ta` at `R10 + xo` and `tc` at `R10 + yo`. */
function memEq(
  cg: Emitter,
  ta: SType,
  tc: SType,
  xo: number,
  yo: number,
  t: ReturnType<Emitter["scalar"]>,
  u: ReturnType<Emitter["scalar"]>,
  ne: string,
): void {
  const b = cg.b;
  const tr = cg.ra.reg(t);
  const ur = cg.ra.reg(u);
  if (ta.k === "int" && tc.k === "int") {
    // Integers in tuples are stored 8 bytes wide.
    b.ldx(8, tr, R10, xo);
    b.ldx(8, ur, R10, yo);
    b.jmpReg("JNE", tr, ur, ne);
    return;
  }
  if (ta.k === "tuple" && tc.k === "tuple") {
    for (let i = 0; i < ta.elems.length; i++) {
      // A record's field by name (the other may have another order).
      const j = ta.names === undefined ? i : tc.names!.indexOf(ta.names[i]);
      memEq(
        cg,
        ta.elems[i],
        tc.elems[j],
        xo + ta.offsets[i],
        yo + tc.offsets[j],
        t,
        u,
        ne,
      );
    }
    return;
  }
  if (ta.k === "str") {
    // Up to the first NUL of both (the shorter size bounds it).
    const n = Math.min(sizeOf(ta), sizeOf(tc));
    const eq = b.newLabel("teq");
    for (let i = 0; i < n; i++) {
      b.ldx(1, tr, R10, xo + i);
      b.ldx(1, ur, R10, yo + i);
      b.jmpReg("JNE", tr, ur, ne);
      if (i < n - 1) b.jmpImm("JEQ", tr, 0, eq);
    }
    b.label(eq);
    return;
  }
  // Integer arrays of one type: every byte.
  const n = sizeOf(ta);
  let at = 0;
  while (at < n) {
    const w: Width = n - at >= 8 && (xo + at) % 8 === 0 && (yo + at) % 8 === 0
      ? 8
      : 1;
    b.ldx(w, tr, R10, xo + at);
    b.ldx(w, ur, R10, yo + at);
    b.jmpReg("JNE", tr, ur, ne);
    at += w;
  }
}
