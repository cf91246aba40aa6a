/**
 * Per-key rates between two snapshots of a counter map.
 *
 * @module
 */

import { keyText } from "./key.ts";

/** A counter value: a number, or a bigint above 2^53. */
export type Count = number | bigint;

/**
 * Per-second rate of every key between two snapshots taken `intervalMs`
 * apart: `(next - prev) / seconds`. Keys are matched by value (tuple keys
 * from two reads match), keys missing from `prev` count from 0, keys gone
 * from `next` are left out, and a counter that went down (the map was
 * cleared) counts from 0 again.
 *
 * @example Drops per second
 * ```ts
 * import assert from "node:assert/strict";
 * import { rate } from "./rate.ts";
 *
 * const prev = new Map([[[1, "nc"], 10], [[2, "sh"], 4]]);
 * const next = new Map([[[1, "nc"], 30], [[3, "ls"], 5]]);
 * const r = rate(prev, next, 2000);
 * assert.deepEqual([...r], [[[1, "nc"], 10], [[3, "ls"], 2.5]]);
 * ```
 */
export function rate<K>(
  prev: Iterable<readonly [K, Count]>,
  next: Iterable<readonly [K, Count]>,
  intervalMs: number,
): Map<K, number> {
  if (!(intervalMs > 0)) {
    throw new RangeError(`Interval must be positive, got ${intervalMs}`);
  }
  const before = new Map<string, Count>();
  for (const [k, v] of prev) before.set(keyText(k), v);
  const out = new Map<K, number>();
  for (const [k, v] of next) {
    const p = before.get(keyText(k)) ?? 0;
    let d = Number(v) - Number(p);
    if (typeof v === "bigint" || typeof p === "bigint") {
      d = Number(BigInt(v) - BigInt(p));
    }
    if (d < 0) d = Number(v);
    out.set(k, d * 1000 / intervalMs);
  }
  return out;
}
