/**
 * "Did you mean" suggestions: the names closest to a misspelt one.
 *
 * @module
 */

/**
 * Optimal-string-alignment edit distance (a swap of neighbours costs 1);
 * once it is sure to exceed `max`, returns `max + 1`.
 *
 * @example Counting edits
 * ```ts
 * import assert from "node:assert/strict";
 * import { editDistance } from "./nearest_names.ts";
 *
 * assert.equal(editDistance("comm", "cmom"), 1);
 * assert.equal(editDistance("pid", "tgid"), 2);
 * ```
 */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev2 = new Array<number>(b.length + 1).fill(0);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (
        i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]
      ) d = Math.min(d, prev2[j - 2] + 1);
      cur[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[b.length];
}

/**
 * Up to `limit` candidates closest to `name`: those within an edit
 * distance of about a third of its length (closest first), then those that
 * contain it or that it contains (shortest first). Case is ignored when
 * comparing.
 *
 * @example Suggesting a field name
 * ```ts
 * import assert from "node:assert/strict";
 * import { nearestNames } from "./nearest_names.ts";
 *
 * const fields = ["skc_family", "skc_state", "skc_num", "skc_dport"];
 * assert.deepEqual(nearestNames("skc_famly", fields), ["skc_family"]);
 * assert.deepEqual(nearestNames("dport", fields), ["skc_dport"]);
 * ```
 */
export function nearestNames(
  name: string,
  candidates: Iterable<string>,
  limit = 3,
): string[] {
  const want = name.toLowerCase();
  const max = Math.max(1, Math.floor(want.length / 3));
  const close: [number, string][] = [];
  const containing: string[] = [];
  for (const c of new Set(candidates)) {
    if (c === name || c === "") continue;
    const lower = c.toLowerCase();
    const d = editDistance(want, lower, max);
    if (d <= max) close.push([d, c]);
    else if (
      want.length >= 3 && (lower.includes(want) || want.includes(lower)) &&
      lower.length >= 3
    ) containing.push(c);
  }
  close.sort((x, y) => x[0] - y[0] || x[1].localeCompare(y[1]));
  containing.sort((x, y) => x.length - y.length || x.localeCompare(y));
  return [...close.map(([, c]) => c), ...containing].slice(0, limit);
}
