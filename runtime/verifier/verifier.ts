/**
 * A static eBPF verifier, run before a program is loaded into the kernel or
 * handed to the interpreter. It follows the kernel's `kernel/bpf/verifier.c`
 * in spirit: a structural pass, then path-sensitive abstract interpretation
 * with register value tracking and state pruning.
 *
 * ## What it accepts
 *
 * **Encoding.** Every slot must be a known opcode of the current ISA with
 * reserved fields zero and registers r0-r10; no instruction writes r10.
 * `ld_imm64` takes two slots, the second with code, registers and off 0;
 * its source is 0 (a constant), `MAP_FD` (imm = index into `maps`) or
 * `MAP_VALUE` (an array map with one entry; the second imm is the offset).
 * Legacy packet loads, kfuncs, load-acquire/store-release are refused.
 * Division or modulo by a constant 0 and constant shifts by ≥ the width are
 * refused where a path reaches them (as in the kernel, which checks only
 * the code it reaches).
 *
 * **Control flow.** Jumps stay inside their function and never land on the
 * second slot of `ld_imm64`; local calls target a slot of the program. The
 * last slot of every function is `exit` or `ja`. Every slot is reachable.
 * Back-edges are allowed: loops are checked by following them (below).
 *
 * **Abstract interpretation.** Every path is followed from the entry with,
 * per register, a kind (scalar, context, map pointer, map value, map value
 * or NULL, stack, ringbuf record, ringbuf record or NULL) and for scalars the
 * unsigned and signed ranges `[umin, umax]`, `[smin, smax]`; pointers carry a
 * fixed offset and a bounded variable-offset range. Conditional jumps narrow
 * ranges on each side (also for registers copied from the compared one) and
 * a side that cannot happen is not followed. A loop is accepted when every
 * path through it reaches `exit` within `maxInsnsProcessed` processed
 * instructions (default 1,000,000): a bounded `for (i = 0; i < 16; i++)` is
 * unrolled; a loop that comes back to a state identical to one still being
 * explored is refused at once ("infinite loop"), any other unbounded loop when
 * the budget runs out. At jump targets, fall-throughs of conditional jumps
 * and call return points the state is remembered (not more often than every
 * 2 jumps or 8 instructions, every 20 jumps or 100 instructions inside a
 * loop, as the kernel does); a path arriving in a state covered by a fully
 * explored one is not followed again. "Covered" means: same call frames;
 * every live register of the old state uninitialized, or of the same kind
 * with the same fixed offset and a variable range containing the new one;
 * every stack byte of the old state never written, or holding the same kind
 * of data. Instead of the kernel's precision backtracking, a static backward
 * analysis finds the registers and r10-relative stack slots whose *value*
 * may flow into a compare, pointer arithmetic, an address, a checked helper
 * argument, a call or a function's return; other scalars only need to be
 * scalars on both sides. Register liveness is a static analysis too.
 *
 * **Scalar values, never more precise than the kernel's.** A scalar is an
 * unsigned and a signed 64-bit range (`scalar.ts`); the kernel also keeps
 * known bits (tnums) and 32-bit subranges. Which side of a jump is followed
 * depends on these ranges, so a range the kernel cannot compute would let
 * us accept a program the kernel refuses. Where the kernel gives up, so do
 * we:
 * - division and modulo (`/`, `%`, signed or not, 64 or 32 bits) give any
 *   64-bit value, even of two constants (the kernel computes no range for
 *   them; its 32-bit result is not even known to be zero-extended);
 * - shifts by a register give any 64-bit value unless it holds a constant
 *   below the width; a left shift keeps a range only if no set bit can
 *   reach the top bit (`umax ≤ 2^(63-n)`, `2^(31-n)` for 32 bits);
 * - sign extension (`movsx`, `ldsx`) keeps a range when it is already in
 *   the narrow type's range, or lies in one block of 2^bits values whose
 *   ends sign-extend to the same sign; else the type's whole range;
 * - `if r & K` learns `r ≥ K` only when K is a single bit; on its other
 *   side (no bit of K set) only what the known bits of r say is kept (as
 *   the kernel, which recomputes the bounds from its tnum there): the
 *   common binary prefix of umin and umax, with K's bits cleared;
 * - a 32-bit compare of values wider than 32 bits leaves them unknown on
 *   both sides (the kernel narrows their 32-bit bounds, and on a side that
 *   cannot happen goes on with bounds unrelated to ours);
 * - a side of a jump is left out only when the bounds decide the compare
 *   (constants, disjoint or ordered intervals), as the kernel predicts
 *   branches; a side that narrowing shows impossible otherwise is followed
 *   with the compared values unknown;
 * - only pointers that cannot be NULL (map values, ringbuf records, map
 *   pointers) decide a comparison with 0; stack and context pointers are
 *   compared like unknown values, both sides followed;
 * - a map value or ringbuf record access needs a variable offset whose
 *   unsigned maximum is below 2^29, i.e. one that cannot be negative;
 * - an unsigned compare that puts a value on one side of the sign boundary
 *   replaces a signed range spanning zero by the unsigned one, unless that
 *   signed range fits in 32 bits (the kernel then keeps it through its
 *   32-bit bounds): after `if r s< 3` and `if r <= 62`, r is [0, 62].
 * Where the kernel knows more, we refuse programs it accepts (allowed, and
 * rare): bit-level facts (`r & ~3` is a multiple of 4, `x << 33` ends in
 * zeros), 32-bit subranges of wider values (a 32-bit jump narrows only
 * values that fit in 32 bits), narrow spills (a 4-byte store and load of a
 * register, stored immediates and zeros read back), deltas between linked
 * registers (`r2 = r1 + 5`), and a 32-bit move of a value wider than 32
 * bits. `tests/verifier/kernel_diff.ts` compares verdicts and results with
 * the running kernel on random programs aimed at these areas (`deno task
 * fuzz:verifier --count 5000 --seed 1`).
 *
 * What remains different: these rules follow the kernel this was measured
 * on (Linux 6.18); other versions track more (newer ones may bound some
 * divisions) or less (older ones keep no signed products or byte swaps).
 * The kernel sometimes narrows a value to bounds that contradict each
 * other, on a path that cannot happen, and then goes on with bounds
 * rebuilt from its known bits; we model the cases the differential found
 * (above), not every one, so a program whose only way to the kernel's
 * rejection is such an impossible path may still pass here (none in
 * 50,000 random programs at the time of writing).
 *
 * **Registers.** Reading an uninitialized register is refused; a call
 * clobbers r0-r5; at entry only r1 (context) and r10 are set.
 *
 * **Stack.** Each frame has 512 bytes, `[r10-512, r10)`. Bytes are tracked
 * one by one as never written, data, or part of a spilled register. A
 * register stored as 8 bytes at an 8-aligned offset is spilled and keeps its
 * kind and range when loaded back as 8 bytes; pointers may only be stored
 * that way, and a spilled pointer may only be loaded whole. Reading a byte
 * never written is refused (stricter than a privileged kernel). Loads and
 * stores must be aligned to their size, as the kernel demands for the stack
 * even on x86 (helper memory arguments need no alignment). Variable-offset
 * stack accesses are allowed within bounds for 1-byte accesses only (no
 * tnum to prove alignment); reads need every byte of the whole range
 * written; writes mark nothing as written.
 *
 * **Pointers.** Only `ptr ± scalar` and `scalar + ptr` (64-bit) are allowed,
 * with the scalar's range within ±2^29; `ptr - ptr` of the same kind gives a
 * scalar. Any other operator, 32-bit ALU or moves of pointers, and any
 * arithmetic on map pointers or maybe-NULL pointers is refused. Pointers may
 * be stored only on the stack (never into the context, map values or ringbuf
 * records); a callee's stack pointer may not be stored into a caller's frame
 * or returned.
 *
 * **Context.** r1 at entry points to `ctxSize` readable bytes. Accesses must
 * use the unmodified pointer (offset in the instruction), lie in
 * `[0, ctxSize)`, and be aligned to their size; tracepoint programs may not
 * read the 8-byte common header (offsets 0-7), as in the kernel. The
 * context is read-only.
 *
 * **Stricter than a privileged kernel** (checked against the running
 * kernel in the tests): uninitialized stack reads, returning or storing
 * pointers (into map values, or via atomics), 32-bit moves of pointers,
 * loads through map pointers, `exit` with a non-zero `off`, and the
 * 512-byte combined stack of a call chain (kernels with private stacks
 * allow more for tracing programs).
 *
 * **Maps and records.** `map_lookup_elem` returns a map value or NULL; it
 * must be compared with 0 (`if rX == 0` / `!= 0`, 64-bit) before use, which
 * turns every copy of it into a map value pointer or the scalar 0. Map value
 * and ringbuf record accesses must lie within the value or record size for
 * every possible variable offset. Atomic operations need a stack, map value
 * or record pointer, a constant offset aligned to the width, a scalar
 * operand and initialized memory.
 *
 * **Helpers.** Each helper in `Helper` has a prototype (see
 * `helper_protos.ts`) checked argument by argument: map pointers of an
 * allowed map type, keys and values as pointers to `keySize`/`valueSize`
 * initialized bytes, memory and size pairs (size a bounded non-negative
 * scalar), output buffers (marked initialized by the call), the unmodified
 * context. `ringbuf_reserve` needs a constant size and returns a record or
 * NULL that must be submitted or discarded on every path; after submit or
 * discard every copy of it is unusable. Unknown helpers are refused.
 *
 * **Functions.** bpf-to-bpf calls get a new frame with their own 512 bytes;
 * r1-r5 are passed as they are, r6-r9 start uninitialized; at most 8 frames.
 * Each function's stack depth (deepest byte used, rounded up to 16 as the
 * x86 JIT does) summed along any call chain must be ≤ 512.
 *
 * **Exit.** r0 must be set; the main program must return a scalar (a
 * pointer would leak) and hold no unreleased ringbuf record.
 *
 * Not modelled: tail calls' effects, packet pointers, BTF, kfuncs, iterators,
 * spin locks, callbacks, and per-program-type context field rules (the
 * context is only bounds- and alignment-checked).
 *
 * @module
 */

import type { Insn } from "../bpf/insn.ts";
import { imm64 } from "../bpf/insn.ts";
import { formatInsn } from "../bpf/disasm.ts";
import {
  checkInsns,
  checkInt,
  checkObject,
  describeValue,
} from "../bpf/validate.ts";
import {
  MapType,
  MAX_INSNS_PROCESSED,
  ProgType,
  PseudoSrc,
  STACK_SIZE,
} from "../bpf/opcodes.ts";
import { VerifierError } from "./error.ts";
import { HELPER_PROTOS } from "./helper_protos.ts";
import {
  alu32,
  alu64,
  type AluKind,
  branchTaken,
  type CmpKind,
  constOf,
  constRange,
  FULL,
  loadRange,
  negateCmp,
  type Range,
  rangeText,
  refine,
  refine32,
  S64_MAX,
  signExtend,
  signExtend32,
  sRange,
  truncate32,
  U32_MAX,
} from "./scalar.ts";
import {
  copyState,
  type Frame,
  isOrNull,
  isPointer,
  mkReg,
  newFrame,
  notInit,
  ownStack,
  type Reg,
  S,
  scalar,
  type State,
  stateCovers,
  stateEqual,
  T,
  typeName,
} from "./state.ts";
import { analyzeStructure, type Dec, type Structure } from "./structure.ts";

export { VerifierError } from "./error.ts";

/** A map as the verifier needs it. */
export interface VerifyMap {
  /** `MapType` id. */
  type: number;
  /** Key size in bytes. */
  keySize: number;
  /** Value size in bytes. */
  valueSize: number;
  /** Capacity. */
  maxEntries: number;
}

/** What the verifier needs to know besides the instructions. */
export interface VerifyOptions {
  /** Maps; index = imm of `ld_imm64` with src `PseudoSrc.MAP_FD`. */
  maps: readonly VerifyMap[];
  /** Bytes readable through r1 (0 = no context). */
  ctxSize: number;
  /** `ProgType` id. */
  progType?: number;
  /** Budget of processed instructions; default 1,000,000. */
  maxInsnsProcessed?: number;
  /**
   * Let the program write its context (the `--asm` playground's memory);
   * storing a pointer there is still refused. Default false.
   */
  ctxWritable?: boolean;
  /** r2 holds an unknown scalar at entry (the playground's length). */
  r2Scalar?: boolean;
}

/** Figures about an accepted program. */
export interface VerifyResult {
  /** Instructions processed over all explored paths. */
  insnsProcessed: number;
  /**
   * Most stack bytes in use at once: the deepest byte used per function,
   * summed along the deepest call chain.
   */
  maxStackDepth: number;
}

const MAX_FRAMES = 8;
const MAX_VAR_OFF = 1 << 29;
const MAX_SIZE = 1n << 29n;

interface Checkpoint {
  state: State;
  /** Paths still being explored below this checkpoint. */
  branches: number;
  parent: Checkpoint | null;
  hit: number;
  miss: number;
  pc: number;
  /** `fingerprint` of the state. */
  hash: number;
}

/** The checkpoints remembered at one pc. */
interface PcCheckpoints {
  /** Fully explored: usable for pruning. */
  done: Checkpoint[];
  /** Still being explored, by fingerprint: usable for loop detection. */
  active: Map<number, Checkpoint[]>;
  activeCount: number;
}

/** A cheap hash of the current frame's registers (equal states, equal hash). */
function fingerprint(st: State): number {
  const f = st.frames[st.frames.length - 1];
  let h = st.frames.length * 131 + f.callsite;
  for (let r = 0; r < 10; r++) {
    const x = f.regs[r];
    h = (Math.imul(h, 31) + x.t * 7 + x.off) | 0;
    if (x.t !== T.NOT_INIT) {
      h = (Math.imul(h, 31) + Number(BigInt.asUintN(32, x.r.umin))) | 0;
      h = (Math.imul(h, 31) + Number(BigInt.asUintN(32, x.r.umax))) | 0;
    }
  }
  return h;
}

interface Pending {
  state: State;
  pc: number;
  cp: Checkpoint | null;
  from: number;
}

const PRUNED = Symbol("pruned");

const ALU_WORD: Record<string, string> = {
  MUL: "multiplication",
  DIV: "division",
  SDIV: "division",
  MOD: "modulo",
  SMOD: "modulo",
  OR: "bitwise or",
  AND: "bitwise and",
  XOR: "bitwise xor",
  LSH: "left shift",
  RSH: "right shift",
  ARSH: "arithmetic right shift",
  NEG: "negation",
  END: "byte swap",
  ADD: "addition",
  SUB: "subtraction",
};

class Checker {
  readonly insns: readonly Insn[];
  readonly opts: VerifyOptions;
  readonly s: Structure;
  readonly budget: number;
  processed = 0;
  nextId = 1;
  readonly funcDepth: number[];
  readonly checkpoints: (PcCheckpoints | undefined)[];
  readonly pending: Pending[] = [];
  jmpsSinceCp = 0;
  insnsSinceCp = 0;
  // The path being followed.
  cur!: State;
  pc = 0;
  cp: Checkpoint | null = null;
  /** The instruction the path came from (for loop messages). */
  from = -1;

  constructor(insns: readonly Insn[], opts: VerifyOptions) {
    this.insns = insns;
    this.opts = opts;
    this.budget = opts.maxInsnsProcessed ?? MAX_INSNS_PROCESSED;
    this.s = analyzeStructure(
      insns,
      opts.maps.length,
      (pc, why) => this.fail(pc, why),
    );
    this.funcDepth = this.s.funcStarts.map(() => 0);
    this.checkpoints = new Array(insns.length);
  }

  fail(pc: number, reason: string): never {
    const text = pc >= 0 && pc < this.insns.length
      ? formatInsn(this.insns, pc)
      : "end of program";
    throw new VerifierError(pc, text, reason);
  }

  get frame(): Frame {
    const f = this.cur.frames;
    return f[f.length - 1];
  }

  // ---- the exploration loop ----

  run(): VerifyResult {
    const main = newFrame(
      0,
      -1,
      0,
      "only r1 (context) and r10 are set at entry",
    );
    main.regs[1] = mkReg(T.CTX);
    if (this.opts.r2Scalar) main.regs[2] = mkReg(T.SCALAR, { r: FULL });
    this.cur = { frames: [main], refs: [] };
    this.pc = 0;
    for (;;) {
      const alive = this.followPath();
      if (!alive) {
        this.endPath();
        const next = this.pending.pop();
        if (!next) break;
        this.cur = next.state;
        this.pc = next.pc;
        this.cp = next.cp;
        this.from = next.from;
      }
    }
    return {
      insnsProcessed: this.processed,
      maxStackDepth: this.checkStackDepth(),
    };
  }

  /** Follows the current path until it ends; false when it did. */
  followPath(): boolean {
    for (;;) {
      const pc = this.pc;
      if (this.s.prune[pc]) {
        const r = this.visitPrunePoint(pc);
        if (r === PRUNED) return false;
        this.cp = r;
      }
      if (++this.processed > this.budget) {
        this.fail(
          pc,
          `the program is too complex: more than ${this.budget} instructions processed (a loop that is not provably bounded, or too many paths)`,
        );
      }
      this.insnsSinceCp++;
      const next = this.step(pc, this.s.dec[pc]!);
      if (next < 0) return false;
      this.from = pc;
      this.pc = next;
    }
  }

  endPath(): void {
    let c = this.cp;
    while (c) {
      c.branches--;
      if (c.branches > 0) break;
      this.complete(c);
      c = c.parent;
    }
  }

  /** Moves a checkpoint whose paths are all explored to the done list. */
  complete(c: Checkpoint): void {
    const at = this.checkpoints[c.pc]!;
    const bucket = at.active.get(c.hash)!;
    bucket.splice(bucket.indexOf(c), 1);
    if (bucket.length === 0) at.active.delete(c.hash);
    at.activeCount--;
    at.done.push(c);
  }

  fork(state: State, pc: number): void {
    if (this.cp) this.cp.branches++;
    this.pending.push({ state, pc, cp: this.cp, from: this.pc });
  }

  visitPrunePoint(pc: number): Checkpoint | null | typeof PRUNED {
    let at = this.checkpoints[pc];
    if (!at) {
      at = this.checkpoints[pc] = {
        done: [],
        active: new Map(),
        activeCount: 0,
      };
    }
    // Coming back to a pc whose exploration is still under way: a loop.
    const looping = at.activeCount > 0;
    let hash = 0;
    if (looping) {
      hash = fingerprint(this.cur);
      for (const c of at.active.get(hash) ?? []) {
        if (stateEqual(c.state, this.cur)) {
          this.fail(
            pc,
            `infinite loop detected: the back-edge from insn ${this.from} returns here in the same state, so the loop is not bounded`,
          );
        }
      }
    }
    const live = (at: number): number => this.s.liveIn[at];
    const need = (at: number): number => this.s.needIn[at];
    const slotNeed = (at: number, w: 0 | 1): number =>
      this.s.slotNeedIn[2 * at + w];
    let drop = false;
    for (const c of at.done) {
      if (stateCovers(c.state, this.cur, pc, live, need, slotNeed)) {
        c.hit++;
        return PRUNED;
      }
      c.miss++;
      if (c.miss > c.hit * 3 + 3) drop = true;
    }
    if (drop) at.done = at.done.filter((c) => c.miss <= c.hit * 3 + 3);
    const rare = this.jmpsSinceCp < 2 && this.insnsSinceCp < 8;
    const loopRare = this.jmpsSinceCp < 20 && this.insnsSinceCp < 100;
    if (rare || (looping && loopRare)) return this.cp;
    if (!looping) hash = fingerprint(this.cur);
    const c: Checkpoint = {
      state: copyState(this.cur),
      branches: 1,
      parent: this.cp,
      hit: 0,
      miss: 0,
      pc,
      hash,
    };
    const bucket = at.active.get(hash);
    if (bucket) bucket.push(c);
    else at.active.set(hash, [c]);
    at.activeCount++;
    this.jmpsSinceCp = 0;
    this.insnsSinceCp = 0;
    return c;
  }

  // ---- registers ----

  read(pc: number, r: number, what = ""): Reg {
    const reg = this.frame.regs[r];
    if (reg.t === T.NOT_INIT) {
      this.fail(
        pc,
        `R${r}${what} is read before it is written (uninitialized${
          reg.note ? `: ${reg.note}` : ""
        })`,
      );
    }
    return reg;
  }

  set(r: number, reg: Reg): void {
    this.frame.regs[r] = reg;
  }

  newId(): number {
    return this.nextId++;
  }

  // ---- one instruction ----

  /** Executes one instruction; returns the next pc, or -1 if the path ends. */
  step(pc: number, d: Dec): number {
    switch (d.k) {
      case "mov":
        this.doMov(pc, d);
        return pc + 1;
      case "movsx": {
        const s = this.read(pc, d.src);
        if (s.t !== T.SCALAR) {
          this.fail(
            pc,
            `sign-extending move of R${d.src}, ${typeName(s)}, is not allowed`,
          );
        }
        this.set(
          d.dst,
          scalar(
            d.bits === 32
              ? signExtend32(s.r, d.off as 8 | 16)
              : signExtend(s.r, d.off as 8 | 16 | 32),
          ),
        );
        return pc + 1;
      }
      case "neg":
      case "end": {
        const v = this.read(pc, d.dst);
        if (v.t !== T.SCALAR) {
          this.fail(
            pc,
            `${ALU_WORD[d.k === "neg" ? "NEG" : "END"]} of R${d.dst}, ${
              typeName(v)
            }, is not allowed`,
          );
        }
        this.set(
          d.dst,
          scalar(
            d.k === "neg"
              ? (d.bits === 64
                ? alu64("NEG", v.r, v.r)
                : alu32("NEG", v.r, v.r))
              : swapRange(d, v.r),
          ),
        );
        return pc + 1;
      }
      case "alu":
        if (d.invalid !== undefined) this.fail(pc, d.invalid);
        this.doAlu(pc, d);
        return pc + 1;
      case "ldimm64":
        this.doLdImm64(pc, d);
        return pc + 2;
      case "ldx": {
        const p = this.read(pc, d.src);
        const v = this.access(
          pc,
          d.src,
          p,
          d.off,
          d.size,
          false,
          undefined,
          d.sx,
        );
        this.set(d.dst, v!);
        return pc + 1;
      }
      case "st": {
        const p = this.read(pc, d.dst);
        const imm = constRange(BigInt(d.imm));
        this.access(pc, d.dst, p, d.off, d.size, true, scalar(imm), false);
        return pc + 1;
      }
      case "stx": {
        const p = this.read(pc, d.dst);
        const v = this.read(pc, d.src);
        this.access(pc, d.dst, p, d.off, d.size, true, v, false);
        return pc + 1;
      }
      case "atomic":
        this.doAtomic(pc, d);
        return pc + 1;
      case "ja":
        this.jmpsSinceCp++;
        return d.target;
      case "jcond":
        this.jmpsSinceCp++;
        return this.doJcond(pc, d);
      case "call":
        this.doHelper(pc, d);
        return pc + 1;
      case "callLocal":
        return this.doCallLocal(pc, d);
      case "exit":
        return this.doExit(pc);
    }
  }

  doMov(pc: number, d: Dec): void {
    if (!d.useReg) {
      this.set(d.dst, scalar(d.immR));
      return;
    }
    let s = this.read(pc, d.src);
    if (d.bits === 32) {
      if (s.t !== T.SCALAR) {
        this.fail(
          pc,
          `32-bit move of R${d.src}, ${
            typeName(s)
          }, would truncate a pointer; 32-bit arithmetic on pointers is not allowed`,
        );
      }
      this.set(d.dst, scalar(truncate32(s.r)));
      return;
    }
    if (s.t === T.SCALAR && constOf(s.r) === undefined && s.id === 0) {
      // Link the copies so a later compare narrows both.
      s = { ...s, id: this.newId() };
      this.set(d.src, s);
    }
    this.set(d.dst, s);
  }

  doAlu(pc: number, d: Dec): void {
    const a = this.read(pc, d.dst);
    const b = d.useReg ? this.read(pc, d.src) : scalar(d.immR);
    const op = d.op as AluKind;
    if (isPointer(a.t) || isPointer(b.t)) {
      if (d.bits === 32) {
        const [r, p] = isPointer(a.t) ? [d.dst, a] : [d.src, b];
        this.fail(
          pc,
          `32-bit arithmetic on a pointer is not allowed (R${r} is ${
            typeName(p)
          })`,
        );
      }
      this.set(d.dst, this.pointerAlu(pc, d, op, a, b));
      return;
    }
    const r = d.bits === 64 ? alu64(op, a.r, b.r) : alu32(op, a.r, b.r);
    this.set(d.dst, scalar(r));
  }

  pointerAlu(pc: number, d: Dec, op: AluKind, a: Reg, b: Reg): Reg {
    const srcName = d.useReg ? `R${d.src}` : `${d.imm}`;
    if (isPointer(a.t) && isPointer(b.t)) {
      if (op === "SUB" && a.t === b.t && !isOrNull(a.t) && a.t !== T.MAP_PTR) {
        return scalar(FULL);
      }
      this.fail(
        pc,
        op === "ADD"
          ? `pointer + pointer is not allowed (R${d.dst} is ${
            typeName(a)
          }, R${d.src} is ${typeName(b)})`
          : `${ALU_WORD[op]} of two pointers is not allowed (R${d.dst} is ${
            typeName(a)
          }, R${d.src} is ${typeName(b)})`,
      );
    }
    const ptrIsDst = isPointer(a.t);
    const p = ptrIsDst ? a : b;
    const preg = ptrIsDst ? `R${d.dst}` : `R${d.src}`;
    const sc = ptrIsDst ? b : a;
    if (op !== "ADD" && op !== "SUB") {
      this.fail(
        pc,
        `${ALU_WORD[op]} on a pointer is not allowed (${preg} is ${
          typeName(p)
        }); only adding or subtracting a scalar is`,
      );
    }
    if (!ptrIsDst && op === "SUB") {
      this.fail(
        pc,
        `subtracting a pointer from a scalar is not allowed (R${d.src} is ${
          typeName(p)
        })`,
      );
    }
    if (isOrNull(p.t)) {
      this.fail(
        pc,
        `pointer arithmetic on ${preg}, ${
          typeName(p)
        }, is not allowed; check it against 0 first`,
      );
    }
    if (p.t === T.MAP_PTR) {
      this.fail(
        pc,
        `pointer arithmetic on ${preg}, a map pointer, is not allowed`,
      );
    }
    const c = constOf(sc.r);
    if (c !== undefined) {
      let v = BigInt.asIntN(64, c);
      if (op === "SUB") v = -v;
      const off = BigInt(p.off) + v;
      if (off <= -BigInt(MAX_VAR_OFF) || off >= BigInt(MAX_VAR_OFF)) {
        this.fail(
          pc,
          `pointer offset ${off} is out of range: math between ${
            typeName(p)
          } and ${srcName} is not allowed`,
        );
      }
      return { ...p, off: Number(off) };
    }
    const lim = BigInt(MAX_VAR_OFF);
    if (sc.r.smin < -lim || sc.r.smax > lim) {
      this.fail(
        pc,
        `math between ${typeName(p)} and ${
          ptrIsDst ? srcName : `R${d.dst}`
        } with unbounded value ${
          rangeText(sc.r)
        } is not allowed; bound it with a comparison first`,
      );
    }
    const lo = op === "ADD" ? p.r.smin + sc.r.smin : p.r.smin - sc.r.smax;
    const hi = op === "ADD" ? p.r.smax + sc.r.smax : p.r.smax - sc.r.smin;
    if (lo < -lim || hi > lim) {
      this.fail(
        pc,
        `the variable offset of ${preg} grows out of range [${lo}, ${hi}]`,
      );
    }
    return { ...p, r: sRange(lo, hi), id: 0 };
  }

  doLdImm64(pc: number, d: Dec): void {
    if (d.src === 0) {
      const v = imm64(this.insns[pc], this.insns[pc + 1]);
      this.set(d.dst, scalar(constRange(v)));
      return;
    }
    const m = this.opts.maps[d.imm];
    if (d.src === PseudoSrc.MAP_FD) {
      this.set(d.dst, mkReg(T.MAP_PTR, { map: d.imm }));
      return;
    }
    if (m.type !== MapType.ARRAY || m.maxEntries !== 1) {
      this.fail(
        pc,
        `direct map value access needs an array map with one entry; map ${d.imm} is not`,
      );
    }
    if (d.hi < 0 || d.hi >= m.valueSize) {
      this.fail(
        pc,
        `direct map value offset ${d.hi} is outside the value size ${m.valueSize}`,
      );
    }
    this.set(d.dst, mkReg(T.MAP_VALUE, { map: d.imm, off: d.hi }));
  }

  // ---- memory ----

  /**
   * Checks a load or store through pointer `p` (register `regno`) at
   * instruction offset `off`. Returns the loaded value for loads.
   */
  access(
    pc: number,
    regno: number,
    p: Reg,
    off: number,
    size: number,
    write: boolean,
    value: Reg | undefined,
    sx: boolean,
  ): Reg | undefined {
    const rn = `R${regno}`;
    switch (p.t) {
      case T.SCALAR:
        this.fail(
          pc,
          `${rn} is a scalar, not a pointer; it cannot be dereferenced`,
        );
        break;
      case T.MAP_PTR:
        this.fail(
          pc,
          `${rn} is a map pointer; it cannot be dereferenced, only passed to helpers`,
        );
        break;
      case T.MAP_VALUE_OR_NULL:
      case T.MEM_OR_NULL:
        this.fail(pc, `${rn} is ${typeName(p)}; check it against 0 first`);
        break;
      case T.CTX: {
        if (p.off !== 0 || constOf(p.r) !== 0n) {
          this.fail(
            pc,
            `dereference of a modified context pointer ${rn} (offset ${
              p.off !== 0 ? p.off : rangeText(p.r)
            }) is not allowed; put the offset in the instruction instead`,
          );
        }
        if (
          write && (!this.opts.ctxWritable || (value && isPointer(value.t)))
        ) {
          this.fail(
            pc,
            value && isPointer(value.t)
              ? `cannot store a pointer into the context`
              : `the context is read-only`,
          );
        }
        const size0 = this.opts.ctxSize;
        if (off < 0 || off + size > size0) {
          this.fail(
            pc,
            `context access out of range: ${size} bytes at offset ${off}, the context has ${size0} bytes`,
          );
        }
        if (off % size !== 0) {
          this.fail(
            pc,
            `misaligned context access: ${size} bytes at offset ${off}`,
          );
        }
        if (this.opts.progType === ProgType.TRACEPOINT && off < 8) {
          this.fail(
            pc,
            `context access at offset ${off}: a tracepoint's first 8 bytes (the common header) cannot be read`,
          );
        }
        return scalar(loadRange(size, sx));
      }
      case T.MAP_VALUE:
      case T.MEM: {
        this.checkRegion(pc, rn, p, off, size);
        if (write && value && isPointer(value.t)) {
          this.fail(
            pc,
            `storing a pointer (${typeName(value)}) into ${
              p.t === T.MEM ? "a ringbuf record" : "a map value"
            } would leak it`,
          );
        }
        return write ? undefined : scalar(loadRange(size, sx));
      }
      case T.STACK:
        return this.stackAccess(pc, p, off, size, write, value, sx);
    }
    return this.fail(pc, `${rn} is ${typeName(p)}; it cannot be dereferenced`);
  }

  /** Bounds check of a map value or ringbuf record access. */
  checkRegion(pc: number, rn: string, p: Reg, off: number, size: number): void {
    const limit = p.t === T.MEM ? p.size : this.opts.maps[p.map].valueSize;
    const what = p.t === T.MEM ? "ringbuf record" : "map value";
    if (p.r.umax >= BigInt(MAX_VAR_OFF)) {
      // The kernel bounds the variable offset by its unsigned maximum: a
      // variable part that may be negative is unbounded there.
      this.fail(
        pc,
        `${what} access through ${rn} with a variable offset that may be negative (${
          rangeText(p.r)
        }) is unbounded; make the offset non-negative first`,
      );
    }
    const lo = p.off + off + Number(p.r.smin);
    const hi = p.off + off + Number(p.r.smax) + size;
    if (lo < 0 || hi > limit) {
      const at = p.r.smin === p.r.smax
        ? `offset ${lo}`
        : `offsets ${lo} to ${hi - size} (${rn} has a variable offset ${
          rangeText(p.r)
        })`;
      this.fail(
        pc,
        `${what} access out of range: ${size} bytes at ${at}, the ${what} has ${limit} bytes`,
      );
    }
  }

  stackFrameOf(p: Reg): Frame {
    return this.cur.frames[p.frame];
  }

  noteDepth(p: Reg, lowest: number): void {
    const f = this.stackFrameOf(p);
    if (-lowest > this.funcDepth[f.func]) this.funcDepth[f.func] = -lowest;
  }

  stackAccess(
    pc: number,
    p: Reg,
    off: number,
    size: number,
    write: boolean,
    value: Reg | undefined,
    sx: boolean,
  ): Reg | undefined {
    const f = this.stackFrameOf(p);
    const lo = p.off + off + Number(p.r.smin);
    const hi = p.off + off + Number(p.r.smax) + size;
    if (lo < -STACK_SIZE || hi > 0) {
      this.fail(
        pc,
        `stack access out of range: ${size} bytes at fp${sign(lo)}${
          p.r.smin !== p.r.smax ? ` to fp${sign(hi - size)}` : ""
        }; the stack is [fp-512, fp)`,
      );
    }
    const variable = p.r.smin !== p.r.smax;
    if (variable ? size !== 1 : lo % size !== 0) {
      this.fail(
        pc,
        variable
          ? `variable-offset stack access of ${size} bytes: its alignment cannot be proven (only 1-byte accesses may use a variable offset)`
          : `misaligned stack access: ${size} bytes at fp${sign(lo)}`,
      );
    }
    this.noteDepth(p, lo);
    const start = lo + STACK_SIZE, end = hi + STACK_SIZE;
    if (write) {
      ownStack(f);
      if (!variable && start < f.lo) f.lo = start;
      const v = value!;
      if (isPointer(v.t)) {
        if (variable || size !== 8 || (start & 7) !== 0) {
          this.fail(
            pc,
            `a pointer (${
              typeName(v)
            }) must be stored on the stack as 8 bytes at an 8-aligned offset (fp${
              sign(lo)
            } with ${size} bytes is not)`,
          );
        }
        if (v.t === T.STACK && v.frame > p.frame) {
          this.fail(
            pc,
            `storing a pointer to a callee's stack into a caller's stack is not allowed`,
          );
        }
      }
      if (!variable && size === 8 && (start & 7) === 0) {
        f.kinds.fill(S.SPILL, start, end);
        f.spills[start >> 3] = v;
        return undefined;
      }
      for (let s = start >> 3; s <= (end - 1) >> 3; s++) {
        if (f.spills[s]) {
          f.spills[s] = undefined;
          f.kinds.fill(S.MISC, s * 8, s * 8 + 8);
        }
      }
      if (!variable) f.kinds.fill(S.MISC, start, end);
      return undefined;
    }
    for (let i = start; i < end; i++) {
      if (f.kinds[i] === S.INVALID) {
        this.fail(
          pc,
          `reads ${size} bytes at fp${sign(lo)}${
            variable ? ` to fp${sign(hi - size)}` : ""
          } but fp${
            sign(i - STACK_SIZE)
          } was never written (uninitialized stack)`,
        );
      }
    }
    if (
      !variable && size === 8 && (start & 7) === 0 && f.kinds[start] === S.SPILL
    ) {
      return f.spills[start >> 3]!;
    }
    for (let s = start >> 3; s <= (end - 1) >> 3; s++) {
      const sp = f.spills[s];
      if (sp && sp.t !== T.SCALAR) {
        this.fail(
          pc,
          `partial read of a spilled pointer (${typeName(sp)}) at fp${
            sign(s * 8 - STACK_SIZE)
          }; a spilled pointer must be loaded as 8 aligned bytes`,
        );
      }
    }
    return scalar(loadRange(size, sx));
  }

  doAtomic(pc: number, d: Dec): void {
    const p = this.read(pc, d.dst);
    const v = this.read(pc, d.src);
    if (v.t !== T.SCALAR) {
      this.fail(
        pc,
        `atomic operation with a pointer operand is not allowed (R${d.src} is ${
          typeName(v)
        })`,
      );
    }
    if (d.op === "CMPXCHG") {
      const r0 = this.read(pc, 0, " (the compare value of cmpxchg)");
      if (r0.t !== T.SCALAR) {
        this.fail(pc, `cmpxchg needs a scalar in R0, not ${typeName(r0)}`);
      }
    }
    if (p.t !== T.STACK && p.t !== T.MAP_VALUE && p.t !== T.MEM) {
      if (p.t === T.CTX) {
        this.fail(pc, `atomic operation on the context is not allowed`);
      }
      this.access(pc, d.dst, p, d.off, d.size, true, v, false);
    }
    if (constOf(p.r) !== 0n) {
      this.fail(
        pc,
        `atomic operation through R${d.dst} with a variable offset is not allowed`,
      );
    }
    if ((p.off + d.off) % d.size !== 0) {
      this.fail(
        pc,
        `misaligned atomic access: ${d.size} bytes at offset ${
          p.off + d.off
        } from R${d.dst}`,
      );
    }
    this.access(pc, d.dst, p, d.off, d.size, false, undefined, false);
    if (p.t === T.STACK) {
      // The slot now holds data, whatever was spilled there.
      this.access(pc, d.dst, p, d.off, d.size, true, scalar(FULL), false);
      const f = this.stackFrameOf(p);
      const at = p.off + d.off + STACK_SIZE;
      if (d.size === 8) {
        ownStack(f);
        f.spills[at >> 3] = undefined;
        f.kinds.fill(S.MISC, at, at + 8);
      }
    }
    if (d.sx) {
      const out = scalar(loadRange(d.size, false));
      this.set(d.op === "CMPXCHG" ? 0 : d.src, out);
    }
  }

  // ---- jumps ----

  doJcond(pc: number, d: Dec): number {
    const a = this.read(pc, d.dst);
    const b = d.useReg ? this.read(pc, d.src) : scalar(d.immR);
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
        const other = copyState(this.cur);
        this.applyRefine(other, d, a, b, yes);
        this.fork(other, d.target);
        this.applyRefine(this.cur, d, a, b, no);
        return next;
      }
      if (yes) {
        this.applyRefine(this.cur, d, a, b, yes);
        return d.target;
      }
      if (no) {
        this.applyRefine(this.cur, d, a, b, no);
        return next;
      }
      return -1;
    }
    // Comparisons involving pointers: NULL checks, and non-NULL vs 0.
    const zero = b.t === T.SCALAR && constOf(b.r) === 0n;
    if (d.bits === 64 && zero && (op === "JEQ" || op === "JNE")) {
      if (isOrNull(a.t)) {
        const other = copyState(this.cur);
        // target side: null when JEQ
        this.markNull(other, a.id, op === "JEQ");
        this.fork(other, d.target);
        this.markNull(this.cur, a.id, op !== "JEQ");
        return next;
      }
      // As the kernel, only pointers that cannot be NULL: stack and
      // context pointers are compared like unknown values.
      if (a.t === T.MAP_VALUE || a.t === T.MEM || a.t === T.MAP_PTR) {
        return op === "JEQ" ? next : d.target;
      }
    }
    this.fork(copyState(this.cur), d.target);
    return next;
  }

  applyRefine(
    st: State,
    d: Dec,
    a: Reg,
    b: Reg,
    [ra, rb]: [Range, Range],
  ): void {
    const f = st.frames[st.frames.length - 1];
    if (ra !== a.r) this.setScalar(st, f, d.dst, a, ra);
    if (d.useReg && rb !== b.r) this.setScalar(st, f, d.src, b, rb);
  }

  setScalar(st: State, f: Frame, r: number, old: Reg, range: Range): void {
    const nv = { ...old, r: range };
    f.regs[r] = nv;
    if (old.id === 0) return;
    for (const fr of st.frames) {
      for (let i = 0; i < 10; i++) {
        const x = fr.regs[i];
        if (x.t === T.SCALAR && x.id === old.id) fr.regs[i] = nv;
      }
      for (let s = 0; s < fr.spills.length; s++) {
        const x = fr.spills[s];
        if (x && x.t === T.SCALAR && x.id === old.id) {
          ownStack(fr);
          fr.spills[s] = nv;
        }
      }
    }
  }

  markNull(st: State, id: number, isNull: boolean): void {
    const conv = (x: Reg): Reg => {
      if (isNull) return scalar(constRange(0n));
      return {
        ...x,
        t: x.t === T.MAP_VALUE_OR_NULL ? T.MAP_VALUE : T.MEM,
        id: 0,
      };
    };
    for (const fr of st.frames) {
      for (let i = 0; i < 10; i++) {
        const x = fr.regs[i];
        if (isOrNull(x.t) && x.id === id) fr.regs[i] = conv(x);
      }
      for (let s = 0; s < fr.spills.length; s++) {
        const x = fr.spills[s];
        if (x && isOrNull(x.t) && x.id === id) {
          ownStack(fr);
          fr.spills[s] = conv(x);
        }
      }
    }
    if (isNull) st.refs = st.refs.filter((r) => r.id !== id);
  }

  // ---- calls ----

  doHelper(pc: number, d: Dec): void {
    const proto = HELPER_PROTOS.get(d.imm)!;
    const name = proto.name;
    const regs = this.frame.regs;
    let mapIdx = -1;
    let allocSize = 0;
    let release = 0;
    let sizeMax = 0n;
    const arg = (i: number) => `R${i + 1} (argument ${i + 1} of ${name})`;
    for (let i = 0; i < proto.args.length; i++) {
      const kind = proto.args[i];
      if (kind === "dontcare") continue;
      const regno = i + 1;
      const r = regs[regno];
      if (r.t === T.NOT_INIT) {
        this.fail(
          pc,
          `${arg(i)} is not initialized${r.note ? ` (${r.note})` : ""}`,
        );
      }
      switch (kind) {
        case "anything":
          break;
        case "ctx":
          if (r.t !== T.CTX || r.off !== 0 || constOf(r.r) !== 0n) {
            this.fail(
              pc,
              `${arg(i)} must be the unmodified context pointer, but it is ${
                typeName(r)
              }${r.t === T.CTX ? ` with offset ${r.off}` : ""}`,
            );
          }
          break;
        case "map": {
          if (r.t !== T.MAP_PTR) {
            this.fail(
              pc,
              `${arg(i)} must be a map pointer, but it is ${typeName(r)}`,
            );
          }
          mapIdx = r.map;
          const mt = this.opts.maps[mapIdx].type;
          if (!proto.mapTypes!.includes(mt)) {
            this.fail(
              pc,
              `${name} cannot be used with map ${mapIdx} of type ${
                mapTypeName(mt)
              }`,
            );
          }
          break;
        }
        case "key":
        case "value": {
          const m = this.opts.maps[mapIdx];
          const size = kind === "key" ? m.keySize : m.valueSize;
          this.memArg(pc, arg(i), r, size, false);
          break;
        }
        case "mem":
        case "uninit_mem":
          this.memArg(pc, arg(i), r, -1, false);
          break;
        case "size":
        case "size_or_zero": {
          if (r.t !== T.SCALAR) {
            this.fail(
              pc,
              `${arg(i)} must be a size (a scalar), but it is ${typeName(r)}`,
            );
          }
          if (r.r.smin < 0n) {
            this.fail(
              pc,
              `${arg(i)} is a size that may be negative (${
                rangeText(r.r)
              }); bound it first`,
            );
          }
          if (r.r.umax > MAX_SIZE) {
            this.fail(
              pc,
              `${arg(i)} is an unbounded size (${
                rangeText(r.r)
              }); bound it first`,
            );
          }
          if (kind === "size" && r.r.umin === 0n) {
            this.fail(
              pc,
              `${arg(i)} is a size that may be zero (${rangeText(r.r)})`,
            );
          }
          sizeMax = r.r.umax;
          if (sizeMax > 0n) {
            this.memArg(
              pc,
              arg(i - 1),
              regs[regno - 1],
              Number(sizeMax),
              proto.args[i - 1] === "uninit_mem",
            );
          }
          break;
        }
        case "alloc_size": {
          const c = r.t === T.SCALAR ? constOf(r.r) : undefined;
          if (c === undefined || c > MAX_SIZE) {
            this.fail(
              pc,
              `${arg(i)} must be a known constant size, but it is ${
                r.t === T.SCALAR ? rangeText(r.r) : typeName(r)
              }`,
            );
          }
          allocSize = Number(c);
          break;
        }
        case "alloc_mem":
          if (r.t === T.MEM_OR_NULL) {
            this.fail(
              pc,
              `${
                arg(i)
              } is a ringbuf record that may be NULL; check it against 0 first`,
            );
          }
          if (r.t !== T.MEM || r.ref === 0) {
            this.fail(
              pc,
              `${arg(i)} must be a record from ringbuf_reserve, but it is ${
                typeName(r)
              }`,
            );
          }
          if (r.off !== 0 || constOf(r.r) !== 0n) {
            this.fail(
              pc,
              `${
                arg(i)
              } must point to the start of the ringbuf record (offset 0)`,
            );
          }
          release = r.ref;
          break;
      }
    }
    if (name === "tail_call" && this.cur.refs.length > 0) {
      this.fail(
        pc,
        `tail_call with an unreleased ringbuf record (reserved at insn ${
          this.cur.refs[0].pc
        })`,
      );
    }
    if (release !== 0) this.releaseRef(release, pc, name);
    const note = `R0-R5 are clobbered by the call at insn ${pc}`;
    const clob = notInit(note);
    for (let r = 1; r <= 5; r++) regs[r] = clob;
    switch (proto.ret) {
      case "integer":
        regs[0] = scalar(
          proto.retBoundedBySize
            ? sRange(-(1n << 63n), sizeMax < S64_MAX ? sizeMax : S64_MAX)
            : FULL,
        );
        break;
      case "void":
        regs[0] = notInit(`${name} returns nothing`);
        break;
      case "map_value_or_null":
        regs[0] = mkReg(T.MAP_VALUE_OR_NULL, { map: mapIdx, id: this.newId() });
        break;
      case "mem_or_null": {
        const id = this.newId();
        regs[0] = mkReg(T.MEM_OR_NULL, { size: allocSize, id, ref: id });
        this.cur.refs.push({ id, pc });
        break;
      }
    }
  }

  /** Checks a pointer argument to `size` bytes (-1: type only). */
  memArg(pc: number, what: string, p: Reg, size: number, write: boolean): void {
    if (isOrNull(p.t)) {
      this.fail(pc, `${what} is ${typeName(p)}; check it against 0 first`);
    }
    if (p.t !== T.STACK && p.t !== T.MAP_VALUE && p.t !== T.MEM) {
      this.fail(
        pc,
        `${what} must point to memory (stack, map value or ringbuf record), but it is ${
          typeName(p)
        }`,
      );
    }
    if (size < 0) return;
    if (p.t !== T.STACK) {
      this.checkRegion(pc, what, p, 0, size);
      return;
    }
    const f = this.stackFrameOf(p);
    const lo = p.off + Number(p.r.smin);
    const hi = p.off + Number(p.r.smax) + size;
    if (lo < -STACK_SIZE || hi > 0) {
      this.fail(
        pc,
        `${what}: ${size} bytes at fp${
          sign(lo)
        } are outside the stack [fp-512, fp)`,
      );
    }
    this.noteDepth(p, lo);
    const start = lo + STACK_SIZE, end = hi + STACK_SIZE;
    const variable = p.r.smin !== p.r.smax;
    if (write) {
      ownStack(f);
      if (!variable && start < f.lo) f.lo = start;
      for (let s = start >> 3; s <= (end - 1) >> 3; s++) {
        if (f.spills[s]) {
          f.spills[s] = undefined;
          f.kinds.fill(S.MISC, s * 8, s * 8 + 8);
        }
      }
      if (!variable) f.kinds.fill(S.MISC, start, end);
      return;
    }
    for (let i = start; i < end; i++) {
      if (f.kinds[i] === S.INVALID) {
        this.fail(
          pc,
          `${what}: reads ${size} bytes at fp${sign(lo)} but fp${
            sign(i - STACK_SIZE)
          } was never written (uninitialized stack)`,
        );
      }
    }
  }

  releaseRef(ref: number, pc: number, name: string): void {
    const st = this.cur;
    st.refs = st.refs.filter((r) => r.id !== ref);
    const gone = notInit(
      `its ringbuf record was released by ${name} at insn ${pc}`,
    );
    for (const fr of st.frames) {
      for (let i = 0; i < 10; i++) {
        if (fr.regs[i].ref === ref) fr.regs[i] = gone;
      }
      for (let s = 0; s < fr.spills.length; s++) {
        if (fr.spills[s]?.ref === ref) {
          ownStack(fr);
          fr.spills[s] = undefined;
          fr.kinds.fill(S.INVALID, s * 8, s * 8 + 8);
        }
      }
    }
  }

  doCallLocal(pc: number, d: Dec): number {
    const frames = this.cur.frames;
    if (frames.length >= MAX_FRAMES) {
      this.fail(
        pc,
        `the call stack of ${
          frames.length + 1
        } frames is too deep (at most ${MAX_FRAMES})`,
      );
    }
    const caller = this.frame;
    const callee = newFrame(
      frames.length,
      pc,
      this.s.funcOf[d.target],
      "r0 and r6-r9 start uninitialized in a called function",
    );
    for (let r = 1; r <= 5; r++) callee.regs[r] = caller.regs[r];
    frames.push(callee);
    return d.target;
  }

  doExit(pc: number): number {
    const f = this.frame;
    const r0 = f.regs[0];
    if (r0.t === T.NOT_INIT) {
      this.fail(
        pc,
        `R0 is not initialized at exit; set the return value${
          r0.note ? ` (${r0.note})` : ""
        }`,
      );
    }
    const frames = this.cur.frames;
    if (frames.length > 1) {
      if (r0.t === T.STACK && r0.frame === frames.length - 1) {
        this.fail(
          pc,
          `returning a pointer to the function's own stack is not allowed`,
        );
      }
      frames.pop();
      const caller = this.frame;
      caller.regs[0] = r0;
      const clob = notInit(
        `R0-R5 are clobbered by the call at insn ${f.callsite}`,
      );
      for (let r = 1; r <= 5; r++) caller.regs[r] = clob;
      return f.callsite + 1;
    }
    if (r0.t !== T.SCALAR) {
      this.fail(
        pc,
        `R0 is ${typeName(r0)} at exit; returning a pointer would leak it`,
      );
    }
    if (this.cur.refs.length > 0) {
      const ref = this.cur.refs[0];
      this.fail(
        pc,
        `the ringbuf record reserved at insn ${ref.pc} is neither submitted nor discarded on this path (unreleased reference)`,
      );
    }
    return -1;
  }

  /** Checks the combined stack along call chains; returns the deepest. */
  checkStackDepth(): number {
    const n = this.s.funcStarts.length;
    const round = (v: number) => Math.ceil(v / 16) * 16;
    const memoR = new Array<number>(n).fill(-1);
    const memoU = new Array<number>(n).fill(-1);
    const onPath = new Uint8Array(n);
    const chain = (f: number): [number, number] => {
      if (memoR[f] >= 0) return [memoR[f], memoU[f]];
      onPath[f] = 1;
      let bestR = 0, bestU = 0;
      for (const c of this.s.calls[f]) {
        if (onPath[c.callee]) continue;
        const [r, u] = chain(c.callee);
        bestR = Math.max(bestR, r);
        bestU = Math.max(bestU, u);
      }
      onPath[f] = 0;
      memoR[f] = round(this.funcDepth[f]) + bestR;
      memoU[f] = this.funcDepth[f] + bestU;
      return [memoR[f], memoU[f]];
    };
    const [total, raw] = chain(0);
    if (total > STACK_SIZE) {
      let at = 0, worst = -1;
      for (const c of this.s.calls[0]) {
        const [r] = chain(c.callee);
        if (r > worst) {
          worst = r;
          at = c.pc;
        }
      }
      this.fail(
        at,
        `combined stack size of the call chain is ${total} bytes, more than ${STACK_SIZE}`,
      );
    }
    return raw;
  }
}

function sign(v: number): string {
  return v < 0 ? `${v}` : `+${v}`;
}

function swapRange(d: Dec, r: Range): Range {
  const c = constOf(r);
  const bits = d.size;
  if (c !== undefined) {
    const low = BigInt.asUintN(bits, c);
    if (d.op === "le") return constRange(low);
    let out = 0n;
    for (let i = 0; i < bits / 8; i++) {
      out = (out << 8n) | ((low >> BigInt(i * 8)) & 0xffn);
    }
    return constRange(out);
  }
  if (bits === 64) return FULL;
  if (d.op === "le" && r.umax < (1n << BigInt(bits))) return r;
  const top = bits === 32 ? U32_MAX : 0xffffn;
  return { umin: 0n, umax: top, smin: 0n, smax: top };
}

function mapTypeName(t: number): string {
  for (const [k, v] of Object.entries(MapType)) if (v === t) return k;
  return String(t);
}

/**
 * Verifies a program; throws on the first rejection.
 *
 * @throws {VerifierError} with the instruction index, its disassembly and
 * the reason.
 * @throws {import("../bpf/validate.ts").InvalidInsnError} for a slot that
 * is not an instruction (a field missing, not an integer or out of range).
 * @throws {TypeError} or {RangeError} for malformed `opts`.
 * @example Accept a program that returns 0
 * ```ts
 * import { verify } from "./verifier.ts";
 * import { InsnBuilder } from "../bpf/builder.ts";
 * const b = new InsnBuilder();
 * b.movImm(0, 0);
 * b.exit();
 * const res = verify(b.build().insns, { maps: [], ctxSize: 8 });
 * console.assert(res.insnsProcessed === 2);
 * ```
 * @example Reject reading an uninitialized register
 * ```ts
 * import { verify, VerifierError } from "./verifier.ts";
 * import { InsnBuilder } from "../bpf/builder.ts";
 * const b = new InsnBuilder();
 * b.movReg(0, 2);
 * b.exit();
 * try {
 *   verify(b.build().insns, { maps: [], ctxSize: 8 });
 * } catch (e) {
 *   console.assert(e instanceof VerifierError && e.pc === 0);
 * }
 * ```
 */
export function verify(
  insns: readonly Insn[],
  opts: VerifyOptions,
): VerifyResult {
  checkVerifyArgs(insns, opts);
  return new Checker(insns, opts).run();
}

/** Input validation of {@linkcode verify} (see `bpf/validate.ts`). */
function checkVerifyArgs(insns: unknown, opts: unknown): void {
  const where = "verify()";
  checkInsns(insns, where);
  checkObject(opts, "options", where);
  if (!Array.isArray(opts.maps)) {
    throw new TypeError(
      `verify() expects options.maps to be an array, got ${
        describeValue(opts.maps)
      }`,
    );
  }
  opts.maps.forEach((m: unknown, i: number) => {
    checkObject(m, `options.maps[${i}]`, where);
    for (const k of ["type", "keySize", "valueSize", "maxEntries"]) {
      checkInt(m, k, `verify() options.maps[${i}]`, 0, 0xffffffff);
    }
  });
  checkInt(opts, "ctxSize", "verify() options", 0, 0x7fffffff);
  checkInt(opts, "progType", "verify() options", 0, 0xffff, true);
  const o = "verify() options";
  checkInt(opts, "maxInsnsProcessed", o, 0, Number.MAX_SAFE_INTEGER, true);
}
