/**
 * `max_strlen`, `stack_mode` and `missing_probes` through the CLI, with
 * their environment variables, on both engines.
 */

import assert from "node:assert/strict";
import { kernelSkipReason, runCli } from "./helpers.ts";

const kernelSkip = kernelSkipReason();
if (kernelSkip !== undefined) {
  console.log(`Skipping the kernel half of the config tests: ${kernelSkip}`);
}
const ENGINES = [
  { backend: "kernel", ignore: kernelSkip !== undefined },
  { backend: "interp", ignore: false },
];

/** Whether this machine has a hardware PMU perf events can use. */
function hasHardwareCounters(): boolean {
  for (const pmu of ["cpu", "cpu_core", "cpu_atom", "armv8_pmuv3_0"]) {
    try {
      Deno.statSync(`/sys/bus/event_source/devices/${pmu}`);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

for (const { backend, ignore } of ENGINES) {
  // The kernel engine gets a command that surely opens a file.
  const run = backend === "kernel" ? ["-c", "cat /etc/hostname"] : [];

  Deno.test({
    name:
      `config ${backend}: BPFTRACE_STACK_MODE=raw prints kstack as bare addresses`,
    ignore,
    async fn() {
      const r = await runCli([
        "--backend",
        backend,
        ...run,
        "-e",
        "tracepoint:syscalls:sys_enter_openat { @[kstack(2)] = count(); exit(); }",
      ], { env: { BPFTRACE_STACK_MODE: "raw" } });
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split("\n");
      const at = lines.indexOf("@[");
      assert.ok(at >= 0, r.stdout);
      assert.match(lines[at + 1], /^[0-9a-f]+$/, r.stdout);
    },
  });

  Deno.test({
    name:
      `config ${backend}: missing_probes = warn skips a missing tracepoint with bpftrace's warning`,
    ignore,
    async fn() {
      const prog = "config = { missing_probes = warn }\n" +
        "tracepoint:syscalls:sys_enter_openat,tracepoint:syscalls:tsbpf_nonsense { @ = count(); exit(); }";
      const r = await runCli(["--backend", backend, ...run, "-e", prog]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^Attached 1 probe\b/m);
      assert.match(
        r.stderr,
        /^stdin:2:38: WARNING: No matches for tracepoint syscalls:tsbpf_nonsense\. Skipping\.\n/m,
      );
      const strict = await runCli([
        "--backend",
        backend,
        "-e",
        "config = { missing_probes = error } tracepoint:tsbpf_nonsense:* { }",
      ]);
      assert.equal(strict.code, 2, strict.stderr);
    },
  });

  Deno.test({
    name: `config ${backend}: a bad BPFTRACE_MAX_STRLEN is a usage error`,
    ignore,
    async fn() {
      const r = await runCli(
        ["--backend", backend, "-e", "BEGIN { exit(); }"],
        {
          env: { BPFTRACE_MAX_STRLEN: "lots" },
        },
      );
      assert.equal(r.code, 2);
      assert.match(
        r.stderr,
        /^tsbpf: Invalid BPFTRACE_MAX_STRLEN "lots": expected an integer from 1 to 4294967295\n/,
      );
    },
  });
}

for (const { backend, ignore } of ENGINES) {
  Deno.test({
    name:
      `config ${backend}: strlen() counts up to the max_strlen BPFTRACE_MAX_STRLEN sets`,
    ignore,
    async fn() {
      const lens = [0, 1, 63, 64, 99];
      const prog = lens.map((n, i) =>
        `BEGIN { @s[${i}] = "${
          "x".repeat(n)
        }"; printf("%d\\n", strlen(@s[${i}])); }`
      ).join("\n") + "\nBEGIN { clear(@s); exit(); }";
      const r = await runCli(["--backend", backend, "-e", prog], {
        env: { BPFTRACE_MAX_STRLEN: "100" },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split("\n"), lens.map(String));
    },
  });
}

const noPmu = kernelSkip ??
  (hasHardwareCounters()
    ? "this machine has hardware counters: hardware:cycles attaches"
    : undefined);
if (noPmu !== undefined) {
  console.log(`Skipping the attach-failure test of missing_probes: ${noPmu}`);
}

Deno.test({
  name:
    "config kernel: missing_probes = warn/ignore skip an attach point the kernel refuses (hardware counters on a VM)",
  ignore: noPmu !== undefined,
  async fn() {
    const prog = (mode: string) =>
      `config = { missing_probes = ${mode} } hardware:cycles:1000000 { @h = count(); } interval:ms:100 { @i = 1; exit(); }`;
    const warn = await runCli(["-e", prog("warn")]);
    assert.equal(warn.code, 0, warn.stderr);
    assert.match(warn.stderr, /^Attached 1 probe\n/m);
    assert.match(warn.stdout, /@i: 1\n/);
    assert.match(
      warn.stderr,
      /^WARNING: Cannot attach "hardware:cycles": .*\nWARNING: Unable to attach probe: hardware:cycles\. Skipping\.\n/m,
    );
    const quiet = await runCli(["-e", prog("ignore")]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /WARNING/);
    const strict = await runCli(["-e", prog("error")]);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /ERROR: Cannot attach "hardware:cycles"/);
  },
});
