/**
 * One instruction of the verifier's abstract interpretation: the dispatch by
 * decoded kind, and the register-only instructions (moves, ALU operations on
 * scalars and pointers, `ld_imm64`). Memory, branches and calls are handed to
 * `memory.ts`, `branches.ts` and `calls.ts`.
 *
 * @module
 */

import { imm64 } from "../bpf/insn.ts";
import { MapType, PseudoSrc } from "../bpf/opcodes.ts";
import {
  alu32,
  alu64,
  type AluKind,
  constOf,
  constRange,
  FULL,
  type Range,
  rangeText,
  signExtend,
  signExtend32,
  sRange,
  truncate32,
  U32_MAX,
} from "./scalar.ts";
import {
  isOrNull,
  isPointer,
  mkReg,
  type Reg,
  scalar,
  T,
  typeName,
} from "./state.ts";
import type { Dec } from "./structure.ts";
import { MAX_VAR_OFF, type Verification } from "./verification.ts";
import { doJcond } from "./branches.ts";
import { access, doAtomic } from "./memory.ts";
import { doCallLocal, doExit, doHelper } from "./calls.ts";

const ALU_WORD: Record<string, string> = {
  MUL: "multiplication",
  DIV: "division",
  SDIV: "division",
  MOD: "modulo",
  SMOD: "modulo",
  OR: "bitwise or",
  AND: "bitwise and",
  XOR: "bitwise xor",
  LSH: "left shift",
  RSH: "right shift",
  ARSH: "arithmetic right shift",
  NEG: "negation",
  END: "byte swap",
  ADD: "addition",
  SUB: "subtraction",
};

/** Executes one instruction; returns the next pc, or -1 if the path ends. */
export function step(vr: Verification, pc: number, d: Dec): number {
  switch (d.k) {
    case "mov":
      doMov(vr, pc, d);
      return pc + 1;
    case "movsx": {
      const s = vr.read(pc, d.src);
      if (s.t !== T.SCALAR) {
        vr.fail(
          pc,
          `sign-extending move of R${d.src}, ${typeName(s)}, is not allowed`,
        );
      }
      vr.set(
        d.dst,
        scalar(
          d.bits === 32
            ? signExtend32(s.r, d.off as 8 | 16)
            : signExtend(s.r, d.off as 8 | 16 | 32),
        ),
      );
      return pc + 1;
    }
    case "neg":
    case "end": {
      const v = vr.read(pc, d.dst);
      if (v.t !== T.SCALAR) {
        vr.fail(
          pc,
          `${ALU_WORD[d.k === "neg" ? "NEG" : "END"]} of R${d.dst}, ${
            typeName(v)
          }, is not allowed`,
        );
      }
      vr.set(
        d.dst,
        scalar(
          d.k === "neg"
            ? (d.bits === 64 ? alu64("NEG", v.r, v.r) : alu32("NEG", v.r, v.r))
            : swapRange(d, v.r),
        ),
      );
      return pc + 1;
    }
    case "alu":
      if (d.invalid !== undefined) vr.fail(pc, d.invalid);
      doAlu(vr, pc, d);
      return pc + 1;
    case "ldimm64":
      doLdImm64(vr, pc, d);
      return pc + 2;
    case "ldx": {
      const p = vr.read(pc, d.src);
      const v = access(vr, pc, d.src, p, d.off, d.size, false, undefined, d.sx);
      vr.set(d.dst, v!);
      return pc + 1;
    }
    case "st": {
      const p = vr.read(pc, d.dst);
      const imm = constRange(BigInt(d.imm));
      access(vr, pc, d.dst, p, d.off, d.size, true, scalar(imm), false);
      return pc + 1;
    }
    case "stx": {
      const p = vr.read(pc, d.dst);
      const v = vr.read(pc, d.src);
      access(vr, pc, d.dst, p, d.off, d.size, true, v, false);
      return pc + 1;
    }
    case "atomic":
      doAtomic(vr, pc, d);
      return pc + 1;
    case "ja":
      vr.jmpsSinceCp++;
      return d.target;
    case "jcond":
      vr.jmpsSinceCp++;
      return doJcond(vr, pc, d);
    case "call":
      return doHelper(vr, pc, d);
    case "callLocal":
      return doCallLocal(vr, pc, d);
    case "exit":
      return doExit(vr, pc);
  }
}

function doMov(vr: Verification, pc: number, d: Dec): void {
  if (!d.useReg) {
    vr.set(d.dst, scalar(d.immR));
    return;
  }
  let s = vr.read(pc, d.src);
  if (d.bits === 32) {
    if (s.t !== T.SCALAR) {
      vr.fail(
        pc,
        `32-bit move of R${d.src}, ${
          typeName(s)
        }, would truncate a pointer; 32-bit arithmetic on pointers is not allowed`,
      );
    }
    vr.set(d.dst, scalar(truncate32(s.r)));
    return;
  }
  if (s.t === T.SCALAR && constOf(s.r) === undefined && s.id === 0) {
    // Link the copies so a later compare narrows both.
    s = { ...s, id: vr.newId() };
    vr.set(d.src, s);
  }
  vr.set(d.dst, s);
}

function doAlu(vr: Verification, pc: number, d: Dec): void {
  const a = vr.read(pc, d.dst);
  const b = d.useReg ? vr.read(pc, d.src) : scalar(d.immR);
  const op = d.op as AluKind;
  if (isPointer(a.t) || isPointer(b.t)) {
    if (d.bits === 32) {
      const [r, p] = isPointer(a.t) ? [d.dst, a] : [d.src, b];
      vr.fail(
        pc,
        `32-bit arithmetic on a pointer is not allowed (R${r} is ${
          typeName(p)
        })`,
      );
    }
    vr.set(d.dst, pointerAlu(vr, pc, d, op, a, b));
    return;
  }
  const r = d.bits === 64 ? alu64(op, a.r, b.r) : alu32(op, a.r, b.r);
  vr.set(d.dst, scalar(r));
}

function pointerAlu(
  vr: Verification,
  pc: number,
  d: Dec,
  op: AluKind,
  a: Reg,
  b: Reg,
): Reg {
  const srcName = d.useReg ? `R${d.src}` : `${d.imm}`;
  if (isPointer(a.t) && isPointer(b.t)) {
    if (op === "SUB" && a.t === b.t && !isOrNull(a.t) && a.t !== T.MAP_PTR) {
      return scalar(FULL);
    }
    vr.fail(
      pc,
      op === "ADD"
        ? `pointer + pointer is not allowed (R${d.dst} is ${
          typeName(a)
        }, R${d.src} is ${typeName(b)})`
        : `${ALU_WORD[op]} of two pointers is not allowed (R${d.dst} is ${
          typeName(a)
        }, R${d.src} is ${typeName(b)})`,
    );
  }
  const ptrIsDst = isPointer(a.t);
  const p = ptrIsDst ? a : b;
  const preg = ptrIsDst ? `R${d.dst}` : `R${d.src}`;
  const sc = ptrIsDst ? b : a;
  if (op !== "ADD" && op !== "SUB") {
    vr.fail(
      pc,
      `${ALU_WORD[op]} on a pointer is not allowed (${preg} is ${
        typeName(p)
      }); only adding or subtracting a scalar is`,
    );
  }
  if (!ptrIsDst && op === "SUB") {
    vr.fail(
      pc,
      `subtracting a pointer from a scalar is not allowed (R${d.src} is ${
        typeName(p)
      })`,
    );
  }
  if (isOrNull(p.t)) {
    vr.fail(
      pc,
      `pointer arithmetic on ${preg}, ${
        typeName(p)
      }, is not allowed; check it against 0 first`,
    );
  }
  if (p.t === T.MAP_PTR || p.t === T.PERCPU) {
    vr.fail(
      pc,
      `pointer arithmetic on ${preg}, ${typeName(p)}, is not allowed`,
    );
  }
  const c = constOf(sc.r);
  if (c !== undefined) {
    let v = BigInt.asIntN(64, c);
    if (op === "SUB") v = -v;
    const off = BigInt(p.off) + v;
    if (off <= -BigInt(MAX_VAR_OFF) || off >= BigInt(MAX_VAR_OFF)) {
      vr.fail(
        pc,
        `pointer offset ${off} is out of range: math between ${
          typeName(p)
        } and ${srcName} is not allowed`,
      );
    }
    return { ...p, off: Number(off) };
  }
  const lim = BigInt(MAX_VAR_OFF);
  if (sc.r.smin < -lim || sc.r.smax > lim) {
    vr.fail(
      pc,
      `math between ${typeName(p)} and ${
        ptrIsDst ? srcName : `R${d.dst}`
      } with unbounded value ${
        rangeText(sc.r)
      } is not allowed; bound it with a comparison first`,
    );
  }
  const lo = op === "ADD" ? p.r.smin + sc.r.smin : p.r.smin - sc.r.smax;
  const hi = op === "ADD" ? p.r.smax + sc.r.smax : p.r.smax - sc.r.smin;
  if (lo < -lim || hi > lim) {
    vr.fail(
      pc,
      `the variable offset of ${preg} grows out of range [${lo}, ${hi}]`,
    );
  }
  return { ...p, r: sRange(lo, hi), id: 0 };
}

function doLdImm64(vr: Verification, pc: number, d: Dec): void {
  if (d.src === PseudoSrc.FUNC) {
    vr.set(d.dst, mkReg(T.FUNC, { off: d.target }));
    return;
  }
  if (d.src === PseudoSrc.BTF_ID) {
    vr.set(d.dst, mkReg(T.PERCPU, { size: d.imm }));
    return;
  }
  if (d.src === 0) {
    const v = imm64(vr.insns[pc], vr.insns[pc + 1]);
    vr.set(d.dst, scalar(constRange(v)));
    return;
  }
  const m = vr.opts.maps[d.imm];
  if (d.src === PseudoSrc.MAP_FD) {
    vr.set(d.dst, mkReg(T.MAP_PTR, { map: d.imm }));
    return;
  }
  if (m.type !== MapType.ARRAY || m.maxEntries !== 1) {
    vr.fail(
      pc,
      `direct map value access needs an array map with one entry; map ${d.imm} is not`,
    );
  }
  if (d.hi < 0 || d.hi >= m.valueSize) {
    vr.fail(
      pc,
      `direct map value offset ${d.hi} is outside the value size ${m.valueSize}`,
    );
  }
  vr.set(d.dst, mkReg(T.MAP_VALUE, { map: d.imm, off: d.hi }));
}

function swapRange(d: Dec, r: Range): Range {
  const c = constOf(r);
  const bits = d.size;
  if (c !== undefined) {
    const low = BigInt.asUintN(bits, c);
    if (d.op === "le") return constRange(low);
    let out = 0n;
    for (let i = 0; i < bits / 8; i++) {
      out = (out << 8n) | ((low >> BigInt(i * 8)) & 0xffn);
    }
    return constRange(out);
  }
  if (bits === 64) return FULL;
  if (d.op === "le" && r.umax < (1n << BigInt(bits))) return r;
  const top = bits === 32 ? U32_MAX : 0xffffn;
  return { umin: 0n, umax: top, smin: 0n, smax: top };
}
