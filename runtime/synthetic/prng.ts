/**
 * The one seeded random generator of the synthetic engine: xoshiro128**
 * in 32-bit integer operations, seeded through splitmix32. Same seed, same
 * sequence, on every host.
 *
 * @module
 */

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A deterministic pseudo-random generator (xoshiro128**).
 *
 * @example Same seed, same numbers
 * ```ts
 * import { Prng } from "./prng.ts";
 * const a = new Prng(42), b = new Prng(42);
 * console.assert(a.next() === b.next());
 * const n = a.below(10);
 * console.assert(n >= 0 && n < 10);
 * ```
 */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** Seeds the generator; any integer (or float, truncated) works. */
  constructor(seed: number) {
    const st = { s: (Math.trunc(seed) ^ Math.trunc(seed / 4294967296)) | 0 };
    this.#a = splitmix32(st);
    this.#b = splitmix32(st);
    this.#c = splitmix32(st);
    this.#d = splitmix32(st);
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#a = 1;
  }

  /** The next unsigned 32-bit number. */
  next(): number {
    const r = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return r;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** An integer in [0, n) for 0 < n ≤ 2^32. */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  /** Shuffles an array in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A table turning a uniform 16-bit number into an index drawn with the
 * given weights: `table[r & 0xffff]`. Every index with a positive weight
 * gets at least one slot.
 *
 * @example A skewed pick
 * ```ts
 * import { weightedTable } from "./prng.ts";
 * const t = weightedTable([90, 10]);
 * console.assert(t.filter((i) => i === 0).length > t.filter((i) => i === 1).length);
 * ```
 */
export function weightedTable(weights: readonly number[]): Uint16Array {
  const size = 65536;
  const out = new Uint16Array(size);
  const n = weights.length;
  if (n === 0) return out;
  let total = 0, positive = 0, top = 0;
  for (let i = 0; i < n; i++) {
    if (weights[i] > 0) {
      total += weights[i];
      positive++;
      if (weights[i] > weights[top]) top = i;
    }
  }
  if (positive === 0) return out;
  const spare = size - positive;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i];
    if (!(w > 0)) continue;
    const slots = 1 + Math.floor((w / total) * spare);
    for (let k = 0; k < slots && at < size; k++) out[at++] = i;
  }
  for (; at < size; at++) out[at] = top;
  return out;
}

/**
 * Zipf-like weights: `1 / (rank + 1) ^ s` for ranks 0..n-1.
 *
 * @example Three ranks
 * ```ts
 * import { zipfWeights } from "./prng.ts";
 * const [a, b] = zipfWeights(3, 1);
 * console.assert(a === 1 && b === 0.5);
 * ```
 */
export function zipfWeights(n: number, s = 1.1): number[] {
  return Array.from({ length: n }, (_, r) => 1 / Math.pow(r + 1, s));
}
