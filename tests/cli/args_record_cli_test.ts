/**
 * A tracepoint's `args` used whole, from the command line: the exact text
 * `print(args)` prints in the kernel (a path this test opens itself,
 * through its own `-c` child) and in the interpreter, its JSON form, and
 * the located error for a record too large for the BPF stack.
 */

import assert from "node:assert/strict";
import { hasStackTrace, kernelSkipReason, runCli } from "./helpers.ts";

const kernelSkip = kernelSkipReason();
if (kernelSkip !== undefined) {
  console.log(`Skipping the kernel args record test: ${kernelSkip}`);
}

/** The path the `-c` child opens (it need not exist). */
const PATH = "/nonexistent/tsbpf-args-record";

/** A program printing args of the child's openat of `PATH`, both sides. */
const PROGRAM =
  `tracepoint:syscalls:sys_enter_openat /pid == cpid && str(args.filename) == "${PATH}"/ { print(args); @seen = 1; }
tracepoint:syscalls:sys_exit_openat /pid == cpid && @seen == 1/ { print(args); @seen = 2; }`;

Deno.test({
  name: "print(args) of sys_enter_openat and sys_exit_openat in the kernel",
  ignore: kernelSkip !== undefined,
  async fn() {
    const r = await runCli(
      ["-c", `/bin/cat ${PATH}`, "-e", PROGRAM],
      { timeoutMs: 120_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("{"));
    // dfd: AT_FDCWD (-100) as the zero-extended register of the call;
    // flags: O_RDONLY; cat's openat() fails with ENOENT.
    assert.deepEqual(
      lines.map((l) => l.replace(/0x[0-9a-f]+/, "0xADDR")),
      [
        "{ .__syscall_nr = 257, .dfd = 4294967196, .filename = 0xADDR, .flags = 0, .mode = 0 }",
        "{ .__syscall_nr = 257, .ret = -2 }",
      ],
    );
    assert.ok(!hasStackTrace(r.stderr), r.stderr);
  },
});

Deno.test({
  name: "@[args] and -f json of args in the kernel",
  ignore: kernelSkip !== undefined,
  async fn() {
    const r = await runCli(
      [
        "-f",
        "json",
        "-c",
        `/bin/cat ${PATH}`,
        "-e",
        `tracepoint:syscalls:sys_enter_openat /pid == cpid && str(args.filename) == "${PATH}"/ { print(args); @[args] = 1; }`,
      ],
      { timeoutMs: 120_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n").filter((l) =>
      l.includes('"type": "value"') || l.includes('"type": "map"')
    ).map((l) => l.replace(/0x[0-9a-f]+/g, "0xADDR"));
    assert.deepEqual(lines, [
      '{"type": "value", "data": {"__syscall_nr": 257, "dfd": 4294967196, "filename": "0xADDR", "flags": 0, "mode": 0}}',
      '{"type": "map", "data": {"@": {"{ .__syscall_nr = 257, .dfd = 4294967196, .filename = 0xADDR, .flags = 0, .mode = 0 }": 1}}}',
    ]);
  },
});

Deno.test("print(args), @ = args and @[(1, args)] in the interpreter", async (t) => {
  const r = await runCli([
    "--backend",
    "interp",
    "--seed",
    "7",
    "-e",
    'tracepoint:syscalls:sys_enter_openat /@n == 0/ { @n = 1; print(args); @a = args; @t[(1, args)] = (args, "bye"); $v = args; print($v.dfd); exit(); }',
  ]);
  assert.equal(r.code, 0, r.stderr);
  await t.assertSnapshot(r.stdout);
});

Deno.test("args too large for the BPF stack is a located compile error", async () => {
  const r = await runCli([
    "--backend",
    "interp",
    "--dry-run",
    "-e",
    "config = { max_strlen = 1024 } tracepoint:sched:sched_process_exec { print(args); }",
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    r.stderr,
    `stdin:1:76: ERROR: The args of tracepoint "sched:sched_process_exec" take 1040 bytes as a record, more than the BPF stack's 512: read its fields (args.filename) instead
config = { max_strlen = 1024 } tracepoint:sched:sched_process_exec { print(args); }
                                                                           ~~~~
`,
  );
});
