/**
 * Reading a `count()`, `sum()`, `min()`, `max()` or `avg()` map's value
 * in the program (0.26's castable maps: `@c > 5`, `(int64)@s`): the
 * per-CPU slots folded with `bpf_map_lookup_percpu_elem`, CPU by CPU
 * until a lookup fails, in a `bpf_loop` callback.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { Helper, R10 } from "../bpf/opcodes.ts";
import type { Ref } from "./regs.ts";
import { buildKey } from "./codegen_maps.ts";
import type { Emitter } from "./emitter.ts";

/**
 * The most CPUs the fold visits (it stops at the first without a slot).
 * In a `bpf_loop` callback the verifier checks it once, not per CPU.
 */
const MAX_CPUS = 1024;

/**
 * The value of `@m[keys]` of a per-CPU aggregation map, folded over the
 * CPUs' slots by its kind (see {@linkcode aggTotal}; 0 when the key is
 * absent).
 *
 * @example Usage
 * ```ts ignore
 * const r = aggRead(cg, mapNode); // a register with the total
 * ```
 */
export function aggRead(cg: Emitter, e: ast.MapExpr): Ref {
  const idx = cg.t.userMap(`@${e.name}`);
  const kind = cg.t.maps[idx].agg!.kind as CastableAgg;
  return aggTotal(cg, idx, buildKey(cg, e, undefined), kind);
}

/** The per-CPU aggregations whose value folds to one integer. */
export type CastableAgg = "count" | "sum" | "min" | "max" | "avg";

/**
 * The value of the entry of per-CPU map `idx` whose key is on the stack
 * at `key`, folded over the CPUs' slots as bpftrace does: count and sum
 * add up, min and max keep the extreme of the slots written, avg divides
 * the total by the count (rounding toward zero). 0 when nothing is there.
 *
 * @example Usage
 * ```ts ignore
 * const r = aggTotal(cg, mapIndex, keySlot, "max");
 * ```
 */
export function aggTotal(
  cg: Emitter,
  idx: number,
  key: number,
  kind: CastableAgg,
): Ref {
  const b = cg.b;
  // What the callback folds into: the total, then the count (avg) or
  // 1 once a slot was taken (min, max).
  const acc = cg.alloc(16);
  b.st(8, R10, acc, 0);
  b.st(8, R10, acc + 8, 0);
  const fn = b.newLabel("aggcpu");
  cg.call(Helper.loop, [
    cg.ra.imm(MAX_CPUS),
    { func: fn },
    { fp: acc },
    cg.ra.imm(0),
  ], false);
  cg.cb.callbacks.push(() => fold(cg.b, fn, idx, key - acc, kind));
  const r = cg.ra.newReg();
  b.ldx(8, cg.ra.reg(r), R10, acc);
  if (kind === "avg") average(cg, r, acc + 8);
  return r;
}

/**
 * The callback at `fn` (r1 the CPU, r2 the accumulator, the key `keyOff`
 * bytes after it): folds the CPU's slot in, 1 (stop) when there is none.
 */
function fold(
  b: Emitter["b"],
  fn: string,
  idx: number,
  keyOff: number,
  kind: CastableAgg,
): void {
  const stop = b.newLabel("aggstop");
  b.label(fn);
  b.movReg(6, 2);
  b.movReg(3, 1);
  b.ldMap(1, idx);
  b.movReg(2, 6);
  b.alu64Imm("ADD", 2, keyOff);
  b.call(Helper.map_lookup_percpu_elem);
  b.jmpImm("JEQ", 0, 0, stop);
  if (kind === "min" || kind === "max") minMax(b, kind);
  else {
    // avg's slot: the count, then the total.
    const add = (at: number, from: number): void => {
      b.ldx(8, 1, 0, from);
      b.ldx(8, 2, 6, at);
      b.alu64Reg("ADD", 2, 1);
      b.stx(8, 6, at, 2);
    };
    add(0, kind === "avg" ? 8 : 0);
    if (kind === "avg") add(8, 0);
  }
  b.movImm(0, 0);
  b.exit();
  b.label(stop);
  b.movImm(0, 1);
  b.exit();
}

/**
 * Folds the min/max slot at r0 (`[value, written]`) into the accumulator
 * at r6 (`[extreme, have]`), without branches (r1-r5 scratch).
 */
function minMax(b: Emitter["b"], kind: "min" | "max"): void {
  const [a, v, d, m, u] = [1, 2, 3, 4, 5];
  b.ldx(8, v, 0, 0);
  b.ldx(8, a, 6, 0);
  // m = all ones when x < y (signed), x - y's sign corrected for overflow.
  const [x, y] = kind === "min" ? [v, a] : [a, v];
  b.movReg(d, x);
  b.alu64Reg("SUB", d, y);
  b.movReg(m, x);
  b.alu64Reg("XOR", m, y);
  b.movReg(u, x);
  b.alu64Reg("XOR", u, d);
  b.alu64Reg("AND", m, u);
  b.alu64Reg("XOR", m, d);
  b.alu64Imm("ARSH", m, 63);
  // u = the extreme of a and v: a ^ ((a ^ v) & m).
  b.movReg(u, a);
  b.alu64Reg("XOR", u, v);
  b.alu64Reg("AND", u, m);
  b.alu64Reg("XOR", u, a);
  // u = have ? u : v (the first slot taken is taken whole).
  b.ldx(8, d, 6, 8);
  b.alu64Imm("NEG", d, 0);
  b.alu64Reg("XOR", u, v);
  b.alu64Reg("AND", u, d);
  b.alu64Reg("XOR", u, v);
  // extreme = written ? u : a; have |= written.
  b.ldx(8, m, 0, 8);
  b.movReg(d, m);
  b.alu64Imm("NEG", d, 0);
  b.alu64Reg("XOR", u, a);
  b.alu64Reg("AND", u, d);
  b.alu64Reg("XOR", u, a);
  b.stx(8, 6, 0, u);
  b.ldx(8, d, 6, 8);
  b.alu64Reg("OR", d, m);
  b.stx(8, 6, 8, d);
}

/** `r` = `r` / the count at `n` (signed, toward zero; 0 for no count). */
function average(cg: Emitter, r: Ref, n: number): void {
  const b = cg.b;
  const ra = cg.ra;
  const d = ra.newReg();
  const done = b.newLabel("avgdone");
  const pos = b.newLabel("avgpos");
  b.ldx(8, ra.reg(d), R10, n);
  b.jmpImm("JNE", ra.reg(d), 0, pos);
  b.movImm(ra.reg(r), 0);
  b.ja(done);
  b.label(pos);
  const neg = b.newLabel("avgneg");
  b.jmpImm("JSLT", ra.reg(r), 0, neg);
  b.alu64Reg("DIV", ra.reg(r), ra.reg(d));
  b.ja(done);
  b.label(neg);
  b.alu64Imm("NEG", ra.reg(r), 0);
  b.alu64Reg("DIV", ra.reg(r), ra.reg(d));
  b.alu64Imm("NEG", ra.reg(r), 0);
  b.label(done);
  ra.free(d);
}

/**
 * In the callback of `for ($kv : @m)` over a per-CPU aggregation: stores
 * the entry's value folded over the CPUs (see `aggTotal`) at stack
 * offset `value`, the key being already at `key`.
 *
 * @example Usage
 * ```ts ignore
 * loopAggValue(cg, forStmt.map, keySlot, valueSlot);
 * ```
 */
export function loopAggValue(
  cg: Emitter,
  m: ast.MapExpr,
  key: number,
  value: number,
): void {
  const idx = cg.t.userMap(`@${m.name}`);
  const kind = cg.t.maps[idx].agg!.kind as CastableAgg;
  const r = aggTotal(cg, idx, key, kind);
  cg.b.stx(8, R10, value, cg.ra.reg(r));
  cg.ra.free(r);
}
