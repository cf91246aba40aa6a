/**
 * One eBPF instruction slot and its 8-byte wire form (`struct bpf_insn`).
 *
 * A program is an array of slots. `ld_imm64` takes two slots: the first
 * carries the opcode and the low 32 bits of the constant, the second has
 * opcode 0 and the high 32 bits. Jump offsets count slots, as the kernel does.
 *
 * @module
 */

import { Class, Mode, Size } from "./opcodes.ts";
import { checkInsns, describeValue } from "./validate.ts";
import type { Insn } from "./opcodes.ts";

export type { Insn } from "./opcodes.ts";

/** Byte size of one encoded instruction slot. */
export const INSN_SIZE = 8;

/** The opcode of `ld_imm64` (`BPF_LD | BPF_IMM | BPF_DW`). */
export const LD_IMM64 = Class.LD | Mode.IMM | Size.DW;

/**
 * Builds one instruction slot, normalising `off` to int16 and `imm` to int32.
 *
 * @example Make a slot
 * ```ts
 * import { insn } from "./insn.ts";
 * const exit = insn(0x95, 0, 0, 0, 0);
 * console.assert(exit.code === 0x95);
 * ```
 */
export function insn(
  code: number,
  dst: number,
  src: number,
  off: number,
  imm: number,
): Insn {
  return { code, dst, src, off: (off << 16) >> 16, imm: imm | 0 };
}

/** True when the slot is the first half of an `ld_imm64`. */
export function isLdImm64(i: Insn): boolean {
  return i.code === LD_IMM64;
}

/** The 64-bit constant of an `ld_imm64` pair, as an unsigned bigint. */
export function imm64(lo: Insn, hi: Insn): bigint {
  return (BigInt(hi.imm >>> 0) << 32n) | BigInt(lo.imm >>> 0);
}

/**
 * Encodes slots to the kernel's little-endian byte layout.
 *
 * @throws {import("./validate.ts").InvalidInsnError} for a slot whose
 *   fields are missing, not integers or out of range.
 * @example Encode `exit`
 * ```ts
 * import { encode, insn } from "./insn.ts";
 * const bytes = encode([insn(0x95, 0, 0, 0, 0)]);
 * console.assert(bytes.length === 8 && bytes[0] === 0x95);
 * ```
 */
export function encode(insns: readonly Insn[]): Uint8Array {
  checkInsns(insns, "encode()");
  const out = new Uint8Array(insns.length * INSN_SIZE);
  const view = new DataView(out.buffer);
  for (let i = 0; i < insns.length; i++) {
    const { code, dst, src, off, imm } = insns[i];
    const at = i * INSN_SIZE;
    view.setUint8(at, code & 0xff);
    view.setUint8(at + 1, ((src & 0xf) << 4) | (dst & 0xf));
    view.setInt16(at + 2, off, true);
    view.setInt32(at + 4, imm, true);
  }
  return out;
}

/**
 * Decodes the kernel's byte layout into slots.
 *
 * @throws {RangeError} when the length is not a multiple of 8.
 * @throws {TypeError} when `bytes` is not a Uint8Array.
 * @example Round trip
 * ```ts
 * import { decode, encode, insn } from "./insn.ts";
 * const [i] = decode(encode([insn(0xb7, 0, 0, 0, -1)]));
 * console.assert(i.imm === -1);
 * ```
 */
export function decode(bytes: Uint8Array): Insn[] {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `decode() expects a Uint8Array, got ${describeValue(bytes)}`,
    );
  }
  if (bytes.length % INSN_SIZE !== 0) {
    throw new RangeError(
      `Cannot decode ${bytes.length} bytes: not a multiple of ${INSN_SIZE}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = [];
  for (let at = 0; at < bytes.length; at += INSN_SIZE) {
    const regs = view.getUint8(at + 1);
    out.push({
      code: view.getUint8(at),
      dst: regs & 0xf,
      src: regs >> 4,
      off: view.getInt16(at + 2, true),
      imm: view.getInt32(at + 4, true),
    });
  }
  return out;
}
