/**
 * Classifies instruction slots into typed forms: what each instruction is,
 * with its operands, or `undefined` when the slot is not a valid instruction
 * of the current eBPF ISA (unknown opcode, or reserved fields not zero).
 *
 * The disassembler prints forms; the verifier and interpreter may use the
 * same table to reject what the kernel would reject.
 *
 * @module
 */

import { HELPER_NAMES } from "./opcodes.ts";
import type { Insn } from "./insn.ts";

/** An ALU operation with two operands (everything except NEG and END). */
export type AluBinOp =
  | "ADD"
  | "SUB"
  | "MUL"
  | "DIV"
  | "OR"
  | "AND"
  | "LSH"
  | "RSH"
  | "MOD"
  | "XOR"
  | "MOV"
  | "ARSH";

/** A conditional jump operation. */
export type JmpCond =
  | "JEQ"
  | "JGT"
  | "JGE"
  | "JSET"
  | "JNE"
  | "JSGT"
  | "JSGE"
  | "JLT"
  | "JLE"
  | "JSLT"
  | "JSLE";

/** An atomic read-modify-write operation. */
export type AtomicRmw = "add" | "or" | "and" | "xor" | "xchg" | "cmpxchg";

/** A register or an immediate operand. */
export type Operand = { reg: number } | { imm: number };

/** One decoded instruction. `slots` is 2 for `ld_imm64`, else 1. */
export type InsnForm =
  | {
    kind: "alu";
    bits: 32 | 64;
    op: AluBinOp;
    /** sdiv / smod (`off = 1`). */
    signed: boolean;
    dst: number;
    src: Operand;
  }
  | { kind: "neg"; bits: 32 | 64; dst: number }
  | {
    kind: "movsx";
    bits: 32 | 64;
    from: 8 | 16 | 32;
    dst: number;
    src: number;
  }
  | { kind: "addrSpaceCast"; dst: number; src: number; imm: number }
  | {
    kind: "end";
    type: "le" | "be" | "bswap";
    width: 16 | 32 | 64;
    dst: number;
  }
  | {
    kind: "ldImm64";
    dst: number;
    /** The pseudo source (`PseudoSrc`), 0 for a plain constant. */
    pseudo: number;
    lo: number;
    hi: number;
  }
  | { kind: "ldAbs"; size: 1 | 2 | 4; imm: number }
  | { kind: "ldInd"; size: 1 | 2 | 4; src: number; imm: number }
  | {
    kind: "ldx";
    size: 1 | 2 | 4 | 8;
    signExtend: boolean;
    dst: number;
    src: number;
    off: number;
  }
  | { kind: "st"; size: 1 | 2 | 4 | 8; dst: number; off: number; imm: number }
  | { kind: "stx"; size: 1 | 2 | 4 | 8; dst: number; off: number; src: number }
  | {
    kind: "atomic";
    size: 4 | 8;
    op: AtomicRmw;
    /** The fetch flag (always set for xchg and cmpxchg). */
    fetch: boolean;
    dst: number;
    off: number;
    src: number;
  }
  | {
    kind: "loadAcquire";
    size: 1 | 2 | 4 | 8;
    dst: number;
    src: number;
    off: number;
  }
  | {
    kind: "storeRelease";
    size: 1 | 2 | 4 | 8;
    dst: number;
    off: number;
    src: number;
  }
  | { kind: "ja"; off: number }
  | { kind: "gotol"; imm: number }
  | { kind: "mayGoto"; off: number }
  | {
    kind: "jcond";
    bits: 32 | 64;
    op: JmpCond;
    dst: number;
    src: Operand;
    off: number;
  }
  | {
    kind: "call";
    /** 0 helper, 1 bpf-to-bpf (imm is pc-relative), 2 kfunc. */
    src: 0 | 1 | 2;
    imm: number;
  }
  | { kind: "exit" };

const ALU_OPS: (AluBinOp | "NEG" | "END" | undefined)[] = [
  "ADD",
  "SUB",
  "MUL",
  "DIV",
  "OR",
  "AND",
  "LSH",
  "RSH",
  "NEG",
  "MOD",
  "XOR",
  "MOV",
  "ARSH",
  "END",
];

const JMP_OPS: (JmpCond | "JA" | "CALL" | "EXIT" | "JCOND" | undefined)[] = [
  "JA",
  "JEQ",
  "JGT",
  "JGE",
  "JSET",
  "JNE",
  "JSGT",
  "JSGE",
  "CALL",
  "EXIT",
  "JLT",
  "JLE",
  "JSLT",
  "JSLE",
  "JCOND",
];

/** Access width in bytes by the size bits (`code & 0x18`) >> 3. */
const SIZES = [4, 2, 1, 8] as const;

const ATOMIC_RMW: ReadonlyMap<number, [AtomicRmw, boolean]> = new Map([
  [0x00, ["add", false]],
  [0x40, ["or", false]],
  [0x50, ["and", false]],
  [0xa0, ["xor", false]],
  [0x01, ["add", true]],
  [0x41, ["or", true]],
  [0x51, ["and", true]],
  [0xa1, ["xor", true]],
  [0xe1, ["xchg", true]],
  [0xf1, ["cmpxchg", true]],
]);

const isReg = (r: number) => r >= 0 && r <= 10;

/**
 * Classifies slot `pc` (reading `pc + 1` for `ld_imm64`). Returns
 * `undefined` for anything that is not a valid instruction: an unknown
 * opcode, a register above r10, or a reserved field that is not zero.
 *
 * @example Classify `r0 = 1`
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeForm } from "./insn_form.ts";
 * const form = decodeForm([{ code: 0xb7, dst: 0, src: 0, off: 0, imm: 1 }], 0);
 * assert.equal(form?.kind, "alu");
 * assert.deepEqual(form, { kind: "alu", bits: 64, op: "MOV", signed: false, dst: 0, src: { imm: 1 } });
 * ```
 */
export function decodeForm(
  insns: readonly Insn[],
  pc: number,
): InsnForm | undefined {
  const i = insns[pc];
  if (i === undefined) return undefined;
  const { code, dst, src, off, imm } = i;
  if (!(code >= 0 && code <= 0xff) || !isReg(dst)) return undefined;
  const cls = code & 7;
  const x = (code & 8) !== 0;
  switch (cls) {
    case 4:
    case 7: {
      const bits = cls === 7 ? 64 : 32;
      const op = ALU_OPS[code >> 4];
      if (op === undefined) return undefined;
      if (op === "END") {
        if (src !== 0 || off !== 0) return undefined;
        if (imm !== 16 && imm !== 32 && imm !== 64) return undefined;
        if (cls === 7 && x) return undefined;
        const type = cls === 7 ? "bswap" : x ? "be" : "le";
        return { kind: "end", type, width: imm, dst };
      }
      if (op === "NEG") {
        if (x || src !== 0 || off !== 0 || imm !== 0) return undefined;
        return { kind: "neg", bits, dst };
      }
      if (x) {
        if (!isReg(src)) return undefined;
        if (op === "MOV" && cls === 7 && off === 1) {
          return { kind: "addrSpaceCast", dst, src, imm };
        }
        if (imm !== 0) return undefined;
        if (
          op === "MOV" && (off === 8 || off === 16 || (off === 32 && cls === 7))
        ) {
          return { kind: "movsx", bits, from: off, dst, src };
        }
      } else if (src !== 0) return undefined;
      const signed = off === 1 && (op === "DIV" || op === "MOD");
      if (off !== 0 && !signed) return undefined;
      return {
        kind: "alu",
        bits,
        op,
        signed,
        dst,
        src: x ? { reg: src } : { imm },
      };
    }
    case 0: {
      const mode = code & 0xe0;
      const size = SIZES[(code >> 3) & 3];
      if (mode === 0 && size === 8) {
        const hi = insns[pc + 1];
        if (hi === undefined || off !== 0 || src > 6) return undefined;
        if (hi.code !== 0 || hi.dst !== 0 || hi.src !== 0 || hi.off !== 0) {
          return undefined;
        }
        // Map fds, BTF ids, subprogram offsets and map indices have no upper half.
        if (
          (src === 1 || src === 3 || src === 4 || src === 5) && hi.imm !== 0
        ) {
          return undefined;
        }
        return { kind: "ldImm64", dst, pseudo: src, lo: imm, hi: hi.imm };
      }
      if (size === 8 || dst !== 0 || off !== 0) return undefined;
      if (mode === 0x20 && src === 0) return { kind: "ldAbs", size, imm };
      if (mode === 0x40 && isReg(src)) return { kind: "ldInd", size, src, imm };
      return undefined;
    }
    case 1: {
      const mode = code & 0xe0;
      const size = SIZES[(code >> 3) & 3];
      if (imm !== 0 || !isReg(src)) return undefined;
      if (mode === 0x60) {
        return { kind: "ldx", size, signExtend: false, dst, src, off };
      }
      if (mode === 0x80 && size !== 8) {
        return { kind: "ldx", size, signExtend: true, dst, src, off };
      }
      return undefined;
    }
    case 2: {
      if ((code & 0xe0) !== 0x60 || src !== 0) return undefined;
      return { kind: "st", size: SIZES[(code >> 3) & 3], dst, off, imm };
    }
    case 3: {
      const mode = code & 0xe0;
      const size = SIZES[(code >> 3) & 3];
      if (!isReg(src)) return undefined;
      if (mode === 0x60) {
        return imm === 0 ? { kind: "stx", size, dst, off, src } : undefined;
      }
      if (mode !== 0xc0) return undefined;
      if (imm === 0x100) return { kind: "loadAcquire", size, dst, src, off };
      if (imm === 0x110) return { kind: "storeRelease", size, dst, off, src };
      const rmw = ATOMIC_RMW.get(imm);
      if (rmw === undefined || (size !== 4 && size !== 8)) return undefined;
      return { kind: "atomic", size, op: rmw[0], fetch: rmw[1], dst, off, src };
    }
    default: {
      // JMP (5) and JMP32 (6).
      const op = JMP_OPS[code >> 4];
      if (op === undefined) return undefined;
      const jmp32 = cls === 6;
      if (op === "JA") {
        if (x || dst !== 0 || src !== 0) return undefined;
        if (jmp32) return off === 0 ? { kind: "gotol", imm } : undefined;
        return imm === 0 ? { kind: "ja", off } : undefined;
      }
      if (op === "CALL") {
        if (jmp32 || x || dst !== 0 || off !== 0) return undefined;
        if (src !== 0 && src !== 1 && src !== 2) return undefined;
        return { kind: "call", src, imm };
      }
      if (op === "EXIT") {
        if (jmp32 || x || dst !== 0 || src !== 0 || off !== 0 || imm !== 0) {
          return undefined;
        }
        return { kind: "exit" };
      }
      if (op === "JCOND") {
        if (jmp32 || x || dst !== 0 || src !== 0 || imm !== 0) return undefined;
        return { kind: "mayGoto", off };
      }
      if (x ? imm !== 0 || !isReg(src) : src !== 0) return undefined;
      return {
        kind: "jcond",
        bits: jmp32 ? 32 : 64,
        op,
        dst,
        src: x ? { reg: src } : { imm },
        off,
      };
    }
  }
}

/**
 * The kernel name of a helper (`bpf_map_lookup_elem`) when this project
 * knows the id, else `undefined`.
 *
 * @example Name helper 1
 * ```ts
 * import assert from "node:assert/strict";
 * import { helperName } from "./insn_form.ts";
 * assert.equal(helperName(1), "bpf_map_lookup_elem");
 * assert.equal(helperName(100000), undefined);
 * ```
 */
export function helperName(id: number): string | undefined {
  const name = HELPER_NAMES.get(id);
  return name === undefined ? undefined : `bpf_${name}`;
}
