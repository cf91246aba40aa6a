/**
 * The plain data that decoding produces and the formatters consume.
 *
 * Decoding (`decode.ts`) turns raw engine bytes (map entries, ring-buffer
 * records) into these values; the text (`text.ts`) and JSON (`json.ts`)
 * formatters render them exactly as bpftrace 0.17 does. Everything here is
 * plain data: no classes, no methods, safe to hand to users of the
 * TypeScript API, to `structuredClone`, or to build by hand in tests.
 *
 * @module
 */

import type { EventAction, TypeDesc } from "../program.ts";

/**
 * An integer: a `number` when it is safely representable (|v| < 2^53),
 * otherwise a `bigint`.
 */
export type Int = number | bigint;

/** A resolved kernel or user stack (`kstack`, `ustack`). */
export interface StackValue {
  /** Tells a stack from the other values. */
  type: "stack";
  /** `true` for `kstack`, `false` for `ustack`. */
  kernel: boolean;
  /** Symbolized frames, innermost first, e.g. `"do_syscall_64+527"`. */
  frames: string[];
  /**
   * `"perf"` for `kstack(perf)`/`ustack(perf)`: printed one tab-indented
   * `address symbol` line per frame, as `perf script` does. `"raw"`
   * (`kstack(raw)`, `stack_mode = raw`): the frames are the addresses in
   * hexadecimal, printed one per line without indentation.
   */
  mode?: "perf" | "raw";
  /** The frames' instruction pointers, when known (perf mode prints them). */
  addresses?: bigint[];
}

/** A `buf()` value: raw bytes, printed with `\xNN` escapes. */
export interface BufValue {
  /** Tells a buffer from the other values. */
  type: "buf";
  /** The bytes. */
  bytes: Uint8Array;
}

/**
 * A record (0.26, `(a=1, b="x")`): its fields in declaration order, each a
 * name and a value. Text prints it `{ .a = 1, .b = x }`.
 */
export interface RecordValue {
  /** Tells a record from the other values. */
  type: "record";
  /** The fields, in order: `[name, value]`. */
  fields: [string, Value][];
  /**
   * Set for a C struct or union copied from memory (`print(*p)`, anonymous
   * members flattened): printed as bpftrace prints structs (`{.a=1}` in a
   * map key, `{ "a": 1 }` in JSON).
   */
  struct?: true;
}

/**
 * An integer array (0.26 `(uint8[4])x`): its elements in order. Text
 * prints it `[1,2,3,4]`.
 */
export interface ArrayValue {
  /** Tells an array from a tuple and the other values. */
  type: "array";
  /** The elements. */
  values: Value[];
}

/**
 * One decoded value.
 *
 * - integers: {@linkcode Int};
 * - `bool` values (0.26): `boolean`;
 * - typed pointers: their address as hex text (`"0x1000"`), as 0.26
 *   prints them; enums: their enumerator's name (the number when the
 *   value names none);
 * - records: {@linkcode RecordValue};
 * - integer arrays: {@linkcode ArrayValue};
 * - strings (`comm`, `str()`), resolved `ksym`/`usym` and `ntop` addresses:
 *   `string`;
 * - tuples: arrays of values;
 * - stacks: {@linkcode StackValue};
 * - buffers: {@linkcode BufValue};
 * - structs and unions: {@linkcode RecordValue};
 * - array members: {@linkcode ArrayValue}.
 */
export type Value =
  | Int
  | boolean
  | string
  | Value[]
  | StackValue
  | BufValue
  | RecordValue
  | ArrayValue;

/** `count`, `average` and `total` of an `avg()` or `stats()` entry. */
export interface Stats {
  /** Number of values aggregated. */
  count: Int;
  /** Sum of the values (signed). */
  total: Int;
  /** `total / count`, truncated toward zero as in C; 0 when count is 0. */
  average: Int;
}

/**
 * One bucket of a `hist()` or `lhist()` entry, with the inclusive value
 * range it counts (the same `min`/`max` bpftrace prints with `-f json`).
 */
export interface HistBucket {
  /**
   * The bucket index as stored in the map key. `hist`: 0 = negative values,
   * 1 = zero, 2 = one, i ≥ 3 = [2^(i-2), 2^(i-1)). `lhist`: 0 = below `min`,
   * 1..n = the linear buckets, n + 1 = at or above `max`.
   */
  index: number;
  /** Smallest value counted; absent for the "below" bucket (-infinity). */
  min?: Int;
  /** Largest value counted; absent for the "above" bucket (+infinity). */
  max?: Int;
  /** Events counted in this bucket (summed over CPUs). */
  count: Int;
  /**
   * The sum of the values counted in this bucket, when the program keeps
   * it (compiled with `histSums`, as for metrics export).
   */
  sum?: Int;
}

/** One entry of a map: its key values (empty for a keyless map) and value. */
export interface MapEntry<V> {
  /** The key, one element per key expression (`@x[pid, comm]` gives 2). */
  key: Value[];
  /** The value stored under the key. */
  value: V;
}

/** Fields common to every {@linkcode MapData} variant. */
export interface MapDataBase {
  /** The map's name with its `@`, e.g. `"@bytes"`, or `"@"`. */
  name: string;
  /** Whether the map has keys (`@x[k]`) or not (`@x`). */
  keyed: boolean;
  /**
   * Updates the map refused since the session started because it held its
   * limit of keys (`max_map_keys`); absent when none was refused. Read
   * from a running session (exporters publish it as a map-full count).
   */
  lostUpdates?: number;
}

/** A `count()`, `sum()`, `min()` or `max()` map: one integer per key. */
export interface ScalarMapData extends MapDataBase {
  /** The aggregation. */
  kind: "count" | "sum" | "min" | "max";
  /** The entries, in the map's order. */
  entries: MapEntry<Int>[];
}

/** An `avg()` or `stats()` map. */
export interface StatsMapData extends MapDataBase {
  /** The aggregation. */
  kind: "avg" | "stats";
  /** The entries, in the map's order. */
  entries: MapEntry<Stats>[];
}

/**
 * A `hist()` map. Each entry's buckets run from the first to the last
 * non-empty bucket, with the empty ones in between (as bpftrace prints);
 * an all-zero entry has no buckets.
 */
export interface HistMapData extends MapDataBase {
  /** The aggregation. */
  kind: "hist";
  /** `hist(n, k)`: 2^k buckets per power of 2 (absent: 0). */
  bits?: number;
  /** The entries, in the map's order. */
  entries: MapEntry<HistBucket[]>[];
}

/** An `lhist(value, min, max, step)` map; buckets as in `HistMapData`. */
export interface LhistMapData extends MapDataBase {
  /** The aggregation. */
  kind: "lhist";
  /** The `min` argument: the first bucket's lower bound. */
  min: number;
  /** The `max` argument: values from here on count in the last bucket. */
  max: number;
  /** The `step` argument: each bucket's width. */
  step: number;
  /** The entries, in the map's order. */
  entries: MapEntry<HistBucket[]>[];
}

/** A map holding plain assigned values (`@x[k] = expr`). */
export interface ValueMapData extends MapDataBase {
  /** Plain values, no aggregation. */
  kind: "value";
  /**
   * The stored type. The text format uses it where bpftrace does: entries of
   * `ksym`, `usym`, `kstack`, `ustack` and `inet` maps are printed without a
   * separating newline, as bpftrace 0.17 does.
   */
  type?: TypeDesc;
  /** The entries, in the map's order. */
  entries: MapEntry<Value>[];
}

/** One interval of a time series: when it started, and its value. */
export interface TseriesPoint {
  /** Wall-clock start of the interval, in ns since the Unix epoch. */
  start: bigint;
  /** The interval's value; null when nothing was recorded in it. */
  value: Int | null;
}

/**
 * A `tseries()` map (0.26): per key, the intervals from its first within
 * the last `num` to the latest (values null where nothing was recorded).
 */
export interface TseriesMapData extends MapDataBase {
  /** The aggregation. */
  kind: "tseries";
  /** The entries, in key order. */
  entries: MapEntry<TseriesPoint[]>[];
}

/** A whole map, decoded and reduced over CPUs; see the variants. */
export type MapData =
  | ScalarMapData
  | StatsMapData
  | HistMapData
  | LhistMapData
  | TseriesMapData
  | ValueMapData;

/** The kind of a {@linkcode MapData}. */
export type MapKind = MapData["kind"];

/** A decoded ring-buffer record: which action and its argument values. */
export interface DecodedEvent {
  /** Index in `Program.formats`. */
  id: number;
  /** What the record asks user space to do. */
  action: EventAction;
  /** Argument values in order (empty for actions without arguments). */
  args: Value[];
}

/**
 * Resolves addresses and stack ids to symbols. The session provides one
 * (backed by /proc/kallsyms, ELF symbol tables and the stack-trace maps);
 * without one, addresses print as hexadecimal and stacks are empty.
 */
export interface SymbolResolver {
  /** Kernel symbol for an address, e.g. `"do_sys_open"`. */
  ksym(addr: bigint): string;
  /** User symbol for an address in process `pid`. */
  usym(addr: bigint, pid?: number): string;
  /**
   * Frames of stack `id` in stack-trace map `mapIndex` (index into
   * `Program.maps`), innermost first, symbolized with offsets as bpftrace
   * prints them (`"func+12"`); `[]` if the id is unknown.
   */
  stack(
    mapIndex: number,
    id: number,
    kernel: boolean,
    pid?: number,
  ): string[];
  /**
   * The instruction pointers of stack `id` (the frames `stack()` names, in
   * the same order), for stacks printed in perf mode. Optional: without it
   * perf-mode frames print without their addresses.
   */
  stackAddresses?(mapIndex: number, id: number): bigint[];
  /**
   * The path of the object (executable or library) mapped at `addr` in
   * process `pid`, if known; perf-mode user stacks print it after each
   * frame (`"(/usr/lib/libc.so.6)"`, `"([unknown])"` when unknown).
   * Optional: without it (or `stackAddresses`) frames print without it.
   */
  userModule?(addr: bigint, pid?: number): string | undefined;
  /**
   * The user name of `uid` (`username`). Optional: without it the host's
   * /etc/passwd is read, and an unknown uid prints as `""`.
   */
  username?(uid: number): string;
  /**
   * The engine's boot time in nanoseconds since the Unix epoch: the
   * wall-clock time at which its boot clock (`nsecs`,
   * `bpf_ktime_get_boot_ns`) read zero. `strftime()` timestamps add it.
   * Optional: without it the host's boot time is used
   * (`hostBootTimeNs()` in `boot_time.ts`), which suits the kernel; an
   * engine with a clock of its own (the interpreter's synthetic one) may
   * give the wall-clock time its clock started at instead.
   */
  bootTimeNs?(): bigint;
  /**
   * `str_trunc_trailer`: strings of `size` bytes that fill it (the last
   * byte the NUL, none before) were likely cut and print with `text`
   * after them, as bpftrace 0.26 marks truncated strings.
   */
  strTruncTrailer?: { size: number; text: string };
  /**
   * Enums as their numbers, not their enumerators' names: 0.26's JSON
   * output (names only where `printf("%s")` asks for them).
   */
  enumNumbers?: boolean;
}
