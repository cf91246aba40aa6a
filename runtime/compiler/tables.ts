/**
 * Map and table layout: the maps a program needs (user maps with their
 * key, value and aggregation layout; the internal `.events`, `.lost`,
 * `.full`, `.start` and stack maps, created on first use) and the event
 * format table. Codegen asks these tables for map indices and event
 * layouts; `compile.ts` copies them into the `Program`.
 *
 * @module
 */

import { MapType } from "../bpf/opcodes.ts";
import type {
  Aggregation,
  EventAction,
  EventFormat,
  MapSpec,
  TypeDesc,
} from "../program.ts";
import type { Analysis, MapInfo } from "./sema.ts";
import { mapsZeroedOrDeleted } from "./reuse.ts";
import { alignUp, sizeOf, type SType, toTypeDesc, tupleOf } from "./types.ts";

/** Default max entries of a user map (bpftrace's `BPFTRACE_MAP_KEYS_MAX`). */
export const MAP_MAX_ENTRIES = 4096;
/** Bytes of the events ring buffer. */
export const RINGBUF_SIZE = 1 << 22;

/** Buckets of a hist: 0 (negative), 1 (zero), 2 + log2 for 1 .. 2^63-1. */
export const HIST_BUCKETS = 65;

/**
 * Entries a keyless aggregation needs as a per-CPU array: one, or one per
 * hist/lhist bucket; undefined when it stays a hash map (too many lhist
 * buckets).
 */
function arraySlots(agg: Aggregation): number | undefined {
  switch (agg.kind) {
    case "value":
      return undefined;
    case "hist":
      return agg.bits ? (64 - agg.bits) * 2 ** agg.bits + 1 : HIST_BUCKETS;
    case "tseries":
      return undefined;
    case "lhist": {
      const n = Math.floor((agg.max - agg.min) / agg.step) + 2;
      return Number.isInteger(n) && n > 0 && n <= MAP_MAX_ENTRIES
        ? n
        : undefined;
    }
    default:
      return 1;
  }
}

/** A point to return the tables to (see `ProgramTables.mark`). */
export interface TablesMark {
  /** Maps then. */
  maps: number;
  /** Formats then. */
  formats: number;
  /** The events ring buffer's index then. */
  eventsMap?: number;
}

/** The program-wide tables codegen fills. */
export class ProgramTables {
  /** Every map: user maps first, then internal ones as they are needed. */
  maps: MapSpec[] = [];
  /** The event format table. */
  formats: EventFormat[] = [];
  /** Index of the events ring buffer once an event is emitted. */
  eventsMap?: number;
  #userMaps = new Map<string, number>();
  #internal = new Map<string, number>();
  #keepHash: Set<string>;
  #maxKeys: number;
  #histSums: boolean;

  /**
   * Registers the user maps; a hash map holds at most `maxKeys` keys
   * (`max_map_keys`, default {@linkcode MAP_MAX_ENTRIES}). `histSums`: every
   * hist/lhist bucket also keeps the sum of its values (for metrics export).
   */
  constructor(
    a: Analysis,
    maxKeys: number = MAP_MAX_ENTRIES,
    options: { histSums?: boolean } = {},
  ) {
    this.#maxKeys = maxKeys;
    this.#histSums = options.histSums ?? false;
    this.#keepHash = mapsZeroedOrDeleted(a.units.map((u) => u.probe));
    for (const m of a.maps.values()) {
      if (m.kind === undefined) continue;
      const spec = this.#userSpec(m);
      this.#userMaps.set(m.name, this.maps.length);
      this.maps.push(spec);
    }
  }

  /** The layout of user map `m`: type, key and value sizes, aggregation. */
  #userSpec(m: MapInfo): MapSpec {
    const kind = m.kind!;
    const keyT = m.key;
    const userKeySize = keyT === undefined ? 0 : sizeOf(keyT);
    const stackMap = (k: "kstack" | "ustack", d: number) => this.stackMap(k, d);
    let keySize: number;
    if (kind === "hist" || kind === "lhist" || kind === "tseries") {
      keySize = alignUp(userKeySize, 8) + 8;
    } else keySize = keyT === undefined ? 8 : userKeySize;
    let agg: Aggregation;
    let valueSize = 8;
    switch (kind) {
      case "value":
        agg = { kind: "value", type: toTypeDesc(m.value!, stackMap) };
        valueSize = Math.max(sizeOf(m.value!), 1);
        break;
      case "tseries":
        agg = {
          kind: "tseries",
          ...(m.tseries ??
            { interval: 1, num: 1, agg: "last", signed: true }),
        };
        valueSize = 24;
        break;
      case "lhist":
        agg = { kind: "lhist", ...(m.lhist ?? { min: 0, max: 1, step: 1 }) };
        if (this.#histSums) {
          agg.sum = true;
          valueSize = 16;
        }
        break;
      case "hist":
        agg = this.#histSums ? { kind, sum: true } : { kind };
        if (this.#histSums) valueSize = 16;
        if (m.histBits) agg.bits = m.histBits;
        break;
      case "avg":
      case "stats":
      case "min":
      case "max":
        agg = { kind };
        valueSize = 16;
        break;
      case "sum":
        agg = { kind, signed: m.sumSigned ?? true };
        break;
      default:
        agg = { kind };
    }
    const slots = keyT === undefined ? arraySlots(agg) : undefined;
    if (
      slots !== undefined && !this.#keepHash.has(m.name) &&
      m.decl === undefined
    ) {
      // A keyless aggregation: a per-CPU array indexed by the bucket (or
      // 0). Its lookup never misses and the kernel inlines it. A slot
      // nobody wrote reads as zero: `decodeMap` skips those, so the map
      // prints as the hash map it replaces would.
      return {
        name: m.name,
        type: MapType.PERCPU_ARRAY,
        keySize: 4,
        // sum: the total, then 1 once this CPU's slot was written.
        valueSize: kind === "sum" ? 16 : valueSize,
        maxEntries: slots,
        key: { kind: "none", size: 0 },
        agg,
        internal: false,
      };
    }
    const named = m.keyNames === undefined ? {} : { keyNames: m.keyNames };
    return {
      name: m.name,
      type: m.decl?.type ??
        (kind === "value" || kind === "tseries"
          ? MapType.HASH
          : MapType.PERCPU_HASH),
      keySize,
      valueSize,
      maxEntries: m.decl?.maxEntries ?? this.#maxKeys,
      key: keyT === undefined
        ? { kind: "none", size: 0 }
        : toTypeDesc(keyT, stackMap),
      agg,
      internal: false,
      ...named,
    };
  }

  /** What `reset` returns to: the tables as they are now. */
  mark(): TablesMark {
    return {
      maps: this.maps.length,
      formats: this.formats.length,
      eventsMap: this.eventsMap,
    };
  }

  /** Drops every map and format added since `m` was taken. */
  reset(m: TablesMark): void {
    this.maps.length = m.maps;
    this.formats.length = m.formats;
    this.eventsMap = m.eventsMap;
    for (const [name, i] of this.#internal) {
      if (i >= m.maps) this.#internal.delete(name);
    }
  }

  /** Index of a user map, if the program has it. */
  findUserMap(name: string): number | undefined {
    return this.#userMaps.get(name);
  }

  /** Index of a user map. */
  userMap(name: string): number {
    const i = this.#userMaps.get(name);
    if (i === undefined) throw new ReferenceError(`No map "${name}"`);
    return i;
  }

  /** Index of internal map `name`, added with `spec` on first use. */
  #internalMap(name: string, spec: Omit<MapSpec, "name" | "internal">): number {
    let i = this.#internal.get(name);
    if (i === undefined) {
      i = this.maps.length;
      this.maps.push({ name, internal: true, ...spec });
      this.#internal.set(name, i);
    }
    return i;
  }

  /** The events ring buffer. */
  events(): number {
    this.eventsMap = this.#internalMap(".events", {
      type: MapType.RINGBUF,
      keySize: 0,
      valueSize: 0,
      maxEntries: RINGBUF_SIZE,
      key: { kind: "none", size: 0 },
    });
    return this.eventsMap;
  }

  /**
   * The per-CPU one-slot counter of events lost because the ring buffer
   * was full (`.lost`, u32 key 0, u64 value); engines sum it.
   */
  lostMap(): number {
    return this.#internalMap(".lost", {
      type: MapType.PERCPU_ARRAY,
      keySize: 4,
      valueSize: 8,
      maxEntries: 1,
      key: { kind: "int", size: 4, signed: false },
    });
  }

  /**
   * The counters of updates a full map refused (`.full`): an ARRAY map of
   * one entry whose value holds a u64 per user map, in the order user maps
   * appear in `maps` (see `fullSlot`). Probes add to it through a direct
   * value pointer (no lookup call); user space reads it and warns.
   */
  fullMap(): number {
    return this.#internalMap(".full", {
      type: MapType.ARRAY,
      keySize: 4,
      valueSize: 8 * Math.max(this.#userMaps.size, 1),
      maxEntries: 1,
      key: { kind: "none", size: 0 },
    });
  }

  /** The byte offset of user map `mapIndex`'s counter in `.full`. */
  fullSlot(mapIndex: number): number {
    let n = 0;
    for (let i = 0; i < mapIndex; i++) if (!this.maps[i].internal) n++;
    return 8 * n;
  }

  /** A stack trace map for one kind and depth. */
  stackMap(kind: "kstack" | "ustack", depth: number): number {
    return this.#internalMap(`.stack${depth}`, {
      type: MapType.STACK_TRACE,
      keySize: 4,
      valueSize: 8 * depth,
      maxEntries: MAP_MAX_ENTRIES,
      key: { kind: "none", size: 0 },
    }) + (kind === "kstack" ? 0 : 0);
  }

  /** A per-CPU slot of `depth` addresses that `len(kstack)` reads into. */
  stackBuffer(depth: number): number {
    return this.#internalMap(`.stackbuf${depth}`, {
      type: MapType.PERCPU_ARRAY,
      keySize: 4,
      valueSize: 8 * depth,
      maxEntries: 1,
      key: { kind: "none", size: 0 },
    });
  }

  /** The one-slot array holding the start time for `elapsed`. */
  startMap(): number {
    return this.#internalMap(".start", {
      type: MapType.ARRAY,
      keySize: 4,
      valueSize: 8,
      maxEntries: 1,
      key: { kind: "none", size: 0 },
    });
  }

  /** Adds an event format; returns its id. */
  format(action: EventAction, args: SType[]): {
    id: number;
    layout: { offsets: number[]; size: number };
  } {
    const t = tupleOf(args);
    const layout = { offsets: t.offsets, size: t.size };
    const id = this.formats.length;
    this.formats.push({ id, action, layout });
    return { id, layout };
  }

  /** A TypeDesc for an event or value type. */
  desc(t: SType): TypeDesc {
    return toTypeDesc(t, (k, d) => this.stackMap(k, d));
  }
}
