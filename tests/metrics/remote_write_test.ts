/**
 * Remote write: the same series `/metrics` serves, pushed as protobuf +
 * snappy into a real Prometheus started with
 * `--web.enable-remote-write-receiver`; retries on 5xx; one line when the
 * endpoint refuses. Kernel tests need root and BPF; the others need
 * neither. Tests needing Prometheus skip with the reason when it is absent.
 */
import assert from "node:assert/strict";
// An inline npm: specifier, not a deno.json import: Deno installs every
// import deno.json lists on each run, also where the registry is unreachable.
// deno-lint-ignore no-import-prefix
import protobuf from "npm:protobufjs@8.8.1/minimal.js";
// deno-lint-ignore no-import-prefix
import { uncompress } from "npm:snappyjs@0.7.0";
import { trace } from "../../mod.ts";
import { MetricsRenderer } from "../../runtime/metrics/exposition.ts";
import { encodeWriteRequest } from "../../runtime/metrics/codecs.ts";
import {
  parseExposition,
  type Series,
} from "../../runtime/metrics/remote_write.ts";
import { runCli } from "../cli/helpers.ts";
import { Tracer } from "../support/child.ts";
import {
  kernelWorkloadSkip,
  Prometheus,
  prometheusSkip,
  runNamed,
  skip,
} from "./helpers.ts";

const enc = new TextEncoder();

/** Decodes a WriteRequest with protobufjs' reader (field by field). */
function decodeWriteRequest(
  bytes: Uint8Array,
): { labels: [string, string][]; value: number; ts: number }[] {
  const r = protobuf.Reader.create(bytes);
  const out: { labels: [string, string][]; value: number; ts: number }[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    assert.equal(tag, (1 << 3) | 2);
    const end = r.uint32() + r.pos;
    const ts = { labels: [] as [string, string][], value: NaN, ts: 0 };
    while (r.pos < end) {
      const t = r.uint32();
      const e = r.uint32() + r.pos;
      if (t === ((1 << 3) | 2)) {
        let name = "", value = "";
        while (r.pos < e) {
          const f = r.uint32();
          if (f === ((1 << 3) | 2)) name = r.string();
          else value = r.string();
        }
        ts.labels.push([name, value]);
      } else {
        while (r.pos < e) {
          const f = r.uint32();
          if (f === ((1 << 3) | 1)) ts.value = r.double();
          else ts.ts = Number(r.int64());
        }
      }
    }
    out.push(ts);
  }
  return out;
}

Deno.test("the text the exporter writes parses back into the same series", () => {
  const data = {
    name: "@c",
    keyed: true,
    kind: "count" as const,
    entries: [{ key: ['q"b\\s\nn\uFFFD'], value: 3 }, {
      key: ["x"],
      value: 12345678901234,
    }],
  };
  const spec = {
    name: "@c",
    type: 5,
    keySize: 16,
    valueSize: 8,
    maxEntries: 10,
    key: { kind: "string" as const, size: 16 },
    agg: { kind: "count" as const },
    internal: false,
    keyNames: ["comm"],
  };
  const text = new MetricsRenderer().render([{ spec, data }], undefined, false);
  const series = parseExposition(text);
  assert.deepEqual(series, [
    {
      labels: [["__name__", "tsbpf_c_total"], ["comm", 'q"b\\s\nn\uFFFD']],
      value: 3,
    },
    {
      labels: [["__name__", "tsbpf_c_total"], ["comm", "x"]],
      value: 12345678901234,
    },
  ]);
  const decoded = decodeWriteRequest(
    encodeWriteRequest(series as Series[], 1700000000123),
  );
  assert.deepEqual(decoded, series.map((s) => ({ ...s, ts: 1700000000123 })));
});

/** A local endpoint answering with `statuses` in turn (the last repeats). */
function endpoint(statuses: [number, string][]) {
  const bodies: Uint8Array[] = [];
  const headers: Headers[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, async (req) => {
    bodies.push(new Uint8Array(await req.arrayBuffer()));
    headers.push(req.headers);
    const [status, text] =
      statuses[Math.min(bodies.length - 1, statuses.length - 1)];
    return new Response(status === 204 ? null : text, { status });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/api/v1/write`,
    bodies,
    headers,
    server,
  };
}

Deno.test("5xx answers are retried with backoff; the push then arrives", async () => {
  const ep = endpoint([[503, "busy"], [503, "busy"], [204, ""]]);
  try {
    const s = await trace(
      'BEGIN { @calls["x"] = count(); }',
      { backend: "interp", remoteWrite: { url: ep.url, intervalSeconds: 5 } },
    );
    await s.close(); // the last push goes out as the session closes
    assert.equal(ep.bodies.length, 3);
    const h = ep.headers[2];
    assert.equal(h.get("content-encoding"), "snappy");
    assert.equal(h.get("content-type"), "application/x-protobuf");
    assert.equal(h.get("x-prometheus-remote-write-version"), "0.1.0");
    const series = decodeWriteRequest(uncompress(ep.bodies[2]));
    const calls = series.find((x) =>
      x.labels.some(([n, v]) => n === "__name__" && v === "tsbpf_calls_total")
    );
    assert.ok(calls, "the count series");
    assert.equal(calls.value, 1);
    // Synthetic events: the label goes with every pushed series.
    assert.deepEqual(calls.labels.map(([n]) => n), [
      "__name__",
      "instance",
      "job",
      "key",
      "synthetic",
    ]);
    assert.ok(
      series.every((x) =>
        x.labels.some(([n, v]) => n === "synthetic" && v === "true")
      ),
    );
  } finally {
    await ep.server.shutdown();
  }
});

Deno.test("a refusing endpoint is one line on stderr, not one per push", async () => {
  const ep = endpoint([[400, "out of order sample\nmore"]]);
  try {
    const out = await runCli([
      "--backend",
      "interp",
      "--duration",
      "3.5",
      "--remote-write",
      ep.url,
      "--remote-write-interval",
      "1",
      "-e",
      "BEGIN { @x = count(); }",
    ]);
    const err = out.stderr;
    assert.equal(out.code, 0, err);
    assert.ok(ep.bodies.length >= 3, `${ep.bodies.length} pushes`);
    const refused = err.split("\n").filter((l) => l.includes("refused"));
    assert.deepEqual(refused, [
      `tsbpf: remote write to ${ep.url} refused: HTTP 400: out of order sample`,
    ]);
    assert.match(err, /writing metrics to .* every 1 s/);
  } finally {
    await ep.server.shutdown();
  }
});

Deno.test({
  name: "interpreter: remote write into a real Prometheus (CLI)",
  ignore: skip("the remote-write Prometheus test", prometheusSkip),
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await using prom = await Prometheus.start(undefined, { receiver: true });
  const tracer = Tracer.tsbpf([
    "--backend",
    "interp",
    "--duration",
    "60",
    "--remote-write",
    `${prom.url}/api/v1/write`,
    "--remote-write-interval",
    "1",
    "-e",
    'BEGIN { @calls["plain"] = count(); @calls["plain"] = count(); @calls["q\\"b\\\\s\\nn"] = count(); @sizes = hist(5); @sizes = hist(300); }',
  ]);
  try {
    const plain = await prom.waitFor(
      'tsbpf_calls_total{key="plain",job="tsbpf"}',
      (r) => r.length === 1,
    );
    assert.equal(plain[0]?.value, 2);
    const odd = await prom.query('tsbpf_calls_total{key="q\\"b\\\\s\\nn"}');
    assert.equal(odd[0]?.value, 1);
    const sum = await prom.query("tsbpf_sizes_sum");
    assert.equal(sum[0]?.value, 305);
    const q = await prom.query("histogram_quantile(0.5, tsbpf_sizes_bucket)");
    assert.ok(q[0].value > 3 && q[0].value <= 7, `median ${q[0].value}`);
  } finally {
    tracer.signal("SIGINT");
    await tracer.finish();
  }
});

Deno.test({
  name: "kernel: remote write delivers the exact getppid count",
  ignore: skip(
    "the kernel remote-write test",
    prometheusSkip ?? kernelWorkloadSkip,
  ),
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await using prom = await Prometheus.start(undefined, { receiver: true });
  const comm = `tsrw${Deno.pid % 100000}`;
  const N = 777;
  await using s = await trace(
    "tracepoint:syscalls:sys_enter_getppid { @calls[comm] = count(); }",
    {
      backend: "kernel",
      remoteWrite: { url: `${prom.url}/api/v1/write`, intervalSeconds: 1 },
    },
  );
  await runNamed(enc.encode(comm), `for _ in range(${N}): os.getppid()`);
  const r = await prom.waitFor(
    `tsbpf_calls_total{comm="${comm}"}`,
    (x) => x.length === 1 && x[0].value === N,
  );
  assert.equal(r[0]?.value, N);
  assert.equal(s.map<string, number>("calls").get(comm), N);
});
