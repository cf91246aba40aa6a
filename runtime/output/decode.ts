/**
 * Decoding raw engine data into plain values: single values by
 * {@linkcode TypeDesc}, whole maps (reduced over CPUs, grouped, sorted as
 * bpftrace sorts them) and ring-buffer event records.
 *
 * Value layouts this module expects (the contract with the code generator):
 *
 * - `count`, `sum`: one 64-bit integer per CPU, summed.
 * - `min`, `max` with `valueSize` 16: per CPU an i64 value then a u64 flag,
 *   non-zero once that CPU has stored a value; CPUs without the flag are
 *   ignored. With `valueSize` 8: bpftrace 0.17's convention: `max` stores the
 *   value, `min` stores `0xffffffff - value`, 0 means "unset" on a CPU.
 * - `avg`, `stats`: per CPU a u64 count then an i64 total, summed.
 * - `hist`, `lhist`: the key ends in a u64 bucket index; the value is a u64
 *   count per CPU, summed.
 * - `value`: the stored value decoded by its type; integers of per-CPU maps
 *   are summed, as bpftrace does.
 * - Keyless aggregations in a per-CPU array (u32 key: the hist/lhist bucket,
 *   else 0): every slot exists; one no CPU wrote (count or bucket count 0;
 *   `sum` (`valueSize` 16), `min`, `max`: the u64 flag after the value 0)
 *   is no entry, as in the hash map it stands for.
 *
 * @module
 */
export {
  decodeValue,
  formatInet,
  loadNumberNames,
  toInt,
  userName,
} from "./decode_value.ts";
export {
  decodeMap,
  finerRange,
  histBucketRange,
  lhistBucketRange,
  sortMapData,
} from "./decode_map.ts";
export { decodeEvent } from "./decode_event.ts";
