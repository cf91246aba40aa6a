/**
 * 64-bit arithmetic on (low, high) int32 pairs, the interpreter's register
 * representation. Each function returns the low half and leaves the high
 * half in {@linkcode hi}`.v`, so no BigInt or object is made on hot paths.
 *
 * @module
 */

/** The high half of the last result (an int32). */
export const hi: { v: number } = { v: 0 };

/** Low half of a 64-bit product; high half in `hi.v`. */
export function mul64(al: number, ah: number, bl: number, bh: number): number {
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const carry = Math.floor(mid / 65536) + Math.floor(p01 / 65536) +
    Math.floor(p10 / 65536) + a1 * b1;
  hi.v = (carry + Math.imul(al, bh) + Math.imul(ah, bl)) | 0;
  return Math.imul(al, bl);
}

function big(l: number, h: number): bigint {
  return (BigInt(h >>> 0) << 32n) | BigInt(l >>> 0);
}

function sbig(l: number, h: number): bigint {
  return (BigInt(h) << 32n) | BigInt(l >>> 0);
}

function fromBig(v: bigint): number {
  hi.v = Number(BigInt.asIntN(32, v >> 32n));
  return Number(BigInt.asIntN(32, v));
}

/** Unsigned 64-bit division; division by zero gives 0. */
export function udiv64(al: number, ah: number, bl: number, bh: number): number {
  if (bl === 0 && bh === 0) return (hi.v = 0);
  if (ah === 0 && bh === 0) {
    hi.v = 0;
    return Math.floor((al >>> 0) / (bl >>> 0)) | 0;
  }
  return fromBig(big(al, ah) / big(bl, bh));
}

/** Unsigned 64-bit modulo; modulo by zero leaves the dividend. */
export function umod64(al: number, ah: number, bl: number, bh: number): number {
  if (bl === 0 && bh === 0) {
    hi.v = ah;
    return al;
  }
  if (ah === 0 && bh === 0) {
    hi.v = 0;
    return ((al >>> 0) % (bl >>> 0)) | 0;
  }
  return fromBig(big(al, ah) % big(bl, bh));
}

/** Signed 64-bit division: x/0 = 0, INT64_MIN/-1 = INT64_MIN. */
export function sdiv64(al: number, ah: number, bl: number, bh: number): number {
  if (bl === 0 && bh === 0) return (hi.v = 0);
  if (bl === -1 && bh === -1) return neg(al, ah);
  if (ah === al >> 31 && bh === bl >> 31) {
    const q = Math.trunc(al / bl);
    hi.v = q < 0 ? -1 : 0;
    return q | 0;
  }
  return fromBig(sbig(al, ah) / sbig(bl, bh));
}

/** Signed 64-bit modulo: x%0 = x, x%-1 = 0; sign follows the dividend. */
export function smod64(al: number, ah: number, bl: number, bh: number): number {
  if (bl === 0 && bh === 0) {
    hi.v = ah;
    return al;
  }
  if (bl === -1 && bh === -1) return (hi.v = 0);
  if (ah === al >> 31 && bh === bl >> 31) {
    const r = (al % bl) | 0;
    hi.v = r >> 31;
    return r;
  }
  return fromBig(sbig(al, ah) % sbig(bl, bh));
}

function neg(al: number, ah: number): number {
  const t = 0 - (al >>> 0);
  hi.v = (-ah - (t < 0 ? 1 : 0)) | 0;
  return t | 0;
}

/** Left shift by `s & 63`. */
export function lsh64(al: number, ah: number, s: number): number {
  s &= 63;
  if (s === 0) {
    hi.v = ah;
    return al;
  }
  if (s < 32) {
    hi.v = (ah << s) | (al >>> (32 - s));
    return al << s;
  }
  hi.v = al << (s - 32);
  return 0;
}

/** Logical right shift by `s & 63`. */
export function rsh64(al: number, ah: number, s: number): number {
  s &= 63;
  if (s === 0) {
    hi.v = ah;
    return al;
  }
  if (s < 32) {
    hi.v = ah >>> s | 0;
    return (al >>> s) | (ah << (32 - s));
  }
  hi.v = 0;
  return (ah >>> (s - 32)) | 0;
}

/** Arithmetic right shift by `s & 63`. */
export function arsh64(al: number, ah: number, s: number): number {
  s &= 63;
  if (s === 0) {
    hi.v = ah;
    return al;
  }
  if (s < 32) {
    hi.v = ah >> s;
    return (al >>> s) | (ah << (32 - s));
  }
  hi.v = ah >> 31;
  return ah >> (s - 32);
}

/** Reverses the bytes of an int32. */
export function bswap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) |
    (x >>> 24);
}

/** Reverses the low two bytes (result is zero-extended). */
export function bswap16(x: number): number {
  return ((x & 0xff) << 8) | ((x >>> 8) & 0xff);
}

/** The pair as an unsigned bigint. */
export function toBigU(l: number, h: number): bigint {
  return h === 0 ? BigInt(l >>> 0) : big(l, h);
}

/** Low half of a bigint; high half in `hi.v`. */
export function fromBigInt(v: bigint): number {
  return fromBig(v);
}
