/**
 * A slow, obvious reference model of eBPF semantics on bigints, for
 * differential tests of the interpreter: ALU, jumps, stack memory, atomics.
 *
 * @module
 */

import type { AluName } from "../../runtime/bpf/builder.ts";
import type { Insn } from "../../runtime/bpf/insn.ts";
import { AluOp, Class, Source } from "../../runtime/bpf/opcodes.ts";

const U64 = (v: bigint) => BigInt.asUintN(64, v);
const S64 = (v: bigint) => BigInt.asIntN(64, v);
const U32 = (v: bigint) => BigInt.asUintN(32, v);
const S32 = (v: bigint) => BigInt.asIntN(32, v);

/** An ALU operation, signed division and modulo included. */
export type Op = AluName | "SDIV" | "SMOD";
/** Every ALU operation. */
export const OPS: Op[] = [
  "ADD",
  "SUB",
  "MUL",
  "DIV",
  "SDIV",
  "OR",
  "AND",
  "LSH",
  "RSH",
  "NEG",
  "MOD",
  "SMOD",
  "XOR",
  "MOV",
  "ARSH",
];

/** The kernel's ALU64 semantics, on bigints. */
export function ref64(op: Op, a: bigint, b: bigint): bigint {
  switch (op) {
    case "ADD":
      return U64(a + b);
    case "SUB":
      return U64(a - b);
    case "MUL":
      return U64(a * b);
    case "DIV":
      return b === 0n ? 0n : a / b;
    case "SDIV":
      if (b === 0n) return 0n;
      return U64(S64(a) / S64(b));
    case "MOD":
      return b === 0n ? a : a % b;
    case "SMOD":
      if (b === 0n) return a;
      return U64(S64(a) % S64(b));
    case "OR":
      return a | b;
    case "AND":
      return a & b;
    case "XOR":
      return a ^ b;
    case "LSH":
      return U64(a << (b & 63n));
    case "RSH":
      return a >> (b & 63n);
    case "ARSH":
      return U64(S64(a) >> (b & 63n));
    case "NEG":
      return U64(-a);
    case "MOV":
      return b;
  }
}

/** The kernel's ALU32 semantics (result zero-extended). */
export function ref32(op: Op, a64: bigint, b64: bigint): bigint {
  const a = U32(a64), b = U32(b64);
  switch (op) {
    case "ADD":
      return U32(a + b);
    case "SUB":
      return U32(a - b);
    case "MUL":
      return U32(a * b);
    case "DIV":
      return b === 0n ? 0n : a / b;
    case "SDIV":
      return b === 0n ? 0n : U32(S32(a) / S32(b));
    case "MOD":
      return b === 0n ? a : a % b;
    case "SMOD":
      return b === 0n ? a : U32(S32(a) % S32(b));
    case "OR":
      return a | b;
    case "AND":
      return a & b;
    case "XOR":
      return a ^ b;
    case "LSH":
      return U32(a << (b & 31n));
    case "RSH":
      return a >> (b & 31n);
    case "ARSH":
      return U32(S32(a) >> (b & 31n));
    case "NEG":
      return U32(-a);
    case "MOV":
      return b;
  }
}

/** Opcode byte and `off` of an operation. */
export function opcode(
  op: Op,
  is64: boolean,
  x: boolean,
): { code: number; off: number } {
  const base = op === "SDIV" ? "DIV" : op === "SMOD" ? "MOD" : op;
  return {
    code: (is64 ? Class.ALU64 : Class.ALU) | AluOp[base] |
      (x ? Source.X : Source.K),
    off: op === "SDIV" || op === "SMOD" ? 1 : 0,
  };
}

const TAG = 0xff000000n;
const FRAMES = 8;

function aluOpName(op: number, off: number): Op | undefined {
  const names: Record<number, AluName> = {
    0x00: "ADD",
    0x10: "SUB",
    0x20: "MUL",
    0x30: "DIV",
    0x40: "OR",
    0x50: "AND",
    0x60: "LSH",
    0x70: "RSH",
    0x80: "NEG",
    0x90: "MOD",
    0xa0: "XOR",
    0xb0: "MOV",
    0xc0: "ARSH",
  };
  const n = names[op];
  if (n === "DIV" && off === 1) return "SDIV";
  if (n === "MOD" && off === 1) return "SMOD";
  return n;
}

function bswap(v: bigint, bits: number): bigint {
  let out = 0n;
  for (let i = 0; i < bits / 8; i++) {
    out = (out << 8n) | ((v >> BigInt(i * 8)) & 0xffn);
  }
  return out;
}

function sx(v: bigint, bits: number): bigint {
  return BigInt.asUintN(64, BigInt.asIntN(bits, v));
}

/**
 * Runs `insns` (no helper or bpf-to-bpf calls) on the model; returns r0, or
 * "error" where the interpreter must fault. r1 points at an empty ctx, r10
 * at the top of frame 0; frames 0-7 are 512 zeroed bytes each, reachable
 * through pointers of the interpreter's encoding.
 */
export function refRun(
  insns: readonly Insn[],
  budget: number,
): bigint | "error" {
  const regs = new Array<bigint>(11).fill(0n);
  regs[1] = (TAG + 8n) << 32n;
  regs[10] = (TAG << 32n) | 512n;
  const frames = Array.from({ length: FRAMES }, () => new Uint8Array(512));
  const at = (addr: bigint, size: number): [DataView, number] | undefined => {
    const region = addr >> 32n;
    const off = Number(addr & 0xffffffffn);
    if (region < TAG || region >= TAG + BigInt(FRAMES)) return undefined;
    if (off + size > 512) return undefined;
    const f = frames[Number(region - TAG)];
    return [new DataView(f.buffer), off];
  };
  const rd = (v: DataView, o: number, size: number): bigint =>
    size === 1
      ? BigInt(v.getUint8(o))
      : size === 2
      ? BigInt(v.getUint16(o, true))
      : size === 4
      ? BigInt(v.getUint32(o, true))
      : v.getBigUint64(o, true);
  const wr = (v: DataView, o: number, size: number, x: bigint) => {
    x = BigInt.asUintN(size * 8, x);
    if (size === 1) v.setUint8(o, Number(x));
    else if (size === 2) v.setUint16(o, Number(x), true);
    else if (size === 4) v.setUint32(o, Number(x), true);
    else v.setBigUint64(o, x, true);
  };
  const sizes: Record<number, number> = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 };
  let count = 0;
  let pc = 0;
  for (;;) {
    if (pc < 0 || pc >= insns.length) return "error";
    if (++count > budget) return "error";
    const i = insns[pc];
    const cls = i.code & 7;
    const x = (i.code & Source.X) !== 0;
    const op = i.code & 0xf0;
    if (cls === Class.ALU || cls === Class.ALU64) {
      const is64 = cls === Class.ALU64;
      if (op === AluOp.END) {
        const v = regs[i.dst];
        if (is64 || x) regs[i.dst] = bswap(v, i.imm);
        else regs[i.dst] = BigInt.asUintN(i.imm, v);
      } else if (op === AluOp.MOV && x && i.off !== 0) {
        const v = sx(regs[i.src], i.off);
        regs[i.dst] = is64 ? v : BigInt.asUintN(32, v);
      } else {
        const name = aluOpName(op, i.off)!;
        const b = x
          ? regs[i.src]
          : is64
          ? BigInt.asUintN(64, BigInt(i.imm))
          : BigInt.asUintN(32, BigInt(i.imm));
        regs[i.dst] = is64
          ? ref64(name, regs[i.dst], b)
          : ref32(name, regs[i.dst], b);
      }
      pc++;
    } else if (i.code === 0x18) {
      regs[i.dst] = (BigInt(insns[pc + 1].imm >>> 0) << 32n) |
        BigInt(i.imm >>> 0);
      pc += 2;
    } else if (cls === Class.LDX) {
      const size = sizes[i.code & 0x18];
      const m = at(BigInt.asUintN(64, regs[i.src] + BigInt(i.off)), size);
      if (m === undefined) return "error";
      const v = rd(m[0], m[1], size);
      regs[i.dst] = (i.code & 0xe0) === 0x80 ? sx(v, size * 8) : v;
      pc++;
    } else if (
      cls === Class.ST || (cls === Class.STX && (i.code & 0xe0) === 0x60)
    ) {
      const size = sizes[i.code & 0x18];
      const m = at(BigInt.asUintN(64, regs[i.dst] + BigInt(i.off)), size);
      if (m === undefined) return "error";
      wr(m[0], m[1], size, cls === Class.ST ? BigInt(i.imm) : regs[i.src]);
      pc++;
    } else if (cls === Class.STX) {
      const size = sizes[i.code & 0x18];
      const m = at(BigInt.asUintN(64, regs[i.dst] + BigInt(i.off)), size);
      if (m === undefined) return "error";
      const bits = size * 8;
      const old = rd(m[0], m[1], size);
      const s = BigInt.asUintN(bits, regs[i.src]);
      const fetch = (i.imm & 1) !== 0;
      switch (i.imm & ~1) {
        case 0x00:
          wr(m[0], m[1], size, old + s);
          break;
        case 0x40:
          wr(m[0], m[1], size, old | s);
          break;
        case 0x50:
          wr(m[0], m[1], size, old & s);
          break;
        case 0xa0:
          wr(m[0], m[1], size, old ^ s);
          break;
        case 0xe0:
          wr(m[0], m[1], size, s);
          break;
        case 0xf0:
          if (old === BigInt.asUintN(bits, regs[0])) wr(m[0], m[1], size, s);
          regs[0] = old;
          break;
      }
      if (fetch && (i.imm & ~1) !== 0xf0) regs[i.src] = old;
      pc++;
    } else if (cls === Class.JMP || cls === Class.JMP32) {
      if (i.code === 0x95) return regs[0];
      const bits = cls === Class.JMP ? 64 : 32;
      if (op === 0) {
        pc += 1 + (cls === Class.JMP32 ? i.imm : i.off);
        continue;
      }
      const a = regs[i.dst];
      const b = x ? regs[i.src] : BigInt.asUintN(64, BigInt(i.imm));
      const ua = BigInt.asUintN(bits, a), ub = BigInt.asUintN(bits, b);
      const sa = BigInt.asIntN(bits, a), sb = BigInt.asIntN(bits, b);
      const taken = {
        0x10: ua === ub,
        0x20: ua > ub,
        0x30: ua >= ub,
        0x40: (ua & ub) !== 0n,
        0x50: ua !== ub,
        0x60: sa > sb,
        0x70: sa >= sb,
        0xa0: ua < ub,
        0xb0: ua <= ub,
        0xc0: sa < sb,
        0xd0: sa <= sb,
      }[op];
      pc += taken ? 1 + i.off : 1;
    } else if (i.code === 0) {
      return "error"; // the second half of ld_imm64, reached by a jump
    } else {
      throw new Error(`Model does not support code ${i.code}`);
    }
  }
}
