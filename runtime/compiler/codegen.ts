/**
 * Code generation: one eBPF program per compile unit, written straight from
 * the typed syntax tree with values kept in registers, keys and strings
 * built on the stack, aggregations updated in place on a lookup hit, and
 * every event sent as one ring buffer record.
 *
 * This file holds the probe compiler's core: stack and register
 * bookkeeping, reuse slots, helper calls, the program frame and the
 * statements. The expression kinds live in `codegen_scalars.ts` (scalars
 * and conditions), `codegen_values.ts` (values in memory),
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
import { Helper, R10, STACK_SIZE } from "../bpf/opcodes.ts";
import type { MapSpec, ProbeProgram } from "../program.ts";
import type { Unit } from "./units.ts";
import { children, walk } from "../lang/visit.ts";
import { castType } from "./type_names.ts";
import { signalNumber } from "./call_constants.ts";
import { MAX_PROGRAM_INSNS } from "./bounds.ts";
import type { ProgramTables } from "./tables.ts";
import { ConstFolder, pointerScale, positionalText } from "./fold.ts";
import { type Ref, RegAlloc, RegisterPressureError } from "./regs.ts";
import { countReuse, type ReuseCounts } from "./reuse.ts";
import { assertCode, keyedMap } from "./sugar.ts";
import { alignUp, isScalar, sizeOf, stored, type SType } from "./types.ts";
import * as events from "./codegen_events.ts";
import * as maps from "./codegen_maps.ts";
import * as values from "./codegen_values.ts";
import * as scalars from "./codegen_scalars.ts";
import * as reads from "./codegen_reads.ts";
import { loopAggValue } from "./codegen_agg_read.ts";
import {
  breaks,
  chunk,
  type Dst,
  type Emitter,
  fitsImm,
  KEY_CACHE_BYTES,
  needsCtx,
  type Place,
  type ProbeOptions,
  StackLimitError,
  terminates,
  UnrollSizeError,
  VALUE_CACHE_SLOTS,
} from "./emitter.ts";

/** Longest constant range a `for` loop runs inline (else via bpf_loop). */
const INLINE_LOOP_MAX = 64n;

/** Compiles one unit to a probe program. */
export class ProbeCompiler implements Emitter {
  u: Unit;
  t: ProgramTables;
  diag: Diagnostics;
  b = new InsnBuilder();
  ra: RegAlloc;
  #sp = 0;
  #maxSp = 0;
  ctx = -1;
  exit: string;
  vars = new Map<string, number>();
  #loops: { head: string; end: string }[] = [];
  #params: string[];
  #prologue: ((c: ProbeCompiler) => void) | undefined;
  opts: ProbeOptions;
  #consts: ConstFolder;
  /** Out-of-line blocks emitted after the final exit (cold paths). */
  cold: (() => void)[] = [];
  /** What the body uses more than once (see `reuse.ts`). */
  #reuse: ReuseCounts;
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
  #forgetValues(): void {
    for (const id of [...this.avail]) {
      if (id.startsWith("v:")) this.avail.delete(id);
    }
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
    this.#sp -= alignUp(size, 8);
    if (-this.#sp > STACK_SIZE) throw new StackLimitError();
    this.#maxSp = Math.min(this.#maxSp, this.#sp);
    return this.#sp;
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
      for (const [name, t] of this.u.vars) {
        this.vars.set(name, this.alloc(sizeOf(t)));
      }
      this.#callbackFrame(p.body);
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
      if (live) this.#block(p.body, true);
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

  // ---- statements ------------------------------------------------------

  /** Whether `s` is an `assert()` whose condition is false as compiled. */
  #failsAssert(s: ast.Stmt): boolean {
    return s.kind === "expr" && s.expr.kind === "call" &&
      s.expr.name === "assert" && this.truth(s.expr.args[0]) === false;
  }

  /** `tail`: nothing runs after this block but the program's exit. */
  #block(b: ast.Block, tail = false): void {
    const n = b.stmts.length;
    for (let i = 0; i < n; i++) {
      const s = b.stmts[i];
      const mark = this.#sp;
      this.#stmt(s, tail && i === n - 1);
      this.#sp = mark;
      if (terminates(s) || this.#failsAssert(s)) break;
      if (
        s.kind === "while" && !breaks(s.body) &&
        (this.fold(s.cond) ?? 0n) !== 0n
      ) break;
    }
  }

  /** Emits one statement; `tail`: nothing but the exit runs after it. */
  #stmt(s: ast.Stmt, tail = false): void {
    const b = this.b;
    b.at(s.span);
    switch (s.kind) {
      case "block":
        this.#block(s, tail);
        return;
      case "expr":
        this.#exprStmt(s.expr, tail);
        return;
      case "assign":
        this.#assign(s);
        return;
      case "if": {
        const c = this.truth(s.cond);
        if (c !== undefined) {
          this.effects(s.cond);
          if (c) this.#block(s.then, tail);
          else if (s.else !== undefined) this.#stmt(s.else, tail);
          return;
        }
        const elseL = b.newLabel("else");
        this.branch(s.cond, elseL, false);
        // With an else branch, falling off `then` must jump over it.
        this.region(() => this.#block(s.then, tail && s.else === undefined));
        if (s.else !== undefined) {
          const end = b.newLabel("endif");
          if (!s.then.stmts.some(terminates)) b.ja(end);
          b.label(elseL);
          this.region(() => this.#stmt(s.else!, tail));
          b.label(end);
        } else b.label(elseL);
        return;
      }
      case "unroll": {
        const n = Number(this.fold(s.count) ?? 1n);
        // The first copy measures the body: the program must stay under
        // the kernel's limit once the rest are added (bounds.ts estimated
        // it from the tree; this is exact, before the expansion).
        const before = b.length;
        this.#block(s.body);
        if (b.length + (n - 1) * (b.length - before) > MAX_PROGRAM_INSNS) {
          throw new UnrollSizeError(s.span);
        }
        for (let i = 1; i < n; i++) this.#block(s.body);
        return;
      }
      case "while": {
        // No hidden iteration cap: the loop runs exactly as written, and
        // one the verifier cannot prove bounded is rejected (as the
        // kernel rejects bpftrace's).
        if (this.truth(s.cond) === false) {
          this.effects(s.cond);
          return;
        }
        const always = this.fold(s.cond);
        if (always !== undefined && !breaks(s.body, true)) {
          this.diag.error(
            s.span,
            "Infinite loop: the while condition is always true and the body has no break, return or exit()",
          );
          return;
        }
        const head = b.newLabel("while");
        const end = b.newLabel("wend");
        // A value read before the loop may be written by a later
        // iteration before it is read again; break and continue jump from
        // anywhere inside.
        this.#forgetValues();
        this.region(() => {
          b.label(head);
          this.branch(s.cond, end, false);
          this.#loops.push({ head, end });
          this.#block(s.body);
          this.#loops.pop();
          b.ja(head);
          b.label(end);
        });
        return;
      }
      case "break":
        b.ja(this.#loops[this.#loops.length - 1].end);
        return;
      case "continue":
        b.ja(this.#loops[this.#loops.length - 1].head);
        return;
      case "return":
        if (s.value !== undefined) {
          // `return EXPR;` (test and bench probes): the program's r0.
          const v = this.scalar(s.value);
          b.movReg(0, this.ra.reg(v));
          this.ra.free(v);
          b.exit();
          return;
        }
        if (!tail) b.ja(this.exit);
        return;
      case "let": {
        if (s.value !== undefined) {
          this.#assign({
            kind: "assign",
            op: "=",
            target: s.target,
            value: s.value,
            span: s.span,
          });
          return;
        }
        // A declaration without a value: zero, each time it runs.
        const off = this.vars.get(s.target.name);
        const t = this.u.vars.get(s.target.name);
        if (off !== undefined && t !== undefined) {
          this.zero({ base: R10, off }, 0, sizeOf(t));
        }
        return;
      }
      case "for":
        this.#for(s);
        return;
    }
  }

  // ---- for loops --------------------------------------------------------
  //
  // A range with small constant bounds is an inline loop the verifier
  // bounds by itself. Every other `for` runs its body in a callback
  // subprogram: `bpf_for_each_map_elem` over a map (kernel 5.13),
  // `bpf_loop` over a range (5.17), as bpftrace 0.26 does. The callback
  // has its own frame: it copies the probe's variables in from the
  // caller's frame (the helper's context argument points at them), runs
  // the body on its copy, and copies them back when it returns (0 to go
  // on, 1 for `break`; `return` and `exit()` also set a flag the caller
  // tests after the helper).

  /** Callbacks still to emit (after the program, each its own function). */
  #callbacks: (() => void)[] = [];
  /** Low end of the variables' area, which callbacks copy (0: none). */
  #varLo = 0;
  /** Slot of the flag a callback sets for `return` / `exit()`. */
  #retFlag = 0;
  /** Per range loop run through `bpf_loop`: the slot of its start. */
  #rangeFrom = new Map<ast.ForStmt, number>();

  /** The constant bounds of a range loop emitted inline, if it is one. */
  #inlineRange(s: ast.ForStmt): [bigint, bigint] | undefined {
    if (s.map !== undefined) return undefined;
    const from = this.fold(s.from!);
    const to = this.fold(s.to!);
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
  #callbackFrame(body: ast.Block): void {
    const loops: ast.ForStmt[] = [];
    walk(body, (n) => {
      if (n.kind === "for" && this.#inlineRange(n) === undefined) loops.push(n);
    });
    if (loops.length === 0) return;
    this.#retFlag = this.alloc(8);
    for (const f of loops) {
      if (f.map === undefined) this.#rangeFrom.set(f, this.alloc(8));
    }
    this.#varLo = this.#sp;
    this.zero({ base: R10, off: this.#varLo }, 0, -this.#varLo);
  }

  /** Labels of the subprograms queued by `subprog`, by id. */
  #subprogs = new Map<string, string>();

  subprog(id: string, emit: () => void): string {
    let fn = this.#subprogs.get(id);
    if (fn === undefined) {
      const at = fn = this.b.newLabel(id);
      this.#subprogs.set(id, at);
      this.#callbacks.push(() => {
        this.b.label(at);
        emit();
      });
    }
    return fn;
  }

  /** Emits the callbacks after the program; false after an error. */
  #emitCallbacks(): boolean {
    for (let i = 0; i < this.#callbacks.length; i++) {
      try {
        this.#callbacks[i]();
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

  /** Emits the statements of a block expression (before its value). */
  blockStmts(stmts: ast.Stmt[]): void {
    for (const s of stmts) {
      const mark = this.#sp;
      this.#stmt(s);
      this.#sp = mark;
    }
  }

  /** `for ($kv : @map)` and `for ($i : from..to)`. */
  #for(s: ast.ForStmt): void {
    const b = this.b;
    const ra = this.ra;
    const inline = this.#inlineRange(s);
    if (inline !== undefined) {
      this.#inlineFor(s, inline[0], inline[1]);
      return;
    }
    const fn = b.newLabel("cb");
    const skip = b.newLabel("fskip");
    this.#forgetValues();
    if (s.map === undefined) {
      const from = this.scalar(s.from!);
      const n = this.scalar(s.to!);
      const fromSlot = this.#rangeFrom.get(s)!;
      this.storeScalar({ base: R10, off: fromSlot }, from, 8);
      b.alu64Reg("SUB", ra.reg(n), ra.reg(from));
      ra.free(from);
      b.jmpImm("JSLE", ra.reg(n), 0, skip);
      this.call(
        Helper.loop,
        [n, { func: fn }, { fp: this.#varLo }, ra.imm(0)],
        false,
      );
    } else {
      const idx = this.t.userMap(`@${s.map.name}`);
      this.call(Helper.for_each_map_elem, [
        { map: idx },
        { func: fn },
        { fp: this.#varLo },
        ra.imm(0),
      ], false);
    }
    const r = ra.newReg();
    b.ldx(8, ra.reg(r), R10, this.#retFlag);
    b.jmpImm("JNE", ra.reg(r), 0, this.exit);
    ra.free(r);
    b.label(skip);
    this.#forgetValues();
    this.#callbacks.push(() => this.#callback(s, fn));
  }

  /** Copies the variables between this frame and the one at `base`. */
  #copyVars(base: number, out: boolean): void {
    const b = this.b;
    for (let k = 0; k < -this.#varLo; k += 8) {
      if (out) {
        b.ldx(8, 0, R10, this.#varLo + k);
        b.stx(8, base, k, 0);
      } else {
        b.ldx(8, 0, base, k);
        b.stx(8, R10, this.#varLo + k, 0);
      }
    }
  }

  /** Copies `n` bytes from `base` + 0 to the stack at `off` (via r0). */
  #copyIn(base: number, off: number, n: number): void {
    for (let k = 0; k < n;) {
      const w = chunk(n - k, off + k);
      this.b.ldx(w, 0, base, k);
      this.b.stx(w, R10, off + k, 0);
      k += w;
    }
  }

  /** Emits the callback of loop `s` at label `fn`. */
  #callback(s: ast.ForStmt, fn: string): void {
    const b = this.b;
    const saved = {
      sp: this.#sp,
      ra: this.ra,
      slots: this.slots,
      avail: this.avail,
      exit: this.exit,
      loops: this.#loops,
      cold: this.cold,
    };
    this.#sp = this.#varLo;
    const reserved = new Set<number>(this.ctx >= 0 ? [this.ctx] : []);
    this.ra = new RegAlloc(b, () => this.alloc(8), reserved);
    this.slots = new Map();
    this.avail = new Set();
    this.cold = [];
    const cont = b.newLabel("cbnext");
    const brk = b.newLabel("cbbreak");
    const ret = b.newLabel("cbret");
    const out = b.newLabel("cbout");
    this.exit = ret;
    this.#loops = [{ head: cont, end: brk }];
    b.at(s.span);
    b.label(fn);
    const ctxReg = s.map === undefined ? 2 : 4;
    const ctxSlot = this.alloc(8);
    b.stx(8, R10, ctxSlot, ctxReg);
    this.#copyVars(ctxReg, false);
    const off = this.vars.get(s.target.name)!;
    if (s.map === undefined) {
      b.ldx(8, 0, R10, this.#rangeFrom.get(s)!);
      b.alu64Reg("ADD", 0, 1);
      b.stx(8, R10, off, 0);
    } else {
      const spec = this.t.maps[this.t.userMap(`@${s.map.name}`)];
      const kv = this.u.vars.get(s.target.name) as SType & { k: "tuple" };
      const [kt, vt] = kv.elems;
      this.#copyIn(2, off + kv.offsets[0], Math.min(spec.keySize, sizeOf(kt)));
      const key = off + kv.offsets[0], val = off + kv.offsets[1];
      if (spec.agg?.kind !== "value") loopAggValue(this, s.map, key, val);
      else this.#copyIn(3, val, Math.min(spec.valueSize, sizeOf(vt)));
    }
    this.#block(s.body);
    // Only the exits something reaches (the kernel refuses dead code).
    const j = this.#jumps(s.body);
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
      b.st(8, R10, this.#retFlag, 1);
      b.movImm(7, 1);
    }
    b.label(out);
    b.ldx(8, 1, R10, ctxSlot);
    this.#copyVars(1, true);
    b.movReg(0, 7);
    b.exit();
    for (const emit of this.cold) emit();
    this.#sp = saved.sp;
    this.ra = saved.ra;
    this.slots = saved.slots;
    this.avail = saved.avail;
    this.exit = saved.exit;
    this.#loops = saved.loops;
    this.cold = saved.cold;
  }

  /**
   * Which exits of a callback its body takes: `continue` and `break` of
   * this loop; `return`, `exit()` or a callback loop anywhere inside.
   */
  #jumps(body: ast.Block): { cont: boolean; brk: boolean; ret: boolean } {
    const j = { cont: false, brk: false, ret: false };
    const visit = (n: ast.Node, own: boolean): void => {
      if (n.kind === "break" && own) j.brk = true;
      else if (n.kind === "continue" && own) j.cont = true;
      else if (n.kind === "return") j.ret = true;
      else if (n.kind === "call" && n.name === "exit") j.ret = true;
      else if (n.kind === "for" && this.#inlineRange(n) === undefined) {
        j.ret = true;
      }
      const inner = own && n.kind !== "while" && n.kind !== "for";
      for (const c of children(n)) visit(c, inner);
    };
    for (const st of body.stmts) visit(st, true);
    return j;
  }

  /** A range loop with constant bounds, inline. */
  #inlineFor(s: ast.ForStmt, from: bigint, to: bigint): void {
    const b = this.b;
    if (from >= to) return;
    const off = this.vars.get(s.target.name)!;
    const head = b.newLabel("for");
    const next = b.newLabel("fnext");
    const end = b.newLabel("fend");
    this.#forgetValues();
    this.region(() => {
      b.st(8, R10, off, Number(from));
      b.label(head);
      const r = this.ra.newReg();
      b.ldx(8, this.ra.reg(r), R10, off);
      b.jmpImm("JSGE", this.ra.reg(r), Number(to), end);
      this.ra.free(r);
      this.#loops.push({ head: next, end });
      this.#block(s.body);
      this.#loops.pop();
      b.label(next);
      const x = this.ra.newReg();
      b.ldx(8, this.ra.reg(x), R10, off);
      b.alu64Imm("ADD", this.ra.reg(x), 1);
      b.stx(8, R10, off, this.ra.reg(x));
      this.ra.free(x);
      b.ja(head);
      b.label(end);
    });
  }

  /** Emits an expression used as a statement (calls with effects, `++`). */
  #exprStmt(e: ast.Expr, tail: boolean): void {
    if (e.kind === "call") {
      switch (e.name) {
        case "printf":
        case "system":
        case "cat":
          events.formatEvent(this, e);
          return;
        case "emit": {
          const args = e.args.slice(2).map((a): [ast.Expr, SType] => [
            a,
            stored(this.type(a)),
          ]);
          events.event(this, {
            kind: "emit",
            event: (e.args[0] as ast.StrLit).value,
            fields: (e.args[1] as ast.StrLit).value.split(","),
            args: args.map(([, t]) => this.t.desc(t)),
          }, args);
          return;
        }
        case "join":
          events.join(this, e);
          return;
        case "exit":
          if (e.args.length === 1) {
            const t = stored(this.type(e.args[0]));
            events.event(this, {
              kind: "exit",
              args: [this.t.desc(t)],
            }, [[e.args[0], t]]);
          } else events.event(this, { kind: "exit" }, []);
          if (!tail) this.b.ja(this.exit);
          return;
        case "errorf":
        case "warnf":
          events.located(this, e);
          return;
        case "assert": {
          // bpftrace 0.26: if (!cond) { errorf("assert failed: %s", msg);
          // exit(1); }
          const known = this.truth(e.args[0]);
          if (known === true) {
            this.effects(e.args[0]);
            return;
          }
          const ok = this.b.newLabel("asserted");
          if (known === undefined) this.branch(e.args[0], ok, true);
          else this.effects(e.args[0]);
          events.located(this, e, "assert failed: %s");
          const code = assertCode(e);
          events.event(this, {
            kind: "exit",
            args: [this.t.desc(stored(this.type(code)))],
          }, [[code, stored(this.type(code))]]);
          if (known === undefined || !tail) this.b.ja(this.exit);
          if (known === undefined) this.b.label(ok);
          return;
        }
        case "print":
          events.print(this, e);
          return;
        case "clear":
        case "zero": {
          const a = e.args[0] as ast.MapExpr;
          events.event(this, {
            kind: e.name,
            mapIndex: this.t.userMap(`@${a.name}`),
          }, []);
          return;
        }
        case "time": {
          const f = e.args.length > 0 ? this.strConst(e.args[0]) : undefined;
          events.event(this, { kind: "time", format: f ?? "%H:%M:%S\n" }, []);
          return;
        }
        case "delete": {
          const m = (keyedMap(e) ?? e.args[0]) as ast.MapExpr;
          const idx = this.t.userMap(`@${m.name}`);
          const key = maps.buildKey(this, m, undefined);
          this.call(
            Helper.map_delete_elem,
            [{ map: idx }, { fp: key }],
            false,
          );
          this.written(m.name);
          return;
        }
        case "signal": {
          const a = e.args[0];
          const v = a.kind === "str"
            ? this.ra.imm(signalNumber(a.value) ?? 0)
            : this.scalar(a);
          this.call(Helper.send_signal, [v], false);
          return;
        }
      }
    }
    if (e.kind === "incdec") {
      scalars.incdec(this, e, false);
      return;
    }
    const t = this.type(e);
    if (isScalar(t)) this.ra.free(this.scalar(e));
    else if (t.k === "args" && e.kind === "builtin") return; // as bpftrace
    else if (t.k !== "none") this.mem(e);
  }

  /** Emits an assignment to a variable or a map (aggregations included). */
  #assign(s: ast.AssignStmt): void {
    const t = s.target;
    const v = s.value;
    if (v.kind === "call" && maps.isAgg(v.name) && t.kind === "map") {
      maps.aggregate(this, t, v);
      return;
    }
    if (t.kind === "var") {
      const off = this.vars.get(t.name)!;
      const vt = this.u.vars.get(t.name)!;
      if (s.op === "=") {
        this.into(v, { base: R10, off }, vt, true);
        return;
      }
      const op = s.op.slice(0, -1) as ast.BinaryOp;
      // `$p += n` on a pointer steps n elements, as `$p = $p + n`.
      const sc = pointerScale(op, vt, this.type(v));
      let val = this.scalar(v);
      if (sc?.side === "right") val = this.times(val, sc.by);
      const x = this.ra.newReg();
      this.b.ldx(8, this.ra.reg(x), R10, off);
      this.aluOp(op, x, val, vt);
      this.b.stx(8, R10, off, this.ra.reg(x));
      this.ra.free(x);
      return;
    }
    const info = this.t.maps[this.t.userMap(`@${t.name}`)];
    const vt = this.type(t);
    if (s.op === "=") {
      let val: Ref | undefined;
      if (isScalar(vt)) val = this.scalar(v);
      const key = maps.buildKey(this, t, undefined);
      const vslot = this.alloc(info.valueSize);
      if (val !== undefined) {
        this.storeScalar({ base: R10, off: vslot }, val, 8);
        this.ra.free(val);
      } else this.into(v, { base: R10, off: vslot }, vt, true);
      const idx = this.t.userMap(`@${t.name}`);
      this.call(Helper.map_update_elem, [
        { map: idx },
        { fp: key },
        { fp: vslot },
        this.ra.imm(0),
      ], false);
      maps.updateFailed(this, idx);
      this.written(t.name);
      return;
    }
    const op = s.op.slice(0, -1) as ast.BinaryOp;
    const sc = pointerScale(op, vt, this.type(v));
    let delta = this.scalar(v);
    if (sc?.side === "right") delta = this.times(delta, sc.by);
    this.mapRmw(t, op, delta, undefined);
  }

  // ---- the pieces in other files, as the Emitter interface shows them

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
