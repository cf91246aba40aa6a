/**
 * The scripts of scripts/, each run over crafted events with the testing
 * API (`runScript`), their output pinned row by row. (scripts/kfree_skb.ts
 * is in feed_events_test.ts.)
 */
import assert from "node:assert/strict";
import { runScript, type TestEvent } from "../../testing.ts";
import {
  decodePprof,
  foldedOf,
  parseFolded,
} from "../metrics/pprof_helpers.ts";

const SYS = "tracepoint:syscalls";

async function run(
  script: string,
  events: TestEvent[],
  args: string[] = [],
): Promise<string> {
  const r = await runScript(
    new URL(`../../scripts/${script}.ts`, import.meta.url),
    events,
    args,
  );
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

Deno.test("scripts/syscount.ts counts the syscalls fed, by name", async () => {
  const enter = "tracepoint:raw_syscalls:sys_enter";
  const out = await run("syscount", [
    { probe: enter, pid: 5, comm: "nginx", args: { id: 0 } },
    { probe: enter, pid: 5, comm: "nginx", args: { id: 1 } },
    { probe: enter, pid: 6, comm: "sshd", args: { id: 0 }, timeNs: 1.5e9 },
    { probe: enter, pid: 6, comm: "sshd", args: { id: 0 }, timeNs: 2.2e9 },
  ]);
  assert.equal(
    out,
    "Tracing syscalls, printing top 10... Hit Ctrl-C to end.\n\n" +
      "SYSCALL                     COUNT\n" +
      "read                            3\n" +
      "write                           1\n",
  );
});

Deno.test("scripts/opensnoop.ts pairs each open with its result", async () => {
  const out = await run("opensnoop", [
    {
      probe: `${SYS}:sys_enter_openat`,
      pid: 5,
      comm: "cat",
      args: { filename: "/etc/hosts", flags: 0 },
    },
    { probe: `${SYS}:sys_exit_openat`, pid: 5, comm: "cat", args: { ret: 3 } },
    {
      probe: `${SYS}:sys_enter_openat`,
      pid: 6,
      comm: "ls",
      args: { filename: "/nope", flags: 0 },
    },
    { probe: `${SYS}:sys_exit_openat`, pid: 6, comm: "ls", args: { ret: -2 } },
  ], ["--duration", "1"]);
  assert.equal(
    out,
    "PID     COMM               FD ERR     PATH\n" +
      "5       cat                 3 0       /etc/hosts\n" +
      "6       ls                 -1 ENOENT  /nope\n",
  );
});

Deno.test("scripts/execsnoop.ts prints each exec", async () => {
  const out = await run("execsnoop", [
    {
      probe: `${SYS}:sys_enter_execve`,
      pid: 7,
      comm: "bash",
      args: { filename: "/usr/bin/ls", argv: ["ls", "-la", "/tmp"] },
    },
    // As it returns, the task already has the new program's name; its
    // parent is read in the probe.
    {
      probe: `${SYS}:sys_exit_execve`,
      pid: 7,
      comm: "ls",
      ppid: 3,
      args: { ret: 0 },
    },
  ]);
  assert.equal(
    out,
    "TIME(s)  PCOMM            PID     PPID    RET ARGS\n" +
      "0.001    ls               7       3         0 ls -la /tmp\n",
  );
});

Deno.test("scripts/killsnoop.ts prints each kill with its result and a summary", async () => {
  const out = await run("killsnoop", [
    {
      probe: `${SYS}:sys_enter_kill`,
      pid: 8,
      comm: "bash",
      args: { pid: 1234, sig: 15 },
    },
    { probe: `${SYS}:sys_exit_kill`, pid: 8, comm: "bash", args: { ret: 0 } },
  ]);
  assert.equal(
    out,
    "TIME(s)   PID     COMM             SIG       TPID       RESULT\n" +
      "0.001     8       bash             SIGTERM   1234       0\n\n" +
      "SIGNAL    CALLS\n" +
      "SIGTERM   1\n",
  );
});

Deno.test("scripts/readlat.ts histograms the read latencies fed", async () => {
  const out = await run("readlat", [
    {
      probe: `${SYS}:sys_enter_read`,
      pid: 5,
      comm: "cat",
      args: { fd: 3, count: 4096 },
      timeNs: 1e9,
    },
    {
      probe: `${SYS}:sys_exit_read`,
      pid: 5,
      comm: "cat",
      args: { ret: 100 },
      timeNs: 1e9 + 50_000,
    },
    {
      probe: `${SYS}:sys_enter_read`,
      pid: 5,
      comm: "cat",
      args: { fd: 3, count: 4096 },
      timeNs: 1.1e9,
    },
    {
      probe: `${SYS}:sys_exit_read`,
      pid: 5,
      comm: "cat",
      args: { ret: 0 },
      timeNs: 1.1e9 + 2_000,
    },
  ], ["--duration", "1"]);
  assert.equal(
    out,
    "Tracing read() latency... Hit Ctrl-C to end.\n\n" +
      "cat (PID 5): 2 reads, p50 4.0 us, p90 57.6 us, p99 63.4 us\n" +
      "[2, 4)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
      "[4, 8)                 0 |                                                    |\n" +
      "[8, 16)                0 |                                                    |\n" +
      "[16, 32)               0 |                                                    |\n" +
      "[32, 64)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n",
  );
});

Deno.test("scripts/dropreason.ts counts drops by reason name", async () => {
  const drop = "tracepoint:skb:kfree_skb";
  const out = await run("dropreason", [
    { probe: drop, pid: 5, comm: "nginx", args: { reason: 2 } },
    { probe: drop, pid: 5, comm: "nginx", args: { reason: 2 } },
    {
      probe: drop,
      pid: 0,
      comm: "swapper/0",
      args: { reason: 6 },
      timeNs: 1.5e9,
    },
  ], ["--duration", "1"]);
  // The header is the events' clock: 1 s after the first event (at 1 s).
  assert.equal(
    out,
    "Tracing packet drops by reason... Hit Ctrl-C to end.\n\n" +
      "[00:00:02]\n" +
      "REASON                      COUNT  PER_SEC TREND\n" +
      "NOT_SPECIFIED                   2      2.0 \u2588\n" +
      "SOCKET_RCVBUFF                  1      1.0 \u2588\n",
  );
});

Deno.test("a script whose replay meets a read the events do not give fails in one line", async () => {
  // execsnoop joins args->argv, which these events do not give.
  const r = await runScript(
    new URL("../../scripts/execsnoop.ts", import.meta.url),
    [{
      probe: `${SYS}:sys_enter_execve`,
      pid: 7,
      comm: "bash",
      args: { filename: "/usr/bin/ls" },
    }],
  );
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^execsnoop: Cannot replay probe "tracepoint:syscalls:sys_enter_execve": it reads 8 bytes at 0x0 \(probe_read_user\)/m,
  );
});

Deno.test("scripts/profile.ts folds the stacks fed, by count", async () => {
  const tick = "profile:hz:99";
  const symbols = {
    kernel: {
      "0xffffffff81000000": "do_syscall_64",
      "0xffffffff81000100": "__x64_sys_read",
    },
    user: { "0x401000": "main", "0x401100": "work;loop" },
    userObject: "/usr/bin/app",
  };
  const read = {
    kstack: [0xffffffff81000110n, 0xffffffff81000010n],
    ustack: [0x401105, 0x401010],
  };
  const events: TestEvent[] = [
    { probe: tick, pid: 5, comm: "app", ...read },
    { probe: tick, pid: 5, comm: "app", cpu: 1, ...read },
    { probe: tick, pid: 5, comm: "app", ustack: [0x401010] },
    { probe: tick, pid: 0, comm: "swapper/0", kstack: [0xffffffff81000008n] },
    { probe: tick, pid: 5, comm: "app", ...read, timeNs: 2.5e9 },
  ];
  const r = await runScript(
    new URL("../../scripts/profile.ts", import.meta.url),
    events,
    [],
    { symbols },
  );
  assert.equal(r.code, 0, r.stderr);
  // Outermost first, kernel frames last with _[k]; ";" in a name becomes
  // ":" (it separates frames); a stack missing on one side is left out.
  assert.equal(
    r.stdout,
    "app;main;work:loop;do_syscall_64_[k];__x64_sys_read_[k] 3\n" +
      "app;main 1\n" +
      "swapper/0;do_syscall_64_[k] 1\n",
  );
  // --pprof: the same samples, stamped with the events' clock (the first
  // event at 1 s after a boot at the epoch, the last at 2.5 s).
  const pprof = await Deno.makeTempFile({ suffix: ".pb.gz" });
  try {
    const p = await runScript(
      new URL("../../scripts/profile.ts", import.meta.url),
      events,
      ["--pprof", pprof],
      { symbols },
    );
    assert.equal(p.code, 0, p.stderr);
    const profile = await decodePprof(await Deno.readFile(pprof));
    assert.equal(profile.timeNanos, 1_000_000_000n);
    assert.equal(profile.durationNanos, 1_501_000_000n);
    assert.deepEqual(foldedOf(profile), parseFolded(r.stdout));
  } finally {
    await Deno.remove(pprof);
  }
  const offsets = await runScript(
    new URL("../../scripts/profile.ts", import.meta.url),
    events.slice(0, 1),
    ["--offsets"],
    { symbols },
  );
  assert.equal(
    offsets.stdout,
    "app;main+16;work:loop+5;do_syscall_64+16_[k];__x64_sys_read+16_[k] 1\n",
  );
});
