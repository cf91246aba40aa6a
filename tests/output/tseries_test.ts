/**
 * `tseries()` output checked against bpftrace v0.26.1's runtime tests
 * (tests/runtime/outputs/tseries_zigzag.txt, tseries_multiple.txt): the
 * chart's rows after the time column, the range lines, missing intervals
 * and the JSON shape.
 */

import assert from "node:assert/strict";
import {
  formatTseriesJson,
  formatTseriesText,
  type TseriesPoint,
} from "../../runtime/output/tseries.ts";

const MS = 1_000_000n;

function points(values: (number | null)[], from = 100n): TseriesPoint[] {
  return values.map((value, i) => ({
    start: (from + BigInt(i) * 100n) * MS,
    value,
  }));
}

Deno.test("tseries text: a zigzag through zero, as bpftrace 0.26 draws it", () => {
  const zig = [
    -5,
    -4,
    -3,
    -2,
    -1,
    0,
    1,
    2,
    3,
    4,
    5,
    4,
    3,
    2,
    1,
    0,
    -1,
    -2,
    -3,
    -4,
  ];
  const lines = formatTseriesText(points(zig)).split("\n");
  // Time column: hh:mm:ss.ms and a space (13 characters).
  assert.equal(lines[0], " ".repeat(13) + "-5" + " ".repeat(50) + "5");
  assert.equal(lines[1], "hh:mm:ss.ms  |" + "_".repeat(51) + "|");
  assert.deepEqual(lines.slice(2, 22).map((l) => l.slice(13)), [
    "*                         .                         | -5",
    "|    *                    .                         | -4",
    "|         *               .                         | -3",
    "|              *          .                         | -2",
    "|                   *     .                         | -1",
    "|                         *                         | 0",
    "|                         .    *                    | 1",
    "|                         .         *               | 2",
    "|                         .              *          | 3",
    "|                         .                   *     | 4",
    "|                         .                         * 5",
    "|                         .                   *     | 4",
    "|                         .              *          | 3",
    "|                         .         *               | 2",
    "|                         .    *                    | 1",
    "|                         *                         | 0",
    "|                   *     .                         | -1",
    "|              *          .                         | -2",
    "|         *               .                         | -3",
    "|    *                    .                         | -4",
  ]);
  for (const l of lines.slice(2, 22)) {
    assert.match(l, /^\d\d:\d\d:\d\d\.\d{3} /);
  }
  assert.equal(lines[22], " ".repeat(13) + "v" + "_".repeat(51) + "v");
  assert.equal(lines[23], lines[0]);
});

Deno.test("tseries text: missing intervals print -, one value widens the range", () => {
  const lines = formatTseriesText(points([0, 5, 5, null, null], 0n)).split(
    "\n",
  );
  assert.deepEqual(lines.slice(2, 7).map((l) => l.slice(13)), [
    "*                                                   | 0",
    "|                                                   * 5",
    "|                                                   * 5",
    "|                                                   | -",
    "|                                                   | -",
  ]);
  const flat = formatTseriesText(points([4, 4], 500n)).split("\n");
  assert.equal(flat[0], " ".repeat(13) + "3" + " ".repeat(51) + "5");
  assert.equal(
    flat[2].slice(13),
    "|                         *                         | 4",
  );
});

Deno.test("tseries JSON: recorded intervals with their start", () => {
  const json = formatTseriesJson(points([9, null, 7], 500n));
  const parsed = JSON.parse(json) as {
    interval_start: string;
    value: number;
  }[];
  assert.deepEqual(parsed.map((p) => p.value), [9, 7]);
  for (const p of parsed) {
    assert.match(p.interval_start, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9}$/);
  }
  assert.match(parsed[0].interval_start, /\.500000000$/);
});
