/**
 * `trace(..., { metrics })` on the interpreter (no root needed): the
 * scrape shows exactly what the session's own maps hold at that moment,
 * TypeScript map declarations name labels and help, and closing the
 * session stops the server.
 */
import assert from "node:assert/strict";
import { trace } from "../../mod.ts";
import { Tracer } from "../../runtime/staging/stage.ts";
import type { Str, U32 } from "../../runtime/staging/types.ts";
import { promtoolCheck, promtoolSkip } from "./helpers.ts";

Deno.test("interpreter: a scrape shows what the session's maps hold", async () => {
  const t = new Tracer();
  const calls = t.map<[U32, Str], "count">("calls", {
    labels: ["process_id", "command"],
    help: "System calls by process.",
  });
  const sizes = t.map<[Str], "hist">("read_bytes");
  t.probe("tracepoint:raw_syscalls:sys_enter", (c) => {
    calls.at(c.pid, c.comm).count();
  });
  t.probe("tracepoint:syscalls:sys_exit_read", (c) => {
    c.if(c.args.ret.ge(0), () => sizes.at(c.comm).hist(c.args.ret));
  });
  const s = await trace(t, {
    backend: "interp",
    seed: 7,
    metrics: { listen: 0, maps: { read_bytes: { help: "Bytes per read." } } },
  });
  let url: string;
  try {
    for await (const tick of s.every(100)) if (tick.index === 2) break;
    url = s.metricsUrl!;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    // No iterator runs: the interpreter's maps stand still while scraped.
    const text = await (await fetch(url)).text();
    // Synthetic events say so: a first comment line for the eye, and a
    // label on every sample, which a scrape and remote write keep.
    assert.ok(
      text.startsWith(
        "# tsbpf: synthetic events from the interpreter, not the kernel\n",
      ),
      text.slice(0, 200),
    );
    for (const l of text.split("\n")) {
      if (l === "" || l.startsWith("#")) continue;
      assert.match(l, /^\w+\{synthetic="true"[,}]/);
    }
    assert.match(text, /^# HELP tsbpf_calls_total System calls by process\.$/m);
    assert.match(text, /^# HELP tsbpf_read_bytes Bytes per read\.$/m);
    const own = s.map(calls).read();
    assert.ok(own.size > 0);
    for (const [[pid, comm], n] of own) {
      const want =
        `tsbpf_calls_total{synthetic="true",process_id="${pid}",command="${comm}"} ${n}`;
      assert.ok(text.includes(want + "\n"), `missing ${want}`);
    }
    const rows = text.split("\n").filter((l) =>
      l.startsWith("tsbpf_calls_total{")
    );
    assert.equal(rows.length, own.size);
    // Histogram count and exact sum per comm, against the map's buckets.
    for (const e of s.map("read_bytes").data().entries) {
      const buckets = e.value as { count: number; sum?: number }[];
      const n = buckets.reduce((a, b) => a + b.count, 0);
      const sum = buckets.reduce((a, b) => a + (b.sum ?? NaN), 0);
      assert.ok(
        text.includes(
          `tsbpf_read_bytes_count{synthetic="true",comm="${e.key[0]}"} ${n}\n`,
        ),
      );
      assert.ok(
        text.includes(
          `tsbpf_read_bytes_sum{synthetic="true",comm="${e.key[0]}"} ${sum}\n`,
        ),
      );
    }
    assert.match(
      text,
      /^tsbpf_build_info\{synthetic="true",version="[^"]+",engine="interp"\} 1$/m,
    );
    assert.match(
      text,
      /^tsbpf_probe_runs_total\{synthetic="true",probe="[^"]+"\} [1-9]\d*$/m,
    );
    if (promtoolSkip === undefined) {
      const r = await promtoolCheck(text);
      assert.equal(r.code, 0, r.output);
    }
  } finally {
    await s.close();
  }
  await assert.rejects(() => fetch(url!), "the server stops with the session");
});

Deno.test("without metrics nothing listens and histograms keep no sums", async () => {
  await using s = await trace(
    "tracepoint:syscalls:sys_exit_read { @h = hist(args->ret); }",
    { backend: "interp", seed: 1 },
  );
  assert.equal(s.metricsUrl, undefined);
  assert.deepEqual(s.program.maps[0].agg, { kind: "hist" });
});
