/**
 * `strlen()` of a string held on the stack: the bytes before its first
 * NUL, or its whole size when it has none. Eight bytes are tested at a
 * time (a word whose every byte is non-zero passes one test); the word
 * that holds the NUL gives the NUL's place by a multiplication. No loop
 * and no variable-offset stack read, so every kernel the rest of the
 * code runs on accepts it; the result's bounds stay within the size, as
 * the byte-by-byte form's. Loaded on demand (`on_demand.ts`): a script
 * that calls `strlen()` or `strcap()`.
 *
 * @module
 */

import type { InsnBuilder } from "../bpf/builder.ts";
import { R10 } from "../bpf/opcodes.ts";
import type { Ref, RegAlloc } from "./regs.ts";

/** Every byte 0x7f: `((w & K) + K) | w` has a byte's top bit iff it is not 0. */
const LOW7 = 0x7f7f7f7f7f7f7f7fn;
/**
 * `(1 << 8k) * BYTE_INDEX >> 56` is k for k in 0..7: byte 7 - k of the
 * constant holds k.
 */
const BYTE_INDEX = 0x0001020304050607n;

/**
 * Emits the length of the `size`-byte string at `R10 + off`: the count
 * of bytes before the first NUL, `size` when there is none.
 *
 * @example Usage
 * ```ts ignore
 * const m = cg.mem(x);
 * const r = stringLength(cg, m.off, sizeOf(cg.type(x)));
 * ```
 *
 * @param cg The code generator's builder and register allocator (not
 * the whole `Emitter`: emitter.ts's imports lead to the module that loads
 * this one).
 * @param off The string's stack offset.
 * @param size Its size in bytes.
 * @returns A register holding the length.
 */
export function stringLength(
  cg: { b: InsnBuilder; ra: RegAlloc },
  off: number,
  size: number,
): Ref {
  const b = cg.b;
  const ra = cg.ra;
  const r = ra.newReg();
  const words = wordStarts(off, size);
  const x = ra.holding([r], () => ra.newReg());
  const y = words.length > 0
    ? ra.holding([r, x], () => ra.newReg())
    : undefined;
  const k = y !== undefined
    ? ra.holding([r, x, y], () => ra.newReg())
    : undefined;
  const [rr, xr] = ra.regs(r, x);
  const done = b.newLabel("slen");
  const found = b.newLabel("slenw");
  b.movImm(rr, 0);
  if (y !== undefined && k !== undefined) {
    const [yr, kr] = ra.regs(y, k);
    b.ldImm64(kr, LOW7);
    for (let at = 0; at < size;) {
      if (!words.includes(at)) {
        // A byte after the last whole word.
        b.ldx(1, xr, R10, off + at);
        b.jmpImm("JEQ", xr, 0, done);
        b.alu64Imm("ADD", rr, 1);
        at++;
        continue;
      }
      b.ldx(8, xr, R10, off + at);
      b.movReg(yr, xr);
      b.alu64Reg("AND", yr, kr);
      b.alu64Reg("ADD", yr, kr);
      b.alu64Reg("OR", yr, xr);
      b.alu64Reg("OR", yr, kr);
      // All ones: no byte of the word is 0.
      b.jmpImm("JNE", yr, -1, found);
      b.alu64Imm("ADD", rr, 8);
      at += 8;
    }
    b.ja(done);
    // The top bit of each zero byte, alone; the lowest is the first NUL.
    b.label(found);
    b.alu64Imm("XOR", yr, -1);
    b.movReg(xr, yr);
    b.alu64Imm("NEG", xr, 0);
    b.alu64Reg("AND", yr, xr);
    b.alu64Imm("RSH", yr, 7);
    b.ldImm64(xr, BYTE_INDEX);
    b.alu64Reg("MUL", yr, xr);
    b.alu64Imm("RSH", yr, 56);
    // 0..7 already; the mask tells the verifier so.
    b.alu64Imm("AND", yr, 7);
    b.alu64Reg("ADD", rr, yr);
    ra.free(k);
    ra.free(y);
  } else {
    for (let at = 0; at < size; at++) {
      b.ldx(1, xr, R10, off + at);
      b.jmpImm("JEQ", xr, 0, done);
      b.alu64Imm("ADD", rr, 1);
    }
  }
  b.label(done);
  ra.free(x);
  return r;
}

/**
 * The offsets (from the string's start) of its 8-byte words, worth
 * testing a word at a time when there are two or more. Strings on the
 * stack start 8-byte aligned (the kernel wants aligned stack reads); one
 * that does not is read a byte at a time.
 */
function wordStarts(off: number, size: number): number[] {
  if (off % 8 !== 0 || size < 16) return [];
  const out: number[] = [];
  for (let at = 0; at + 8 <= size; at += 8) out.push(at);
  return out;
}
