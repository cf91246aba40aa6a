import assert from "node:assert/strict";
import {
  formatAttachedProbesText,
  formatExitMapsText,
  formatHistRows,
  formatLostEventsText,
  formatMapText,
  formatPrintValueText,
  formatValueText,
  histLabel,
  lhistLabel,
} from "../../runtime/output/text.ts";
import { histBucketRange } from "../../runtime/output/decode.ts";
import type {
  HistBucket,
  MapData,
  StackValue,
} from "../../runtime/output/types.ts";

function hist(counts: Record<number, number | bigint>): HistBucket[] {
  const idx = Object.keys(counts).map(Number).sort((a, b) => a - b);
  const out: HistBucket[] = [];
  for (let i = idx[0]; i <= idx[idx.length - 1]; i++) {
    out.push({ index: i, ...histBucketRange(i), count: counts[i] ?? 0 });
  }
  return out;
}

Deno.test("hist labels: powers of two with K/M/G/T suffixes", () => {
  assert.equal(histLabel(0), "(..., 0)");
  assert.equal(histLabel(1), "[0]");
  assert.equal(histLabel(2), "[1]");
  assert.equal(histLabel(3), "[2, 4)");
  assert.equal(histLabel(11), "[512, 1K)");
  assert.equal(histLabel(22), "[1M, 2M)");
  assert.equal(histLabel(41), "[512G, 1T)");
  assert.equal(histLabel(64), "[4194304T, 8388608T)");
});

Deno.test("lhist labels: K and M multiples, under and overflow", () => {
  assert.equal(lhistLabel(0, 0, 100, 10), "(..., 0)");
  assert.equal(lhistLabel(1, 0, 100, 10), "[0, 10)");
  assert.equal(lhistLabel(11, 0, 100, 10), "[100, ...)");
  assert.equal(lhistLabel(3, 0, 4096, 1024), "[2K, 3K)");
  assert.equal(lhistLabel(2, 0, 4194304, 1048576), "[1M, 2M)");
  assert.equal(lhistLabel(1, 1000, 3000, 1000), "[1000, 2000)");
});

Deno.test("hist rows: 16-wide label, 8-wide count, bar scaled in float", () => {
  const rows = formatHistRows(hist({ 3: 3, 5: 7, 6: 1 }), histLabel);
  assert.equal(
    rows,
    "[2, 4)                 3 |@@@@@@@@@@@@@@@@@@@@@@                              |\n" +
      "[4, 8)                 0 |                                                    |\n" +
      "[8, 16)                7 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
      "[16, 32)               1 |@@@@@@@                                             |\n",
  );
  // Long labels and counts overflow their columns (iostream setw), with no
  // separating space, as in bpftrace.
  const wide = formatHistRows(hist({ 64: 123456789 }), histLabel);
  assert.equal(
    wide,
    "[4194304T, 8388608T)123456789 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n",
  );
  assert.equal(formatHistRows([], histLabel), "");
});

Deno.test("formatMapText: hist and lhist maps, keyed and keyless, with blank lines", () => {
  const h: MapData = {
    name: "@lat",
    keyed: true,
    kind: "hist",
    entries: [
      { key: ["b"], value: hist({ 4: 2 }) },
      { key: ["a"], value: hist({ 1: 1 }) },
    ],
  };
  assert.equal(
    formatMapText(h),
    "@lat[a]: \n" +
      "[0]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
      "\n" +
      "@lat[b]: \n" +
      "[4, 8)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
      "\n",
  );
  const l: MapData = {
    name: "@l",
    keyed: false,
    kind: "lhist",
    min: 0,
    max: 20,
    step: 10,
    entries: [{
      key: [],
      value: [
        { index: 0, max: -1, count: 1 },
        { index: 1, min: 0, max: 9, count: 0 },
        { index: 2, min: 10, max: 19, count: 0 },
        { index: 3, min: 20, count: 4 },
      ],
    }],
  };
  assert.equal(
    formatMapText(l, { div: 2 }), // lhist ignores div, as bpftrace
    "@l: \n" +
      "(..., 0)               1 |@@@@@@@@@@@@@                                       |\n" +
      "[0, 10)                0 |                                                    |\n" +
      "[10, 20)               0 |                                                    |\n" +
      "[20, ...)              4 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
      "\n",
  );
});

Deno.test("formatMapText: scalar maps, top and div, empty maps", () => {
  const c: MapData = {
    name: "@",
    keyed: true,
    kind: "sum",
    entries: [
      { key: [3, "x"], value: -7 },
      { key: [1, "y"], value: 100 },
      { key: [2, "z"], value: 2n ** 63n - 1n },
    ],
  };
  assert.equal(
    formatMapText(c),
    "@[3, x]: -7\n@[1, y]: 100\n@[2, z]: 9223372036854775807\n",
  );
  assert.equal(
    formatMapText(c, { top: 2, div: 10 }),
    "@[1, y]: 10\n@[2, z]: 922337203685477580\n",
  );
  assert.equal(formatMapText(c, { div: 3 }).split("\n")[0], "@[3, x]: -2");
  assert.equal(formatMapText({ ...c, entries: [] }), "\n");
  assert.equal(
    formatMapText({ name: "@s", keyed: false, kind: "stats", entries: [] }),
    "\n\n",
  );
});

Deno.test("formatMapText: stats ignores top/div, avg honours them", () => {
  const entries = [
    { key: [1], value: { count: 1, total: 10, average: 10 } },
    { key: [2], value: { count: 2, total: 40, average: 20 } },
  ];
  assert.equal(
    formatMapText({ name: "@s", keyed: true, kind: "stats", entries }, {
      top: 1,
      div: 2,
    }),
    "@s[1]: count 1, average 10, total 10\n@s[2]: count 2, average 20, total 40\n\n",
  );
  assert.equal(
    formatMapText({ name: "@a", keyed: true, kind: "avg", entries }, {
      top: 1,
      div: 3,
    }),
    "@a[2]: 6\n\n",
  );
});

Deno.test("formatMapText: stacks in keys (indent 4) and values (indent 8, no separator)", () => {
  const key: MapData = {
    name: "@",
    keyed: true,
    kind: "count",
    entries: [{
      key: [{
        type: "stack",
        kernel: true,
        frames: ["perf_syscall_enter+475", "do_syscall_64+527"],
      }],
      value: 1,
    }],
  };
  assert.equal(
    formatMapText(key),
    "@[\n    perf_syscall_enter+475\n    do_syscall_64+527\n]: 1\n",
  );
  const val: MapData = {
    name: "@ks",
    keyed: true,
    kind: "value",
    type: { kind: "kstack", size: 8, mapIndex: 0, depth: 2 },
    entries: [
      {
        key: [1],
        value: { type: "stack", kernel: true, frames: ["a+1", "b+2"] },
      },
      { key: [2], value: { type: "stack", kernel: true, frames: [] } },
    ],
  };
  assert.equal(
    formatMapText(val),
    // An empty stack (failed get_stackid) prints nothing, as bpftrace's.
    "@ks[1]: \n        a+1\n        b+2\n@ks[2]: \n",
  );
  // ksym values are joined without newlines too (bpftrace 0.17 quirk).
  assert.equal(
    formatMapText({
      name: "@x",
      keyed: true,
      kind: "value",
      type: { kind: "ksym", size: 8 },
      entries: [{ key: [1], value: "0" }, { key: [2], value: "0x1" }],
    }),
    "@x[1]: 0@x[2]: 0x1\n",
  );
});

Deno.test("formatMapText: an empty stack key prints as @e[] like bpftrace", () => {
  const empty: StackValue = { type: "stack", kernel: true, frames: [] };
  assert.equal(
    formatMapText({
      name: "@e",
      keyed: true,
      kind: "count",
      entries: [{ key: [empty], value: 12 }],
    }),
    "@e[]: 12\n",
  );
  assert.equal(
    formatMapText({
      name: "@p",
      keyed: true,
      kind: "count",
      entries: [{
        key: [{ ...empty, mode: "perf", addresses: [] }, 3],
        value: 1,
      }],
    }),
    "@p[, 3]: 1\n",
  );
  assert.equal(formatValueText({ ...empty, kernel: false }), "");
});

Deno.test("formatMapText: buffers, tuples and values", () => {
  assert.equal(
    formatMapText({
      name: "@b",
      keyed: false,
      kind: "value",
      entries: [{
        key: [],
        value: { type: "buf", bytes: new TextEncoder().encode('ab\x01"\\ \n') },
      }],
    }),
    '@b: ab\\x01"\\ \\x0a\n',
  );
  assert.equal(formatPrintValueText([1, "a", [2, "b"]]), "(1, a, (2, b))\n");
});

Deno.test("end-of-run output and status lines", () => {
  const maps: MapData[] = [
    {
      name: "@z",
      keyed: false,
      kind: "count",
      entries: [{ key: [], value: 1 }],
    },
    {
      name: "@a",
      keyed: false,
      kind: "avg",
      entries: [{ key: [], value: { count: 1, total: 3, average: 3 } }],
    },
    { name: "@m", keyed: true, kind: "count", entries: [] },
  ];
  assert.equal(formatExitMapsText(maps), "\n\n@a: 3\n\n\n@z: 1\n");
  assert.equal(formatAttachedProbesText(1), "Attached 1 probe\n");
  assert.equal(formatAttachedProbesText(0), "Attached 0 probes\n");
  assert.equal(formatLostEventsText(12), "Lost 12 events\n");
});

Deno.test("snapshot: a keyed latency histogram and a stats map", async (t) => {
  const lat: MapData = {
    name: "@usecs",
    keyed: true,
    kind: "hist",
    entries: [
      {
        key: ["bash"],
        value: hist({ 2: 1, 3: 5, 4: 17, 5: 40, 6: 22, 7: 9, 9: 1 }),
      },
      { key: ["sshd"], value: hist({ 12: 3, 13: 1, 20: 2 }) },
    ],
  };
  const st: MapData = {
    name: "@bytes",
    keyed: true,
    kind: "stats",
    entries: [
      {
        key: [1234, "nginx"],
        value: { count: 10, total: 40960, average: 4096 },
      },
      { key: [99, "curl"], value: { count: 3, total: 150, average: 50 } },
    ],
  };
  await t.assertSnapshot(formatMapText(lat) + formatMapText(st));
});
