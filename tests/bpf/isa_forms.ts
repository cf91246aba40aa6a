/**
 * Every instruction form of the current eBPF ISA with representative
 * operands, built from the opcode constants (not from the disassembler's
 * tables), for the round-trip tests.
 *
 * @module
 */

import { type Insn, insn, LD_IMM64 } from "../../runtime/bpf/insn.ts";
import {
  AluOp,
  AtomicOp,
  Class,
  Endian,
  JmpOp,
  Mode,
  Size,
  Source,
} from "../../runtime/bpf/opcodes.ts";

/** One instruction: one slot, or two for `ld_imm64`. */
export type Form = Insn[];

const IMMS = [0, 1, -1, 42, 0x7fffffff, -0x80000000];
const OFFS = [0, 1, -8, 32767, -32768];
const SIZES = [Size.B, Size.H, Size.W, Size.DW];
const BIN_OPS = Object.entries(AluOp).filter(([n]) =>
  n !== "NEG" && n !== "END"
);
const CONDS = Object.entries(JmpOp).filter(([n]) =>
  !["JA", "CALL", "EXIT"].includes(n)
);

function ldImm64(dst: number, src: number, lo: number, hi: number): Form {
  return [insn(LD_IMM64, dst, src, 0, lo), insn(0, 0, 0, 0, hi)];
}

/** All forms, each tagged with a short description. */
export function allForms(): { name: string; insns: Form }[] {
  const out: { name: string; insns: Form }[] = [];
  const add = (name: string, ...insns: Insn[]) => out.push({ name, insns });

  for (const cls of [Class.ALU, Class.ALU64]) {
    const c = cls === Class.ALU ? "alu32" : "alu64";
    for (const [name, op] of BIN_OPS) {
      for (const imm of IMMS) {
        add(`${c} ${name} K ${imm}`, insn(cls | op | Source.K, 3, 0, 0, imm));
      }
      add(`${c} ${name} X`, insn(cls | op | Source.X, 0, 1, 0, 0));
      add(`${c} ${name} X r9 r10`, insn(cls | op | Source.X, 9, 10, 0, 0));
    }
    for (const op of [AluOp.DIV, AluOp.MOD]) {
      add(`${c} signed ${op} K`, insn(cls | op | Source.K, 2, 0, 1, -7));
      add(`${c} signed ${op} X`, insn(cls | op | Source.X, 2, 3, 1, 0));
    }
    add(`${c} NEG`, insn(cls | AluOp.NEG, 4, 0, 0, 0));
    for (const bits of [8, 16, 32]) {
      if (cls === Class.ALU && bits === 32) continue;
      add(
        `${c} movsx ${bits}`,
        insn(cls | AluOp.MOV | Source.X, 5, 6, bits, 0),
      );
    }
  }
  add(
    "addr_space_cast",
    insn(Class.ALU64 | AluOp.MOV | Source.X, 1, 2, 1, 1 << 16),
  );
  add(
    "addr_space_cast 2",
    insn(Class.ALU64 | AluOp.MOV | Source.X, 1, 2, 1, 1),
  );
  for (const width of [16, 32, 64]) {
    add(
      `le${width}`,
      insn(Class.ALU | AluOp.END | Endian.TO_LE, 1, 0, 0, width),
    );
    add(
      `be${width}`,
      insn(Class.ALU | AluOp.END | Endian.TO_BE, 1, 0, 0, width),
    );
    add(`bswap${width}`, insn(Class.ALU64 | AluOp.END, 1, 0, 0, width));
  }

  for (
    const [lo, hi] of [[0, 0], [1, 0], [-1, -1], [0x55667788, 0x11223344], [
      -0x80000000,
      0,
    ], [0, -1]]
  ) {
    out.push({ name: `ld_imm64 ${lo} ${hi}`, insns: ldImm64(0, 0, lo, hi) });
  }
  out.push({ name: "ld map fd", insns: ldImm64(1, 1, 0, 0) });
  out.push({ name: "ld map fd 7", insns: ldImm64(2, 1, 7, 0) });
  out.push({ name: "ld map value", insns: ldImm64(3, 2, 1, 16) });
  out.push({ name: "ld btf id", insns: ldImm64(3, 3, 1234, 0) });
  out.push({ name: "ld func +5", insns: ldImm64(4, 4, 5, 0) });
  out.push({ name: "ld func -3", insns: ldImm64(4, 4, -3, 0) });
  out.push({ name: "ld map idx", insns: ldImm64(5, 5, 2, 0) });
  out.push({ name: "ld map idx value", insns: ldImm64(6, 6, 2, 24) });

  for (const size of [Size.B, Size.H, Size.W]) {
    add(`ld abs ${size}`, insn(Class.LD | Mode.ABS | size, 0, 0, 0, 12));
    add(`ld abs ${size} -1`, insn(Class.LD | Mode.ABS | size, 0, 0, 0, -1));
    add(`ld ind ${size}`, insn(Class.LD | Mode.IND | size, 0, 7, 0, 14));
  }

  for (const size of SIZES) {
    for (const off of OFFS) {
      add(
        `ldx ${size} ${off}`,
        insn(Class.LDX | Mode.MEM | size, 1, 10, off, 0),
      );
      add(
        `st ${size} ${off}`,
        insn(Class.ST | Mode.MEM | size, 10, 0, off, -5),
      );
      add(
        `stx ${size} ${off}`,
        insn(Class.STX | Mode.MEM | size, 10, 1, off, 0),
      );
      if (size !== Size.DW) {
        add(
          `ldxsx ${size} ${off}`,
          insn(Class.LDX | Mode.MEMSX | size, 2, 3, off, 0),
        );
      }
    }
    for (const imm of IMMS) {
      add(
        `st ${size} imm ${imm}`,
        insn(Class.ST | Mode.MEM | size, 1, 0, 4, imm),
      );
    }
    add(
      `load_acquire ${size}`,
      insn(Class.STX | Mode.ATOMIC | size, 1, 2, -8, AtomicOp.LOAD_ACQ),
    );
    add(
      `store_release ${size}`,
      insn(Class.STX | Mode.ATOMIC | size, 1, 2, 8, AtomicOp.STORE_REL),
    );
  }
  for (const size of [Size.W, Size.DW]) {
    for (const op of [AtomicOp.ADD, AtomicOp.OR, AtomicOp.AND, AtomicOp.XOR]) {
      add(
        `atomic ${size} ${op}`,
        insn(Class.STX | Mode.ATOMIC | size, 10, 1, -8, op),
      );
      add(
        `atomic ${size} ${op} fetch`,
        insn(Class.STX | Mode.ATOMIC | size, 10, 1, -8, op | AtomicOp.FETCH),
      );
    }
    add(
      `xchg ${size}`,
      insn(Class.STX | Mode.ATOMIC | size, 1, 3, 0, AtomicOp.XCHG),
    );
    add(
      `cmpxchg ${size}`,
      insn(Class.STX | Mode.ATOMIC | size, 1, 2, 0, AtomicOp.CMPXCHG),
    );
  }

  for (const cls of [Class.JMP, Class.JMP32]) {
    const c = cls === Class.JMP ? "jmp" : "jmp32";
    for (const [name, op] of CONDS) {
      for (const off of OFFS) {
        add(`${c} ${name} K ${off}`, insn(cls | op | Source.K, 1, 0, off, 0));
        add(`${c} ${name} X ${off}`, insn(cls | op | Source.X, 1, 2, off, 0));
      }
      for (const imm of IMMS) {
        add(
          `${c} ${name} K imm ${imm}`,
          insn(cls | op | Source.K, 9, 0, 3, imm),
        );
      }
    }
  }
  for (const off of OFFS) {
    add(`ja ${off}`, insn(Class.JMP | JmpOp.JA, 0, 0, off, 0));
  }
  for (const imm of [0, 1, -1, 100000, -100000]) {
    add(`gotol ${imm}`, insn(Class.JMP32 | JmpOp.JA, 0, 0, 0, imm));
  }
  add("may_goto", insn(Class.JMP | 0xe0, 0, 0, 7, 0));
  for (const id of [0, 1, 2, 5, 999, 0x7fffffff]) {
    add(`call helper ${id}`, insn(Class.JMP | JmpOp.CALL, 0, 0, 0, id));
  }
  for (const rel of [0, 5, -3]) {
    add(`call local ${rel}`, insn(Class.JMP | JmpOp.CALL, 0, 1, 0, rel));
  }
  add("call kfunc", insn(Class.JMP | JmpOp.CALL, 0, 2, 0, 1234));
  add("exit", insn(Class.JMP | JmpOp.EXIT, 0, 0, 0, 0));
  return out;
}
