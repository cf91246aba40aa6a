/**
 * A differential test of our verifier against the kernel's: random programs
 * (seeded, reproducible) go through our verifier and interpreter and through
 * the running kernel (`bpf_prog_load`, then `BPF_PROG_TEST_RUN` as a raw
 * tracepoint program with a 96-byte context). The rule checked: a program
 * our verifier accepts loads in the kernel and returns the same r0 (the
 * kernel reports its low 32 bits; every program folds the high half in).
 * Being stricter than the kernel is allowed and counted.
 *
 * The generator aims at the places where a verifier's value tracking can be
 * more precise than the kernel's: division and modulo (signed too), sign
 * extension (`movsx`, `ldsx`), 32-bit ALU, shifts, byte swaps, spills and
 * fills, and conditional jumps on derived values. It follows one concrete
 * execution while it generates, so it can put a trap (a load through a
 * scalar) on the side of a jump that this execution does not take, behind
 * a condition that a precise enough analysis can prove; and it indexes a
 * map value with a derived value bounded by a jump to the exit.
 *
 * Run thousands: `deno task fuzz:verifier --count 5000 --seed 1`.
 *
 * @module
 */

import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import { encode, type Insn } from "../../runtime/bpf/insn.ts";
import { disassemble } from "../../runtime/bpf/disasm.ts";
import { MapType, ProgType, PseudoSrc } from "../../runtime/bpf/opcodes.ts";
import { VerifierError, verify } from "../../runtime/verifier/verifier.ts";
import { createEnvironment } from "../../runtime/vm/environment.ts";
import { VmProgram } from "../../runtime/vm/interpreter.ts";
import { createMap } from "../../runtime/vm/maps.ts";

/** Bytes of the raw tracepoint context (12 u64 arguments). */
export const CTX_SIZE = 96;
/** Value size of the one-entry array map the programs index. */
export const VALUE_SIZE = 64;

/** One generated program and its inputs. */
export interface DiffCase {
  /** The program. */
  insns: Insn[];
  /** The context bytes (`ctx_in`). */
  ctx: Uint8Array<ArrayBuffer>;
  /** The map value (key 0) before the run. */
  value: Uint8Array<ArrayBuffer>;
}

/**
 * A small deterministic PRNG (mulberry32).
 *
 * @example The same seed gives the same numbers
 * ```ts
 * import { rng } from "./kernel_diff.ts";
 * console.assert(rng(1)() === rng(1)());
 * ```
 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const u64 = (v: bigint) => BigInt.asUintN(64, v);
const s64 = (v: bigint) => BigInt.asIntN(64, v);
const u32 = (v: bigint) => BigInt.asUintN(32, v);
const s32 = (v: bigint) => BigInt.asIntN(32, v);

type Alu =
  | "ADD"
  | "SUB"
  | "MUL"
  | "DIV"
  | "SDIV"
  | "MOD"
  | "SMOD"
  | "OR"
  | "AND"
  | "XOR"
  | "LSH"
  | "RSH"
  | "ARSH"
  | "MOV";

const ALU_CODE: Record<Alu, number> = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  SDIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  MOD: 0x90,
  SMOD: 0x90,
  XOR: 0xa0,
  MOV: 0xb0,
  ARSH: 0xc0,
};

/** The concrete result of `a op b` as the ISA defines it. */
function aluValue(op: Alu, a: bigint, b: bigint, bits: 32 | 64): bigint {
  const w = bits === 64 ? u64 : u32;
  const s = bits === 64 ? s64 : s32;
  const A = w(a), B = w(b);
  const sh = B & BigInt(bits - 1);
  let r: bigint;
  switch (op) {
    case "ADD":
      r = A + B;
      break;
    case "SUB":
      r = A - B;
      break;
    case "MUL":
      r = A * B;
      break;
    case "DIV":
      r = B === 0n ? 0n : A / B;
      break;
    case "MOD":
      r = B === 0n ? A : A % B;
      break;
    case "SDIV":
      r = B === 0n ? 0n : s(A) / s(B);
      break;
    case "SMOD":
      r = B === 0n ? A : s(A) % s(B);
      break;
    case "OR":
      r = A | B;
      break;
    case "AND":
      r = A & B;
      break;
    case "XOR":
      r = A ^ B;
      break;
    case "LSH":
      r = A << sh;
      break;
    case "RSH":
      r = A >> sh;
      break;
    case "ARSH":
      r = s(A) >> sh;
      break;
    case "MOV":
      r = B;
      break;
  }
  return w(r);
}

const INTERESTING = [
  0,
  1,
  2,
  3,
  5,
  7,
  8,
  15,
  16,
  31,
  32,
  63,
  64,
  100,
  127,
  128,
  255,
  256,
  1000,
  0x7fff,
  0x8000,
  0xffff,
  0x10000,
  0x7fffffff,
  -0x80000000,
  -1,
  -2,
  -3,
  -7,
  -100,
  -128,
  -129,
  -256,
  -32768,
];

const POOL = [0, 2, 3, 4, 5, 7, 8, 9];
const JOPS = [
  "JEQ",
  "JNE",
  "JGT",
  "JGE",
  "JLT",
  "JLE",
  "JSGT",
  "JSGE",
  "JSLT",
  "JSLE",
  "JSET",
] as const;
type JOp = typeof JOPS[number];

function holds(op: JOp, a: bigint, b: bigint, bits: 32 | 64): boolean {
  const w = bits === 64 ? u64 : u32;
  const s = bits === 64 ? s64 : s32;
  const A = w(a), B = w(b);
  switch (op) {
    case "JEQ":
      return A === B;
    case "JNE":
      return A !== B;
    case "JGT":
      return A > B;
    case "JGE":
      return A >= B;
    case "JLT":
      return A < B;
    case "JLE":
      return A <= B;
    case "JSGT":
      return s(A) > s(B);
    case "JSGE":
      return s(A) >= s(B);
    case "JSLT":
      return s(A) < s(B);
    case "JSLE":
      return s(A) <= s(B);
    case "JSET":
      return (A & B) !== 0n;
  }
}

/**
 * Generates one program and its inputs; `next` is the random source.
 *
 * @example Generate and check a program with our verifier
 * ```ts
 * import { generate, rng, runOurs } from "./kernel_diff.ts";
 * const v = runOurs(generate(rng(42)));
 * console.log(v.reason ?? `r0 = ${v.r0}`);
 * ```
 */
export function generate(next: () => number): DiffCase {
  const pick = <T>(a: readonly T[]): T => a[next() % a.length];
  const chance = (pct: number) => next() % 100 < pct;
  const ctx = new Uint8Array(CTX_SIZE);
  const value = new Uint8Array(VALUE_SIZE);
  const fillBytes = (buf: Uint8Array) => {
    const dv = new DataView(buf.buffer);
    for (let i = 0; i < buf.length; i += 8) {
      const v = chance(50)
        ? BigInt(pick(INTERESTING))
        : (BigInt(next()) << 32n) | BigInt(next());
      dv.setBigUint64(i, u64(chance(20) ? v << BigInt(next() % 40) : v), true);
    }
  };
  fillBytes(ctx);
  fillBytes(value);
  const ctxView = new DataView(ctx.buffer);
  // The map value as the concrete path changes it (atomics write it).
  const valView = new DataView(value.slice().buffer);
  const readLE = (dv: DataView, off: number, size: number, sx: boolean) => {
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) {
      v = (v << 8n) | BigInt(dv.getUint8(off + i));
    }
    return sx ? u64(BigInt.asIntN(size * 8, v)) : v;
  };

  const b = new InsnBuilder();
  // Concrete state of the path being generated (undefined: not on it).
  const regs = new Map<number, bigint>();
  const stack = new DataView(new ArrayBuffer(64)); // fp-64 .. fp-1
  let live = true; // false inside code the concrete path skips
  let label = 0;
  const trapCount = { n: 0 };
  const imm = (): number => {
    if (chance(60)) return pick(INTERESTING);
    return chance(50) ? (next() % 512) - 256 : next() | 0;
  };
  /** Registers a loop body must not write (its counter). */
  const busy = new Set<number>();
  /** Registers written while generating a loop body. */
  let written: Set<number> | undefined;
  const dstReg = (): number => {
    const free = POOL.filter((r) => !busy.has(r));
    return pick(free);
  };
  const set = (r: number, v: bigint | undefined) => {
    written?.add(r);
    if (!live) return;
    if (v === undefined) regs.delete(r);
    else regs.set(r, u64(v));
  };
  const val = (r: number): bigint | undefined => live ? regs.get(r) : undefined;

  const ctxLoad = (dst: number) => {
    const size = pick([1, 2, 4, 8] as const);
    const sx = size < 8 && chance(40);
    const off = (next() % (CTX_SIZE / size)) * size;
    if (sx) b.ldxsx(size as 1 | 2 | 4, dst, 1, off);
    else b.ldx(size, dst, 1, off);
    set(dst, readLE(ctxView, off, size, sx));
  };
  const constLoad = (dst: number) => {
    if (chance(70)) {
      const v = imm();
      b.movImm(dst, v);
      set(dst, BigInt(v));
    } else {
      const v = u64(
        (BigInt(imm()) << BigInt(next() % 64)) ^ BigInt(imm()),
      );
      b.ldImm64(dst, v);
      set(dst, v);
    }
  };

  // Prelude: r0 and the pool get values, r6 points at the map value, the
  // stack's 64 bytes are written.
  b.movImm(0, 0);
  set(0, 0n);
  for (const r of POOL) {
    if (r === 0 && chance(50)) continue;
    if (chance(45)) ctxLoad(r);
    else constLoad(r);
  }
  b.ldMapValue(6, 0, 0);
  b.stx(8, 10, -80, 1); // the context, for after helper calls
  for (let slot = 1; slot <= 8; slot++) {
    const off = -8 * slot;
    if (chance(50)) {
      const r = pick(POOL);
      b.stx(8, 10, off, r);
      stack.setBigUint64(64 + off, val(r) ?? 0n, true);
    } else {
      const v = imm();
      b.st(8, 10, off, v);
      stack.setBigInt64(64 + off, BigInt(v), true);
    }
  }

  const aluOp = (): void => {
    const op = pick<Alu>([
      "ADD",
      "SUB",
      "MUL",
      "DIV",
      "DIV",
      "SDIV",
      "MOD",
      "MOD",
      "SMOD",
      "OR",
      "AND",
      "AND",
      "XOR",
      "LSH",
      "RSH",
      "ARSH",
      "MOV",
    ]);
    const bits = chance(65) ? 64 : 32;
    const dst = dstReg();
    const signed = op === "SDIV" || op === "SMOD";
    const cls = bits === 64 ? 0x07 : 0x04;
    const shift = op === "LSH" || op === "RSH" || op === "ARSH";
    if (chance(55)) {
      let k = imm();
      if (shift && !chance(3)) k = next() % bits;
      if ((op === "DIV" || op === "MOD" || signed) && k === 0 && chance(90)) {
        k = pick([3, 7, 10, -3, 16]);
      }
      b.raw({
        code: cls | ALU_CODE[op],
        dst,
        src: 0,
        off: signed ? 1 : 0,
        imm: k,
      });
      const a = val(dst);
      set(
        dst,
        a === undefined && op !== "MOV"
          ? undefined
          : aluValue(op, a ?? 0n, BigInt(k), bits),
      );
    } else {
      const src = pick(POOL);
      b.raw({
        code: cls | ALU_CODE[op] | 0x08,
        dst,
        src,
        off: signed ? 1 : 0,
        imm: 0,
      });
      const a = val(dst), c = val(src);
      set(
        dst,
        c === undefined || (a === undefined && op !== "MOV")
          ? undefined
          : aluValue(op, a ?? 0n, c, bits),
      );
    }
  };

  const unaryOp = (): void => {
    const dst = dstReg();
    const a = val(dst);
    const k = next() % 4;
    if (k === 0) {
      const bits = chance(50) ? 64 : 32;
      b.raw({
        code: (bits === 64 ? 0x07 : 0x04) | 0x80,
        dst,
        src: 0,
        off: 0,
        imm: 0,
      });
      set(dst, a === undefined ? undefined : (bits === 64 ? u64(-a) : u32(-a)));
    } else {
      const kind = pick(["le", "be", "bswap"] as const);
      const bits = pick([16, 32, 64] as const);
      b.endian(kind, dst, bits);
      if (a === undefined) return set(dst, undefined);
      const low = BigInt.asUintN(bits, a);
      if (kind === "le") return set(dst, low);
      let out = 0n;
      for (let i = 0; i < bits / 8; i++) {
        out = (out << 8n) | ((low >> BigInt(i * 8)) & 0xffn);
      }
      set(dst, out);
    }
  };

  const movsx = (): void => {
    const dst = dstReg(), src = pick(POOL);
    const bits64 = chance(60);
    const from = pick(bits64 ? [8, 16, 32] as const : [8, 16] as const);
    b.movsx(from, dst, src, !bits64);
    const a = val(src);
    if (a === undefined) return set(dst, undefined);
    const x = BigInt.asIntN(from, a);
    set(dst, bits64 ? u64(x) : u32(x));
  };

  /** An atomic read-modify-write on a stack slot or the map value. */
  const atomicOp = (): void => {
    const size = chance(60) ? 8 : 4;
    const onStack = chance(60);
    const off = onStack
      ? -8 * (1 + next() % 8) + (size === 4 && chance(50) ? 4 : 0)
      : (next() % (VALUE_SIZE / size)) * size;
    const op = pick(["ADD", "OR", "AND", "XOR", "XCHG"] as const);
    const fetch = op === "XCHG" || chance(50);
    const src = pick(POOL);
    b.atomic(size, op, onStack ? 10 : 6, off, src, fetch);
    if (!live) return;
    const view = onStack ? stack : valView;
    const at = onStack ? 64 + off : off;
    const old = readLE(view, at, size, false);
    const v = val(src);
    if (v === undefined) {
      live = false; // the memory is not followed any more
      return;
    }
    const w = BigInt.asUintN(size * 8, v);
    const now = op === "ADD"
      ? old + w
      : op === "OR"
      ? old | w
      : op === "AND"
      ? old & w
      : op === "XOR"
      ? old ^ w
      : w;
    for (let i = 0; i < size; i++) {
      view.setUint8(at + i, Number((now >> BigInt(8 * i)) & 0xffn));
    }
    if (fetch) set(src, old);
  };

  const stackOp = (): void => {
    const size = pick([1, 2, 4, 8] as const);
    const off = -8 * (1 + next() % 8) +
      (size < 8 ? (next() % (8 / size)) * size : 0);
    if (chance(45)) {
      if (chance(70)) {
        const r = pick(POOL);
        b.stx(size, 10, off, r);
        const v = val(r);
        if (live) {
          for (let i = 0; i < size; i++) {
            stack.setUint8(
              64 + off + i,
              Number(((v ?? 0n) >> BigInt(8 * i)) & 0xffn),
            );
          }
        }
      } else {
        const v = imm();
        b.st(size, 10, off, v);
        if (live) {
          for (let i = 0; i < size; i++) {
            stack.setUint8(
              64 + off + i,
              Number((u64(BigInt(v)) >> BigInt(8 * i)) & 0xffn),
            );
          }
        }
      }
    } else {
      const dst = pick(POOL);
      const sx = size < 8 && chance(50);
      if (sx) b.ldxsx(size as 1 | 2 | 4, dst, 10, off);
      else b.ldx(size, dst, 10, off);
      set(dst, readLE(stack, 64 + off, size, sx));
    }
  };

  const trap = (): void => {
    // A load through a scalar: refused wherever it may run.
    const r = pick(POOL);
    b.movImm(r, 7);
    b.ldx(8, r, r, 0);
    trapCount.n++;
  };

  /** A condition that holds on the concrete path, else undefined. */
  const trueCond = (reg?: number): {
    op: JOp;
    bits: 32 | 64;
    a: number;
    k: number | { reg: number };
  } | undefined => {
    const a = reg ?? pick(POOL);
    const v = val(a);
    const bits = chance(70) ? 64 : 32;
    for (let tries = 0; tries < 8; tries++) {
      const op = pick(JOPS);
      if (chance(20)) {
        const r = pick(POOL);
        const c = val(r);
        if (v !== undefined && c !== undefined && holds(op, v, c, bits)) {
          return { op, bits, a, k: { reg: r } };
        }
        continue;
      }
      const cands: number[] = [pick(INTERESTING), 0, -1];
      if (v !== undefined) {
        const sv = Number(BigInt.asIntN(32, v));
        cands.push(sv, sv + 1, sv - 1, sv + 2);
        const top = v.toString(2).length;
        cands.push(
          Number(BigInt.asIntN(32, (1n << BigInt(Math.min(top, 31))) - 1n)),
        );
      }
      const k = pick(cands);
      if (v !== undefined && holds(op, v, u64(BigInt(k | 0)), bits)) {
        return { op, bits, a, k: k | 0 };
      }
    }
    return undefined;
  };

  const jmp = (
    c: { op: JOp; bits: 32 | 64; a: number; k: number | { reg: number } },
    target: string,
  ) => {
    const op = c.op;
    if (typeof c.k === "number") {
      if (c.bits === 64) b.jmpImm(op, c.a, c.k, target);
      else b.jmp32Imm(op, c.a, c.k, target);
    } else if (c.bits === 64) b.jmpReg(op, c.a, c.k.reg, target);
    else b.jmp32Reg(op, c.a, c.k.reg, target);
  };

  /**
   * One to three guards that leave for the exit when `checked` is out of
   * some range: mixed signedness, widths and JSET masks, against narrow
   * and wide constants (`keep` is not used as a scratch register).
   */
  const guards = (checked: number, keep: number, fit: number, room: number) => {
    const n = 1 + (chance(60) ? 0 : next() % 3);
    for (let g = 0; g < n; g++) {
      const wide = [
        -(1n << 40n),
        -(1n << 32n),
        (1n << 63n) + 5n,
        1n << 40n,
        -(1n << 31n) - 1n,
      ];
      const k = g === n - 1 && chance(60)
        ? BigInt(fit)
        : chance(25)
        ? pick(wide)
        : BigInt(pick([0, -1, 3, -3, 2, -100, fit, room, 1 << 20, 0x86]));
      const op = pick(
        [
          "JGT",
          "JSGT",
          "JLT",
          "JSLT",
          "JGE",
          "JSGE",
          "JLE",
          "JSLE",
          "JSET",
        ] as const,
      );
      const bits = chance(75) ? 64 : 32;
      if (k === BigInt.asIntN(32, k)) {
        if (bits === 64) b.jmpImm(op, checked, Number(k), "out");
        else b.jmp32Imm(op, checked, Number(k), "out");
      } else {
        const kr = pick(POOL.filter((r) => r !== checked && r !== keep));
        b.ldImm64(kr, k);
        set(kr, k);
        if (bits === 64) b.jmpReg(op, checked, kr, "out");
        else b.jmp32Reg(op, checked, kr, "out");
      }
      const now = val(checked);
      if (live && (now === undefined || holds(op, now, u64(k), bits))) {
        live = false;
      }
    }
  };

  const mapAccess = (): void => {
    let idx = pick(POOL);
    const v = val(idx);
    const size = pick([1, 2, 4, 8] as const);
    const onStack = chance(25);
    const room = onStack ? 64 : VALUE_SIZE;
    // Bound the index on the concrete path, or not; through a copy or not.
    if (chance(65) && v !== undefined) {
      let checked = idx;
      if (chance(30)) {
        const alias = pick(POOL.filter((r) => r !== idx));
        b.movReg(alias, idx);
        set(alias, v);
        // Compare one copy, index with the other.
        if (chance(50)) checked = alias;
        else idx = alias;
      }
      guards(checked, idx, room - size, room);
    }
    const cur = val(idx);
    const tmp = pick(POOL.filter((r) => r !== idx));
    if (onStack) {
      // A 1-byte read at fp-64 + idx.
      b.movReg(tmp, 10);
      b.alu64Imm("ADD", tmp, -64);
      b.alu64Reg("ADD", tmp, idx);
      b.ldx(1, tmp, tmp, 0);
      set(
        tmp,
        cur !== undefined && cur < 64n
          ? BigInt(stack.getUint8(Number(cur)))
          : undefined,
      );
      return;
    }
    if (chance(50)) {
      b.movReg(tmp, 6);
      b.alu64Reg("ADD", tmp, idx);
    } else {
      b.movReg(tmp, idx);
      b.alu64Reg("ADD", tmp, 6);
    }
    let off = 0;
    if (cur !== undefined && cur < BigInt(VALUE_SIZE)) {
      const room = VALUE_SIZE - Number(cur) - size;
      off = room > 0 ? next() % (room + 1) : 0;
    }
    b.ldx(size, tmp, tmp, off);
    const at = cur === undefined ? -1 : Number(cur) + off;
    set(
      tmp,
      at >= 0 && at + size <= VALUE_SIZE
        ? readLE(valView, at, size, false)
        : undefined,
    );
  };

  /** map_lookup_elem(key 0), a NULL check, a load from the value. */
  const lookup = (): void => {
    if (chance(30)) return readStr();
    b.st(8, 10, -72, 0);
    b.movReg(2, 10);
    b.alu64Imm("ADD", 2, -72);
    b.ldMap(1, 0);
    b.call(1);
    b.ldx(8, 1, 10, -80);
    const skip = `N${label++}`;
    b.jmpImm("JEQ", 0, 0, skip);
    const size = pick([1, 2, 4, 8] as const);
    const off = (next() % (VALUE_SIZE / size)) * size;
    b.ldx(size, 0, 0, off);
    b.label(skip);
    set(0, readLE(valView, off, size, false));
    for (const r of [2, 3, 4, 5]) constLoad(r);
  };

  /**
   * probe_read_kernel_str into fp-96.. from an address that faults in both
   * engines: r0 is -EFAULT or -ERANGE, its range bounded by the size.
   */
  const readStr = (): void => {
    const size = 1 + next() % 8;
    b.movReg(1, 10);
    b.alu64Imm("ADD", 1, -96);
    b.movImm(2, size);
    // A kernel address that is not mapped (-EFAULT), or a user address,
    // which probe_read_kernel_str refuses with -ERANGE.
    const userAddr = next() % 2 === 0;
    b.ldImm64(3, userAddr ? [0n, 8n, 4096n][next() % 3] : 0xfffffffffffff000n);
    b.call(115);
    b.ldx(8, 1, 10, -80);
    set(0, u64(userAddr ? -34n : -14n));
    for (const r of [2, 3, 4, 5]) constLoad(r);
  };

  /** A counted loop whose body changes other registers. */
  const loop = (): void => {
    const i = pick(POOL);
    const k = 1 + next() % 6;
    const head = `H${label++}`;
    b.movImm(i, 0);
    set(i, 0n);
    busy.add(i);
    const outer = written;
    written = new Set();
    const wasLive = live;
    live = false; // the body's values are not followed
    b.label(head);
    const ops = 1 + next() % 3;
    for (let j = 0; j < ops; j++) {
      const r = next() % 3;
      if (r === 0) aluOp();
      else if (r === 1) movsx();
      else unaryOp();
    }
    b.alu64Imm("ADD", i, 1);
    if (chance(50)) b.jmpImm("JLT", i, k, head);
    else b.jmp32Imm("JNE", i, k, head);
    live = wasLive;
    for (const r of written) {
      outer?.add(r);
      regs.delete(r);
    }
    written = outer;
    busy.delete(i);
    set(i, BigInt(k));
  };

  const n = 6 + next() % 30;
  const body = (count: number): void => {
    for (let i = 0; i < count; i++) {
      const r = next() % 100;
      if (r < 26) aluOp();
      else if (r < 30 && live) {
        // Guards on one value, then a trap behind a true condition on it.
        const a = pick(POOL);
        if (val(a) === undefined) continue;
        guards(a, a, 64, 64);
        const c = live ? trueCond(a) : undefined;
        if (c === undefined) continue;
        const skip = `G${label++}`;
        jmp(c, skip);
        trap();
        b.label(skip);
      } else if (r < 36) unaryOp();
      else if (r < 44) movsx();
      else if (r < 47) ctxLoad(pick(POOL));
      else if (r < 54) stackOp();
      else if (r < 56) atomicOp();
      else if (r < 63) mapAccess();
      else if (r < 67) lookup();
      else if (r < 70) loop();
      else if (r < 79) {
        // A trap behind a condition that holds on the concrete path.
        const c = live ? trueCond() : undefined;
        if (c === undefined) {
          aluOp();
          continue;
        }
        const skip = `L${label++}`;
        jmp(c, skip);
        trap();
        b.label(skip);
      } else if (r < 82 && live) {
        // A trap on the taken side of a condition that fails here.
        const c = trueCond();
        if (c === undefined) continue;
        const neg: Record<JOp, JOp | undefined> = {
          JEQ: "JNE",
          JNE: "JEQ",
          JGT: "JLE",
          JLE: "JGT",
          JGE: "JLT",
          JLT: "JGE",
          JSGT: "JSLE",
          JSLE: "JSGT",
          JSGE: "JSLT",
          JSLT: "JSGE",
          JSET: undefined,
        };
        const op = neg[c.op];
        if (op === undefined) continue;
        const t = `T${label++}`, done = `D${label++}`;
        jmp({ ...c, op }, t);
        b.ja(done);
        b.label(t);
        trap();
        b.label(done);
      } else if (r < 96) {
        // Skip a few operations, or not, on the concrete path.
        const c = live ? trueCond() : undefined;
        const skip = `S${label++}`;
        const wasLive = live;
        let goes = false, lost = false;
        if (c !== undefined && chance(50)) {
          jmp(c, skip);
          goes = true;
        } else {
          const a = pick(POOL), k = imm(), op = pick(JOPS);
          b.jmpImm(op, a, k, skip);
          if (live) {
            const v = val(a);
            if (v === undefined) lost = true;
            else goes = holds(op, v, u64(BigInt(k)), 64);
          }
        }
        if (goes || lost) live = false;
        body(1 + next() % 3);
        b.label(skip);
        live = wasLive && !lost && (goes || live);
      } else {
        // Leave early on a condition.
        const a = pick(POOL);
        const k = imm();
        const op = pick(JOPS);
        b.jmpImm(op, a, k, "out");
        const v = val(a);
        if (live && (v === undefined || holds(op, v, u64(BigInt(k)), 64))) {
          live = false;
        }
      }
    }
  };
  body(n);
  b.label("out");
  // r0's high half is folded into the low half the kernel reports.
  b.movReg(1, 0);
  b.alu64Imm("RSH", 1, 32);
  b.alu64Reg("XOR", 0, 1);
  b.exit();
  return { insns: b.build().insns, ctx, value };
}

/** Our side of one case. */
export interface OurVerdict {
  /** Why our verifier refused, or undefined when it accepted. */
  reason?: string;
  /** r0 (low 32 bits) when accepted and run. */
  r0?: number;
  /** A fault of the interpreter after acceptance. */
  fault?: string;
}

/**
 * Runs a case through our verifier and interpreter.
 *
 * @example See the generator's example.
 * ```ts
 * import { generate, rng, runOurs } from "./kernel_diff.ts";
 * console.assert(runOurs(generate(rng(1))).fault === undefined);
 * ```
 */
export function runOurs(c: DiffCase): OurVerdict {
  try {
    verify(c.insns, {
      maps: [{
        type: MapType.ARRAY,
        keySize: 4,
        valueSize: VALUE_SIZE,
        maxEntries: 1,
      }],
      ctxSize: CTX_SIZE,
      progType: ProgType.RAW_TRACEPOINT,
    });
  } catch (e) {
    if (e instanceof VerifierError) return { reason: e.message };
    return { fault: `our verifier crashed: ${(e as Error).stack ?? e}` };
  }
  const map = createMap(
    { type: MapType.ARRAY, keySize: 4, valueSize: VALUE_SIZE, maxEntries: 1 },
    1,
  );
  map.update(new Uint8Array(4), c.value);
  try {
    const r0 = new VmProgram(c.insns, [map]).run(
      new Uint8Array(c.ctx),
      createEnvironment(),
    );
    return { r0: Number(r0 & 0xffffffffn) };
  } catch (e) {
    return { fault: e instanceof Error ? e.message : String(e) };
  }
}

/** The kernel's side of one case. */
export interface KernelVerdict {
  /** The last lines of the verifier log when the kernel refused. */
  reason?: string;
  /** r0 (low 32 bits) when loaded and run. */
  r0?: number;
}

/**
 * Loads and runs cases in the kernel through libbpf (ffi/).
 *
 * @example Run one case (needs root or CAP_BPF)
 * ```ts ignore
 * import { native } from "../../ffi/libbpf.ts";
 * import { generate, KernelRunner, rng } from "./kernel_diff.ts";
 * using k = new KernelRunner(native());
 * console.log(await k.run(generate(rng(1))));
 * ```
 */
export class KernelRunner implements Disposable {
  #n;
  #mapFd: number;
  #log = new Uint8Array(1 << 20);

  /** Opens libbpf and creates the array map (needs root or CAP_BPF). */
  constructor(n: import("../../ffi/libbpf.ts").NativeLibs) {
    this.#n = n;
    this.#mapFd = n.check(
      "create the differential test's map",
      n.bpf.bpf_map_create(
        MapType.ARRAY,
        new TextEncoder().encode("tsb_vdiff\0"),
        4,
        VALUE_SIZE,
        1,
        null,
      ),
    );
  }

  /** Loads, runs and unloads one case. */
  async run(c: DiffCase): Promise<KernelVerdict> {
    const { alloc, ProgLoadOpts, TestRunOpts } = await import(
      "../../ffi/structs.ts"
    );
    const { addressOf } = await import("../../ffi/libbpf.ts");
    const n = this.#n;
    const code = encode(
      c.insns.map((i) =>
        i.code === 0x18 &&
          (i.src === PseudoSrc.MAP_VALUE || i.src === PseudoSrc.MAP_FD)
          ? { ...i, imm: this.#mapFd }
          : i
      ),
    ) as Uint8Array<ArrayBuffer>;
    const load = (withLog: boolean): number => {
      const { bytes: opts, view } = alloc(ProgLoadOpts.size);
      view.setBigUint64(ProgLoadOpts.sz, BigInt(ProgLoadOpts.size), true);
      if (withLog) {
        this.#log.fill(0, 0, 16);
        view.setUint32(ProgLoadOpts.log_level, 1, true);
        view.setUint32(ProgLoadOpts.log_size, this.#log.length, true);
        view.setBigUint64(ProgLoadOpts.log_buf, addressOf(this.#log), true);
      }
      return n.bpf.bpf_prog_load(
        ProgType.RAW_TRACEPOINT,
        new TextEncoder().encode("tsb_vdiff\0"),
        new TextEncoder().encode("GPL\0"),
        code,
        BigInt(code.length / 8),
        opts,
      );
    };
    let fd = load(false);
    if (fd < 0) {
      const errno = -fd;
      fd = load(true);
      if (fd < 0) {
        const end = this.#log.indexOf(0);
        const log = new TextDecoder().decode(
          this.#log.subarray(0, end < 0 ? this.#log.length : end),
        ).trim().split("\n");
        return {
          reason: `errno ${errno}: ${log.slice(-2).join(" | ")}`,
        };
      }
    }
    try {
      n.check(
        "set the map value",
        n.bpf.bpf_map_update_elem(this.#mapFd, new Uint8Array(4), c.value, 0n),
      );
      const { bytes: opts, view } = alloc(TestRunOpts.size);
      view.setBigUint64(TestRunOpts.sz, BigInt(TestRunOpts.size), true);
      const ctx = new Uint8Array(c.ctx);
      view.setBigUint64(TestRunOpts.ctx_in, addressOf(ctx), true);
      view.setUint32(TestRunOpts.ctx_size_in, ctx.length, true);
      n.check("run the program", n.bpf.bpf_prog_test_run_opts(fd, opts));
      ctx.fill(0, 0, 0); // keeps ctx alive until here
      return { r0: view.getUint32(TestRunOpts.retval, true) };
    } finally {
      n.closeFd(fd);
    }
  }

  /** Closes the map. */
  [Symbol.dispose](): void {
    this.#n.closeFd(this.#mapFd);
    this.#mapFd = -1;
  }
}

/** Figures of a differential run. */
export interface DiffReport {
  /** Programs generated. */
  programs: number;
  /** Both accepted (and ran). */
  bothAccept: number;
  /** Both refused. */
  bothReject: number;
  /** We refused, the kernel accepted (stricter: allowed). */
  oursStricter: number;
  /** We accepted, the kernel refused (must be 0). */
  unsound: string[];
  /** Both ran, r0 differed (must be 0). */
  r0Mismatch: string[];
  /** Our interpreter faulted after our verifier accepted (must be 0). */
  faults: string[];
  /** Our reasons for being stricter, counted by shape. */
  stricterReasons: Map<string, number>;
}

/**
 * Describes a case for a failure message: inputs and disassembly.
 *
 * @example Describe a program
 * ```ts
 * import { describe, generate, rng } from "./kernel_diff.ts";
 * console.log(describe(generate(rng(3)), "case 3"));
 * ```
 */
export function describe(c: DiffCase, note: string): string {
  const hex = (u: Uint8Array) =>
    [...u].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${note}\n  ctx ${hex(c.ctx)}\n  value ${hex(c.value)}\n${
    disassemble(c.insns).map((l) => `    ${l}`).join("\n")
  }`;
}

/**
 * Runs `count` cases from `seed` through both verifiers and engines.
 *
 * @example Compare 3 programs (needs root; prints the figures)
 * ```ts ignore
 * import { native } from "../../ffi/libbpf.ts";
 * import { KernelRunner, runDiff } from "./kernel_diff.ts";
 * using k = new KernelRunner(native());
 * console.log(await runDiff(k, 3, 1));
 * ```
 */
export async function runDiff(
  kernel: KernelRunner,
  count: number,
  seed: number,
): Promise<DiffReport> {
  const rep: DiffReport = {
    programs: 0,
    bothAccept: 0,
    bothReject: 0,
    oursStricter: 0,
    unsound: [],
    r0Mismatch: [],
    faults: [],
    stricterReasons: new Map(),
  };
  for (let i = 0; i < count; i++) {
    const c = generate(rng(seed * 1_000_003 + i));
    rep.programs++;
    const ours = runOurs(c);
    const k = await kernel.run(c);
    const tag = `seed ${seed} case ${i}`;
    if (ours.fault !== undefined) {
      rep.faults.push(describe(c, `${tag}: interpreter fault ${ours.fault}`));
    }
    if (ours.reason === undefined && k.reason !== undefined) {
      rep.unsound.push(describe(c, `${tag}: kernel refused: ${k.reason}`));
    } else if (ours.reason !== undefined && k.reason === undefined) {
      rep.oursStricter++;
      const key = ours.reason.replace(/^Instruction \d+ \([^)]*\): /, "")
        .replace(/-?\d+/g, "N").slice(0, 70);
      rep.stricterReasons.set(key, (rep.stricterReasons.get(key) ?? 0) + 1);
    } else if (ours.reason !== undefined) {
      rep.bothReject++;
    } else {
      rep.bothAccept++;
      if (ours.r0 !== undefined && ours.r0 !== k.r0) {
        rep.r0Mismatch.push(
          describe(c, `${tag}: r0 ours ${ours.r0}, kernel ${k.r0}`),
        );
      }
    }
  }
  return rep;
}

if (import.meta.main) {
  const args = Deno.args;
  const opt = (name: string, dflt: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const count = opt("count", 5000);
  const seed = opt("seed", 1);
  const { probeKernel } = await import(
    "../../runtime/engines/kernel_engine.ts"
  );
  const probe = probeKernel();
  if (!probe.ok) {
    console.error(`Cannot run the kernel differential: ${probe.reason}`);
    Deno.exit(1);
  }
  const { native } = await import("../../ffi/libbpf.ts");
  using k = new KernelRunner(native());
  const t0 = performance.now();
  const rep = await runDiff(k, count, seed);
  for (
    const s of [...rep.unsound, ...rep.r0Mismatch, ...rep.faults].slice(0, 5)
  ) {
    console.log(s);
  }
  console.log(
    `${rep.programs} programs (seed ${seed}) in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s: both accept ${rep.bothAccept}, both reject ${rep.bothReject}, we reject and the kernel accepts ${rep.oursStricter}, we accept and the kernel rejects ${rep.unsound.length}, r0 mismatches ${rep.r0Mismatch.length}, interpreter faults ${rep.faults.length}`,
  );
  const top = [...rep.stricterReasons].sort((a, b) => b[1] - a[1]).slice(0, 8);
  for (const [why, k] of top) console.log(`  stricter ${k}× ${why}`);
  Deno.exit(
    rep.unsound.length + rep.r0Mismatch.length + rep.faults.length > 0 ? 1 : 0,
  );
}
