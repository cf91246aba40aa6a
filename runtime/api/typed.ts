/**
 * The JavaScript types a session hands out for staged declarations: the
 * record of a typed event (`t.event<{ pid: U32; comm: Str }>("big")` reads
 * back as `{ pid: number; comm: string }`) and the key and value of a typed
 * map (`t.map<[U32, Str], "count">("drops")` reads back as a
 * `TraceMap<[number, string], number>`).
 *
 * Integers of 32 bits or fewer are always exactly representable, so they
 * are `number`; 64-bit integers (and pointers) are `number` when exactly
 * representable and `bigint` above 2^53, as the decoder makes them.
 *
 * @module
 */

import type { EventDecl, Shape } from "../staging/events.ts";
import type { IsAny, MapRef, MapValueKind } from "../staging/maps.ts";
import type {
  Buf,
  Inet,
  IntT,
  KeyType,
  KStack,
  Ksym,
  Str,
  Timestamp,
  Tuple,
  UStack,
  Usym,
  VType,
} from "../staging/types.ts";
import type {
  BufValue,
  HistBucket,
  Int,
  StackValue,
  Stats,
  Value,
} from "../output/types.ts";
import type { MapKey, MapValue } from "./map_view.ts";

/**
 * The value user space decodes for a staged value type `T`: `number` for
 * integers up to 32 bits, {@linkcode Int} (`number | bigint`) for 64-bit
 * integers and pointers, `string` for strings and resolved symbols,
 * arrays for tuples, {@linkcode StackValue} for stacks,
 * {@linkcode BufValue} for buffers.
 */
export type ApiValue<T> = IsAny<T> extends true ? Value
  : T extends IntT<boolean, 8 | 16 | 32> ? number
  : T extends IntT ? Int
  : T extends Str | Ksym | Usym | Inet | Timestamp ? string
  : T extends KStack | UStack ? StackValue
  : T extends Buf ? BufValue
  : T extends Tuple<infer E> ? { -readonly [I in keyof E]: ApiValue<E[I]> }
  : Value;

/** The record a session reads for an event of shape `S`. */
export type ApiRecord<S extends Shape> = IsAny<S> extends true
  ? Record<string, Value>
  : { -readonly [F in keyof S]: ApiValue<S[F]> };

/**
 * The key a session hands out for a map with key types `K` (as
 * {@linkcode MapKey}): `[]` without keys, the value itself for one key, an
 * array for several.
 */
export type ApiKey<K extends readonly KeyType[]> = IsAny<K> extends true
  ? MapKey
  : K extends readonly [] ? []
  : K extends readonly [infer A] ? ApiValue<A>
  : { -readonly [I in keyof K]: ApiValue<K[I]> };

/**
 * The value a session hands out for a map of value kind `V` (as
 * {@linkcode MapValue}): `number` for `count`, {@linkcode Int} for `sum`,
 * `min` and `max`, {@linkcode Stats} for `avg` and `stats`, bucket lists
 * for `hist` and `lhist`, the decoded value for plain maps.
 */
export type ApiMapValue<V extends MapValueKind> = IsAny<V> extends true
  ? MapValue
  : V extends "count" ? number
  : V extends "sum" | "min" | "max" ? Int
  : V extends "avg" | "stats" ? Stats
  : V extends "hist" | "lhist" ? HistBucket[]
  : V extends VType ? ApiValue<V>
  : MapValue;

/** The record type of a declared event: `RecordOf<typeof big>`. */
export type RecordOf<E> = E extends EventDecl<infer S> ? ApiRecord<S>
  : never;

/** The key type of a declared map: `KeyOf<typeof drops>`. */
export type KeyOf<M> = M extends MapRef<infer K, infer _V> ? ApiKey<K>
  : never;

/** The value type of a declared map: `ValueOf<typeof drops>`. */
export type ValueOf<M> = M extends MapRef<infer _K, infer V> ? ApiMapValue<V>
  : never;
