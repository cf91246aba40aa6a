import assert from "node:assert/strict";
import { getppidChild, ignoreKernel, kernel, tickUntil } from "./helpers.ts";
import { trace, type TraceEvent } from "../../mod.ts";
import { WorkloadProcess, workloadSkipReason } from "../support/workload.ts";

const workloadSkip = workloadSkipReason();

const SOURCE = String.raw`tracepoint:syscalls:sys_enter_getppid {
  @calls[pid] = count();
  @tuple[pid, comm, 5000000000000000000] = count();
  @total = count();
  printf("%d %s\n", pid, comm);
}`;

Deno.test({
  name: "trace() on the kernel counts a child's getppid calls exactly",
  ignore: ignoreKernel,
  async fn() {
    await using s = await trace(SOURCE, { backend: "kernel" });
    assert.equal(s.engineKind, "kernel");
    const pid = await getppidChild(37);
    await s.every(100).next();
    // Tuple keys: arrays, looked up by parts; bigints above 2^53. The
    // python3 on PATH may be a wrapper that runs first (other comm, same
    // pid): count under the comm "python3" only.
    const tuple = s.map<[number, string, bigint], number>("@tuple");
    assert.equal(tuple.get(pid, "python3", 5000000000000000000n), 37);
    const mine = tuple.entries().filter(([[p]]) => p === pid);
    assert.deepEqual(
      mine.find(([[, comm]]) => comm === "python3"),
      [[pid, "python3", 5000000000000000000n], 37],
    );
    const calls = s.map<number, number>("calls");
    const all = mine.reduce((n, [, v]) => n + v, 0);
    assert.equal(calls.get(pid), all);
    assert.equal(calls.read().get(pid), all);
    // A keyless map: the key is [].
    const total = s.map<[], number>("total");
    assert.ok((total.get() ?? 0) >= 37);
    assert.equal(total.data().keyed, false);
  },
});

Deno.test({
  name: "trace() events() and printf() deliver a child's printf records",
  ignore: ignoreKernel || workloadSkip !== undefined,
  async fn() {
    // The child only (pid, the CLI's -p): other processes calling getppid
    // neither print nor fill the ring, so none of the child's is lost.
    const w = await WorkloadProcess.start("tsbapi", ["getppid", "11"]);
    try {
      await using s = await trace(SOURCE, { backend: "kernel", pid: w.pid });
      const events: TraceEvent<[number, string]>[] = [];
      const lines: string[] = [];
      const collect = (async () => {
        for await (const ev of s.events<[number, string]>()) events.push(ev);
      })();
      const collectLines = (async () => {
        for await (const line of s.printf()) lines.push(line);
      })();
      await w.open();
      await tickUntil(s, () => events.length >= 11 || s.lostEvents() > 0);
      s.stop();
      await Promise.all([collect, collectLines]);
      await w.release();
      assert.equal(s.exitReason, "stopped");
      assert.equal(events.length, 11, `${s.lostEvents()} records lost`);
      assert.equal(events[0].action.kind, "printf");
      assert.deepEqual(events[0].args, [w.pid, "tsbapi"]);
      assert.equal(events[0].text, `${w.pid} tsbapi\n`);
      assert.deepEqual(lines, Array(11).fill(`${w.pid} tsbapi`));
    } finally {
      await w.kill();
    }
  },
});

Deno.test({
  name: "every() ticks on the kernel clock until the duration passes",
  ignore: !kernel.ok,
  async fn() {
    await using s = await trace(
      "tracepoint:syscalls:sys_enter_getppid { @n = count(); }",
      { backend: "kernel", durationMs: 1000 },
    );
    const ticks = [];
    for await (const t of s.every(250)) ticks.push(t);
    assert.equal(s.exitReason, "duration");
    assert.equal(ticks.length, 4);
    ticks.forEach((t, i) => {
      assert.equal(t.index, i);
      assert.ok(t.elapsedMs >= (i + 1) * 250, `tick ${i} at ${t.elapsedMs}`);
      assert.ok(
        t.elapsedMs < (i + 1) * 250 + 200,
        `tick ${i} at ${t.elapsedMs}`,
      );
    });
  },
});

Deno.test({
  name:
    "exit() in the program ends every() and run(); print mode prints like the CLI",
  ignore: !kernel.ok,
  async fn() {
    let printed = "";
    const s = await trace(
      String
        .raw`BEGIN { @start = 1; printf("hello\n"); } interval:ms:300 { exit(); }`,
      { backend: "kernel", print: true, write: (t) => printed += t },
    );
    let ticks = 0;
    for await (const _ of s.every(50)) ticks++;
    assert.equal(s.exitReason, "exit");
    assert.ok(ticks >= 4 && ticks <= 8, `${ticks} ticks`);
    assert.equal(await s.run(), "exit");
    await s.close();
    assert.equal(printed, "Attached 2 probes\nhello\n\n\n@start: 1\n");
  },
});

Deno.test({
  name: "map() refuses unknown maps naming the ones there are; clear() empties",
  ignore: ignoreKernel,
  async fn() {
    await using s = await trace(SOURCE, { backend: "kernel" });
    assert.throws(
      () => s.map("nope"),
      (e) =>
        e instanceof RangeError &&
        e.message ===
          'Unknown map "@nope"; the program has "@calls", "@tuple", "@total"',
    );
    const pid = await getppidChild(3);
    await s.every(50).next();
    assert.ok((s.map<number, number>("calls").get(pid) ?? 0) >= 3);
    s.clear("calls");
    assert.equal(s.map<number, number>("calls").get(pid), undefined);
  },
});

const interp = { backend: "interp" as const, seed: 3, rate: 2000 };

Deno.test("every() ticks on the interpreter's virtual clock exactly", async () => {
  await using s = await trace(
    "tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }",
    { ...interp, durationMs: 1000 },
  );
  assert.equal(s.engineKind, "interp");
  const elapsed = [];
  for await (const t of s.every(100)) elapsed.push(t.elapsedMs);
  assert.deepEqual(elapsed, [
    100,
    200,
    300,
    400,
    500,
    600,
    700,
    800,
    900,
    1000,
  ]);
  assert.equal(s.exitReason, "duration");
  const top = s.map<string, number>("@").read();
  assert.ok(top.size > 0);
  for (const [comm, n] of top) {
    assert.equal(typeof comm, "string");
    assert.ok(n > 0);
  }
});

Deno.test("the interpreter gives the same maps for the same seed", async () => {
  const once = async () => {
    await using s = await trace(
      "tracepoint:raw_syscalls:sys_enter { @[pid, comm] = count(); }",
      { ...interp, durationMs: 300 },
    );
    await s.run();
    return s.map<[number, string], number>("@").entries();
  };
  const a = await once();
  assert.ok(a.length > 0);
  assert.deepEqual(await once(), a);
});

Deno.test("events() on the interpreter: typed printf records with text", async () => {
  await using s = await trace(
    String
      .raw`tracepoint:syscalls:sys_enter_openat { printf("%d %s\n", pid, comm); }`,
    { ...interp, durationMs: 500 },
  );
  const events = [];
  for await (const ev of s.events<[number, string]>()) events.push(ev);
  assert.ok(events.length > 0);
  for (const ev of events) {
    assert.equal(ev.action.kind, "printf");
    assert.equal(typeof ev.args[0], "number");
    assert.equal(ev.text, `${ev.args[0]} ${ev.args[1]}\n`);
  }
});

Deno.test("trace() reports compile errors before touching an engine", async () => {
  await assert.rejects(
    () => trace("tracepoint:syscalls:sys_enter_getppid { @x = cont(); }"),
    (e) => e instanceof Error && e.name === "CompileErrors",
  );
});

Deno.test({
  name: "join(args->argv) events arrive as text lines through printf()",
  ignore: !kernel.ok,
  async fn() {
    await using s = await trace(
      String
        .raw`tracepoint:syscalls:sys_enter_execve /comm == "tsbpf-join"/ { join(args->argv); }`,
      { backend: "kernel" },
    );
    const lines: string[] = [];
    const collect = (async () => {
      for await (const l of s.printf()) lines.push(l);
    })();
    // A script named tsbpf-join: the shell running it has that comm when
    // it execs /bin/true.
    const dir = Deno.makeTempDirSync();
    const script = `${dir}/tsbpf-join`;
    Deno.writeTextFileSync(script, "#!/bin/sh\n/bin/true one two three\n");
    Deno.chmodSync(script, 0o755);
    await new Deno.Command(script).output();
    await tickUntil(s, () => lines.length >= 1);
    s.stop();
    await collect;
    Deno.removeSync(dir, { recursive: true });
    assert.deepEqual(lines, ["/bin/true one two three"]);
  },
});

Deno.test({
  name: "kstack keys are symbolized on the kernel (engine without symbols)",
  ignore: !kernel.ok,
  async fn() {
    await using s = await trace("profile:hz:499 { @[kstack] = count(); }", {
      backend: "kernel",
      durationMs: 500,
    });
    await s.run();
    const stacks = s.map<{ type: "stack"; frames: string[] }, number>("@")
      .entries();
    assert.ok(stacks.length > 0);
    const frames = stacks.flatMap(([k]) => k.frames);
    assert.ok(frames.length > 0);
    for (const f of frames) assert.match(f, /^[\w.$]+\+\d+$|^0x[0-9a-f]+$/);
  },
});

Deno.test({
  name:
    "trace() turns the kernel's run-time statistics on only when asked (stats: true)",
  ignore: ignoreKernel,
  async fn() {
    // They cost every BPF program on the machine, so a session leaves them
    // off unless asked. A session turns them on by holding a
    // `bpf_enable_stats()` descriptor (`anon_inode:bpf-stats`); whether
    // they are on machine-wide also depends on other processes (and the
    // `kernel.bpf_stats_enabled` sysctl), so this process's descriptors
    // are what is checked, and the counts where it asked.
    const statsFds = () =>
      [...Deno.readDirSync("/proc/self/fd")].filter((e) => {
        try {
          return Deno.readLinkSync(`/proc/self/fd/${e.name}`) ===
            "anon_inode:bpf-stats";
        } catch {
          return false; // closed meanwhile
        }
      }).length;
    const counted = async (stats: boolean) => {
      await using s = await trace(
        "tracepoint:syscalls:sys_enter_getppid { @n = count(); }",
        { backend: "kernel", stats },
      );
      await getppidChild(20);
      await s.every(50).next();
      return { fds: statsFds(), runs: s.stats()[0].runCount };
    };
    assert.equal(statsFds(), 0);
    assert.equal((await counted(false)).fds, 0);
    const asked = await counted(true);
    assert.equal(asked.fds, 1);
    assert.ok(asked.runs >= 20, `${asked.runs} runs`);
    assert.equal(statsFds(), 0, "released at close");
  },
});
