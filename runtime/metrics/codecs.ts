/**
 * The npm-backed encoders of remote write: a protobuf `WriteRequest`
 * (protobufjs' minimal writer) and snappy's block format (snappyjs). Never
 * imported by a literal specifier (see `remote_write.ts`), so Deno fetches
 * the packages only when remote write runs.
 *
 * @module
 */

// An inline npm: specifier, not a deno.json import: Deno installs every
// import deno.json lists on each run, also where the registry is unreachable.
// deno-lint-ignore no-import-prefix
import protobuf from "npm:protobufjs@8.8.1/minimal.js";
// deno-lint-ignore no-import-prefix
import { compress as snappy } from "npm:snappyjs@0.7.0";
import type { Series } from "./series.ts";

/**
 * Encodes series as a remote-write 1.0 `WriteRequest` (prometheus.proto:
 * `WriteRequest{repeated TimeSeries timeseries = 1}`, `TimeSeries{repeated
 * Label labels = 1; repeated Sample samples = 2}`, `Label{string name = 1;
 * string value = 2}`, `Sample{double value = 1; int64 timestamp = 2}`),
 * every sample at `timestampMs`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeWriteRequest } from "./codecs.ts";
 *
 * const bytes = encodeWriteRequest([{ labels: [["__name__", "up"]], value: 1 }], 1000);
 * assert.equal(bytes[0], 0x0a); // field 1, length-delimited
 * ```
 */
export function encodeWriteRequest(
  series: Series[],
  timestampMs: number,
): Uint8Array {
  const w = protobuf.Writer.create();
  for (const s of series) {
    w.uint32((1 << 3) | 2).fork();
    for (const [name, value] of s.labels) {
      w.uint32((1 << 3) | 2).fork();
      w.uint32((1 << 3) | 2).string(name);
      w.uint32((2 << 3) | 2).string(value);
      w.ldelim();
    }
    w.uint32((2 << 3) | 2).fork();
    w.uint32((1 << 3) | 1).double(s.value);
    w.uint32((2 << 3) | 0).int64(timestampMs);
    w.ldelim();
    w.ldelim();
  }
  const b = w.finish();
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Compresses bytes with snappy's block format, as remote write's
 * `Content-Encoding: snappy` wants.
 *
 * @example Round size
 * ```ts
 * import { compress } from "./codecs.ts";
 *
 * const packed = compress(new Uint8Array(1000));
 * console.assert(packed.length < 100);
 * ```
 */
export function compress(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(snappy(bytes));
}
