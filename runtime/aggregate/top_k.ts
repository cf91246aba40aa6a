/**
 * The largest entries of a map.
 *
 * @module
 */

/**
 * The `k` entries with the largest value (or the largest `by(value, key)`),
 * largest first; ties keep their input order.
 *
 * @example Top two processes by drops
 * ```ts
 * import assert from "node:assert/strict";
 * import { topK } from "./top_k.ts";
 *
 * const drops = new Map([["nc", 3], ["sh", 9], ["ls", 5]]);
 * assert.deepEqual(topK(drops, 2), [["sh", 9], ["ls", 5]]);
 * const stats = new Map([["a", { count: 2 }], ["b", { count: 7 }]]);
 * assert.deepEqual(topK(stats, 1, (v) => v.count), [["b", { count: 7 }]]);
 * ```
 */
export function topK<K, V>(
  entries: Iterable<readonly [K, V]>,
  k: number,
  by?: (value: V, key: K) => number | bigint,
): [K, V][] {
  const score = by ?? ((v: V) => v as unknown as number | bigint);
  const scored = [...entries].map(([key, value], i) => ({
    key,
    value,
    s: score(value, key),
    i,
  }));
  scored.sort((a, b) => (a.s > b.s ? -1 : a.s < b.s ? 1 : a.i - b.i));
  return scored.slice(0, Math.max(0, k)).map((e) => [e.key, e.value]);
}
