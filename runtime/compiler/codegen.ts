/**
 * Code generation: one eBPF program per compile unit, written straight from
 * the typed syntax tree with values kept in registers, keys and strings
 * built on the stack, aggregations updated in place on a lookup hit, and
 * every event sent as one ring buffer record.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { walk } from "../lang/visit.ts";
import type { Diagnostics } from "../lang/diagnostics.ts";
import {
  type AluName,
  type Built,
  type CondName,
  InsnBuilder,
  JumpRangeError,
  type Width,
} from "../bpf/builder.ts";
import { Helper, MapType, R10, STACK_SIZE } from "../bpf/opcodes.ts";
import type {
  EventAction,
  MapSpec,
  ProbeProgram,
  TypeDesc,
} from "../program.ts";
import type { AggName } from "./sema_scope.ts";
import type { Unit } from "./units.ts";
import { arrayField, castType, fieldType } from "./type_names.ts";
import {
  ARG_REGS,
  kernelAddress,
  PT_REGS,
  signalNumber,
} from "./call_constants.ts";
import { MAX_PROGRAM_INSNS } from "./bounds.ts";
import type { ProgramTables } from "./tables.ts";
import {
  ConstFolder,
  pointerScale,
  pointerStep,
  positionalText,
} from "./fold.ts";
import { type Ref, RegAlloc, RegisterPressureError } from "./regs.ts";
import {
  countReuse,
  mapAccessId,
  type ReuseCounts,
  STABLE_HELPER,
} from "./reuse.ts";
import { alignUp, isScalar, sizeOf, stored, type SType, U64 } from "./types.ts";

/** Strings `join()` reads at most. */
export const JOIN_MAX = 16;
/** Bytes of each `join()` string. */
export const JOIN_STRLEN = 64;

const BPF_F_USER_STACK = 1 << 8;
/** Address families `ntop` sends with an address it infers the family of. */
const AF_INET = 2;
const AF_INET6 = 10;

/** Stack bytes at most kept for map keys reused within one program run. */
const KEY_CACHE_BYTES = 64;
/** Map values at most kept for reuse within one program run. */
const VALUE_CACHE_SLOTS = 4;

/** A memory destination: base register (`R10`: the frame) or a record value. */
interface Dst {
  base: number | Ref;
  off: number;
}

const INVERSE: Record<CondName, CondName> = {
  JEQ: "JNE",
  JNE: "JEQ",
  JGT: "JLE",
  JLE: "JGT",
  JGE: "JLT",
  JLT: "JGE",
  JSGT: "JSLE",
  JSLE: "JSGT",
  JSGE: "JSLT",
  JSLT: "JSGE",
  JSET: "JSET",
};

const SWAPPED: Record<CondName, CondName> = {
  JEQ: "JEQ",
  JNE: "JNE",
  JGT: "JLT",
  JLT: "JGT",
  JGE: "JLE",
  JLE: "JGE",
  JSGT: "JSLT",
  JSLT: "JSGT",
  JSGE: "JSLE",
  JSLE: "JSGE",
  JSET: "JSET",
};

function fitsImm(v: bigint): boolean {
  const s = BigInt.asIntN(64, v);
  return s >= -0x80000000n && s <= 0x7fffffffn;
}

const CTX_BUILTINS = new Set([
  "args",
  "retval",
  "func",
  "kstack",
  "ustack",
  "stack",
  "ctx",
]);

/** Whether the probe reads its context (r1) anywhere: args, registers, stacks. */
function needsCtx(u: Unit): boolean {
  let found = false;
  for (const root of [u.probe.predicate, u.probe.body]) {
    if (root === undefined) continue;
    walk(root, (node) => {
      if (node.kind === "builtin") {
        if (CTX_BUILTINS.has(node.name) || /^arg\d+$/.test(node.name)) {
          found = true;
        }
      } else if (
        node.kind === "call" &&
        ["kstack", "ustack", "reg", "uaddr"].includes(node.name)
      ) found = true;
      return !found;
    });
  }
  return found;
}

/** The widest access of at most `rem` bytes aligned at `off`. */
function chunk(rem: number, off: number): Width {
  const a = off & 7;
  if (rem >= 8 && a === 0) return 8;
  if (rem >= 4 && (a & 3) === 0) return 4;
  if (rem >= 2 && (a & 1) === 0) return 2;
  return 1;
}

/** Whether control never continues past this statement. */
function terminates(s: ast.Stmt): boolean {
  switch (s.kind) {
    case "return":
    case "break":
    case "continue":
      return true;
    case "expr":
      return s.expr.kind === "call" && s.expr.name === "exit";
    case "block":
      return s.stmts.some(terminates);
    case "if":
      return s.else !== undefined && s.then.stmts.some(terminates) &&
        terminates(s.else);
    case "while":
      // `while (1)` without a `break`: nothing after it is reachable.
      return literalTrue(s.cond) && !breaks(s.body);
    default:
      return false;
  }
}

/** Whether an expression is a nonzero literal (`1`, `true`). */
function literalTrue(e: ast.Expr): boolean {
  return (e.kind === "int" && e.value !== 0n) ||
    (e.kind === "bool" && e.value);
}

/** Where a struct member or array element lives (`#addr`). */
interface Place {
  /** The base address. */
  base: Ref;
  /** Bytes added to it. */
  off: number;
  /** The memory it is in. */
  origin: "user" | "kernel" | undefined;
}

/** `{ ptr: origin }` when the origin is known. */
function originOf(
  origin: "user" | "kernel" | undefined,
): { ptr?: "user" | "kernel" } {
  return origin === undefined ? {} : { ptr: origin };
}

/**
 * The helper that reads through a pointer of type `t`: user or kernel
 * memory when the pointer says which, else the legacy helper that picks by
 * address on x86 (bpftrace's choice for pointers of unknown origin).
 */
function readHelper(t: SType, str: boolean): number {
  const origin = t.k === "int" ? t.ptr : undefined;
  if (origin === "user") {
    return str ? Helper.probe_read_user_str : Helper.probe_read_user;
  }
  if (origin === "kernel") {
    return str ? Helper.probe_read_kernel_str : Helper.probe_read_kernel;
  }
  return str ? Helper.probe_read_str : Helper.probe_read;
}

/**
 * Whether a loop body contains a `break` of that loop (with `leaves`, also
 * a `return` or an `exit()` anywhere inside).
 */
function breaks(b: ast.Block, leaves = false): boolean {
  const inStmt = (s: ast.Stmt): boolean => {
    switch (s.kind) {
      case "break":
        return true;
      case "return":
        return leaves;
      case "expr":
        return leaves && s.expr.kind === "call" && s.expr.name === "exit";
      case "block":
        return breaks(s, leaves);
      case "if":
        return breaks(s.then, leaves) ||
          (s.else !== undefined && inStmt(s.else));
      case "unroll":
        return breaks(s.body, leaves);
      case "while":
        return leaves && breaks(s.body, true);
      default:
        return false;
    }
  };
  return b.stmts.some(inStmt);
}

/** Per-program options of {@linkcode ProbeCompiler}. */
export interface ProbeOptions {
  /** Exit unless the current process (tgid) is this one. */
  pid?: number;
  /** The value of the `cpid` builtin. */
  cpid?: number;
  /**
   * Keep stable helper results, map keys and map values in stack slots for
   * reuse within a run (default true; see `reuse.ts`). A probe whose stack
   * would overflow with the slots is compiled again without them.
   */
  reuse?: boolean;
  /**
   * Count the updates full maps refuse (`.full`; default true). Off when
   * the counter map would take the program over the kernel's 64 maps.
   */
  countFull?: boolean;
}

/** The probe needs more stack than the kernel gives a program. */
class StackLimitError extends RangeError {
  constructor() {
    super(
      `Stack limit exceeded: the probe needs more than ${STACK_SIZE} bytes`,
    );
    this.name = "StackLimitError";
  }
}

/** An `unroll` would take the program past the kernel's size limit. */
class UnrollSizeError extends RangeError {
  /** The `unroll` statement. */
  span: ast.Span;
  constructor(span: ast.Span) {
    super(
      `unroll expands the probe past ${MAX_PROGRAM_INSNS} instructions, the kernel's limit for a program`,
    );
    this.name = "UnrollSizeError";
    this.span = span;
  }
}

/** Compiles one unit to a probe program. */
export class ProbeCompiler {
  #u: Unit;
  #t: ProgramTables;
  #diag: Diagnostics;
  #b = new InsnBuilder();
  #ra: RegAlloc;
  #sp = 0;
  #maxSp = 0;
  #ctx = -1;
  #exit: string;
  #vars = new Map<string, number>();
  #loops: { head: string; end: string }[] = [];
  #params: string[];
  #prologue: ((c: ProbeCompiler) => void) | undefined;
  #opts: ProbeOptions;
  #consts: ConstFolder;
  /** Out-of-line blocks emitted after the final exit (cold paths). */
  #cold: (() => void)[] = [];
  /** What the body uses more than once (see `reuse.ts`). */
  #reuse: ReuseCounts;
  /**
   * Stack slots of values computed once per run and reused: `h:ID` a
   * stable helper's result, `k:ACCESS` a map key, `v:ACCESS` a map value.
   */
  #slots = new Map<string, number>();
  /**
   * The slots that hold their value on every path reaching the code being
   * emitted (see `#region`).
   */
  #avail = new Set<string>();

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
    this.#opts = opts;
    this.#u = u;
    this.#t = tables;
    this.#diag = diag;
    this.#params = params;
    this.#consts = new ConstFolder({
      params,
      cpid: opts.cpid,
      known: u.consts,
      type: (e) => this.#type(e),
      castType,
    });
    this.#prologue = prologue;
    const reserved = new Set<number>();
    if (needsCtx(u)) {
      this.#ctx = 6;
      reserved.add(6);
    }
    this.#ra = new RegAlloc(this.#b, () => this.#alloc(8), reserved);
    this.#exit = this.#b.newLabel("exit");
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
      if (n > 1) this.#slots.set(`h:${h}`, this.#alloc(8));
    }
    const specOf = (id: string): MapSpec | undefined => {
      const i = this.#t.findUserMap(id.slice(0, id.indexOf("[")));
      return i === undefined ? undefined : this.#t.maps[i];
    };
    let values = VALUE_CACHE_SLOTS;
    for (const [id, n] of r.reads) {
      const agg = specOf(id)?.agg;
      if (
        n > 1 && values > 0 && agg?.kind === "value" && agg.type.kind === "int"
      ) {
        values--;
        this.#slots.set(`v:${id}`, this.#alloc(8));
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
      this.#slots.set(`k:${id}`, this.#alloc(size));
    }
  }

  /**
   * Emits `f`, code that runs on some paths only: what it leaves in slots
   * is not known afterwards, and what it invalidates stays invalid.
   */
  #region<T>(f: () => T): T {
    const before = this.#avail;
    this.#avail = new Set(before);
    try {
      return f();
    } finally {
      const after = this.#avail;
      this.#avail = new Set([...before].filter((id) => after.has(id)));
    }
  }

  /** Forgets every cached map value (loops: a later write may come first). */
  #forgetValues(): void {
    for (const id of [...this.#avail]) {
      if (id.startsWith("v:")) this.#avail.delete(id);
    }
  }

  /** After a write to map `@name`: its cached values are stale. */
  #written(name: string): void {
    const prefix = `v:@${name}[`;
    for (const id of [...this.#avail]) {
      if (id.startsWith(prefix)) this.#avail.delete(id);
    }
  }

  /**
   * A stable helper's result (see `reuse.ts`): called, and kept in its
   * slot when the body uses it again; read from the slot where it holds.
   */
  #helperValue(h: number): Ref {
    const id = `h:${h}`;
    const slot = this.#slots.get(id);
    if (slot !== undefined && this.#avail.has(id)) return this.#ra.slot(slot);
    const r = this.#call(h, [], true)!;
    if (slot !== undefined) {
      this.#b.stx(8, R10, slot, this.#ra.reg(r));
      this.#avail.add(id);
    }
    return r;
  }

  /** The upper (`hi`) or lower 32 bits of a stable helper's result. */
  #helperHalf(h: number, hi: boolean): Ref {
    const id = `h:${h}`;
    const slot = this.#slots.get(id);
    if (slot !== undefined && this.#avail.has(id)) {
      // Little-endian: the low half first.
      const r = this.#ra.newReg();
      this.#b.ldx(4, this.#ra.reg(r), R10, slot + (hi ? 4 : 0));
      return r;
    }
    const r = this.#helperValue(h);
    const rr = this.#ra.reg(r);
    if (hi) this.#b.alu64Imm("RSH", rr, 32);
    else this.#b.alu32Reg("MOV", rr, rr);
    return r;
  }

  #alloc(size: number): number {
    this.#sp -= alignUp(size, 8);
    if (-this.#sp > STACK_SIZE) throw new StackLimitError();
    this.#maxSp = Math.min(this.#maxSp, this.#sp);
    return this.#sp;
  }

  /** Compiles the unit. */
  compile(): ProbeProgram {
    const mark = this.#t.mark();
    const errors = this.#diag.errors.length;
    const warnings = this.#diag.warnings.length;
    try {
      return this.#compile();
    } catch (e) {
      if (!(e instanceof StackLimitError)) throw e;
      // The reuse slots did not fit: again without them, from scratch.
      this.#t.reset(mark);
      this.#diag.errors.length = errors;
      this.#diag.warnings.length = warnings;
      return new ProbeCompiler(
        this.#u,
        this.#t,
        this.#diag,
        this.#params,
        this.#prologue,
        { ...this.#opts, reuse: false },
      ).compile();
    }
  }

  #compile(): ProbeProgram {
    const b = this.#b;
    const p = this.#u.probe;
    b.at(p.span);
    if (this.#ctx >= 0) b.movReg(6, 1);
    try {
      for (const [name, t] of this.#u.vars) {
        this.#vars.set(name, this.#alloc(sizeOf(t)));
      }
      this.#reserveSlots();
      this.#prologue?.(this);
      if (this.#opts.pid !== undefined) this.#pidFilter(this.#opts.pid);
      let live = true;
      if (p.predicate !== undefined) {
        b.at(p.predicate.span);
        const known = this.#truth(p.predicate);
        if (known === undefined) this.#branch(p.predicate, this.#exit, false);
        else {
          // A decided predicate: no dead code after an unconditional jump.
          this.#effects(p.predicate);
          live = known;
        }
      }
      if (live) this.#block(p.body, true);
    } catch (e) {
      if (e instanceof StackLimitError && this.#slots.size > 0) throw e;
      if (!(e instanceof RegisterPressureError || e instanceof RangeError)) {
        throw e;
      }
      // The code stops mid-statement (jumps to labels never placed): there
      // is nothing to build; compile() reports the error.
      this.#diag.error(
        e instanceof UnrollSizeError ? e.span : p.span,
        e.message,
      );
      return {
        name: this.#u.name,
        attach: this.#u.attach,
        progType: this.#u.progType,
        insns: [],
        locs: [],
        ctx: this.#u.ctx,
      };
    }
    b.label(this.#exit);
    b.movImm(0, 0);
    b.exit();
    for (const emit of this.#cold) emit();
    let built: Built;
    try {
      built = b.build();
    } catch (e) {
      if (!(e instanceof JumpRangeError)) throw e;
      const at = e.loc !== undefined && "start" in e.loc
        ? e.loc as ast.Span
        : p.span;
      const why = e.message[0].toLowerCase() + e.message.slice(1);
      this.#diag.error(at, `Probe is too large: ${why}`);
      built = { insns: [], locs: [] };
    }
    const { insns, locs } = built;
    return {
      name: this.#u.name,
      attach: this.#u.attach,
      progType: this.#u.progType,
      insns,
      locs,
      ctx: this.#u.ctx,
    };
  }

  /** `-p PID`: exits unless the current process is `pid`. */
  #pidFilter(pid: number): void {
    const ra = this.#ra;
    const r = this.#helperHalf(Helper.get_current_pid_tgid, true);
    this.#b.jmpImm("JNE", ra.reg(r), pid, this.#exit);
    ra.free(r);
  }

  /**
   * After a `ringbuf_reserve` call: when it failed (r0 == 0), jumps to a
   * cold block that adds 1 to `.lost` and then continues at `resume`. The
   * success path pays only the one conditional jump it always had.
   */
  #reserveFailed(resume: string): void {
    const b = this.#b;
    const cold = b.newLabel("lost");
    b.jmpImm("JEQ", 0, 0, cold);
    const map = this.#t.lostMap();
    const key = this.#alloc(8);
    this.#cold.push(() => {
      b.label(cold);
      b.st(4, R10, key, 0);
      b.ldMap(1, map);
      b.movReg(2, R10);
      b.alu64Imm("ADD", 2, key);
      b.call(Helper.map_lookup_elem);
      b.jmpImm("JEQ", 0, 0, resume);
      b.movImm(1, 1);
      b.atomic(8, "ADD", 0, 0, 1);
      b.ja(resume);
    });
  }

  /**
   * Right after a `map_update_elem` call on user map `map`: when it failed
   * (r0 != 0: the map is full), jumps to a cold block after the program's
   * exit that atomically adds 1 to the map's `.full` counter and comes
   * back. The success path pays one conditional jump (not taken); lookup
   * hits never get here.
   */
  #updateFailed(map: number): void {
    if (this.#opts.countFull === false) return;
    // A keyless map has one key: it is never full.
    const spec = this.#t.maps[map];
    const buckets = spec.agg?.kind === "hist" || spec.agg?.kind === "lhist";
    if (spec.key.kind === "none" && !buckets) return;
    const b = this.#b;
    const cold = b.newLabel("full");
    const resume = b.newLabel("updated");
    b.jmpImm("JNE", 0, 0, cold);
    b.label(resume);
    const full = this.#t.fullMap();
    this.#cold.push(() => {
      b.label(cold);
      b.ldMapValue(1, full, this.#t.fullSlot(map));
      b.movImm(2, 1);
      b.atomic(8, "ADD", 1, 0, 2);
      b.ja(resume);
    });
  }

  /** Emits the start-time store for `elapsed` (BEGIN only). */
  storeStartTime(): void {
    const map = this.#t.startMap();
    const now = this.#call(Helper.ktime_get_ns, [], true)!;
    const key = this.#alloc(8);
    const val = this.#alloc(8);
    this.#b.st(4, R10, key, 0);
    this.#storeScalar({ base: R10, off: val }, now, 8);
    this.#ra.free(now);
    this.#call(Helper.map_update_elem, [
      { map },
      { fp: key },
      { fp: val },
      this.#ra.imm(0),
    ], false);
  }

  // ---- helpers ---------------------------------------------------------

  #type(e: ast.Expr): SType {
    return this.#u.types.get(e) ?? { k: "int", size: 8, signed: true };
  }

  /** Calls a helper: arguments go to r1-r5, the result is r0. */
  #call(
    helper: number,
    args: (
      | Ref
      | { fp: number }
      | { map: number }
      | { ctx: true }
      | { ptr: Ref; off: number }
    )[],
    result: boolean,
  ): Ref | undefined {
    const ra = this.#ra;
    ra.evictCallerSaved();
    args.forEach((a, i) => {
      const r = i + 1;
      if ("loc" in a) ra.load(r, a);
      else if ("fp" in a) {
        this.#b.movReg(r, R10);
        this.#b.alu64Imm("ADD", r, a.fp);
      } else if ("map" in a) this.#b.ldMap(r, a.map);
      else if ("ctx" in a) this.#b.movReg(r, this.#ctx);
      else {
        ra.load(r, a.ptr);
        if (a.off !== 0) this.#b.alu64Imm("ADD", r, a.off);
      }
    });
    for (const a of args) if ("loc" in a) ra.free(a);
    this.#b.call(helper);
    return result ? ra.claim(0) : undefined;
  }

  #baseReg(d: Dst): number {
    return typeof d.base === "number" ? d.base : this.#ra.reg(d.base);
  }

  #storeScalar(d: Dst, v: Ref, width: Width): void {
    const base = this.#baseReg(d);
    if (v.loc.kind === "imm" && fitsImm(v.loc.v)) {
      this.#b.st(width, base, d.off, Number(BigInt.asIntN(64, v.loc.v)));
    } else {
      this.#b.stx(width, base, d.off, this.#ra.reg(v));
    }
  }

  #zero(d: Dst, from: number, to: number): void {
    const base = this.#baseReg(d);
    let at = from;
    while (at < to) {
      const w = chunk(to - at, d.off + at);
      this.#b.st(w, base, d.off + at, 0);
      at += w;
    }
  }

  #copy(d: Dst, src: { base: number | Ref; off: number }, n: number): void {
    let at = 0;
    const bases = [src.base, d.base].filter((x): x is Ref =>
      typeof x !== "number"
    );
    const tmp = this.#ra.holding(bases, () => this.#ra.newReg());
    const t = this.#ra.reg(tmp);
    while (at < n) {
      const w = Math.min(
        chunk(n - at, d.off + at),
        chunk(n - at, src.off + at),
      ) as Width;
      const sb = typeof src.base === "number"
        ? src.base
        : this.#ra.reg(src.base);
      this.#b.ldx(w, t, sb, src.off + at);
      this.#b.stx(w, this.#baseReg(d), d.off + at, t);
      at += w;
    }
    this.#ra.free(tmp);
  }

  #ptrArg(d: Dst): { fp: number } | { ptr: Ref; off: number } {
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
  #fold(e: ast.Expr): bigint | undefined {
    return this.#consts.fold(e);
  }

  /** The truth of condition `e`, if known at compile time (see `fold.ts`). */
  #truth(e: ast.Expr): boolean | undefined {
    return this.#consts.truth(e);
  }

  /**
   * Evaluates a condition whose truth is known (`#truth`) for its side
   * effects alone: nothing for a pure constant, otherwise its branches,
   * which all meet right after it.
   */
  #effects(e: ast.Expr): void {
    if (this.#fold(e) !== undefined) return;
    const b = this.#b;
    const done = b.newLabel("fx");
    this.#ra.evictCallerSaved();
    const floor = this.#ra.split();
    this.#branch(e, done, true);
    b.label(done);
    this.#ra.floor = floor;
  }

  #strConst(e: ast.Expr): string | undefined {
    if (e.kind === "str") return e.value;
    if (e.kind === "builtin" && e.name === "probe") return this.#u.probeText;
    if (e.kind === "positional" && this.#fold(e) === undefined) {
      return this.#param(e);
    }
    return undefined;
  }

  // ---- statements ------------------------------------------------------

  /** `tail`: nothing runs after this block but the program's exit. */
  #block(b: ast.Block, tail = false): void {
    const n = b.stmts.length;
    for (let i = 0; i < n; i++) {
      const s = b.stmts[i];
      const mark = this.#sp;
      this.#stmt(s, tail && i === n - 1);
      this.#sp = mark;
      if (terminates(s)) break;
      if (
        s.kind === "while" && !breaks(s.body) &&
        (this.#fold(s.cond) ?? 0n) !== 0n
      ) break;
    }
  }

  #stmt(s: ast.Stmt, tail = false): void {
    const b = this.#b;
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
        const c = this.#truth(s.cond);
        if (c !== undefined) {
          this.#effects(s.cond);
          if (c) this.#block(s.then, tail);
          else if (s.else !== undefined) this.#stmt(s.else, tail);
          return;
        }
        const elseL = b.newLabel("else");
        this.#branch(s.cond, elseL, false);
        // With an else branch, falling off `then` must jump over it.
        this.#region(() => this.#block(s.then, tail && s.else === undefined));
        if (s.else !== undefined) {
          const end = b.newLabel("endif");
          if (!s.then.stmts.some(terminates)) b.ja(end);
          b.label(elseL);
          this.#region(() => this.#stmt(s.else!, tail));
          b.label(end);
        } else b.label(elseL);
        return;
      }
      case "unroll": {
        const n = Number(this.#fold(s.count) ?? 1n);
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
        if (this.#truth(s.cond) === false) {
          this.#effects(s.cond);
          return;
        }
        const always = this.#fold(s.cond);
        if (always !== undefined && !breaks(s.body, true)) {
          this.#diag.error(
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
        this.#region(() => {
          b.label(head);
          this.#branch(s.cond, end, false);
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
        if (!tail) b.ja(this.#exit);
        return;
    }
  }

  #exprStmt(e: ast.Expr, tail: boolean): void {
    if (e.kind === "call") {
      switch (e.name) {
        case "printf":
        case "system":
        case "cat":
          this.#formatEvent(e);
          return;
        case "emit": {
          const args = e.args.slice(2).map((a): [ast.Expr, SType] => [
            a,
            stored(this.#type(a)),
          ]);
          this.#event({
            kind: "emit",
            event: (e.args[0] as ast.StrLit).value,
            fields: (e.args[1] as ast.StrLit).value.split(","),
            args: args.map(([, t]) => this.#t.desc(t)),
          }, args);
          return;
        }
        case "join":
          this.#join(e);
          return;
        case "exit":
          this.#event({ kind: "exit" }, []);
          if (!tail) this.#b.ja(this.#exit);
          return;
        case "print":
          this.#print(e);
          return;
        case "clear":
        case "zero": {
          const a = e.args[0] as ast.MapExpr;
          this.#event(
            { kind: e.name, mapIndex: this.#t.userMap(`@${a.name}`) },
            [],
          );
          return;
        }
        case "time": {
          const f = e.args.length > 0 ? this.#strConst(e.args[0]) : undefined;
          this.#event({ kind: "time", format: f ?? "%H:%M:%S\n" }, []);
          return;
        }
        case "delete": {
          const m = e.args[0] as ast.MapExpr;
          const idx = this.#t.userMap(`@${m.name}`);
          const key = this.#buildKey(m, undefined);
          this.#call(
            Helper.map_delete_elem,
            [{ map: idx }, { fp: key }],
            false,
          );
          this.#written(m.name);
          return;
        }
        case "signal": {
          const a = e.args[0];
          const v = a.kind === "str"
            ? this.#ra.imm(signalNumber(a.value) ?? 0)
            : this.#scalar(a);
          this.#call(Helper.send_signal, [v], false);
          return;
        }
      }
    }
    if (e.kind === "incdec") {
      this.#incdec(e, false);
      return;
    }
    const t = this.#type(e);
    if (isScalar(t)) this.#ra.free(this.#scalar(e));
    else if (t.k === "args" && e.kind === "builtin") return; // as bpftrace
    else if (t.k !== "none") this.#mem(e);
  }

  #print(e: ast.CallExpr): void {
    const a = e.args[0];
    if (a.kind === "map" && a.keys.length === 0 && this.#type(a).k === "none") {
      const top = e.args[1] ? Number(this.#fold(e.args[1]) ?? 0n) : 0;
      const div = e.args[2] ? Number(this.#fold(e.args[2]) ?? 1n) : 1;
      this.#event({
        kind: "print_map",
        mapIndex: this.#t.userMap(`@${a.name}`),
        top,
        div,
      }, []);
      return;
    }
    const t = stored(this.#type(a));
    this.#event({ kind: "print_value", type: this.#t.desc(t) }, [[a, t]]);
  }

  /**
   * join(argv [, sep]): reads up to JOIN_MAX pointers from `argv` and the
   * strings they point to into one record: a u64 count, then the strings.
   */
  #join(e: ast.CallExpr): void {
    const b = this.#b;
    const ra = this.#ra;
    const sep = e.args.length > 1 ? this.#strConst(e.args[1]) ?? " " : " ";
    const at = this.#type(e.args[0]);
    const str: SType = { k: "str", size: JOIN_STRLEN };
    const types: SType[] = [{ k: "int", size: 8, signed: false }];
    for (let i = 0; i < JOIN_MAX; i++) types.push(str);
    const { id, layout } = this.#t.format({
      kind: "join",
      separator: sep,
      args: types.map((t) => this.#t.desc(t)),
    }, types);
    const argv = this.#scalar(e.args[0]);
    const rec = this.#call(Helper.ringbuf_reserve, [
      { map: this.#t.events() },
      ra.imm(8 + layout.size),
      ra.imm(0),
    ], true)!;
    const skip = b.newLabel("nobuf");
    const done = b.newLabel("joined");
    this.#reserveFailed(skip);
    ra.pin(rec);
    b.st(8, ra.reg(rec), 0, id);
    b.st(8, ra.reg(rec), 8, 0);
    const slot = this.#alloc(8);
    const readPtr = readHelper(at, false);
    const readStr = readHelper(at, true);
    ra.pin(argv);
    for (let i = 0; i < JOIN_MAX; i++) {
      const p = ra.newReg();
      b.movReg(ra.reg(p), ra.reg(argv));
      if (i > 0) b.alu64Imm("ADD", ra.reg(p), 8 * i);
      this.#call(readPtr, [{ fp: slot }, ra.imm(8), p], false);
      const s = ra.newReg();
      b.ldx(8, ra.reg(s), R10, slot);
      b.jmpImm("JEQ", ra.reg(s), 0, done);
      this.#call(readStr, [
        { ptr: rec, off: 8 + layout.offsets[1 + i] },
        ra.imm(JOIN_STRLEN),
        s,
      ], false);
      const n = ra.newReg();
      b.movImm(ra.reg(n), i + 1);
      b.stx(8, ra.reg(rec), 8, ra.reg(n));
      ra.free(n);
    }
    b.label(done);
    argv.pinned = false;
    ra.free(argv);
    rec.pinned = false;
    this.#call(Helper.ringbuf_submit, [rec, ra.imm(0)], false);
    b.label(skip);
  }

  #formatEvent(e: ast.CallExpr): void {
    const fmt = (e.args[0] as ast.StrLit).value;
    const args = e.args.slice(1).map((a): [ast.Expr, SType] => [
      a,
      stored(this.#type(a)),
    ]);
    const descs = args.map(([, t]) => this.#t.desc(t));
    const kind = e.name as "printf" | "system" | "cat";
    this.#event({ kind, format: fmt, args: descs }, args);
  }

  /** Reserves a record, writes id and args into it, submits it. */
  #event(action: EventAction, args: [ast.Expr, SType][]): void {
    const { id, layout } = this.#t.format(action, args.map(([, t]) => t));
    const map = this.#t.events();
    const b = this.#b;
    const rec = this.#call(Helper.ringbuf_reserve, [
      { map },
      this.#ra.imm(8 + layout.size),
      this.#ra.imm(0),
    ], true)!;
    const skip = b.newLabel("nobuf");
    this.#reserveFailed(skip);
    this.#ra.pin(rec);
    const base = this.#ra.reg(rec);
    b.st(8, base, 0, id);
    // Only when the reservation succeeded.
    this.#region(() =>
      args.forEach(([a, t], i) => {
        this.#into(a, { base: rec, off: 8 + layout.offsets[i] }, t, false);
      })
    );
    rec.pinned = false;
    this.#call(Helper.ringbuf_submit, [rec, this.#ra.imm(0)], false);
    b.label(skip);
  }

  // ---- assignment ------------------------------------------------------

  #assign(s: ast.AssignStmt): void {
    const t = s.target;
    const v = s.value;
    if (v.kind === "call" && this.#isAgg(v.name) && t.kind === "map") {
      this.#aggregate(t, v);
      return;
    }
    if (t.kind === "var") {
      const off = this.#vars.get(t.name)!;
      const vt = this.#u.vars.get(t.name)!;
      if (s.op === "=") {
        this.#into(v, { base: R10, off }, vt, true);
        return;
      }
      const val = this.#scalar(v);
      const x = this.#ra.newReg();
      this.#b.ldx(8, this.#ra.reg(x), R10, off);
      this.#aluOp(s.op.slice(0, -1) as ast.BinaryOp, x, val, vt);
      this.#b.stx(8, R10, off, this.#ra.reg(x));
      this.#ra.free(x);
      return;
    }
    const info = this.#t.maps[this.#t.userMap(`@${t.name}`)];
    const vt = this.#type(t);
    if (s.op === "=") {
      let val: Ref | undefined;
      if (isScalar(vt)) val = this.#scalar(v);
      const key = this.#buildKey(t, undefined);
      const vslot = this.#alloc(info.valueSize);
      if (val !== undefined) {
        this.#storeScalar({ base: R10, off: vslot }, val, 8);
        this.#ra.free(val);
      } else this.#into(v, { base: R10, off: vslot }, vt, true);
      const idx = this.#t.userMap(`@${t.name}`);
      this.#call(Helper.map_update_elem, [
        { map: idx },
        { fp: key },
        { fp: vslot },
        this.#ra.imm(0),
      ], false);
      this.#updateFailed(idx);
      this.#written(t.name);
      return;
    }
    const delta = this.#scalar(v);
    this.#mapRmw(t, s.op.slice(0, -1) as ast.BinaryOp, delta, undefined);
  }

  /**
   * Read-modify-write of an integer map value: in place on a hit (atomic
   * add where possible), `update(op(0, v))` on a miss. With `result`, the
   * old (postfix) or new (prefix) value is stored into that stack slot.
   */
  #mapRmw(
    m: ast.MapExpr,
    op: ast.BinaryOp,
    v: Ref,
    result: { off: number; prefix: boolean } | undefined,
  ): void {
    const b = this.#b;
    const ra = this.#ra;
    const idx = this.#t.userMap(`@${m.name}`);
    const key = this.#buildKey(m, undefined);
    const p = this.#call(
      Helper.map_lookup_elem,
      [{ map: idx }, { fp: key }],
      true,
    )!;
    this.#stable(v);
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
        () => this.#aluOp(op, x, v, { k: "int", size: 8, signed: true }, false),
      );
      b.stx(8, ra.reg(p), 0, xr);
      if (result !== undefined && result.prefix) b.stx(8, R10, result.off, xr);
      ra.free(x);
    }
    ra.free(p);
    b.ja(done);
    b.label(miss);
    // Miss: the value is op(0, v).
    const vslot = this.#alloc(8);
    if (op === "+" || op === "|" || op === "^") {
      this.#storeScalar({ base: R10, off: vslot }, v, 8);
      if (result !== undefined) {
        if (result.prefix) {
          this.#storeScalar({ base: R10, off: result.off }, v, 8);
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
    this.#call(Helper.map_update_elem, [
      { map: idx },
      { fp: key },
      { fp: vslot },
      ra.imm(0),
    ], false);
    this.#updateFailed(idx);
    ra.floor = floor;
    b.label(done);
    this.#written(m.name);
  }

  #isAgg(name: string): boolean {
    return ["count", "sum", "avg", "min", "max", "stats", "hist", "lhist"]
      .includes(name);
  }

  #aggregate(m: ast.MapExpr, call: ast.CallExpr): void {
    const b = this.#b;
    const ra = this.#ra;
    const agg = call.name as AggName;
    const idx = this.#t.userMap(`@${m.name}`);
    const spec = this.#t.maps[idx];
    let v: Ref | undefined;
    let bucket: Ref | undefined;
    if (agg !== "count") v = this.#scalar(call.args[0]);
    // Compiled for metrics export: a hist/lhist bucket also sums its values.
    const bucketSum = (spec.agg as { sum?: boolean }).sum === true;
    if (agg === "hist") {
      const kept = bucketSum ? this.#copyRef(v!) : undefined;
      bucket = this.#log2(v!);
      v = kept;
    } else if (agg === "lhist") {
      const lh = spec.agg as { min: number; max: number; step: number };
      const kept = bucketSum ? this.#copyRef(v!) : undefined;
      bucket = this.#linear(v!, lh.min, lh.max, lh.step);
      v = kept;
    }
    const key = this.#buildKey(m, bucket);
    ra.free(bucket);
    const p = this.#call(
      Helper.map_lookup_elem,
      [{ map: idx }, { fp: key }],
      true,
    )!;
    if (v !== undefined) this.#stable(v);
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
        this.#storeScalar({ base: pr, off: 0 }, v!, 8);
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
    b.ja(done);
    b.label(miss);
    const vslot = this.#alloc(spec.valueSize);
    switch (agg) {
      case "hist":
      case "lhist":
        b.st(8, R10, vslot, 1);
        if (bucketSum) this.#storeScalar({ base: R10, off: vslot + 8 }, v!, 8);
        break;
      case "count":
        b.st(8, R10, vslot, 1);
        break;
      case "sum":
        this.#storeScalar({ base: R10, off: vslot }, v!, 8);
        break;
      case "avg":
      case "stats":
        b.st(8, R10, vslot, 1);
        this.#storeScalar({ base: R10, off: vslot + 8 }, v!, 8);
        break;
      case "min":
      case "max":
        this.#storeScalar({ base: R10, off: vslot }, v!, 8);
        b.st(8, R10, vslot + 8, 1);
        break;
    }
    ra.free(v);
    this.#call(Helper.map_update_elem, [
      { map: idx },
      { fp: key },
      { fp: vslot },
      ra.imm(0),
    ], false);
    this.#updateFailed(idx);
    ra.floor = floor;
    b.label(done);
  }

  /** A copy of `v` in a register of its own (an immediate stays one). */
  #copyRef(v: Ref): Ref {
    const ra = this.#ra;
    if (v.loc.kind === "imm") return ra.imm(v.loc.v);
    const c = ra.holding([v], () => ra.newReg());
    const [cr, vr] = ra.regs(c, v);
    this.#b.movReg(cr, vr);
    return c;
  }

  /** bpftrace's log2 bucket: 0 for negative, 1 for 0, 2 + floor(log2 v). */
  #log2(v: Ref): Ref {
    const b = this.#b;
    const ra = this.#ra;
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

  /** lhist bucket: 0 below min, n+1 at or above max, else (v-min)/step+1. */
  #linear(v: Ref, min: number, max: number, step: number): Ref {
    const b = this.#b;
    const ra = this.#ra;
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
   * body builds again is built once, in its own slot (`#reserveSlots`).
   * Per-CPU array maps (keyless aggregations) take a u32 index: the
   * bucket, or 0.
   */
  #buildKey(m: ast.MapExpr, bucket: Ref | undefined): number {
    const spec = this.#t.maps[this.#t.userMap(`@${m.name}`)];
    const access = bucket === undefined ? mapAccessId(m) : undefined;
    const id = access === undefined ? undefined : `k:${access}`;
    const cached = id === undefined ? undefined : this.#slots.get(id);
    if (cached !== undefined && this.#avail.has(id!)) return cached;
    if (spec.type === MapType.PERCPU_ARRAY) {
      const off = cached ?? this.#alloc(4);
      if (bucket === undefined) this.#b.st(4, R10, off, 0);
      else this.#storeScalar({ base: R10, off }, bucket, 4);
      if (cached !== undefined) this.#avail.add(id!);
      return off;
    }
    const info = this.#keyType(m);
    const off = cached ?? this.#alloc(spec.keySize);
    const d: Dst = { base: R10, off };
    if (m.keys.length === 0) {
      if (bucket === undefined) this.#b.st(8, R10, off, 0);
    } else if (m.keys.length === 1) {
      this.#into(m.keys[0], d, info!, true);
    } else {
      const tt = info as SType & { k: "tuple" };
      this.#tupleInto(m.keys, d, tt, true);
    }
    if (bucket !== undefined) {
      const at = { base: R10, off: off + spec.keySize - 8 };
      this.#storeScalar(at, bucket, 8);
      if (m.keys.length > 0) {
        const userSize = sizeOf(info!);
        this.#zero(d, userSize, spec.keySize - 8);
      }
    }
    if (cached !== undefined) this.#avail.add(id!);
    return off;
  }

  #keyType(m: ast.MapExpr): SType | undefined {
    const spec = this.#t.maps[this.#t.userMap(`@${m.name}`)];
    return spec.key.kind === "none" ? undefined : this.#descToType(spec.key);
  }

  #descToType(d: TypeDesc): SType {
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
          elems: d.fields.map((f) => this.#descToType(f)),
          offsets: d.offsets,
          size: d.size,
        };
      case "kstack":
      case "ustack":
        return { k: d.kind, depth: d.depth };
      case "ksym":
      case "usym":
      case "timestamp":
      case "username":
        return { k: d.kind };
      default:
        return { k: "none" };
    }
  }

  #tupleInto(
    elems: ast.Expr[],
    d: Dst,
    tt: SType & { k: "tuple" },
    clean: boolean,
  ): void {
    let end = 0;
    elems.forEach((el, i) => {
      const off = tt.offsets[i];
      if (clean && off > end) this.#zero(d, end, off);
      this.#into(el, { base: d.base, off: d.off + off }, tt.elems[i], clean);
      end = off + sizeOf(tt.elems[i]);
    });
    if (clean && tt.size > end) this.#zero(d, end, tt.size);
  }

  // ---- values into memory -----------------------------------------------

  /**
   * Writes the value of `e` into memory at `d` as a value of slot type
   * `st`. With `clean`, bytes past a string's end are zeroed (keys).
   */
  #into(e: ast.Expr, d: Dst, st: SType, clean: boolean): void {
    const b = this.#b;
    if (isScalar(st) || st.k === "int") {
      const v = this.#scalar(e);
      this.#storeScalar(d, v, sizeOf(st) as Width);
      this.#ra.free(v);
      return;
    }
    const size = sizeOf(st);
    const et = this.#type(e);
    if (
      st.k === "usym" &&
      ((e.kind === "call" && e.name === "usym") ||
        (e.kind === "builtin" && e.name === "func"))
    ) {
      // The address, then the tgid: user space symbolizes in that process.
      const addr = e.kind === "call"
        ? this.#scalar(e.args[0])
        : this.#ctxLoad(PT_REGS.ip, 8, false);
      this.#storeScalar(d, addr, 8);
      this.#ra.free(addr);
      const pid = this.#helperHalf(Helper.get_current_pid_tgid, true);
      this.#storeScalar({ base: d.base, off: d.off + 8 }, pid, 8);
      this.#ra.free(pid);
      return;
    }
    if (st.k === "str") {
      const lit = this.#strConst(e);
      if (lit !== undefined) {
        this.#literalInto(lit, d, size, clean);
        return;
      }
      if (e.kind === "builtin" && e.name === "comm") {
        const n = Math.min(16, size);
        this.#call(
          Helper.get_current_comm,
          [this.#ptrArg(d), this.#ra.imm(n)],
          false,
        );
        if (clean) this.#zero(d, n, size);
        return;
      }
      if (e.kind === "call" && e.name === "str") {
        const arg = e.args[0];
        const at = this.#type(arg);
        const n = Math.min(size, sizeOf(this.#type(e)));
        if (at.k === "str") {
          this.#into(arg, d, { k: "str", size: n }, clean);
          if (clean) this.#zero(d, n, size);
          return;
        }
        const p = this.#scalar(arg);
        if (clean) this.#zero(d, 0, size);
        this.#call(
          readHelper(at, true),
          [this.#ptrArg(d), this.#ra.imm(n), p],
          false,
        );
        return;
      }
      if (
        (e.kind === "field" && this.#u.members?.has(e)) ||
        (e.kind === "index" && this.#type(e.expr).k === "array")
      ) {
        // A char[N] member: N bytes read where it lives.
        const at = this.#addr(e);
        const n = Math.min(sizeOf(et), size);
        if (clean && n < size) this.#zero(d, n, size);
        const h = readHelper({
          k: "int",
          size: 8,
          signed: false,
          ...originOf(at.origin),
        }, false);
        this.#readSlot(at, h, n, d);
        return;
      }
      if (e.kind === "field" && this.#u.fields) {
        const f = this.#u.fields.get(e.field)!;
        if (f.dataLoc) {
          const t = this.#ra.newReg();
          const tr = this.#ra.reg(t);
          b.ldx(4, tr, this.#ctx, f.offset);
          b.alu64Imm("AND", tr, 0xffff);
          b.alu64Reg("ADD", tr, this.#ctx);
          if (clean) this.#zero(d, 0, size);
          this.#call(Helper.probe_read_kernel_str, [
            this.#ptrArg(d),
            this.#ra.imm(size),
            t,
          ], false);
          return;
        }
        const n = Math.min(f.arrayLen ?? 0, size);
        const t = this.#ra.newReg();
        const tr = this.#ra.reg(t);
        b.movReg(tr, this.#ctx);
        b.alu64Imm("ADD", tr, f.offset);
        this.#call(Helper.probe_read_kernel, [
          this.#ptrArg(d),
          this.#ra.imm(n),
          t,
        ], false);
        if (clean) this.#zero(d, n, size);
        return;
      }
    }
    if (st.k === "tuple" && e.kind === "tuple") {
      this.#tupleInto(e.elems, d, st, clean);
      return;
    }
    if (
      st.k === "buf" && e.kind === "call" && e.name === "buf" &&
      this.#fold(e.args[1]) === undefined
    ) {
      // buf(p, len) with a run-time length: clamped to the buffer.
      const max = size - 1;
      const p = this.#scalar(e.args[0]);
      const at = this.#type(e.args[0]);
      const len = this.#ra.holding(
        [p],
        () => this.#own(this.#scalar(e.args[1])),
      );
      const lr = this.#ra.reg(len);
      const ok = b.newLabel("buflen");
      b.jmpImm("JLE", lr, max, ok);
      b.movImm(lr, max);
      b.label(ok);
      b.stx(1, this.#baseReg(d), d.off, lr);
      this.#zero(d, 1, size);
      this.#call(readHelper(at, false), [
        this.#ptrArg({ base: d.base, off: d.off + 1 }),
        len,
        p,
      ], false);
      return;
    }
    if (st.k === "buf" && e.kind === "call" && e.name === "buf") {
      const p = this.#scalar(e.args[0]);
      const at = this.#type(e.args[0]);
      const n = size - 1;
      b.st(1, this.#baseReg(d), d.off, n);
      this.#call(readHelper(at, false), [
        this.#ptrArg({ base: d.base, off: d.off + 1 }),
        this.#ra.imm(n),
        p,
      ], false);
      return;
    }
    if (st.k === "inet" && e.kind === "call" && e.name === "ntop") {
      const last = e.args[e.args.length - 1];
      const f = last.kind === "field"
        ? this.#u.fields?.get(last.field)
        : undefined;
      const lt = this.#type(last);
      if (
        (lt.k === "str" || lt.k === "array") &&
        (last.kind === "field" || last.kind === "index")
      ) {
        // An address member of a kernel struct: its 4 or 16 bytes.
        const fam = e.args.length === 2
          ? this.#scalar(e.args[0])
          : this.#ra.imm(lt.size === 16 ? AF_INET6 : AF_INET);
        this.#storeScalar(d, fam, 8);
        this.#ra.free(fam);
        const place = this.#addr(last);
        const p = this.#addrReg(place);
        this.#zero(d, 8, size);
        this.#call(
          readHelper({
            k: "int",
            size: 8,
            signed: false,
            ...originOf(place.origin),
          }, false),
          [
            this.#ptrArg({ base: d.base, off: d.off + 8 }),
            this.#ra.imm(lt.size),
            p,
          ],
          false,
        );
        return;
      }
      const v6 = f !== undefined && f.arrayLen === 16 && f.size === 16;
      const af = e.args.length === 2
        ? this.#scalar(e.args[0])
        : this.#ra.imm(v6 ? AF_INET6 : AF_INET);
      this.#storeScalar(d, af, 8);
      this.#ra.free(af);
      if (v6) {
        // An IPv6 address field: copy its 16 bytes from the record.
        const t = this.#ra.newReg();
        const tr = this.#ra.reg(t);
        b.movReg(tr, this.#ctx);
        b.alu64Imm("ADD", tr, f.offset);
        this.#call(Helper.probe_read_kernel, [
          this.#ptrArg({ base: d.base, off: d.off + 8 }),
          this.#ra.imm(16),
          t,
        ], false);
        return;
      }
      const a = this.#scalar(last);
      this.#storeScalar({ base: d.base, off: d.off + 8 }, a, 4);
      this.#ra.free(a);
      this.#zero(d, 12, size);
      return;
    }
    if (e.kind === "map" && sizeOf(et) === size) {
      this.#mapReadInto(e, d, size);
      return;
    }
    // General case: materialize, then copy. Only these kinds have a
    // materialization of their own (`#mem`); any other would come back
    // here without end.
    if (
      e.kind !== "var" && e.kind !== "map" && e.kind !== "ternary" &&
      e.kind !== "tuple_index"
    ) {
      this.#diag.error(e.span, `Cannot use a value of type ${et.k} here`);
      return;
    }
    const src = this.#mem(e);
    const n = Math.min(sizeOf(et), size);
    this.#copy(d, src, n);
    if (clean && n < size) this.#zero(d, n, size);
  }

  #literalInto(s: string, d: Dst, size: number, clean: boolean): void {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < s.length && i < size - 1; i++) {
      bytes[i] = s.charCodeAt(i) & 0xff;
    }
    const used = Math.min(s.length + 1, size);
    const end = clean ? size : used;
    const base = this.#baseReg(d);
    const dv = new DataView(bytes.buffer);
    let at = 0;
    while (at < end) {
      const w = chunk(end - at, d.off + at);
      if (w === 8 && dv.getBigUint64(at, true) === 0n) {
        this.#b.st(8, base, d.off + at, 0);
        at += 8;
      } else if (w >= 4) {
        this.#b.st(4, base, d.off + at, dv.getInt32(at, true));
        at += 4;
      } else if (w >= 2) {
        this.#b.st(2, base, d.off + at, dv.getInt16(at, true));
        at += 2;
      } else {
        this.#b.st(1, base, d.off + at, dv.getInt8(at));
        at += 1;
      }
    }
  }

  /** A memory copy of an aggregate value (var slot or a temporary). */
  #mem(e: ast.Expr): { base: number; off: number } {
    const t = this.#type(e);
    if (e.kind === "var") return { base: R10, off: this.#vars.get(e.name)! };
    const size = sizeOf(t);
    const off = this.#alloc(size);
    const d = { base: R10, off };
    if (e.kind === "map") {
      this.#mapReadInto(e, d, size);
      return d;
    }
    const known = e.kind === "ternary" ? this.#truth(e.cond) : undefined;
    if (e.kind === "ternary" && known !== undefined) {
      this.#effects(e.cond);
      this.#into(known ? e.then : e.else, d, t, true);
      return d;
    }
    if (e.kind === "ternary") {
      const b = this.#b;
      const elseL = b.newLabel("telse");
      const end = b.newLabel("tend");
      this.#ra.evictCallerSaved();
      const floor = this.#ra.split();
      this.#branch(e.cond, elseL, false);
      this.#region(() => this.#into(e.then, d, t, true));
      b.ja(end);
      b.label(elseL);
      this.#region(() => this.#into(e.else, d, t, true));
      b.label(end);
      this.#ra.floor = floor;
      return d;
    }
    if (e.kind === "tuple_index") {
      const src = this.#mem(e.expr);
      const tt = this.#type(e.expr) as SType & { k: "tuple" };
      return { base: R10, off: src.off + tt.offsets[e.index] };
    }
    this.#into(e, d, t, true);
    return d;
  }

  #mapReadInto(e: ast.MapExpr, d: Dst, size: number): void {
    const b = this.#b;
    const idx = this.#t.userMap(`@${e.name}`);
    const key = this.#buildKey(e, undefined);
    const p = this.#call(
      Helper.map_lookup_elem,
      [{ map: idx }, { fp: key }],
      true,
    )!;
    const miss = b.newLabel("rmiss");
    const end = b.newLabel("rend");
    b.jmpImm("JEQ", 0, 0, miss);
    const floor = this.#ra.split();
    this.#copy(d, { base: p, off: 0 }, size);
    b.ja(end);
    b.label(miss);
    this.#zero(d, 0, size);
    b.label(end);
    this.#ra.free(p);
    this.#ra.floor = floor;
  }

  // ---- scalars ----------------------------------------------------------

  /** Evaluates an integer-like expression into a register or constant. */
  #scalar(e: ast.Expr): Ref {
    const ra = this.#ra;
    const b = this.#b;
    const c = this.#fold(e);
    if (c !== undefined) return ra.imm(c);
    switch (e.kind) {
      case "builtin":
        return this.#builtin(e);
      case "var": {
        const r = ra.newReg();
        b.ldx(8, ra.reg(r), R10, this.#vars.get(e.name)!);
        return r;
      }
      case "map": {
        // The same key read again, the map unwritten since: the value kept
        // in its slot (bpftrace looks it up again).
        const access = mapAccessId(e);
        const id = access === undefined ? undefined : `v:${access}`;
        const slot = id === undefined ? undefined : this.#slots.get(id);
        if (slot !== undefined && this.#avail.has(id!)) return ra.slot(slot);
        const p = this.#mapLookup(e);
        const r = ra.newReg();
        const rr = ra.reg(r);
        const pr = ra.reg(p);
        const z = b.newLabel("z");
        b.movImm(rr, 0);
        b.jmpImm("JEQ", pr, 0, z);
        b.ldx(8, rr, pr, 0);
        b.label(z);
        ra.free(p);
        if (slot !== undefined) {
          b.stx(8, R10, slot, rr);
          this.#avail.add(id!);
        }
        return r;
      }
      case "field":
        if (this.#u.members?.has(e)) return this.#memberLoad(e);
        return this.#fieldLoad(e);
      case "index": {
        const a = arrayField(this.#u, e);
        const bt = this.#type(e.expr);
        if (bt.k === "array") {
          const at = this.#addr(e);
          return this.#readAt(at, this.#type(e));
        }
        if (a === undefined) {
          // p[i]: read the element at p + i * its size.
          const pt = this.#type(e.expr) as SType & { k: "int" };
          const elem = this.#type(e);
          const p = this.#own(this.#scalar(e.expr));
          const i = this.#ra.holding(
            [p],
            () => this.#times(this.#scalar(e.index), sizeOf(elem)),
          );
          this.#aluOp("+", p, i, pt);
          return this.#deref(p, pt, elem);
        }
        const i = Number(this.#fold(e.index) ?? 0n);
        return this.#ctxLoad(
          a.field.offset + i * a.elem.size,
          a.elem.size,
          a.elem.signed,
        );
      }
      case "cast": {
        const v = this.#scalar(e.expr);
        const t = this.#type(e);
        if (t.k !== "int" || t.size === 8) return v;
        const r = this.#own(v);
        const rr = ra.reg(r);
        if (t.signed) {
          b.alu64Imm("LSH", rr, 64 - t.size * 8);
          b.alu64Imm("ARSH", rr, 64 - t.size * 8);
        } else if (t.size === 4) b.alu32Reg("MOV", rr, rr);
        else b.alu64Imm("AND", rr, t.size === 1 ? 0xff : 0xffff);
        return r;
      }
      case "unary": {
        if (e.op === "!") return this.#boolValue(e);
        if (e.op === "*") {
          return this.#deref(
            this.#scalar(e.expr),
            this.#type(e.expr),
            this.#type(e),
          );
        }
        const r = this.#own(this.#scalar(e.expr));
        const rr = ra.reg(r);
        if (e.op === "-") b.alu64Imm("NEG", rr, 0);
        else b.alu64Imm("XOR", rr, -1);
        return r;
      }
      case "binary": {
        switch (e.op) {
          case "==":
          case "!=":
          case "<":
          case "<=":
          case ">":
          case ">=":
          case "&&":
          case "||":
            return this.#boolValue(e);
        }
        const sc = pointerScale(
          e.op,
          this.#type(e.left),
          this.#type(e.right),
        );
        let l = this.#own(this.#scalar(e.left));
        if (sc?.side === "left") l = this.#times(l, sc.by);
        let r = this.#scalar(e.right);
        if (sc?.side === "right") {
          r = this.#ra.holding([l], () => this.#times(r, sc.by));
        }
        this.#aluOp(e.op, l, r, this.#type(e));
        return l;
      }
      case "ternary": {
        const k = this.#truth(e.cond);
        if (k !== undefined) {
          this.#effects(e.cond);
          return this.#scalar(k ? e.then : e.else);
        }
        const slot = this.#alloc(8);
        const elseL = b.newLabel("telse");
        const end = b.newLabel("tend");
        ra.evictCallerSaved();
        const floor = ra.split();
        this.#branch(e.cond, elseL, false);
        this.#region(() => {
          const a = this.#scalar(e.then);
          this.#storeScalar({ base: R10, off: slot }, a, 8);
          ra.free(a);
        });
        b.ja(end);
        b.label(elseL);
        this.#region(() => {
          const c2 = this.#scalar(e.else);
          this.#storeScalar({ base: R10, off: slot }, c2, 8);
          ra.free(c2);
        });
        b.label(end);
        ra.floor = floor;
        return ra.slot(slot);
      }
      case "incdec":
        return this.#incdec(e, true)!;
      case "call":
        return this.#callValue(e);
      case "tuple_index": {
        const src = this.#mem(e.expr);
        const tt = this.#type(e.expr) as SType & { k: "tuple" };
        const r = ra.newReg();
        b.ldx(8, ra.reg(r), R10, src.off + tt.offsets[e.index]);
        return r;
      }
      default:
        return ra.imm(0);
    }
  }

  /**
   * Before a branch whose arms both read `v`: puts it where neither arm
   * moves it (a register, or an immediate that fits 32 bits), so the
   * value is valid on both paths.
   */
  #stable(v: Ref): void {
    if (v.loc.kind !== "imm" || !fitsImm(v.loc.v)) this.#ra.reg(v);
  }

  /** `v * by` (by a power of two: a shift), in a register this code owns. */
  #times(v: Ref, by: number): Ref {
    if (by === 1) return v;
    if (v.loc.kind === "imm") return this.#ra.imm(v.loc.v * BigInt(by));
    const r = this.#own(v);
    const shift = Math.log2(by);
    if (Number.isInteger(shift)) {
      this.#b.alu64Imm("LSH", this.#ra.reg(r), shift);
    } else this.#b.alu64Imm("MUL", this.#ra.reg(r), by);
    return r;
  }

  /**
   * Reads a value of type `t` (an integer, or u64) at the address `addr`
   * (a pointer of type `pt`) with the helper its memory origin calls for;
   * a failed read gives 0, as bpftrace's.
   */
  #deref(addr: Ref, pt: SType, t: SType): Ref {
    const size = (t.k === "int" ? t.size : 8) as Width;
    const signed = t.k === "int" && t.signed;
    const slot = this.#alloc(8);
    this.#call(readHelper(pt, false), [
      { fp: slot },
      this.#ra.imm(size),
      addr,
    ], false);
    const r = this.#ra.newReg();
    const rr = this.#ra.reg(r);
    this.#b.ldx(size, rr, R10, slot);
    if (signed && size < 8) {
      this.#b.alu64Imm("LSH", rr, 64 - size * 8);
      this.#b.alu64Imm("ARSH", rr, 64 - size * 8);
    }
    return r;
  }

  /** A value in a register this code may overwrite. */
  #own(v: Ref): Ref {
    if (v.loc.kind === "reg") return v;
    const r = this.#ra.newReg();
    this.#ra.load(this.#ra.reg(r), v);
    this.#ra.free(v);
    return r;
  }

  #aluOp(
    op: ast.BinaryOp,
    l: Ref,
    r: Ref,
    t: SType,
    freeR = true,
  ): void {
    const b = this.#b;
    const ra = this.#ra;
    const signed = t.k === "int" && t.signed;
    const name = ({
      "+": "ADD",
      "-": "SUB",
      "*": "MUL",
      "/": "DIV",
      "%": "MOD",
      "&": "AND",
      "|": "OR",
      "^": "XOR",
      "<<": "LSH",
      ">>": signed ? "ARSH" : "RSH",
    } as const as Record<string, AluName | undefined>)[op];
    if (name === undefined) throw new TypeError(`No ALU op for "${op}"`);
    if (r.loc.kind === "imm" && fitsImm(r.loc.v)) {
      let k = Number(BigInt.asIntN(64, r.loc.v));
      // As constant folding does: shift counts wrap to 0-63, x / 0 is 0
      // and x % 0 is x (the kernel rejects these immediates).
      if (name === "LSH" || name === "RSH" || name === "ARSH") k &= 63;
      if (k === 0 && name === "MOD") {
        if (freeR) ra.free(r);
        return;
      }
      const pow2 = k > 0 && (k & (k - 1)) === 0;
      if (k === 0 && name === "DIV") b.movImm(ra.reg(l), 0);
      // Unsigned x % 2^n is x & (2^n - 1), x / 2^n is x >> n: cheaper, and
      // the kernel's verifier keeps the range (it keeps none for / and %).
      else if (pow2 && name === "MOD") b.alu64Imm("AND", ra.reg(l), k - 1);
      else if (pow2 && name === "DIV") {
        b.alu64Imm("RSH", ra.reg(l), 31 - Math.clz32(k));
      } else b.alu64Imm(name, ra.reg(l), k);
    } else {
      const [lr, rr] = ra.regs(l, r);
      b.alu64Reg(name, lr, rr);
    }
    if (freeR) ra.free(r);
  }

  #boolValue(e: ast.Expr): Ref {
    const b = this.#b;
    const ra = this.#ra;
    const known = this.#truth(e);
    if (known !== undefined) {
      this.#effects(e);
      return ra.imm(known ? 1 : 0);
    }
    const f = b.newLabel("f");
    const end = b.newLabel("b");
    ra.evictCallerSaved();
    const floor = ra.split();
    this.#branch(e, f, false);
    ra.floor = floor;
    const r = ra.newReg();
    const rr = ra.reg(r);
    b.movImm(rr, 1);
    b.ja(end);
    b.label(f);
    b.movImm(rr, 0);
    b.label(end);
    return r;
  }

  #mapLookup(e: ast.MapExpr): Ref {
    const idx = this.#t.userMap(`@${e.name}`);
    const key = this.#buildKey(e, undefined);
    return this.#call(
      Helper.map_lookup_elem,
      [{ map: idx }, { fp: key }],
      true,
    )!;
  }

  #incdec(e: ast.IncDecExpr, value: boolean): Ref | undefined {
    const b = this.#b;
    const ra = this.#ra;
    // A pointer steps by the size of what it points at (bpftrace's).
    const step = pointerStep(this.#type(e.target));
    const delta = e.op === "++" ? step : -step;
    if (e.target.kind === "var") {
      const off = this.#vars.get(e.target.name)!;
      const r = ra.newReg();
      const rr = ra.reg(r);
      b.ldx(8, rr, R10, off);
      b.alu64Imm("ADD", rr, delta);
      b.stx(8, R10, off, rr);
      if (!value) {
        ra.free(r);
        return undefined;
      }
      if (!e.prefix) b.alu64Imm("SUB", rr, delta);
      return r;
    }
    const slot = value ? this.#alloc(8) : -1;
    this.#mapRmw(
      e.target,
      "+",
      ra.imm(delta),
      value ? { off: slot, prefix: e.prefix } : undefined,
    );
    return value ? ra.slot(slot) : undefined;
  }

  #ctxLoad(off: number, size: Width, signed: boolean): Ref {
    const r = this.#ra.newReg();
    const rr = this.#ra.reg(r);
    this.#b.ldx(size, rr, this.#ctx, off);
    if (signed && size < 8) {
      this.#b.alu64Imm("LSH", rr, 64 - size * 8);
      this.#b.alu64Imm("ARSH", rr, 64 - size * 8);
    }
    return r;
  }

  /**
   * Where a struct member, a struct value or an array element lives: a
   * base address and a constant offset (offsets of `.` and of constant
   * indexes fold; each `->` is one read of the pointer).
   */
  #addr(e: ast.Expr): Place {
    if (e.kind === "field") {
      const m = this.#u.members!.get(e)!;
      if (e.arrow) {
        const pt = this.#type(e.expr) as SType & { k: "int" };
        return { base: this.#scalar(e.expr), off: m.offset, origin: pt.ptr };
      }
      const inner = this.#addr(e.expr);
      return { ...inner, off: inner.off + m.offset };
    }
    if (e.kind === "unary" && e.op === "*") {
      const pt = this.#type(e.expr) as SType & { k: "int" };
      return { base: this.#scalar(e.expr), off: 0, origin: pt.ptr };
    }
    if (e.kind === "index") {
      const bt = this.#type(e.expr);
      const es = sizeOf(this.#type(e));
      let inner: Place;
      if (bt.k === "array") inner = this.#addr(e.expr);
      else {
        const pt = bt as SType & { k: "int" };
        inner = { base: this.#scalar(e.expr), off: 0, origin: pt.ptr };
      }
      const i = this.#fold(e.index);
      if (i !== undefined) return { ...inner, off: inner.off + Number(i) * es };
      const base = this.#own(inner.base);
      const idx = this.#ra.holding(
        [base],
        () => this.#times(this.#scalar(e.index), es),
      );
      this.#aluOp("+", base, idx, U64);
      return { ...inner, base };
    }
    // A value of unknown place: its address is 0 (sema refuses these).
    return { base: this.#ra.imm(0), off: 0, origin: undefined };
  }

  /** The address of a place in a register. */
  #addrReg(at: Place): Ref {
    if (at.off === 0) return at.base;
    if (at.base.loc.kind === "imm") {
      return this.#ra.imm(at.base.loc.v + BigInt(at.off));
    }
    const r = this.#own(at.base);
    this.#b.alu64Imm("ADD", this.#ra.reg(r), at.off);
    return r;
  }

  /** Reads an integer (or a bit-field) of type `t` at a place. */
  #readAt(
    at: Place,
    t: SType,
    bits?: { size: 1 | 2 | 4 | 8; shift: number; width: number },
  ): Ref {
    const pt: SType = {
      k: "int",
      size: 8,
      signed: false,
      ...originOf(at.origin),
    };
    const size = bits?.size ?? (t.k === "int" ? t.size : 8);
    const slot = this.#readSlot(at, readHelper(pt, false), size);
    if (bits === undefined && size === 8) return this.#ra.slot(slot);
    const r = this.#ra.newReg();
    const rr = this.#ra.reg(r);
    this.#b.ldx(size as Width, rr, R10, slot);
    if (bits === undefined) {
      if (t.k === "int" && t.signed && size < 8) {
        this.#b.alu64Imm("LSH", rr, 64 - size * 8);
        this.#b.alu64Imm("ARSH", rr, 64 - size * 8);
      }
      return r;
    }
    const signed = t.k === "int" && t.signed;
    // Keep `width` bits from `shift`, sign-extended for a signed field.
    this.#b.alu64Imm("LSH", rr, 64 - bits.shift - bits.width);
    this.#b.alu64Imm(signed ? "ARSH" : "RSH", rr, 64 - bits.width);
    return r;
  }

  /**
   * Reads `size` bytes at a place into a fresh stack slot with `helper`,
   * the address computed straight into r3 (as bpftrace does: no copy
   * through a callee-saved register); a failed read leaves the slot as
   * the helper leaves it (zeroed).
   */
  #readSlot(at: Place, helper: number, size: number, dst?: Dst): number {
    const b = this.#b;
    const ra = this.#ra;
    const slot = dst === undefined ? this.#alloc(8) : dst.off;
    const base = at.base;
    const loc = base.loc;
    if (
      loc.kind === "reg" && loc.r <= 5 &&
      (loc.r === 3 || !ra.live().includes(3))
    ) {
      // In a caller-saved register: into r3 before the others move out.
      if (loc.r !== 3) b.movReg(3, loc.r);
      ra.free(base);
      ra.evictCallerSaved();
    } else {
      ra.evictCallerSaved();
      ra.load(3, base);
      ra.free(base);
    }
    if (at.off !== 0) b.alu64Imm("ADD", 3, at.off);
    if (dst === undefined || typeof dst.base === "number") {
      b.movReg(1, dst === undefined ? R10 : dst.base as number);
    } else ra.load(1, dst.base);
    b.alu64Imm("ADD", 1, slot);
    b.movImm(2, size);
    b.call(helper);
    return slot;
  }

  /** `p->f` / `s.f`: the member's value. */
  #memberLoad(e: ast.FieldExpr): Ref {
    const m = this.#u.members!.get(e)!;
    const t = this.#type(e);
    if (t.k !== "int") return this.#ra.imm(0);
    return this.#readAt(this.#addr(e), t, m.bits);
  }

  #fieldLoad(e: ast.FieldExpr): Ref {
    const f = this.#u.fields?.get(e.field);
    if (f === undefined) return this.#ra.imm(0);
    const t = fieldType(f, this.#u.userPtrs);
    if (t.k !== "int") return this.#ra.imm(0);
    return this.#ctxLoad(f.offset, t.size, t.signed);
  }

  #builtin(e: ast.BuiltinExpr): Ref {
    const b = this.#b;
    const ra = this.#ra;
    const m = /^arg(\d+)$/.exec(e.name);
    if (m !== null) {
      const n = Number(m[1]);
      if (this.#u.kind === "rawtracepoint") {
        return this.#ctxLoad(n * 8, 8, false);
      }
      if (this.#u.kind === "usdt") return this.#usdtArg(n);
      return this.#ctxLoad(PT_REGS[ARG_REGS[n] ?? "di"], 8, false);
    }
    switch (e.name) {
      case "pid":
      case "tid":
        return this.#helperHalf(STABLE_HELPER[e.name], e.name === "pid");
      case "uid":
      case "gid":
      case "username":
        return this.#helperHalf(STABLE_HELPER[e.name], e.name === "gid");
      case "cpu":
      case "numaid":
      case "cgroup":
      case "curtask":
        return this.#helperValue(STABLE_HELPER[e.name]);
      case "nsecs":
        // bpftrace 0.17 reads the boot clock (suspend included), which
        // `strftime()` turns into wall-clock time by adding the boot time.
        return this.#call(Helper.ktime_get_boot_ns, [], true)!;
      case "rand":
        return this.#call(Helper.get_prandom_u32, [], true)!;
      case "jiffies":
        return this.#call(Helper.jiffies64, [], true)!;
      case "ctx": {
        const r = ra.newReg();
        b.movReg(ra.reg(r), this.#ctx);
        return r;
      }
      case "retval":
        return this.#ctxLoad(PT_REGS.ax, 8, false);
      case "func":
        return this.#ctxLoad(PT_REGS.ip, 8, false);
      case "elapsed": {
        const now = this.#call(Helper.ktime_get_ns, [], true)!;
        const key = this.#alloc(8);
        b.st(4, R10, key, 0);
        const p = this.#call(Helper.map_lookup_elem, [
          { map: this.#t.startMap() },
          { fp: key },
        ], true)!;
        const z = b.newLabel("nostart");
        b.jmpImm("JEQ", 0, 0, z);
        const t = ra.holding([now], () => ra.newReg());
        const [tr, nr] = ra.regs(t, now);
        b.ldx(8, tr, 0, 0);
        b.alu64Reg("SUB", nr, tr);
        ra.free(t);
        b.label(z);
        ra.free(p);
        return now;
      }
      case "kstack":
      case "stack":
        return this.#stackId("kstack", 127);
      case "ustack":
        return this.#stackId("ustack", 127);
    }
    return ra.imm(0);
  }

  /**
   * `argN` of a USDT probe, where its note says: a register (its low
   * `size` bytes), a constant, or memory at `disp + base + index * scale`
   * (or a symbol's address, moved by the load bias `ip - address` in a
   * PIE binary) read with `probe_read_user`; sign-extended when signed.
   */
  #usdtArg(n: number): Ref {
    const ra = this.#ra;
    const site = this.#u.attach[0].usdt;
    const a = site?.args[n];
    if (site === undefined || a === undefined) return ra.imm(0);
    const u64: SType = { k: "int", size: 8, signed: false };
    switch (a.kind) {
      case "const": {
        const v = BigInt(a.value);
        return ra.imm(
          a.signed
            ? BigInt.asIntN(a.size * 8, v)
            : BigInt.asUintN(a.size * 8, v),
        );
      }
      case "reg":
        return this.#ctxLoad(PT_REGS[a.reg.reg] + a.reg.byte, a.size, a.signed);
      case "mem": {
        let addr: Ref;
        if (a.symbol !== undefined) {
          const at = BigInt(a.symbolAddress ?? 0) + BigInt(a.disp);
          if (site.pie) {
            addr = this.#ctxLoad(PT_REGS.ip, 8, false);
            this.#aluOp("+", addr, ra.imm(at - BigInt(site.address)), u64);
          } else addr = ra.imm(at);
        } else if (a.base !== undefined) {
          addr = this.#ctxLoad(PT_REGS[a.base.reg] + a.base.byte, 8, false);
          if (a.disp !== 0) this.#aluOp("+", addr, ra.imm(a.disp), u64);
        } else addr = ra.imm(a.disp);
        if (a.index !== undefined) {
          const index = a.index;
          addr = this.#own(addr);
          const i = ra.holding([addr], () =>
            this.#times(
              this.#ctxLoad(PT_REGS[index.reg] + index.byte, 8, false),
              a.scale,
            ));
          this.#aluOp("+", addr, i, u64);
        }
        return this.#deref(addr, { ...u64, ptr: "user" }, {
          k: "int",
          size: a.size,
          signed: a.signed,
        });
      }
    }
  }

  #stackId(kind: "kstack" | "ustack", depth: number): Ref {
    const map = this.#t.stackMap(kind, depth);
    const r = this.#call(Helper.get_stackid, [
      { ctx: true },
      { map },
      this.#ra.imm(kind === "ustack" ? BPF_F_USER_STACK : 0),
    ], true)!;
    if (kind === "kstack") return r;
    // ustack: tgid << 32 | stack id, so user space can symbolize.
    const b = this.#b;
    const ra = this.#ra;
    const id = this.#own(r);
    b.alu32Reg("MOV", ra.reg(id), ra.reg(id));
    const pid = ra.holding(
      [id],
      () => this.#own(this.#helperHalf(Helper.get_current_pid_tgid, true)),
    );
    const [ir, pr] = ra.regs(id, pid);
    b.alu64Imm("LSH", pr, 32);
    b.alu64Reg("OR", ir, pr);
    ra.free(pid);
    return id;
  }

  #callValue(e: ast.CallExpr): Ref {
    const ra = this.#ra;
    switch (e.name) {
      case "ksym":
      case "usym":
        return this.#scalar(e.args[0]);
      case "strftime":
        return this.#scalar(e.args[1]);
      case "bswap": {
        const t = this.#type(e) as SType & { k: "int" };
        const r = this.#own(this.#scalar(e.args[0]));
        if (t.size > 1) {
          this.#b.endian("be", ra.reg(r), (t.size * 8) as 16 | 32 | 64);
        }
        if (t.signed && t.size < 8) {
          this.#b.alu64Imm("LSH", ra.reg(r), 64 - t.size * 8);
          this.#b.alu64Imm("ARSH", ra.reg(r), 64 - t.size * 8);
        }
        return r;
      }
      case "kaddr":
        return ra.imm(kernelAddress(this.#strConst(e.args[0]) ?? "") ?? 0n);
      case "uaddr": {
        const a = this.#u.uaddrs?.get(e);
        if (a === undefined) return ra.imm(0);
        if (a.relativeTo === undefined) return ra.imm(a.value);
        // PIE: the symbol sits at the same distance from the probed
        // address in memory as in the file.
        const r = this.#ctxLoad(PT_REGS.ip, 8, false);
        const delta = a.value - a.relativeTo;
        this.#aluOp("+", r, ra.imm(delta), {
          k: "int",
          size: 8,
          signed: false,
        });
        return r;
      }
      case "kstack":
      case "ustack": {
        const t = this.#type(e) as { depth: number };
        return this.#stackId(e.name, t.depth);
      }
      case "reg": {
        const name = this.#strConst(e.args[0]) ?? "ip";
        return this.#ctxLoad(PT_REGS[name] ?? 0, 8, false);
      }
      case "strncmp": {
        const n = Number(this.#fold(e.args[2]) ?? 0n);
        const f = this.#b.newLabel("ne");
        const end = this.#b.newLabel("eq");
        const r = ra.newReg();
        ra.evictCallerSaved();
        this.#strEq(e.args[0], e.args[1], f, n);
        const rr = ra.reg(r);
        this.#b.movImm(rr, 0);
        this.#b.ja(end);
        this.#b.label(f);
        this.#b.movImm(rr, 1);
        this.#b.label(end);
        return r;
      }
    }
    return ra.imm(0);
  }

  // ---- conditions -------------------------------------------------------

  /** Jumps to `target` when `e` is true (`when`) or false (`!when`). */
  #branch(e: ast.Expr, target: string, when: boolean): void {
    const b = this.#b;
    const ra = this.#ra;
    const c = this.#fold(e);
    if (c !== undefined) {
      if ((c !== 0n) === when) b.ja(target);
      return;
    }
    if (e.kind === "unary" && e.op === "!") {
      this.#branch(e.expr, target, !when);
      return;
    }
    if (e.kind === "binary") {
      if (e.op === "&&" || e.op === "||") {
        const and = e.op === "&&";
        // A left side of known truth (with side effects, or it would have
        // folded) either decides the whole, so the right side is never
        // evaluated and emitting it would leave dead code, or leaves it
        // to the right side alone.
        const lt = this.#truth(e.left);
        if (and !== when) {
          // && jumping when false, || jumping when true: both sides jump.
          this.#branch(e.left, target, when);
          if (lt === when) return;
          ra.evictCallerSaved();
          this.#region(() => this.#branch(e.right, target, when));
        } else {
          const skip = b.newLabel("sc");
          this.#branch(e.left, skip, !when);
          if (lt !== !when) {
            ra.evictCallerSaved();
            this.#region(() => this.#branch(e.right, target, when));
          }
          b.label(skip);
        }
        return;
      }
      const cmp = this.#cmpOp(e);
      if (cmp !== undefined) {
        const lt = this.#type(e.left);
        if (lt.k === "str") {
          if (e.op === "==" ? when : !when) {
            const ne = b.newLabel("sne");
            this.#strEq(e.left, e.right, ne, Infinity);
            b.ja(target);
            b.label(ne);
          } else this.#strEq(e.left, e.right, target, Infinity);
          return;
        }
        let op = when ? cmp : INVERSE[cmp];
        let l = this.#scalar(e.left);
        let r = this.#scalar(e.right);
        if (l.loc.kind === "imm" && r.loc.kind !== "imm") {
          [l, r] = [r, l];
          op = SWAPPED[op];
        }
        if (r.loc.kind === "imm" && fitsImm(r.loc.v)) {
          b.jmpImm(op, ra.reg(l), Number(BigInt.asIntN(64, r.loc.v)), target);
        } else {
          const [lr, rr] = ra.regs(l, r);
          b.jmpReg(op, lr, rr, target);
        }
        ra.free(l);
        ra.free(r);
        return;
      }
    }
    if (e.kind === "map" && this.#mapTruth(e, target, when)) return;
    const v = this.#scalar(e);
    b.jmpImm(when ? "JNE" : "JEQ", ra.reg(v), 0, target);
    ra.free(v);
  }

  /**
   * A map value as a condition (`/@start[tid]/`): a missing key jumps
   * straight to where a zero value goes, without making the 0. False when
   * the plain way must be taken: the value is in its slot already, or a
   * slot must hold it on every path and this is not the predicate's exit.
   */
  #mapTruth(e: ast.MapExpr, target: string, when: boolean): boolean {
    if (!isScalar(this.#type(e))) return false;
    const b = this.#b;
    const ra = this.#ra;
    const access = mapAccessId(e);
    const id = access === undefined ? undefined : `v:${access}`;
    const slot = id === undefined ? undefined : this.#slots.get(id);
    if (slot !== undefined && (this.#avail.has(id!) || when)) return false;
    if (slot !== undefined && target !== this.#exit) return false;
    const p = this.#mapLookup(e);
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
      this.#avail.add(id!);
    }
    ra.free(r);
    return true;
  }

  #cmpOp(e: ast.BinaryExpr): CondName | undefined {
    const lt = this.#type(e.left);
    const rt = this.#type(e.right);
    const sl = lt.k === "int" && lt.signed;
    const sr = rt.k === "int" && rt.signed;
    const litL = e.left.kind === "int";
    const litR = e.right.kind === "int";
    const signed = litL ? sr : litR ? sl : sl && sr;
    switch (e.op) {
      case "==":
        return "JEQ";
      case "!=":
        return "JNE";
      case "<":
        return signed ? "JSLT" : "JLT";
      case "<=":
        return signed ? "JSLE" : "JLE";
      case ">":
        return signed ? "JSGT" : "JGT";
      case ">=":
        return signed ? "JSGE" : "JGE";
    }
    return undefined;
  }

  /**
   * Falls through when the strings are equal (up to `limit` bytes, stopping
   * at a NUL), jumps to `ne` otherwise.
   */
  #strEq(a: ast.Expr, c: ast.Expr, ne: string, limit: number): void {
    const b = this.#b;
    const ra = this.#ra;
    let x = a;
    let y = c;
    if (this.#strConst(x) !== undefined && this.#strConst(y) === undefined) {
      [x, y] = [y, x];
    }
    const lit = this.#strConst(y);
    const mx = this.#mem(x);
    const sx = sizeOf(this.#type(x));
    const t = ra.newReg();
    const tr = ra.reg(t);
    if (lit !== undefined) {
      // Compare the literal's bytes and its NUL (unless the limit stops first).
      const n = Math.min(lit.length + 1, sx, limit);
      for (let i = 0; i < n; i++) {
        b.ldx(1, tr, mx.base, mx.off + i);
        b.jmpImm("JNE", tr, i < lit.length ? lit.charCodeAt(i) & 0xff : 0, ne);
      }
      ra.free(t);
      return;
    }
    const my = this.#mem(y);
    const sy = sizeOf(this.#type(y));
    const n = Math.min(sx, sy, limit);
    const u = ra.holding([t], () => ra.newReg());
    const ur = ra.reg(u);
    const eq = b.newLabel("seq");
    for (let i = 0; i < n; i++) {
      b.ldx(1, tr, mx.base, mx.off + i);
      b.ldx(1, ur, my.base, my.off + i);
      b.jmpReg("JNE", tr, ur, ne);
      if (i < n - 1) b.jmpImm("JEQ", tr, 0, eq);
    }
    b.label(eq);
    ra.free(t);
    ra.free(u);
  }
}
