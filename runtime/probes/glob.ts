/**
 * Shell-style wildcard matching for probe names, as bpftrace uses it:
 * `*` matches any run of characters (also none), `?` matches one character,
 * everything else matches itself. Used by tracepoint expansion, `-l` and
 * uprobe symbol listing.
 *
 * @module
 */

const cache = new Map<string, RegExp>();

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
 * Compile a wildcard pattern to an anchored regular expression (cached).
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
export function globToRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re === undefined) {
    let src = "^";
    for (const ch of pattern) {
      if (ch === "*") src += "[^]*";
      else if (ch === "?") src += "[^]";
      else src += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
    re = new RegExp(src + "$", "u");
    if (cache.size > 256) cache.clear();
    cache.set(pattern, re);
  }
  return re;
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
