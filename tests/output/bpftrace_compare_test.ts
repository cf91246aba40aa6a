/**
 * Byte-for-byte comparisons with the installed bpftrace 0.17: the same
 * operations run in real bpftrace (BEGIN program) and through our
 * simulated per-CPU maps → `decodeMap` → formatters. JSON is compared
 * after rewriting 0.17's where 0.26 (which tsbpf follows) changed it.
 */

import assert from "node:assert/strict";
import {
  formatExitMapsText,
  formatMapText,
  formatPrintValueText,
} from "../../runtime/output/text.ts";
import { formatTime } from "../../runtime/output/strftime.ts";
import {
  formatExitMapsJson,
  formatMapJson,
  formatMessageJson,
  formatPrintValueJson,
} from "../../runtime/output/json.ts";
import { formatPrintf } from "../../runtime/output/printf.ts";
import { formatInet } from "../../runtime/output/decode.ts";
import type { Value } from "../../runtime/output/types.ts";
import {
  bpftraceUnavailable,
  type Op,
  runBpftrace,
  Sim,
  statement,
} from "./reference_sim.ts";
import { json017As026 } from "./json_017_as_026.ts";

const reason = await bpftraceUnavailable();
if (reason) console.log(`Skipping bpftrace comparisons: ${reason}`);
const ignore = reason !== undefined;

const ATTACH_TEXT = "Attaching 1 probe...\n";
/** bpftrace 0.17's attach record as 0.26 writes it (see json017As026). */
const ATTACH_JSON =
  '{"type": "attached_probes", "count": 1, "data": {"probes": 1}}\n';

/** Scalar, stats and value maps with int, string and tuple keys. */
const SCALARS: Op[] = [
  { fn: "count", map: "@c", key: ["a"] },
  { fn: "count", map: "@c", key: ["b"] },
  { fn: "count", map: "@c", key: ["b"] },
  { fn: "count", map: "@c", key: ["ccc"] },
  { fn: "count", map: "@c", key: ["ccc"] },
  { fn: "count", map: "@c", key: ["ccc"] },
  { fn: "count", map: "@n" },
  { fn: "sum", map: "@sum", key: [1], v: -10 },
  { fn: "sum", map: "@sum", key: [2], v: 5000000000 },
  { fn: "sum", map: "@sum", key: [-3], v: 7 },
  { fn: "sum", map: "@total", v: -7 },
  { fn: "min", map: "@mn", key: [1, "x"], v: 10 },
  { fn: "min", map: "@mn", key: [1, "x"], v: 4 },
  { fn: "min", map: "@mn", key: [2, "y"], v: -3 },
  { fn: "min", map: "@mn", key: [2, "y"], v: 8 },
  { fn: "max", map: "@mx", key: [7], v: 3 },
  { fn: "max", map: "@mx", key: [7], v: 30 },
  { fn: "max", map: "@mx", key: [8], v: 5000000000 },
  { fn: "avg", map: "@avg", key: ["k1"], v: 10 },
  { fn: "avg", map: "@avg", key: ["k1"], v: 3 },
  { fn: "avg", map: "@avg", key: ["k2"], v: -5 },
  { fn: "avg", map: "@avg", key: ["k2"], v: 2 },
  { fn: "avg", map: "@avg1", v: 3 },
  { fn: "stats", map: "@st", v: 7 },
  { fn: "stats", map: "@st", v: 4 },
  { fn: "stats", map: "@stk", key: [3], v: -4 },
  { fn: "stats", map: "@stk", key: [4], v: 100 },
  { fn: "stats", map: "@stk", key: [4], v: 1 },
  { fn: "assign", map: "@v", v: -5 },
  { fn: "assign", map: "@big", v: 9007199254740993n },
  { fn: "assign", map: "@u", v: 9223372036854775807n },
  { fn: "assign", map: "@str", key: [3], v: "three" },
  { fn: "assign", map: "@str", key: [1], v: "one" },
  { fn: "assign", map: "@str", key: [2], v: "two" },
  { fn: "assign", map: "@tup", key: ["b"], v: [1, "two", [3, "four"]] },
  { fn: "assign", map: "@tup", key: ["a"], v: [5, "six", [7, "eight"]] },
];

/** Histograms: 0, 1, negatives, powers of two, large, under/overflow. */
const HISTS: Op[] = [
  ...[-5, 0, 0, 1, 2, 3, 1024, 3000, 1048576 * 3, 2147483648].map((v) => ({
    fn: "hist" as const,
    map: "@h",
    v,
  })),
  { fn: "hist", map: "@neg", v: -1 },
  { fn: "hist", map: "@hk", key: ["a"], v: 10 },
  { fn: "hist", map: "@hk", key: ["a"], v: 12 },
  { fn: "hist", map: "@hk", key: ["b"], v: 100 },
  // Equal totals: bpftrace orders them by key bytes (256 before 2).
  { fn: "hist", map: "@tie", key: [2], v: 5 },
  { fn: "hist", map: "@tie", key: [256], v: 6 },
  ...[-1, 5000, 2048, 2049, 1023].map((v) => ({
    fn: "lhist" as const,
    map: "@l",
    v,
    min: 0,
    max: 4096,
    step: 1024,
  })),
  { fn: "lhist", map: "@lm", v: 3, min: 0, max: 2097152, step: 1048576 },
  ...[3, 12, 12, 30, 29].map((v) => ({
    fn: "lhist" as const,
    map: "@l3",
    key: [1, "k"],
    v,
    min: 10,
    max: 30,
    step: 5,
  })),
  { fn: "lhist", map: "@l3", key: [2, "j"], v: 100, min: 10, max: 30, step: 5 },
];

/** Many values: varied bucket counts exercise the bar scaling. */
const DENSE: Op[] = Array.from({ length: 150 }, (_, i): Op[] => [
  { fn: "hist", map: "@sq", v: (i * i) % 5000 },
  { fn: "lhist", map: "@lin", v: (i * 7) % 130, min: 0, max: 120, step: 10 },
  { fn: "hist", map: "@by", key: [i % 3], v: i * 13 },
]).flat();

function program(ops: Op[], extra = ""): string {
  return `BEGIN { ${ops.map(statement).join(" ")} ${extra} exit(); }`;
}

function simulate(ops: Op[]): Sim {
  const sim = new Sim();
  for (const op of ops) sim.apply(op);
  return sim;
}

for (
  const [name, ops] of [
    ["scalar maps", SCALARS],
    ["histograms", HISTS],
    ["dense histograms", DENSE],
  ] as const
) {
  Deno.test({
    name: `text output of ${name} matches bpftrace 0.17`,
    ignore,
    async fn() {
      const real = await runBpftrace(program([...ops]));
      const ours = ATTACH_TEXT +
        formatExitMapsText(simulate([...ops]).decodeAll());
      assert.equal(ours, real);
    },
  });
  Deno.test({
    name: `JSON output of ${name} matches bpftrace 0.17`,
    ignore,
    async fn() {
      const real = json017As026(await runBpftrace(program([...ops]), true));
      const ours = ATTACH_JSON +
        formatExitMapsJson(simulate([...ops]).decodeAll());
      assert.equal(ours, real);
    },
  });
}

/** print(@map, top, div) on every aggregation kind, then empty maps. */
const PRINT_OPS: Op[] = [
  { fn: "sum", map: "@c", key: [1], v: 10 },
  { fn: "sum", map: "@c", key: [2], v: 25 },
  { fn: "sum", map: "@c", key: [3], v: -7 },
  { fn: "sum", map: "@c", key: [4], v: 100 },
  { fn: "hist", map: "@h", key: [1], v: 5 },
  { fn: "hist", map: "@h", key: [2], v: 5 },
  { fn: "hist", map: "@h", key: [2], v: 50 },
  { fn: "hist", map: "@h", key: [3], v: 1 },
  { fn: "hist", map: "@h", key: [3], v: 2 },
  { fn: "hist", map: "@h", key: [3], v: 3 },
  { fn: "stats", map: "@s", key: [1], v: 10 },
  { fn: "stats", map: "@s", key: [2], v: 20 },
  { fn: "avg", map: "@a", key: [1], v: 10 },
  { fn: "avg", map: "@a", key: [2], v: 20 },
  { fn: "avg", map: "@a", key: [3], v: 30 },
  { fn: "lhist", map: "@l", key: [1], v: 5, min: 0, max: 10, step: 1 },
  { fn: "lhist", map: "@l", key: [1], v: 5, min: 0, max: 10, step: 1 },
  { fn: "lhist", map: "@l", key: [2], v: 50, min: 0, max: 10, step: 1 },
  { fn: "min", map: "@m", key: [1], v: 10 },
  { fn: "min", map: "@m", key: [2], v: -4 },
  { fn: "max", map: "@x", key: [1], v: 10 },
  { fn: "max", map: "@x", key: [2], v: 30 },
];
const PRINTS: [string, number, number][] = [
  ["@c", 2, 3],
  ["@c", 0, 3],
  ["@c", 2, 0],
  ["@h", 2, 2],
  ["@a", 1, 3],
  ["@l", 1, 2],
  ["@m", 0, 3],
  ["@x", 1, 4],
  ["@s", 1, 2], // top and div are ignored for stats() maps
];

Deno.test({
  name: "print(@map, top, div) and cleared maps match bpftrace 0.17",
  ignore,
  async fn() {
    const prints = PRINTS.map(([m, t, d]) => `print(${m}, ${t}, ${d});`).join(
      " ",
    );
    const clears = [...new Set(PRINT_OPS.map((o) => o.map))]
      .map((m) => `clear(${m});`).join(" ");
    const prog = program(PRINT_OPS, prints + " " + clears);
    const sim = simulate(PRINT_OPS);
    const printed = PRINTS.map(([m, top, div]) =>
      formatMapText(sim.decode(m), { top, div })
    ).join("");
    const printedJson = PRINTS.map(([m, top, div]) =>
      formatMapJson(sim.decode(m), { top, div })
    ).join("");
    for (const m of sim.maps.keys()) sim.clear(m);
    assert.equal(
      ATTACH_TEXT + printed + formatExitMapsText(sim.decodeAll()),
      await runBpftrace(prog),
    );
    assert.equal(
      ATTACH_JSON + printedJson + formatExitMapsJson(sim.decodeAll()),
      json017As026(await runBpftrace(prog, true)),
    );
  },
});

/** printf cases: format, bpftrace argument expressions, our values. */
const PRINTFS: [string, string[], Value[]][] = [
  ["[%d] [%u] [%x] [%X] [%o]\\n", ["5000000000", "-1", "-1", "255", "8"], [
    5000000000,
    -1,
    -1,
    255,
    8,
  ]],
  ["[%ld] [%lu] [%lld] [%llu] [%lx] [%llX] [%lo]\\n", [
    "-1",
    "-1",
    "-1",
    "-1",
    "5000000000",
    "-1",
    "-1",
  ], [-1, -1, -1, -1, 5000000000, -1, -1]],
  ["[%5d] [%-5d|] [%05d] [%.3d] [%08.3d] [%-05d|] [%.0d]\\n", [
    "42",
    "42",
    "-42",
    "7",
    "5",
    "5",
    "0",
  ], [42, 42, -42, 7, 5, 5, 0]],
  ["[%hu] [%hhu] [%hd] [%hhd] [%hhx] [%zu] [%jd]\\n", [
    "70000",
    "300",
    "70000",
    "200",
    "-1",
    "5",
    "-5",
  ], [70000, 300, 70000, 200, -1, 5, -5]],
  ["[%c] [%5c] [%-3c|] [%p] [%p] [%10p] [%010p]\\n", [
    "65",
    "66",
    "67",
    "0",
    "4096",
    "255",
    "255",
  ], [65, 66, 67, 0, 4096, 255, 255]],
  ["[%ld] [%lu] [%ld] [%u] [%d]\\n", [
    "(int32)-1",
    "(int32)-1",
    "(uint32)-1",
    "(uint32)-1",
    "(int8)-1",
  ], [-1, -1, 4294967295, 4294967295, -1]],
  ["[%s] [%-8s|] [%8s] [%.3s] [%10.3s] [%05s]\\n", [
    '"hello"',
    '"ab"',
    '"ab"',
    '"abcdef"',
    '"abcdef"',
    '"ab"',
  ], ["hello", "ab", "ab", "abcdef", "abcdef", "ab"]],
  ["a%%b %d c%%d|%s %% %i\\n", ["5", "6", '"s"'], [5, 6, "s"]],
  ["100%% done\\n", [], []],
  ["[%s] [%16s|] [%s]\\n", [
    "ntop(0x0100007f)",
    "ntop(0x0100007f)",
    'ntop(pton("fe80::1:2"))',
  ], [
    formatInet(new Uint8Array([127, 0, 0, 1])),
    formatInet(new Uint8Array([127, 0, 0, 1])),
    formatInet(
      new Uint8Array([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]),
    ),
  ]],
  ["[%r] [%rx] [%s]\\n", [
    'buf("ab\\x01\\xff\\" \\n", 8)',
    'buf("a\\x01", 2)',
    '"q\\"\\t"',
  ], [
    {
      type: "buf",
      bytes: new Uint8Array([0x61, 0x62, 1, 0xff, 0x22, 0x20, 0x0a, 0]),
    },
    { type: "buf", bytes: new Uint8Array([0x61, 1]) },
    'q"\t',
  ]],
  // %rh: hex bytes separated by spaces; buffer specifiers with a flag,
  // width or precision print as their own text.
  ["[%rh] [%rh] [%10rh] [%-r] [%.2rx] [%0r]\\n", [
    'buf("ab\\x01\\xff", 4)',
    'buf("", 0)',
    'buf("ab", 2)',
    'buf("ab", 2)',
    'buf("ab", 2)',
    'buf("ab", 2)',
  ], [
    { type: "buf", bytes: new Uint8Array([0x61, 0x62, 1, 0xff]) },
    { type: "buf", bytes: new Uint8Array([]) },
    ...new Array(4).fill({ type: "buf", bytes: new Uint8Array([0x61, 0x62]) }),
  ]],
];

function unescape(s: string): string {
  return s.replaceAll("\\n", "\n");
}

Deno.test({
  name: "printf output matches bpftrace 0.17 (text and JSON)",
  ignore,
  async fn() {
    const body = PRINTFS.map(([f, a]) =>
      `printf("${f}"${a.map((x) => ", " + x).join("")});`
    ).join(" ");
    const prog = `BEGIN { ${body} exit(); }`;
    const lines = PRINTFS.map(([f, , v]) => formatPrintf(unescape(f), v));
    assert.equal(
      ATTACH_TEXT + lines.join("") + "\n\n",
      await runBpftrace(prog),
    );
    assert.equal(
      ATTACH_JSON + lines.map((l) => formatMessageJson("printf", l)).join(""),
      json017As026(await runBpftrace(prog, true)),
    );
  },
});

function v6(text: string): Uint8Array {
  // Minimal parser for the test addresses below ("a:b::c", "::ffff:1.2.3.4").
  let tail4: number[] = [];
  const m = text.match(/^(.*:)(\d+\.\d+\.\d+\.\d+)$/);
  if (m) {
    tail4 = m[2].split(".").map(Number);
    text = m[1] + "0:0";
  }
  const [head, rest] = text.includes("::")
    ? text.split("::")
    : [text, undefined];
  const hw = head ? head.split(":").map((h) => parseInt(h, 16)) : [];
  const tw = rest ? rest.split(":").map((h) => parseInt(h, 16)) : [];
  const words = rest === undefined
    ? hw
    : [...hw, ...new Array(8 - hw.length - tw.length).fill(0), ...tw];
  const b = new Uint8Array(16);
  words.forEach((w, i) => {
    b[2 * i] = w >> 8;
    b[2 * i + 1] = w & 0xff;
  });
  if (tail4.length) b.set(tail4, 12);
  return b;
}

const ADDRS = [
  "::",
  "::1",
  "1:0:0:2::3",
  "1:0:2:0:0:3:0:4",
  "2001:db8:0:0:1:0:0:1",
  "fe80::abcd:1",
];

Deno.test({
  name: "ntop, print(value) and time() match bpftrace 0.17",
  ignore,
  async fn() {
    const ntops = ADDRS.map((a) => `printf("%s\\n", ntop(pton("${a}")));`);
    const prog =
      `BEGIN { ${ntops.join(" ")} printf("%s\\n", ntop(0x0a0b0c0d)); ` +
      `print(-5); print("x\\ty"); print((1, "a", (2, "b"))); time("%Y-%m\\n"); exit(); }`;
    const lines = [
      ...ADDRS.map((a) => formatInet(v6(a)) + "\n"),
      formatInet(new Uint8Array([0x0d, 0x0c, 0x0b, 0x0a])) + "\n",
    ];
    const values: Value[] = [-5, "x\ty", [1, "a", [2, "b"]]];
    const time = formatTime("%Y-%m\n");
    assert.equal(
      await runBpftrace(prog),
      ATTACH_TEXT + lines.join("") + values.map(formatPrintValueText).join("") +
        time +
        "\n\n",
    );
    assert.equal(
      json017As026(await runBpftrace(prog, true)),
      ATTACH_JSON + lines.map((l) => formatMessageJson("printf", l)).join("") +
        values.map(formatPrintValueJson).join("") +
        formatMessageJson("time", time),
    );
  },
});
