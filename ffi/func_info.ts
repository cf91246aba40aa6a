/**
 * BTF function information for programs with subprograms.
 *
 * The kernel loads a program whose `ld_imm64` refers to a function
 * (`BPF_PSEUDO_FUNC`: a callback for `bpf_loop` or
 * `bpf_for_each_map_elem`) only with BTF `func_info`: one record per
 * function (its first instruction and a `FUNC` type). This module finds
 * the functions of an instruction array and encodes the smallest BTF that
 * describes them: an `int` type, one prototype, and one static `FUNC` per
 * function. Programs without subprograms need none of it.
 *
 * @module
 */

import type { Insn } from "../runtime/bpf/insn.ts";
import { LD_IMM64 } from "../runtime/bpf/insn.ts";
import { CallSrc, PseudoSrc } from "../runtime/bpf/opcodes.ts";

const CALL = 0x85;

/**
 * The first instruction of every function of a program: 0, then every
 * target of a bpf-to-bpf call or of an `ld_imm64` of a function, sorted.
 *
 * @example A program with one callback
 * ```ts
 * import { functionStarts } from "./func_info.ts";
 * import { InsnBuilder } from "../runtime/bpf/builder.ts";
 * const b = new InsnBuilder();
 * b.ldFunc(2, "cb").movImm(0, 0).exit().label("cb").movImm(0, 0).exit();
 * console.assert(functionStarts(b.build().insns).join() === "0,4");
 * ```
 */
export function functionStarts(insns: readonly Insn[]): number[] {
  const starts = new Set<number>([0]);
  for (let pc = 0; pc < insns.length; pc++) {
    const i = insns[pc];
    if (i.code === CALL && i.src === CallSrc.PSEUDO_CALL) {
      starts.add(pc + 1 + i.imm);
    } else if (i.code === LD_IMM64) {
      if (i.src === PseudoSrc.FUNC) starts.add(pc + 1 + i.imm);
      pc++;
    }
  }
  return [...starts].sort((a, b) => a - b);
}

/** The BTF blob and `func_info` records for a program's functions. */
export interface FuncInfo {
  /** A BTF blob to load with `BPF_BTF_LOAD`. */
  btf: Uint8Array<ArrayBuffer>;
  /** `struct bpf_func_info` records: `insn_off`, `type_id` (u32 each). */
  records: Uint8Array<ArrayBuffer>;
  /** Number of records. */
  count: number;
}

const KIND_INT = 1;
const KIND_FUNC = 12;
const KIND_FUNC_PROTO = 13;

/**
 * BTF describing functions starting at `starts` (from
 * {@linkcode functionStarts}): `int`, `int (void)`, then `FUNC`s named
 * `main`, `f1`, `f2`, … (static linkage), and their `func_info` records.
 *
 * @example Two functions
 * ```ts
 * import { funcInfo } from "./func_info.ts";
 * const fi = funcInfo([0, 12]);
 * console.assert(fi.count === 2 && fi.records.length === 16);
 * ```
 */
export function funcInfo(starts: readonly number[]): FuncInfo {
  const names = starts.map((_, k) => k === 0 ? "main" : `f${k}`);
  const strs = ["", "int", ...names];
  const strOff: number[] = [];
  let strLen = 0;
  for (const s of strs) {
    strOff.push(strLen);
    strLen += s.length + 1;
  }
  const types: number[] = [];
  // 1: int (4 bytes, signed, 32 bits).
  types.push(strOff[1], KIND_INT << 24, 4, (1 << 24) | 32);
  // 2: int (void).
  types.push(0, KIND_FUNC_PROTO << 24, 1);
  // 3…: the functions (static).
  names.forEach((_, k) => types.push(strOff[2 + k], KIND_FUNC << 24, 2));
  const typeLen = types.length * 4;
  const btf = new Uint8Array(24 + typeLen + strLen);
  const v = new DataView(btf.buffer);
  v.setUint16(0, 0xeb9f, true);
  v.setUint8(2, 1); // version
  v.setUint32(4, 24, true); // hdr_len
  v.setUint32(8, 0, true); // type_off
  v.setUint32(12, typeLen, true);
  v.setUint32(16, typeLen, true); // str_off
  v.setUint32(20, strLen, true);
  types.forEach((w, i) => v.setUint32(24 + i * 4, w >>> 0, true));
  const enc = new TextEncoder();
  strs.forEach((s, i) => btf.set(enc.encode(s), 24 + typeLen + strOff[i]));
  const records = new Uint8Array(starts.length * 8);
  const rv = new DataView(records.buffer);
  starts.forEach((pc, k) => {
    rv.setUint32(k * 8, pc, true);
    rv.setUint32(k * 8 + 4, 3 + k, true);
  });
  return { btf, records, count: starts.length };
}
