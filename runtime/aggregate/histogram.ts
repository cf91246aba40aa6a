/**
 * bpftrace-style histograms for user-space data: building `hist()` buckets
 * from samples and rendering buckets with bpftrace's exact rows.
 *
 * @module
 */

import { histBucketRange, lhistBucketRange } from "../output/decode.ts";
import { formatHistRows, histLabel, lhistLabel } from "../output/text.ts";
import type { HistBucket } from "../output/types.ts";

/** Which labels the buckets carry: `hist()` or `lhist(min, max, step)`. */
export type HistShape =
  | { kind: "hist" }
  | { kind: "lhist"; min: number; max: number; step: number };

/**
 * The `hist()` bucket index of a value: 0 for negatives, 1 for 0, 2 for 1,
 * then one bucket per power of two.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { histIndex } from "./histogram.ts";
 *
 * assert.deepEqual([-3, 0, 1, 2, 3, 4, 1024].map(histIndex), [0, 1, 2, 3, 3, 4, 12]);
 * ```
 */
export function histIndex(value: number | bigint): number {
  const v = BigInt(typeof value === "number" ? Math.trunc(value) : value);
  if (v < 0n) return 0;
  if (v === 0n) return 1;
  return v.toString(2).length + 1;
}

/**
 * Buckets of samples as a `hist()` (log2) or `lhist()` map would count
 * them, from the first to the last non-empty bucket.
 *
 * @example Latencies in microseconds
 * ```ts
 * import assert from "node:assert/strict";
 * import { bucketize } from "./histogram.ts";
 *
 * const b = bucketize([1, 5, 6, 20]);
 * assert.deepEqual(b.map((x) => [x.index, x.count]), [[2, 1], [3, 0], [4, 2], [5, 0], [6, 1]]);
 * const l = bucketize([3, 15], { kind: "lhist", min: 0, max: 20, step: 10 });
 * assert.deepEqual(l.map((x) => [x.min, x.max, x.count]), [[0, 9, 1], [10, 19, 1]]);
 * ```
 */
export function bucketize(
  samples: Iterable<number | bigint>,
  shape: HistShape = { kind: "hist" },
): HistBucket[] {
  const counts = new Map<number, number>();
  for (const s of samples) {
    let i: number;
    if (shape.kind === "hist") i = histIndex(s);
    else {
      const v = Number(s);
      const n = Math.trunc((shape.max - shape.min) / shape.step);
      i = v < shape.min
        ? 0
        : v >= shape.max
        ? n + 1
        : Math.trunc((v - shape.min) / shape.step) + 1;
    }
    counts.set(i, (counts.get(i) ?? 0) + 1);
  }
  if (counts.size === 0) return [];
  const first = Math.min(...counts.keys());
  const last = Math.max(...counts.keys());
  const out: HistBucket[] = [];
  for (let i = first; i <= last; i++) {
    const range = shape.kind === "hist"
      ? histBucketRange(i)
      : lhistBucketRange(i, shape.min, shape.max, shape.step);
    out.push({ index: i, ...range, count: counts.get(i) ?? 0 });
  }
  return out;
}

/**
 * Renders buckets exactly as bpftrace prints a histogram's rows (label,
 * count, 52-wide `|@@@|` bar), through the same code the map printer uses.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { bucketize, formatHistogram } from "./histogram.ts";
 *
 * const text = formatHistogram(bucketize([1, 2, 3]));
 * assert.equal(text.split("\n")[0],
 *   "[1]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |");
 * ```
 */
export function formatHistogram(
  buckets: readonly HistBucket[],
  shape: HistShape = { kind: "hist" },
): string {
  const label = shape.kind === "hist"
    ? histLabel
    : (i: number) => lhistLabel(i, shape.min, shape.max, shape.step);
  return formatHistRows([...buckets], label);
}
