/**
 * The `--metrics` options on the command line and in the scripts' common
 * options: bad values are usage errors (exit 2, one sentence), caught
 * before anything attaches; a busy address is a runtime error (exit 1)
 * naming the address.
 */
import assert from "node:assert/strict";
import { commonOptions, traceOptions } from "../../runtime/api/tool.ts";
import { parseCli } from "../../runtime/cli_args.ts";
import { hasStackTrace, runCli } from "../cli/helpers.ts";

Deno.test("--metrics values parse, and refuse what they cannot use", () => {
  const o = parseCli([
    "-e",
    "BEGIN {}",
    "--metrics",
    ":9464",
    "--metrics-labels",
    "drops=pid,comm",
    "--metrics-prefix",
    "bpf_",
    "--metrics-max-series",
    "50",
  ]);
  assert.deepEqual(o.metrics, { hostname: "127.0.0.1", port: 9464 });
  assert.deepEqual(o.metricsLabels, { "@drops": ["pid", "comm"] });
  assert.equal(o.metricsPrefix, "bpf_");
  assert.equal(o.metricsMaxSeries, 50);
  assert.deepEqual(
    parseCli(["-e", "BEGIN {}", "--metrics", "0.0.0.0:1"]).metrics,
    { hostname: "0.0.0.0", port: 1 },
  );
  assert.equal(parseCli(["-e", "BEGIN {}"]).metrics, undefined);
  assert.throws(
    () => parseCli(["-e", "BEGIN {}", "--metrics", "70000"]),
    /Invalid metrics address "70000"/,
  );
  assert.throws(
    () => parseCli(["-e", "BEGIN {}", "--metrics", "::1:80"]),
    /IPv6 host in brackets/,
  );
  assert.throws(
    () => parseCli(["-e", "BEGIN {}", "--metrics-prefix", "x_"]),
    /Option --metrics-prefix needs --metrics/,
  );
  assert.throws(
    () =>
      parseCli(["-e", "BEGIN {}", "--metrics", "1", "--metrics-labels", "x"]),
    /Invalid metrics labels "x"/,
  );
});

Deno.test("the scripts' common options carry --metrics into trace()", () => {
  const c = commonOptions({
    metrics: "9464",
    "metrics-labels": "calls=syscall",
    "metrics-max-series": "10",
  });
  const o = traceOptions(c, new AbortController().signal);
  assert.deepEqual(o.metrics, {
    listen: "9464",
    maps: { "@calls": { labels: ["syscall"] } },
    maxSeries: 10,
  });
  assert.equal(
    traceOptions(commonOptions({}), new AbortController().signal).metrics,
    undefined,
  );
  assert.throws(
    () => commonOptions({ metrics: "x:y" }),
    /Invalid metrics address/,
  );
  assert.throws(
    () => commonOptions({ "metrics-prefix": "a_" }),
    /Option --metrics-prefix needs --metrics/,
  );
});

Deno.test("label names that do not fit the program stop it before it runs", async () => {
  const r = await runCli([
    "--backend",
    "interp",
    "--metrics",
    "127.0.0.1:0",
    "--metrics-labels",
    "calls=a,b",
    "-e",
    'BEGIN { @calls[pid] = count(); printf("ran\\n"); }',
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /Map "@calls" has 1 key, but 2 label names were given/,
  );
  assert.doesNotMatch(r.stdout + r.stderr, /ran|Attach/);
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
  const bad = await runCli([
    "--backend",
    "interp",
    "--metrics",
    "0",
    "--metrics-prefix",
    "9x",
    "-e",
    "BEGIN { exit(); }",
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Invalid metric prefix "9x"/);
});

Deno.test("a busy address is one line naming it, exit 1", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (l.addr as Deno.NetAddr).port;
    const r = await runCli([
      "--backend",
      "interp",
      "--metrics",
      `127.0.0.1:${port}`,
      "-e",
      'BEGIN { printf("ran\\n"); exit(); }',
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`Cannot serve metrics on 127\\.0\\.0\\.1:${port}`),
    );
    assert.doesNotMatch(r.stdout, /ran/);
    assert.ok(!hasStackTrace(r.stderr), r.stderr);
  } finally {
    l.close();
  }
});
