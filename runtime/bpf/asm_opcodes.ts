/**
 * The assembler's tables: mnemonics and kernel-syntax operators to opcode
 * bits, helper names to ids.
 *
 * @example The opcode bits of `add` and `+=`
 * ```ts
 * import { ALU_KERNEL, ALU_OPS } from "./asm_opcodes.ts";
 * console.assert(ALU_OPS.add === ALU_KERNEL["+="][0]);
 * ```
 *
 * @module
 */

import { Helper } from "./opcodes.ts";

/** Helper ids by name, with and without the `bpf_` prefix. */
export const HELPERS: ReadonlyMap<string, number> = new Map(
  Object.entries(Helper).flatMap((
    [name, id],
  ) => [[name, id], [`bpf_${name}`, id]]),
);

/** ALU operation codes of the mnemonic syntax (`add`, `mov`, ...). */
export const ALU_OPS: Record<string, number> = {
  add: 0x00,
  sub: 0x10,
  mul: 0x20,
  div: 0x30,
  or: 0x40,
  and: 0x50,
  lsh: 0x60,
  rsh: 0x70,
  mod: 0x90,
  xor: 0xa0,
  mov: 0xb0,
  arsh: 0xc0,
  sdiv: 0x30,
  smod: 0x90,
};

/** ALU operation codes of the kernel syntax by operator (`+=`), with the `off` field (1: signed division and modulo). */
export const ALU_KERNEL: Record<string, [number, number]> = {
  "+=": [0x00, 0],
  "-=": [0x10, 0],
  "*=": [0x20, 0],
  "/=": [0x30, 0],
  "|=": [0x40, 0],
  "&=": [0x50, 0],
  "<<=": [0x60, 0],
  ">>=": [0x70, 0],
  "%=": [0x90, 0],
  "^=": [0xa0, 0],
  "=": [0xb0, 0],
  "s>>=": [0xc0, 0],
  "s/=": [0x30, 1],
  "s%=": [0x90, 1],
};

/** Jump operation codes of the mnemonic syntax (`jeq`, ...). */
export const JMP_OPS: Record<string, number> = {
  jeq: 0x10,
  jgt: 0x20,
  jge: 0x30,
  jset: 0x40,
  jne: 0x50,
  jsgt: 0x60,
  jsge: 0x70,
  jlt: 0xa0,
  jle: 0xb0,
  jslt: 0xc0,
  jsle: 0xd0,
};

/** Jump operation codes of the kernel syntax by comparison (`==`, `s<`, ...). */
export const JMP_KERNEL: Record<string, number> = {
  "==": 0x10,
  ">": 0x20,
  ">=": 0x30,
  "&": 0x40,
  "!=": 0x50,
  "s>": 0x60,
  "s>=": 0x70,
  "<": 0xa0,
  "<=": 0xb0,
  "s<": 0xc0,
  "s<=": 0xd0,
};

/** Atomic operation codes (`imm` of an atomic instruction) by name. */
export const ATOMIC_OPS: Record<string, number> = {
  add: 0x00,
  or: 0x40,
  and: 0x50,
  xor: 0xa0,
  xchg: 0xe1,
  cmpxchg: 0xf1,
};

/** Size bits of a load or store by mnemonic suffix (`w`, `h`, `b`, `dw`). */
export const SIZE_BITS: Record<string, number> = {
  w: 0x00,
  h: 0x08,
  b: 0x10,
  dw: 0x18,
};
/** Size bits of a load or store by byte count. */
export const SIZE_OF_BYTES: Record<number, number> = {
  4: 0x00,
  2: 0x08,
  1: 0x10,
  8: 0x18,
};
