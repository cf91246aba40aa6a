/**
 * Shell-style wildcard matching for probe names, as bpftrace uses it:
 * `*` matches any run of characters (also none), `?` matches one character,
 * everything else matches itself. Used by tracepoint expansion, `-l` and
 * uprobe symbol listing.
 *
 * @module
 */

/** A compiled wildcard pattern. */
export interface GlobPattern {
  /** Whether `text` matches the pattern as a whole. */
  test(text: string): boolean;
}

/**
 * Whether `text` contains a wildcard character (`*` or `?`).
 *
 * @example Detecting a pattern
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasWildcard } from "./glob.ts";
 *
 * assert.equal(hasWildcard("syscalls:sys_enter_*"), true);
 * assert.equal(hasWildcard("skb:kfree_skb"), false);
 * ```
 */
export function hasWildcard(text: string): boolean {
  return text.includes("*") || text.includes("?");
}

/**
 * Compile a wildcard pattern to a matcher (the name is historical: it was
 * a regular expression, which V8 refuses above some size and which
 * backtracks badly on patterns with many `*`). Matching takes at most
 * pattern length times text length steps, usually about the text's.
 *
 * @example Compiling a pattern
 * ```ts
 * import assert from "node:assert/strict";
 * import { globToRegExp } from "./glob.ts";
 *
 * const re = globToRegExp("sched:sched_*wak?*");
 * assert.ok(re.test("sched:sched_wakeup"));
 * assert.ok(!re.test("sched:sched_switch"));
 * ```
 */
export function globToRegExp(pattern: string): GlobPattern {
  const p = [...pattern];
  return {
    test(text: string): boolean {
      const s = [...text];
      let i = 0;
      let j = 0;
      let star = -1;
      let mark = 0;
      while (j < s.length) {
        if (i < p.length && p[i] !== "*" && (p[i] === "?" || p[i] === s[j])) {
          i++;
          j++;
        } else if (i < p.length && p[i] === "*") {
          star = i++;
          mark = j;
        } else if (star >= 0) {
          i = star + 1;
          j = ++mark;
        } else return false;
      }
      while (i < p.length && p[i] === "*") i++;
      return i === p.length;
    },
  };
}

/**
 * Whether `text` matches the wildcard `pattern` as a whole.
 *
 * @example Matching names
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchGlob } from "./glob.ts";
 *
 * assert.ok(matchGlob("*:kfree_skb", "skb:kfree_skb"));
 * assert.ok(!matchGlob("skb:*", "net:net_dev_xmit"));
 * ```
 */
export function matchGlob(pattern: string, text: string): boolean {
  if (!hasWildcard(pattern)) return pattern === text;
  return globToRegExp(pattern).test(text);
}
