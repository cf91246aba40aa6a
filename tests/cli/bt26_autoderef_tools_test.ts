/**
 * bpftrace v0.26.1's own tools that read struct members through pointers
 * with `.` (`$sk.__sk_common.skc_family`, `args.rqtp` then `$t.tv_sec`):
 * each compiles (`--dry-run` in the interpreter, no privileges needed);
 * those whose probes this kernel has load and verify in the kernel, and
 * naptime runs for real. The tools are copies in `tests/fixtures/bt26/`
 * (Apache-2.0, bpftrace's; test inputs).
 */

import assert from "node:assert/strict";
import {
  hasStackTrace,
  kernelSkipReason,
  runCli,
  tempFile,
} from "./helpers.ts";

const DIR = new URL("../fixtures/bt26/", import.meta.url).pathname;
const kernelSkip = kernelSkipReason();

/** Tools that only needed `.` on pointers. */
const COMPILES = [
  "dcsnoop",
  "mdflush",
  "naptime",
  "runqlen",
  "tcpaccept",
  "tcpdrop",
  "tcpretrans",
  "tcpsynbl",
  "undump",
];

/**
 * Tools that read through pointers with `.` and also use what other parts
 * of the language add: the only errors they may still get (none once
 * those land), none of them about a member.
 */
const ALSO_NEED: Record<string, RegExp[]> = {
  // `if` without parentheses.
  oomkill: [/Expected "\(" after "if"/],
  // `if` without parentheses, `for $j : a..b`.
  opensnoop: [
    /Expected "\(" after "if"/,
    /Unexpected "else" without a matching "if"/,
    /Expected ";" or "}" after statement, found "\$j"/,
  ],
  // `#define AF_INET 2 /* IPv4 */`: a comment after a #define's value.
  tcpconnect: [/Unknown identifier: "AF_INET6?"/],
  // `$ignore = delete(@birth, $sk)`: delete() as a value.
  tcplife: [
    /delete\(\) cannot be used as a value/,
    /Cannot assign a value of type none/,
  ],
};

/** The ERROR lines of a run's stderr. */
function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.includes(" ERROR: "));
}

Deno.test("bpftrace 0.26.1 tools reading through pointers with '.' compile (--dry-run, interpreter)", async (t) => {
  for (const name of COMPILES) {
    await t.step(name, async () => {
      const r = await runCli([
        "--backend",
        "interp",
        "--dry-run",
        `${DIR}${name}.bt`,
      ]);
      assert.deepEqual(errorLines(r.stderr), [], r.stderr);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!hasStackTrace(r.stderr), r.stderr);
    });
  }
});

Deno.test("bpftrace 0.26.1 tools that also need other features: no member errors left", async (t) => {
  for (const [name, allowed] of Object.entries(ALSO_NEED)) {
    await t.step(name, async () => {
      const r = await runCli([
        "--backend",
        "interp",
        "--dry-run",
        `${DIR}${name}.bt`,
      ]);
      assert.ok(!hasStackTrace(r.stderr), r.stderr);
      const errors = errorLines(r.stderr);
      assert.equal(r.code, errors.length === 0 ? 0 : 2, r.stderr);
      for (const e of errors) {
        assert.ok(allowed.some((re) => re.test(e)), e);
      }
    });
  }
  // With its `if` written with parentheses, oomkill compiles whole.
  const text = await Deno.readTextFile(`${DIR}oomkill.bt`);
  const fixed = text.replace("if $memcg {", "if ($memcg) {");
  assert.notEqual(fixed, text);
  const r = await runCli([
    "--backend",
    "interp",
    "--dry-run",
    tempFile(fixed, ".bt"),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(errorLines(r.stderr), []);
});

Deno.test({
  name:
    "naptime, runqlen and tcpdrop (tracepoints, profile) load and verify in the kernel",
  ignore: kernelSkip !== undefined,
  async fn(t) {
    for (const name of ["naptime", "runqlen", "tcpdrop"]) {
      await t.step(name, async () => {
        const r = await runCli([
          "--backend",
          "kernel",
          "--dry-run",
          `${DIR}${name}.bt`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "");
      });
    }
  },
});

Deno.test({
  name: "naptime for real: the sleep it traces, read through args.rqtp",
  ignore: kernelSkip !== undefined,
  async fn() {
    const r = await runCli(
      ["--backend", "kernel", `${DIR}naptime.bt`, "-c", "sleep 0.2"],
      { timeoutMs: 120_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    // PPID PCOMM PID COMM SECONDS: the seconds asked of nanosleep.
    assert.match(r.stdout, /^\d\d:\d\d:\d\d \d+ +\S+ +\d+ +sleep +0\.200$/m);
  },
});

if (kernelSkip !== undefined) {
  console.log(`Skipping the bt26 tools' kernel tests: ${kernelSkip}`);
}
