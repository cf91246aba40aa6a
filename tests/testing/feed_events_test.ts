import assert from "node:assert/strict";
import { feedEvents } from "../../runtime/testing/feed_events.ts";
import { Tracer } from "../../runtime/staging/stage.ts";
import type { Str, U32 } from "../../runtime/staging/types.ts";

const KFREE_SKB = "tracepoint:skb:kfree_skb";

Deno.test("feedEvents: the kfree_skb one-liner counts exactly the events fed", async () => {
  const r = await feedEvents(
    `${KFREE_SKB} /pid != 0/ { @drops[pid, comm] = count(); }`,
    [
      { probe: KFREE_SKB, pid: 42, comm: "nginx", args: { reason: 2 } },
      { probe: KFREE_SKB, pid: 42, comm: "nginx", args: { reason: 3 } },
      { probe: KFREE_SKB, pid: 7, comm: "sshd" },
      { probe: KFREE_SKB, pid: 0, comm: "swapper/0" },
    ],
  );
  assert.equal(
    r.output,
    "Attached 1 probe\n\n\n@drops[7, sshd]: 1\n@drops[42, nginx]: 2\n",
  );
  assert.deepEqual(r.maps[0].entries, [
    { key: [7, "sshd"], value: 1 },
    { key: [42, "nginx"], value: 2 },
  ]);
});

Deno.test("feedEvents: string arguments, a fixed clock, cpu and random numbers", async () => {
  const r = await feedEvents(
    'tracepoint:syscalls:sys_enter_openat { printf("%s %d %s %llu %d %d\\n", comm, tid, str(args->filename), nsecs, cpu, rand); }',
    [
      {
        probe: "tracepoint:syscalls:sys_enter_openat",
        pid: 5,
        tid: 6,
        comm: "cat",
        cpu: 1,
        timeNs: 5_000_000_000,
        args: { filename: "/etc/hosts", flags: 0 },
        random: [1234],
      },
    ],
  );
  assert.deepEqual(r.lines, ["cat 6 /etc/hosts 5000000000 1 1234\n"]);
});

Deno.test("feedEvents: emits of a TypeScript probe body arrive typed", async () => {
  const t = new Tracer();
  const drop = t.event<{ pid: U32; comm: Str; reason: U32 }>("drop");
  t.probe(KFREE_SKB, (c) => {
    c.emit(drop, { pid: c.pid, comm: c.comm, reason: c.args.reason });
  });
  const r = await feedEvents(t, [
    { probe: KFREE_SKB, pid: 9, comm: "curl", args: { reason: 77 } },
  ]);
  assert.deepEqual(r.emits, [
    { event: "drop", record: { pid: 9, comm: "curl", reason: 77 } },
  ]);
});

Deno.test("feedEvents: an unknown field and an unfed read are clear errors", async () => {
  await assert.rejects(
    () =>
      feedEvents(`${KFREE_SKB} { @ = count(); }`, [
        { probe: KFREE_SKB, args: { no_such_field: 1 } },
      ]),
    /Tracepoint "skb:kfree_skb" has no field "no_such_field" \(fields: .*reason/,
  );
  await assert.rejects(
    () =>
      feedEvents(`${KFREE_SKB} { @[rand] = count(); }`, [
        { probe: KFREE_SKB },
      ]),
    /Cannot replay probe "tracepoint:skb:kfree_skb": it calls get_prandom_u32, which the recording does not hold/,
  );
});

Deno.test("runScript: scripts/kfree_skb.ts prints exactly the rows of the events fed", async () => {
  const { runScript } = await import("../../runtime/testing/feed_events.ts");
  const r = await runScript(
    new URL("../../scripts/kfree_skb.ts", import.meta.url),
    [
      { probe: KFREE_SKB, pid: 42, comm: "nginx", args: { reason: 2 } },
      { probe: KFREE_SKB, pid: 42, comm: "nginx", timeNs: 1.2e9 },
      { probe: KFREE_SKB, pid: 7, comm: "sshd", timeNs: 1.5e9 },
      // After the first one-second table: in the last, partial one, which
      // the end of the recording prints as Ctrl-C would.
      { probe: KFREE_SKB, pid: 9, comm: "curl", timeNs: 2.2e9 },
    ],
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    // The interval header shows the events' clock: one second after the
    // first event, which is 1 s after a boot at the epoch (UTC).
    r.stdout,
    "Tracing kfree_skb... Hit Ctrl-C to end.\n\n[00:00:02]\n" +
      "PID        COMM         DROP_COUNTS\n" +
      "42         nginx        2\n" +
      "7          sshd         1\n" +
      "\n[00:00:02]\n" +
      "PID        COMM         DROP_COUNTS\n" +
      "42         nginx        2\n" +
      "7          sshd         1\n" +
      "9          curl         1\n",
  );
  assert.match(r.stderr, /replaying .* \(4 events recorded/);
});

Deno.test("feedEvents: stacks fed with profile ticks print named from the symbols given", async () => {
  const tick = "profile:hz:99";
  const r = await feedEvents(
    `${tick} { @[comm, kstack, ustack] = count(); }`,
    [
      { probe: tick, comm: "app", kstack: [0xffffffff81000110n], ustack: [5] },
      { probe: tick, comm: "app", kstack: [0xffffffff81000110n], ustack: [5] },
      { probe: tick, comm: "idle", kstack: [0xffffffff81000010n] },
    ],
    {
      symbols: {
        kernel: {
          "0xffffffff81000000": "do_idle",
          "0xffffffff81000100": "vfs_read",
        },
        user: { "4": "main" },
      },
    },
  );
  assert.equal(
    r.output,
    "Attached 1 probe\n\n\n" +
      "@[idle, \n    do_idle+16\n, ]: 1\n" +
      "@[app, \n    vfs_read+16\n, \n    main+1\n]: 2\n",
  );
});

Deno.test("feedEvents: time() and strftime() print the events' clock, not the wall clock", async () => {
  const r = await feedEvents(
    'tracepoint:skb:kfree_skb { time("%s\\n"); printf("%s\\n", strftime("%s", nsecs)); }',
    [
      { probe: KFREE_SKB, timeNs: 5e9 },
      { probe: KFREE_SKB, timeNs: 7.5e9 },
    ],
  );
  assert.deepEqual(r.lines, ["5\n", "5\n", "7\n", "7\n"]);
});

Deno.test("feedEvents: interval ticks and profile samples fed at fixed times", async () => {
  const r = await feedEvents(
    'interval:s:1 { @ticks = count(); printf("tick %d\\n", elapsed / 1000000000); } profile:hz:99 { @s[cpu] = count(); }',
    [
      { probe: "profile:hz:99", cpu: 1 },
      { probe: "interval:s:1", timeNs: 2e9 },
      { probe: "profile:hz:99", cpu: 0 },
      { probe: "interval:s:1", timeNs: 3e9 },
    ],
  );
  assert.deepEqual(r.lines, ["tick 1\n", "tick 2\n"]);
  assert.deepEqual(r.maps.find((m) => m.name === "@s")?.entries, [
    { key: [0], value: 1 },
    { key: [1], value: 1 },
  ]);
});

Deno.test("feedEvents: registers of profile samples (reg()), and a clear error for an unknown one", async () => {
  const tick = "profile:hz:99";
  const r = await feedEvents(
    `${tick} { @[reg("ip") & 0xfff, reg("sp") > 0] = count(); }`,
    [
      { probe: tick, regs: { ip: 0xffffffff81000123n, sp: 0x7ffc0000 } },
      { probe: tick, regs: { ip: 0x401123 } },
      { probe: tick, regs: { ip: 0x401123 } },
    ],
  );
  assert.equal(
    r.output,
    "Attached 1 probe\n\n\n@[291, true]: 1\n@[291, false]: 2\n",
  );
  await assert.rejects(
    () =>
      feedEvents(`${tick} { @ = count(); }`, [{
        probe: tick,
        regs: { pc: 1 } as never,
      }]),
    /Unknown register "pc" \(registers: r15, /,
  );
});
