/**
 * Acceptance of the metrics exporter against a real Prometheus: it scrapes
 * a running session every second, and PromQL through its HTTP API must
 * give back exactly what the session counted. Kernel tests need root and
 * BPF; the interpreter test needs neither. Every test skips with a
 * printed reason when prometheus/promtool (or python3 for the kernel
 * workloads) is absent.
 */
import assert from "node:assert/strict";
import { trace } from "../../mod.ts";
import { formatMapText } from "../../runtime/output/text.ts";
import type { HistBucket } from "../../runtime/output/types.ts";
import {
  kernelWorkloadSkip,
  Prometheus,
  prometheusSkip,
  promtoolCheck,
  promtoolSkip,
  runNamed,
  serveCli,
  skip,
} from "./helpers.ts";

const enc = new TextEncoder();

const kernelSkip = prometheusSkip ?? promtoolSkip ?? kernelWorkloadSkip;

/** A process name of our own, ≤ 15 bytes. */
function uniqueComm(tag: string): string {
  return `ts${tag}${Deno.pid % 100000}`.slice(0, 15);
}

/** The [lo, hi] integers of the bucket holding the median, from text. */
function medianBucketFromText(text: string): [number, number] {
  const rows: { lo: number; hi: number; n: number }[] = [];
  for (const line of text.split("\n")) {
    const m = /^\[(-?\d+)([KMGT]?), (-?\d+)([KMGT]?)\)\s+(\d+)/.exec(line) ??
      /^\[(-?\d+)([KMGT]?)\]\s+(\d+)/.exec(line);
    if (m === null) continue;
    const unit = (u: string) =>
      ({ "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 })[u]!;
    if (m.length === 6) {
      rows.push({
        lo: Number(m[1]) * unit(m[2]),
        hi: Number(m[3]) * unit(m[4]) - 1,
        n: Number(m[5]),
      });
    } else {
      const v = Number(m[1]) * unit(m[2]);
      rows.push({ lo: v, hi: v, n: Number(m[3]) });
    }
  }
  const total = rows.reduce((a, r) => a + r.n, 0);
  let seen = 0;
  for (const r of rows) {
    seen += r.n;
    if (seen >= total / 2) return [r.lo, r.hi];
  }
  throw new Error(`No histogram rows in:\n${text}`);
}

Deno.test({
  name: "kernel: Prometheus scrapes exact getppid counts and read() sizes",
  ignore: skip("the kernel Prometheus test", kernelSkip),
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const countComm = uniqueComm("pp");
  const readComm = uniqueComm("rd");
  const N = 1234;
  await using s = await trace(
    `tracepoint:syscalls:sys_enter_getppid { @calls[comm] = count(); }
     tracepoint:syscalls:sys_exit_read /comm == "${readComm}"/ {
       @read_bytes = hist(args->ret);
     }`,
    { backend: "kernel", metrics: "127.0.0.1:0" },
  );
  assert.ok(s.metricsUrl?.startsWith("http://127.0.0.1:"));
  const target = new URL(s.metricsUrl!).host;
  await using prom = await Prometheus.start(target);

  await runNamed(enc.encode(countComm), `for _ in range(${N}): os.getppid()`);
  await runNamed(
    enc.encode(readComm),
    `fd = os.open("/dev/zero", os.O_RDONLY)\nfor n in range(1, 101): os.read(fd, n)`,
  );
  // A name with a quote, a backslash, a newline and a byte that is not
  // UTF-8: it must come through escaped, and still parse.
  const nasty = new Uint8Array([...enc.encode('q"b\\\nx'), 0xff]);
  await runNamed(nasty, "for _ in range(3): os.getppid()");

  // Exact count, through PromQL.
  const calls = await prom.waitFor(
    `tsbpf_calls_total{comm="${countComm}"}`,
    (r) => r.length === 1 && r[0].value === N,
  );
  assert.equal(calls.length, 1, `no series for comm ${countComm}`);
  assert.equal(calls[0].value, N);

  // The odd name, decoded as the session decodes it (U+FFFD for 0xff).
  const odd = await prom.waitFor(
    "tsbpf_calls_total",
    (r) => r.some((x) => x.metric.comm === 'q"b\\\nx\uFFFD'),
  );
  const oddRow = odd.find((x) => x.metric.comm === 'q"b\\\nx\uFFFD');
  assert.equal(oddRow?.value, 3, "the escaped comm's series");

  // The histogram: the same buckets as the session's own map.
  const own = s.map("read_bytes").data();
  assert.equal(own.kind, "hist");
  const buckets = own.entries[0].value as HistBucket[];
  const total = buckets.reduce((a, b) => a + Number(b.count), 0);
  assert.equal(total, 100);
  const count = await prom.waitFor(
    "tsbpf_read_bytes_count",
    (r) => r.length === 1 && r[0].value === 100,
  );
  assert.equal(count[0]?.value, 100);
  const sum = await prom.query("tsbpf_read_bytes_sum");
  assert.equal(sum[0]?.value, 5050, "exact _sum: 1 + 2 + ... + 100");
  const promBuckets = await prom.query("tsbpf_read_bytes_bucket");
  const byLe = new Map(promBuckets.map((x) => [x.metric.le, x.value]));
  let cum = 0;
  for (const b of buckets) {
    cum += Number(b.count);
    assert.equal(byLe.get(String(b.max)), cum, `le="${b.max}"`);
  }
  assert.equal(byLe.get("+Inf"), 100);

  // The median falls in the bucket the text output shows as the median.
  const [lo, hi] = medianBucketFromText(formatMapText(own));
  const q = await prom.query(
    "histogram_quantile(0.5, tsbpf_read_bytes_bucket)",
  );
  assert.ok(
    q[0].value > lo - 1 && q[0].value <= hi,
    `median ${q[0].value} outside [${lo}, ${hi}]`,
  );

  // What Prometheus scraped (OpenMetrics) it accepted; the text format
  // passes promtool, lint included.
  const health = await prom.targetHealth();
  assert.deepEqual(health.map((h) => [h.health, h.lastError]), [["up", ""]]);
  const res = await fetch(s.metricsUrl!);
  assert.match(
    res.headers.get("content-type")!,
    /^text\/plain; version=0\.0\.4/,
  );
  const text = await res.text();
  assert.match(text, /comm="q\\"b\\\\\\nx\uFFFD"/);
  const check = await promtoolCheck(text);
  assert.equal(check.code, 0, check.output);
});

Deno.test({
  name: "interpreter: the CLI's --metrics serves what the session holds",
  ignore: skip(
    "the interpreter Prometheus test",
    prometheusSkip ?? promtoolSkip,
  ),
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  // Keys with a quote, a backslash and a newline; values set in BEGIN, so
  // they are exact on any machine.
  const program = `BEGIN {
    @calls["plain"] = count(); @calls["plain"] = count();
    @calls["q\\"b\\\\s\\nn"] = count();
    @sizes = hist(1); @sizes = hist(5); @sizes = hist(5); @sizes = hist(300);
    @lin[1] = lhist(15, 0, 100, 10); @lin[1] = lhist(150, 0, 100, 10);
    @ratio = stats(10); @ratio = stats(20);
    @level["x"] = max(-3);
  }`;
  const { tracer, url } = await serveCli([
    "--backend",
    "interp",
    "--duration",
    "60",
    "--metrics",
    "127.0.0.1:0",
    "-e",
    program,
  ]);
  try {
    assert.ok(url, `no metrics URL in:\n${tracer.stderr}`);
    const text = await (await fetch(url)).text();
    const check = await promtoolCheck(text);
    assert.equal(check.code, 0, check.output + text);
    // Synthetic events, labelled on every sample (and a first comment
    // line in this format, which promtool accepts above).
    assert.ok(text.startsWith("# tsbpf: synthetic events from the"), text);
    const S = 'synthetic="true"';
    assert.match(
      text,
      new RegExp(`^tsbpf_calls_total\\{${S},key="plain"\\} 2$`, "m"),
    );
    assert.match(
      text,
      /^tsbpf_calls_total\{synthetic="true",key="q\\"b\\\\s\\nn"\} 1$/m,
    );
    assert.match(text, /^tsbpf_sizes_bucket\{synthetic="true",le="7"\} 3$/m);
    assert.match(text, /^tsbpf_sizes_sum\{synthetic="true"\} 311$/m);
    assert.match(
      text,
      /^tsbpf_lin_bucket\{synthetic="true",key="1",le="19"\} 1$/m,
    );
    assert.match(
      text,
      /^tsbpf_lin_bucket\{synthetic="true",key="1",le="\+Inf"\} 2$/m,
    );
    assert.match(text, /^tsbpf_level\{synthetic="true",key="x"\} -3$/m);
    const om = await (await fetch(url, {
      headers: { accept: "application/openmetrics-text; version=1.0.0" },
    })).text();
    assert.ok(om.endsWith("# EOF\n"));
    assert.match(om, /^# TYPE tsbpf_calls counter$/m);
    // OpenMetrics allows no free comment: the label alone.
    assert.ok(om.startsWith("# HELP "), om.slice(0, 200));
    assert.match(om, /^tsbpf_calls_total\{synthetic="true",key="plain"\} 2$/m);

    await using prom = await Prometheus.start(new URL(url).host);
    const plain = await prom.waitFor(
      'tsbpf_calls_total{key="plain"}',
      (r) => r.length === 1,
    );
    assert.equal(plain[0]?.value, 2);
    // The label is in Prometheus's copy too.
    assert.equal(plain[0]?.metric.synthetic, "true");
    const odd = await prom.query('tsbpf_calls_total{key="q\\"b\\\\s\\nn"}');
    assert.equal(odd[0]?.value, 1);
    const q = await prom.query("histogram_quantile(0.5, tsbpf_sizes_bucket)");
    assert.ok(q[0].value > 3 && q[0].value <= 7, `median ${q[0].value}`);
    const sum = await prom.query("tsbpf_ratio_sum / tsbpf_ratio_count");
    assert.equal(sum[0]?.value, 15);
    const health = await prom.targetHealth();
    assert.deepEqual(health.map((h) => [h.health, h.lastError]), [["up", ""]]);
  } finally {
    tracer.signal("SIGINT");
    await tracer.finish();
  }
});
