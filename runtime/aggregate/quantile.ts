/**
 * Quantiles (p50, p90, p99, …) from raw samples or from a `hist()` /
 * `lhist()` map's buckets.
 *
 * @module
 */

import type { HistBucket } from "../output/types.ts";

function checkQ(q: number): void {
  if (!(q >= 0 && q <= 1)) {
    throw new RangeError(`Quantile must be between 0 and 1, got ${q}`);
  }
}

/**
 * The `q`-quantile (0 ≤ q ≤ 1) of samples, interpolating linearly between
 * the two nearest ranks; NaN for no samples.
 *
 * @example Median and p90 of latencies
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantile } from "./quantile.ts";
 *
 * assert.equal(quantile([5, 1, 3, 2, 4], 0.5), 3);
 * assert.equal(quantile([10, 20], 0.9), 19);
 * ```
 */
export function quantile(
  samples: readonly (number | bigint)[],
  q: number,
): number {
  checkQ(q);
  if (samples.length === 0) return NaN;
  const s = samples.map(Number).sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/**
 * Several percentiles at once, named `p50`, `p90`, `p99` (or as asked:
 * `p99.9` for 99.9).
 *
 * @example The usual three
 * ```ts
 * import assert from "node:assert/strict";
 * import { percentiles } from "./quantile.ts";
 *
 * const lat = Array.from({ length: 101 }, (_, i) => i);
 * assert.deepEqual(percentiles(lat), { p50: 50, p90: 90, p99: 99 });
 * ```
 */
export function percentiles(
  samples: readonly (number | bigint)[],
  ps: readonly number[] = [50, 90, 99],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of ps) out[`p${p}`] = quantile(samples, p / 100);
  return out;
}

/**
 * Estimates the `q`-quantile from histogram buckets (as `hist()` and
 * `lhist()` maps decode them): finds the bucket holding that rank and
 * interpolates linearly inside its value range. The open "below" and
 * "above" buckets answer their one known bound. NaN when empty.
 *
 * @example p50 of a log2 histogram
 * ```ts
 * import assert from "node:assert/strict";
 * import { histQuantile } from "./quantile.ts";
 *
 * const buckets = [
 *   { index: 4, min: 4, max: 7, count: 2 },
 *   { index: 5, min: 8, max: 15, count: 2 },
 * ];
 * assert.equal(histQuantile(buckets, 0.5), 8);
 * assert.equal(histQuantile(buckets, 1), 16);
 * ```
 */
export function histQuantile(
  buckets: readonly HistBucket[],
  q: number,
): number {
  checkQ(q);
  let total = 0;
  for (const b of buckets) total += Number(b.count);
  if (total === 0) return NaN;
  const rank = q * total;
  let seen = 0;
  for (const b of buckets) {
    const c = Number(b.count);
    if (c === 0) continue;
    if (seen + c >= rank) {
      if (b.min === undefined) return Number(b.max);
      if (b.max === undefined) return Number(b.min);
      const lo = Number(b.min);
      const hi = Number(b.max) + 1;
      return lo + (hi - lo) * (rank - seen) / c;
    }
    seen += c;
  }
  const last = buckets[buckets.length - 1];
  return Number(last.max ?? last.min);
}

/**
 * {@linkcode histQuantile} for several percentiles, named as in
 * {@linkcode percentiles}.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { histPercentiles } from "./quantile.ts";
 *
 * const p = histPercentiles([{ index: 1, min: 0, max: 0, count: 10 }]);
 * assert.deepEqual(p, { p50: 0.5, p90: 0.9, p99: 0.99 });
 * ```
 */
export function histPercentiles(
  buckets: readonly HistBucket[],
  ps: readonly number[] = [50, 90, 99],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of ps) out[`p${p}`] = histQuantile(buckets, p / 100);
  return out;
}
