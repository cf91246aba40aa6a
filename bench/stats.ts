/**
 * Small statistics and formatting for the benchmark tables: medians,
 * ratios, and numbers printed the same way everywhere.
 *
 * @module
 */

/**
 * Median of the finite numbers in `xs` (NaN when there are none).
 *
 * @example Median of three
 * ```ts
 * import { median } from "./stats.ts";
 * console.assert(median([3, 1, 2]) === 2);
 * ```
 */
export function median(xs: readonly number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/**
 * `a / b` as text with two decimals and a `×`, or `n/a`.
 *
 * @example A ratio
 * ```ts
 * import { ratio } from "./stats.ts";
 * console.assert(ratio(1, 4) === "0.25×");
 * ```
 */
export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "n/a";
  return `${(a / b).toFixed(2)}×`;
}

/**
 * A number with at most `digits` decimals and thousands separators.
 *
 * @example Format
 * ```ts
 * import { num } from "./stats.ts";
 * console.assert(num(12345.678, 1) === "12,345.7");
 * ```
 */
export function num(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return "n/a";
  return x.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

/**
 * Sleeps `ms` milliseconds.
 *
 * @example Sleep briefly
 * ```ts
 * import { sleep } from "./stats.ts";
 * await sleep(1);
 * ```
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Runs one measurement; on failure prints one line to standard error and
 * returns undefined, so one bad sample on a busy machine does not end the
 * whole suite (medians skip it; the tables show `n/a` if all fail).
 *
 * @example A failing sample
 * ```ts
 * import { attempt } from "./stats.ts";
 * const r = await attempt("demo", () => Promise.reject(new Error("boom")));
 * console.assert(r === undefined);
 * ```
 */
export async function attempt<T>(
  what: string,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    console.error(
      `Sample failed (${what}): ${e instanceof Error ? e.message : String(e)}`,
    );
    return undefined;
  }
}
