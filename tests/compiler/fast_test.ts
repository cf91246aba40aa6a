import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { entries, events, load, run, tpCtx } from "./harness.ts";

/**
 * bpftrace 0.17's translated (`xlated`) instruction counts for the four
 * hot-path programs, measured on this machine (Linux 6.18) by running
 * `bpftrace -e PROG &` and reading `bpftool prog show` (xlated bytes / 8).
 */
const BPFTRACE_XLATED = {
  count_comm: 31,
  pid_filter: 35,
  printf_open: 53,
  hist_read: 61,
};

const P1 = "tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }";
const P2 =
  "tracepoint:raw_syscalls:sys_enter /pid == 1234/ { @[args->id] = count(); }";
const P3 =
  'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); }';
const P4 =
  "tracepoint:syscalls:sys_exit_read /args->ret > 0/ { @bytes = hist(args->ret); }";

Deno.test("hot path programs are no longer than bpftrace's", () => {
  const counts = [P1, P2, P3, P4].map((p) => compile(p).probes[0].insns.length);
  assert.ok(counts[0] <= BPFTRACE_XLATED.count_comm, `P1: ${counts[0]}`);
  assert.ok(counts[1] <= BPFTRACE_XLATED.pid_filter, `P2: ${counts[1]}`);
  assert.ok(counts[2] <= BPFTRACE_XLATED.printf_open, `P3: ${counts[2]}`);
  assert.ok(counts[3] <= BPFTRACE_XLATED.hist_read, `P4: ${counts[3]}`);
  console.log(
    `instructions (tsbpf vs bpftrace xlated): ${
      counts.map((c, i) => `${c}/${Object.values(BPFTRACE_XLATED)[i]}`).join(
        " ",
      )
    }`,
  );
});

Deno.test("count by comm counts every run", () => {
  const l = load(P1, {}, { comm: "bash" });
  const tp = "tracepoint:syscalls:sys_enter_getppid";
  for (let i = 0; i < 5; i++) run(l, tp, tpCtx(l, tp, {}));
  const e = entries(l, "@");
  assert.deepEqual(e, [{ key: "bash", value: [5n] }]);
});

Deno.test("pid filter and syscall id key", () => {
  const tp = "tracepoint:raw_syscalls:sys_enter";
  const l = load(P2, {}, { pid: 1234 });
  run(l, tp, tpCtx(l, tp, { id: 39 }));
  run(l, tp, tpCtx(l, tp, { id: 39 }));
  run(l, tp, tpCtx(l, tp, { id: 0 }));
  run(l, tp, tpCtx(l, tp, { id: 7 }), { ...l.env, pid: 99 });
  const e = entries(l, "@").sort((a, b) => Number(a.key) - Number(b.key));
  assert.deepEqual(e, [
    { key: 0n, value: [1n] },
    { key: 39n, value: [2n] },
  ]);
});

Deno.test("printf record carries comm and the user string", () => {
  const tp = "tracepoint:syscalls:sys_enter_openat";
  const l = load(P3, {}, {
    comm: "cat",
    memory: [{
      addr: 0x7000n,
      bytes: new TextEncoder().encode("/etc/passwd\0"),
      space: "user",
    }],
  });
  run(l, tp, tpCtx(l, tp, { filename: 0x7000 }));
  assert.deepEqual(events(l), [{
    id: 0,
    kind: "printf",
    format: "%s %s\n",
    args: ["cat", "/etc/passwd"],
  }]);
});

Deno.test("hist buckets are bpftrace's log2 buckets", () => {
  const tp = "tracepoint:syscalls:sys_exit_read";
  const l = load(P4);
  const values = [0, -5, 1, 1, 2, 3, 4, 1023, 1024, 2 ** 40];
  for (const v of values) run(l, tp, tpCtx(l, tp, { ret: v }));
  const got = entries(l, "@bytes").map((e) => [e.bucket, e.value[0]])
    .sort((a, b) => Number(a[0]) - Number(b[0]));
  // 0 and -5 are filtered by the predicate; 1 -> 2, 2-3 -> 3, 4 -> 4,
  // 1023 -> 11, 1024 -> 12, 2^40 -> 42.
  assert.deepEqual(got, [[2n, 2n], [3n, 2n], [4n, 1n], [11n, 1n], [12n, 1n], [
    42n,
    1n,
  ]]);
});
