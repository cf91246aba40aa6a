/**
 * Code generation: one eBPF program per compile unit, written straight from
 * the typed syntax tree with values kept in registers, keys and strings
 * built on the stack, aggregations updated in place on a lookup hit, and
 * every event sent as one ring buffer record.
 *
 * This file holds the probe compiler's core: stack and register
 * bookkeeping, reuse slots, helper calls and the program frame. The
 * statements live in `codegen_stmts.ts` and `for` loops in
 * `codegen_loops.ts` (loaded on demand); the expression kinds in `codegen_scalars.ts`
 * (scalars and conditions), `codegen_values.ts` (values in memory),
 * `codegen_reads.ts` (context, memory and builtins), `codegen_maps.ts`
 * (keys, lookups, aggregations) and `codegen_events.ts` (event records);
 * they reach the core through the `Emitter` interface (`emitter.ts`).
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import type { Diagnostics } from "../lang/diagnostics.ts";
import {
  type Built,
  InsnBuilder,
  JumpRangeError,
  type Width,
} from "../bpf/builder.ts";
import { Helper, PseudoSrc, R10, STACK_SIZE } from "../bpf/opcodes.ts";
import type { MapSpec, ProbeProgram } from "../program.ts";
import type { Unit } from "./units.ts";
import { castType } from "./type_names.ts";
import { probetypeText } from "./sugar.ts";
import type { ProgramTables } from "./tables.ts";
import { ConstFolder, positionalText } from "./fold.ts";
import { type Ref, RegAlloc, RegisterPressureError } from "./regs.ts";
import { countReuse, type ReuseCounts } from "./reuse.ts";
import { alignUp, sizeOf, type SType } from "./types.ts";
import * as maps from "./codegen_maps.ts";
import * as values from "./codegen_values.ts";
import * as scalars from "./codegen_scalars.ts";
import * as reads from "./codegen_reads.ts";
import * as stmts from "./codegen_stmts.ts";
import { onDemand } from "./on_demand.ts";
import { loopAggValue } from "./codegen_agg_read.ts";
import { walk } from "../lang/visit.ts";
import {
  type CallbackLoops,
  chunk,
  type Dst,
  type Emitter,
  fitsImm,
  KEY_CACHE_BYTES,
  needsCtx,
  type Place,
  type ProbeOptions,
  StackLimitError,
  UnrollSizeError,
  VALUE_CACHE_SLOTS,
} from "./emitter.ts";

/** Compiles one unit to a probe program. */
export class ProbeCompiler implements Emitter {
  u: Unit;
  t: ProgramTables;
  diag: Diagnostics;
  b = new InsnBuilder({ foldSignExtension: true });
  ra: RegAlloc;
  /** The frame offset of the stack's free end (0 or negative). */
  sp = 0;
  #maxSp = 0;
  ctx = -1;
  exit: string;
  vars = new Map<string, number>();
  /** The loops around the code being emitted, innermost last. */
  loops: { head: string; end: string }[] = [];
  #params: string[];
  #prologue: ((c: ProbeCompiler) => void) | undefined;
  opts: ProbeOptions;
  #consts: ConstFolder;
  /** Out-of-line blocks emitted after the final exit (cold paths). */
  cold: (() => void)[] = [];
  /** The `for` loops run as callbacks (see `codegen_loops.ts`). */
  cb: CallbackLoops = {
    callbacks: [],
    varLo: 0,
    retFlag: 0,
    rangeFrom: new Map(),
    locals: new Map(),
  };
  /** What the body uses more than once (see `reuse.ts`). */
  #reuse: ReuseCounts;
  /** Labels of the subprograms queued by `subprog`, by id. */
  #subprogs = new Map<string, string>();
  /**
   * Stack slots of values computed once per run and reused: `h:ID` a
   * stable helper's result, `k:ACCESS` a map key, `v:ACCESS` a map value.
   */
  slots = new Map<string, number>();
  /**
   * The slots that hold their value on every path reaching the code being
   * emitted (see `region`).
   */
  avail = new Set<string>();

  subprog(id: string, emit: () => void): string {
    let fn = this.#subprogs.get(id);
    if (fn === undefined) {
      const at = fn = this.b.newLabel(id);
      this.#subprogs.set(id, at);
      this.cb.callbacks.push(() => {
        this.b.label(at);
        emit();
      });
    }
    return fn;
  }

  /**
   * Prepares to compile one unit.
   *
   * @param u The unit to compile.
   * @param tables Program-wide maps and formats.
   * @param diag Where errors go.
   * @param params Positional parameters.
   * @param prologue Code emitted before the predicate (elapsed start).
   * @param opts Process filter and `cpid`.
   */
  constructor(
    u: Unit,
    tables: ProgramTables,
    diag: Diagnostics,
    params: string[],
    prologue?: (c: ProbeCompiler) => void,
    opts: ProbeOptions = {},
  ) {
    this.opts = opts;
    this.u = u;
    this.t = tables;
    this.diag = diag;
    this.#params = params;
    this.#consts = new ConstFolder({
      params,
      cpid: opts.cpid,
      known: u.consts,
      type: (e) => this.type(e),
      castType,
    });
    this.#prologue = prologue;
    const reserved = new Set<number>();
    if (needsCtx(u)) {
      this.ctx = 6;
      reserved.add(6);
    }
    this.ra = new RegAlloc(this.b, () => this.alloc(8), reserved);
    this.exit = this.b.newLabel("exit");
    this.#reuse = opts.reuse === false
      ? { helpers: new Map(), keys: new Map(), reads: new Map() }
      : countReuse(u.probe, opts.pid !== undefined);
  }

  /**
   * Gives a permanent stack slot to each stable helper result, map key and
   * map value the body uses more than once.
   */
  #reserveSlots(): void {
    const r = this.#reuse;
    for (const [h, n] of r.helpers) {
      if (n > 1) this.slots.set(`h:${h}`, this.alloc(8));
    }
    const specOf = (id: string): MapSpec | undefined => {
      const i = this.t.findUserMap(id.slice(0, id.indexOf("[")));
      return i === undefined ? undefined : this.t.maps[i];
    };
    let values = VALUE_CACHE_SLOTS;
    for (const [id, n] of r.reads) {
      const agg = specOf(id)?.agg;
      if (
        n > 1 && values > 0 && agg?.kind === "value" && agg.type.kind === "int"
      ) {
        values--;
        this.slots.set(`v:${id}`, this.alloc(8));
      }
    }
    let budget = KEY_CACHE_BYTES;
    for (const [id, n] of r.keys) {
      const spec = specOf(id);
      if (n < 2 || spec === undefined) continue;
      const kind = spec.agg?.kind;
      if (kind === "hist" || kind === "lhist") continue;
      const size = alignUp(spec.keySize, 8);
      if (size > budget) continue;
      budget -= size;
      this.slots.set(`k:${id}`, this.alloc(size));
    }
  }

  /**
   * Emits `f`, code that runs on some paths only: what it leaves in slots
   * is not known afterwards, and what it invalidates stays invalid.
   */
  region<T>(f: () => T): T {
    const before = this.avail;
    this.avail = new Set(before);
    try {
      return f();
    } finally {
      const after = this.avail;
      this.avail = new Set([...before].filter((id) => after.has(id)));
    }
  }

  /** Forgets every cached map value (loops: a later write may come first). */
  forgetValues(): void {
    for (const id of [...this.avail]) {
      if (id.startsWith("v:")) this.avail.delete(id);
    }
  }

  loopAggValue(m: ast.MapExpr, key: number, value: number): void {
    loopAggValue(this, m, key, value);
  }

  /** After a write to map `@name`: its cached values are stale. */
  written(name: string): void {
    const prefix = `v:@${name}[`;
    for (const id of [...this.avail]) {
      if (id.startsWith(prefix)) this.avail.delete(id);
    }
  }

  /**
   * A stable helper's result (see `reuse.ts`): called, and kept in its
   * slot when the body uses it again; read from the slot where it holds.
   */
  helperValue(h: number): Ref {
    const id = `h:${h}`;
    const slot = this.slots.get(id);
    if (slot !== undefined && this.avail.has(id)) return this.ra.slot(slot);
    const r = this.call(h, [], true)!;
    if (slot !== undefined) {
      this.b.stx(8, R10, slot, this.ra.reg(r));
      this.avail.add(id);
    }
    return r;
  }

  /** The upper (`hi`) or lower 32 bits of a stable helper's result. */
  helperHalf(h: number, hi: boolean): Ref {
    const id = `h:${h}`;
    const slot = this.slots.get(id);
    if (slot !== undefined && this.avail.has(id)) {
      // Little-endian: the low half first.
      const r = this.ra.newReg();
      this.b.ldx(4, this.ra.reg(r), R10, slot + (hi ? 4 : 0));
      return r;
    }
    const r = this.helperValue(h);
    const rr = this.ra.reg(r);
    if (hi) this.b.alu64Imm("RSH", rr, 32);
    else this.b.alu32Reg("MOV", rr, rr);
    return r;
  }

  /**
   * Reserves `size` bytes (8-aligned) of stack; returns the frame offset.
   * Throws `StackLimitError` past the 512-byte frame.
   */
  alloc(size: number): number {
    this.sp -= alignUp(size, 8);
    if (-this.sp > STACK_SIZE) throw new StackLimitError();
    this.#maxSp = Math.min(this.#maxSp, this.sp);
    return this.sp;
  }

  /** Emits the callbacks after the program; false after an error. */
  #emitCallbacks(): boolean {
    for (let i = 0; i < this.cb.callbacks.length; i++) {
      try {
        this.cb.callbacks[i]();
      } catch (e) {
        if (!(e instanceof RegisterPressureError || e instanceof RangeError)) {
          throw e;
        }
        this.diag.error(this.u.probe.span, e.message);
        return false;
      }
    }
    return true;
  }

  /** Compiles the unit. */
  compile(): ProbeProgram {
    const mark = this.t.mark();
    const errors = this.diag.errors.length;
    const warnings = this.diag.warnings.length;
    try {
      return this.#compile();
    } catch (e) {
      if (!(e instanceof StackLimitError)) throw e;
      // The reuse slots did not fit: again without them, from scratch.
      this.t.reset(mark);
      this.diag.errors.length = errors;
      this.diag.warnings.length = warnings;
      return new ProbeCompiler(
        this.u,
        this.t,
        this.diag,
        this.#params,
        this.#prologue,
        { ...this.opts, reuse: false },
      ).compile();
    }
  }

  /** Emits the whole program: prologue, predicate, body, exit, cold blocks. */
  #compile(): ProbeProgram {
    const b = this.b;
    const p = this.u.probe;
    b.at(p.span);
    if (this.ctx >= 0) b.movReg(6, 1);
    try {
      // `for` loops (their code loads on demand); variables that live in a
      // loop callback's frame only get no slot here.
      let hasFor = false;
      walk(p.body, (n) => !(hasFor ||= n.kind === "for"));
      const loops = hasFor ? onDemand("loops") : undefined;
      const inLoops = loops?.loopLocals(this, p);
      for (const [name, t] of this.u.vars) {
        if (!inLoops?.has(name)) this.vars.set(name, this.alloc(sizeOf(t)));
      }
      loops?.callbackFrame(this, p.body);
      this.#reserveSlots();
      this.#prologue?.(this);
      if (this.opts.pid !== undefined) this.#pidFilter(this.opts.pid);
      let live = true;
      if (p.predicate !== undefined) {
        b.at(p.predicate.span);
        const known = this.truth(p.predicate);
        if (known === undefined) this.branch(p.predicate, this.exit, false);
        else {
          // A decided predicate: no dead code after an unconditional jump.
          this.effects(p.predicate);
          live = known;
        }
      }
      if (live) stmts.block(this, p.body, true);
    } catch (e) {
      if (e instanceof StackLimitError && this.slots.size > 0) throw e;
      if (!(e instanceof RegisterPressureError || e instanceof RangeError)) {
        throw e;
      }
      // The code stops mid-statement (jumps to labels never placed): there
      // is nothing to build; compile() reports the error.
      this.diag.error(
        e instanceof UnrollSizeError ? e.span : p.span,
        e.message,
      );
      return {
        name: this.u.name,
        attach: this.u.attach,
        progType: this.u.progType,
        insns: [],
        locs: [],
        ctx: this.u.ctx,
      };
    }
    // A body ending in `return EXPR;` (test and bench probes) has exited
    // already: the common exit goes last, and only if something jumps to it.
    const last = p.body.stmts[p.body.stmts.length - 1];
    const returned = last?.kind === "return" && last.value !== undefined;
    if (!returned) {
      b.label(this.exit);
      b.movImm(0, 0);
      b.exit();
    }
    for (const emit of this.cold) emit();
    if (returned && b.targets(this.exit)) {
      b.label(this.exit);
      b.movImm(0, 0);
      b.exit();
    }
    if (!this.#emitCallbacks()) {
      return {
        name: this.u.name,
        attach: this.u.attach,
        progType: this.u.progType,
        insns: [],
        locs: [],
        ctx: this.u.ctx,
      };
    }
    let built: Built;
    try {
      built = b.build();
    } catch (e) {
      if (!(e instanceof JumpRangeError)) throw e;
      const at = e.loc !== undefined && "start" in e.loc
        ? e.loc as ast.Span
        : p.span;
      const why = e.message[0].toLowerCase() + e.message.slice(1);
      this.diag.error(at, `Probe is too large: ${why}`);
      built = { insns: [], locs: [] };
    }
    const { insns, locs } = built;
    return {
      name: this.u.name,
      attach: this.u.attach,
      progType: this.u.progType,
      insns,
      locs,
      ctx: this.u.ctx,
    };
  }

  /** `-p PID`: exits unless the current process is `pid`. */
  #pidFilter(pid: number): void {
    const ra = this.ra;
    const r = this.helperHalf(Helper.get_current_pid_tgid, true);
    this.b.jmpImm("JNE", ra.reg(r), pid, this.exit);
    ra.free(r);
  }

  /** Emits the start-time store for `elapsed` (BEGIN only). */
  storeStartTime(): void {
    const map = this.t.startMap();
    const now = this.call(Helper.ktime_get_ns, [], true)!;
    const key = this.alloc(8);
    const val = this.alloc(8);
    this.b.st(4, R10, key, 0);
    this.storeScalar({ base: R10, off: val }, now, 8);
    this.ra.free(now);
    this.call(Helper.map_update_elem, [
      { map },
      { fp: key },
      { fp: val },
      this.ra.imm(0),
    ], false);
  }

  // ---- helpers ---------------------------------------------------------

  /** The type sema gave `e` (a 64-bit signed integer if none). */
  type(e: ast.Expr): SType {
    return this.u.types.get(e) ?? { k: "int", size: 8, signed: true };
  }

  /** Calls a helper: arguments go to r1-r5, the result is r0. */
  call(
    helper: number,
    args: (
      | Ref
      | { fp: number }
      | { map: number }
      | { ctx: true }
      | { ptr: Ref; off: number }
      | { func: string }
      | { btfVar: number }
    )[],
    result: boolean,
  ): Ref | undefined {
    const ra = this.ra;
    ra.evictCallerSaved();
    args.forEach((a, i) => {
      const r = i + 1;
      if ("loc" in a) ra.load(r, a);
      else if ("fp" in a) {
        this.b.movReg(r, R10);
        this.b.alu64Imm("ADD", r, a.fp);
      } else if ("map" in a) this.b.ldMap(r, a.map);
      else if ("func" in a) this.b.ldFunc(r, a.func);
      else if ("btfVar" in a) this.b.ldImm64(r, a.btfVar, PseudoSrc.BTF_ID);
      else if ("ctx" in a) this.b.movReg(r, this.ctx);
      else {
        ra.load(r, a.ptr);
        if (a.off !== 0) this.b.alu64Imm("ADD", r, a.off);
      }
    });
    for (const a of args) if ("loc" in a) ra.free(a);
    this.b.call(helper);
    return result ? ra.claim(0) : undefined;
  }

  /** The register a destination's base is in (`R10` for the stack). */
  baseReg(d: Dst): number {
    return typeof d.base === "number" ? d.base : this.ra.reg(d.base);
  }

  /** Stores the `width` low bytes of scalar `v` at destination `d`. */
  storeScalar(d: Dst, v: Ref, width: Width): void {
    const base = this.baseReg(d);
    if (v.loc.kind === "imm" && fitsImm(v.loc.v)) {
      this.b.st(width, base, d.off, Number(BigInt.asIntN(64, v.loc.v)));
    } else {
      this.b.stx(width, base, d.off, this.ra.reg(v));
    }
  }

  /** Zeroes bytes `from` to `to` of destination `d`, widest stores first. */
  zero(d: Dst, from: number, to: number): void {
    const base = this.baseReg(d);
    let at = from;
    while (at < to) {
      const w = chunk(to - at, d.off + at);
      this.b.st(w, base, d.off + at, 0);
      at += w;
    }
  }

  /** Copies `n` bytes from `src` to destination `d` through a scratch register. */
  copy(d: Dst, src: { base: number | Ref; off: number }, n: number): void {
    let at = 0;
    const bases = [src.base, d.base].filter((x): x is Ref =>
      typeof x !== "number"
    );
    const tmp = this.ra.holding(bases, () => this.ra.newReg());
    const t = this.ra.reg(tmp);
    while (at < n) {
      const w = Math.min(
        chunk(n - at, d.off + at),
        chunk(n - at, src.off + at),
      ) as Width;
      const sb = typeof src.base === "number"
        ? src.base
        : this.ra.reg(src.base);
      this.b.ldx(w, t, sb, src.off + at);
      this.b.stx(w, this.baseReg(d), d.off + at, t);
      at += w;
    }
    this.ra.free(tmp);
  }

  /** Destination `d` as a pointer argument of a helper call. */
  ptrArg(d: Dst): { fp: number } | { ptr: Ref; off: number } {
    return typeof d.base === "number"
      ? { fp: d.off }
      : { ptr: d.base, off: d.off };
  }

  // ---- constants -------------------------------------------------------

  /** The text of positional parameter `e` (`$1`), if given. */
  #param(e: ast.PositionalExpr): string | undefined {
    return positionalText(e, this.#params);
  }

  /** The constant value of `e`, if known at compile time (see `fold.ts`). */
  fold(e: ast.Expr): bigint | undefined {
    return this.#consts.fold(e);
  }

  /** The truth of condition `e`, if known at compile time (see `fold.ts`). */
  truth(e: ast.Expr): boolean | undefined {
    return this.#consts.truth(e);
  }

  /**
   * Evaluates a condition whose truth is known (`truth`) for its side
   * effects alone: nothing for a pure constant, otherwise its branches,
   * which all meet right after it.
   */
  effects(e: ast.Expr): void {
    if (this.fold(e) !== undefined) return;
    const b = this.b;
    const done = b.newLabel("fx");
    this.ra.evictCallerSaved();
    const floor = this.ra.split();
    this.branch(e, done, true);
    b.label(done);
    this.ra.floor = floor;
  }

  /**
   * The string `e` is at compile time (a literal, `probe`, a non-numeric
   * positional parameter), if known.
   */
  strConst(e: ast.Expr): string | undefined {
    if (e.kind === "str") return e.value;
    if (e.kind === "builtin" && e.name === "probe") return this.u.probeText;
    if (e.kind === "builtin" && e.name === "probetype") {
      return probetypeText(
        this.u.probe.attachPoints[0]?.provider ?? this.u.kind,
      );
    }
    if (e.kind === "positional" && this.fold(e) === undefined) {
      return this.#param(e);
    }
    if (
      e.kind === "call" && e.name === "str" && e.args[0]?.kind === "positional"
    ) {
      // str($N): the parameter's text, "" when not given (bpftrace).
      return this.#param(e.args[0]) ?? "";
    }
    if (e.kind === "call" && e.name === "getopt") {
      const v = this.u.getopts?.get(e)?.value;
      if (typeof v === "string") return v;
    }
    return undefined;
  }

  // ---- the pieces in other files, as the Emitter interface shows them

  /** See `stmts.block`. */
  block(b: ast.Block, tail = false): void {
    return stmts.block(this, b, tail);
  }

  /** See `stmts.blockStmts`. */
  blockStmts(list: ast.Stmt[]): void {
    return stmts.blockStmts(this, list);
  }

  /** See `reads.addr`. */
  addr(e: ast.Expr): Place {
    return reads.addr(this, e);
  }

  /** See `reads.addrReg`. */
  addrReg(at: Place): Ref {
    return reads.addrReg(this, at);
  }

  /** See `scalars.aluOp`. */
  aluOp(
    op: ast.BinaryOp,
    l: Ref,
    r: Ref,
    t: SType,
    freeR = true,
  ): void {
    return scalars.aluOp(this, op, l, r, t, freeR);
  }

  /** See `scalars.branch`. */
  branch(e: ast.Expr, target: string, when: boolean): void {
    return scalars.branch(this, e, target, when);
  }

  /** See `reads.builtin`. */
  builtin(e: ast.BuiltinExpr): Ref {
    return reads.builtin(this, e);
  }

  /** See `reads.callValue`. */
  callValue(e: ast.CallExpr): Ref {
    return reads.callValue(this, e);
  }

  /** See `reads.ctxLoad`. */
  ctxLoad(off: number, size: Width, signed: boolean): Ref {
    return reads.ctxLoad(this, off, size, signed);
  }

  /** See `scalars.deref`. */
  deref(addr: Ref, pt: SType, t: SType): Ref {
    return scalars.deref(this, addr, pt, t);
  }

  /** See `reads.fieldLoad`. */
  fieldLoad(e: ast.FieldExpr): Ref {
    return reads.fieldLoad(this, e);
  }

  /** See `values.into`. */
  into(e: ast.Expr, d: Dst, st: SType, clean: boolean): void {
    return values.into(this, e, d, st, clean);
  }

  /** See `maps.mapLookup`. */
  mapLookup(e: ast.MapExpr): Ref {
    return maps.mapLookup(this, e);
  }

  /** See `maps.mapReadInto`. */
  mapReadInto(e: ast.MapExpr, d: Dst, size: number): void {
    return maps.mapReadInto(this, e, d, size);
  }

  /** See `maps.mapRmw`. */
  mapRmw(
    m: ast.MapExpr,
    op: ast.BinaryOp,
    v: Ref,
    result: { off: number; prefix: boolean } | undefined,
  ): void {
    return maps.mapRmw(this, m, op, v, result);
  }

  /** See `maps.mapTruth`. */
  mapTruth(e: ast.MapExpr, target: string, when: boolean): boolean {
    return maps.mapTruth(this, e, target, when);
  }

  /** See `values.mem`. */
  mem(e: ast.Expr): { base: number; off: number } {
    return values.mem(this, e);
  }

  /** See `reads.memberLoad`. */
  memberLoad(e: ast.FieldExpr): Ref {
    return reads.memberLoad(this, e);
  }

  /** See `scalars.own`. */
  own(v: Ref): Ref {
    return scalars.own(this, v);
  }

  /** See `reads.readAt`. */
  readAt(
    at: Place,
    t: SType,
    bits?: { size: 1 | 2 | 4 | 8; shift: number; width: number },
  ): Ref {
    return reads.readAt(this, at, t, bits);
  }

  /** See `reads.readSlot`. */
  readSlot(at: Place, helper: number, size: number, dst?: Dst): number {
    return reads.readSlot(this, at, helper, size, dst);
  }

  /** See `scalars.scalar`. */
  scalar(e: ast.Expr): Ref {
    return scalars.scalar(this, e);
  }

  /** See `scalars.stable`. */
  stable(v: Ref): void {
    return scalars.stable(this, v);
  }

  /** See `scalars.strEq`. */
  strEq(a: ast.Expr, c: ast.Expr, ne: string, limit: number): void {
    return scalars.strEq(this, a, c, ne, limit);
  }

  /** See `scalars.times`. */
  times(v: Ref, by: number): Ref {
    return scalars.times(this, v, by);
  }

  /** See `values.tupleInto`. */
  tupleInto(
    elems: ast.Expr[],
    d: Dst,
    tt: SType & { k: "tuple" },
    clean: boolean,
  ): void {
    return values.tupleInto(this, elems, d, tt, clean);
  }
}
