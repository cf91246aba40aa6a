/**
 * `for` loops. A range with small constant bounds is an inline loop the
 * verifier bounds by itself. Every other `for` runs its body in a callback
 * subprogram: `bpf_for_each_map_elem` over a map (kernel 5.13), `bpf_loop`
 * over a range (5.17), as bpftrace 0.26 does. The callback has its own
 * frame: it copies the variables its body uses in from the caller's frame
 * (the helper's context argument points at the caller's variables), runs
 * the body on its copies, and copies them back when it returns (0 to go
 * on, 1 for `break`; `return` and `exit()` also set a flag the caller
 * tests after the helper). A variable declared in the body (`let`, a range
 * loop's variable) and used nowhere else lives in the callback's frame
 * only: the caller's frame has no slot for it and nothing is copied. The
 * kernel limits the stack of a whole call chain to 512 bytes, so each
 * frame holds what its own code uses, no more. The loop state lives in
 * `Emitter.cb` ({@linkcode CallbackLoops}).
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { children, walk } from "../lang/visit.ts";
import { Helper, R10 } from "../bpf/opcodes.ts";
import { type Ref, RegAlloc } from "./regs.ts";
import { alignUp, sizeOf, type SType } from "./types.ts";
import type { InsnBuilder, Width } from "../bpf/builder.ts";
import type { Diagnostics } from "../lang/diagnostics.ts";
import { chunk, terminates } from "./flow.ts";

/**
 * The state of the `for` loops a probe runs as callbacks (`Emitter.cb`).
 *
 * @example The state of a probe without callback loops
 * ```ts
 * import type { CallbackLoops } from "./codegen_loops.ts";
 * const cb: CallbackLoops = {
 *   callbacks: [],
 *   varLo: 0,
 *   retFlag: 0,
 *   rangeFrom: new Map(),
 *   locals: new Map(),
 * };
 * console.assert(cb.callbacks.length === 0);
 * ```
 */
export interface CallbackLoops {
  /** Callbacks still to emit (after the program, each its own function). */
  callbacks: (() => void)[];
  /** Low end of the variables' area, which callbacks copy (0: none). */
  varLo: number;
  /** Slot of the flag a callback sets for `return` / `exit()`. */
  retFlag: number;
  /** Per range loop run through `bpf_loop`: the slot of its start. */
  rangeFrom: Map<ast.ForStmt, number>;
  /**
   * Per callback loop: the variables that live in its callback's frame
   * only (see {@linkcode loopLocals}).
   */
  locals: Map<ast.ForStmt, Set<string>>;
}

/**
 * What this code needs of the code generator: a part of `Emitter`
 * (`emitter.ts`), written out here since emitter.ts's imports lead to the
 * module that loads this one on demand.
 */
export interface LoopEmitter {
  /** The instruction builder. */
  b: InsnBuilder;
  /** The register allocator. */
  ra: RegAlloc;
  /** The `for` loops run as callbacks. */
  cb: CallbackLoops;
  /** The compile unit: its probe and the variables' types. */
  u: { probe: { span: ast.Span }; vars: Map<string, SType> };
  /** Program-wide maps. */
  t: {
    userMap(name: string): number;
    maps: readonly {
      keySize: number;
      valueSize: number;
      agg?: { kind: string };
    }[];
  };
  /** Where errors go. */
  diag: Diagnostics;
  /** Each variable's stack slot in the frame being emitted. */
  vars: Map<string, number>;
  /** The frame offset of the stack's free end (0 or negative). */
  sp: number;
  /** The reuse slots, and those holding their value (`Emitter`). */
  slots: Map<string, number>;
  avail: Set<string>;
  /** The label of the frame's exit. */
  exit: string;
  /** The loops around the code being emitted, innermost last. */
  loops: { head: string; end: string }[];
  /** Out-of-line blocks emitted after the frame's exit. */
  cold: (() => void)[];
  /** The register holding the context, or -1. */
  ctx: number;
  /** Reserves `size` bytes of stack; returns the frame offset. */
  alloc(size: number): number;
  /** A constant expression's value. */
  fold(e: ast.Expr): bigint | undefined;
  /** An expression's value in a register. */
  scalar(e: ast.Expr): Ref;
  /** Stores the low `width` bytes of a value. */
  storeScalar(
    d: { base: number | Ref; off: number },
    v: Ref,
    width: Width,
  ): void;
  /** Zeroes bytes `from` to `to` of `d`. */
  zero(d: { base: number | Ref; off: number }, from: number, to: number): void;
  /** Calls a helper. */
  call(
    helper: number,
    args: (Ref | { fp: number } | { map: number } | { func: string })[],
    result: boolean,
  ): Ref | undefined;
  /** Emits the statements of a block. */
  block(b: ast.Block, tail?: boolean): void;
  /** Emits code that runs on some paths only. */
  region<T>(f: () => T): T;
  /** Forgets every cached map value. */
  forgetValues(): void;
  /** A per-CPU aggregation's value folded over the CPUs, at `value`. */
  loopAggValue(m: ast.MapExpr, key: number, value: number): void;
}

/** Longest constant range a `for` loop runs inline (else via bpf_loop). */
const INLINE_LOOP_MAX = 64n;

/** The constant bounds of a range loop emitted inline, if it is one. */
function inlineRange(
  cg: LoopEmitter,
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

/** The loops of `root` run as callbacks, at any depth (not `root`). */
function callbackLoops(cg: LoopEmitter, root: ast.Node): ast.ForStmt[] {
  const out: ast.ForStmt[] = [];
  walk(root, (n) => {
    if (n !== root && n.kind === "for" && inlineRange(cg, n) === undefined) {
      out.push(n);
    }
  });
  return out;
}

/** The callback loops of `root` that no other callback loop encloses. */
function outerLoops(cg: LoopEmitter, root: ast.Node): ast.ForStmt[] {
  const out: ast.ForStmt[] = [];
  walk(root, (n) => {
    if (n === root || n.kind !== "for" || inlineRange(cg, n) !== undefined) {
      return true;
    }
    out.push(n);
    return false;
  });
  return out;
}

/** How many times each variable name occurs in `roots`. */
function varUses(...roots: (ast.Node | undefined)[]): Map<string, number> {
  const uses = new Map<string, number>();
  for (const r of roots) {
    if (r === undefined) continue;
    walk(r, (n) => {
      if (n.kind === "var") uses.set(n.name, (uses.get(n.name) ?? 0) + 1);
    });
  }
  return uses;
}

/**
 * Finds, for each callback loop of probe `p`, the variables that live in
 * its callback's frame only: its range variable and those declared by
 * `let` in its body, when the probe uses them nowhere else and no callback
 * loop nested in it uses them (a `let` sets them on each iteration before
 * any use). Records them in `cg.cb.locals`; returns them all.
 */
export function loopLocals(cg: LoopEmitter, p: ast.Probe): Set<string> {
  const all = new Set<string>();
  const loops = callbackLoops(cg, p.body);
  if (loops.length === 0) return all;
  const probeUses = varUses(p.predicate, p.body);
  for (const s of loops) {
    const declared = new Set<string>();
    if (s.map === undefined) declared.add(s.target.name);
    walk(s.body, (n) => {
      if (n.kind === "let") declared.add(n.target.name);
    });
    const own = varUses(s);
    const nested = varUses(...callbackLoops(cg, s.body));
    const locals = new Set<string>();
    for (const name of declared) {
      if (own.get(name) === probeUses.get(name) && !nested.has(name)) {
        locals.add(name);
        all.add(name);
      }
    }
    cg.cb.locals.set(s, locals);
  }
  return all;
}

/**
 * With callback loops in the body: the return flag and the starts of the
 * ranges this frame runs next to the variables, and the variables a
 * callback copies in zeroed (the kernel refuses reads of unset stack).
 */
export function callbackFrame(cg: LoopEmitter, body: ast.Block): void {
  const loops = callbackLoops(cg, body);
  if (loops.length === 0) return;
  const outer = outerLoops(cg, body);
  const zero: [number, number][] = [];
  if (outer.some((f) => jumps(f.body).ret)) {
    cg.cb.retFlag = cg.alloc(8);
    zero.push([cg.cb.retFlag, cg.cb.retFlag + 8]);
  }
  for (const f of outer) {
    if (f.map === undefined) cg.cb.rangeFrom.set(f, cg.alloc(8));
  }
  cg.cb.varLo = cg.sp;
  for (const name of varUses(...loops).keys()) {
    const off = cg.vars.get(name);
    const t = cg.u.vars.get(name);
    if (off !== undefined && t !== undefined) {
      zero.push([off, off + alignUp(sizeOf(t), 8)]);
    }
  }
  zero.sort((a, b) => a[0] - b[0]);
  for (let i = 0; i < zero.length;) {
    const lo = zero[i][0];
    let hi = zero[i][1];
    for (i++; i < zero.length && zero[i][0] <= hi; i++) {
      hi = Math.max(hi, zero[i][1]);
    }
    cg.zero({ base: R10, off: lo }, 0, hi - lo);
  }
}

/** `for ($kv : @map)` and `for ($i : from..to)`. */
export function forStmt(cg: LoopEmitter, s: ast.ForStmt): void {
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
  // The flag of `return` / `exit()`, when the body has one.
  if (jumps(s.body).ret) {
    const r = ra.newReg();
    b.ldx(8, ra.reg(r), R10, cg.cb.retFlag);
    b.jmpImm("JNE", ra.reg(r), 0, cg.exit);
    ra.free(r);
  }
  b.label(skip);
  cg.forgetValues();
  // The callback is emitted later: it needs this frame's layout.
  const caller: Frame = {
    vars: cg.vars,
    varLo: cg.cb.varLo,
    retFlag: cg.cb.retFlag,
    rangeFrom: cg.cb.rangeFrom,
  };
  cg.cb.callbacks.push(() => callback(cg, s, fn, caller));
}

/** Where a frame keeps what its callbacks copy. */
interface Frame {
  vars: Map<string, number>;
  varLo: number;
  retFlag: number;
  rangeFrom: Map<ast.ForStmt, number>;
}

/** A copy between the caller's area (`from` past its base) and `to`. */
interface Copy {
  from: number;
  to: number;
  size: number;
  /** Whether to copy back on return (the body may write it). */
  back: boolean;
}

/**
 * The variables `root` may write: targets of assignments, `let`, `for`,
 * `++` / `--`, and any variable passed to a function (`find()` writes its
 * third argument).
 */
function writtenVars(root: ast.Node): Set<string> {
  const out = new Set<string>();
  walk(root, (n) => {
    if (
      (n.kind === "assign" || n.kind === "let" || n.kind === "for" ||
        n.kind === "incdec") && n.target.kind === "var"
    ) {
      out.add(n.target.name);
    } else if (n.kind === "call") {
      for (const a of n.args) if (a.kind === "var") out.add(a.name);
    }
  });
  return out;
}

/** Copies between this frame and the caller's area at `base` (via r0). */
function copyVars(cg: LoopEmitter, base: number, copies: Copy[], out: boolean) {
  for (const c of copies) {
    if (out && !c.back) continue;
    for (let k = 0; k < c.size;) {
      const w = chunk(c.size - k, c.to + k);
      if (out) {
        cg.b.ldx(w, 0, R10, c.to + k);
        cg.b.stx(w, base, c.from + k, 0);
      } else {
        cg.b.ldx(w, 0, base, c.from + k);
        cg.b.stx(w, R10, c.to + k, 0);
      }
      k += w;
    }
  }
}

/** Copies `n` bytes from `base` + 0 to the stack at `off` (via r0). */
function copyIn(cg: LoopEmitter, base: number, off: number, n: number): void {
  for (let k = 0; k < n;) {
    const w = chunk(n - k, off + k);
    cg.b.ldx(w, 0, base, k);
    cg.b.stx(w, R10, off + k, 0);
    k += w;
  }
}

/**
 * Emits the callback of loop `s` at label `fn`, called from a frame laid
 * out as `caller`.
 */
function callback(
  cg: LoopEmitter,
  s: ast.ForStmt,
  fn: string,
  caller: Frame,
): void {
  const b = cg.b;
  const saved = {
    sp: cg.sp,
    ra: cg.ra,
    slots: cg.slots,
    avail: cg.avail,
    exit: cg.exit,
    loops: cg.loops,
    cold: cg.cold,
    vars: cg.vars,
    varLo: cg.cb.varLo,
    retFlag: cg.cb.retFlag,
    rangeFrom: cg.cb.rangeFrom,
  };
  // The frame: the variables the body uses (but those of nested callbacks
  // only), the return flag, the starts of the ranges it runs, then the rest.
  cg.sp = 0;
  const locals = cg.cb.locals.get(s) ?? new Set();
  const nested = callbackLoops(cg, s.body);
  const inner = new Set(nested.flatMap((f) => [...cg.cb.locals.get(f)!]));
  const copies: Copy[] = [];
  const written = writtenVars(s);
  cg.vars = new Map();
  for (const name of varUses(s).keys()) {
    const t = cg.u.vars.get(name);
    if (inner.has(name) || t === undefined) continue;
    const off = cg.alloc(sizeOf(t));
    cg.vars.set(name, off);
    if (!locals.has(name)) {
      const from = caller.vars.get(name)! - caller.varLo;
      copies.push({ from, to: off, size: sizeOf(t), back: written.has(name) });
    }
  }
  // The flag is 0 on entry; only a body that can return sets it.
  const j = jumps(s.body);
  if (j.ret) {
    cg.cb.retFlag = cg.alloc(8);
    copies.push({
      from: caller.retFlag - caller.varLo,
      to: cg.cb.retFlag,
      size: 8,
      back: true,
    });
  }
  cg.cb.rangeFrom = new Map();
  for (const f of outerLoops(cg, s.body)) {
    if (f.map === undefined) cg.cb.rangeFrom.set(f, cg.alloc(8));
  }
  cg.cb.varLo = cg.sp;
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
  copyVars(cg, ctxReg, copies, false);
  const off = cg.vars.get(s.target.name)!;
  if (s.map === undefined) {
    // The range's start, in the caller's frame; r1 is the index.
    b.ldx(8, 0, ctxReg, caller.rangeFrom.get(s)! - caller.varLo);
    b.alu64Reg("ADD", 0, 1);
    b.stx(8, R10, off, 0);
  } else {
    const spec = cg.t.maps[cg.t.userMap(`@${s.map.name}`)];
    const kv = cg.u.vars.get(s.target.name) as SType & { k: "tuple" };
    const [kt, vt] = kv.elems;
    copyIn(cg, 2, off + kv.offsets[0], Math.min(spec.keySize, sizeOf(kt)));
    const key = off + kv.offsets[0], val = off + kv.offsets[1];
    if (spec.agg?.kind !== "value") cg.loopAggValue(s.map, key, val);
    else copyIn(cg, 3, val, Math.min(spec.valueSize, sizeOf(vt)));
  }
  cg.block(s.body);
  // Only the exits something reaches (the kernel refuses dead code).
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
  copyVars(cg, 1, copies, true);
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
  cg.vars = saved.vars;
  cg.cb.varLo = saved.varLo;
  cg.cb.retFlag = saved.retFlag;
  cg.cb.rangeFrom = saved.rangeFrom;
}

/**
 * Which exits of a callback its body takes: `continue` and `break` of
 * this loop; `return` or `exit()` anywhere inside (nested loops too).
 */
function jumps(
  body: ast.Block,
): { cont: boolean; brk: boolean; ret: boolean } {
  const j = { cont: false, brk: false, ret: false };
  const visit = (n: ast.Node, own: boolean): void => {
    if (n.kind === "break" && own) j.brk = true;
    else if (n.kind === "continue" && own) j.cont = true;
    else if (n.kind === "return") j.ret = true;
    else if (n.kind === "call" && n.name === "exit") j.ret = true;
    const inner = own && n.kind !== "while" && n.kind !== "for";
    for (const c of children(n)) visit(c, inner);
  };
  for (const st of body.stmts) visit(st, true);
  return j;
}

/** A range loop with constant bounds, inline. */
function inlineFor(
  cg: LoopEmitter,
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
