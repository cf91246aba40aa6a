import assert from "node:assert/strict";
import {
  bucketize,
  formatHistogram,
  formatTable,
  groupBy,
  histIndex,
  histPercentiles,
  histQuantile,
  keyText,
  percentiles,
  quantile,
  rate,
  SlidingWindow,
  sparkline,
  topK,
  trace,
} from "../../mod.ts";
import { formatMapText } from "../../runtime/output/text.ts";

Deno.test("keyText matches equal tuple keys and separates types", () => {
  assert.equal(keyText([1, "a", [2n]]), keyText([1, "a", [2n]]));
  assert.notEqual(keyText([1, "a"]), keyText(["1", "a"]));
  assert.notEqual(keyText(1), keyText(1n));
  assert.notEqual(keyText("1"), keyText(1));
});

Deno.test("rate() matches tuple keys across snapshots and handles resets", () => {
  const prev = new Map<[number, string], number>([[[1, "a"], 100], [
    [2, "b"],
    50,
  ]]);
  const next = new Map<[number, string], number | bigint>([
    [[1, "a"], 300],
    [[2, "b"], 20], // cleared in between: counts from 0
    [[3, "c"], 9007199254740993n],
  ]);
  const r = rate(prev, next, 500);
  assert.deepEqual([...r.values()], [400, 40, 2 * 9007199254740993]);
  assert.throws(() => rate(prev, next, 0), RangeError);
});

Deno.test("topK() orders by value or by a key function, stable on ties", () => {
  const m = new Map([["a", 1], ["b", 5], ["c", 5], ["d", 3]]);
  assert.deepEqual(topK(m, 3), [["b", 5], ["c", 5], ["d", 3]]);
  assert.deepEqual(topK(m, 10).length, 4);
  assert.deepEqual(topK(m, 0), []);
  assert.deepEqual(topK(m, 1, (_v, k) => k.charCodeAt(0)), [["d", 3]]);
  const big = new Map([["x", 2n ** 60n], ["y", 2n ** 61n]]);
  assert.deepEqual(topK(big, 1), [["y", 2n ** 61n]]);
});

Deno.test("quantile() and percentiles() interpolate between ranks", () => {
  assert.equal(quantile([3, 1, 2], 0), 1);
  assert.equal(quantile([3, 1, 2], 1), 3);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.ok(Number.isNaN(quantile([], 0.5)));
  assert.throws(() => quantile([1], 1.5), RangeError);
  assert.deepEqual(percentiles([5n, 1n, 3n], [50]), { p50: 3 });
});

Deno.test("histQuantile() agrees with sample quantiles to within a bucket", () => {
  const samples: number[] = [];
  let x = 12345;
  for (let i = 0; i < 5000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    samples.push(x % 5000);
  }
  const buckets = bucketize(samples);
  for (const q of [0.1, 0.5, 0.9, 0.99]) {
    const exact = quantile(samples, q);
    const est = histQuantile(buckets, q);
    // The estimate lies in the same power-of-two bucket as the exact value.
    assert.ok(
      Math.abs(histIndex(Math.floor(est)) - histIndex(Math.floor(exact))) <= 1,
      `q=${q}: ${est} vs ${exact}`,
    );
  }
  assert.ok(Number.isNaN(histQuantile([], 0.5)));
  // Open buckets answer their known bound.
  assert.equal(histQuantile([{ index: 0, max: -1, count: 4 }], 0.5), -1);
  assert.equal(
    histPercentiles([{ index: 3, min: 100, count: 1 }], [50]).p50,
    100,
  );
});

Deno.test("SlidingWindow keeps the last N ticks", () => {
  const w = new SlidingWindow<[number, string]>(2);
  w.add([[[1, "a"], 1]]);
  w.add([[[1, "a"], 2], [[2, "b"], 5]]);
  w.add([[[1, "a"], 4]]);
  assert.equal(w.length, 2);
  assert.deepEqual([...w.total()], [[[1, "a"], 6], [[2, "b"], 5]]);
  assert.deepEqual(w.series([2, "b"]), [5, 0]);
  w.add([]);
  assert.deepEqual([...w.total()], [[[1, "a"], 4]]);
  assert.throws(() => new SlidingWindow(0), RangeError);
});

Deno.test("groupBy() collects or reduces", () => {
  const g = groupBy(["aa", "b", "cc", "d"], (s) => s.length);
  assert.deepEqual([...g], [[2, ["aa", "cc"]], [1, ["b", "d"]]]);
  const sums = groupBy([1, 2, 3, 4, 5], (n) => n % 2, (a, n) => a + n, () => 0);
  assert.deepEqual([...sums], [[1, 9], [0, 6]]);
});

Deno.test("formatTable() aligns, right-aligns and formats cells", () => {
  const text = formatTable(
    [{ name: "read", n: 12345, ms: 1.5 }, { name: "openat", n: 7, ms: 0.25 }],
    [
      { key: "name", title: "SYSCALL" },
      { key: "n", title: "COUNT", align: "right" },
      { key: "ms", title: "MS", format: (v) => Number(v).toFixed(2) },
    ],
  );
  assert.equal(
    text,
    "SYSCALL COUNT MS\n" +
      "read    12345 1.50\n" +
      "openat      7 0.25\n",
  );
  assert.equal(formatTable([], [{ key: "a" as never, title: "A" }]), "A\n");
});

Deno.test("sparkline() scales into eight levels", () => {
  assert.equal(sparkline([0, 7]), "▁█");
  assert.equal(sparkline([0, 0, 0]), "▁▁▁");
  assert.equal(sparkline([-1, 1]), "▁█");
  assert.equal(sparkline([1n, 2n], { min: 0, max: 2 }), "▄█");
  assert.equal(sparkline([10], { max: 5 }), "█");
});

Deno.test("histIndex() and bucketize() match bpftrace's hist() buckets", () => {
  assert.equal(histIndex(2 ** 60), 62); // [2^60, 2^61): 2^(i-2) = 2^60
  assert.equal(histIndex(2n ** 63n), 65);
  const l = bucketize([-5, 0, 9, 10, 99, 100, 1000], {
    kind: "lhist",
    min: 0,
    max: 100,
    step: 10,
  });
  assert.equal(l[0].index, 0);
  assert.equal(l[l.length - 1].index, 11);
  assert.deepEqual(
    l.filter((b) => Number(b.count) > 0).map((b) => [b.index, b.count]),
    [[0, 1], [1, 2], [2, 1], [10, 1], [11, 2]],
  );
  assert.deepEqual(bucketize([]), []);
});

Deno.test("formatHistogram() prints what the map printer prints for the same buckets", async () => {
  // Real hist() buckets from a program run on the interpreter.
  await using s = await trace(
    "tracepoint:raw_syscalls:sys_exit { @h = hist(args->ret); @l = lhist(args->ret, 0, 64, 8); }",
    { backend: "interp", seed: 5, durationMs: 300 },
  );
  await s.run();
  const h = s.map("h").data();
  assert.equal(h.kind, "hist");
  if (h.kind !== "hist") return;
  assert.ok(h.entries.length === 1 && h.entries[0].value.length > 0);
  assert.equal(
    "@h: \n" + formatHistogram(h.entries[0].value) + "\n",
    formatMapText(h),
  );
  const l = s.map("l").data();
  if (l.kind !== "lhist") throw new TypeError("lhist expected");
  assert.equal(
    "@l: \n" + formatHistogram(l.entries[0].value, l) + "\n",
    formatMapText(l),
  );
});
