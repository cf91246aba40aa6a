/**
 * Sign-extending loads (`ldxsx`, `BPF_MEMSX`) for kernels that lack them.
 * The compiler emits `dst = *(s32 *)(src + off)` where it reads a signed
 * integer narrower than 64 bits: one instruction instead of a load and
 * two shifts. Linux 6.6 added the instruction (with the rest of the "cpu
 * v4" set); on an older kernel the loader rewrites each one back into
 * `dst = *(u32 *)(src + off); dst <<= 32; dst s>>= 32`, moving every
 * relative jump, call and function address across the inserted slots
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

/**
 * A program's slots with every sign-extending load replaced by a plain
 * load and two shifts, and `locs` (per slot, where it came from) kept in
 * step; the input itself when it has none.
 *
 * @throws {RangeError} when a jump no longer fits its 16-bit offset.
 * @example An `ldxsx` becomes three slots; the jump over it moves
 * ```ts
 * import { expandSignExtendingLoads } from "./sign_loads.ts";
 * import { InsnBuilder } from "./builder.ts";
 * const b = new InsnBuilder();
 * b.jmpImm("JEQ", 1, 0, "out");
 * b.ldxsx(4, 0, 1, 0);
 * b.label("out");
 * b.exit();
 * const { insns } = expandSignExtendingLoads(b.build());
 * console.assert(insns.length === 5 && insns[0].off === 3);
 * ```
 */
export function expandSignExtendingLoads<
  T extends { insns: Insn[]; locs?: unknown[] },
>(prog: T): T {
  const { insns, locs } = prog;
  if (!insns.some(isSignExtendingLoad)) return prog;
  // Where each old slot starts in the new code (one past the end too).
  const at: number[] = [];
  let n = 0;
  for (let pc = 0; pc < insns.length; pc++) {
    at.push(n);
    n += isSignExtendingLoad(insns[pc]) ? 3 : 1;
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
    if (isSignExtendingLoad(i)) {
      const size = i.code & 0x18;
      const k = 64 - (size === Size.B ? 8 : size === Size.H ? 16 : 32);
      out.push(
        { ...i, code: Class.LDX | Mode.MEM | size },
        insn(Class.ALU64 | AluOp.LSH | Source.K, i.dst, 0, 0, k),
        insn(Class.ALU64 | AluOp.ARSH | Source.K, i.dst, 0, 0, k),
      );
      outLocs.push(loc, loc, loc);
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
