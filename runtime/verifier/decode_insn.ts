/**
 * Decoding single instruction slots for the verifier: what each does
 * ({@linkcode Dec}), with its encoding checked (opcode, registers, reserved
 * fields, sizes, helper and kfunc ids), but not its jump or call targets:
 * those are the structural pass's (`structure.ts`).
 *
 * @module
 */

import type { Insn } from "../bpf/insn.ts";
import {
  AluOp,
  AtomicOp,
  CallSrc,
  Class,
  HELPER_NAMES,
  JmpOp,
  Mode,
  PseudoSrc,
  R10,
  Size,
  Source,
} from "../bpf/opcodes.ts";
import { constRange, type Range } from "./scalar.ts";
import { HELPER_PROTOS } from "./helper_protos.ts";

/** What a decoded instruction does. */
export type DecKind =
  | "alu"
  | "mov"
  | "movsx"
  | "neg"
  | "end"
  | "ldimm64"
  | "ldx"
  | "st"
  | "stx"
  | "atomic"
  | "ja"
  | "jcond"
  | "call"
  | "callLocal"
  | "exit";

/** One decoded instruction; fields not used by its kind are 0. */
export interface Dec {
  k: DecKind;
  /** 64 or 32 (ALU and conditional jumps). */
  bits: 32 | 64;
  dst: number;
  src: number;
  /** Source is a register (X) rather than the immediate (K). */
  useReg: boolean;
  imm: number;
  off: number;
  /** Access width in bytes (loads, stores, atomics); end: 16/32/64. */
  size: number;
  /** ALU op, compare op, atomic op, end kind ("le", "be", "bswap"). */
  op: string;
  /** Sign-extending load, or signed div/mod. */
  sx: boolean;
  /** Jump target pc, or callee pc. */
  target: number;
  /** ld_imm64: second slot's imm. */
  hi: number;
  /** The immediate operand as a range (sign-extended for 64-bit ops). */
  immR: Range;
  /**
   * Why this ALU instruction is invalid (division by constant zero, shift
   * out of range); refused when a path reaches it, as the kernel does.
   */
  invalid?: string;
}

/** Reports a rejection at a pc. */
export type Fail = (pc: number, reason: string) => never;

const ALU_NAMES = new Map<number, string>(
  Object.entries(AluOp).map(([n, v]) => [v, n]),
);
const JMP_NAMES = new Map<number, string>(
  Object.entries(JmpOp).map(([n, v]) => [v, n]),
);
const ATOMIC_OPS = new Map<number, [string, boolean]>([
  [AtomicOp.ADD, ["ADD", false]],
  [AtomicOp.OR, ["OR", false]],
  [AtomicOp.AND, ["AND", false]],
  [AtomicOp.XOR, ["XOR", false]],
  [AtomicOp.ADD | AtomicOp.FETCH, ["ADD", true]],
  [AtomicOp.OR | AtomicOp.FETCH, ["OR", true]],
  [AtomicOp.AND | AtomicOp.FETCH, ["AND", true]],
  [AtomicOp.XOR | AtomicOp.FETCH, ["XOR", true]],
  [AtomicOp.XCHG, ["XCHG", true]],
  [AtomicOp.CMPXCHG, ["CMPXCHG", true]],
]);
const WIDTH: Record<number, number> = {
  [Size.B]: 1,
  [Size.H]: 2,
  [Size.W]: 4,
  [Size.DW]: 8,
};

function blank(k: DecKind): Dec {
  return {
    k,
    bits: 64,
    dst: 0,
    src: 0,
    useReg: false,
    imm: 0,
    off: 0,
    size: 0,
    op: "",
    sx: false,
    target: -1,
    hi: 0,
    immR: ZERO,
  };
}

const ZERO = constRange(0n);

function hex(v: number): string {
  return `0x${v.toString(16).padStart(2, "0")}`;
}

/** Decodes and checks one slot's encoding (not its targets). */
export function decodeOne(
  insns: readonly Insn[],
  pc: number,
  mapCount: number,
  fail: Fail,
): Dec {
  const i = insns[pc];
  const code = i.code;
  const cls = code & 0x07;
  const reserved = (name: string, v: number): void => {
    if (v !== 0) {
      fail(
        pc,
        `reserved field ${name} must be 0 for this instruction, found ${v}`,
      );
    }
  };
  const reg = (r: number): number => {
    if (!Number.isInteger(r) || r < 0 || r > R10) {
      fail(pc, `invalid register r${r}: registers are r0 to r10`);
    }
    return r;
  };
  const writeReg = (r: number): number => {
    reg(r);
    if (r === R10) fail(pc, "R10 (the frame pointer) is read-only");
    return r;
  };
  const unknown = (): never => fail(pc, `unknown opcode ${hex(code)}`);

  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      const opBits = code & 0xf0;
      const name = ALU_NAMES.get(opBits);
      if (name === undefined) unknown();
      const d = blank("alu");
      d.bits = cls === Class.ALU64 ? 64 : 32;
      d.useReg = (code & Source.X) !== 0;
      if (name === "END") {
        if (cls === Class.ALU64 && d.useReg) unknown();
        d.k = "end";
        d.dst = writeReg(i.dst);
        reserved("src", i.src);
        reserved("off", i.off);
        if (i.imm !== 16 && i.imm !== 32 && i.imm !== 64) {
          fail(pc, `invalid byte swap width ${i.imm}: must be 16, 32 or 64`);
        }
        d.size = i.imm;
        d.op = cls === Class.ALU64 ? "bswap" : d.useReg ? "be" : "le";
        d.useReg = false;
        return d;
      }
      if (name === "NEG") {
        if (d.useReg) unknown();
        d.k = "neg";
        d.dst = writeReg(i.dst);
        reserved("src", i.src);
        reserved("off", i.off);
        reserved("imm", i.imm);
        d.op = "NEG";
        return d;
      }
      d.dst = writeReg(i.dst);
      d.op = name!;
      if (d.useReg) {
        d.src = reg(i.src);
        reserved("imm", i.imm);
      } else {
        reserved("src", i.src);
        d.imm = i.imm;
      }
      if (name === "MOV") {
        d.k = "mov";
        if (i.off !== 0) {
          const ok = d.useReg &&
            (i.off === 8 || i.off === 16 || (i.off === 32 && d.bits === 64));
          if (!ok) reserved("off", i.off);
          d.k = "movsx";
          d.off = i.off;
        }
        return d;
      }
      if (name === "DIV" || name === "MOD") {
        if (i.off !== 0 && i.off !== 1) reserved("off", i.off);
        d.sx = i.off === 1;
        if (d.sx) d.op = name === "DIV" ? "SDIV" : "SMOD";
        if (!d.useReg && i.imm === 0) d.invalid = "division by constant zero";
      } else {
        reserved("off", i.off);
      }
      if (
        !d.useReg && (name === "LSH" || name === "RSH" || name === "ARSH") &&
        (i.imm < 0 || i.imm >= d.bits)
      ) {
        d.invalid = `invalid shift by ${i.imm}: must be 0 to ${d.bits - 1}`;
      }
      return d;
    }
    case Class.LD: {
      if (code !== (Class.LD | Mode.IMM | Size.DW)) {
        const mode = code & 0xe0;
        if (mode === Mode.ABS || mode === Mode.IND) {
          fail(
            pc,
            "legacy packet access (ld_abs/ld_ind) is not supported",
          );
        }
        unknown();
      }
      const d = blank("ldimm64");
      d.dst = writeReg(i.dst);
      reserved("off", i.off);
      if (pc + 1 >= insns.length) {
        fail(pc, "ld_imm64 is missing its second slot at the program's end");
      }
      const n = insns[pc + 1];
      if (n.code !== 0 || n.dst !== 0 || n.src !== 0 || n.off !== 0) {
        fail(
          pc,
          "malformed ld_imm64: its second slot must have code, registers and off all 0",
        );
      }
      d.src = i.src;
      d.imm = i.imm;
      d.hi = n.imm;
      if (i.src === PseudoSrc.FUNC) {
        // A callback (bpf_loop, for_each_map_elem): imm is its offset.
        reserved("imm of the second slot", n.imm);
        d.target = pc + 1 + i.imm;
      } else if (i.src === PseudoSrc.BTF_ID) {
        // A kernel variable by its vmlinux BTF id (second slot: a module's
        // BTF fd, which tsbpf never uses).
        reserved("imm of the second slot", n.imm);
        if (i.imm <= 0) fail(pc, `invalid BTF id ${i.imm} in ld_imm64`);
      } else if (i.src !== 0) {
        if (i.src !== PseudoSrc.MAP_FD && i.src !== PseudoSrc.MAP_VALUE) {
          fail(pc, `unsupported ld_imm64 source ${i.src}`);
        }
        if (i.imm < 0 || i.imm >= mapCount) {
          fail(
            pc,
            `map index ${i.imm} is out of range: the program has ${mapCount} map(s)`,
          );
        }
        if (i.src === PseudoSrc.MAP_FD) {
          reserved("imm of the second slot", n.imm);
        }
      }
      return d;
    }
    case Class.LDX: {
      const mode = code & 0xe0;
      if (mode !== Mode.MEM && mode !== Mode.MEMSX) unknown();
      const d = blank("ldx");
      d.size = WIDTH[code & 0x18];
      d.sx = mode === Mode.MEMSX;
      if (d.sx && d.size === 8) unknown();
      d.dst = writeReg(i.dst);
      d.src = reg(i.src);
      d.off = i.off;
      reserved("imm", i.imm);
      return d;
    }
    case Class.ST: {
      if ((code & 0xe0) !== Mode.MEM) unknown();
      const d = blank("st");
      d.size = WIDTH[code & 0x18];
      d.dst = reg(i.dst);
      reserved("src", i.src);
      d.off = i.off;
      d.imm = i.imm;
      return d;
    }
    case Class.STX: {
      const mode = code & 0xe0;
      const d = blank("stx");
      d.size = WIDTH[code & 0x18];
      d.dst = reg(i.dst);
      d.src = reg(i.src);
      d.off = i.off;
      if (mode === Mode.MEM) {
        reserved("imm", i.imm);
        return d;
      }
      if (mode !== Mode.ATOMIC) unknown();
      if (d.size !== 4 && d.size !== 8) {
        fail(pc, `atomic operations must be 4 or 8 bytes wide, not ${d.size}`);
      }
      const op = ATOMIC_OPS.get(i.imm);
      if (op === undefined) {
        fail(pc, `unknown or unsupported atomic operation ${hex(i.imm)}`);
      }
      d.k = "atomic";
      d.op = op![0];
      d.sx = op![1];
      if (d.sx) writeReg(d.src);
      return d;
    }
    case Class.JMP:
    case Class.JMP32: {
      const name = JMP_NAMES.get(code & 0xf0);
      if (name === undefined) unknown();
      const d = blank("jcond");
      d.bits = cls === Class.JMP ? 64 : 32;
      d.useReg = (code & Source.X) !== 0;
      if (name === "JA") {
        if (d.useReg) unknown();
        d.k = "ja";
        reserved("dst", i.dst);
        reserved("src", i.src);
        if (cls === Class.JMP) {
          reserved("imm", i.imm);
          d.target = pc + 1 + i.off;
        } else {
          reserved("off", i.off);
          d.target = pc + 1 + i.imm;
        }
        return d;
      }
      if (name === "CALL") {
        if (cls !== Class.JMP || d.useReg) unknown();
        reserved("dst", i.dst);
        reserved("off", i.off);
        if (i.src === CallSrc.PSEUDO_CALL) {
          d.k = "callLocal";
          d.target = pc + 1 + i.imm;
          return d;
        }
        if (i.src !== CallSrc.HELPER) {
          fail(
            pc,
            i.src === CallSrc.KFUNC
              ? "kfunc calls are not supported"
              : `invalid call source ${i.src}`,
          );
        }
        if (!HELPER_PROTOS.has(i.imm)) {
          fail(pc, `unknown helper function #${i.imm}`);
        }
        d.k = "call";
        d.imm = i.imm;
        d.op = HELPER_NAMES.get(i.imm) ?? "";
        return d;
      }
      if (name === "EXIT") {
        if (cls !== Class.JMP || d.useReg) unknown();
        d.k = "exit";
        reserved("dst", i.dst);
        reserved("src", i.src);
        reserved("off", i.off);
        reserved("imm", i.imm);
        return d;
      }
      d.op = name!;
      d.dst = reg(i.dst);
      if (d.useReg) {
        d.src = reg(i.src);
        reserved("imm", i.imm);
      } else {
        reserved("src", i.src);
        d.imm = i.imm;
      }
      d.target = pc + 1 + i.off;
      return d;
    }
  }
  return unknown();
}
