/**
 * The verifier's first pass, over the program text alone: decodes every
 * slot and checks its encoding, checks jump and call targets, splits the
 * program into functions, finds unreachable instructions, marks the pruning
 * points, and computes which registers are live at each instruction.
 *
 * @module
 */

import type { Insn } from "../bpf/insn.ts";
import { PseudoSrc, R10 } from "../bpf/opcodes.ts";
import { constRange, type Range } from "./scalar.ts";
import { HELPER_PROTOS } from "./helper_protos.ts";
import { type Dec, decodeOne, type Fail } from "./decode_insn.ts";

export type { Dec, DecKind, Fail } from "./decode_insn.ts";

/** Most instruction slots a program may have (the kernel's limit). */
export const MAX_INSNS = 1_000_000;

/** The result of the structural pass. */
export interface Structure {
  /** Per pc; undefined for the second slot of ld_imm64. */
  dec: (Dec | undefined)[];
  /** Start pc of each function; [0] is the main program. */
  funcStarts: number[];
  /** Per pc, the index in funcStarts of its function. */
  funcOf: Int32Array;
  /** Per pc, non-zero where states are remembered for pruning. */
  prune: Uint8Array;
  /** Per pc, bit r set when register r may be read before written. */
  liveIn: Uint16Array;
  /**
   * Per pc, bit r set when register r's value (not just its kind) may
   * matter from this pc on: it may flow into a compare, pointer
   * arithmetic, a memory address, a store, a checked helper argument, a
   * local call, or a function's return value. Scalars whose bit is clear
   * are compared by kind only when pruning.
   */
  needIn: Uint16Array;
  /**
   * Per pc, two 32-bit words (at 2*pc and 2*pc+1): bit k set when the
   * value of the 8-byte slot k of the current frame (k = (512 + off) >> 3,
   * off relative to r10) may matter, in the same sense as `needIn`.
   * Spilled scalars in other slots are compared by kind only.
   */
  slotNeedIn: Int32Array;
  /** Per function, the call instructions it contains (pc, callee func). */
  calls: { pc: number; callee: number }[][];
}

const CALLER_SAVED = 0b111111; // r0-r5

/**
 * Runs the structural checks and analyses; rejections go through `fail`.
 *
 * @example Find the functions of a program
 * ```ts
 * import { analyzeStructure } from "./structure.ts";
 * import { InsnBuilder } from "../bpf/builder.ts";
 * const b = new InsnBuilder();
 * b.callLocal("f").exit().label("f").movImm(0, 0).exit();
 * const s = analyzeStructure(b.build().insns, 0, (pc, why) => {
 *   throw new Error(`${pc}: ${why}`);
 * });
 * console.assert(s.funcStarts.join() === "0,2");
 * ```
 */
export function analyzeStructure(
  insns: readonly Insn[],
  mapCount: number,
  fail: Fail,
): Structure {
  const n = insns.length;
  if (n === 0) fail(0, "the program is empty");
  if (n > MAX_INSNS) {
    fail(
      MAX_INSNS,
      `the program has ${n} instruction slots, more than the limit of ${MAX_INSNS}`,
    );
  }
  const dec: (Dec | undefined)[] = new Array(n);
  const second = new Uint8Array(n);
  // Ranges are immutable: one per distinct immediate.
  const immRanges = new Map<number, Range>();
  for (let pc = 0; pc < n; pc++) {
    if (second[pc]) continue;
    const d = decodeOne(insns, pc, mapCount, fail);
    if (d.imm !== 0) {
      // 64-bit operations sign-extend the immediate, 32-bit ones do not.
      const v = d.bits === 64 ? d.imm : d.imm >>> 0;
      let r = immRanges.get(v);
      if (r === undefined) immRanges.set(v, r = constRange(BigInt(v)));
      d.immR = r;
    }
    dec[pc] = d;
    if (d.k === "ldimm64") second[pc + 1] = 1;
  }
  // Targets of jumps and calls.
  const starts = new Set<number>([0]);
  for (let pc = 0; pc < n; pc++) {
    const d = dec[pc];
    if (!d) continue;
    if (d.k === "ldimm64" && d.src === PseudoSrc.FUNC) {
      if (d.target < 0 || d.target >= n || second[d.target]) {
        fail(pc, `callback function out of range: target ${d.target}`);
      }
      starts.add(d.target);
    } else if (d.k === "callLocal") {
      if (d.target < 0 || d.target >= n) {
        fail(
          pc,
          `call to a local function out of range: target ${d.target} is outside [0, ${n})`,
        );
      }
      if (second[d.target]) {
        fail(pc, `call into the middle of ld_imm64 at insn ${d.target}`);
      }
      starts.add(d.target);
    } else if (d.k === "ja" || d.k === "jcond") {
      if (d.target < 0 || d.target >= n) {
        fail(
          pc,
          `jump out of range: target ${d.target} is outside [0, ${n})`,
        );
      }
      if (second[d.target]) {
        fail(
          pc,
          `jump into the second slot of the ld_imm64 at insn ${d.target - 1}`,
        );
      }
    }
  }
  const funcStarts = [...starts].sort((a, b) => a - b);
  const funcOf = new Int32Array(n);
  for (let f = 0; f < funcStarts.length; f++) {
    const end = f + 1 < funcStarts.length ? funcStarts[f + 1] : n;
    for (let pc = funcStarts[f]; pc < end; pc++) funcOf[pc] = f;
    // The last slot of every function must leave it.
    let last = end - 1;
    if (second[last]) last--;
    const d = dec[last]!;
    if (d.k !== "exit" && d.k !== "ja") {
      fail(
        last,
        end === n
          ? "the last instruction is not exit or ja: execution can fall off the end of the program"
          : `the last instruction of a function is not exit or ja: execution can fall into the function at insn ${end}`,
      );
    }
  }
  const calls: { pc: number; callee: number }[][] = funcStarts.map(() => []);
  for (let pc = 0; pc < n; pc++) {
    const d = dec[pc];
    if (!d) continue;
    if ((d.k === "ja" || d.k === "jcond") && funcOf[d.target] !== funcOf[pc]) {
      fail(
        pc,
        `jump out of its function: target ${d.target} belongs to another function`,
      );
    }
    if (
      d.k === "callLocal" || (d.k === "ldimm64" && d.src === PseudoSrc.FUNC)
    ) {
      calls[funcOf[pc]].push({
        pc,
        callee: funcStarts.indexOf(d.target),
      });
    }
  }
  // Reachability from the entry, entering called functions.
  const seen = new Uint8Array(n);
  const work = [0];
  seen[0] = 1;
  const prune = new Uint8Array(n);
  const visit = (to: number): void => {
    if (!seen[to]) {
      seen[to] = 1;
      work.push(to);
    }
  };
  while (work.length > 0) {
    const pc = work.pop()!;
    const d = dec[pc]!;
    const next = pc + (d.k === "ldimm64" ? 2 : 1);
    switch (d.k) {
      case "exit":
        break;
      case "ja":
        prune[d.target] = 1;
        visit(d.target);
        break;
      case "jcond":
        prune[d.target] = 1;
        prune[next] = 1;
        visit(d.target);
        visit(next);
        break;
      case "callLocal":
        prune[next] = 1;
        visit(d.target);
        visit(next);
        break;
      case "ldimm64":
        if (d.src === PseudoSrc.FUNC) visit(d.target);
        visit(next);
        break;
      default:
        visit(next);
    }
  }
  for (let pc = 0; pc < n; pc++) {
    if (!seen[pc] && !second[pc]) {
      fail(pc, "unreachable instruction: no path from the entry reaches it");
    }
  }
  const e = edges(dec, n);
  return {
    dec,
    funcStarts,
    funcOf,
    prune,
    liveIn: backward(dec, n, e, (_pc, d, out) => {
      const [use, def] = useDef(d);
      return (out & ~def) | use;
    }),
    ...needs(needAnalysis(dec, n, funcOf, e)),
    calls,
  };
}

function needs(
  r: { regs: Uint16Array; slots: Int32Array },
): { needIn: Uint16Array; slotNeedIn: Int32Array } {
  return { needIn: r.regs, slotNeedIn: r.slots };
}

/** Bits of the registers an instruction reads, and of those it writes. */
function useDef(d: Dec): [number, number] {
  const b = bit;
  switch (d.k) {
    case "alu":
      return [b(d.dst) | (d.useReg ? b(d.src) : 0), b(d.dst)];
    case "mov":
    case "movsx":
      return [d.useReg ? b(d.src) : 0, b(d.dst)];
    case "neg":
    case "end":
      return [b(d.dst), b(d.dst)];
    case "ldimm64":
      return [0, b(d.dst)];
    case "ldx":
      return [b(d.src), b(d.dst)];
    case "st":
      return [b(d.dst), 0];
    case "stx":
      return [b(d.dst) | b(d.src), 0];
    case "atomic": {
      const cmp = d.op === "CMPXCHG";
      const use = b(d.dst) | b(d.src) | (cmp ? 1 : 0);
      return [use, cmp ? 1 : d.sx ? b(d.src) : 0];
    }
    case "ja":
      return [0, 0];
    case "jcond":
      return [b(d.dst) | (d.useReg ? b(d.src) : 0), 0];
    case "call": {
      const nargs = HELPER_PROTOS.get(d.imm)?.args.length ?? 5;
      return [((1 << nargs) - 1) << 1, CALLER_SAVED];
    }
    case "callLocal":
      return [0b111110, CALLER_SAVED];
    case "exit":
      return [1, 0];
  }
}

const bit = (r: number): number => 1 << r;

/** Value-need facts: registers (bits 0-10) and stack slots (64 bits). */
interface Need {
  r: number;
  /** Slots 0-31 (fp-512 to fp-257), bit = slot index. */
  s0: number;
  /** Slots 32-63 (fp-256 to fp-1). */
  s1: number;
}

/** Marks (or, with `kill`, clears) the 8-byte slots [off, off+size) of fp. */
function slots(n: Need, off: number, size: number, kill: boolean): void {
  const a = off + 512, b = a + size;
  if (a < 0 || b > 512 || size <= 0) return;
  for (let sl = a >> 3; sl <= (b - 1) >> 3; sl++) {
    if (sl < 32) n.s0 = kill ? n.s0 & ~(1 << sl) : n.s0 | (1 << sl);
    else n.s1 = kill ? n.s1 & ~(1 << (sl - 32)) : n.s1 | (1 << (sl - 32));
  }
}

function slotsNeeded(n: Need, off: number, size: number): boolean {
  const a = off + 512, b = a + size;
  if (a < 0 || b > 512) return true;
  for (let sl = a >> 3; sl <= (b - 1) >> 3; sl++) {
    if (sl < 32 ? n.s0 & (1 << sl) : n.s1 & (1 << (sl - 32))) return true;
  }
  return false;
}

/**
 * Turns the value-need facts after `d` into those before it (in place):
 * which registers and fp-relative stack slots may have their value flow
 * into something the checker looks at.
 */
function needed(d: Dec, n: Need, inSubprog: boolean): void {
  const has = (r: number): boolean => (n.r & bit(r)) !== 0;
  const all = (): void => {
    n.s0 = -1;
    n.s1 = -1;
  };
  switch (d.k) {
    case "alu":
      if (d.useReg && (d.op === "ADD" || d.op === "SUB")) {
        n.r |= bit(d.dst) | bit(d.src);
      } else if (has(d.dst) && d.useReg) n.r |= bit(d.src);
      return;
    case "mov":
    case "movsx": {
      const h = has(d.dst);
      n.r &= ~bit(d.dst);
      if (h && d.useReg) n.r |= bit(d.src);
      return;
    }
    case "neg":
    case "end":
    case "ja":
      return;
    case "ldimm64":
      n.r &= ~bit(d.dst);
      return;
    case "ldx": {
      const h = has(d.dst);
      n.r = (n.r & ~bit(d.dst)) | bit(d.src);
      if (h) {
        if (d.src === R10) slots(n, d.off, d.size, false);
        else all();
      }
      return;
    }
    case "st":
      n.r |= bit(d.dst);
      if (d.dst === R10 && d.size === 8 && (d.off & 7) === 0) {
        slots(n, d.off, 8, true);
      }
      return;
    case "stx":
      n.r |= bit(d.dst);
      if (d.dst !== R10) {
        n.r |= bit(d.src);
      } else if (d.size === 8 && (d.off & 7) === 0) {
        if (slotsNeeded(n, d.off, 8)) n.r |= bit(d.src);
        slots(n, d.off, 8, true);
      }
      return;
    case "atomic": {
      const out = d.op === "CMPXCHG" ? 0 : d.sx ? d.src : -1;
      const h = out >= 0 && has(out);
      if (out >= 0) n.r &= ~bit(out);
      n.r |= bit(d.dst);
      if (h) {
        if (d.dst === R10) slots(n, d.off, d.size, false);
        else all();
      }
      return;
    }
    case "jcond":
      n.r |= bit(d.dst) | (d.useReg ? bit(d.src) : 0);
      return;
    case "call": {
      n.r &= ~CALLER_SAVED;
      const args = HELPER_PROTOS.get(d.imm)?.args ?? [];
      args.forEach((k, i) => {
        if (k !== "anything" && k !== "dontcare") n.r |= bit(i + 1);
      });
      return;
    }
    case "callLocal":
      n.r = (n.r & ~CALLER_SAVED) | 0b111110;
      all();
      return;
    case "exit":
      n.r = inSubprog ? 1 : 0;
      n.s0 = n.s1 = 0;
      return;
  }
}

/** The value-need analysis: per pc, registers and stack slots. */
function needAnalysis(
  dec: (Dec | undefined)[],
  n: number,
  funcOf: Int32Array,
  e: Edges,
): { regs: Uint16Array; slots: Int32Array } {
  const regs = new Uint16Array(n);
  const sl = new Int32Array(2 * n);
  const { succ, predStart, pred } = e;
  const work: number[] = [];
  const queued = new Uint8Array(n);
  for (let pc = 0; pc < n; pc++) {
    if (dec[pc]) {
      work.push(pc);
      queued[pc] = 1;
    }
  }
  const cur: Need = { r: 0, s0: 0, s1: 0 };
  while (work.length > 0) {
    const pc = work.pop()!;
    queued[pc] = 0;
    cur.r = cur.s0 = cur.s1 = 0;
    for (let k = 0; k < 2; k++) {
      const s = succ[2 * pc + k];
      if (s < 0) continue;
      cur.r |= regs[s];
      cur.s0 |= sl[2 * s];
      cur.s1 |= sl[2 * s + 1];
    }
    needed(dec[pc]!, cur, funcOf[pc] !== 0);
    cur.r |= bit(R10);
    if (
      cur.r !== regs[pc] || cur.s0 !== sl[2 * pc] || cur.s1 !== sl[2 * pc + 1]
    ) {
      regs[pc] = cur.r;
      sl[2 * pc] = cur.s0;
      sl[2 * pc + 1] = cur.s1;
      for (let q = predStart[pc]; q < predStart[pc + 1]; q++) {
        const p = pred[q];
        if (!queued[p]) {
          queued[p] = 1;
          work.push(p);
        }
      }
    }
  }
  return { regs, slots: sl };
}

/** Control flow edges: up to two successors per pc, predecessors as CSR. */
interface Edges {
  /** succ[2*pc], succ[2*pc+1]: successor pcs, -1 when absent. */
  succ: Int32Array;
  /** Predecessors of pc are pred[predStart[pc] .. predStart[pc+1]). */
  predStart: Int32Array;
  pred: Int32Array;
}

function edges(dec: (Dec | undefined)[], n: number): Edges {
  const succ = new Int32Array(2 * n).fill(-1);
  const count = new Int32Array(n + 1);
  for (let pc = 0; pc < n; pc++) {
    const d = dec[pc];
    if (!d) continue;
    const next = pc + (d.k === "ldimm64" ? 2 : 1);
    if (d.k === "exit") continue;
    if (d.k === "ja") succ[2 * pc] = d.target;
    else if (d.k === "jcond") {
      succ[2 * pc] = d.target;
      succ[2 * pc + 1] = next;
    } else if (next < n) succ[2 * pc] = next;
    for (let k = 0; k < 2; k++) {
      const t = succ[2 * pc + k];
      if (t >= 0) count[t + 1]++;
    }
  }
  for (let pc = 0; pc < n; pc++) count[pc + 1] += count[pc];
  const predStart = count.slice();
  const pred = new Int32Array(count[n]);
  const fillAt = count.slice(0, n);
  for (let pc = 0; pc < n; pc++) {
    for (let k = 0; k < 2; k++) {
      const t = succ[2 * pc + k];
      if (t >= 0) pred[fillAt[t]++] = pc;
    }
  }
  return { succ, predStart, pred };
}

/**
 * A backward may-analysis over each function's control flow graph (calls
 * are treated as ordinary instructions; exit has no successor).
 */
function backward(
  dec: (Dec | undefined)[],
  n: number,
  e: Edges,
  transfer: (pc: number, d: Dec, out: number) => number,
): Uint16Array {
  const result = new Uint16Array(n);
  const { succ, predStart, pred } = e;
  const work: number[] = [];
  const queued = new Uint8Array(n);
  for (let pc = 0; pc < n; pc++) {
    if (dec[pc]) {
      work.push(pc);
      queued[pc] = 1;
    }
  }
  while (work.length > 0) {
    const pc = work.pop()!;
    queued[pc] = 0;
    let out = 0;
    const s0 = succ[2 * pc], s1 = succ[2 * pc + 1];
    if (s0 >= 0) out |= result[s0];
    if (s1 >= 0) out |= result[s1];
    const inn = transfer(pc, dec[pc]!, out) | bit(R10);
    if (inn !== result[pc]) {
      result[pc] = inn;
      for (let q = predStart[pc]; q < predStart[pc + 1]; q++) {
        const p = pred[q];
        if (!queued[p]) {
          queued[p] = 1;
          work.push(p);
        }
      }
    }
  }
  return result;
}
