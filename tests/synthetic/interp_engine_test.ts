import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { decodeEvent, decodeMap } from "../../runtime/output/decode.ts";
import type {
  DecodedEvent,
  MapData,
  StackValue,
} from "../../runtime/output/types.ts";
import type { Program } from "../../runtime/program.ts";
import { VerifierError } from "../../runtime/verifier/error.ts";
import {
  InterpEngine,
  type InterpEngineOptions,
} from "../../runtime/engines/interp_engine.ts";

/** Every comm the synthetic machine may show (realistic process names). */
const KNOWN_COMMS = new Set([
  "systemd",
  "systemd-journal",
  "systemd-udevd",
  "systemd-resolve",
  "systemd-logind",
  "dbus-daemon",
  "cron",
  "rsyslogd",
  "in:imuxsock",
  "rs:main Q:Reg",
  "chronyd",
  "irqbalance",
  "sshd",
  "containerd",
  "dockerd",
  "containerd-shim",
  "nginx",
  "postgres",
  "redis-server",
  "bio_close_file",
  "io_thd_1",
  "java",
  "C2 CompilerThre",
  "C1 CompilerThre",
  "GC Thread#0",
  "VM Thread",
  "http-nio-8080-e",
  "node",
  "libuv-worker",
  "python3",
  "chrome",
  "ThreadPoolForeg",
  "Chrome_IOThread",
  "bash",
  "tmux: server",
  "vim",
  "curl",
  "git",
  "make",
  "cc1",
  "top",
]);

interface RunResult {
  engine: InterpEngine;
  records: Uint8Array[];
  events: DecodedEvent[];
  maps: MapData[];
}

async function run(
  program: Program,
  options: InterpEngineOptions,
  polls: number[],
): Promise<RunResult> {
  const engine = new InterpEngine(options);
  await engine.load(program);
  await engine.attach();
  const records: Uint8Array[] = [];
  await engine.runSpecial("BEGIN");
  for (const ms of polls) await engine.poll(ms, (r) => records.push(r.slice()));
  await engine.runSpecial("END");
  await engine.poll(0, (r) => records.push(r.slice()));
  const resolver = engine.symbols();
  const events = records.map((r) => decodeEvent(program, r, resolver));
  const maps = program.maps.flatMap((m, i) =>
    m.internal || !m.agg ? [] : [decodeMap(m, engine.readMap(i), resolver)]
  );
  return { engine, records, events, maps };
}

function counts(map: MapData): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of map.entries) out.set(JSON.stringify(e.key), Number(e.value));
  return out;
}

const OPENAT = `tracepoint:syscalls:sys_enter_openat {
  printf("%s %d %s\\n", comm, pid, str(args->filename));
  @opens[comm] = count();
}
tracepoint:raw_syscalls:sys_enter { @sys[args->id] = count(); }`;

Deno.test("same seed gives byte-identical events and maps", async () => {
  const prog = compile(OPENAT);
  const a = await run(prog, { seed: 42, rate: 2000 }, [
    100,
    100,
    100,
    100,
    100,
  ]);
  const b = await run(prog, { seed: 42, rate: 2000 }, [500]);
  assert.ok(a.records.length > 900);
  assert.deepEqual(a.records, b.records);
  for (let i = 0; i < prog.maps.length; i++) {
    if (prog.maps[i].internal) continue;
    const sortKey = (e: { key: Uint8Array }) => e.key.join(",");
    const ma = a.engine.readMap(i).sort((x, y) =>
      sortKey(x) < sortKey(y) ? -1 : 1
    );
    const mb = b.engine.readMap(i).sort((x, y) =>
      sortKey(x) < sortKey(y) ? -1 : 1
    );
    assert.deepEqual(ma, mb);
  }
  const c = await run(prog, { seed: 43, rate: 2000 }, [500]);
  assert.notDeepEqual(a.records, c.records);
  assert.equal(a.engine.clockMs(), 500);
});

Deno.test("sys_enter_openat records carry realistic comms and paths", async () => {
  const prog = compile(OPENAT);
  const { events, maps, engine } = await run(prog, { seed: 7, rate: 1000 }, [
    1000,
  ]);
  assert.equal(events.length, 1000);
  const comms = new Set<string>();
  for (const ev of events) {
    assert.equal(ev.action.kind, "printf");
    const [comm, pid, path] = ev.args as [string, number, string];
    assert.ok(KNOWN_COMMS.has(comm), `unknown comm ${JSON.stringify(comm)}`);
    assert.ok(pid > 0, `pid ${pid}`);
    assert.match(path, /^\/[\w.\-/:#]+$/);
    comms.add(comm);
  }
  assert.ok(comms.size >= 8, `only ${comms.size} processes`);
  const opens = counts(maps.find((m) => m.name === "@opens")!);
  assert.equal([...opens.values()].reduce((s, n) => s + n, 0), 1000);
  // raw_syscalls ids: read (0) is the most common syscall.
  const sys = counts(maps.find((m) => m.name === "@sys")!);
  const top = [...sys].sort((x, y) => y[1] - x[1])[0];
  assert.equal(top[0], "[0]");
  assert.deepEqual(engine.runtimeErrors(), { count: 0 });
});

Deno.test("kfree_skb per-process counts sum to rate × seconds", async () => {
  const prog = compile(
    "tracepoint:skb:kfree_skb { @[comm, pid] = count(); @r[args->reason] = count(); @p[args->protocol] = count(); }",
  );
  const { maps, engine } = await run(prog, { seed: 3, rate: 1000 }, [
    500,
    500,
    1000,
  ]);
  const per = maps.find((m) => m.name === "@")!;
  const values = per.entries.map((e) => Number(e.value)).sort((x, y) => y - x);
  assert.equal(values.reduce((s, n) => s + n, 0), 2000);
  assert.ok(values.length >= 10, `${values.length} processes`);
  // Skewed: the busiest process drops far more than the median one.
  assert.ok(values[0] > 4 * values[Math.floor(values.length / 2)]);
  for (const e of per.entries) {
    const [comm, pid] = e.key as [string, number];
    assert.ok(
      KNOWN_COMMS.has(comm) || /^(k\w+|jbd2|migration|rcu_)/.test(comm),
      comm,
    );
    assert.ok(pid > 0);
  }
  // Drop reasons: NO_SOCKET (3) and NOT_SPECIFIED (2) lead.
  const reasons = [...counts(maps.find((m) => m.name === "@r")!)].sort((x, y) =>
    y[1] - x[1]
  );
  assert.deepEqual(
    new Set(reasons.slice(0, 2).map((r) => r[0])),
    new Set(["[3]", "[2]"]),
  );
  const protos = counts(maps.find((m) => m.name === "@p")!);
  assert.ok((protos.get("[2048]") ?? 0) > (protos.get("[34525]") ?? 0));
  assert.equal(engine.stats()[0].runCount, 2000);
});

Deno.test("profile:hz:99 fires 99 times per second per CPU", async () => {
  const prog = compile("profile:hz:99 { @[cpu] = count(); @all = count(); }");
  const { maps } = await run(prog, { seed: 1, numCpus: 4 }, [1000, 1000]);
  const all = maps.find((m) => m.name === "@all")!;
  assert.equal(Number(all.entries[0].value), 99 * 4 * 2);
  const perCpu = counts(maps.find((m) => m.name === "@")!);
  assert.deepEqual([...perCpu.keys()].sort(), ["[0]", "[1]", "[2]", "[3]"]);
  for (const n of perCpu.values()) assert.equal(n, 198);
});

Deno.test("kstack and ksym resolve to kernel function names", async () => {
  const prog = compile(
    "profile:hz:997 { @[kstack] = count(); } tracepoint:skb:kfree_skb { @loc[ksym(args->location)] = count(); }",
  );
  const { maps } = await run(prog, { seed: 5, rate: 500 }, [1000]);
  const stacks = maps.find((m) => m.name === "@")!;
  const frames = stacks.entries.flatMap((e) => (e.key[0] as StackValue).frames);
  assert.ok(frames.length > 20);
  for (const f of frames) assert.match(f, /^[A-Za-z_][\w.]*\+\d+$/);
  const names = new Set(frames.map((f) => f.split("+")[0]));
  for (
    const n of ["do_idle", "do_syscall_64", "entry_SYSCALL_64_after_hwframe"]
  ) {
    assert.ok(names.has(n), `no ${n} frame`);
  }
  const loc = counts(maps.find((m) => m.name === "@loc")!);
  for (const k of loc.keys()) assert.match(k, /^\["[a-z_0-9]+"\]$/);
  assert.ok(loc.has('["tcp_v4_rcv"]'));
});

Deno.test("BEGIN and END run once each", async () => {
  const prog = compile(
    'BEGIN { printf("start %s\\n", comm); } tracepoint:raw_syscalls:sys_exit { @n = count(); } END { printf("end\\n"); }',
  );
  const { events, maps } = await run(prog, { seed: 9, rate: 100 }, [1000]);
  assert.deepEqual(events.map((e) => e.args), [["tsbpf"], []]);
  assert.equal(Number(maps[0].entries[0].value), 100);
});

Deno.test("a full ring buffer drops events and counts them", async () => {
  const prog = compile(
    'tracepoint:syscalls:sys_enter_openat { printf("%s %s %s\\n", comm, str(args->filename), str(args->filename)); }',
  );
  const engine = new InterpEngine({ seed: 2, rate: 50_000 });
  await engine.load(prog);
  await engine.attach();
  let got = 0;
  await engine.poll(1000, () => got++);
  const lost = engine.lostEvents();
  assert.ok(lost > 0, "nothing lost");
  assert.equal(got + lost, 50_000);
  // A prompt consumer loses nothing more.
  for (let i = 0; i < 10; i++) await engine.poll(10, () => got++);
  assert.equal(engine.lostEvents(), lost);
  assert.equal(got + lost, 55_000);
  engine.close();
  engine.close();
});

Deno.test("a faulting probe is counted and the others keep running", async () => {
  // A budget of 28 instructions: the long printf probe exceeds it, the
  // counting probe does not.
  const prog = compile(
    'tracepoint:raw_syscalls:sys_enter { printf("%d %d %d %d %d %d %d %d\\n", pid, tid, uid, gid, cpu, pid, tid, uid); } tracepoint:sched:sched_switch { @n = count(); }',
  );
  const { engine, maps, events } = await run(prog, {
    seed: 4,
    rate: 100,
    budget: 28,
  }, [1000]);
  const errs = engine.runtimeErrors();
  assert.equal(errs.count, 100);
  assert.match(
    errs.first ?? "",
    /^sys_enter: Instruction budget of 28 exceeded/,
  );
  assert.equal(events.length, 0);
  assert.equal(Number(maps[0].entries[0].value), 100);
  const [enter, exit] = engine.stats();
  assert.equal(enter.errors, 100);
  assert.equal(exit.errors, 0);
  assert.equal(exit.runCount, 100);
});

Deno.test("-p restricts events to one process", async () => {
  const prog = compile(
    "tracepoint:raw_syscalls:sys_enter { @[pid, comm] = count(); }",
  );
  const first = await run(prog, { seed: 11, rate: 1000 }, [200]);
  const [pid] = first.maps[0].entries[0].key as [number, string];
  const only = await run(prog, { seed: 11, rate: 1000, pid }, [200]);
  assert.ok(only.maps[0].entries.length >= 1);
  for (const e of only.maps[0].entries) assert.equal(e.key[0], pid);
});

Deno.test("a probe the verifier rejects fails to load with its message", async () => {
  const prog = compile("tracepoint:raw_syscalls:sys_enter { @n = count(); }");
  // Read past the 64-byte context.
  prog.probes[0].insns = [
    { code: 0x79, dst: 0, src: 1, off: 64, imm: 0 },
    { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  ];
  const engine = new InterpEngine();
  const err = await engine.load(prog).then(() => undefined, (e) => e);
  assert.ok(err instanceof VerifierError);
  assert.match(
    String(err),
    /^ProgramRejectedError: Probe "sys_enter" rejected by tsbpf's verifier at instruction 0 \(script line 1, column \d+\): context access out of range/,
  );
});

Deno.test("reads outside synthetic memory fail with a zeroed result", async () => {
  const prog = compile(
    'tracepoint:syscalls:sys_enter_openat { printf("[%s]\\n", str(args->filename + 100000000)); }',
  );
  const { events, engine } = await run(prog, { seed: 1, rate: 10 }, [1000]);
  assert.equal(events.length, 10);
  for (const e of events) assert.deepEqual(e.args, [""]);
  assert.equal(engine.runtimeErrors().count, 0);
});

Deno.test("many sources (wildcards) merge in the same order however polled", async () => {
  const prog = compile("tracepoint:net:* { @[pid, cpu] = count(); }");
  assert.ok(prog.probes[0].attach.length > 8);
  const a = await run(prog, { seed: 8, rate: 500 }, [250, 250, 500]);
  const b = await run(prog, { seed: 8, rate: 500 }, [1000]);
  assert.deepEqual(a.maps, b.maps);
  const total = a.engine.stats().reduce((s, p) => s + p.runCount, 0);
  assert.equal(
    total,
    prog.probes.reduce((s, p) => s + p.attach.length, 0) * 500,
  );
});

Deno.test("sched_switch records follow the format: prev is the current task", async () => {
  const prog = compile(
    'tracepoint:sched:sched_switch { printf("%s %d %s %d %s %d\\n", comm, tid, args->prev_comm, args->prev_pid, args->next_comm, args->next_pid); }',
  );
  const { events } = await run(prog, { seed: 12, rate: 1000 }, [500]);
  assert.equal(events.length, 500);
  let idle = 0;
  for (const e of events) {
    const [comm, tid, prevComm, prevPid, nextComm, nextPid] = e
      .args as [
        string,
        number,
        string,
        number,
        string,
        number,
      ];
    assert.equal(prevComm, comm);
    assert.equal(prevPid, tid);
    if (nextComm.startsWith("swapper/")) {
      idle++;
      assert.equal(nextPid, 0);
    } else assert.ok(nextPid > 0 && nextComm.length > 0);
  }
  assert.ok(idle > 50 && idle < 250, `${idle} switches to idle`);
});

Deno.test("sys_exit_read returns byte counts and some errors", async () => {
  const prog = compile(
    "tracepoint:syscalls:sys_exit_read { @err[args->ret < 0 ? args->ret : 1] = count(); @bytes = sum(args->ret > 0 ? args->ret : 0); }",
  );
  const { maps } = await run(prog, { seed: 13, rate: 5000 }, [1000]);
  const err = counts(maps.find((m) => m.name === "@err")!);
  const ok = err.get("[1]") ?? 0;
  assert.ok(ok > 3000 && ok < 5000, `${ok} successful reads`);
  assert.ok((err.get("[-11]") ?? 0) > 200, "EAGAIN is common");
  for (const k of err.keys()) assert.match(k, /^\[(1|-\d+)\]$/);
  const bytes = Number(maps.find((m) => m.name === "@bytes")!.entries[0].value);
  assert.ok(
    bytes / ok > 512 && bytes / ok < 65536,
    `${bytes / ok} bytes per read`,
  );
});

Deno.test("kprobe, kretprobe and uprobe contexts carry plausible registers", async () => {
  const prog = compile(
    "kprobe:vfs_read { @size = hist(arg2); @fn[func] = count(); } kretprobe:vfs_read { @neg = sum((int64)retval < 0 ? 1 : 0); @n = count(); } uprobe:/usr/bin/bash:readline { @u[comm, ustack] = count(); }",
  );
  const { maps, engine } = await run(prog, { seed: 14, rate: 1000 }, [1000]);
  assert.deepEqual(engine.runtimeErrors(), { count: 0 });
  const fn = maps.find((m) => m.name === "@fn")!;
  assert.deepEqual(fn.entries.map((e) => e.key), [["vfs_read"]]);
  const neg = Number(maps.find((m) => m.name === "@neg")!.entries[0].value);
  assert.ok(neg > 30 && neg < 500, `${neg} failed reads`);
  const u = maps.find((m) => m.name === "@u")!;
  for (const e of u.entries) {
    const [comm, stack] = e.key as [string, StackValue];
    assert.equal(comm, "bash");
    // At a function's entry the first frame is the function itself.
    assert.equal(stack.frames[0], "readline+0");
    assert.match(stack.frames[1], /^yy_readline_get\+\d+$/);
    assert.match(stack.frames[stack.frames.length - 1], /^_start\+\d+$/);
  }
});

Deno.test("interval, software and hardware probes fire at their period", async () => {
  const prog = compile(
    "interval:ms:100 { @i = count(); } software:cs:1000 { @s = count(); } hardware:cycles:1000000 { @h = count(); }",
  );
  const engine = new InterpEngine({ seed: 15, numCpus: 2 });
  await engine.load(prog);
  await engine.attach();
  const value = (name: string) => {
    const i = prog.maps.findIndex((m) => m.name === name);
    return Number(decodeMap(prog.maps[i], engine.readMap(i)).entries[0].value);
  };
  await engine.poll(1000, () => {});
  // 5000 context switches per second per CPU, one sample per 1000.
  assert.equal(value("@s"), 10);
  // 2.5 GHz per CPU, one sample per million cycles.
  assert.equal(value("@h"), 5000);
  // interval fires one period after attach: 100, 200, ... 900 ms so far,
  // the tenth exactly at 1000 ms.
  assert.equal(value("@i"), 9);
  await engine.poll(1, () => {});
  assert.equal(value("@i"), 10);
  engine.close();
});

Deno.test("realtime polls keep virtual time with wall time", async () => {
  const prog = compile("tracepoint:raw_syscalls:sys_enter { @n = count(); }");
  const engine = new InterpEngine({ seed: 1, realtime: true, rate: 100 });
  await engine.load(prog);
  await engine.attach();
  const t0 = performance.now();
  for (let i = 0; i < 3; i++) await engine.poll(40, () => {});
  const wall = performance.now() - t0;
  assert.ok(wall >= 110, `${wall} ms of wall time`);
  assert.equal(engine.clockMs(), 120);
  engine.close();
});

Deno.test("traced entries and returns pair up per thread with real latencies", async () => {
  const prog = compile(`
tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; @enter = count(); }
tracepoint:syscalls:sys_exit_read /@start[tid]/ {
  @ns = hist(nsecs - @start[tid]);
  @paired = count();
  delete(@start[tid]);
}
tracepoint:syscalls:sys_exit_read { @exit = count(); }`);
  const { maps } = await run(prog, { seed: 16, rate: 1000 }, [1000, 1000]);
  const v = (name: string) =>
    Number(maps.find((m) => m.name === name)!.entries[0].value);
  // Every exit follows an enter; only the latest few are still pending.
  assert.equal(v("@enter"), 2000);
  assert.ok(v("@exit") <= 2000 && v("@exit") > 1950, `${v("@exit")} exits`);
  // Nearly all exits find their thread's start time.
  assert.ok(v("@paired") > 0.95 * v("@exit"), `${v("@paired")} paired`);
  const hist = maps.find((m) => m.name === "@ns")!.entries[0].value as {
    index: number;
    count: number;
  }[];
  // Latencies spread from sub-microsecond to milliseconds, none negative.
  const used = hist.filter((b) => Number(b.count) > 0).map((b) => b.index);
  assert.ok(Math.min(...used) >= 9 && Math.max(...used) >= 18, used.join(","));
});

Deno.test("biolatency and runqlat style pairs see realistic latencies", async () => {
  const prog = compile(`
tracepoint:block:block_rq_issue { @start[args->dev, args->sector] = nsecs; }
tracepoint:block:block_rq_complete /@start[args->dev, args->sector]/ {
  @io = hist((nsecs - @start[args->dev, args->sector]) / 1000);
  delete(@start[args->dev, args->sector]);
  @done = count();
}
tracepoint:sched:sched_wakeup { @q[args->pid] = nsecs; @woken = count(); }
tracepoint:sched:sched_switch /@q[args->next_pid]/ {
  @rq = hist((nsecs - @q[args->next_pid]) / 1000);
  delete(@q[args->next_pid]);
  @ran = count();
}`);
  const { maps } = await run(prog, { seed: 17, rate: 1000 }, [1000]);
  const v = (name: string) =>
    Number(maps.find((m) => m.name === name)!.entries[0].value);
  assert.ok(v("@done") > 950, `${v("@done")} completions matched`);
  assert.ok(
    v("@ran") > 900 && v("@woken") === 1000,
    `${v("@ran")} switches matched`,
  );
  const buckets = (name: string) =>
    (maps.find((m) => m.name === name)!.entries[0].value as {
      index: number;
      count: number;
    }[])
      .filter((b) => Number(b.count) > 0).map((b) => b.index);
  // Block I/O: tens of microseconds to tens of milliseconds.
  const io = buckets("@io");
  assert.ok(Math.min(...io) >= 6 && Math.max(...io) >= 14, io.join(","));
  // Run queue: mostly microseconds.
  const rq = buckets("@rq");
  assert.ok(Math.min(...rq) <= 3 && Math.max(...rq) < 16, rq.join(","));
});

/** Per thread, the kinds ("in"/"out") of its events in order. */
function sequences(events: DecodedEvent[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of events) {
    const [kind, tid] = e.args as [string, number];
    const k = String(tid);
    let list = out.get(k);
    if (list === undefined) out.set(k, list = []);
    list.push(kind);
  }
  return out;
}

/** Fails unless every thread alternates in, out, in, out, ... */
function assertAlternating(events: DecodedEvent[]): void {
  for (const [tid, kinds] of sequences(events)) {
    kinds.forEach((k, i) =>
      assert.equal(k, i % 2 === 0 ? "in" : "out", `tid ${tid}, event ${i}`)
    );
  }
}

/** Fails unless the events' timestamps (second argument) never go back. */
function assertTimeOrdered(events: DecodedEvent[]): void {
  let last = 0;
  for (const e of events) {
    const ns = Number((e.args as unknown[])[2]);
    assert.ok(ns >= last, `${ns} after ${last}`);
    last = ns;
  }
}

const UPROBE_PAIR =
  `uprobe:/usr/bin/bash:readline { printf("%s %d %d\\n", "in", tid, nsecs); @start[tid] = nsecs; @in = count(); }
uretprobe:/usr/bin/bash:readline /@start[tid]/ {
  printf("%s %d %d %s\\n", "out", tid, nsecs, func);
  @lat = hist(nsecs - @start[tid]);
  delete(@start[tid]);
  @out = count();
}`;

Deno.test("a one-thread target enters and returns in turn, nothing lost", async () => {
  const prog = compile(UPROBE_PAIR);
  const a = await run(prog, { seed: 3, rate: 1000, pid: 4242 }, [1000]);
  const v = (name: string) =>
    Number(a.maps.find((m) => m.name === name)!.entries[0].value);
  assert.equal(v("@in"), 1000);
  // Every call returned but, perhaps, the last.
  assert.ok(v("@out") >= 999, `${v("@out")} of 1000 returned`);
  assert.equal(v("@out"), a.events.filter((e) => e.args[0] === "out").length);
  assertAlternating(a.events);
  assertTimeOrdered(a.events);
  // The return address is in the caller.
  for (const e of a.events) {
    if (e.args[0] === "out") assert.equal(e.args[3], "yy_readline_get");
  }
  // However the time is cut into polls: the same events.
  const b = await run(prog, { seed: 3, rate: 1000, pid: 4242 }, [
    7,
    13,
    480,
    1,
    499,
  ]);
  assert.deepEqual(b.records, a.records);
  // Polls shorter than the time between events: the same events.
  const fast = { seed: 3, rate: 20_000, pid: 4242 };
  const c = await run(prog, fast, [100]);
  const d = await run(prog, fast, Array.from({ length: 1000 }, () => 0.1));
  assert.ok(c.records.length >= 3999, `${c.records.length} events`);
  assert.deepEqual(d.records, c.records);
});

Deno.test("kprobe and kretprobe calls of a thread do not overlap", async () => {
  const prog = compile(
    `kprobe:vfs_read { printf("%s %d %d\\n", "in", tid, nsecs); }
kretprobe:vfs_read { printf("%s %d %d\\n", "out", tid, nsecs); }`,
  );
  const { events } = await run(prog, { seed: 9, rate: 5000 }, [200]);
  assert.ok(events.length >= 1990, `${events.length} events`);
  assertAlternating(events);
  assertTimeOrdered(events);
});

Deno.test("a return due inside a poll window is delivered in it", async () => {
  const prog = compile(UPROBE_PAIR);
  const engine = new InterpEngine({ seed: 4, rate: 1000, pid: 4242 });
  await engine.load(prog);
  await engine.attach();
  const records: Uint8Array[] = [];
  await engine.poll(20, (r) => records.push(r.slice()));
  const events = records.map((r) => decodeEvent(prog, r, engine.symbols()));
  const ins = events.filter((e) => e.args[0] === "in").length;
  const outs = events.filter((e) => e.args[0] === "out").length;
  assert.equal(ins, 20);
  assert.ok(outs === 19 || outs === 20, `${outs} returns`);
  engine.close();
});

Deno.test("a thread is in one syscall at a time, over every traced syscall", async () => {
  // Wildcards: many sources, merged through the engine's heap.
  const prog = compile(
    `tracepoint:syscalls:sys_enter_read,tracepoint:syscalls:sys_enter_write,tracepoint:syscalls:sys_enter_openat,tracepoint:syscalls:sys_enter_close,tracepoint:syscalls:sys_enter_futex
{ printf("%s %d %d\\n", "in", tid, nsecs); }
tracepoint:syscalls:sys_exit_read,tracepoint:syscalls:sys_exit_write,tracepoint:syscalls:sys_exit_openat,tracepoint:syscalls:sys_exit_close,tracepoint:syscalls:sys_exit_futex
{ printf("%s %d %d\\n", "out", tid, nsecs); }`,
  );
  assert.ok(prog.probes.reduce((n, p) => n + p.attach.length, 0) > 8);
  const a = await run(prog, { seed: 5, rate: 2000 }, [500]);
  assert.ok(a.events.length > 9000, `${a.events.length} events`);
  assertAlternating(a.events);
  assertTimeOrdered(a.events);
  const b = await run(prog, { seed: 5, rate: 2000 }, [100, 3, 397]);
  assert.deepEqual(b.records, a.records);
});

Deno.test("kretprobe func and kstack start at the return address in the caller", async () => {
  const prog = compile(
    'kretprobe:vfs_read { @f[func] = count(); @k[kstack(2)] = count(); @ip[ksym(reg("ip"))] = count(); } kprobe:vfs_read { @e[kstack(1)] = count(); }',
  );
  const { maps } = await run(prog, { seed: 6, rate: 1000 }, [100]);
  const keys = (name: string) =>
    maps.find((m) => m.name === name)!.entries.map((e) => e.key);
  assert.deepEqual(keys("@f"), [["ksys_read"]]);
  assert.deepEqual(keys("@ip"), [["ksys_read"]]);
  const k = keys("@k")[0][0] as StackValue;
  assert.match(k.frames[0], /^ksys_read\+\d+$/);
  assert.match(k.frames[1], /^__x64_sys_read\+\d+$/);
  const e = keys("@e")[0][0] as StackValue;
  assert.deepEqual(e.frames, ["vfs_read+0"]);
});

Deno.test("perf-mode user stacks name each frame's object", async () => {
  const prog = compile(
    "uprobe:/opt/app/bin/server:handle { @p[ustack(perf, 3)] = count(); }",
  );
  const { maps } = await run(prog, { seed: 7, rate: 1000, pid: 4242 }, [50]);
  const p = maps.find((m) => m.name === "@p")!.entries[0].key[0] as StackValue;
  assert.deepEqual(p.frames, [
    "handle+0 (/opt/app/bin/server)",
    `${p.frames[1].split(" ")[0]} (/opt/app/bin/server)`,
    `${p.frames[2].split(" ")[0]} (/usr/lib/x86_64-linux-gnu/libc.so.6)`,
  ]);
  assert.match(p.frames[1], /^main\+\d+ /);
  assert.match(p.frames[2], /^__libc_start_call_main\+\d+ /);
  assert.equal(p.addresses?.length, 3);
  const all = await run(
    compile(
      'tracepoint:syscalls:sys_enter_read /comm == "nginx"/ { @n[ustack(perf)] = count(); }',
    ),
    { seed: 7, rate: 2000 },
    [200],
  );
  const n = all.maps[0].entries;
  assert.ok(n.length > 0);
  for (const e of n) {
    const s = e.key[0] as StackValue;
    for (const f of s.frames) {
      assert.match(
        f,
        /^\S+ \((\/usr\/sbin\/nginx|\/usr\/lib\/x86_64-linux-gnu\/libc\.so\.6)\)$/,
      );
    }
  }
});

const kallsymsSkip = (() => {
  try {
    const line = Deno.readTextFileSync("/proc/kallsyms").split("\n", 1)[0];
    return /^0+ /.test(line)
      ? "/proc/kallsyms hides addresses from this user"
      : undefined;
  } catch (e) {
    return `/proc/kallsyms is not readable: ${(e as Error).message}`;
  }
})();
if (kallsymsSkip !== undefined) {
  console.log(`Skipping the host kallsyms test: ${kallsymsSkip}`);
}

Deno.test({
  name: "ksym of a host kernel address (kaddr) names it",
  ignore: kallsymsSkip !== undefined,
  async fn() {
    const prog = compile(
      'BEGIN { printf("%s %s\\n", ksym(kaddr("vfs_read")), ksym(kaddr("do_sys_openat2") + 1)); exit(); }',
    );
    const { events } = await run(prog, { seed: 1 }, [0]);
    assert.deepEqual(events[0].args, ["vfs_read", "do_sys_openat2"]);
  },
});
