/**
 * The Prometheus rendering of decoded maps: types and names per
 * aggregation, exact cumulative buckets, escaping (decoded from raw map
 * bytes, so non-UTF-8 comm bytes take the real decoding path), the series
 * limit, merged duplicate label sets, OpenMetrics, and `promtool check
 * metrics` on every text rendered here.
 */
import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import type { RawMapEntry } from "../../runtime/engines/engine.ts";
import { MetricsRenderer } from "../../runtime/metrics/exposition.ts";
import type { MapInput } from "../../runtime/metrics/exposition.ts";
import { wantsOpenMetrics } from "../../runtime/metrics/server.ts";
import { decodeMap } from "../../runtime/output/decode.ts";
import type { MapData } from "../../runtime/output/types.ts";
import type { MapSpec } from "../../runtime/program.ts";
import { promtoolCheck, promtoolSkip } from "./helpers.ts";

const enc = new TextEncoder();

function u64(...ns: (number | bigint)[]): Uint8Array {
  return new Uint8Array(new BigUint64Array(ns.map(BigInt)).buffer);
}

function commKey(bytes: Uint8Array): Uint8Array {
  const k = new Uint8Array(16);
  k.set(bytes.subarray(0, 15));
  return k;
}

/** The user maps of a compiled program, by name. */
function specsOf(source: string, histSums = true): Map<string, MapSpec> {
  const p = compile(source, { histSums, tracefsAvailable: false });
  return new Map(p.maps.filter((m) => !m.internal).map((m) => [m.name, m]));
}

const SOURCE = `tracepoint:syscalls:sys_exit_read {
  @reads[comm] = count();
  @bytes[comm] = sum(args->ret);
  @ubytes = sum((uint64)args->ret);
  @sizes[comm] = hist(args->ret);
  @lin = lhist(args->ret, 0, 100, 10);
  @lat[pid, comm] = stats(args->ret);
  @avg_size = avg(args->ret);
  @largest[cpu] = max(args->ret);
  @last[pid] = comm;
  @stack_reads[kstack] = count();
}`;

function inputs(): MapInput[] {
  const specs = specsOf(SOURCE);
  const odd = enc.encode('q"b\\\nx');
  const nonUtf8 = new Uint8Array([...odd, 0xff, 0xfe]);
  const raw: Record<string, RawMapEntry[]> = {
    "@reads": [
      { key: commKey(enc.encode("bash")), values: [u64(3), u64(4)] },
      { key: commKey(nonUtf8), values: [u64(2), u64(0)] },
    ],
    "@bytes": [{
      key: commKey(enc.encode("bash")),
      values: [u64(-5n & (2n ** 64n - 1n))],
    }],
    "@ubytes": [{ key: new Uint8Array(4), values: [u64(77, 1)] }],
    "@sizes": [
      // comm, then the bucket index; value: count, sum.
      ...[[3, 2, 5], [5, 1, 12], [9, 1, 200]].map(([b, c, s]) => ({
        key: new Uint8Array([...commKey(enc.encode("cat")), ...u64(b)]),
        values: [u64(c, s)],
      })),
      {
        key: new Uint8Array([...commKey(nonUtf8), ...u64(1)]),
        values: [u64(4, 0)],
      },
    ],
    "@lin": [
      { key: new Uint32Array([2]).buffer, values: [u64(3, 36)] },
      { key: new Uint32Array([11]).buffer, values: [u64(1, 150)] },
    ].map((e) => ({ key: new Uint8Array(e.key), values: e.values })),
    "@lat": [{
      key: new Uint8Array([...u64(42), ...commKey(enc.encode("sh"))]),
      values: [u64(4, 100)],
    }],
    "@avg_size": [{ key: new Uint8Array(4), values: [u64(2, 9)] }],
    "@largest": [{ key: u64(3), values: [u64(4096, 1)] }],
    "@last": [{ key: u64(7), values: [commKey(enc.encode("vim"))] }],
    "@stack_reads": [],
  };
  return [...specs.values()].map((spec) => ({
    spec,
    data: decodeMap(spec, raw[spec.name] ?? []),
  }));
}

const PROCESS = {
  version: "0.1.0",
  engine: "interp" as const,
  startTimeSeconds: 1700000000,
  lostEvents: 2,
  probeStats: [{
    name: "sys_exit_read",
    runCount: 9,
    runTimeNs: 1500,
    insnCount: 50,
  }],
};

Deno.test("every aggregation renders as its Prometheus type (text 0.0.4)", async (t) => {
  const text = new MetricsRenderer().render(inputs(), PROCESS, false);
  await t.assertSnapshot(text);
  // Counters, gauges, histogram parts: spot checks of the mapping.
  assert.match(text, /^# TYPE tsbpf_reads_total counter$/m);
  assert.match(text, /^tsbpf_reads_total\{comm="bash"\} 7$/m);
  assert.match(text, /^# TYPE tsbpf_bytes gauge$/m); // signed sum
  assert.match(text, /^tsbpf_bytes\{comm="bash"\} -5$/m);
  assert.match(text, /^# TYPE tsbpf_ubytes_total counter$/m); // unsigned sum
  // Buckets [2, 3], [8, 15], [128, 255] (indices 3, 5, 9), cumulative.
  assert.match(text, /^tsbpf_sizes_bucket\{comm="cat",le="1"\} 0$/m);
  assert.match(text, /^tsbpf_sizes_bucket\{comm="cat",le="3"\} 2$/m);
  assert.match(text, /^tsbpf_sizes_bucket\{comm="cat",le="15"\} 3$/m);
  assert.match(text, /^tsbpf_sizes_bucket\{comm="cat",le="127"\} 3$/m);
  assert.match(text, /^tsbpf_sizes_bucket\{comm="cat",le="255"\} 4$/m);
  assert.match(text, /^tsbpf_sizes_sum\{comm="cat"\} 217$/m);
  assert.match(text, /^tsbpf_lin_bucket\{le="19"\} 3$/m);
  assert.match(text, /^tsbpf_lin_bucket\{le="\+Inf"\} 4$/m);
  assert.match(text, /^tsbpf_lat_count\{pid="42",comm="sh"\} 4$/m);
  assert.match(text, /^tsbpf_last\{pid="7",value="vim"\} 1$/m);
  // The odd comm: quote, backslash and newline escaped; 0xff 0xfe are
  // decoded as the text output decodes them (U+FFFD each).
  assert.match(text, /comm="q\\"b\\\\\\nx\uFFFD\uFFFD"/);
  if (promtoolSkip === undefined) {
    const r = await promtoolCheck(text);
    assert.equal(r.code, 0, r.output);
  } else console.log(`Skipping promtool check: ${promtoolSkip}`);
});

Deno.test("OpenMetrics: family names without _total, # EOF, no _sum below zero", async (t) => {
  const om = new MetricsRenderer().render(inputs(), PROCESS, true);
  await t.assertSnapshot(om);
  assert.ok(om.endsWith("# EOF\n"));
  assert.match(om, /^# TYPE tsbpf_reads counter$/m);
  assert.match(om, /^tsbpf_reads_total\{comm="bash"\} 7$/m);
  // @sizes has a bucket at zero only (no negative threshold): keeps _sum.
  assert.match(om, /^tsbpf_sizes_sum\{comm="cat"\} 217$/m);
  const neg = specsOf("BEGIN { @neg = hist(-4); @neg = hist(3); }").get(
    "@neg",
  )!;
  const data = decodeMap(neg, [
    {
      key: new Uint8Array(new Uint32Array([0]).buffer),
      values: [u64(1, -4n & (2n ** 64n - 1n))],
    },
    { key: new Uint8Array(new Uint32Array([3]).buffer), values: [u64(1, 3)] },
  ]);
  const r = new MetricsRenderer();
  const negOm = r.render([{ spec: neg, data }], undefined, true);
  assert.match(negOm, /^tsbpf_neg_bucket\{le="-1"\} 1$/m);
  assert.doesNotMatch(negOm, /_sum/);
  assert.match(
    r.render([{ spec: neg, data }], undefined, false),
    /^tsbpf_neg_sum -1$/m,
  );
  // A stats() total below zero: OpenMetrics summaries have no negative sum.
  const st = specsOf("BEGIN { @delta = stats(-5); }").get("@delta")!;
  const stData = decodeMap(st, [{
    key: new Uint8Array(4),
    values: [u64(1, -5n & (2n ** 64n - 1n))],
  }]);
  const stOm = r.render([{ spec: st, data: stData }], undefined, true);
  assert.match(stOm, /^tsbpf_delta_count 1$/m);
  assert.doesNotMatch(stOm, /tsbpf_delta_sum/);
  assert.match(
    r.render([{ spec: st, data: stData }], undefined, false),
    /^tsbpf_delta_sum -5$/m,
  );
});

Deno.test("the series limit keeps the largest and counts the rest", async () => {
  const spec = specsOf("BEGIN { @c[pid] = count(); }").get("@c")!;
  const entries: RawMapEntry[] = [];
  for (let i = 1; i <= 25; i++) entries.push({ key: u64(i), values: [u64(i)] });
  const r = new MetricsRenderer({ maxSeries: 10 });
  const scrape = () =>
    r.render([{ spec, data: decodeMap(spec, entries) }], PROCESS, false);
  let text = scrape();
  const rows = text.split("\n").filter((l) => l.startsWith("tsbpf_c_total{"));
  assert.equal(rows.length, 10);
  assert.ok(rows.every((l) => Number(l.split(" ")[1]) >= 16));
  assert.match(text, /^tsbpf_series_dropped_total\{map="@c"\} 15$/m);
  assert.match(text, /^tsbpf_map_series\{map="@c"\} 25$/m);
  text = scrape();
  assert.match(text, /^tsbpf_series_dropped_total\{map="@c"\} 30$/m);
  if (promtoolSkip === undefined) {
    const res = await promtoolCheck(text);
    assert.equal(res.code, 0, res.output);
  }
});

Deno.test("keys that render alike merge into one series", () => {
  const spec = specsOf("BEGIN { @s[kstack] = count(); }").get("@s")!;
  const data: MapData = {
    name: "@s",
    keyed: true,
    kind: "count",
    entries: [
      {
        key: [{ type: "stack", kernel: true, frames: ["f+1", "g+2"] }],
        value: 2,
      },
      {
        key: [{ type: "stack", kernel: true, frames: ["f+1", "g+2"] }],
        value: 3,
      },
    ],
  };
  const text = new MetricsRenderer().render([{ spec, data }], undefined, false);
  assert.equal(
    text.split("\n").filter((l) => !l.startsWith("#") && l !== "").join("\n"),
    'tsbpf_s_total{kstack="g+2;f+1"} 5',
  );
});

Deno.test("label names: derived from keys, numbered, overridable and checked", () => {
  const specs = specsOf(
    "tracepoint:syscalls:sys_enter_read { @x[pid, args->fd, pid] = count(); @ = count(); }",
  );
  assert.deepEqual(specs.get("@x")!.keyNames, ["pid", "fd", "pid_2"]);
  const r = new MetricsRenderer({
    prefix: "bpf_",
    maps: { x: { labels: ["a", "b", "c"], help: "X\nY" } },
  });
  const data = decodeMap(specs.get("@x")!, [{
    key: u64(1, 2, 3),
    values: [u64(4)],
  }]);
  const text = r.render([{ spec: specs.get("@x")!, data }], undefined, false);
  assert.match(text, /^bpf_x_total\{a="1",b="2",c="3"\} 4$/m);
  assert.match(text, /^# HELP bpf_x_total X\\nY$/m);
  assert.equal(r.metricName("@"), "bpf_map");
  assert.throws(
    () =>
      new MetricsRenderer({ maps: { x: { labels: ["pid"] } } }).checkMaps([
        ...specs.values(),
      ]),
    /Map "@x" has 3 keys, but 1 label name was given/,
  );
  assert.throws(
    () =>
      new MetricsRenderer({ maps: { y: { labels: ["pid"] } } }).checkMaps([
        ...specs.values(),
      ]),
    /name map "@y", but the program has "@x", "@"/,
  );
  assert.throws(
    () => new MetricsRenderer({ maps: { x: { labels: ["le", "a", "b"] } } }),
    /reserved/,
  );
  assert.throws(
    () =>
      new MetricsRenderer().checkMaps([
        ...specsOf("BEGIN { @ = count(); @map = count(); }").values(),
      ]),
    /Maps "@" and "@map" would both export "tsbpf_map_total": rename one/,
  );
  assert.throws(
    () =>
      new MetricsRenderer().checkMaps([
        ...specsOf("BEGIN { @events_lost = count(); }").values(),
      ]),
    /Map "@events_lost" would export "tsbpf_events_lost_total", a name tsbpf uses/,
  );
  new MetricsRenderer({ prefix: "x_" }).checkMaps([
    ...specsOf("BEGIN { @lat = hist(1); @lat_count = count(); }").values(),
  ]);
  assert.throws(
    () => new MetricsRenderer({ prefix: "9x" }),
    /Invalid metric prefix "9x"/,
  );
});

Deno.test("OpenMetrics is served when the Accept header prefers it", () => {
  assert.equal(
    wantsOpenMetrics("application/openmetrics-text; version=1.0.0"),
    true,
  );
  assert.equal(wantsOpenMetrics("text/plain;version=0.0.4"), false);
  assert.equal(
    wantsOpenMetrics("text/plain;q=0.9,application/openmetrics-text;q=0.5"),
    false,
  );
  assert.equal(wantsOpenMetrics("*/*"), false);
});

Deno.test("histSums: off by default, programs without it are unchanged", () => {
  const src =
    "tracepoint:syscalls:sys_exit_read { @h[comm] = hist(args->ret); @l = lhist(args->ret, 0, 10, 1); }";
  const plain = compile(src, { tracefsAvailable: false });
  const same = compile(src, { tracefsAvailable: false, histSums: false });
  assert.deepEqual(
    plain.probes.map((p) => p.insns),
    same.probes.map((p) => p.insns),
  );
  assert.deepEqual(plain.maps.map((m) => [m.valueSize, m.agg]), [
    [8, { kind: "hist" }],
    [8, { kind: "lhist", min: 0, max: 10, step: 1 }],
    ...plain.maps.slice(2).map((m) => [m.valueSize, m.agg]),
  ]);
  const sums = compile(src, { tracefsAvailable: false, histSums: true });
  assert.deepEqual(sums.maps.slice(0, 2).map((m) => [m.valueSize, m.agg]), [
    [16, { kind: "hist", sum: true }],
    [16, { kind: "lhist", min: 0, max: 10, step: 1, sum: true }],
  ]);
});

Deno.test("synthetic events: every sample labelled, a comment first in text 0.0.4", async () => {
  const r = new MetricsRenderer({ constLabels: { program: "a.bt" } });
  const text = r.render(inputs(), { ...PROCESS, synthetic: true }, false);
  assert.ok(
    text.startsWith(
      "# tsbpf: synthetic events from the interpreter, not the kernel\n",
    ),
  );
  const samples = text.split("\n").filter((l) => l !== "" && l[0] !== "#");
  assert.ok(samples.length > 20);
  for (const l of samples) {
    assert.match(l, /^\w+\{program="a\.bt",synthetic="true"[,}]/);
  }
  if (promtoolSkip === undefined) {
    const c = await promtoolCheck(text);
    assert.equal(c.code, 0, c.output);
  }
  // OpenMetrics allows no free comment: the label only.
  const om = r.render(inputs(), { ...PROCESS, synthetic: true }, true);
  assert.ok(om.startsWith("# HELP "));
  assert.match(
    om,
    /^tsbpf_reads_total\{program="a\.bt",synthetic="true",comm="bash"\} 7$/m,
  );
  // Real events (the kernel, a replay): neither, and the next render of
  // the same renderer is not left labelled.
  const real = r.render(inputs(), { ...PROCESS, synthetic: false }, false);
  assert.doesNotMatch(real, /synthetic/);
});
