/**
 * Reading a `count()` or `sum()` map's value in the program (0.26's
 * castable maps, `(bool)@c`, `(int64)@s`): the per-CPU slots summed with
 * `bpf_map_lookup_percpu_elem`, CPU by CPU until a lookup fails.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { Helper, R10 } from "../bpf/opcodes.ts";
import type { Ref } from "./regs.ts";
import { buildKey } from "./codegen_maps.ts";
import type { Emitter } from "./emitter.ts";

/**
 * The most CPUs the loop visits; it stops at the first CPU the map has no
 * slot for. The verifier explores one path per visit, and both it and the
 * kernel's refuse more than 8192 pending branches: machines with more
 * than 1024 CPUs would see the first 1024 CPUs' counts only.
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
  const ra = cg.ra;
  const acc = cg.alloc(8);
  const cpu = cg.alloc(8);
  // avg: the count; min/max: 1 once a slot was taken.
  const aux = kind === "avg" || kind === "min" || kind === "max"
    ? cg.alloc(8)
    : 0;
  b.st(8, R10, acc, 0);
  b.st(8, R10, cpu, 0);
  if (aux !== 0) b.st(8, R10, aux, 0);
  ra.evictCallerSaved();
  const floor = ra.split();
  const head = b.newLabel("aggcpu");
  const end = b.newLabel("aggend");
  cg.region(() => {
    b.label(head);
    const c = ra.newReg();
    b.ldx(8, ra.reg(c), R10, cpu);
    b.jmpImm("JGE", ra.reg(c), MAX_CPUS, end);
    const p = cg.call(
      Helper.map_lookup_percpu_elem,
      [{ map: idx }, { fp: key }, c],
      true,
    )!;
    b.jmpImm("JEQ", ra.reg(p), 0, end);
    const v = ra.newReg();
    const t = ra.newReg();
    if (kind === "min" || kind === "max") {
      b.ldx(8, ra.reg(v), ra.reg(p), 0);
      minMax(cg, p, v, acc, aux, kind);
    } else {
      const add = (slot: number, off: number): void => {
        b.ldx(8, ra.reg(v), ra.reg(p), off);
        b.ldx(8, ra.reg(t), R10, slot);
        b.alu64Reg("ADD", ra.reg(t), ra.reg(v));
        b.stx(8, R10, slot, ra.reg(t));
      };
      // avg and stats slots: the count, then the total.
      add(acc, kind === "avg" ? 8 : 0);
      if (kind === "avg") add(aux, 0);
    }
    ra.free(p);
    b.ldx(8, ra.reg(t), R10, cpu);
    b.alu64Imm("ADD", ra.reg(t), 1);
    b.stx(8, R10, cpu, ra.reg(t));
    ra.free(v);
    ra.free(t);
    b.ja(head);
    b.label(end);
  });
  ra.floor = floor;
  // Forget where the loop stopped: paths leaving it at different CPUs
  // then agree, and the verifier explores what follows once.
  b.st(8, R10, cpu, 0);
  const r = ra.newReg();
  b.ldx(8, ra.reg(r), R10, acc);
  if (kind === "avg") average(cg, r, aux);
  return r;
}

/**
 * Folds the value `v` of a min/max slot at `p` (`[value, written]`) into
 * `acc`, `have` being 1 once a slot was taken. Without branches: a
 * comparison would narrow `acc` differently on each path, and the
 * verifier would walk every combination of the CPUs' outcomes.
 */
function minMax(
  cg: Emitter,
  p: Ref,
  v: Ref,
  acc: number,
  have: number,
  kind: "min" | "max",
): void {
  const b = cg.b;
  const ra = cg.ra;
  const [a, d, m, u] = [ra.newReg(), ra.newReg(), ra.newReg(), ra.newReg()];
  const R = (r: Ref) => ra.reg(r);
  b.ldx(8, R(a), R10, acc);
  // m = all ones when x < y (signed), x - y's sign corrected for overflow.
  const [x, y] = kind === "min" ? [v, a] : [a, v];
  b.movReg(R(d), R(x));
  b.alu64Reg("SUB", R(d), R(y));
  b.movReg(R(m), R(x));
  b.alu64Reg("XOR", R(m), R(y));
  b.movReg(R(u), R(x));
  b.alu64Reg("XOR", R(u), R(d));
  b.alu64Reg("AND", R(m), R(u));
  b.alu64Reg("XOR", R(m), R(d));
  b.alu64Imm("ARSH", R(m), 63);
  // u = the extreme of acc and v: acc ^ ((acc ^ v) & m).
  b.movReg(R(u), R(a));
  b.alu64Reg("XOR", R(u), R(v));
  b.alu64Reg("AND", R(u), R(m));
  b.alu64Reg("XOR", R(u), R(a));
  // u = have ? u : v (the first slot taken is taken whole).
  b.ldx(8, R(d), R10, have);
  b.alu64Imm("NEG", R(d), 0);
  b.alu64Reg("XOR", R(u), R(v));
  b.alu64Reg("AND", R(u), R(d));
  b.alu64Reg("XOR", R(u), R(v));
  // acc = written ? u : acc; have |= written.
  b.ldx(8, R(m), R(p), 8);
  b.movReg(R(d), R(m));
  b.alu64Imm("NEG", R(d), 0);
  b.alu64Reg("XOR", R(u), R(a));
  b.alu64Reg("AND", R(u), R(d));
  b.alu64Reg("XOR", R(u), R(a));
  b.stx(8, R10, acc, R(u));
  b.ldx(8, R(d), R10, have);
  b.alu64Reg("OR", R(d), R(m));
  b.stx(8, R10, have, R(d));
  for (const r of [a, d, m, u]) ra.free(r);
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
