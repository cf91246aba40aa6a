/**
 * "Did you mean" suggestions for misspelt names: probes, functions,
 * fields, maps, variables and command-line flags. The nearest candidate by
 * edit distance (insertions, deletions, substitutions and swaps of two
 * neighbours), if it is near enough to be a typo.
 *
 * @module
 */

/**
 * The edit distance between `a` and `b`: insertions, deletions,
 * substitutions and transpositions of adjacent characters each cost 1
 * (optimal string alignment). Stops early, returning `max + 1`, once the
 * distance must exceed `max`.
 *
 * @example Distances
 * ```ts
 * import assert from "node:assert/strict";
 * import { editDistance } from "./suggest.ts";
 *
 * assert.equal(editDistance("cnt", "count"), 2);
 * assert.equal(editDistance("opnat", "openat"), 1);
 * assert.equal(editDistance("durration", "duration"), 1);
 * assert.equal(editDistance("ab", "ba"), 1);
 * ```
 */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (
        i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]
      ) {
        d = Math.min(d, prev2[j - 2] + 1);
      }
      cur.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > max) return max + 1;
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length];
}

function isSubsequence(word: string, of: string): boolean {
  let i = 0;
  for (let j = 0; j < of.length && i < word.length; j++) {
    if (of[j] === word[i]) i++;
  }
  return i === word.length;
}

/**
 * The candidate nearest to `word`, when it is near enough to be a typo:
 * at most 1 edit for words of one or two characters, else a third of the
 * word's length (at least 2, at most 3). Letters left out (`cnt` for
 * `count`) weigh less than other edits, so an abbreviation finds its word
 * before a same-length neighbour (`cat`). Ties go to the earlier candidate.
 *
 * @example Nearest names
 * ```ts
 * import assert from "node:assert/strict";
 * import { closest } from "./suggest.ts";
 *
 * assert.equal(closest("cnt", ["cat", "count", "sum", "hist"]), "count");
 * assert.equal(closest("hsit", ["count", "hist"]), "hist");
 * assert.equal(closest("xyz", ["count", "sum"]), undefined);
 * ```
 */
export function closest(
  word: string,
  candidates: Iterable<string>,
): string | undefined {
  const limit = word.length <= 2
    ? 1
    : Math.min(3, Math.max(2, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    if (c === word) continue;
    const d = editDistance(word, c, limit);
    if (d > limit) continue;
    const score = isSubsequence(word, c) ? 0.4 * (c.length - word.length) : d;
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

/**
 * `; did you mean "X"?` for the candidate nearest to `word`, or `""` when
 * none is near: appended to an error message.
 *
 * @example Appending a suggestion
 * ```ts
 * import assert from "node:assert/strict";
 * import { didYouMean } from "./suggest.ts";
 *
 * assert.equal(
 *   `Unknown function: "cnt"${didYouMean("cnt", ["count", "sum"])}`,
 *   'Unknown function: "cnt"; did you mean "count"?',
 * );
 * assert.equal(didYouMean("zzz", ["count"]), "");
 * ```
 */
export function didYouMean(
  word: string,
  candidates: Iterable<string>,
  quote = '"',
): string {
  const c = closest(word, candidates);
  return c === undefined ? "" : `; did you mean ${quote}${c}${quote}?`;
}
