/**
 * The JavaScript code of single eBPF instructions, as `translate.ts` puts
 * them in a unit's `switch (pc)`: loads and stores with their region
 * checks, atomics, 64- and 32-bit ALU operations on (low, high) int32
 * register pairs, byte swaps and conditions of conditional jumps.
 *
 * @module
 */

import { AluOp, AtomicOp, JmpOp, Size } from "../bpf/opcodes.ts";
import { TAG } from "./memory.ts";

/** One instruction slot, its fields normalised to their bit widths. */
export interface Slot {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const TAG_ADJ = -TAG;

/** Bytes a load or store of `code` accesses. */
export function sizeOf(code: number): 1 | 2 | 4 | 8 {
  switch (code & 0x18) {
    case Size.B:
      return 1;
    case Size.H:
      return 2;
    case Size.W:
      return 4;
  }
  return 8;
}

/** Code computing `id`/`o` for an access and checking it. */
function check(
  pc: number,
  base: number,
  off: number,
  size: number,
  write: boolean,
): string {
  const lens = write ? "WL" : "RL";
  return `id = (h${base} + ${TAG_ADJ}) >>> 0; o = (l${base} >>> 0) + ${off}; ` +
    `if (!(o >= 0 && o <= ${lens}[id] - ${size})) throw af(${pc}, l${base}, h${base}, ${off}, ${size}, ${write});`;
}

/** Code of a load (`LDX`) of `size` bytes, checked against its region. */
export function load(
  pc: number,
  d: number,
  base: number,
  off: number,
  size: number,
  sx: boolean,
): string {
  const c = check(pc, base, off, size, false);
  const ld = `l${d}`, hd = `h${d}`;
  switch (size) {
    case 1:
      return sx
        ? `${c} ${ld} = V[id].getInt8(o); ${hd} = ${ld} >> 31;`
        : `${c} ${ld} = V[id].getUint8(o); ${hd} = 0;`;
    case 2:
      return sx
        ? `${c} ${ld} = V[id].getInt16(o, true); ${hd} = ${ld} >> 31;`
        : `${c} ${ld} = V[id].getUint16(o, true); ${hd} = 0;`;
    case 4:
      return sx
        ? `${c} ${ld} = V[id].getInt32(o, true); ${hd} = ${ld} >> 31;`
        : `${c} ${ld} = V[id].getInt32(o, true); ${hd} = 0;`;
  }
  return `${c} ${ld} = V[id].getInt32(o, true); ${hd} = V[id].getInt32(o + 4, true);`;
}

/** Code of a store of `size` bytes of `lo` (and `hiv`), region checked. */
export function store(
  pc: number,
  base: number,
  off: number,
  size: number,
  lo: string,
  hiv: string,
): string {
  const c = check(pc, base, off, size, true);
  switch (size) {
    case 1:
      return `${c} V[id].setUint8(o, ${lo} & 255);`;
    case 2:
      return `${c} V[id].setUint16(o, ${lo} & 65535, true);`;
    case 4:
      return `${c} V[id].setInt32(o, ${lo}, true);`;
  }
  return `${c} V[id].setInt32(o, ${lo}, true); V[id].setInt32(o + 4, ${hiv}, true);`;
}

/** Code of an atomic operation, or null when it is not one we run. */
export function atomic(pc: number, i: Slot, size: number): string | null {
  const d = i.dst, sr = i.src, off = i.off;
  if (i.imm === AtomicOp.LOAD_ACQ) return load(pc, d, sr, off, size, false);
  if (i.imm === AtomicOp.STORE_REL) {
    return store(pc, d, off, size, `l${sr}`, `h${sr}`);
  }
  if (size !== 4 && size !== 8) return null;
  const op = i.imm & ~AtomicOp.FETCH;
  const fetch = (i.imm & AtomicOp.FETCH) !== 0;
  const ls = `l${sr}`, hs = `h${sr}`;
  const c = check(pc, d, off, size, true) + " const v = V[id];";
  const rmw = (lo: string, hiExpr: string): string => {
    if (size === 4) {
      return `{ ${c} t = v.getInt32(o, true); v.setInt32(o, ${lo}, true);${
        fetch ? ` ${ls} = t; ${hs} = 0;` : ""
      } }`;
    }
    return `{ ${c} t = v.getInt32(o, true); t2 = v.getInt32(o + 4, true); ` +
      `const nl = ${lo}, nh = ${hiExpr}; v.setInt32(o, nl, true); v.setInt32(o + 4, nh, true);${
        fetch ? ` ${ls} = t; ${hs} = t2;` : ""
      } }`;
  };
  switch (op) {
    case AtomicOp.ADD:
      if (size === 4) return rmw(`(t + ${ls}) | 0`, "");
      return `{ ${c} t = v.getInt32(o, true); t2 = v.getInt32(o + 4, true); ` +
        `const s = (t >>> 0) + (${ls} >>> 0); v.setInt32(o, s | 0, true); ` +
        `v.setInt32(o + 4, (t2 + ${hs} + (s > 4294967295 ? 1 : 0)) | 0, true);${
          fetch ? ` ${ls} = t; ${hs} = t2;` : ""
        } }`;
    case AtomicOp.OR:
      return rmw(`t | ${ls}`, `t2 | ${hs}`);
    case AtomicOp.AND:
      return rmw(`t & ${ls}`, `t2 & ${hs}`);
    case AtomicOp.XOR:
      return rmw(`t ^ ${ls}`, `t2 ^ ${hs}`);
  }
  if (i.imm === AtomicOp.XCHG) {
    if (size === 4) {
      return `{ ${c} t = v.getInt32(o, true); v.setInt32(o, ${ls}, true); ${ls} = t; ${hs} = 0; }`;
    }
    return `{ ${c} t = v.getInt32(o, true); t2 = v.getInt32(o + 4, true); ` +
      `v.setInt32(o, ${ls}, true); v.setInt32(o + 4, ${hs}, true); ${ls} = t; ${hs} = t2; }`;
  }
  if (i.imm === AtomicOp.CMPXCHG) {
    if (size === 4) {
      return `{ ${c} t = v.getInt32(o, true); if (t === l0) v.setInt32(o, ${ls}, true); l0 = t; h0 = 0; }`;
    }
    return `{ ${c} t = v.getInt32(o, true); t2 = v.getInt32(o + 4, true); ` +
      `if (t === l0 && t2 === h0) { v.setInt32(o, ${ls}, true); v.setInt32(o + 4, ${hs}, true); } l0 = t; h0 = t2; }`;
  }
  return null;
}

/** Code of a 64-bit ALU operation (`x`: the source is a register). */
export function alu64(op: number, x: boolean, i: Slot, pc: number): string {
  const d = i.dst;
  const ld = `l${d}`, hd = `h${d}`;
  const bl = x ? `l${i.src}` : `${i.imm}`;
  const bh = x ? `h${i.src}` : i.imm < 0 ? "-1" : "0";
  const blu = x ? `(${bl} >>> 0)` : `${i.imm >>> 0}`;
  const call = (fn: string) =>
    `${ld} = ${fn}(${ld}, ${hd}, ${bl}, ${bh}); ${hd} = HO.v;`;
  switch (op) {
    case AluOp.ADD:
      return `t = (${ld} >>> 0) + ${blu}; ${hd} = (${hd} + (${bh}) + (t > 4294967295 ? 1 : 0)) | 0; ${ld} = t | 0;`;
    case AluOp.SUB:
      return `t = (${ld} >>> 0) - ${blu}; ${hd} = (${hd} - (${bh}) - (t < 0 ? 1 : 0)) | 0; ${ld} = t | 0;`;
    case AluOp.MUL:
      return call("mul64");
    case AluOp.DIV:
      return i.off === 0
        ? call("udiv64")
        : i.off === 1
        ? call("sdiv64")
        : `throw f(${pc}, "Invalid instruction");`;
    case AluOp.MOD:
      return i.off === 0
        ? call("umod64")
        : i.off === 1
        ? call("smod64")
        : `throw f(${pc}, "Invalid instruction");`;
    case AluOp.OR:
      return `${ld} |= ${bl}; ${hd} |= ${bh};`;
    case AluOp.AND:
      return `${ld} &= ${bl}; ${hd} &= ${bh};`;
    case AluOp.XOR:
      return `${ld} ^= ${bl}; ${hd} ^= ${bh};`;
    case AluOp.LSH:
    case AluOp.RSH:
    case AluOp.ARSH: {
      const name = op === AluOp.LSH
        ? "lsh64"
        : op === AluOp.RSH
        ? "rsh64"
        : "arsh64";
      if (x) return `${ld} = ${name}(${ld}, ${hd}, ${bl}); ${hd} = HO.v;`;
      return shiftK(op, ld, hd, i.imm & 63);
    }
    case AluOp.NEG:
      if (x) return `throw f(${pc}, "Invalid instruction");`;
      return `t = 0 - (${ld} >>> 0); ${hd} = (-${hd} - (t < 0 ? 1 : 0)) | 0; ${ld} = t | 0;`;
    case AluOp.MOV:
      if (!x) return `${ld} = ${bl}; ${hd} = ${bh};`;
      switch (i.off) {
        case 0:
          return `${ld} = ${bl}; ${hd} = ${bh};`;
        case 8:
          return `${ld} = (${bl} << 24) >> 24; ${hd} = ${ld} >> 31;`;
        case 16:
          return `${ld} = (${bl} << 16) >> 16; ${hd} = ${ld} >> 31;`;
        case 32:
          return `${ld} = ${bl}; ${hd} = ${ld} >> 31;`;
      }
      return `throw f(${pc}, "Invalid instruction");`;
    case AluOp.END:
      if (x) return `throw f(${pc}, "Invalid instruction");`;
      return swap(ld, hd, i.imm, pc);
  }
  return `throw f(${pc}, "Invalid instruction");`;
}

function shiftK(op: number, ld: string, hd: string, k: number): string {
  if (k === 0) return "";
  if (op === AluOp.LSH) {
    return k < 32
      ? `${hd} = (${hd} << ${k}) | (${ld} >>> ${
        32 - k
      }); ${ld} = ${ld} << ${k};`
      : `${hd} = ${ld} << ${k - 32}; ${ld} = 0;`;
  }
  if (op === AluOp.RSH) {
    return k < 32
      ? `${ld} = (${ld} >>> ${k}) | (${hd} << ${
        32 - k
      }); ${hd} = (${hd} >>> ${k}) | 0;`
      : `${ld} = (${hd} >>> ${k - 32}) | 0; ${hd} = 0;`;
  }
  return k < 32
    ? `${ld} = (${ld} >>> ${k}) | (${hd} << ${32 - k}); ${hd} = ${hd} >> ${k};`
    : `${ld} = ${hd} >> ${k - 32}; ${hd} = ${hd} >> 31;`;
}

function swap(ld: string, hd: string, bits: number, pc: number): string {
  switch (bits) {
    case 16:
      return `${ld} = ((${ld} & 255) << 8) | ((${ld} >>> 8) & 255); ${hd} = 0;`;
    case 32:
      return `${ld} = bswap32(${ld}); ${hd} = 0;`;
    case 64:
      return `t = bswap32(${hd}); ${hd} = bswap32(${ld}); ${ld} = t;`;
  }
  return `throw f(${pc}, "Invalid byte swap width ${bits}");`;
}

/** Code of a 32-bit ALU operation (`x`: the source is a register). */
export function alu32(op: number, x: boolean, i: Slot, pc: number): string {
  const d = i.dst;
  const ld = `l${d}`, hd = `h${d}`;
  const b = x ? `l${i.src}` : `${i.imm}`;
  const bad = `throw f(${pc}, "Invalid instruction");`;
  let e: string;
  switch (op) {
    case AluOp.ADD:
      e = `${ld} = (${ld} + ${b}) | 0;`;
      break;
    case AluOp.SUB:
      e = `${ld} = (${ld} - ${b}) | 0;`;
      break;
    case AluOp.MUL:
      e = `${ld} = Math.imul(${ld}, ${b});`;
      break;
    case AluOp.DIV:
      if (i.off === 0) {
        e = `${ld} = ${b} === 0 ? 0 : ((${ld} >>> 0) / (${b} >>> 0)) | 0;`;
      } else if (i.off === 1) {
        e =
          `${ld} = ${b} === 0 ? 0 : ${b} === -1 ? -${ld} | 0 : (${ld} / ${b}) | 0;`;
      } else return bad;
      break;
    case AluOp.MOD:
      if (i.off === 0) {
        e = `if (${b} !== 0) ${ld} = ((${ld} >>> 0) % (${b} >>> 0)) | 0;`;
      } else if (i.off === 1) {
        e = `if (${b} !== 0) ${ld} = ${b} === -1 ? 0 : (${ld} % ${b}) | 0;`;
      } else return bad;
      break;
    case AluOp.OR:
      e = `${ld} |= ${b};`;
      break;
    case AluOp.AND:
      e = `${ld} &= ${b};`;
      break;
    case AluOp.XOR:
      e = `${ld} ^= ${b};`;
      break;
    case AluOp.LSH:
      e = `${ld} = ${ld} << (${b} & 31);`;
      break;
    case AluOp.RSH:
      e = `${ld} = (${ld} >>> (${b} & 31)) | 0;`;
      break;
    case AluOp.ARSH:
      e = `${ld} = ${ld} >> (${b} & 31);`;
      break;
    case AluOp.NEG:
      if (x) return bad;
      e = `${ld} = -${ld} | 0;`;
      break;
    case AluOp.MOV:
      if (!x || i.off === 0) e = `${ld} = ${b};`;
      else if (i.off === 8) e = `${ld} = (${b} << 24) >> 24;`;
      else if (i.off === 16) e = `${ld} = (${b} << 16) >> 16;`;
      else return bad;
      break;
    case AluOp.END: {
      // x here is the TO_BE bit.
      if (x) return swap(ld, hd, i.imm, pc);
      switch (i.imm) {
        case 16:
          return `${ld} &= 65535; ${hd} = 0;`;
        case 32:
          return `${hd} = 0;`;
        case 64:
          return "";
      }
      return `throw f(${pc}, "Invalid byte swap width ${i.imm}");`;
    }
    default:
      return bad;
  }
  return `${e} ${hd} = 0;`;
}

/** The condition of a 32-bit conditional jump on `a` and `b`. */
export function cond32(op: number, a: string, b: string): string {
  switch (op) {
    case JmpOp.JEQ:
      return `${a} === ${b}`;
    case JmpOp.JNE:
      return `${a} !== ${b}`;
    case JmpOp.JGT:
      return `(${a} >>> 0) > (${b} >>> 0)`;
    case JmpOp.JGE:
      return `(${a} >>> 0) >= (${b} >>> 0)`;
    case JmpOp.JLT:
      return `(${a} >>> 0) < (${b} >>> 0)`;
    case JmpOp.JLE:
      return `(${a} >>> 0) <= (${b} >>> 0)`;
    case JmpOp.JSGT:
      return `${a} > ${b}`;
    case JmpOp.JSGE:
      return `${a} >= ${b}`;
    case JmpOp.JSLT:
      return `${a} < ${b}`;
    case JmpOp.JSLE:
      return `${a} <= ${b}`;
    case JmpOp.JSET:
      return `(${a} & ${b}) !== 0`;
  }
  return "false";
}

/** The condition of a 64-bit conditional jump. */
export function cond64(
  op: number,
  al: string,
  ah: string,
  bl: string,
  bh: string,
): string {
  const u = (cmp: string, eq: string) =>
    `((${ah} >>> 0) ${cmp} (${bh} >>> 0) || (${ah} === ${bh} && (${al} >>> 0) ${eq} (${bl} >>> 0)))`;
  const sg = (cmp: string, eq: string) =>
    `(${ah} ${cmp} ${bh} || (${ah} === ${bh} && (${al} >>> 0) ${eq} (${bl} >>> 0)))`;
  switch (op) {
    case JmpOp.JEQ:
      return `${al} === ${bl} && ${ah} === ${bh}`;
    case JmpOp.JNE:
      return `${al} !== ${bl} || ${ah} !== ${bh}`;
    case JmpOp.JGT:
      return u(">", ">");
    case JmpOp.JGE:
      return u(">", ">=");
    case JmpOp.JLT:
      return u("<", "<");
    case JmpOp.JLE:
      return u("<", "<=");
    case JmpOp.JSGT:
      return sg(">", ">");
    case JmpOp.JSGE:
      return sg(">", ">=");
    case JmpOp.JSLT:
      return sg("<", "<");
    case JmpOp.JSLE:
      return sg("<", "<=");
    case JmpOp.JSET:
      return `(${al} & ${bl}) !== 0 || (${ah} & ${bh}) !== 0`;
  }
  return "false";
}
