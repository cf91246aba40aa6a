/**
 * Map code: keys built on the stack, lookups, read-modify-write updates,
 * the aggregations (`count`, `sum`, `hist`, …) updated in place, and the
 * cold path that counts updates a full map refused.
 *
 * @module
 */

import type { TseriesParams } from "../program.ts";
import type * as ast from "../lang/ast.ts";
import { Helper, MapType, R10 } from "../bpf/opcodes.ts";
import type { TypeDesc } from "../program.ts";
import type { AggName } from "./sema_scope.ts";
import type { Ref } from "./regs.ts";
import { mapAccessId } from "./reuse.ts";
import { isScalar, sizeOf, type SType } from "./types.ts";
import { type Dst, type Emitter, fitsImm } from "./emitter.ts";

/**
 * Right after a `map_update_elem` call on user map `map`: when it failed
 * (r0 != 0: the map is full), jumps to a cold block after the program's
 * exit that atomically adds 1 to the map's `.full` counter and comes
 * back. The success path pays one conditional jump (not taken); lookup
 * hits never get here.
 */
export function updateFailed(cg: Emitter, map: number): void {
  if (cg.opts.countFull === false) return;
  // A keyless map has one key: it is never full.
  const spec = cg.t.maps[map];
  const buckets = spec.agg?.kind === "hist" || spec.agg?.kind === "lhist";
  if (spec.key.kind === "none" && !buckets) return;
  const b = cg.b;
  const cold = b.newLabel("full");
  const resume = b.newLabel("updated");
  b.jmpImm("JNE", 0, 0, cold);
  b.label(resume);
  const full = cg.t.fullMap();
  cg.cold.push(() => {
    b.label(cold);
    b.ldMapValue(1, full, cg.t.fullSlot(map));
    b.movImm(2, 1);
    b.atomic(8, "ADD", 1, 0, 2);
    b.ja(resume);
  });
}

/**
 * The out-of-line insert of an aggregation's first value (the constant 1
 * at `vslot`) under the key at `key`, from label `miss` back to `resume`:
 * a cold block after the program's exit. It runs right after the lookup
 * that missed, so it uses fixed registers only (r1-r4 for the call, as
 * any helper call clobbers them); a refused update (the map is full)
 * adds 1 to the map's `.full` counter on its way back, in the same block.
 */
function coldInsert(
  cg: Emitter,
  map: number,
  key: number,
  vslot: number,
  miss: string,
  resume: string,
): void {
  const b = cg.b;
  const spec = cg.t.maps[map];
  const buckets = spec.agg?.kind === "hist" || spec.agg?.kind === "lhist";
  const counted = cg.opts.countFull !== false &&
    (spec.key.kind !== "none" || buckets);
  const full = counted ? cg.t.fullMap() : 0;
  const slot = counted ? cg.t.fullSlot(map) : 0;
  cg.cold.push(() => {
    b.label(miss);
    b.st(8, R10, vslot, 1);
    b.ldMap(1, map);
    b.movReg(2, R10);
    b.alu64Imm("ADD", 2, key);
    b.movReg(3, R10);
    b.alu64Imm("ADD", 3, vslot);
    b.movImm(4, 0);
    b.call(Helper.map_update_elem);
    if (counted) {
      b.jmpImm("JEQ", 0, 0, resume);
      b.ldMapValue(1, full, slot);
      b.movImm(2, 1);
      b.atomic(8, "ADD", 1, 0, 2);
    }
    b.ja(resume);
  });
}

/**
 * Read-modify-write of an integer map value: in place on a hit (atomic
 * add where possible), `update(op(0, v))` on a miss. With `result`, the
 * old (postfix) or new (prefix) value is stored into that stack slot.
 */
export function mapRmw(
  cg: Emitter,
  m: ast.MapExpr,
  op: ast.BinaryOp,
  v: Ref,
  result: { off: number; prefix: boolean } | undefined,
): void {
  const b = cg.b;
  const ra = cg.ra;
  const idx = cg.t.userMap(`@${m.name}`);
  const key = buildKey(cg, m, undefined);
  const p = cg.call(
    Helper.map_lookup_elem,
    [{ map: idx }, { fp: key }],
    true,
  )!;
  cg.stable(v);
  const miss = b.newLabel("miss");
  const done = b.newLabel("done");
  b.jmpImm("JEQ", ra.reg(p), 0, miss);
  const floor = ra.split();
  if (op === "+" || op === "-") {
    const d = ra.newReg();
    const dr = ra.reg(d);
    ra.load(dr, v);
    if (op === "-") b.alu64Imm("NEG", dr, 0);
    if (result !== undefined) {
      const old = ra.holding([d], () => ra.newReg());
      const or = ra.reg(old);
      b.movReg(or, dr);
      b.atomic(8, "ADD", ra.reg(p), 0, or, true);
      if (result.prefix) b.alu64Reg("ADD", or, dr);
      b.stx(8, R10, result.off, or);
      ra.free(old);
    } else b.atomic(8, "ADD", ra.reg(p), 0, dr);
    ra.free(d);
  } else {
    const x = ra.newReg();
    const xr = ra.reg(x);
    b.ldx(8, xr, ra.reg(p), 0);
    if (result !== undefined && !result.prefix) b.stx(8, R10, result.off, xr);
    ra.holding(
      [x],
      () => cg.aluOp(op, x, v, { k: "int", size: 8, signed: true }, false),
    );
    b.stx(8, ra.reg(p), 0, xr);
    if (result !== undefined && result.prefix) b.stx(8, R10, result.off, xr);
    ra.free(x);
  }
  ra.free(p);
  b.ja(done);
  b.label(miss);
  // Miss: the value is op(0, v).
  const vslot = cg.alloc(8);
  if (op === "+" || op === "|" || op === "^") {
    cg.storeScalar({ base: R10, off: vslot }, v, 8);
    if (result !== undefined) {
      if (result.prefix) {
        cg.storeScalar({ base: R10, off: result.off }, v, 8);
      } else b.st(8, R10, result.off, 0);
    }
  } else if (op === "-") {
    const d = ra.newReg();
    const dr = ra.reg(d);
    ra.load(dr, v);
    b.alu64Imm("NEG", dr, 0);
    b.stx(8, R10, vslot, dr);
    if (result !== undefined) {
      if (result.prefix) b.stx(8, R10, result.off, dr);
      else b.st(8, R10, result.off, 0);
    }
    ra.free(d);
  } else {
    b.st(8, R10, vslot, 0);
    if (result !== undefined) b.st(8, R10, result.off, 0);
  }
  ra.free(v);
  cg.call(Helper.map_update_elem, [
    { map: idx },
    { fp: key },
    { fp: vslot },
    ra.imm(0),
  ], false);
  updateFailed(cg, idx);
  ra.floor = floor;
  b.label(done);
  cg.written(m.name);
}

/** Whether `name` is an aggregation function. */
export function isAgg(name: string): boolean {
  return [
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "stats",
    "hist",
    "lhist",
    "tseries",
  ].includes(name);
}

/**
 * Emits an aggregation (`@m[k] = count()`, `sum(v)`, `hist(v)`, …):
 * updated in place on a lookup hit, inserted on a miss.
 */
export function aggregate(
  cg: Emitter,
  m: ast.MapExpr,
  call: ast.CallExpr,
): void {
  const b = cg.b;
  const ra = cg.ra;
  const agg = call.name as AggName;
  const idx = cg.t.userMap(`@${m.name}`);
  const spec = cg.t.maps[idx];
  if (spec.agg?.kind === "tseries") {
    tseries(cg, m, call, idx, spec.agg);
    return;
  }
  let v: Ref | undefined;
  let bucket: Ref | undefined;
  if (agg !== "count") v = cg.scalar(call.args[0]);
  // Compiled for metrics export: a hist/lhist bucket also sums its values.
  const bucketSum = (spec.agg as { sum?: boolean }).sum === true;
  if (agg === "hist") {
    const kept = bucketSum ? copyRef(cg, v!) : undefined;
    const bits = (spec.agg as { bits?: number }).bits ?? 0;
    bucket = bits === 0 ? log2(cg, v!) : log2Bits(cg, v!, bits);
    v = kept;
  } else if (agg === "lhist") {
    const lh = spec.agg as { min: number; max: number; step: number };
    const kept = bucketSum ? copyRef(cg, v!) : undefined;
    bucket = linear(cg, v!, lh.min, lh.max, lh.step);
    v = kept;
  }
  const key = buildKey(cg, m, bucket);
  ra.free(bucket);
  const p = cg.call(
    Helper.map_lookup_elem,
    [{ map: idx }, { fp: key }],
    true,
  )!;
  if (v !== undefined) cg.stable(v);
  // A per-CPU array (keyless) never misses: no update path.
  const array = spec.type === MapType.PERCPU_ARRAY;
  const done = b.newLabel("done");
  const miss = array ? done : b.newLabel("miss");
  const pr = ra.reg(p);
  b.jmpImm("JEQ", pr, 0, miss);
  const floor = ra.split();
  // Per-CPU slot: a plain load/add/store (no lock prefix needed).
  const add = (off: number, x: Ref): void => {
    const t = ra.newReg();
    const tr = ra.reg(t);
    b.ldx(8, tr, pr, off);
    if (x.loc.kind === "imm" && fitsImm(x.loc.v)) {
      b.alu64Imm("ADD", tr, Number(BigInt.asIntN(64, x.loc.v)));
    } else b.alu64Reg("ADD", tr, ra.holding([t], () => ra.reg(x)));
    b.stx(8, pr, off, tr);
    ra.free(t);
  };
  const one = (off: number): void => add(off, ra.imm(1));
  const addV = (off: number): void => add(off, v!);
  switch (agg) {
    case "hist":
    case "lhist":
      one(0);
      if (bucketSum) addV(8);
      break;
    case "count":
      one(0);
      break;
    case "sum":
      addV(0);
      // Written: an array slot's sum of 0 still prints.
      if (array) b.st(8, pr, 8, 1);
      break;
    case "avg":
    case "stats":
      one(0);
      addV(8);
      break;
    case "min":
    case "max": {
      const t = ra.newReg();
      const tr = ra.reg(t);
      const store = b.newLabel("set");
      b.ldx(8, tr, pr, 8);
      b.jmpImm("JEQ", tr, 0, store);
      b.ldx(8, tr, pr, 0);
      // Keep the old value when it is already <= v (min) or >= v (max).
      const keep = agg === "min" ? "JSLE" : "JSGE";
      if (v!.loc.kind === "imm") {
        b.jmpImm(keep, tr, Number(BigInt.asIntN(64, v!.loc.v)), done);
      } else b.jmpReg(keep, tr, ra.holding([t], () => ra.reg(v!)), done);
      b.label(store);
      cg.storeScalar({ base: pr, off: 0 }, v!, 8);
      b.st(8, pr, 8, 1);
      ra.free(t);
      break;
    }
  }
  ra.free(p);
  if (array) {
    ra.free(v);
    ra.floor = floor;
    b.label(done);
    return;
  }
  if (
    agg === "count" || (v === undefined && (agg === "hist" || agg === "lhist"))
  ) {
    // The value a miss inserts is the constant 1: the miss path goes
    // out of line, after the program's exit, so that a hit (every event
    // but a key's first) falls through without a jump.
    const vslot = cg.alloc(spec.valueSize);
    ra.floor = floor;
    b.label(done);
    coldInsert(cg, idx, key, vslot, miss, done);
    return;
  }
  b.ja(done);
  b.label(miss);
  const vslot = cg.alloc(spec.valueSize);
  switch (agg) {
    case "hist":
    case "lhist":
      b.st(8, R10, vslot, 1);
      if (bucketSum) cg.storeScalar({ base: R10, off: vslot + 8 }, v!, 8);
      break;
    case "sum":
      cg.storeScalar({ base: R10, off: vslot }, v!, 8);
      break;
    case "avg":
    case "stats":
      b.st(8, R10, vslot, 1);
      cg.storeScalar({ base: R10, off: vslot + 8 }, v!, 8);
      break;
    case "min":
    case "max":
      cg.storeScalar({ base: R10, off: vslot }, v!, 8);
      b.st(8, R10, vslot + 8, 1);
      break;
  }
  ra.free(v);
  cg.call(Helper.map_update_elem, [
    { map: idx },
    { fp: key },
    { fp: vslot },
    ra.imm(0),
  ], false);
  updateFailed(cg, idx);
  ra.floor = floor;
  b.label(done);
}

/** A copy of `v` in a register of its own (an immediate stays one). */
export function copyRef(cg: Emitter, v: Ref): Ref {
  const ra = cg.ra;
  if (v.loc.kind === "imm") return ra.imm(v.loc.v);
  const c = ra.holding([v], () => ra.newReg());
  const [cr, vr] = ra.regs(c, v);
  cg.b.movReg(cr, vr);
  return c;
}

/** bpftrace's log2 bucket: 0 for negative, 1 for 0, 2 + floor(log2 v). */
export function log2(cg: Emitter, v: Ref): Ref {
  const b = cg.b;
  const ra = cg.ra;
  if (v.loc.kind === "imm") {
    const x = BigInt.asIntN(64, v.loc.v);
    return ra.imm(x < 0n ? 0 : x === 0n ? 1 : 1 + x.toString(2).length);
  }
  const vr = ra.reg(v);
  const out = ra.holding([v], () => ra.newReg());
  const o = ra.reg(out);
  const t = ra.holding([v, out], () => ra.newReg());
  const tr = ra.reg(t);
  const done = b.newLabel("log2");
  b.movImm(o, 0);
  b.jmpImm("JSLT", vr, 0, done);
  b.movImm(o, 1);
  b.jmpImm("JEQ", vr, 0, done);
  b.movImm(o, 2);
  const s16 = b.newLabel("s16");
  b.movReg(tr, vr);
  b.alu64Imm("RSH", tr, 32);
  b.jmpImm("JEQ", tr, 0, s16);
  b.movReg(vr, tr);
  b.alu64Imm("ADD", o, 32);
  b.label(s16);
  ra.free(t);
  for (const k of [16, 8, 4, 2]) {
    const next = b.newLabel("s");
    b.jmpImm("JLT", vr, 2 ** k, next);
    b.alu64Imm("RSH", vr, k);
    b.alu64Imm("ADD", o, k);
    b.label(next);
  }
  b.jmpImm("JLT", vr, 2, done);
  b.alu64Imm("ADD", o, 1);
  b.label(done);
  ra.free(v);
  return out;
}

/**
 * `@m[k] = tseries(v, interval, num[, agg])`: the slot of the current
 * interval (epoch = TAI ns / interval, slot epoch % num: bpftrace 0.26
 * buckets on its sw_tai clock, the boot clock moved to TAI, so intervals
 * start at round wall-clock times; src/ast/passes/codegen_llvm.cpp,
 * irbuilderbpf.cpp), restarted when
 * it holds an older epoch, then updated: the last value (and its time),
 * or the sum, min, max, or sum and count (avg).
 */
function tseries(
  cg: Emitter,
  m: ast.MapExpr,
  call: ast.CallExpr,
  idx: number,
  ts: TseriesParams,
): void {
  const b = cg.b;
  const ra = cg.ra;
  const v = cg.own(cg.scalar(call.args[0]));
  const now = ra.holding(
    [v],
    () => cg.own(cg.call(Helper.ktime_get_tai_ns, [], true)!),
  );
  const epoch = ra.holding([v, now], () => ra.newReg());
  const slot = ra.holding([v, now, epoch], () => ra.newReg());
  const t = ra.holding([v, now, epoch, slot], () => ra.newReg());
  {
    const [nr, er, sr, tr] = ra.regs(now, epoch, slot, t);
    b.movReg(er, nr);
    b.ldImm64(tr, BigInt(ts.interval));
    b.alu64Reg("DIV", er, tr);
    b.movReg(sr, er);
    b.ldImm64(tr, BigInt(ts.num));
    b.alu64Reg("MOD", sr, tr);
  }
  ra.free(t);
  const key = buildKey(cg, m, slot);
  ra.free(slot);
  const p = ra.holding(
    [v, now, epoch],
    () =>
      cg.own(
        cg.call(Helper.map_lookup_elem, [{ map: idx }, { fp: key }], true)!,
      ),
  );
  const u = ra.holding([p, v, now, epoch], () => ra.newReg());
  const [pr, vr, nr, er, tr] = ra.regs(p, v, now, epoch, u);
  const miss = b.newLabel("tsmiss");
  const done = b.newLabel("tsdone");
  b.jmpImm("JEQ", pr, 0, miss);
  // A slot of an older epoch starts over.
  const same = b.newLabel("tssame");
  b.ldx(8, tr, pr, 16);
  b.jmpReg("JEQ", tr, er, same);
  b.st(8, pr, 0, 0);
  b.st(8, pr, 8, 0);
  b.stx(8, pr, 16, er);
  b.label(same);
  switch (ts.agg) {
    case "last":
      b.stx(8, pr, 0, vr);
      b.stx(8, pr, 8, nr);
      break;
    case "sum":
    case "avg":
      b.ldx(8, tr, pr, 0);
      b.alu64Reg("ADD", tr, vr);
      b.stx(8, pr, 0, tr);
      if (ts.agg === "avg") {
        b.ldx(8, tr, pr, 8);
        b.alu64Imm("ADD", tr, 1);
        b.stx(8, pr, 8, tr);
      }
      break;
    case "min":
    case "max": {
      const set = b.newLabel("tsset");
      b.ldx(8, tr, pr, 8);
      b.jmpImm("JEQ", tr, 0, set);
      b.ldx(8, tr, pr, 0);
      const keep = ts.agg === "min"
        ? (ts.signed ? "JSLE" : "JLE")
        : (ts.signed ? "JSGE" : "JGE");
      b.jmpReg(keep, tr, vr, done);
      b.label(set);
      b.stx(8, pr, 0, vr);
      b.st(8, pr, 8, 1);
      break;
    }
  }
  b.ja(done);
  // A new slot: its value, meta and epoch, inserted.
  b.label(miss);
  const vslot = cg.alloc(24);
  b.stx(8, R10, vslot, vr);
  if (ts.agg === "last") b.stx(8, R10, vslot + 8, nr);
  else b.st(8, R10, vslot + 8, ts.agg === "sum" ? 0 : 1);
  b.stx(8, R10, vslot + 16, er);
  ra.free(u);
  ra.free(p);
  ra.free(v);
  ra.free(now);
  ra.free(epoch);
  ra.evictCallerSaved();
  const r = cg.call(Helper.map_update_elem, [
    { map: idx },
    { fp: key },
    { fp: vslot },
    ra.imm(0),
  ], true)!;
  ra.free(r);
  b.label(done);
  cg.written(m.name);
}

/**
 * The bucket of `hist(v, k)` with k >= 1 (bpftrace 0.26): 0 for negative
 * values, v + 1 below 2^k, else the power of 2 and the k bits after its
 * leading one: ((p - k + 1) << k) + ((v >> (p - k)) & (2^k - 1)) + 1,
 * p the leading one's position.
 */
export function log2Bits(cg: Emitter, v: Ref, k: number): Ref {
  const b = cg.b;
  const ra = cg.ra;
  const mask = (1 << k) - 1;
  if (v.loc.kind === "imm") {
    const x = BigInt.asIntN(64, v.loc.v);
    if (x < 0n) return ra.imm(0);
    if (x <= BigInt(mask)) return ra.imm(x + 1n);
    const l = x.toString(2).length - 1 - k;
    const top = (x >> BigInt(l)) & BigInt(mask);
    return ra.imm((BigInt(l + 1) << BigInt(k)) + top + 1n);
  }
  const out = ra.holding([v], () => ra.newReg());
  const t = ra.holding([v, out], () => ra.newReg());
  const [vr, o, tr] = ra.regs(v, out, t);
  const done = b.newLabel("log2k");
  b.movImm(o, 0);
  b.jmpImm("JSLT", vr, 0, done);
  b.movReg(o, vr);
  b.alu64Imm("ADD", o, 1);
  b.jmpImm("JLE", vr, mask, done);
  // o = position of the leading one, found on a copy of v.
  b.movReg(tr, vr);
  b.movImm(o, 0);
  const u = ra.holding([v, out, t], () => ra.newReg());
  const ur = ra.reg(u);
  const low = b.newLabel("s32");
  b.movReg(ur, tr);
  b.alu64Imm("RSH", ur, 32);
  b.jmpImm("JEQ", ur, 0, low);
  b.movReg(tr, ur);
  b.alu64Imm("ADD", o, 32);
  b.label(low);
  ra.free(u);
  for (const s of [16, 8, 4, 2, 1]) {
    const next = b.newLabel("s");
    b.jmpImm("JLT", tr, 2 ** s, next);
    b.alu64Imm("RSH", tr, s);
    b.alu64Imm("ADD", o, s);
    b.label(next);
  }
  // l = p - k; t = (v >> l) & mask; o = ((l + 1) << k) + t + 1.
  b.alu64Imm("SUB", o, k);
  b.movReg(tr, vr);
  b.alu64Reg("RSH", tr, o);
  b.alu64Imm("AND", tr, mask);
  b.alu64Imm("ADD", o, 1);
  b.alu64Imm("LSH", o, k);
  b.alu64Reg("ADD", o, tr);
  b.alu64Imm("ADD", o, 1);
  b.label(done);
  ra.free(t);
  ra.free(v);
  return out;
}

/** lhist bucket: 0 below min, n+1 at or above max, else (v-min)/step+1. */
export function linear(
  cg: Emitter,
  v: Ref,
  min: number,
  max: number,
  step: number,
): Ref {
  const b = cg.b;
  const ra = cg.ra;
  const n = Math.floor((max - min) / step);
  if (v.loc.kind === "imm") {
    const x = Number(BigInt.asIntN(64, v.loc.v));
    return ra.imm(
      x < min ? 0 : x >= max ? n + 1 : Math.floor((x - min) / step) + 1,
    );
  }
  const vr = ra.reg(v);
  const out = ra.holding([v], () => ra.newReg());
  const o = ra.reg(out);
  const done = b.newLabel("lin");
  b.movImm(o, 0);
  b.jmpImm("JSLT", vr, min, done);
  b.movImm(o, n + 1);
  b.jmpImm("JSGE", vr, max, done);
  b.movReg(o, vr);
  if (min !== 0) b.alu64Imm("SUB", o, min);
  if (step !== 1) b.alu64Imm("DIV", o, step);
  b.alu64Imm("ADD", o, 1);
  b.label(done);
  ra.free(v);
  return out;
}

/**
 * Builds a map key on the stack; returns its frame offset. A key the
 * body builds again is built once, in its own slot (the core's `#reserveSlots`).
 * Per-CPU array maps (keyless aggregations) take a u32 index: the
 * bucket, or 0.
 */
export function buildKey(
  cg: Emitter,
  m: ast.MapExpr,
  bucket: Ref | undefined,
): number {
  const spec = cg.t.maps[cg.t.userMap(`@${m.name}`)];
  const access = bucket === undefined ? mapAccessId(m) : undefined;
  const id = access === undefined ? undefined : `k:${access}`;
  const cached = id === undefined ? undefined : cg.slots.get(id);
  if (cached !== undefined && cg.avail.has(id!)) return cached;
  if (spec.type === MapType.PERCPU_ARRAY) {
    const off = cached ?? cg.alloc(4);
    if (bucket === undefined) cg.b.st(4, R10, off, 0);
    else cg.storeScalar({ base: R10, off }, bucket, 4);
    if (cached !== undefined) cg.avail.add(id!);
    return off;
  }
  const info = keyType(cg, m);
  const off = cached ?? cg.alloc(spec.keySize);
  const d: Dst = { base: R10, off };
  if (m.keys.length === 0) {
    if (bucket === undefined) cg.b.st(8, R10, off, 0);
  } else if (m.keys.length === 1) {
    cg.into(m.keys[0], d, info!, true);
  } else {
    const tt = info as SType & { k: "tuple" };
    cg.tupleInto(m.keys, d, tt, true);
  }
  if (bucket !== undefined) {
    const at = { base: R10, off: off + spec.keySize - 8 };
    cg.storeScalar(at, bucket, 8);
    if (m.keys.length > 0) {
      const userSize = sizeOf(info!);
      cg.zero(d, userSize, spec.keySize - 8);
    }
  }
  if (cached !== undefined) cg.avail.add(id!);
  return off;
}

/** The key type of map `m`, none for a keyless map. */
export function keyType(cg: Emitter, m: ast.MapExpr): SType | undefined {
  const spec = cg.t.maps[cg.t.userMap(`@${m.name}`)];
  return spec.key.kind === "none" ? undefined : descToType(cg, spec.key);
}

/** The type a map layout description stands for. */
export function descToType(cg: Emitter, d: TypeDesc): SType {
  switch (d.kind) {
    case "int":
      return { k: "int", size: d.size, signed: d.signed };
    case "string":
      return { k: "str", size: d.size };
    case "buf":
      return { k: "buf", size: d.size };
    case "inet":
      return { k: "inet", size: d.size };
    case "tuple":
      return {
        k: "tuple",
        elems: d.fields.map((f) => descToType(cg, f)),
        offsets: d.offsets,
        size: d.size,
        ...(d.names !== undefined ? { names: d.names } : {}),
      };
    case "kstack":
    case "ustack":
      return { k: d.kind, depth: d.depth };
    case "array":
      if (d.elem.kind === "int") {
        return {
          k: "intarray",
          elem: { k: "int", size: d.elem.size, signed: d.elem.signed },
          count: d.count,
          size: d.size,
        };
      }
      // An array of structs or arrays: copied whole, as a record is.
      return {
        k: "array",
        elem: { k: "int", size: 1, signed: false },
        count: d.size,
        size: d.size,
      };
    case "ksym":
    case "usym":
    case "timestamp":
    case "username":
      return { k: d.kind };
    case "intname":
      return d.filter === undefined
        ? { k: "intname", table: d.table }
        : { k: "intname", table: d.table, filter: d.filter };
    case "record":
      // Copied whole: only its size matters here.
      return {
        k: "array",
        elem: { k: "int", size: 1, signed: false },
        count: d.size,
        size: d.size,
      };
    default:
      return { k: "none" };
  }
}

/** Copies the value of `@m[keys]` into destination `d` (zeroes on a miss). */
export function mapReadInto(
  cg: Emitter,
  e: ast.MapExpr,
  d: Dst,
  size: number,
): void {
  const b = cg.b;
  const idx = cg.t.userMap(`@${e.name}`);
  const key = buildKey(cg, e, undefined);
  const p = cg.call(
    Helper.map_lookup_elem,
    [{ map: idx }, { fp: key }],
    true,
  )!;
  const miss = b.newLabel("rmiss");
  const end = b.newLabel("rend");
  b.jmpImm("JEQ", 0, 0, miss);
  const floor = cg.ra.split();
  cg.copy(d, { base: p, off: 0 }, size);
  b.ja(end);
  b.label(miss);
  cg.zero(d, 0, size);
  b.label(end);
  cg.ra.free(p);
  cg.ra.floor = floor;
}

// ---- scalars ----------------------------------------------------------

/** Looks up `@m[keys]`: a pointer to its value, or 0 on a miss. */
export function mapLookup(cg: Emitter, e: ast.MapExpr): Ref {
  const idx = cg.t.userMap(`@${e.name}`);
  const key = buildKey(cg, e, undefined);
  return cg.call(
    Helper.map_lookup_elem,
    [{ map: idx }, { fp: key }],
    true,
  )!;
}

/**
 * A map value as a condition (`/@start[tid]/`): a missing key jumps
 * straight to where a zero value goes, without making the 0. False when
 * the plain way must be taken: the value is in its slot already, or a
 * slot must hold it on every path and this is not the predicate's exit.
 */
export function mapTruth(
  cg: Emitter,
  e: ast.MapExpr,
  target: string,
  when: boolean,
): boolean {
  if (!isScalar(cg.type(e))) return false;
  const b = cg.b;
  const ra = cg.ra;
  const access = mapAccessId(e);
  const id = access === undefined ? undefined : `v:${access}`;
  const slot = id === undefined ? undefined : cg.slots.get(id);
  if (slot !== undefined && (cg.avail.has(id!) || when)) return false;
  if (slot !== undefined && target !== cg.exit) return false;
  const p = mapLookup(cg, e);
  const skip = when ? b.newLabel("mz") : target;
  b.jmpImm("JEQ", ra.reg(p), 0, skip);
  const r = ra.holding([p], () => ra.newReg());
  const rr = ra.reg(r);
  b.ldx(8, rr, ra.reg(p), 0);
  ra.free(p);
  b.jmpImm(when ? "JNE" : "JEQ", rr, 0, target);
  if (when) b.label(skip);
  // With a slot this is the predicate: only falling through continues.
  if (slot !== undefined) {
    b.stx(8, R10, slot, rr);
    cg.avail.add(id!);
  }
  ra.free(r);
  return true;
}
