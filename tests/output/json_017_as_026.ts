/**
 * bpftrace 0.17's `-f json` output (the installed reference) rewritten
 * where bpftrace 0.26, which tsbpf follows, changed its shape, so that
 * comparisons stay byte for byte on everything else:
 *
 * - `attached_probes` and `lost_events` records carry `"count"`;
 * - no blank lines (0.17 printed two before the maps at exit);
 * - integers a double cannot hold exactly are strings;
 * - `hist` buckets separated by `,` alone, and the bounds 0.17 computed
 *   in 32-bit `int` (wrapped from 2^31 up) exact: buckets are contiguous,
 *   so a bucket's `min` is the previous `max` + 1, and a wrapped log2
 *   bucket's `max` is twice its `min` - 1.
 *
 * @module
 */

/**
 * Rewrites bpftrace 0.17 JSON lines in 0.26's shape (see the module doc).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { json017As026 } from "./json_017_as_026.ts";
 *
 * assert.equal(
 *   json017As026('{"type": "attached_probes", "data": {"probes": 1}}\n\n\n'),
 *   '{"type": "attached_probes", "count": 1, "data": {"probes": 1}}\n',
 * );
 * ```
 */
export function json017As026(text: string): string {
  return text.split("\n").filter((l) => l !== "").map((line) => {
    line = line.replace(
      /^\{"type": "(attached_probes|lost_events)", "data": \{"(probes|events)": (\d+)/,
      '{"type": "$1", "count": $3, "data": {"$2": $3',
    );
    // Values, not text messages (whose strings may hold digits).
    if (/^\{"type": "(map|stats|hist|value)"/.test(line)) {
      line = line.replace(
        /(: |\[|,)(-?\d{16,})(?=[,}\]])/g,
        (m, pre, n) => BigInt(Number(n)) === BigInt(n) ? m : `${pre}"${n}"`,
      );
    }
    if (!line.startsWith('{"type": "hist"')) return line;
    let prevMax: bigint | undefined;
    return line.replace(
      /\[|\{(?:"min": (-?\d+), )?(?:"max": (-?\d+), )?"count": (\d+)\}(, (?=\{))?/g,
      (m, min?: string, max?: string, count?: string) => {
        if (m === "[") {
          prevMax = undefined;
          return m;
        }
        let lo = min === undefined ? undefined : BigInt(min);
        let hi = max === undefined ? undefined : BigInt(max);
        if (lo !== undefined && prevMax !== undefined && lo !== prevMax + 1n) {
          lo = prevMax + 1n;
          hi = hi === undefined ? undefined : 2n * lo - 1n;
        }
        prevMax = hi;
        let s = "{";
        if (lo !== undefined) s += `"min": ${lo}, `;
        if (hi !== undefined) s += `"max": ${hi}, `;
        return s + `"count": ${count}}` + (m.endsWith(", ") ? "," : "");
      },
    );
  }).map((l) => l + "\n").join("");
}
