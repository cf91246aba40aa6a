// trace() with TypeScript probe bodies: the same program as bpftrace text,
// typed maps and typed emits, on the interpreter and (as root) the kernel.
import assert from "node:assert/strict";
import { ignoreKernel, tickUntil } from "./helpers.ts";
import { WorkloadProcess, workloadSkipReason } from "../support/workload.ts";
import {
  compile,
  type RecordOf,
  type S64,
  stage,
  type Str,
  trace,
  Tracer,
  type U32,
  type U64,
} from "../../mod.ts";

const BIG = 5000000000000000000n;
const workloadSkip = workloadSkipReason();

/** A getppid counter with a typed event carrying every kind of field. */
function getppidProgram() {
  const t = new Tracer();
  const calls = t.map<[U32, Str], "count">("calls");
  const total = t.map<[], "count">("total");
  const call = t.event<{
    pid: U32;
    comm: Str;
    ts: U64;
    big: U64;
    neg: S64;
  }>("call");
  t.probe("tracepoint:syscalls:sys_enter_getppid", (c) => {
    calls.at(c.pid, c.comm).count();
    total.count();
    c.emit(call, { pid: c.pid, comm: c.comm, ts: c.nsecs, big: BIG, neg: -5 });
  });
  return { t, calls, total, call };
}

const interp = { backend: "interp" as const, seed: 3, rate: 2000 };

Deno.test("a TS body and its bpftrace text compile to identical bytecode", async () => {
  const text =
    "tracepoint:skb:kfree_skb /pid != 0/ { @drops[pid, comm] = count(); }";
  const fromText = await trace(text, { ...interp, durationMs: 0 });
  await fromText.close();
  const fromTs = await trace((t) => {
    const drops = t.map<[U32, Str], "count">("drops");
    t.probe("tracepoint:skb:kfree_skb", (c) => {
      c.filter(c.pid.ne(0));
      drops.at(c.pid, c.comm).count();
    });
  }, { ...interp, durationMs: 0 });
  await fromTs.close();
  assert.equal(fromText.staged, undefined);
  assert.ok(fromTs.staged !== undefined);
  assert.deepEqual(
    fromTs.program.probes.map((p) => p.insns),
    fromText.program.probes.map((p) => p.insns),
  );
  assert.deepEqual(fromTs.program.maps, fromText.program.maps);
  assert.deepEqual(
    fromTs.program.probes.map((p) => p.insns),
    compile(text).probes.map((p) => p.insns),
  );
});

Deno.test("trace() takes a builder, a Tracer and a StagedProgram alike", async () => {
  const build = (t: Tracer) => {
    t.probe(
      "tracepoint:raw_syscalls:sys_enter",
      (c) => c.map<[Str], "count">("by_comm").at(c.comm).count(),
    );
  };
  const tracer = new Tracer();
  build(tracer);
  const results = [];
  for (const source of [build, tracer, stage(build)]) {
    await using s = await trace(source, { ...interp, durationMs: 300 });
    await s.run();
    results.push(s.map<string, number>("by_comm").entries());
  }
  assert.ok(results[0].length > 0);
  assert.deepEqual(results[1], results[0]);
  assert.deepEqual(results[2], results[0]);
});

Deno.test("typed emits on the interpreter match the typed map exactly", async () => {
  const { t, calls, total, call } = getppidProgram();
  await using s = await trace(t, { ...interp, durationMs: 500 });
  const seen = new Map<string, number>();
  let n = 0;
  for await (const r of s.emits(call)) {
    assert.equal(typeof r.pid, "number");
    assert.equal(typeof r.comm, "string");
    assert.equal(r.big, BIG);
    assert.equal(r.neg, -5);
    assert.deepEqual(Object.keys(r), ["pid", "comm", "ts", "big", "neg"]);
    const k = `${r.pid} ${r.comm}`;
    seen.set(k, (seen.get(k) ?? 0) + 1);
    n++;
  }
  assert.equal(s.exitReason, "duration");
  assert.ok(n > 10, `${n} records`);
  const counted = s.map(calls).entries();
  assert.equal(counted.length, seen.size);
  for (const [[pid, comm], count] of counted) {
    assert.equal(seen.get(`${pid} ${comm}`), count);
    assert.equal(s.map(calls).get(pid, comm), count);
  }
  assert.equal(s.map(total).get(), n);
});

Deno.test("emits are never printed as text, in print mode or by printf()", async () => {
  let printed = "";
  const s = await trace((t) => {
    const e = t.event<{ pid: U32 }>("e");
    t.begin((c) => c.printf("hello\n"));
    t.probe("tracepoint:syscalls:sys_enter_getppid", (c) => {
      c.map("n").at().count();
      c.emit(e, { pid: c.pid });
    });
  }, { ...interp, durationMs: 200, print: true, write: (x) => printed += x });
  let events = 0;
  let emits = 0;
  const lines: string[] = [];
  await Promise.all([
    (async () => {
      for await (const ev of s.events()) {
        events++;
        if (ev.emit !== undefined) {
          emits++;
          assert.equal(ev.emit.event, "e");
          assert.equal(ev.text, undefined);
        }
      }
    })(),
    (async () => {
      for await (const l of s.printf()) lines.push(l);
    })(),
  ]);
  const n = s.map<[], number>("n").get() ?? 0;
  await s.close();
  assert.ok(emits > 0 && emits === events && emits === n);
  assert.deepEqual(lines, []);
  assert.equal(
    printed,
    "Attached 2 probes (synthetic events from the interpreter, not the kernel)\n" +
      `hello\n\n\n@n: ${n}\n`,
  );
});

Deno.test("emits() and map() refuse what the program does not have", async () => {
  const other = new Tracer();
  const stranger = other.event<{ x: U32 }>("stranger");
  const unused = other.map<[U32], "count">("unused");
  await using s = await trace(getppidProgram().t, { ...interp, durationMs: 0 });
  await assert.rejects(
    () => s.emits(stranger).next(),
    (e) =>
      e instanceof RangeError &&
      e.message === 'Unknown event "stranger"; the program has "call"',
  );
  assert.throws(() => s.map(unused), /Unknown map "@unused"/);
  const all = [];
  for await (const r of s.emits()) all.push(r);
  assert.deepEqual(all, []);
});

Deno.test({
  name: "a TS body on the kernel counts a child's getppid calls exactly",
  ignore: ignoreKernel || workloadSkip !== undefined,
  async fn() {
    const { t, calls, call } = getppidProgram();
    // The child only (trace's pid, the CLI's -p): other processes calling
    // getppid neither count nor fill the ring.
    const w = await WorkloadProcess.start("tsbapi", ["getppid", "37"]);
    try {
      await using s = await trace(t, { backend: "kernel", pid: w.pid });
      assert.equal(s.engineKind, "kernel");
      const records: { pid: number; comm: string }[] = [];
      const collect = (async () => {
        for await (const r of s.emits(call)) records.push(r);
      })();
      await w.open();
      await tickUntil(s, () => records.length >= 37 || s.lostEvents() > 0);
      s.stop();
      await collect;
      await w.release();
      assert.equal(s.map(calls).get(w.pid, "tsbapi"), 37);
      assert.equal(records.length, 37, `${s.lostEvents()} records lost`);
      assert.ok(records.every((r) => r.pid === w.pid && r.comm === "tsbapi"));
    } finally {
      await w.kill();
    }
  },
});

Deno.test({
  name: "typed emits round-trip through the kernel's ring buffer",
  ignore: ignoreKernel || workloadSkip !== undefined,
  async fn() {
    const { t, call } = getppidProgram();
    const w = await WorkloadProcess.start("tsbapi", ["getppid", "1"]);
    try {
      await using s = await trace(t, { backend: "kernel", pid: w.pid });
      const records: RecordOf<typeof call>[] = [];
      const collect = (async () => {
        for await (const r of s.emits(call)) records.push(r);
      })();
      await w.open();
      await tickUntil(s, () => records.length >= 1 || s.lostEvents() > 0);
      s.stop();
      await collect;
      await w.release();
      assert.equal(records.length, 1, `${s.lostEvents()} records lost`);
      const [r] = records;
      assert.equal(r.pid, w.pid);
      assert.equal(r.comm, "tsbapi");
      assert.deepEqual(Object.keys(r), ["pid", "comm", "ts", "big", "neg"]);
      assert.equal(r.big, BIG);
      assert.equal(r.neg, -5);
      // nsecs: the monotonic clock, well past zero on a running machine.
      assert.ok(BigInt(r.ts) > 0n);
    } finally {
      await w.kill();
    }
  },
});
