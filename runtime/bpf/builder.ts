/**
 * A typed instruction builder with symbolic jump labels, resolved when the
 * program is built.
 *
 * @module
 */

import { type Insn, insn, LD_IMM64 } from "./insn.ts";
import {
  AluOp,
  AtomicOp,
  CallSrc,
  Class,
  Endian,
  JmpOp,
  Mode,
  PseudoSrc,
  Size,
  Source,
} from "./opcodes.ts";

/** Bits of the load sizes a sign-extending load exists for. */
const NARROW_BITS = new Map<number, number>([
  [Size.B, 8],
  [Size.H, 16],
  [Size.W, 32],
]);

/** A register number, 0-10. */
export type Reg = number;

/** Memory access width in bytes. */
export type Width = 1 | 2 | 4 | 8;

/** An ALU operation name. */
export type AluName = Exclude<keyof typeof AluOp, "END">;

/** A conditional jump operation name. */
export type CondName = Exclude<keyof typeof JmpOp, "JA" | "CALL" | "EXIT">;

/** The size-field bits for a width in bytes. */
export function sizeBits(width: Width): number {
  switch (width) {
    case 1:
      return Size.B;
    case 2:
      return Size.H;
    case 4:
      return Size.W;
    case 8:
      return Size.DW;
  }
}

/** Where in the source an instruction came from (1-based line, column). */
export interface SourceLoc {
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
}

/**
 * A jump whose offset does not fit the instruction's 16 bits: the program
 * is too large for it.
 *
 * @example Catch it
 * ```ts
 * import { InsnBuilder, JumpRangeError } from "./builder.ts";
 * const b = new InsnBuilder();
 * b.ja("end");
 * for (let i = 0; i < 40000; i++) b.movImm(0, i);
 * b.label("end");
 * b.exit();
 * try {
 *   b.build();
 * } catch (e) {
 *   console.assert(e instanceof JumpRangeError && e.distance === 40000);
 * }
 * ```
 */
export class JumpRangeError extends RangeError {
  /** Slot of the jump. */
  readonly pc: number;
  /** Offset the jump would need. */
  readonly distance: number;
  /** Source location of the jump, if known. */
  readonly loc: SourceLoc | undefined;
  /** Makes the error. */
  constructor(pc: number, distance: number, loc?: SourceLoc) {
    super(
      `Jump at instruction ${pc} would span ${distance} instructions, more than a jump can reach (32767)`,
    );
    this.name = "JumpRangeError";
    this.pc = pc;
    this.distance = distance;
    this.loc = loc;
  }
}

/** A built program: its slots and, per slot, the source location if known. */
export interface Built {
  /** The instructions, one per 8-byte slot (`lddw` takes two). */
  insns: Insn[];
  /** Per slot, where it came from, if known. */
  locs: (SourceLoc | undefined)[];
}

interface Pending {
  insn: Insn;
  /** Label whose slot the jump offset (or call imm) must reach. */
  target?: string;
  /** Whether the target goes in `imm` (call, gotol) rather than `off`. */
  inImm?: boolean;
  loc?: SourceLoc;
}

/**
 * Builds instruction slots. Jump targets are label names; `build()` turns
 * them into slot-relative offsets.
 *
 * @example Return 1 if r1 is zero, else 2
 * ```ts
 * import { InsnBuilder } from "./builder.ts";
 * const b = new InsnBuilder();
 * b.movImm(0, 2);
 * b.jmpImm("JNE", 1, 0, "out");
 * b.movImm(0, 1);
 * b.label("out");
 * b.exit();
 * const { insns } = b.build();
 * console.assert(insns[1].off === 1);
 * ```
 */
export class InsnBuilder {
  #items: Pending[] = [];
  #labels = new Map<string, number>();
  #loc: SourceLoc | undefined;
  #nextLabel = 0;
  #foldSignExtension: boolean;

  /**
   * With `foldSignExtension`, the two shifts that sign-extend a register
   * (`dst <<= k; dst s>>= k`, nothing jumping to the second) become one
   * instruction: a sign-extending load (`ldxsx`) when a load of 1, 2 or 4
   * bytes into it comes right before them (nothing jumping between), else
   * a sign-extending move (`movsx`). Both are Linux 6.6+; loaders expand
   * them again for older kernels with `expandSignExtension()` of
   * `sign_extend.ts`.
   */
  constructor(opts: { foldSignExtension?: boolean } = {}) {
    this.#foldSignExtension = opts.foldSignExtension ?? false;
  }

  /** Number of slots emitted so far. */
  get length(): number {
    return this.#items.length;
  }

  /** Sets the source location recorded for the following instructions. */
  at(loc: SourceLoc | undefined): this {
    this.#loc = loc;
    return this;
  }

  /** A fresh label name, unique within this builder. */
  newLabel(hint = "L"): string {
    return `.${hint}${this.#nextLabel++}`;
  }

  /** Binds a label to the next slot. */
  label(name: string): this {
    if (this.#labels.has(name)) {
      throw new SyntaxError(`Label "${name}" is defined twice`);
    }
    this.#labels.set(name, this.#items.length);
    return this;
  }

  /** True if an instruction emitted so far jumps to the label. */
  targets(name: string): boolean {
    return this.#items.some((i) => i.target === name);
  }

  /** True if the label is bound. */
  hasLabel(name: string): boolean {
    return this.#labels.has(name);
  }

  /** Appends a raw slot. */
  raw(i: Insn, target?: string, inImm?: boolean): this {
    this.#items.push({ insn: i, target, inImm, loc: this.#loc });
    return this;
  }

  // ALU

  /** 64-bit ALU with an immediate: `dst op= imm`. */
  alu64Imm(op: AluName, dst: Reg, imm: number): this {
    if (
      op === "ARSH" && this.#foldSignExtension &&
      (this.#foldLoad(dst, imm) || this.#foldShift(dst, imm))
    ) {
      return this;
    }
    return this.raw(insn(Class.ALU64 | AluOp[op] | Source.K, dst, 0, 0, imm));
  }

  /**
   * Turns `dst = *(uN *)(src + off); dst <<= k` just emitted, with the
   * `dst s>>= k` being emitted, into `dst = *(sN *)(src + off)`; false
   * when the last two slots are not that or a label is bound after the
   * load.
   */
  #foldLoad(dst: Reg, k: number): boolean {
    const n = this.#items.length;
    if (n < 2) return false;
    const load = this.#items[n - 2];
    const shl = this.#items[n - 1];
    const code = load.insn.code;
    if ((code & 0xe7) !== (Class.LDX | Mode.MEM) || load.target !== undefined) {
      return false;
    }
    const width = code & 0x18;
    const bits = NARROW_BITS.get(width);
    if (bits === undefined || k !== 64 - bits || load.insn.dst !== dst) {
      return false;
    }
    const lsh = Class.ALU64 | AluOp.LSH | Source.K;
    if (shl.insn.code !== lsh || shl.insn.dst !== dst || shl.insn.imm !== k) {
      return false;
    }
    for (const at of this.#labels.values()) if (at >= n - 1) return false;
    this.#items.pop();
    load.insn = { ...load.insn, code: Class.LDX | Mode.MEMSX | width };
    return true;
  }

  /**
   * Turns `dst <<= k` just emitted, with the `dst s>>= k` being emitted,
   * into `dst = (sN)dst` (`movsx`); false when the last slot is not that
   * or a label is bound to the shift being emitted.
   */
  #foldShift(dst: Reg, k: number): boolean {
    const n = this.#items.length;
    if (n < 1 || (k !== 56 && k !== 48 && k !== 32)) return false;
    const shl = this.#items[n - 1];
    const lsh = Class.ALU64 | AluOp.LSH | Source.K;
    if (shl.insn.code !== lsh || shl.insn.dst !== dst || shl.insn.imm !== k) {
      return false;
    }
    for (const at of this.#labels.values()) if (at >= n) return false;
    shl.insn = insn(Class.ALU64 | AluOp.MOV | Source.X, dst, dst, 64 - k, 0);
    return true;
  }

  /** 64-bit ALU with a register: `dst op= src`. */
  alu64Reg(op: AluName, dst: Reg, src: Reg): this {
    return this.raw(insn(Class.ALU64 | AluOp[op] | Source.X, dst, src, 0, 0));
  }

  /** 32-bit ALU with an immediate (result zero-extended). */
  alu32Imm(op: AluName, dst: Reg, imm: number): this {
    return this.raw(insn(Class.ALU | AluOp[op] | Source.K, dst, 0, 0, imm));
  }

  /** 32-bit ALU with a register (result zero-extended). */
  alu32Reg(op: AluName, dst: Reg, src: Reg): this {
    return this.raw(insn(Class.ALU | AluOp[op] | Source.X, dst, src, 0, 0));
  }

  /** Signed division or modulo (`off = 1`), 64 or 32 bits. */
  sdivmod(
    op: "DIV" | "MOD",
    bits: 32 | 64,
    dst: Reg,
    srcOrImm: { reg: Reg } | { imm: number },
  ): this {
    const cls = bits === 64 ? Class.ALU64 : Class.ALU;
    if ("reg" in srcOrImm) {
      return this.raw(
        insn(cls | AluOp[op] | Source.X, dst, srcOrImm.reg, 1, 0),
      );
    }
    return this.raw(insn(cls | AluOp[op] | Source.K, dst, 0, 1, srcOrImm.imm));
  }

  /** `dst = imm` (64-bit, imm sign-extended). */
  movImm(dst: Reg, imm: number): this {
    return this.alu64Imm("MOV", dst, imm);
  }

  /** `dst = src` (64-bit). */
  movReg(dst: Reg, src: Reg): this {
    return this.alu64Reg("MOV", dst, src);
  }

  /** Sign-extending move of the low `bits` of src (movsx). */
  movsx(bits: 8 | 16 | 32, dst: Reg, src: Reg, alu32 = false): this {
    const cls = alu32 ? Class.ALU : Class.ALU64;
    return this.raw(insn(cls | AluOp.MOV | Source.X, dst, src, bits, 0));
  }

  /** Byte swap: to little endian, to big endian, or unconditional (bswap). */
  endian(kind: "le" | "be" | "bswap", dst: Reg, bits: 16 | 32 | 64): this {
    if (kind === "bswap") {
      return this.raw(insn(Class.ALU64 | AluOp.END, dst, 0, 0, bits));
    }
    const dir = kind === "le" ? Endian.TO_LE : Endian.TO_BE;
    return this.raw(insn(Class.ALU | AluOp.END | dir, dst, 0, 0, bits));
  }

  // Loads and stores

  /** `dst = *(size *)(src + off)`. */
  ldx(width: Width, dst: Reg, src: Reg, off: number): this {
    return this.raw(
      insn(Class.LDX | Mode.MEM | sizeBits(width), dst, src, off, 0),
    );
  }

  /** Sign-extending load `dst = *(s<size> *)(src + off)`. */
  ldxsx(width: 1 | 2 | 4, dst: Reg, src: Reg, off: number): this {
    return this.raw(
      insn(Class.LDX | Mode.MEMSX | sizeBits(width), dst, src, off, 0),
    );
  }

  /** `*(size *)(dst + off) = imm`. */
  st(width: Width, dst: Reg, off: number, imm: number): this {
    return this.raw(
      insn(Class.ST | Mode.MEM | sizeBits(width), dst, 0, off, imm),
    );
  }

  /** `*(size *)(dst + off) = src`. */
  stx(width: Width, dst: Reg, off: number, src: Reg): this {
    return this.raw(
      insn(Class.STX | Mode.MEM | sizeBits(width), dst, src, off, 0),
    );
  }

  /** Atomic read-modify-write on `*(size *)(dst + off)` with src. */
  atomic(
    width: 4 | 8,
    op: keyof typeof AtomicOp,
    dst: Reg,
    off: number,
    src: Reg,
    fetch = false,
  ): this {
    const imm = AtomicOp[op] | (fetch ? AtomicOp.FETCH : 0);
    return this.raw(
      insn(Class.STX | Mode.ATOMIC | sizeBits(width), dst, src, off, imm),
    );
  }

  /** Loads a 64-bit constant (two slots). */
  ldImm64(dst: Reg, value: bigint | number, src = 0): this {
    const v = BigInt.asUintN(64, BigInt(value));
    const lo = Number(v & 0xffffffffn) | 0;
    const hi = Number(v >> 32n) | 0;
    this.raw(insn(LD_IMM64, dst, src, 0, lo));
    return this.raw(insn(0, 0, 0, 0, hi));
  }

  /** Loads a map reference; imm is the map's index in `Program.maps`. */
  ldMap(dst: Reg, mapIndex: number): this {
    this.raw(insn(LD_IMM64, dst, PseudoSrc.MAP_FD, 0, mapIndex));
    return this.raw(insn(0, 0, 0, 0, 0));
  }

  /** Loads a pointer to a map's value (array maps) plus an offset. */
  ldMapValue(dst: Reg, mapIndex: number, offset: number): this {
    this.raw(insn(LD_IMM64, dst, PseudoSrc.MAP_VALUE, 0, mapIndex));
    return this.raw(insn(0, 0, 0, 0, offset));
  }

  /**
   * Loads a pointer to the function starting at a label (`ld_imm64` with
   * `BPF_PSEUDO_FUNC`): a callback for `bpf_loop` and the like.
   */
  ldFunc(dst: Reg, target: string): this {
    this.raw(insn(LD_IMM64, dst, PseudoSrc.FUNC, 0, 0), target, true);
    return this.raw(insn(0, 0, 0, 0, 0));
  }

  // Jumps and calls

  /** Unconditional jump to a label. */
  ja(target: string): this {
    return this.raw(insn(Class.JMP | JmpOp.JA, 0, 0, 0, 0), target);
  }

  /** Long unconditional jump (`gotol`, JMP32 class, offset in imm). */
  gotol(target: string): this {
    return this.raw(insn(Class.JMP32 | JmpOp.JA, 0, 0, 0, 0), target, true);
  }

  /** `if dst op imm goto target` (64-bit compare). */
  jmpImm(op: CondName, dst: Reg, imm: number, target: string): this {
    return this.raw(
      insn(Class.JMP | JmpOp[op] | Source.K, dst, 0, 0, imm),
      target,
    );
  }

  /** `if dst op src goto target` (64-bit compare). */
  jmpReg(op: CondName, dst: Reg, src: Reg, target: string): this {
    return this.raw(
      insn(Class.JMP | JmpOp[op] | Source.X, dst, src, 0, 0),
      target,
    );
  }

  /** `if w_dst op imm goto target` (32-bit compare). */
  jmp32Imm(op: CondName, dst: Reg, imm: number, target: string): this {
    return this.raw(
      insn(Class.JMP32 | JmpOp[op] | Source.K, dst, 0, 0, imm),
      target,
    );
  }

  /** `if w_dst op w_src goto target` (32-bit compare). */
  jmp32Reg(op: CondName, dst: Reg, src: Reg, target: string): this {
    return this.raw(
      insn(Class.JMP32 | JmpOp[op] | Source.X, dst, src, 0, 0),
      target,
    );
  }

  /** Calls a kernel helper by id. */
  call(helper: number): this {
    return this.raw(insn(Class.JMP | JmpOp.CALL, 0, CallSrc.HELPER, 0, helper));
  }

  /** bpf-to-bpf call of the subprogram starting at a label. */
  callLocal(target: string): this {
    return this.raw(
      insn(Class.JMP | JmpOp.CALL, 0, CallSrc.PSEUDO_CALL, 0, 0),
      target,
      true,
    );
  }

  /** Returns from the program or subprogram with r0. */
  exit(): this {
    return this.raw(insn(Class.JMP | JmpOp.EXIT, 0, 0, 0, 0));
  }

  /**
   * Resolves labels and returns the slots.
   *
   * @throws {ReferenceError} for a jump to an unknown label.
   * @throws {JumpRangeError} for a jump offset that does not fit 16 bits.
   */
  build(): Built {
    const insns: Insn[] = [];
    const locs: (SourceLoc | undefined)[] = [];
    for (let pc = 0; pc < this.#items.length; pc++) {
      const { insn: i, target, inImm, loc } = this.#items[pc];
      let out = i;
      if (target !== undefined) {
        const at = this.#labels.get(target);
        if (at === undefined) {
          throw new ReferenceError(`Jump to unknown label "${target}"`);
        }
        const rel = at - (pc + 1);
        if (inImm) {
          out = { ...i, imm: rel };
        } else {
          if (rel < -32768 || rel > 32767) {
            throw new JumpRangeError(pc, rel, loc);
          }
          out = { ...i, off: rel };
        }
      }
      insns.push(out);
      locs.push(loc);
    }
    return { insns, locs };
  }
}
