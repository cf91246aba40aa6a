import assert from "node:assert/strict";
import {
  decodeEvent,
  decodeMap,
  decodeValue,
  formatInet,
  histBucketRange,
  lhistBucketRange,
  sortMapData,
} from "../../runtime/output/decode.ts";
import type { MapSpec, Program, TypeDesc } from "../../runtime/program.ts";
import type { SymbolResolver } from "../../runtime/output/types.ts";
import { formatValueText } from "../../runtime/output/text.ts";
import { formatValueJson } from "../../runtime/output/json.ts";

const U64: TypeDesc = { kind: "int", size: 8, signed: false };
const I64: TypeDesc = { kind: "int", size: 8, signed: true };

function u64s(...vals: (number | bigint)[]): Uint8Array {
  const b = new Uint8Array(vals.length * 8);
  const dv = new DataView(b.buffer);
  vals.forEach((v, i) =>
    dv.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(v)), true)
  );
  return b;
}

function spec(over: Partial<MapSpec>): MapSpec {
  return {
    name: "@m",
    type: 5,
    keySize: 8,
    valueSize: 8,
    maxEntries: 64,
    key: U64,
    internal: false,
    ...over,
  };
}

/** A table-driven resolver standing in for /proc/kallsyms and stack maps. */
const resolver: SymbolResolver = {
  ksym: (a) => a === 0xffff0010n ? "do_sys_open" : "0x" + a.toString(16),
  usym: (a, pid) => `u${a}@${pid ?? "-"}`,
  stack: (
    map,
    id,
    kernel,
    pid,
  ) => [`f${map}.${id}.${kernel}.${pid}`, "g+1", "h+2"],
};

Deno.test("decodeValue: integer sizes, signedness and bigint threshold", () => {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setInt8(0, -2);
  dv.setInt16(2, -300, true);
  dv.setInt32(4, -70000, true);
  dv.setBigInt64(8, -(2n ** 53n), true);
  assert.equal(decodeValue(b, 0, { kind: "int", size: 1, signed: true }), -2);
  assert.equal(decodeValue(b, 0, { kind: "int", size: 1, signed: false }), 254);
  assert.equal(decodeValue(b, 2, { kind: "int", size: 2, signed: true }), -300);
  assert.equal(
    decodeValue(b, 4, { kind: "int", size: 4, signed: true }),
    -70000,
  );
  assert.equal(decodeValue(b, 8, I64), -(2n ** 53n));
  dv.setBigInt64(8, 2n ** 53n - 1n, true);
  assert.equal(decodeValue(b, 8, I64), 2 ** 53 - 1);
  dv.setBigInt64(8, -1n, true);
  assert.equal(decodeValue(b, 8, U64), 2n ** 64n - 1n);
});

Deno.test("decodeValue: strings stop at NUL or their size", () => {
  const b = new TextEncoder().encode("abc\0def");
  assert.equal(decodeValue(b, 0, { kind: "string", size: 7 }), "abc");
  assert.equal(decodeValue(b, 4, { kind: "string", size: 2 }), "de");
  assert.equal(
    decodeValue(new TextEncoder().encode("é!"), 0, { kind: "string", size: 8 }),
    "é!",
  );
});

Deno.test("decodeValue: symbols, stacks, buffers, inet", () => {
  assert.equal(
    decodeValue(u64s(0xffff0010), 0, { kind: "ksym", size: 8 }, resolver),
    "do_sys_open",
  );
  assert.equal(decodeValue(u64s(0x10), 0, { kind: "ksym", size: 8 }), "0x10");
  assert.equal(decodeValue(u64s(0), 0, { kind: "usym", size: 8 }), "0");
  assert.deepEqual(
    decodeValue(
      u64s(7),
      0,
      { kind: "kstack", size: 8, mapIndex: 3, depth: 2 },
      resolver,
    ),
    { type: "stack", kernel: true, frames: ["f3.7.true.undefined", "g+1"] },
  );
  assert.deepEqual(
    decodeValue(u64s((42n << 32n) | 9n), 0, {
      kind: "ustack",
      size: 8,
      mapIndex: 4,
      depth: 127,
    }, resolver),
    { type: "stack", kernel: false, frames: ["f4.9.false.42", "g+1", "h+2"] },
  );
  // A negative id (failed bpf_get_stackid) gives an empty stack.
  assert.deepEqual(
    decodeValue(u64s(-14), 0, {
      kind: "kstack",
      size: 8,
      mapIndex: 3,
      depth: 2,
    }, resolver),
    { type: "stack", kernel: true, frames: [] },
  );
  const buf = new Uint8Array([3, 0x61, 0, 0xff, 9, 9]);
  assert.deepEqual(decodeValue(buf, 0, { kind: "buf", size: 6 }), {
    type: "buf",
    bytes: new Uint8Array([0x61, 0, 0xff]),
  });
  const inet = new Uint8Array(24);
  new DataView(inet.buffer).setBigUint64(0, 2n, true);
  inet.set([10, 1, 2, 3], 8);
  assert.equal(decodeValue(inet, 0, { kind: "inet", size: 24 }), "10.1.2.3");
  new DataView(inet.buffer).setBigUint64(0, 10n, true);
  inet.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 8);
  assert.equal(decodeValue(inet, 0, { kind: "inet", size: 24 }), "2001:db8::1");
});

Deno.test("formatInet follows inet_ntop's IPv6 rules", () => {
  const v6 = (...w: number[]) => {
    const b = new Uint8Array(16);
    w.forEach((x, i) => {
      b[2 * i] = x >> 8;
      b[2 * i + 1] = x & 0xff;
    });
    return b;
  };
  assert.equal(formatInet(v6(0, 0, 0, 0, 0, 0, 0, 0)), "::");
  assert.equal(formatInet(v6(0xfe80, 0, 0, 0, 0, 0, 1, 2)), "fe80::1:2");
  assert.equal(formatInet(v6(1, 0, 2, 0, 0, 3, 0, 4)), "1:0:2::3:0:4");
  assert.equal(formatInet(v6(1, 0, 0, 2, 0, 0, 0, 3)), "1:0:0:2::3");
  assert.equal(formatInet(v6(1, 2, 3, 4, 5, 6, 7, 0)), "1:2:3:4:5:6:7:0");
  assert.equal(
    formatInet(v6(0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001)),
    "::ffff:10.0.0.1",
  );
});

Deno.test("decodeMap reduces count and sum over CPUs and sorts by value", () => {
  const count = decodeMap(spec({ agg: { kind: "count" } }), [
    { key: u64s(1), values: [u64s(2), u64s(3)] },
    { key: u64s(2), values: [u64s(0), u64s(1)] },
  ]);
  assert.deepEqual(count, {
    name: "@m",
    keyed: true,
    kind: "count",
    entries: [{ key: [2], value: 1 }, { key: [1], value: 5 }],
  });
  const sum = decodeMap(
    spec({ agg: { kind: "sum" }, key: { kind: "none", size: 0 } }),
    [
      { key: u64s(0), values: [u64s(-10), u64s(3)] },
    ],
  );
  assert.deepEqual(sum.entries, [{ key: [], value: -7 }]);
  const usum = decodeMap(spec({ agg: { kind: "sum", signed: false } }), [
    { key: u64s(0), values: [u64s(-10), u64s(3)] },
  ]);
  assert.deepEqual(usum.entries[0].value, 2n ** 64n - 7n);
});

Deno.test("decodeMap min/max: 16-byte value+flag layout ignores unset CPUs", () => {
  const m = (kind: "min" | "max") =>
    decodeMap(spec({ agg: { kind }, valueSize: 16 }), [
      { key: u64s(1), values: [u64s(5, 1), u64s(0, 0), u64s(-3, 1)] },
      { key: u64s(2), values: [u64s(0, 0), u64s(9, 1)] },
    ]).entries;
  assert.deepEqual(m("min"), [{ key: [1], value: -3 }, { key: [2], value: 9 }]);
  assert.deepEqual(m("max"), [{ key: [1], value: 5 }, { key: [2], value: 9 }]);
});

Deno.test("decodeMap min/max: bpftrace 0.17 8-byte convention", () => {
  // min stores 0xffffffff - v; the largest stored value wins; 0 = unset.
  const min = decodeMap(spec({ agg: { kind: "min" } }), [
    { key: u64s(1), values: [u64s(0xffffffff - 5), u64s(0)] },
    { key: u64s(2), values: [u64s(0xffffffffn + 3n), u64s(0xffffffff - 8)] },
  ]);
  assert.deepEqual(min.entries, [{ key: [2], value: -3 }, {
    key: [1],
    value: 5,
  }]);
  const max = decodeMap(spec({ agg: { kind: "max" } }), [
    { key: u64s(1), values: [u64s(7), u64s(5000000000)] },
  ]);
  assert.deepEqual(max.entries, [{ key: [1], value: 5000000000 }]);
});

Deno.test("decodeMap avg/stats: sums count and total, C-truncated average", () => {
  const s = decodeMap(spec({ agg: { kind: "avg" }, valueSize: 16 }), [
    { key: u64s(2), values: [u64s(1, -5), u64s(1, 2)] },
    { key: u64s(1), values: [u64s(2, 13), u64s(0, 0)] },
    { key: u64s(3), values: [u64s(0, 0), u64s(0, 0)] },
  ]);
  assert.deepEqual(s.entries, [
    { key: [2], value: { count: 2, total: -3, average: -1 } },
    { key: [3], value: { count: 0, total: 0, average: 0 } },
    { key: [1], value: { count: 2, total: 13, average: 6 } },
  ]);
});

Deno.test("decodeMap hist: groups by key prefix, dense buckets, true bounds", () => {
  const key = (k: number, b: number) => u64s(k, b);
  const h = decodeMap(spec({ agg: { kind: "hist" }, keySize: 16 }), [
    { key: key(1, 3), values: [u64s(1), u64s(1)] },
    { key: key(1, 6), values: [u64s(0), u64s(4)] },
    { key: key(2, 64), values: [u64s(1), u64s(0)] },
    { key: key(2, 10), values: [u64s(0), u64s(0)] },
  ]);
  assert.equal(h.kind, "hist");
  assert.deepEqual(h.entries, [
    {
      key: [2],
      value: [{ index: 64, min: 2n ** 62n, max: 2n ** 63n - 1n, count: 1 }],
    },
    {
      key: [1],
      value: [
        { index: 3, min: 2, max: 3, count: 2 },
        { index: 4, min: 4, max: 7, count: 0 },
        { index: 5, min: 8, max: 15, count: 0 },
        { index: 6, min: 16, max: 31, count: 4 },
      ],
    },
  ]);
  assert.deepEqual(histBucketRange(0), { max: -1 });
  assert.deepEqual(histBucketRange(1), { min: 0, max: 0 });
  assert.deepEqual(histBucketRange(2), { min: 1, max: 1 });
});

Deno.test("decodeMap lhist: keyless map, under/overflow buckets", () => {
  const l = decodeMap(
    spec({
      agg: { kind: "lhist", min: 0, max: 100, step: 10 },
      key: { kind: "none", size: 0 },
      keySize: 16,
    }),
    [
      { key: u64s(0, 0), values: [u64s(1)] },
      { key: u64s(0, 11), values: [u64s(2)] },
    ],
  );
  assert.equal(l.kind, "lhist");
  if (l.kind !== "lhist") return;
  assert.deepEqual([l.min, l.max, l.step], [0, 100, 10]);
  assert.equal(l.entries[0].value.length, 12);
  assert.deepEqual(l.entries[0].value[0], { index: 0, max: -1, count: 1 });
  assert.deepEqual(l.entries[0].value[11], { index: 11, min: 100, count: 2 });
  assert.deepEqual(lhistBucketRange(3, 0, 100, 10), { min: 20, max: 29 });
});

Deno.test("decodeMap value maps: tuples, strings sorted by key, per-CPU ints summed", () => {
  const tup: TypeDesc = {
    kind: "tuple",
    fields: [I64, { kind: "string", size: 8 }],
    offsets: [0, 8],
    size: 16,
  };
  const val = (n: number, s: string) => {
    const b = new Uint8Array(16);
    new DataView(b.buffer).setBigInt64(0, BigInt(n), true);
    b.set(new TextEncoder().encode(s), 8);
    return b;
  };
  const d = decodeMap(
    spec({
      type: 1,
      valueSize: 16,
      key: I64,
      agg: { kind: "value", type: tup },
    }),
    [
      { key: u64s(-1), values: [val(1, "x")] },
      { key: u64s(5), values: [val(2, "y")] },
    ],
  );
  // Integer keys compare unsigned, as in bpftrace: -1 sorts last.
  assert.deepEqual(d.entries, [{ key: [5], value: [2, "y"] }, {
    key: [-1],
    value: [1, "x"],
  }]);
  const ints = decodeMap(spec({ agg: { kind: "value", type: I64 } }), [
    { key: u64s(1), values: [u64s(4), u64s(-1)] },
  ]);
  assert.deepEqual(ints.entries, [{ key: [1], value: 3 }]);
});

Deno.test("decodeMap rejects maps without an aggregation", () => {
  assert.throws(
    () => decodeMap(spec({ name: ".events", internal: true }), []),
    TypeError,
  );
});

Deno.test("sortMapData: string keys bytewise, first key field most significant", () => {
  const d = sortMapData({
    name: "@s",
    keyed: true,
    kind: "value",
    entries: [
      { key: [2, "a"], value: "p" },
      { key: [1, "b"], value: "q" },
      { key: [1, "a"], value: "r" },
    ],
  });
  assert.deepEqual(d.entries.map((e) => e.key), [[1, "a"], [1, "b"], [2, "a"]]);
});

Deno.test("decodeEvent decodes printf and print_value records", () => {
  const program: Program = {
    probes: [],
    maps: [],
    formats: [
      {
        id: 0,
        action: {
          kind: "printf",
          format: "%s %d\n",
          args: [{ kind: "string", size: 16 }, {
            kind: "int",
            size: 4,
            signed: true,
          }],
        },
        layout: { offsets: [0, 16], size: 20 },
      },
      {
        id: 1,
        action: { kind: "print_value", type: I64 },
        layout: { offsets: [0], size: 8 },
      },
      { id: 2, action: { kind: "exit" }, layout: { offsets: [], size: 0 } },
    ],
  };
  const rec = new Uint8Array(8 + 20);
  const dv = new DataView(rec.buffer);
  rec.set(new TextEncoder().encode("bash"), 8);
  dv.setInt32(24, -9, true);
  const ev = decodeEvent(program, rec);
  assert.deepEqual(ev, {
    id: 0,
    action: program.formats[0].action,
    args: ["bash", -9],
  });
  const rec2 = u64s(1, -4);
  assert.deepEqual(decodeEvent(program, rec2).args, [-4]);
  assert.deepEqual(decodeEvent(program, u64s(2)).args, []);
  assert.throws(() => decodeEvent(program, u64s(9)), RangeError);
  assert.throws(() => decodeEvent(program, new Uint8Array(4)), RangeError);
});

Deno.test("decodeValue: perf-mode stacks carry addresses; text prints perf's layout", () => {
  const perf: TypeDesc = {
    kind: "kstack",
    size: 8,
    mapIndex: 3,
    depth: 2,
    mode: "perf",
  };
  const withAddrs: SymbolResolver = {
    ...resolver,
    stackAddresses: (
      map,
      id,
    ) => [0xffffffff81000000n + BigInt(map * 16 + id), 0x20n, 0x30n],
  };
  const v = decodeValue(u64s(7), 0, perf, withAddrs);
  assert.deepEqual(v, {
    type: "stack",
    kernel: true,
    frames: ["f3.7.true.undefined", "g+1"],
    mode: "perf",
    addresses: [0xffffffff81000037n, 0x20n],
  });
  // bpftrace 0.17, `kstack(perf)`: a tab, the hex address, a space, the frame.
  assert.equal(
    formatValueText(v),
    "\n\tffffffff81000037 f3.7.true.undefined\n\t20 g+1\n",
  );
  assert.equal(
    formatValueJson(v),
    '"\\n\\tffffffff81000037 f3.7.true.undefined\\n\\t20 g+1\\n"',
  );
  // Without addresses from the resolver the frames still print perf-style.
  const bare = decodeValue(u64s(7), 0, perf, resolver);
  assert.equal(formatValueText(bare), "\n\tf3.7.true.undefined\n\tg+1\n");
  // bpftrace mode is unchanged by the new field.
  assert.equal(
    formatValueText(
      decodeValue(u64s(7), 0, { ...perf, mode: "bpftrace" }, withAddrs),
      4,
    ),
    "\n    f3.7.true.undefined\n    g+1\n",
  );
});

Deno.test("decodeValue: perf-mode user frames name their object as bpftrace does", () => {
  const t: TypeDesc = {
    kind: "ustack",
    size: 8,
    mapIndex: 4,
    depth: 127,
    mode: "perf",
  };
  const r: SymbolResolver = {
    ...resolver,
    stack: () => ["write+27", "0x55d0"],
    stackAddresses: () => [0x7f0010n, 0x55d0n],
    userModule: (a, pid) =>
      a === 0x7f0010n && pid === 42 ? "/lib/libc.so.6" : undefined,
  };
  const v = decodeValue(u64s((42n << 32n) | 9n), 0, t, r);
  // bpftrace 0.17 `ustack(perf)`: "<hex> sym+off (module)", unresolved
  // frames "<hex> 0x<hex> ([unknown])".
  assert.equal(
    formatValueText(v),
    "\n\t7f0010 write+27 (/lib/libc.so.6)\n\t55d0 0x55d0 ([unknown])\n",
  );
  // Kernel frames never get a module.
  const k = decodeValue(u64s(9), 0, { ...t, kind: "kstack" }, r);
  assert.equal(formatValueText(k), "\n\t7f0010 write+27\n\t55d0 0x55d0\n");
});

Deno.test("sortMapData: equal values print in key order, whatever the input order", () => {
  const count = sortMapData({
    name: "@c",
    keyed: true,
    kind: "count",
    entries: [
      { key: [10], value: 1 },
      { key: [3], value: 1 },
      { key: [-1], value: 1 }, // unsigned: largest
      { key: [2n ** 60n], value: 1 },
      { key: [1], value: 1 },
      { key: [7], value: 0 },
    ],
  });
  assert.deepEqual(count.entries.map((e) => e.key[0]), [
    7,
    1,
    3,
    10,
    2n ** 60n,
    -1,
  ]);
  const sum = sortMapData({
    name: "@s",
    keyed: true,
    kind: "sum",
    entries: [
      { key: ["b", 2], value: 5 },
      { key: ["a", 9], value: 5 },
      { key: ["b", 1], value: 5 },
      { key: ["a", 10], value: -5 },
    ],
  });
  assert.deepEqual(sum.entries.map((e) => e.key), [["a", 10], ["a", 9], [
    "b",
    1,
  ], ["b", 2]]);
  for (const kind of ["min", "max"] as const) {
    const d = sortMapData({
      name: "@m",
      keyed: true,
      kind,
      entries: [{ key: [[2, "x"]], value: 4 }, { key: [[1, "y"]], value: 4 }],
    });
    assert.deepEqual(d.entries.map((e) => e.key[0]), [[1, "y"], [2, "x"]]);
  }
  const value = sortMapData({
    name: "@v",
    keyed: true,
    kind: "value",
    type: { kind: "int", size: 8, signed: true },
    entries: [{ key: ["z"], value: 2 }, { key: ["y"], value: 2 }, {
      key: ["x"],
      value: 3,
    }],
  });
  assert.deepEqual(value.entries.map((e) => e.key[0]), ["y", "z", "x"]);
});

Deno.test("decodeMap: ties sort by key, not by the engine's entry order", () => {
  const s = spec({ agg: { kind: "count" } });
  const raw = [5, 1, 4, 2, 3].map((k) => ({ key: u64s(k), values: [u64s(7)] }));
  const a = decodeMap(s, raw);
  const b = decodeMap(s, [...raw].reverse());
  assert.deepEqual(a.entries.map((e) => e.key[0]), [1, 2, 3, 4, 5]);
  assert.deepEqual(b, a);
});

Deno.test("sortMapData: equal counts of stack keys print in frame order on both engines", () => {
  const stack = (frames: string[]) => ({
    type: "stack" as const,
    kernel: false,
    frames,
  });
  const d = sortMapData({
    name: "@",
    keyed: true,
    kind: "count",
    entries: [
      { key: [stack(["0x7f3e"]), "bash"], value: 1 },
      { key: [stack(["0x7f1b", "0x2d78"]), "bash"], value: 1 },
      { key: [stack(["0x7f1b"]), "bash"], value: 1 },
    ],
  });
  assert.deepEqual(
    d.entries.map((e) => (e.key[0] as { frames: string[] }).frames),
    [["0x7f1b"], ["0x7f1b", "0x2d78"], ["0x7f3e"]],
  );
});
