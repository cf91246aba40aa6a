/**
 * Grouping records or map entries by a derived key.
 *
 * @module
 */

/**
 * Groups items by `keyOf(item)`; each group is reduced with `reduce`
 * starting from `init()` (default: collects the items in an array).
 *
 * @example Drops per process name, summing PIDs' counts
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupBy } from "./group_by.ts";
 *
 * const drops: [[number, string], number][] = [[[1, "nc"], 2], [[2, "nc"], 3], [[3, "sh"], 1]];
 * const byComm = groupBy(drops, ([[, comm]]) => comm, (sum, [, n]) => sum + n, () => 0);
 * assert.deepEqual([...byComm], [["nc", 5], ["sh", 1]]);
 * const lists = groupBy([1, 2, 3, 4], (n) => n % 2 === 0 ? "even" : "odd");
 * assert.deepEqual(lists.get("odd"), [1, 3]);
 * ```
 */
export function groupBy<T, G, A = T[]>(
  items: Iterable<T>,
  keyOf: (item: T) => G,
  reduce?: (acc: A, item: T) => A,
  init?: () => A,
): Map<G, A> {
  const out = new Map<G, A>();
  const step = reduce ??
    ((acc: A, item: T) => {
      (acc as unknown as T[]).push(item);
      return acc;
    });
  const start = init ?? (() => [] as unknown as A);
  for (const item of items) {
    const g = keyOf(item);
    out.set(g, step(out.has(g) ? out.get(g)! : start(), item));
  }
  return out;
}
