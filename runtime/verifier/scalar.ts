/**
 * Value ranges of 64-bit scalars as the verifier tracks them: an unsigned
 * interval `[umin, umax]` and a signed interval `[smin, smax]`, both holding
 * at once. ALU transfer functions and branch refinement work on these.
 * They never compute a range where the kernel's verifier computes none
 * (division, modulo, shifts by unknown amounts): see the module doc of
 * `verifier.ts`.
 *
 * @module
 */

/** Largest unsigned 64-bit value. */
export const U64_MAX: bigint = (1n << 64n) - 1n;
/** Largest signed 64-bit value. */
export const S64_MAX: bigint = (1n << 63n) - 1n;
/** Smallest signed 64-bit value. */
export const S64_MIN: bigint = -(1n << 63n);
/** Largest unsigned 32-bit value. */
export const U32_MAX: bigint = (1n << 32n) - 1n;

/** The range part of a scalar (the value set is both intervals' meet). */
export interface Range {
  umin: bigint;
  umax: bigint;
  smin: bigint;
  smax: bigint;
}

/** Any 64-bit value. */
export const FULL: Range = Object.freeze({
  umin: 0n,
  umax: U64_MAX,
  smin: S64_MIN,
  smax: S64_MAX,
});

const toS = (u: bigint): bigint => BigInt.asIntN(64, u);
const toU = (s: bigint): bigint => BigInt.asUintN(64, s);
const max = (a: bigint, b: bigint): bigint => a > b ? a : b;
const min = (a: bigint, b: bigint): bigint => a < b ? a : b;

/** The exact constant `v` (taken modulo 2^64). */
export function constRange(v: bigint): Range {
  const u = toU(v);
  return { umin: u, umax: u, smin: toS(u), smax: toS(u) };
}

/** The unsigned interval [lo, hi], signed bounds deduced. */
export function uRange(lo: bigint, hi: bigint): Range {
  return sync({ umin: lo, umax: hi, smin: S64_MIN, smax: S64_MAX })!;
}

/** The signed interval [lo, hi], unsigned bounds deduced. */
export function sRange(lo: bigint, hi: bigint): Range {
  return sync({ umin: 0n, umax: U64_MAX, smin: lo, smax: hi })!;
}

/** The constant value when the range holds exactly one value. */
export function constOf(r: Range): bigint | undefined {
  return r.umin === r.umax ? r.umin : undefined;
}

/**
 * Tightens each interval with what the other implies. Returns undefined
 * when the two intervals have no value in common (an impossible state).
 */
export function sync(r: Range): Range | undefined {
  return bounds(r.umin, r.umax, r.smin, r.smax);
}

const TWO_64 = 1n << 64n;

/** `sync` of the four bounds given one by one. */
function bounds(
  umin: bigint,
  umax: bigint,
  smin: bigint,
  smax: bigint,
): Range | undefined {
  for (let round = 0; round < 2; round++) {
    if (umax <= S64_MAX) {
      if (umin > smin) smin = umin;
      if (umax < smax) smax = umax;
    } else if (umin > S64_MAX) {
      smin = max(smin, umin - TWO_64);
      smax = min(smax, umax - TWO_64);
    }
    if (smin >= 0n) {
      if (smin > umin) umin = smin;
      if (smax < umax) umax = smax;
    } else if (smax < 0n) {
      umin = max(umin, toU(smin));
      umax = min(umax, toU(smax));
    }
    if (umin > umax || smin > smax) return undefined;
  }
  return { umin, umax, smin, smax };
}

/** True when every value of `inner` is in `outer`. */
export function rangeWithin(outer: Range, inner: Range): boolean {
  if (outer === inner) return true;
  return outer.umin <= inner.umin && inner.umax <= outer.umax &&
    outer.smin <= inner.smin && inner.smax <= outer.smax;
}

/** True when both ranges are the same. */
export function rangeEqual(a: Range, b: Range): boolean {
  if (a === b) return true;
  return a.umin === b.umin && a.umax === b.umax && a.smin === b.smin &&
    a.smax === b.smax;
}

/** The range of a value loaded from memory `width` bytes wide. */
export function loadRange(width: number, signExtend: boolean): Range {
  if (width === 8) return FULL;
  const bits = BigInt(width * 8);
  if (signExtend) {
    return sRange(-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n);
  }
  return uRange(0n, (1n << bits) - 1n);
}

/** The number of bits of `v` (0 to 64) up to its highest set bit. */
function bitLength(v: bigint): number {
  const hi = Number(v >> 32n);
  if (hi !== 0) return 64 - Math.clz32(hi);
  return 32 - Math.clz32(Number(v));
}

/** All ones up to and including the highest set bit of `v`. */
function fillBits(v: bigint): bigint {
  return v === 0n ? 0n : (1n << BigInt(bitLength(v))) - 1n;
}

/** ALU operation names the transfer function understands. */
export type AluKind =
  | "ADD"
  | "SUB"
  | "MUL"
  | "DIV"
  | "SDIV"
  | "OR"
  | "AND"
  | "LSH"
  | "RSH"
  | "NEG"
  | "MOD"
  | "SMOD"
  | "XOR"
  | "ARSH";

function exact64(op: AluKind, a: bigint, b: bigint): bigint {
  const sa = toS(a), sb = toS(b);
  switch (op) {
    case "ADD":
      return toU(a + b);
    case "SUB":
      return toU(a - b);
    case "MUL":
      return toU(a * b);
    case "DIV":
      return b === 0n ? 0n : a / b;
    case "SDIV":
      return sb === 0n ? 0n : toU(sa / sb);
    case "MOD":
      return b === 0n ? a : a % b;
    case "SMOD":
      return sb === 0n ? a : toU(sa % sb);
    case "OR":
      return a | b;
    case "AND":
      return a & b;
    case "XOR":
      return a ^ b;
    case "LSH":
      return toU(a << (b & 63n));
    case "RSH":
      return a >> (b & 63n);
    case "ARSH":
      return toU(sa >> (b & 63n));
    case "NEG":
      return toU(-a);
  }
}

function exact32(op: AluKind, a: bigint, b: bigint): bigint {
  const ua = BigInt.asUintN(32, a), ub = BigInt.asUintN(32, b);
  const sa = BigInt.asIntN(32, a), sb = BigInt.asIntN(32, b);
  let r: bigint;
  switch (op) {
    case "SDIV":
      r = sb === 0n ? 0n : sa / sb;
      break;
    case "SMOD":
      r = sb === 0n ? sa : sa % sb;
      break;
    case "ARSH":
      r = sa >> (ub & 31n);
      break;
    case "LSH":
      r = ua << (ub & 31n);
      break;
    case "RSH":
      r = ua >> (ub & 31n);
      break;
    default:
      r = exact64(op, ua, ub);
  }
  return BigInt.asUintN(32, r);
}

/**
 * Range of `a op b` on 64-bit values.
 *
 * @example Add a constant to a byte
 * ```ts
 * import { alu64, constRange, uRange } from "./scalar.ts";
 * const r = alu64("ADD", uRange(0n, 255n), constRange(8n));
 * console.assert(r.umin === 8n && r.umax === 263n);
 * ```
 */
export function alu64(op: AluKind, a: Range, b: Range): Range {
  const ca = constOf(a), cb = constOf(b);
  // The kernel computes no range for division and modulo (not even of
  // constants), nor for shifts by an amount that is not a known constant
  // below 64: the result is any value.
  if (op === "DIV" || op === "SDIV" || op === "MOD" || op === "SMOD") {
    return FULL;
  }
  const shift = op === "LSH" || op === "RSH" || op === "ARSH";
  if (shift && (cb === undefined || cb >= 64n)) return FULL;
  if (ca !== undefined && (cb !== undefined || op === "NEG")) {
    return constRange(exact64(op, ca, cb ?? 0n));
  }
  if (op === "NEG") return alu64("SUB", constRange(0n), a);
  let u: [bigint, bigint] = [0n, U64_MAX];
  let s: [bigint, bigint] = [S64_MIN, S64_MAX];
  switch (op) {
    case "ADD": {
      if (a.umax + b.umax <= U64_MAX) u = [a.umin + b.umin, a.umax + b.umax];
      const lo = a.smin + b.smin, hi = a.smax + b.smax;
      if (lo >= S64_MIN && hi <= S64_MAX) s = [lo, hi];
      break;
    }
    case "SUB": {
      if (a.umin >= b.umax) u = [a.umin - b.umax, a.umax - b.umin];
      const lo = a.smin - b.smax, hi = a.smax - b.smin;
      if (lo >= S64_MIN && hi <= S64_MAX) s = [lo, hi];
      break;
    }
    case "MUL": {
      if (a.umax * b.umax <= U64_MAX) u = [a.umin * b.umin, a.umax * b.umax];
      const p = [a.smin * b.smin, a.smin * b.smax, a.smax * b.smin];
      p.push(a.smax * b.smax);
      if (p.every((v) => v >= S64_MIN && v <= S64_MAX)) {
        s = [p.reduce(min), p.reduce(max)];
      }
      break;
    }
    case "AND":
      u = [0n, min(a.umax, b.umax)];
      break;
    case "OR":
      u = [max(a.umin, b.umin), fillBits(max(a.umax, b.umax))];
      break;
    case "XOR":
      u = [0n, fillBits(max(a.umax, b.umax))];
      break;
    case "LSH":
      // As the kernel: if the top bit may be shifted out, nothing is known.
      if (a.umax <= 1n << (63n - cb!)) u = [a.umin << cb!, a.umax << cb!];
      break;
    case "RSH":
      u = [a.umin >> cb!, a.umax >> cb!];
      break;
    case "ARSH":
      s = [a.smin >> cb!, a.smax >> cb!];
      break;
    default:
      break;
  }
  return sync({ umin: u[0], umax: u[1], smin: s[0], smax: s[1] }) ?? FULL;
}

const U32: Range = Object.freeze({
  umin: 0n,
  umax: U32_MAX,
  smin: 0n,
  smax: U32_MAX,
});

/**
 * Range of the zero-extended result of the 32-bit `a op b`. Division,
 * modulo and shifts by an amount that is not a known constant below 32
 * give any 64-bit value, as in the kernel (which leaves such a result
 * unknown without zero-extending it).
 */
export function alu32(op: AluKind, a: Range, b: Range): Range {
  const ca = constOf(a), cb = constOf(b);
  if (op === "DIV" || op === "SDIV" || op === "MOD" || op === "SMOD") {
    return FULL;
  }
  const shift = op === "LSH" || op === "RSH" || op === "ARSH";
  if (shift && (cb === undefined || cb >= 32n)) return FULL;
  if (ca !== undefined && (cb !== undefined || op === "NEG")) {
    return constRange(exact32(op, ca, cb ?? 0n));
  }
  if (op === "AND") {
    const m = min(a.umax <= U32_MAX ? a.umax : U32_MAX, b.umax);
    return uRange(0n, min(m, U32_MAX));
  }
  if (a.umax > U32_MAX || b.umax > U32_MAX) return U32;
  if (op === "NEG") return alu32("SUB", constRange(0n), a);
  if (op === "ARSH" && a.umax >= 1n << 31n) return U32;
  // The kernel's 32-bit left shift: the top bit must not be shifted out.
  if (op === "LSH" && a.umax > 1n << (31n - cb!)) return U32;
  const k = op === "ARSH" ? "RSH" : op;
  const r = alu64(k, a, b);
  return r.umax <= U32_MAX ? r : U32;
}

/** The low 32 bits of a range, zero-extended (as `w = w` does). */
export function truncate32(a: Range): Range {
  if (a.umax <= U32_MAX) return a;
  const c = constOf(a);
  return c !== undefined ? constRange(c & U32_MAX) : U32;
}

/**
 * Sign-extends the low `bits` of a range to 64 bits, as the kernel does:
 * a constant exactly; else, when the signed bounds lie in one aligned
 * block of 2^bits values and their low parts, sign-extended, have the same
 * sign, the range between those; else any value of `bits` bits.
 *
 * @example Bytes of [0, 100] stay [0, 100]; [0, 200] may be negative
 * ```ts
 * import { signExtend, uRange } from "./scalar.ts";
 * console.assert(signExtend(uRange(0n, 100n), 8).smin === 0n);
 * console.assert(signExtend(uRange(0n, 200n), 8).smin === -128n);
 * ```
 */
export function signExtend(a: Range, bits: 8 | 16 | 32): Range {
  const c = constOf(a);
  if (c !== undefined) {
    return constRange(BigInt.asIntN(bits, c));
  }
  const n = BigInt(bits);
  const half = 1n << (n - 1n);
  if (a.smin >= -half && a.smax < half) return a;
  const wide = sRange(-half, half - 1n);
  if (toU(a.smin) >> n !== toU(a.smax) >> n) return wide;
  const lo = BigInt.asIntN(bits, a.smin), hi = BigInt.asIntN(bits, a.smax);
  if ((lo >= 0n) !== (hi >= 0n)) return wide;
  return sRange(min(lo, hi), max(lo, hi));
}

/**
 * `w = (s8/s16)w`: sign-extends the low `bits` within 32 bits, then
 * zero-extends. Only values known to fit in 32 bits keep a range.
 *
 * @example A negative byte becomes a large 32-bit value
 * ```ts
 * import { constRange, signExtend32 } from "./scalar.ts";
 * console.assert(signExtend32(constRange(0xffn), 8).umin === 0xffffffffn);
 * ```
 */
export function signExtend32(a: Range, bits: 8 | 16): Range {
  const c = constOf(a);
  if (c !== undefined) {
    return constRange(BigInt.asUintN(32, BigInt.asIntN(bits, c)));
  }
  if (a.umax > U32_MAX) return U32;
  // The 32-bit signed view of [umin, umax].
  const top = 1n << 31n;
  const s32 = a.umax < top
    ? [a.umin, a.umax]
    : a.umin >= top
    ? [a.umin - (1n << 32n), a.umax - (1n << 32n)]
    : undefined;
  if (s32 === undefined) return U32;
  const n = BigInt(bits);
  const block = (v: bigint) => BigInt.asUintN(32, v) >> n;
  if (block(s32[0]) !== block(s32[1])) return U32;
  const lo = BigInt.asIntN(bits, s32[0]), hi = BigInt.asIntN(bits, s32[1]);
  if ((lo >= 0n) !== (hi >= 0n)) return U32;
  const ulo = BigInt.asUintN(32, min(lo, hi));
  const uhi = BigInt.asUintN(32, max(lo, hi));
  return uRange(ulo, uhi);
}

/** Comparison operators of conditional jumps. */
export type CmpKind =
  | "JEQ"
  | "JNE"
  | "JGT"
  | "JGE"
  | "JLT"
  | "JLE"
  | "JSGT"
  | "JSGE"
  | "JSLT"
  | "JSLE"
  | "JSET"
  | "JNSET";

/** The operator that holds on the fall-through side. */
export function negateCmp(op: CmpKind): CmpKind {
  switch (op) {
    case "JEQ":
      return "JNE";
    case "JNE":
      return "JEQ";
    case "JGT":
      return "JLE";
    case "JLE":
      return "JGT";
    case "JGE":
      return "JLT";
    case "JLT":
      return "JGE";
    case "JSGT":
      return "JSLE";
    case "JSLE":
      return "JSGT";
    case "JSGE":
      return "JSLT";
    case "JSLT":
      return "JSGE";
    case "JSET":
      return "JNSET";
    case "JNSET":
      return "JSET";
  }
}

/**
 * Narrows `a` and `b` assuming `a op b` holds (64-bit compare). Returns
 * undefined when it cannot hold for any values in the ranges.
 *
 * @example The taken side of `if r1 < 16`
 * ```ts
 * import { constRange, FULL, refine } from "./scalar.ts";
 * const [r1] = refine("JLT", FULL, constRange(16n))!;
 * console.assert(r1.umax === 15n && r1.smin === 0n);
 * ```
 */
export function refine(
  op: CmpKind,
  a: Range,
  b: Range,
): [Range, Range] | undefined {
  const ca = constOf(a), cb = constOf(b);
  let na: Range | undefined = a, nb: Range | undefined = b;
  switch (op) {
    case "JEQ": {
      const m = sync({
        umin: max(a.umin, b.umin),
        umax: min(a.umax, b.umax),
        smin: max(a.smin, b.smin),
        smax: min(a.smax, b.smax),
      });
      if (!m) return undefined;
      return [m, m];
    }
    case "JNE":
      if (ca !== undefined && cb !== undefined) {
        return ca === cb ? undefined : [a, b];
      }
      if (cb !== undefined) na = exclude(a, cb);
      if (ca !== undefined) nb = exclude(b, ca);
      break;
    case "JGT":
      if (a.umax === 0n || b.umin === U64_MAX) return undefined;
      na = uNarrow(a, max(a.umin, b.umin + 1n), a.umax);
      nb = uNarrow(b, b.umin, min(b.umax, a.umax - 1n));
      break;
    case "JGE":
      na = uNarrow(a, max(a.umin, b.umin), a.umax);
      nb = uNarrow(b, b.umin, min(b.umax, a.umax));
      break;
    case "JLT":
      return swap(refine("JGT", b, a));
    case "JLE":
      return swap(refine("JGE", b, a));
    case "JSGT":
      if (a.smax === S64_MIN || b.smin === S64_MAX) return undefined;
      na = bounds(a.umin, a.umax, max(a.smin, b.smin + 1n), a.smax);
      nb = bounds(b.umin, b.umax, b.smin, min(b.smax, a.smax - 1n));
      break;
    case "JSGE":
      na = bounds(a.umin, a.umax, max(a.smin, b.smin), a.smax);
      nb = bounds(b.umin, b.umax, b.smin, min(b.smax, a.smax));
      break;
    case "JSLT":
      return swap(refine("JSGT", b, a));
    case "JSLE":
      return swap(refine("JSGE", b, a));
    case "JSET":
      if (ca !== undefined && cb !== undefined) {
        return (ca & cb) !== 0n ? [a, b] : undefined;
      }
      if (cb !== undefined) {
        if (cb === 0n || a.umax < lowBit(cb)) {
          return undefined;
        }
        // Like the kernel, learn only from a single-bit mask.
        if (a.umin < cb && (cb & (cb - 1n)) === 0n) {
          na = bounds(cb, a.umax, a.smin, a.smax);
        }
      }
      break;
    case "JNSET":
      if (ca !== undefined && cb !== undefined) {
        return (ca & cb) === 0n ? [a, b] : undefined;
      }
      return bitsCleared(a, b);
  }
  if (!na || !nb) return undefined;
  return [na, nb];
}

/**
 * The side of `if a & b` where no bit is shared, with one side constant.
 * The kernel clears those bits in its tnum (known bits) and keeps only the
 * bounds that tnum implies, losing any range it had. We do the same from
 * the tnum of our unsigned range (the kernel's is never less precise).
 */
function bitsCleared(a: Range, b: Range): [Range, Range] {
  const ca = constOf(a), cb = constOf(b);
  if (cb !== undefined && ca === undefined) return [clearBits(a, cb), b];
  if (ca !== undefined && cb === undefined) return [a, clearBits(b, ca)];
  return [a, b];
}

function clearBits(r: Range, c: bigint): Range {
  // The kernel's tnum_range(umin, umax): the common prefix is known.
  const diff = r.umin ^ r.umax;
  const width = BigInt(bitLength(diff));
  const mask = width >= 64n ? U64_MAX : (1n << width) - 1n;
  const value = r.umin & ~mask & ~c & U64_MAX;
  const m = mask & ~c & U64_MAX;
  return sync({
    umin: value,
    umax: value | m,
    smin: toS(value | (m & (1n << 63n))),
    smax: toS(value | (m & S64_MAX)),
  }) ?? FULL;
}

/**
 * Narrows the unsigned bounds after an unsigned compare. The kernel keeps
 * the signed bounds of a value whose signed range spans zero only when
 * they fit in 32 bits (through its 32-bit bounds); otherwise, once the
 * unsigned range lies on one side of the sign boundary, the signed range
 * becomes the unsigned one. So do we, to follow no path the kernel prunes.
 */
function uNarrow(r: Range, umin: bigint, umax: bigint): Range | undefined {
  const wide = r.smin < 0n && r.smax >= 0n &&
    (r.smin < -(1n << 31n) || r.smax >= 1n << 31n);
  if (wide && (umax <= S64_MAX || umin > S64_MAX)) {
    return sync({ umin, umax, smin: S64_MIN, smax: S64_MAX });
  }
  return bounds(umin, umax, r.smin, r.smax);
}

function lowBit(v: bigint): bigint {
  return v & -v;
}

function swap(r: [Range, Range] | undefined): [Range, Range] | undefined {
  return r ? [r[1], r[0]] : undefined;
}

function exclude(a: Range, c: bigint): Range | undefined {
  let r: Range | undefined = a;
  if (r.umin === c) r = bounds(c + 1n, r.umax, r.smin, r.smax);
  else if (r.umax === c) r = bounds(r.umin, c - 1n, r.smin, r.smax);
  if (!r) return undefined;
  const s = toS(c);
  if (r.smin === s) r = bounds(r.umin, r.umax, s + 1n, r.smax);
  else if (r.smax === s) r = bounds(r.umin, r.umax, r.smin, s - 1n);
  return r;
}

/**
 * Narrows for a 32-bit compare (`JMP32`): both ranges inside [0, 2^32)
 * (2^31 for signed compares) are narrowed as 64-bit values, two constants
 * decide; otherwise the compared values become unknown on both sides.
 */
export function refine32(
  op: CmpKind,
  a: Range,
  b: Range,
): [Range, Range] | undefined {
  const ca = constOf(a), cb = constOf(b);
  if (ca !== undefined && cb !== undefined) {
    const r = refine(
      op,
      constRange(signed(op) ? BigInt.asIntN(32, ca) : BigInt.asUintN(32, ca)),
      constRange(signed(op) ? BigInt.asIntN(32, cb) : BigInt.asUintN(32, cb)),
    );
    return r ? [a, b] : undefined;
  }
  const limit = signed(op) ? (1n << 31n) - 1n : U32_MAX;
  if (a.umax <= limit && b.umax <= limit) return refine(op, a, b);
  // The kernel narrows the 32-bit bounds of wider values, and where that
  // side cannot happen it goes on with bounds that need not contain ours:
  // we go on with nothing known about the compared values.
  return [ca !== undefined ? a : FULL, cb !== undefined ? b : FULL];
}

/**
 * Whether `a op b` holds for all values (true), none (false), or it
 * depends (undefined), judged as the kernel's branch prediction does from
 * the bounds alone: constants, then disjoint or ordered intervals. A side
 * of a jump is left out only when this decides; a side whose narrowed
 * ranges are empty for another reason is still followed, as the kernel
 * does (with whatever bounds it then has).
 *
 * @example `if r < 16` on [0, 15] is always taken
 * ```ts
 * import { branchTaken, constRange, uRange } from "./scalar.ts";
 * console.assert(branchTaken("JLT", uRange(0n, 15n), constRange(16n), 64));
 * ```
 */
export function branchTaken(
  op: CmpKind,
  a: Range,
  b: Range,
  bits: 32 | 64,
): boolean | undefined {
  const ca = constOf(a), cb = constOf(b);
  if (bits === 32) {
    if (ca !== undefined && cb !== undefined) {
      return refine32(op, a, b) !== undefined;
    }
    const limit = signed(op) ? (1n << 31n) - 1n : U32_MAX;
    if (a.umax > limit || b.umax > limit) return undefined;
  }
  if (ca !== undefined && cb !== undefined) {
    return refine(op, a, b) !== undefined;
  }
  const su = (x: Range) => [x.umin, x.umax] as const;
  const ss = (x: Range) => [x.smin, x.smax] as const;
  const order = (
    [lo1, hi1]: readonly [bigint, bigint],
    [lo2, hi2]: readonly [bigint, bigint],
    strict: boolean,
  ): boolean | undefined => {
    // a > b (strict) or a >= b.
    if (strict ? lo1 > hi2 : lo1 >= hi2) return true;
    if (strict ? hi1 <= lo2 : hi1 < lo2) return false;
    return undefined;
  };
  switch (op) {
    case "JEQ":
    case "JNE": {
      const disjoint = a.umin > b.umax || a.umax < b.umin ||
        a.smin > b.smax || a.smax < b.smin;
      if (!disjoint) return undefined;
      return op === "JNE";
    }
    case "JGT":
      return order(su(a), su(b), true);
    case "JGE":
      return order(su(a), su(b), false);
    case "JLT":
      return order(su(b), su(a), true);
    case "JLE":
      return order(su(b), su(a), false);
    case "JSGT":
      return order(ss(a), ss(b), true);
    case "JSGE":
      return order(ss(a), ss(b), false);
    case "JSLT":
      return order(ss(b), ss(a), true);
    case "JSLE":
      return order(ss(b), ss(a), false);
    case "JSET":
    case "JNSET": {
      // No bit of the constant can be set in the other operand.
      const k = cb ?? ca;
      const x = cb !== undefined ? a : b;
      if (k === undefined || (k !== 0n && x.umax >= lowBit(k))) {
        return undefined;
      }
      return op === "JNSET";
    }
  }
  return undefined;
}

function signed(op: CmpKind): boolean {
  return op === "JSGT" || op === "JSGE" || op === "JSLT" || op === "JSLE";
}

/** Short text for messages: `5`, `[0, 15]` or `unknown`. */
export function rangeText(r: Range): string {
  const c = constOf(r);
  if (c !== undefined) return String(toS(c));
  if (
    r.umin === 0n && r.umax === U64_MAX && r.smin === S64_MIN &&
    r.smax === S64_MAX
  ) {
    return "unknown";
  }
  if (r.smin >= 0n || r.umax <= S64_MAX) return `[${r.umin}, ${r.umax}]`;
  return `signed [${r.smin}, ${r.smax}]`;
}
