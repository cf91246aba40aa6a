/**
 * Typed views of a running program's maps: a snapshot is a real JS `Map`
 * whose keys are decoded values (a single key as itself, several keys as
 * an array), plus `lookup(...key)` that finds tuple keys by value.
 *
 * @module
 */

import { keyText } from "../aggregate/key.ts";
import type {
  HistBucket,
  Int,
  MapData,
  MapKind,
  Stats,
  Value,
} from "../output/types.ts";

/**
 * A map key as the API hands it out: the one key value for `@x[k]`, an
 * array for `@x[k1, k2]`, and `[]` for a map without keys (`@x`).
 */
export type MapKey = Value | Value[];

/**
 * A map value as the API hands it out: an integer for `count`, `sum`,
 * `min`, `max`; {@linkcode Stats} for `avg`/`stats`; bucket lists for
 * `hist`/`lhist`; the stored value for assigned maps.
 */
export type MapValue = Int | Stats | HistBucket[] | Value;

/**
 * The arguments `lookup(...)`/`get(...)` take for a key type: the tuple's
 * elements for an array key, the key alone otherwise.
 */
export type KeyParts<K> = K extends readonly unknown[] ? K : [K];

/**
 * Turns a decoded key (one element per key expression) into the API's key.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { apiKey } from "./map_view.ts";
 *
 * assert.equal(apiKey([42]), 42);
 * assert.deepEqual(apiKey([42, "bash"]), [42, "bash"]);
 * assert.deepEqual(apiKey([]), []);
 * ```
 */
export function apiKey(key: Value[]): MapKey {
  return key.length === 1 ? key[0] : key;
}

// Lookup indexes by canonical key text, built on first lookup(). Kept
// outside the class: Map's constructor calls set() before subclass fields
// exist.
const indexes = new WeakMap<object, Map<string, unknown>>();

/**
 * A snapshot of a map: a JS `Map` from key to value, plus `lookup()` for
 * tuple keys (array keys are compared by identity in a plain `Map`).
 *
 * @example Looking up a tuple key
 * ```ts
 * import assert from "node:assert/strict";
 * import { MapSnapshot } from "./map_view.ts";
 *
 * const m = new MapSnapshot<[number, string], number>([[[1, "sh"], 3]]);
 * assert.equal(m.lookup(1, "sh"), 3);
 * assert.equal(m.lookup(2, "sh"), undefined);
 * ```
 */
export class MapSnapshot<K = MapKey, V = MapValue> extends Map<K, V> {
  /** The value stored under the key given as its parts, or undefined. */
  lookup(...key: KeyParts<K>): V | undefined {
    let index = indexes.get(this) as Map<string, V> | undefined;
    if (index === undefined) {
      index = new Map();
      for (const [k, v] of this) index.set(keyText(k), v);
      indexes.set(this, index);
    }
    const k = key.length === 1 && !Array.isArray(key[0]) ? key[0] : key;
    return index.get(keyText(k));
  }

  /** Entries ordered by a numeric value, largest first. */
  sortedBy(by: (value: V, key: K) => number | bigint): [K, V][] {
    return [...this].sort((a, b) => {
      const x = by(a[1], a[0]);
      const y = by(b[1], b[0]);
      return x > y ? -1 : x < y ? 1 : 0;
    });
  }

  /** Sets the value of `key` (as `Map.set`). */
  override set(key: K, value: V): this {
    indexes.delete(this);
    return super.set(key, value);
  }

  /** Deletes `key` (as `Map.delete`). */
  override delete(key: K): boolean {
    indexes.delete(this);
    return super.delete(key);
  }

  /** Deletes every entry (as `Map.clear`). */
  override clear(): void {
    indexes.delete(this);
    super.clear();
  }
}

/**
 * Converts decoded map data into a snapshot.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { snapshotOf } from "./map_view.ts";
 *
 * const s = snapshotOf<[number, string], number>({
 *   name: "@drops", keyed: true, kind: "count",
 *   entries: [{ key: [7, "nc"], value: 2 }],
 * });
 * assert.equal(s.lookup(7, "nc"), 2);
 * ```
 */
export function snapshotOf<K = MapKey, V = MapValue>(
  data: MapData,
): MapSnapshot<K, V> {
  const out = new MapSnapshot<K, V>();
  for (const e of data.entries) {
    out.set(apiKey(e.key) as K, e.value as V);
  }
  return out;
}

/**
 * A live handle on one map of a running program. Each read decodes the
 * map afresh.
 */
export interface TraceMap<K = MapKey, V = MapValue> {
  /** The map's name with its `@`. */
  readonly name: string;
  /** Its aggregation kind. */
  readonly kind: MapKind;
  /** The map now, as a JS `Map` (see {@linkcode MapSnapshot}). */
  read(): MapSnapshot<K, V>;
  /** The map now, as `[key, value]` pairs (in bpftrace's print order). */
  entries(): [K, V][];
  /** One value read now, the key given as its parts: `get(pid, comm)`. */
  get(...key: KeyParts<K>): V | undefined;
  /** The map now, as decoded plain data (for the aggregation helpers). */
  data(): MapData;
  /** Deletes every entry. */
  clear(): void;
}
