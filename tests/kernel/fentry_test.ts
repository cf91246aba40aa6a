/**
 * fentry/fexit and BTF-typed rawtracepoint probes on the kernel engine.
 * Where the kernel runs fentry programs, `fentry:vfs_read` and
 * `fexit:vfs_read` are attached for real and count a workload's reads by
 * `args.count` and `retval`; where it does not (this project's own
 * machine: the kernel refuses BPF_TRACE_FENTRY programs at load, EPERM,
 * before its verifier runs), the run ends with one clear line naming the
 * probe, the step and the errno, status 1, on `--backend kernel` and
 * `--backend auto` alike: no fall-back to synthetic events. Raw
 * tracepoints typed by BTF run for real wherever BPF does.
 */

import assert from "node:assert/strict";
import {
  hasStackTrace,
  runTsbpf,
  skip,
  skipReason,
  workloadPath,
} from "./helpers.ts";
import { fentrySkipReason } from "../support/fentry.ts";

/** The reads the workload's `read 16` mode makes: 1 << (i % 8), twice each. */
const READS =
  "@[1]: 2\n@[2]: 2\n@[4]: 2\n@[8]: 2\n@[16]: 2\n@[32]: 2\n@[64]: 2\n@[128]: 2";

const fentryReason = skipReason ?? fentrySkipReason();
const noFentryReason = skipReason ??
  (fentrySkipReason() === undefined
    ? "this kernel runs fentry programs (the attach tests cover it)"
    : undefined);

/**
 * Asserts the workload's reads are among the map's lines (its dynamic
 * loader reads the libraries it maps too: other sizes).
 */
function assertReads(stdout: string): void {
  const lines = new Set(stdout.split("\n"));
  for (const want of READS.split("\n")) {
    assert.ok(lines.has(want), `${want} missing:\n${stdout}`);
  }
}

Deno.test({
  name: "fentry:vfs_read counts a workload's reads by args.count",
  ignore: skip("the fentry attach test", fentryReason),
  async fn() {
    const bin = await workloadPath();
    const r = await runTsbpf([
      "-c",
      `${bin} read 16`,
      "-e",
      "fentry:vfs_read /pid == cpid/ { @[args.count] = count(); }",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assertReads(r.stdout);
  },
});

Deno.test({
  name: "fexit:vfs_read: retval is what each read returned",
  ignore: skip("the fexit attach test", fentryReason),
  async fn() {
    const bin = await workloadPath();
    const r = await runTsbpf([
      "-c",
      `${bin} read 16`,
      "-e",
      "fexit:vfs_read /pid == cpid/ { @[retval] = count(); }",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assertReads(r.stdout);
  },
});

Deno.test({
  name:
    "fentry where the kernel refuses it: one line with the errno, status 1, no fall-back",
  ignore: skip("the fentry refusal test", noFentryReason),
  async fn() {
    for (const backend of ["kernel", "auto"]) {
      for (const probe of ["fentry", "fexit"]) {
        const r = await runTsbpf([
          "--backend",
          backend,
          "-e",
          `${probe}:vfs_read { @ = count(); }`,
        ]);
        assert.equal(r.code, 1, `${backend}: ${r.stderr}`);
        assert.ok(!hasStackTrace(r.stderr), r.stderr);
        assert.doesNotMatch(
          r.stdout + r.stderr,
          /synthetic|interpreter|Attached/,
        );
        const first = r.stderr.split("\n")[0];
        assert.match(
          first,
          new RegExp(
            `^ERROR: Cannot attach "${probe}:vmlinux:vfs_read": .*\\b(BPF_TRACE_F(ENTRY|EXIT))\\b.*: E[A-Z]+\\b`,
          ),
          r.stderr,
        );
      }
    }
  },
});

Deno.test({
  name: "rawtracepoint args from BTF: a struct pointer read through ->",
  ignore: skip("the rawtracepoint BTF test"),
  async fn() {
    // sys_exit fires for every system call: the workload makes some.
    const bin = await workloadPath();
    const r = await runTsbpf([
      "-c",
      `${bin} getppid 5`,
      "-e",
      "rawtracepoint:sys_exit /pid == cpid/ { @[args.ret == args.regs->ax] = count(); }",
    ]);
    assert.equal(r.code, 0, r.stderr);
    // The return value is the regs' ax (x86_64).
    assert.match(r.stdout, /^@\[true\]: \d+\n/m, r.stdout);
    assert.doesNotMatch(r.stdout, /@\[false\]/, r.stdout);
  },
});
