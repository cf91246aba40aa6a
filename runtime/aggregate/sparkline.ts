/**
 * One-line charts of a series of numbers.
 *
 * @module
 */

const BARS = "▁▂▃▄▅▆▇█";

/**
 * A sparkline: one block character per value, scaled between `min`
 * (default: 0, or the smallest value if negative) and `max` (default: the
 * largest value). An all-zero series is a flat `▁` line.
 *
 * @example Drops per second over the last ticks
 * ```ts
 * import assert from "node:assert/strict";
 * import { sparkline } from "./sparkline.ts";
 *
 * assert.equal(sparkline([0, 1, 2, 4, 8]), "▁▁▂▄█");
 * assert.equal(sparkline([3, 3], { max: 6 }), "▄▄");
 * assert.equal(sparkline([]), "");
 * ```
 */
export function sparkline(
  values: readonly (number | bigint)[],
  options: { min?: number; max?: number } = {},
): string {
  if (values.length === 0) return "";
  const nums = values.map(Number);
  const min = options.min ?? Math.min(0, ...nums);
  const max = options.max ?? Math.max(...nums);
  const span = max - min;
  let s = "";
  for (const v of nums) {
    const f = span > 0 ? (Math.min(Math.max(v, min), max) - min) / span : 0;
    s += BARS[Math.min(BARS.length - 1, Math.floor(f * (BARS.length - 1)))];
  }
  return s;
}
