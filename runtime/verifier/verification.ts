/**
 * The state of one verification run, shared by the verifier's passes: the
 * program, its options and structure, the path being followed (`cur`, `pc`),
 * the checkpoints remembered for pruning and the paths still to explore.
 * The passes are free functions taking this object (`explore.ts` follows
 * paths, `step.ts` executes one instruction, `branches.ts` narrows at
 * conditional jumps, `memory.ts` checks loads, stores and memory arguments,
 * `calls.ts` checks helper calls, local calls and exits).
 *
 * @module
 */

import type { Insn } from "../bpf/insn.ts";
import { formatInsn } from "../bpf/disasm.ts";
import { MAX_INSNS_PROCESSED } from "../bpf/opcodes.ts";
import { VerifierError } from "./error.ts";
import { type Frame, type Reg, type State, T } from "./state.ts";
import { analyzeStructure, type Structure } from "./structure.ts";
import type { VerifyOptions } from "./options.ts";

/** Most call frames at once (main program included). */
export const MAX_FRAMES = 8;
/** Bound on a pointer's offset and on the scalar added to it. */
export const MAX_VAR_OFF = 1 << 29;
/** Bound on a helper's size argument. */
export const MAX_SIZE = 1n << 29n;
/**
 * Most paths waiting to be explored at once: the kernel's
 * `BPF_COMPLEXITY_LIMIT_JMP_SEQ` ("The sequence of 8193 jumps is too
 * complex."). It bounds the memory held by queued states.
 */
export const MAX_PENDING = 8192;
/**
 * Most states kept at checkpoints at once, explored or being explored.
 * Beyond it the oldest explored ones are let go, and while every kept
 * state is still being explored no new checkpoint is made. Sound: a
 * checkpoint only saves work (a path that is not pruned is checked in
 * full, a loop that is not caught repeating runs into the budget). The
 * kernel keeps every state that still prunes (its `peak_states`); a
 * program with a join every few instructions can leave 100,000 of them,
 * 2-7 KB each here. No program of the tests and fuzzers keeps more than
 * 64.
 */
export const MAX_KEPT_STATES = 16_384;

/** A state remembered at a prune point. */
export interface Checkpoint {
  state: State;
  /** Paths still being explored below this checkpoint. */
  branches: number;
  parent: Checkpoint | null;
  hit: number;
  miss: number;
  pc: number;
  /** Let go: no longer in its pc's lists, its state freed. */
  gone: boolean;
  /**
   * `stateHash` of the state, computed when a loop first comes back to
   * `pc` while the checkpoint is still being explored.
   */
  hash: number | undefined;
}

/** The checkpoints remembered at one pc. */
export interface PcCheckpoints {
  /** Fully explored: usable for pruning. */
  done: Checkpoint[];
  /**
   * Still being explored, by hash: a loop that comes back to `pc` in the
   * state of one of them is infinite.
   */
  active: Map<number, Checkpoint[]> | undefined;
  /** Still being explored, not hashed yet (no loop came back yet). */
  unhashed: Checkpoint[];
  /** Checkpoints still being explored, hashed or not. */
  activeCount: number;
}

/** A path queued for exploration. */
interface Pending {
  state: State;
  pc: number;
  cp: Checkpoint | null;
  from: number;
}

/**
 * One verification run: the program, what was learnt about it, and the
 * path being followed. The passes in this folder read and update it.
 */
export class Verification {
  /** The program. */
  readonly insns: readonly Insn[];
  /** Maps, context size and limits. */
  readonly opts: VerifyOptions;
  /** Decoded slots, functions, prune points and static liveness. */
  readonly s: Structure;
  /** Most instructions to process over all paths. */
  readonly budget: number;
  /** Instructions processed so far. */
  processed = 0;
  /** Next id for `newId`. */
  nextId = 1;
  /** Deepest stack byte used, per function. */
  readonly funcDepth: number[];
  /** Remembered states, per pc. */
  readonly checkpoints: (PcCheckpoints | undefined)[];
  /** Paths still to explore. */
  readonly pending: Pending[] = [];
  /** Fully explored checkpoints, oldest first (from `doneHead` on). */
  doneOrder: Checkpoint[] = [];
  /** Index of the oldest entry of `doneOrder` still to look at. */
  doneHead = 0;
  /** Fully explored checkpoints kept for pruning. */
  doneCount = 0;
  /** Checkpoints still being explored. */
  activeCount = 0;
  /** Jumps since the last checkpoint (how often to remember states). */
  jmpsSinceCp = 0;
  /** Instructions since the last checkpoint. */
  insnsSinceCp = 0;
  /** The state of the path being followed. */
  cur!: State;
  /** The pc of the path being followed. */
  pc = 0;
  /** The innermost checkpoint above the current path. */
  cp: Checkpoint | null = null;
  from = -1;

  /** Prepares a run: checks the structure and decodes every slot. */
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

  /** Rejects the program at `pc` for `reason`. */
  fail(pc: number, reason: string): never {
    const text = pc >= 0 && pc < this.insns.length
      ? formatInsn(this.insns, pc)
      : "end of program";
    throw new VerifierError(pc, text, reason);
  }

  /** The innermost call frame of the current path. */
  get frame(): Frame {
    const f = this.cur.frames;
    return f[f.length - 1];
  }

  /** Reads register `r`, refusing an uninitialized one. */
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

  /** Writes register `r` of the current frame. */
  set(r: number, reg: Reg): void {
    this.frame.regs[r] = reg;
  }

  /** A fresh id for a pointer that may be NULL or a reference. */
  newId(): number {
    return this.nextId++;
  }

  /**
   * Queues the other side of a branch, starting at `pc` in `state`;
   * refuses the program when more than `MAX_PENDING` paths would wait.
   */
  fork(state: State, pc: number): void {
    if (this.pending.length >= MAX_PENDING) {
      this.fail(
        this.pc,
        `the program is too complex: more than ${MAX_PENDING} branches wait to be explored at once (a loop that is not provably bounded, or too many paths)`,
      );
    }
    if (this.cp) this.cp.branches++;
    this.pending.push({ state, pc, cp: this.cp, from: this.pc });
  }
}
