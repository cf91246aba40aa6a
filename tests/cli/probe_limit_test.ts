/**
 * The probe limit (issue 11 item 2): read from TSBPF_MAX_PROBES, else
 * BPFTRACE_MAX_PROBES, else 512; checked on attach points, BEGIN and END
 * excepted; the refusal suggests raw_syscalls only where it fits.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import {
  attachCount,
  checkProbeLimit,
  maxProbes,
  TooManyProbesError,
} from "../../runtime/probe_limit.ts";

Deno.test("maxProbes: ours first, then bpftrace's, then 512", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(maxProbes(env({})), 512);
  assert.equal(maxProbes(env({ BPFTRACE_MAX_PROBES: "900" })), 900);
  assert.equal(
    maxProbes(env({ BPFTRACE_MAX_PROBES: "900", TSBPF_MAX_PROBES: "20" })),
    20,
  );
  assert.throws(
    () => maxProbes(env({ TSBPF_MAX_PROBES: "0" })),
    /Invalid TSBPF_MAX_PROBES "0": it must be a positive integer/,
  );
});

Deno.test("checkProbeLimit counts attach points, not BEGIN or END", () => {
  const p = compile(
    "BEGIN { } tracepoint:syscalls:sys_enter_read, tracepoint:syscalls:sys_exit_read { } END { }",
  );
  assert.equal(attachCount(p), 2);
  checkProbeLimit(p, 2);
  try {
    checkProbeLimit(p, 1);
    assert.fail("not refused");
  } catch (e) {
    assert.ok(e instanceof TooManyProbesError);
    assert.equal(e.count, 2);
    assert.equal(e.limit, 1);
    assert.match(
      e.message,
      /tracepoint:raw_syscalls:sys_enter and tracepoint:raw_syscalls:sys_exit answers/,
    );
  }
});

Deno.test("checkProbeLimit suggests raw_syscalls only for syscall tracepoints", () => {
  const p = compile(
    "tracepoint:syscalls:sys_enter_read, tracepoint:sched:sched_switch { }",
  );
  try {
    checkProbeLimit(p, 1);
    assert.fail("not refused");
  } catch (e) {
    assert.ok(e instanceof TooManyProbesError);
    assert.doesNotMatch(e.message, /raw_syscalls/);
  }
});
