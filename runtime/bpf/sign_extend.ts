/**
 * Sign extension in one instruction (the "cpu v4" set of Linux 6.6) for
 * kernels that lack it. The compiler emits `dst = *(s32 *)(src + off)`
 * (`ldxsx`, `BPF_MEMSX`) where it reads a signed integer narrower than
 * 64 bits, and `dst = (s32)dst` (`movsx`) where it casts to one: one
 * instruction each instead of a load or nothing, then two shifts. On an
 * older kernel the loader rewrites each back into `dst <<= 32; dst s>>=
 * 32` after a plain load (or a move), moving every relative jump, call
 * and function address across the inserted slots
 * (`runtime/engines/kernel_load.ts` asks the kernel which it runs).
 *
 * @module
 */

import { type Insn, insn, LD_IMM64 } from "./insn.ts";
import {
  AluOp,
  CallSrc,
  Class,
  JmpOp,
  Mode,
  PseudoSrc,
  Size,
  Source,
} from "./opcodes.ts";

/** Whether `i` is a sign-extending load (`ldxsx`). */
function isSignExtendingLoad(i: Insn): boolean {
  return (i.code & 0xe7) === (Class.LDX | Mode.MEMSX);
}

/** Whether `i` is a sign-extending move (`movsx`, 64- or 32-bit). */
function isSignExtendingMove(i: Insn): boolean {
  const mov = AluOp.MOV | Source.X;
  return (i.code === (Class.ALU64 | mov) || i.code === (Class.ALU | mov)) &&
    (i.off === 8 || i.off === 16 || i.off === 32);
}

/**
 * The slots that do what a sign-extending load or move does without
 * one; undefined for any other instruction.
 */
function expansion(i: Insn): Insn[] | undefined {
  if (isSignExtendingLoad(i)) {
    const size = i.code & 0x18;
    const k = 64 - (size === Size.B ? 8 : size === Size.H ? 16 : 32);
    return [
      { ...i, code: Class.LDX | Mode.MEM | size },
      insn(Class.ALU64 | AluOp.LSH | Source.K, i.dst, 0, 0, k),
      insn(Class.ALU64 | AluOp.ARSH | Source.K, i.dst, 0, 0, k),
    ];
  }
  if (!isSignExtendingMove(i)) return undefined;
  const cls = i.code & 0x07;
  const k = (cls === Class.ALU64 ? 64 : 32) - i.off;
  const out = [
    insn(cls | AluOp.LSH | Source.K, i.dst, 0, 0, k),
    insn(cls | AluOp.ARSH | Source.K, i.dst, 0, 0, k),
  ];
  if (i.dst !== i.src) {
    out.unshift(insn(cls | AluOp.MOV | Source.X, i.dst, i.src, 0, 0));
  }
  return out;
}

/**
 * A program's slots with every sign-extending load replaced by a plain
 * load and two shifts, every sign-extending move by a move (unless in
 * place) and two shifts, and `locs` (per slot, where it came from) kept
 * in step; the input itself when it has none.
 *
 * @throws {RangeError} when a jump no longer fits its 16-bit offset.
 * @example An `ldxsx` becomes three slots; the jump over it moves
 * ```ts
 * import { expandSignExtension } from "./sign_extend.ts";
 * import { InsnBuilder } from "./builder.ts";
 * const b = new InsnBuilder();
 * b.jmpImm("JEQ", 1, 0, "out");
 * b.ldxsx(4, 0, 1, 0);
 * b.label("out");
 * b.exit();
 * const { insns } = expandSignExtension(b.build());
 * console.assert(insns.length === 5 && insns[0].off === 3);
 * ```
 */
export function expandSignExtension<
  T extends { insns: Insn[]; locs?: unknown[] },
>(prog: T): T {
  const { insns, locs } = prog;
  // What replaces each slot, where it is not kept (the second half of an
  // `ld_imm64` is never a load or a move: its code is 0).
  const swaps = insns.map(expansion);
  if (swaps.every((x) => x === undefined)) return prog;
  // Where each old slot starts in the new code (one past the end too).
  const at: number[] = [];
  let n = 0;
  for (let pc = 0; pc < insns.length; pc++) {
    at.push(n);
    n += swaps[pc]?.length ?? 1;
  }
  at.push(n);
  const moved = (pc: number, rel: number, what: string): number => {
    const target = pc + 1 + rel;
    if (target < 0 || target > insns.length) {
      throw new RangeError(
        `Instruction ${pc} ${what} to slot ${target}, outside the program`,
      );
    }
    return at[target] - (at[pc] + 1);
  };
  const out: Insn[] = [];
  const outLocs: unknown[] = [];
  for (let pc = 0; pc < insns.length; pc++) {
    const i = insns[pc];
    const loc = locs?.[pc];
    const swap = swaps[pc];
    if (swap !== undefined) {
      out.push(...swap);
      for (const _ of swap) outLocs.push(loc);
      continue;
    }
    let o = i;
    const cls = i.code & 0x07;
    const op = i.code & 0xf0;
    if (i.code === LD_IMM64) {
      if (i.src === PseudoSrc.FUNC) {
        o = { ...i, imm: moved(pc, i.imm, "takes the address of a function") };
      }
      out.push(o, insns[pc + 1]);
      outLocs.push(loc, locs?.[pc + 1]);
      pc++;
      continue;
    }
    if (cls === Class.JMP || cls === Class.JMP32) {
      if (op === JmpOp.CALL) {
        if (i.src === CallSrc.PSEUDO_CALL) {
          o = { ...i, imm: moved(pc, i.imm, "calls") };
        }
      } else if (op === JmpOp.JA && cls === Class.JMP32) {
        o = { ...i, imm: moved(pc, i.imm, "jumps") };
      } else if (op !== JmpOp.EXIT) {
        const off = moved(pc, i.off, "jumps");
        if (off < -32768 || off > 32767) {
          throw new RangeError(
            `Jump at instruction ${pc} no longer fits 16 bits (${off}) once sign-extending loads are expanded`,
          );
        }
        o = { ...i, off };
      }
    }
    out.push(o);
    outLocs.push(loc);
  }
  return locs === undefined
    ? { ...prog, insns: out }
    : { ...prog, insns: out, locs: outLocs };
}
