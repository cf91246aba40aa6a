/**
 * Name indexes over a BTF blob: struct, union, enum, fwd, typedef, func,
 * int and float names to type ids, and enumerator names to the enums that
 * define them. Built from the raw records in one pass, without decoding the
 * types; a split blob's index consults its base's index too.
 *
 * @module
 */

import { BTF_KIND } from "./btf_types.ts";
import { hashName } from "./btf_reader.ts";
import type { Btf } from "./btf_reader.ts";

const encoder = new TextEncoder();

/** The kinds whose names are indexed. */
export type IndexedKind =
  | "int"
  | "float"
  | "struct"
  | "union"
  | "enum"
  | "enum64"
  | "fwd"
  | "typedef"
  | "func";

/** Kind number → 1 for the kinds of the first index (not functions). */
const TYPE_KINDS = new Uint8Array(32);
for (
  const k of [
    "int",
    "float",
    "struct",
    "union",
    "enum",
    "enum64",
    "fwd",
    "typedef",
  ] as const
) TYPE_KINDS[BTF_KIND[k]] = 1;

/** Kind number → 1 for functions, indexed on the first function query. */
const FUNC_KINDS = new Uint8Array(32);
FUNC_KINDS[BTF_KIND.func] = 1;

const indexes = new WeakMap<Btf, BtfIndex>();

/**
 * The name index of one blob (and, for split BTF, of its base).
 *
 * @example Finding a struct by name
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBtf } from "./btf_writer.ts";
 * import { parseBtf } from "./btf_reader.ts";
 * import { BtfIndex } from "./btf_index.ts";
 *
 * const btf = parseBtf(encodeBtf([
 *   { kind: "int", name: "int", size: 4, signed: true },
 *   { kind: "struct", name: "pair", size: 8, members: [] },
 *   { kind: "enum", name: "color", values: [{ name: "RED", value: 1 }] },
 * ]), "example");
 * const index = BtfIndex.of(btf);
 * assert.deepEqual(index.ids("struct", "pair"), [2]);
 * assert.deepEqual(index.enumsDefining("RED"), [3]);
 * ```
 */
export class BtfIndex {
  /** The blob indexed. */
  readonly btf: Btf;
  /** The base blob's index, for split BTF. */
  readonly base: BtfIndex | undefined;
  /** Milliseconds the type-name index took (not counting the base's). */
  readonly buildMs: number;
  // Hash chains over names, in typed arrays: no name is decoded and no
  // JS string made while building. `head[h & mask]` is the first entry of a
  // bucket, `next[entry]` the following one, -1 ends a chain.
  #mask: number;
  #typeHead: Int32Array;
  /** Function names have their own heads, filled on first use. */
  #funcHead: Int32Array | undefined;
  /** Milliseconds the function-name index took, once built. */
  funcBuildMs: number | undefined;
  /** Per type (id - firstId): the next indexed type in the same bucket. */
  #typeNext: Int32Array;
  /** The enumerator index, built on the first enumerator query. */
  #enums:
    | { head: Int32Array; next: Int32Array; type: Int32Array; name: Int32Array }
    | undefined;
  /** Ids of the enums, found while building the type index. */
  #enumIds: number[] = [];
  #enumerators = 0;
  #count = 0;
  /** Milliseconds the enumerator index took, once built. */
  enumBuildMs: number | undefined;

  private constructor(btf: Btf) {
    const t0 = performance.now();
    this.btf = btf;
    this.base = btf.base === undefined ? undefined : BtfIndex.of(btf.base);
    const first = btf.firstId, end = btf.endId, n = end - first;
    let size = 1024;
    while (size < n) size *= 2;
    const mask = size - 1;
    this.#mask = mask;
    this.#typeNext = new Int32Array(n);
    this.#typeHead = this.#chain(TYPE_KINDS, (id, kind) => {
      if (kind === BTF_KIND.enum || kind === BTF_KIND.enum64) {
        this.#enumIds.push(id);
        this.#enumerators += btf.recordVlen(id);
      }
    });
    this.buildMs = performance.now() - t0;
  }

  /**
   * Chain the named records whose kind `kinds` marks into new heads
   * (sharing `#typeNext`: each record is in one group), calling `each`
   * for every record of those kinds.
   */
  #chain(
    kinds: Uint8Array,
    each?: (id: number, kind: number) => void,
  ): Int32Array {
    const btf = this.btf, first = btf.firstId, end = btf.endId;
    const mask = this.#mask, next = this.#typeNext;
    const head = new Int32Array(mask + 1).fill(-1);
    for (let id = first; id < end; id++) {
      const kind = btf.recordKind(id);
      if (kinds[kind] === 0) continue;
      each?.(id, kind);
      const nameOff = btf.recordNameOff(id);
      if (nameOff === 0) continue;
      const h = btf.stringHash(nameOff) & mask;
      next[id - first] = head[h];
      head[h] = id - first;
      this.#count++;
    }
    return head;
  }

  #heads(kind: number): Int32Array {
    if (FUNC_KINDS[kind] === 0) return this.#typeHead;
    if (this.#funcHead === undefined) {
      const t0 = performance.now();
      this.#funcHead = this.#chain(FUNC_KINDS);
      this.funcBuildMs = performance.now() - t0;
    }
    return this.#funcHead;
  }

  /** Hash chains over enumerator names, built once. */
  #enumIndex(): {
    head: Int32Array;
    next: Int32Array;
    type: Int32Array;
    name: Int32Array;
  } {
    if (this.#enums !== undefined) return this.#enums;
    const t0 = performance.now();
    const btf = this.btf, n = this.#enumerators, mask = this.#mask;
    const head = new Int32Array(mask + 1).fill(-1);
    const next = new Int32Array(n);
    const type = new Int32Array(n);
    const name = new Int32Array(n);
    let e = 0;
    for (const id of this.#enumIds) {
      const vlen = btf.recordVlen(id);
      const step = btf.recordKind(id) === BTF_KIND.enum ? 8 : 12;
      let at = btf.recordData(id);
      for (let i = 0; i < vlen; i++, at += step, e++) {
        const nameOff = btf.u32(at);
        const h = btf.stringHash(nameOff) & mask;
        next[e] = head[h];
        head[h] = e;
        type[e] = id;
        name[e] = nameOff;
      }
    }
    this.enumBuildMs = performance.now() - t0;
    return this.#enums = { head, next, type, name };
  }

  /** The index of `btf`, built on first use and kept with the blob. */
  static of(btf: Btf): BtfIndex {
    let index = indexes.get(btf);
    if (index === undefined) {
      index = new BtfIndex(btf);
      indexes.set(btf, index);
    }
    return index;
  }

  /** Ids of the types of kind `kind` named `name` (base first). */
  ids(kind: IndexedKind, name: string): readonly number[] {
    const inBase = this.base?.ids(kind, name) ?? [];
    const bytes = encoder.encode(name);
    if (bytes.length === 0) return inBase;
    const btf = this.btf, first = btf.firstId, want = BTF_KIND[kind];
    const own: number[] = [];
    for (
      let e = this.#heads(want)[hashName(bytes) & this.#mask];
      e !== -1;
      e = this.#typeNext[e]
    ) {
      const id = first + e;
      if (
        btf.recordKind(id) === want &&
        btf.stringEquals(btf.recordNameOff(id), bytes)
      ) own.push(id);
    }
    // Chains run from the last inserted: give ids in ascending order.
    own.reverse();
    return inBase.length === 0 ? own : [...inBase, ...own];
  }

  /** Ids of the enums (and enum64s) with an enumerator named `name`. */
  enumsDefining(name: string): readonly number[] {
    const inBase = this.base?.enumsDefining(name) ?? [];
    const bytes = encoder.encode(name);
    const own: number[] = [];
    const enums = this.#enumIndex();
    for (
      let e = enums.head[hashName(bytes) & this.#mask];
      e !== -1;
      e = enums.next[e]
    ) {
      if (this.btf.stringEquals(enums.name[e], bytes)) {
        const id = enums.type[e];
        if (own[own.length - 1] !== id) own.push(id);
      }
    }
    own.reverse();
    return inBase.length === 0 ? own : [...inBase, ...own];
  }

  /**
   * Every name of the given kinds (base included), for suggestions; this
   * decodes names, so it is meant for error paths.
   */
  names(kinds: readonly IndexedKind[]): string[] {
    const out = new Set<string>(this.base?.names(kinds) ?? []);
    const want = new Uint8Array(32);
    for (const k of kinds) want[BTF_KIND[k]] = 1;
    if (want[BTF_KIND.func] === 1) this.#heads(BTF_KIND.func);
    const btf = this.btf;
    for (let id = btf.firstId; id < btf.endId; id++) {
      if (want[btf.recordKind(id)] === 0) continue;
      const nameOff = btf.recordNameOff(id);
      if (nameOff !== 0) out.add(btf.string(nameOff));
    }
    return [...out];
  }

  /** Every enumerator name (base included), for suggestions. */
  enumeratorNames(): string[] {
    const out = new Set<string>(this.base?.enumeratorNames() ?? []);
    for (const off of this.#enumIndex().name) out.add(this.btf.string(off));
    return [...out];
  }

  /**
   * Number of names indexed so far here, enumerators included (not the
   * base's; function names once a function was looked up).
   */
  get size(): number {
    return this.#count + this.#enumerators;
  }
}
