import assert from "node:assert/strict";
import {
  formatAttachedProbesJson,
  formatExitMapsJson,
  formatLostEventsJson,
  formatMapJson,
  formatMessageJson,
  formatPrintValueJson,
  formatValueJson,
  jsonEscape,
} from "../../runtime/output/json.ts";
import { histBucketRange } from "../../runtime/output/decode.ts";
import type { MapData } from "../../runtime/output/types.ts";

Deno.test("jsonEscape: bpftrace's escapes, including its signed-char quirk", () => {
  assert.equal(
    jsonEscape('q"b\\s\n\r\t\x01\x1f\x7f'),
    'q\\"b\\\\s\\n\\r\\t\\u0001\\u001f\x7f',
  );
  assert.equal(jsonEscape("é"), "\\uffffffc3\\uffffffa9");
});

Deno.test("formatValueJson: ints bare (quoted beyond a double), strings quoted, tuples compact, bool, null, records", () => {
  assert.equal(formatValueJson(-5), "-5");
  assert.equal(formatValueJson(2n ** 53n), "9007199254740992");
  assert.equal(formatValueJson(2n ** 53n + 1n), '"9007199254740993"');
  assert.equal(formatValueJson(2n ** 64n - 1n), '"18446744073709551615"');
  // bpftrace 0.26's tests/runtime/json-output: record, bool, none.
  assert.equal(
    formatValueJson({
      type: "record",
      fields: [["a", 0], ["b", 1], ["c", "str"], ["d", [5, 6]], ["e", {
        type: "record",
        fields: [["x", 1], ["y", 2]],
      }]],
    }),
    '{"a": 0, "b": 1, "c": "str", "d": [5,6], "e": {"x": 1, "y": 2}}',
  );
  assert.equal(formatValueJson([true, false]), "[true,false]");
  assert.equal(
    formatValueJson({ type: "record", fields: [["i", 5], ["f", null]] }),
    '{"i": 5, "f": null}',
  );
  assert.equal(formatValueJson([1, "a", [2, "b"]]), '[1,"a",[2,"b"]]');
  assert.equal(
    formatValueJson({ type: "stack", kernel: true, frames: ["f+1"] }),
    '"\\n        f+1\\n"',
  );
  assert.equal(
    formatValueJson({ type: "buf", bytes: new Uint8Array([0x22, 1]) }),
    '"\\"\\\\x01"',
  );
});

Deno.test("formatMapJson: map, stats and hist lines", () => {
  const st: MapData = {
    name: "@s",
    keyed: true,
    kind: "stats",
    entries: [{ key: [3], value: { count: 1, average: -4, total: -4 } }],
  };
  assert.equal(
    formatMapJson(st),
    '{"type": "stats", "data": {"@s": {"3": {"count": 1, "average": -4, "total": -4}}}}\n',
  );
  const av: MapData = {
    ...st,
    name: "@a",
    kind: "avg",
    keyed: false,
    entries: [{ key: [], value: { count: 2, total: 7, average: 3 } }],
  };
  assert.equal(formatMapJson(av), '{"type": "stats", "data": {"@a": 3}}\n');
  const h: MapData = {
    name: "@h",
    keyed: true,
    kind: "hist",
    entries: [
      { key: [1, "x"], value: [{ index: 0, ...histBucketRange(0), count: 4 }] },
      {
        key: [2, "y"],
        value: [{ index: 33, ...histBucketRange(33), count: 5 }, {
          index: 34,
          ...histBucketRange(34),
          count: 5,
        }],
      },
    ],
  };
  assert.equal(
    formatMapJson(h, { div: 2 }),
    '{"type": "hist", "data": {"@h": {"1,x": [{"max": -1, "count": 2}], ' +
      '"2,y": [{"min": 2147483648, "max": 4294967295, "count": 2},{"min": 4294967296, "max": 8589934591, "count": 2}]}}}\n',
  );
  assert.equal(formatMapJson({ ...h, entries: [] }), "");
  assert.equal(
    formatMapJson({
      name: "@t",
      keyed: true,
      kind: "value",
      entries: [{ key: [1], value: [1, "two"] }],
    }),
    '{"type": "map", "data": {"@t": {"1": [1,"two"]}}}\n',
  );
});

Deno.test("JSON messages and end-of-run output", () => {
  assert.equal(
    formatMessageJson("time", "01:02:03\n"),
    '{"type": "time", "data": "01:02:03\\n"}\n',
  );
  assert.equal(
    formatMessageJson("syscall", "x"),
    '{"type": "syscall", "data": "x"}\n',
  );
  assert.equal(
    formatPrintValueJson([1, "a"]),
    '{"type": "value", "data": [1,"a"]}\n',
  );
  assert.equal(
    formatAttachedProbesJson(1),
    '{"type": "attached_probes", "count": 1, "data": {"probes": 1}}\n',
  );
  assert.equal(
    formatLostEventsJson(0),
    '{"type": "lost_events", "count": 0, "data": {"events": 0}}\n',
  );
  assert.equal(
    formatExitMapsJson([
      {
        name: "@b",
        keyed: false,
        kind: "count",
        entries: [{ key: [], value: 2 }],
      },
      { name: "@a", keyed: true, kind: "count", entries: [] },
    ]),
    '{"type": "map", "data": {"@b": 2}}\n',
  );
});

Deno.test("snapshot: JSON lines for a keyed lhist and a tuple-keyed count map", async (t) => {
  const l: MapData = {
    name: "@sizes",
    keyed: true,
    kind: "lhist",
    min: 0,
    max: 4096,
    step: 1024,
    entries: [{
      key: ["read"],
      value: [
        { index: 0, max: -1, count: 1 },
        { index: 1, min: 0, max: 1023, count: 12 },
        { index: 2, min: 1024, max: 2047, count: 0 },
        { index: 3, min: 2048, max: 3071, count: 3 },
      ],
    }],
  };
  const c: MapData = {
    name: "@calls",
    keyed: true,
    kind: "count",
    entries: [
      { key: [1234, "nginx"], value: 40 },
      { key: [1, 'sys"temd'], value: 2 },
    ],
  };
  await t.assertSnapshot(formatMapJson(l) + formatMapJson(c, { top: 1 }));
});
