/**
 * Register allocation for the code generator: values live in registers
 * (callee-saved r6-r9 preferred, then r1-r5), are moved out of r0-r5 before
 * every helper call, and spill to stack slots when registers run out.
 *
 * @module
 */

import type { InsnBuilder } from "../bpf/builder.ts";
import { R10 } from "../bpf/opcodes.ts";

/** Where a value is. */
export type Loc =
  | { kind: "imm"; v: bigint }
  | { kind: "reg"; r: number }
  | { kind: "spill"; off: number };

/** A value handle; its location changes when it is evicted or spilled. */
export interface Ref {
  /** Current location. */
  loc: Loc;
  /** Allocation order; values older than a split floor never spill. */
  gen: number;
  /** Must stay in a callee-saved register (ring buffer records). */
  pinned?: boolean;
  /** In use by the instruction being emitted: never spilled. */
  held?: boolean;
}

/** Thrown when an expression needs more registers than exist. */
export class RegisterPressureError extends RangeError {
  /** The standard message. */
  constructor() {
    super("Expression is too complex: out of registers");
    this.name = "RegisterPressureError";
  }
}

const CALLEE = [7, 8, 9, 6];
const CALLER = [1, 2, 3, 4, 5, 0];

/**
 * Tracks which register holds which value.
 *
 * @example Allocate and free
 * ```ts
 * import { InsnBuilder } from "../bpf/builder.ts";
 * import { RegAlloc } from "./regs.ts";
 * const ra = new RegAlloc(new InsnBuilder(), () => -8, new Set([6]));
 * const r = ra.newReg();
 * console.assert(r.loc.kind === "reg");
 * ra.free(r);
 * ```
 */
export class RegAlloc {
  #b: InsnBuilder;
  #owner: (Ref | undefined)[] = new Array(11).fill(undefined);
  #reserved: Set<number>;
  #spillSlot: () => number;
  #gen = 0;
  /** Values with `gen` below this are not spilled (inside a branch arm). */
  floor = 0;

  /**
   * Starts with every register free.
   *
   * @param b The builder to emit moves into.
   * @param spillSlot Allocates an 8-byte stack slot (returns its offset).
   * @param reserved Registers never handed out (ctx).
   * @example Construct
   * ```ts
   * import { InsnBuilder } from "../bpf/builder.ts";
   * import { RegAlloc } from "./regs.ts";
   * const ra = new RegAlloc(new InsnBuilder(), () => -8, new Set());
   * console.assert(ra.live().length === 0);
   * ```
   */
  constructor(b: InsnBuilder, spillSlot: () => number, reserved: Set<number>) {
    this.#b = b;
    this.#spillSlot = spillSlot;
    this.#reserved = reserved;
  }

  /** A constant value. */
  imm(v: bigint | number): Ref {
    return { loc: { kind: "imm", v: BigInt(v) }, gen: this.#gen++ };
  }

  /**
   * A value held in the 8-byte stack slot at `off`, which its holder only
   * reads: it moves to a register when used, the slot stays as it is.
   */
  slot(off: number): Ref {
    return { loc: { kind: "spill", off }, gen: this.#gen++ };
  }

  /** Raises the split floor to now; returns the old floor. */
  split(): number {
    const old = this.floor;
    this.floor = this.#gen;
    return old;
  }

  /** The first register of `list` neither reserved nor holding a value. */
  #freeReg(list: number[]): number | undefined {
    for (const r of list) {
      if (!this.#reserved.has(r) && this.#owner[r] === undefined) return r;
    }
    return undefined;
  }

  /**
   * A register for a new value: a free one (callee-saved first), else
   * the oldest movable value's, spilled to the stack.
   */
  #grab(): number {
    const r = this.#freeReg(CALLEE) ?? this.#freeReg(CALLER);
    if (r !== undefined) return r;
    // Spill the oldest value allowed to move.
    let victim: Ref | undefined;
    for (let i = 0; i <= 9; i++) {
      const o = this.#owner[i];
      if (
        o !== undefined && !o.pinned && !o.held && o.gen >= this.floor &&
        (victim === undefined || o.gen < victim.gen)
      ) victim = o;
    }
    if (victim === undefined || victim.loc.kind !== "reg") {
      throw new RegisterPressureError();
    }
    const freed = victim.loc.r;
    this.#spill(victim);
    return freed;
  }

  /** Moves a value from its register to a stack slot. */
  #spill(ref: Ref): void {
    if (ref.loc.kind !== "reg") return;
    const off = this.#spillSlot();
    this.#b.stx(8, R10, off, ref.loc.r);
    this.#owner[ref.loc.r] = undefined;
    ref.loc = { kind: "spill", off };
  }

  /** A new value in a fresh register (contents undefined). */
  newReg(): Ref {
    const r = this.#grab();
    const ref: Ref = { loc: { kind: "reg", r }, gen: this.#gen++ };
    this.#owner[r] = ref;
    return ref;
  }

  /** Claims a specific register (must be free), e.g. r0 after a call. */
  claim(r: number): Ref {
    const ref: Ref = { loc: { kind: "reg", r }, gen: this.#gen++ };
    this.#owner[r] = ref;
    return ref;
  }

  /** Releases a value's register. */
  free(ref: Ref | undefined): void {
    if (ref !== undefined && ref.loc.kind === "reg") {
      if (this.#owner[ref.loc.r] === ref) this.#owner[ref.loc.r] = undefined;
    }
  }

  /**
   * Puts every value in a register at once (none is spilled to make room
   * for another) and returns the registers, valid until the next
   * allocation.
   */
  regs(...refs: Ref[]): number[] {
    const old = refs.map((r) => r.held);
    for (const r of refs) r.held = true;
    try {
      return refs.map((r) => this.reg(r));
    } finally {
      refs.forEach((r, i) => (r.held = old[i]));
    }
  }

  /** Runs `f` with the values held in their registers (never spilled). */
  holding<T>(refs: Ref[], f: () => T): T {
    const old = refs.map((r) => r.held);
    for (const r of refs) r.held = true;
    try {
      return f();
    } finally {
      refs.forEach((r, i) => (r.held = old[i]));
    }
  }

  /** Makes sure the value is in a register and returns it. */
  reg(ref: Ref): number {
    const loc = ref.loc;
    if (loc.kind === "reg") return loc.r;
    const r = this.#grab();
    if (loc.kind === "imm") this.movImm(r, loc.v);
    else this.#b.ldx(8, r, R10, loc.off);
    ref.loc = { kind: "reg", r };
    this.#owner[r] = ref;
    return r;
  }

  /** Emits `r = v` in the fewest slots. */
  movImm(r: number, v: bigint): void {
    const s = BigInt.asIntN(64, v);
    if (s >= -0x80000000n && s <= 0x7fffffffn) this.#b.movImm(r, Number(s));
    else if (s >= 0n && s <= 0xffffffffn) {
      this.#b.alu32Imm("MOV", r, Number(s) | 0);
    } else this.#b.ldImm64(r, s);
  }

  /** Moves a value into a specific register (for call arguments). */
  load(r: number, ref: Ref): void {
    const loc = ref.loc;
    if (loc.kind === "imm") this.movImm(r, loc.v);
    else if (loc.kind === "spill") this.#b.ldx(8, r, R10, loc.off);
    else if (loc.r !== r) this.#b.movReg(r, loc.r);
  }

  /** Moves every value out of r0-r5 (before a helper call). */
  evictCallerSaved(): void {
    for (const r of [0, 1, 2, 3, 4, 5]) {
      const o = this.#owner[r];
      if (o === undefined) continue;
      const to = this.#freeReg(CALLEE);
      if (to !== undefined) {
        this.#b.movReg(to, r);
        this.#owner[r] = undefined;
        this.#owner[to] = o;
        o.loc = { kind: "reg", r: to };
      } else {
        if (o.pinned) throw new RegisterPressureError();
        this.#spill(o);
      }
    }
  }

  /** Moves a value to a callee-saved register and pins it there. */
  pin(ref: Ref): void {
    const loc = ref.loc;
    if (loc.kind !== "reg" || !CALLEE.includes(loc.r)) {
      const to = this.#freeReg(CALLEE);
      if (to === undefined) throw new RegisterPressureError();
      this.load(to, ref);
      this.free(ref);
      ref.loc = { kind: "reg", r: to };
      this.#owner[to] = ref;
    }
    ref.pinned = true;
  }

  /** Registers in use (for debugging and tests). */
  live(): number[] {
    return this.#owner.flatMap((o, i) => (o === undefined ? [] : [i]));
  }
}
