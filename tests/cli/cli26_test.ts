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

/**
 * A probe that compiles and cannot attach: a uprobe on a binary that is
 * not there (one on a function its binary lacks is a compile error, as
 * in bpftrace 0.26: tests/compiler/uprobe_missing_test.ts).
 */
const NO_SUCH_UPROBE = "uprobe:/nonexistent/tsbpf_bin:main";

Deno.test({
  // man/adoc/bpftrace.adoc (--dry-run: "Terminate execution right after
  // attaching all the probes"); tests/runtime/other "dry run empty
  // output": begin's printf and the maps do not show.
  name: "--dry-run kernel: loads and attaches, prints nothing, status 0",
  ignore: kernelSkip !== undefined,
  async fn() {
    const r = await runCli([
      "--dry-run",
      "-e",
      'begin { printf("hello\\n"); @ = 0; } ' +
      "tracepoint:syscalls:sys_enter_getppid { @c = count(); }",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.doesNotMatch(r.stderr, /Attached|hello|@/);
  },
});

Deno.test({
  // src/bpftrace.cpp: the attach happens under --dry-run, so a probe that
  // cannot attach fails it, in the words of log_probe_attach_failure.
  name:
    "--dry-run kernel: a probe that cannot attach fails the run (status 1); --backend interp only compiles",
  ignore: kernelSkip !== undefined,
  async fn() {
    const r = await runCli(["--dry-run", "-e", `${NO_SUCH_UPROBE} { }`]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      new RegExp(
        `^ERROR: Unable to attach probe: ${NO_SUCH_UPROBE}\\. If this is expected, set the 'missing_probes' config variable to 'warn'\\.$`,
        "m",
      ),
    );
    const interp = await runCli([
      "--dry-run",
      "--backend",
      "interp",
      "-e",
      `${NO_SUCH_UPROBE} { }`,
    ]);
    assert.equal(interp.code, 0, interp.stderr);
    assert.equal(interp.stdout + interp.stderr, "");
  },
});

Deno.test({
  // src/bpftrace.cpp log_probe_attach_failure: the reason, then
  // "Unable to attach probe: NAME. If this is expected, ..."; the run
  // fails (status 1) with missing_probes = error, the default.
  name: "missing_probes = error: bpftrace 0.26's words at attach, status 1",
  ignore: kernelSkip !== undefined,
  async fn() {
    for (
      const prefix of ["", 'config = { missing_probes = "error" } ']
    ) {
      const r = await runCli([
        "-e",
        `${prefix}tracepoint:syscalls:sys_enter_getppid { } ${NO_SUCH_UPROBE} { }`,
      ]);
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.trimEnd().split("\n");
      assert.match(lines.at(-2)!, /^ERROR: Cannot attach ".*": /);
      assert.equal(
        lines.at(-1),
        `ERROR: Unable to attach probe: ${NO_SUCH_UPROBE}. If this is expected, set the 'missing_probes' config variable to 'warn'.`,
      );
    }
  },
});

Deno.test("missing_probes = error: a wildcard matching nothing alone is bpftrace 0.26's error (status 2); beside other attach points it is dropped", async () => {
  // src/ast/passes/probe_prune.cpp, ap_probe_expansion.cpp.
  const alone = await runCli([
    "--dry-run",
    "--backend",
    "interp",
    "-e",
    "tracepoint:tsbpf_no_such_group:* { }",
  ]);
  assert.equal(alone.code, 2, alone.stderr);
  assert.match(
    alone.stderr,
    /^stdin:1:1: ERROR: Probe has no valid attach points\. If this is expected, set the 'missing_probes' config variable to 'warn'\.$/m,
  );
  const beside = await runCli([
    "--dry-run",
    "--backend",
    "interp",
    "-e",
    "tracepoint:tsbpf_no_such_group:*, tracepoint:syscalls:sys_enter_getppid { }",
  ]);
  assert.equal(beside.code, 0, beside.stderr);
});

for (const { backend, ignore } of ENGINES) {
  Deno.test({
    // CHANGELOG.md 0.24.0: "Text mode now emits all non-script generated
    // output (e.g., errors, attached notifications) to stderr".
    name:
      `${backend}: standard output holds only what the script prints (warnings, notices, the attach line on stderr)`,
    ignore,
    async fn() {
      const r = await runCli([
        "--backend",
        backend,
        "-v",
        "-k",
        "-e",
        'config = { license = "GPL" } begin { printf("a\\n"); } ' +
        'interval:ms:10 { printf("b %d\\n", 1); exit(); }',
      ]);
      assert.equal(r.code, 0, r.stderr);
      // The script's lines, then the end of the output (no maps). The
      // interpreter may run a few more intervals before exit() is seen.
      assert.match(r.stdout, /^a\n(b 1\n)+\n\n$/);
      assert.match(r.stderr, /^Attached 2 probes/m);
      assert.match(r.stderr, /WARNING: license is not supported/);
      assert.match(r.stderr, /-k has nothing to do/);
      assert.match(r.stderr, /^tsbpf: running in the /m);
    },
  });
}
