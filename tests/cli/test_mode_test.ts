/**
 * `--test` and `--bench` with bpftrace 0.26's `test:NAME` and
 * `bench:NAME` probes, on both engines: the kernel runs them through
 * BPF_PROG_TEST_RUN, the interpreter directly.
 */

import assert from "node:assert/strict";
import { parseCli } from "../../runtime/cli_args.ts";
import {
  formatBenchText,
  formatTestDuration,
  formatTestText,
} from "../../runtime/test_mode.ts";
import { kernelSkipReason, runCli, tempFile } from "./helpers.ts";

const kernelSkip = kernelSkipReason();
if (kernelSkip !== undefined) {
  console.log(`Skipping the kernel half of --test/--bench: ${kernelSkip}`);
}
const ENGINES = [
  { backend: "kernel", ignore: kernelSkip !== undefined },
  { backend: "interp", ignore: false },
];

const TESTS = `begin { printf("begin\\n"); }
test:okay { print("I'm okay! This output will be suppressed."); }
test:failure { print("This is a failure! This output will be shown"); return 1; }
test:counted { @n++; if (@n > 5) { return 2; } }
interval:ms:10 { @never = count(); }
end { printf("end\\n"); }
`;

/** Test lines with the durations taken out. */
function stable(text: string): string {
  return text.replace(/ \(\d+ (ns|μs|ms|s)\)$/gm, " (T)");
}

for (const { backend, ignore } of ENGINES) {
  Deno.test({
    name:
      `--test ${backend}: begin, each test in order (a failure's output shown), a summary, end, no maps; status 1`,
    ignore,
    async fn() {
      const file = tempFile(TESTS, ".bt");
      try {
        const r = await runCli(["--backend", backend, "--test", file]);
        assert.equal(r.code, 1, r.stderr);
        assert.doesNotMatch(r.stderr, /Attach/, "no attach line in --test");
        assert.equal(
          stable(r.stdout),
          "begin\n" +
            "[==========] Running 3 tests.\n" +
            "[ RUN      ] okay\n[       OK ] okay (T)\n" +
            "[ RUN      ] failure\n" +
            "This is a failure! This output will be shown\n" +
            "[  FAILED  ] failure (T)\n" +
            "[ RUN      ] counted\n[       OK ] counted (T)\n" +
            "[==========] 3 tests ran.\n" +
            "[  PASSED  ] 2 tests.\n" +
            "[  FAILED  ] 1 test, listed below:\n" +
            "[  FAILED  ] failure\n" +
            // The output's end, no maps, in --test (bpftrace 0.26
            // src/bpftrace.cpp).
            "end\n\n\n",
        );
        const json = await runCli([
          "--backend",
          backend,
          "--test",
          "-f",
          "json",
          file,
        ]);
        assert.equal(json.code, 1, json.stderr);
        const results = json.stdout.split("\n")
          .filter((l) => l.includes('"test_result"'))
          .map((l) => JSON.parse(l).data);
        assert.deepEqual(
          results.map((d) => {
            const [name, v] = Object.entries(d)[0] as [
              string,
              { passed: boolean; duration: number; output: string },
            ];
            assert.ok(Number.isInteger(v.duration) && v.duration >= 0);
            return [name, v.passed, v.output.includes("failure")];
          }),
          [["okay", true, false], ["failure", false, true], [
            "counted",
            true,
            false,
          ]],
        );
      } finally {
        Deno.removeSync(file);
      }
    },
  });

  Deno.test({
    name:
      `--test ${backend}: every test passing exits 0; without --test the test probes are left out`,
    ignore,
    async fn() {
      const prog = "test:a { @a = 1; } test:b { return 0; } " +
        'begin { printf("b\\n"); exit(); }';
      const ok = await runCli(["--backend", backend, "--test", "-e", prog]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.ok(ok.stdout.includes("[  PASSED  ] 2 tests.\n"), ok.stdout);
      const plain = await runCli(["--backend", backend, "-e", prog]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, /^b\n/);
      assert.doesNotMatch(plain.stdout, /@a: 1/, "test:a did not run");
      assert.match(plain.stderr, /^Attached 1 probe\b/m);
      const none = await runCli(["--backend", backend, "-e", "test:a { }"]);
      assert.equal(none.code, 1);
      assert.match(
        none.stderr,
        /ERROR: No probes attached; use --test to run test probes\./,
      );
    },
  });

  Deno.test({
    name:
      `--test ${backend}: a test probe reads the task (comm, pid) as BEGIN does: raw tracepoint helpers`,
    ignore,
    async fn() {
      const r = await runCli([
        "--backend",
        backend,
        "--test",
        "-e",
        'test:task { printf("%s %d\\n", comm, pid > 0); return 1; }',
      ]);
      assert.equal(r.code, 1, r.stderr);
      // The failed test's output: the runner's own process.
      assert.match(r.stdout, /^\[ RUN {6}\] task\n(deno|tsbpf) 1\n/m);
    },
  });

  Deno.test({
    name:
      `--bench ${backend}: a table of average times and iterations; non-zero return skips`,
    ignore,
    async fn() {
      const prog = 'begin { printf("begin\\n"); } ' +
        "bench:count { @c = count(); } bench:skipped { return 1; } " +
        "bench:loop { $i = 0; while ($i < 10) { $i++; } } " +
        "end { clear(@c); }";
      const r = await runCli(["--backend", backend, "--bench", "-e", prog]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split("\n");
      assert.equal(lines[0], "begin");
      assert.equal(
        lines[1],
        "Benchmark".padEnd(41) + "Time(ns)".padEnd(15) + "Iterations",
      );
      assert.equal(lines[2], "-".repeat(66));
      const rows = lines.slice(3, 5).map((l) =>
        /^(\S+) +(\d+) +(\d+)$/.exec(l)
      );
      assert.deepEqual(rows.map((m) => m?.[1]), ["count", "loop"], r.stdout);
      for (const m of rows) {
        const [avg, iters] = [Number(m![2]), Number(m![3])];
        // At least 1 ms of runs in all, as bpftrace. The average printed
        // is floored (bpftrace's integer division), up to 1 ns a run
        // below the measured one: 78.2 ns × 12800 runs is 1.0 ms, printed
        // as 78 ns (0.998 ms).
        assert.ok((avg + 1) * iters > 1e6, `${avg} ns × ${iters}`);
      }
      assert.doesNotMatch(r.stdout, /skipped/);
      const json = await runCli([
        "--backend",
        backend,
        "--bench",
        "-f",
        "json",
        "-e",
        "bench:a { @a = count(); } end { clear(@a); }",
      ]);
      assert.equal(json.code, 0, json.stderr);
      assert.match(
        json.stdout,
        /^\{"type": "benchmark_result", "data": \{"a": \{"average": \d+, "iters": \d+\}\}\}$/m,
      );
    },
  });
}

Deno.test("--test and --bench: parsed, not together; probes return integers only", async () => {
  assert.equal(parseCli(["--test", "-e", "x"]).mode, "test");
  assert.equal(parseCli(["--bench", "-e", "x"]).mode, "bench");
  assert.equal(parseCli(["-e", "x"]).mode, undefined);
  assert.throws(
    () => parseCli(["--test", "--bench", "-e", "x"]),
    /--test and --bench cannot be used together/,
  );
  // bpftrace's --mode spelling (its runtime tests use --mode bench).
  assert.equal(parseCli(["--mode", "bench", "-e", "x"]).mode, "bench");
  assert.equal(parseCli(["--mode", "test", "-e", "x"]).mode, "test");
  assert.throws(
    () => parseCli(["--mode", "test", "--bench", "-e", "x"]),
    /--bench conflicts with existing --mode/,
  );
  assert.throws(
    () => parseCli(["--mode", "format", "-e", "x"]),
    /--mode can only be 'test' or 'bench' in tsbpf, got "format"/,
  );
  const r = await runCli([
    "--backend",
    "interp",
    "-e",
    'interval:s:1 { return "a"; }',
  ]);
  assert.equal(r.code, 2);
  // 0.26's type_checker.cpp: any probe may return an integer.
  assert.match(
    r.stderr,
    /^stdin:1:16: ERROR: Probe return values can only be integers. Found string\[2\]$/m,
  );
});

Deno.test("--test/--bench formatting: durations, colours off, bench columns", () => {
  assert.equal(formatTestDuration(0), "0 ns");
  assert.equal(formatTestDuration(1_500), "1 μs");
  assert.equal(formatTestDuration(2_000_000), "2 ms");
  const one = [{ name: "t", passed: true, durationNs: 5, output: "x\n" }];
  assert.equal(
    formatTestText(one, 0, 1, false),
    "[==========] Running 1 tests.\n[ RUN      ] t\n[       OK ] t (5 ns)\n" +
      "[==========] 1 test ran.\n[  PASSED  ] 1 test.\n",
  );
  assert.ok(
    formatTestText(one, 0, 1, true).startsWith("\x1b[32m[==========]\x1b[0m "),
  );
  const long = "n".repeat(45);
  assert.equal(
    formatBenchText({ name: long, averageNs: 7.9, iters: 3 }, 0, [long])
      .split("\n")[2],
    long + " " + "7".padEnd(15) + "3",
  );
});

Deno.test("test: and bench: names: required and unique per kind, as bpftrace", async () => {
  const dup = await runCli([
    "--dry-run",
    "-e",
    "test:a { } test:a { } bench:a { } bench:b { } bench:b { }",
  ]);
  assert.equal(dup.code, 2);
  assert.match(
    dup.stderr,
    /^stdin:1:12: ERROR: "a" was used as the name for more than one TEST probe$/m,
  );
  assert.match(
    dup.stderr,
    /ERROR: "b" was used as the name for more than one BENCH probe$/m,
  );
  assert.doesNotMatch(dup.stderr, /"a" was used .* BENCH/);
  const unnamed = await runCli(["--dry-run", "-e", "test: { }"]);
  assert.equal(unnamed.code, 2);
  assert.match(unnamed.stderr, /ERROR: test probes must have a name$/m);
});
