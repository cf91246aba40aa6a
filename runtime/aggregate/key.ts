/**
 * Canonical text for map keys, so that keys decoded from two different
 * snapshots (fresh arrays each time) compare equal.
 *
 * @module
 */

/**
 * Canonical text of a key: equal keys (numbers, bigints, strings, arrays of
 * them, stacks) give equal text. Bigints are tagged so `5n` and `"5"`
 * stay distinct.
 *
 * @example Tuple keys from two snapshots
 * ```ts
 * import assert from "node:assert/strict";
 * import { keyText } from "./key.ts";
 *
 * assert.equal(keyText([42, "bash"]), keyText([42, "bash"]));
 * assert.notEqual(keyText(5n), keyText("5"));
 * ```
 */
export function keyText(key: unknown): string {
  if (typeof key === "string") return "s" + key;
  if (typeof key === "number") return "n" + key;
  if (typeof key === "bigint") return "b" + key;
  return "j" + JSON.stringify(key, (_k, v) => {
    if (typeof v === "bigint") return { $bigint: v.toString() };
    if (v instanceof Uint8Array) return { $bytes: [...v] };
    return v;
  });
}
