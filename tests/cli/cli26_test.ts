/**
 * CLI behaviour of bpftrace 0.26 not covered elsewhere: programs of begin
 * and end probes only, maps at exit in --test/--bench, --dry-run, and
 * standard output holding only what the script prints. Each expectation
 * names the bpftrace v0.26.1 file it comes from.
 */

import assert from "node:assert/strict";
import { kernelSkipReason, runCli } from "./helpers.ts";

const kernelSkip = kernelSkipReason();

const ENGINES = [
  { backend: "kernel", ignore: kernelSkip !== undefined },
  { backend: "interp", ignore: false },
];

for (const { backend, ignore } of ENGINES) {
  Deno.test({
    // CHANGELOG.md 0.24.0: "Automatically exit if only BEGIN/END probes
    // are specified"; src/bpftrace.cpp drains the output and returns.
    name:
      `begin/end only ${backend}: ends after begin, runs end, prints the maps`,
    ignore,
    async fn() {
      const r = await runCli([
        "--backend",
        backend,
        "-e",
        'begin { @a = 1; printf("b\\n"); } end { printf("e\\n"); }',
      ], { timeoutMs: 30_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "b\ne\n\n\n@a: 1\n");
    },
  });

  Deno.test({
    // src/bpftrace.cpp: test probes are not attached without --test; a
    // program left with begin only runs it and ends.
    name:
      `test probes without --test ${backend}: left out, begin runs, the run ends`,
    ignore,
    async fn() {
      const r = await runCli([
        "--backend",
        backend,
        "-e",
        "test:a { @t = 1; } bench:b { @u = 1; } begin { @b = 2; }",
      ], { timeoutMs: 30_000 });
      assert.equal(r.code, 0, r.stderr);
      // @t and @u, never written, print as blank lines.
      assert.equal(r.stdout, "\n\n@b: 2\n\n\n");
    },
  });

  Deno.test({
    // src/bpftrace.cpp: maps are printed at exit unless run_tests_ or
    // run_benchmarks_ (or dry_run).
    name: `--bench ${backend}: no maps at exit`,
    ignore,
    async fn() {
      const r = await runCli([
        "--backend",
        backend,
        "--bench",
        "-e",
        "bench:a { @a = count(); } begin { @b = 1; }",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Benchmark/);
      assert.doesNotMatch(r.stdout, /@a|@b/);
    },
  });
}
