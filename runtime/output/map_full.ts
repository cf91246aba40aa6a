/**
 * Full maps: the updates a map refused because it held its `maxEntries`
 * keys, as counted by the program in the internal `.full` map (an array of
 * one entry holding a u64 per user map, in the order user maps appear in
 * `Program.maps`), and the warning and JSON record that report them.
 *
 * JSON record (one line, on the output stream, after the map it concerns
 * on `print()` and after the maps at exit):
 * `{"type": "map_full", "data": {"map": "@m", "lost": 12, "max_entries": 4096}}`
 * where `lost` counts every refused update since the session started.
 *
 * @module
 */

import type { RawMapEntry } from "../engines/engine.ts";
import type { MapSpec } from "../program.ts";
import { jsonEscape } from "./json.ts";

/** Updates one map refused because it was full. */
export interface MapFull {
  /** The map's name with its `@`. */
  name: string;
  /** Updates refused since the session started (summed over CPUs). */
  lost: number;
  /** The map's limit of keys (`max_map_keys`). */
  maxEntries: number;
}

/**
 * Reads the `.full` counters (the entries of the map as an engine returns
 * them) into one figure per map that lost updates, in name order.
 *
 * @example Map 1 lost 5 updates
 * ```ts
 * import { mapFullCounts } from "./map_full.ts";
 * import assert from "node:assert/strict";
 *
 * const map = (name: string) => ({ name, type: 1, keySize: 8, valueSize: 8,
 *   maxEntries: 4096, key: { kind: "none", size: 0 } as const,
 *   internal: false });
 * const value = new Uint8Array(new BigUint64Array([0n, 5n]).buffer);
 * assert.deepEqual(
 *   mapFullCounts([map("@a"), map("@b")], [{ key: new Uint8Array(4), values: [value] }]),
 *   [{ name: "@b", lost: 5, maxEntries: 4096 }],
 * );
 * ```
 */
export function mapFullCounts(
  maps: readonly MapSpec[],
  counters: readonly RawMapEntry[],
): MapFull[] {
  const out: MapFull[] = [];
  const value = counters[0]?.values[0];
  if (value === undefined) return out;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  let off = 0;
  for (const spec of maps) {
    if (spec.internal) continue;
    if (off + 8 > value.length) break;
    const lost = view.getBigUint64(off, true);
    off += 8;
    if (lost > 0n) {
      out.push({
        name: spec.name,
        lost: Number(lost),
        maxEntries: spec.maxEntries,
      });
    }
  }
  return out.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * The warning written on standard error for a map that lost updates.
 *
 * @example Usage
 * ```ts
 * import { formatMapFullWarning } from "./map_full.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(
 *   formatMapFullWarning({ name: "@m", lost: 3, maxEntries: 4096 }),
 *   /^WARNING: Map @m is full \(4096 keys\): 3 updates were lost/,
 * );
 * ```
 */
export function formatMapFullWarning(m: MapFull): string {
  return `WARNING: Map ${m.name} is full (${m.maxEntries} keys): ${m.lost} ${
    m.lost === 1 ? "update was" : "updates were"
  } lost. Raise max_map_keys: --max-map-keys N, BPFTRACE_MAP_KEYS_MAX=N ` +
    `or trace(…, { maxMapKeys: N }).\n`;
}

/**
 * The JSON record for a map that lost updates.
 *
 * @example Usage
 * ```ts
 * import { formatMapFullJson } from "./map_full.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   formatMapFullJson({ name: "@m", lost: 3, maxEntries: 4096 }),
 *   '{"type": "map_full", "data": {"map": "@m", "lost": 3, "max_entries": 4096}}\n',
 * );
 * ```
 */
export function formatMapFullJson(m: MapFull): string {
  return `{"type": "map_full", "data": {"map": "${
    jsonEscape(m.name)
  }", "lost": ${m.lost}, "max_entries": ${m.maxEntries}}}\n`;
}
