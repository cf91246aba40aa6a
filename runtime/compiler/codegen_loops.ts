/**
 * `for` loops. A range with small constant bounds is an inline loop the
 * verifier bounds by itself. Every other `for` runs its body in a callback
 * subprogram: `bpf_for_each_map_elem` over a map (kernel 5.13), `bpf_loop`
 * over a range (5.17), as bpftrace 0.26 does. The callback has its own
 * frame: it copies the probe's variables in from the caller's frame (the
 * helper's context argument points at them), runs the body on its copy,
 * and copies them back when it returns (0 to go on, 1 for `break`;
 * `return` and `exit()` also set a flag the caller tests after the
 * helper). The loop state lives in `Emitter.cb` ({@linkcode CallbackLoops}).
 *
 * @module
 */

import { loopAggValue } from "./codegen_agg_read.ts";
import type * as ast from "../lang/ast.ts";
import { children, walk } from "../lang/visit.ts";
import { Helper, R10 } from "../bpf/opcodes.ts";
import { RegAlloc, RegisterPressureError } from "./regs.ts";
import { sizeOf, type SType } from "./types.ts";
import { chunk, type Emitter, terminates } from "./emitter.ts";

/** Longest constant range a `for` loop runs inline (else via bpf_loop). */
const INLINE_LOOP_MAX = 64n;

/** The constant bounds of a range loop emitted inline, if it is one. */
function inlineRange(
  cg: Emitter,
  s: ast.ForStmt,
): [bigint, bigint] | undefined {
  if (s.map !== undefined) return undefined;
  const from = cg.fold(s.from!);
  const to = cg.fold(s.to!);
  if (from === undefined || to === undefined) return undefined;
  const fits = (v: bigint) => v >= -(1n << 31n) && v < (1n << 31n);
  if (!fits(from) || !fits(to) || to - from > INLINE_LOOP_MAX) {
    return undefined;
  }
  return [from, to];
}

/**
 * With callback loops in the body: the return flag and range starts next
 * to the variables, and all of them zeroed (a callback reads them all).
 */
export function callbackFrame(cg: Emitter, body: ast.Block): void {
  const loops: ast.ForStmt[] = [];
  walk(body, (n) => {
    if (n.kind === "for" && inlineRange(cg, n) === undefined) loops.push(n);
  });
  if (loops.length === 0) return;
  cg.cb.retFlag = cg.alloc(8);
  for (const f of loops) {
    if (f.map === undefined) cg.cb.rangeFrom.set(f, cg.alloc(8));
  }
  cg.cb.varLo = cg.sp;
  cg.zero({ base: R10, off: cg.cb.varLo }, 0, -cg.cb.varLo);
}

/** Emits the callbacks after the program; false after an error. */
export function emitCallbacks(cg: Emitter): boolean {
  for (let i = 0; i < cg.cb.callbacks.length; i++) {
    try {
      cg.cb.callbacks[i]();
    } catch (e) {
      if (!(e instanceof RegisterPressureError || e instanceof RangeError)) {
        throw e;
      }
      cg.diag.error(cg.u.probe.span, e.message);
      return false;
    }
  }
  return true;
}

/** `for ($kv : @map)` and `for ($i : from..to)`. */
export function forStmt(cg: Emitter, s: ast.ForStmt): void {
  const b = cg.b;
  const ra = cg.ra;
  const inline = inlineRange(cg, s);
  if (inline !== undefined) {
    inlineFor(cg, s, inline[0], inline[1]);
    return;
  }
  const fn = b.newLabel("cb");
  const skip = b.newLabel("fskip");
  cg.forgetValues();
  if (s.map === undefined) {
    const from = cg.scalar(s.from!);
    const n = cg.scalar(s.to!);
    const fromSlot = cg.cb.rangeFrom.get(s)!;
    cg.storeScalar({ base: R10, off: fromSlot }, from, 8);
    b.alu64Reg("SUB", ra.reg(n), ra.reg(from));
    ra.free(from);
    b.jmpImm("JSLE", ra.reg(n), 0, skip);
    cg.call(
      Helper.loop,
      [n, { func: fn }, { fp: cg.cb.varLo }, ra.imm(0)],
      false,
    );
  } else {
    const idx = cg.t.userMap(`@${s.map.name}`);
    cg.call(Helper.for_each_map_elem, [
      { map: idx },
      { func: fn },
      { fp: cg.cb.varLo },
      ra.imm(0),
    ], false);
  }
  const r = ra.newReg();
  b.ldx(8, ra.reg(r), R10, cg.cb.retFlag);
  b.jmpImm("JNE", ra.reg(r), 0, cg.exit);
  ra.free(r);
  b.label(skip);
  cg.forgetValues();
  cg.cb.callbacks.push(() => callback(cg, s, fn));
}

/** Copies the variables between this frame and the one at `base`. */
function copyVars(cg: Emitter, base: number, out: boolean): void {
  const b = cg.b;
  for (let k = 0; k < -cg.cb.varLo; k += 8) {
    if (out) {
      b.ldx(8, 0, R10, cg.cb.varLo + k);
      b.stx(8, base, k, 0);
    } else {
      b.ldx(8, 0, base, k);
      b.stx(8, R10, cg.cb.varLo + k, 0);
    }
  }
}

/** Copies `n` bytes from `base` + 0 to the stack at `off` (via r0). */
function copyIn(cg: Emitter, base: number, off: number, n: number): void {
  for (let k = 0; k < n;) {
    const w = chunk(n - k, off + k);
    cg.b.ldx(w, 0, base, k);
    cg.b.stx(w, R10, off + k, 0);
    k += w;
  }
}

/** Emits the callback of loop `s` at label `fn`. */
function callback(cg: Emitter, s: ast.ForStmt, fn: string): void {
  const b = cg.b;
  const saved = {
    sp: cg.sp,
    ra: cg.ra,
    slots: cg.slots,
    avail: cg.avail,
    exit: cg.exit,
    loops: cg.loops,
    cold: cg.cold,
  };
  cg.sp = cg.cb.varLo;
  const reserved = new Set<number>(cg.ctx >= 0 ? [cg.ctx] : []);
  cg.ra = new RegAlloc(b, () => cg.alloc(8), reserved);
  cg.slots = new Map();
  cg.avail = new Set();
  cg.cold = [];
  const cont = b.newLabel("cbnext");
  const brk = b.newLabel("cbbreak");
  const ret = b.newLabel("cbret");
  const out = b.newLabel("cbout");
  cg.exit = ret;
  cg.loops = [{ head: cont, end: brk }];
  b.at(s.span);
  b.label(fn);
  const ctxReg = s.map === undefined ? 2 : 4;
  const ctxSlot = cg.alloc(8);
  b.stx(8, R10, ctxSlot, ctxReg);
  copyVars(cg, ctxReg, false);
  const off = cg.vars.get(s.target.name)!;
  if (s.map === undefined) {
    b.ldx(8, 0, R10, cg.cb.rangeFrom.get(s)!);
    b.alu64Reg("ADD", 0, 1);
    b.stx(8, R10, off, 0);
  } else {
    const spec = cg.t.maps[cg.t.userMap(`@${s.map.name}`)];
    const kv = cg.u.vars.get(s.target.name) as SType & { k: "tuple" };
    const [kt, vt] = kv.elems;
    copyIn(cg, 2, off + kv.offsets[0], Math.min(spec.keySize, sizeOf(kt)));
    const key = off + kv.offsets[0], val = off + kv.offsets[1];
    if (spec.agg?.kind !== "value") loopAggValue(cg, s.map, key, val);
    else copyIn(cg, 3, val, Math.min(spec.valueSize, sizeOf(vt)));
  }
  cg.block(s.body);
  // Only the exits something reaches (the kernel refuses dead code).
  const j = jumps(cg, s.body);
  if (!s.body.stmts.some(terminates) || j.cont) {
    b.label(cont);
    b.movImm(7, 0);
    b.ja(out);
  }
  if (j.brk) {
    b.label(brk);
    b.movImm(7, 1);
    b.ja(out);
  }
  if (j.ret) {
    b.label(ret);
    b.st(8, R10, cg.cb.retFlag, 1);
    b.movImm(7, 1);
  }
  b.label(out);
  b.ldx(8, 1, R10, ctxSlot);
  copyVars(cg, 1, true);
  b.movReg(0, 7);
  b.exit();
  for (const emit of cg.cold) emit();
  cg.sp = saved.sp;
  cg.ra = saved.ra;
  cg.slots = saved.slots;
  cg.avail = saved.avail;
  cg.exit = saved.exit;
  cg.loops = saved.loops;
  cg.cold = saved.cold;
}

/**
 * Which exits of a callback its body takes: `continue` and `break` of
 * this loop; `return`, `exit()` or a callback loop anywhere inside.
 */
function jumps(
  cg: Emitter,
  body: ast.Block,
): { cont: boolean; brk: boolean; ret: boolean } {
  const j = { cont: false, brk: false, ret: false };
  const visit = (n: ast.Node, own: boolean): void => {
    if (n.kind === "break" && own) j.brk = true;
    else if (n.kind === "continue" && own) j.cont = true;
    else if (n.kind === "return") j.ret = true;
    else if (n.kind === "call" && n.name === "exit") j.ret = true;
    else if (n.kind === "for" && inlineRange(cg, n) === undefined) {
      j.ret = true;
    }
    const inner = own && n.kind !== "while" && n.kind !== "for";
    for (const c of children(n)) visit(c, inner);
  };
  for (const st of body.stmts) visit(st, true);
  return j;
}

/** A range loop with constant bounds, inline. */
function inlineFor(
  cg: Emitter,
  s: ast.ForStmt,
  from: bigint,
  to: bigint,
): void {
  const b = cg.b;
  if (from >= to) return;
  const off = cg.vars.get(s.target.name)!;
  const head = b.newLabel("for");
  const next = b.newLabel("fnext");
  const end = b.newLabel("fend");
  cg.forgetValues();
  cg.region(() => {
    b.st(8, R10, off, Number(from));
    b.label(head);
    const r = cg.ra.newReg();
    b.ldx(8, cg.ra.reg(r), R10, off);
    b.jmpImm("JSGE", cg.ra.reg(r), Number(to), end);
    cg.ra.free(r);
    cg.loops.push({ head: next, end });
    cg.block(s.body);
    cg.loops.pop();
    b.label(next);
    const x = cg.ra.newReg();
    b.ldx(8, cg.ra.reg(x), R10, off);
    b.alu64Imm("ADD", cg.ra.reg(x), 1);
    b.stx(8, R10, off, cg.ra.reg(x));
    cg.ra.free(x);
    b.ja(head);
    b.label(end);
  });
}
