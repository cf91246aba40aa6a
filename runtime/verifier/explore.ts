/**
 * Path exploration for the verifier: follows every path from the entry,
 * remembers states at prune points, drops a path whose state is covered by a
 * fully explored one, detects loops that return in the same state, enforces
 * the processed-instruction budget, and finally checks the combined stack
 * depth along call chains.
 *
 * @module
 */

import { STACK_SIZE } from "../bpf/opcodes.ts";
import { FULL } from "./scalar.ts";
import {
  copyState,
  mkReg,
  newFrame,
  type State,
  stateCovers,
  stateEqual,
  stateHash,
  T,
} from "./state.ts";
import type { VerifyResult } from "./options.ts";
import {
  type Checkpoint,
  MAX_KEPT_STATES,
  type PcCheckpoints,
  type Verification,
} from "./verification.ts";
import { step } from "./step.ts";

const PRUNED = Symbol("pruned");

/**
 * Follows every path of the program from its entry; returns the figures of
 * an accepted program, throws `VerifierError` on the first rejection.
 */
export function run(vr: Verification): VerifyResult {
  const main = newFrame(
    0,
    -1,
    0,
    "only r1 (context) and r10 are set at entry",
  );
  main.regs[1] = mkReg(T.CTX);
  if (vr.opts.r2Scalar) main.regs[2] = mkReg(T.SCALAR, { r: FULL });
  vr.cur = { frames: [main], refs: [] };
  vr.pc = 0;
  for (;;) {
    const alive = followPath(vr);
    if (!alive) {
      endPath(vr);
      const next = vr.pending.pop();
      if (!next) break;
      vr.cur = next.state;
      vr.pc = next.pc;
      vr.cp = next.cp;
      vr.from = next.from;
    }
  }
  return {
    insnsProcessed: vr.processed,
    maxStackDepth: checkStackDepth(vr),
  };
}

/** Follows the current path until it ends; false when it did. */
function followPath(vr: Verification): boolean {
  for (;;) {
    const pc = vr.pc;
    if (vr.s.prune[pc]) {
      const r = visitPrunePoint(vr, pc);
      if (r === PRUNED) return false;
      vr.cp = r;
    }
    if (++vr.processed > vr.budget) {
      vr.fail(
        pc,
        `the program is too complex: more than ${vr.budget} instructions processed (a loop that is not provably bounded, or too many paths)`,
      );
    }
    vr.insnsSinceCp++;
    const next = step(vr, pc, vr.s.dec[pc]!);
    if (next < 0) return false;
    vr.from = pc;
    vr.pc = next;
  }
}

function endPath(vr: Verification): void {
  let c = vr.cp;
  while (c) {
    c.branches--;
    if (c.branches > 0) break;
    const up = c.parent;
    complete(vr, c);
    c = up;
  }
}

/**
 * Moves a checkpoint whose paths are all explored to the done list, and
 * lets go of its parent (no longer needed: the state can be freed once
 * pruning drops it).
 */
function complete(vr: Verification, c: Checkpoint): void {
  const at = vr.checkpoints[c.pc]!;
  if (c.hash === undefined) {
    at.unhashed.splice(at.unhashed.lastIndexOf(c), 1);
  } else {
    const bucket = at.active!.get(c.hash)!;
    bucket.splice(bucket.lastIndexOf(c), 1);
    if (bucket.length === 0) at.active!.delete(c.hash);
  }
  at.activeCount--;
  vr.activeCount--;
  c.parent = null;
  at.done.push(c);
  vr.doneOrder.push(c);
  vr.doneCount++;
  if (vr.doneCount + vr.activeCount > MAX_KEPT_STATES) evictOldest(vr);
  // Forget the checkpoints dropped meanwhile (most are, by misses).
  const listed = vr.doneOrder.length - vr.doneHead;
  if (listed > 4096 && listed > 2 * vr.doneCount) {
    vr.doneOrder = vr.doneOrder.slice(vr.doneHead).filter((d) => !d.gone);
    vr.doneHead = 0;
  }
}

/** A state for checkpoints that were let go: nothing left to compare. */
const RELEASED: State = { frames: [], refs: [] };

/** Lets go of a done checkpoint (no longer listed at its pc). */
function release(vr: Verification, c: Checkpoint): void {
  c.gone = true;
  c.state = RELEASED;
  vr.doneCount--;
}

/** Lets go of the oldest done checkpoints beyond `MAX_KEPT_STATES`. */
function evictOldest(vr: Verification): void {
  const order = vr.doneOrder;
  while (vr.doneCount > 0 && vr.doneCount + vr.activeCount > MAX_KEPT_STATES) {
    const c = order[vr.doneHead++];
    if (c.gone) continue;
    const list = vr.checkpoints[c.pc]!.done;
    list.splice(list.indexOf(c), 1);
    release(vr, c);
  }
}

/** Files checkpoint `c` of `at` under its state's hash. */
function index(at: PcCheckpoints, c: Checkpoint, hash: number): void {
  c.hash = hash;
  at.active ??= new Map();
  const bucket = at.active.get(hash);
  if (bucket) bucket.push(c);
  else at.active.set(hash, [c]);
}

function visitPrunePoint(
  vr: Verification,
  pc: number,
): Checkpoint | null | typeof PRUNED {
  let at = vr.checkpoints[pc];
  if (!at) {
    at = vr.checkpoints[pc] = {
      done: [],
      active: undefined,
      unhashed: [],
      activeCount: 0,
    };
  }
  // Coming back to a pc whose exploration is still under way: a loop.
  const looping = at.activeCount > 0;
  let hash = 0;
  if (looping) {
    for (const c of at.unhashed) index(at, c, stateHash(c.state));
    at.unhashed.length = 0;
    hash = stateHash(vr.cur);
    for (const c of at.active?.get(hash) ?? []) {
      if (stateEqual(c.state, vr.cur)) {
        vr.fail(
          pc,
          `infinite loop detected: the back-edge from insn ${vr.from} returns here in the same state, so the loop is not bounded`,
        );
      }
    }
  }
  let drop = false;
  for (const c of at.done) {
    if (stateCovers(c.state, vr.cur, pc, vr.s)) {
      c.hit++;
      return PRUNED;
    }
    c.miss++;
    if (c.miss > c.hit * 3 + 3) drop = true;
  }
  if (drop) {
    at.done = at.done.filter((c) => {
      if (c.miss <= c.hit * 3 + 3) return true;
      release(vr, c);
      return false;
    });
  }
  const rare = vr.jmpsSinceCp < 2 && vr.insnsSinceCp < 8;
  const loopRare = vr.jmpsSinceCp < 20 && vr.insnsSinceCp < 100;
  if (rare || (looping && loopRare)) return vr.cp;
  if (vr.activeCount >= MAX_KEPT_STATES) return vr.cp;
  const c: Checkpoint = {
    state: copyState(vr.cur),
    branches: 1,
    parent: vr.cp,
    hit: 0,
    miss: 0,
    pc,
    gone: false,
    hash: undefined,
  };
  if (looping) index(at, c, hash);
  else at.unhashed.push(c);
  at.activeCount++;
  vr.activeCount++;
  if (vr.doneCount + vr.activeCount > MAX_KEPT_STATES) evictOldest(vr);
  vr.jmpsSinceCp = 0;
  vr.insnsSinceCp = 0;
  return c;
}

/** Checks the combined stack along call chains; returns the deepest. */
function checkStackDepth(vr: Verification): number {
  const n = vr.s.funcStarts.length;
  const round = (v: number) => Math.ceil(v / 16) * 16;
  const memoR = new Array<number>(n).fill(-1);
  const memoU = new Array<number>(n).fill(-1);
  const onPath = new Uint8Array(n);
  const chain = (f: number): [number, number] => {
    if (memoR[f] >= 0) return [memoR[f], memoU[f]];
    onPath[f] = 1;
    let bestR = 0, bestU = 0;
    for (const c of vr.s.calls[f]) {
      if (onPath[c.callee]) continue;
      const [r, u] = chain(c.callee);
      bestR = Math.max(bestR, r);
      bestU = Math.max(bestU, u);
    }
    onPath[f] = 0;
    memoR[f] = round(vr.funcDepth[f]) + bestR;
    memoU[f] = vr.funcDepth[f] + bestU;
    return [memoR[f], memoU[f]];
  };
  const [total, raw] = chain(0);
  if (total > STACK_SIZE) {
    let at = 0, worst = -1;
    for (const c of vr.s.calls[0]) {
      const [r] = chain(c.callee);
      if (r > worst) {
        worst = r;
        at = c.pc;
      }
    }
    // The frames of the deepest chain, to say where the stack goes.
    const frames: string[] = [];
    const seen = new Set<number>();
    for (let f: number | undefined = 0; f !== undefined;) {
      seen.add(f);
      const start = vr.s.funcStarts[f];
      frames.push(
        `${vr.funcDepth[f]} bytes ${
          f === 0
            ? "in the main program"
            : `in the function at instruction ${start}`
        }`,
      );
      let next: number | undefined, best = -1;
      for (const c of vr.s.calls[f]) {
        if (!seen.has(c.callee) && c.callee !== f && memoR[c.callee] > best) {
          best = memoR[c.callee];
          next = c.callee;
        }
      }
      f = next;
    }
    vr.fail(
      at,
      `combined stack size of the call chain is ${total} bytes, more than ${STACK_SIZE} (${
        frames.join(", ")
      })`,
    );
  }
  return raw;
}
