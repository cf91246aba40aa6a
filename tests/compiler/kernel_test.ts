import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import {
  KernelEngine,
  STOP_CHECK_SLOTS,
} from "../../runtime/engines/kernel_engine.ts";
import { kernelSkipReason, skip } from "../support/skip.ts";
import type { Program } from "../../runtime/program.ts";
import type { Insn } from "../../runtime/bpf/insn.ts";
import { Class, JmpOp } from "../../runtime/bpf/opcodes.ts";
import { decodeEvent } from "../../runtime/output/decode.ts";
import { expandSignExtension } from "../../runtime/bpf/sign_extend.ts";
import { prepareKernelTypes } from "../../runtime/compiler/kernel_types.ts";
import { formatEventOutput } from "../../runtime/output/event.ts";

const kernelSkip = kernelSkipReason();

/** bpftrace 0.17 xlated counts measured here (see fast_test.ts). */
const CASES: [string, number][] = [
  ["tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }", 31],
  [
    "tracepoint:raw_syscalls:sys_enter /pid == 1234/ { @[args->id] = count(); }",
    35,
  ],
  [
    'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); }',
    53,
  ],
  [
    "tracepoint:syscalls:sys_exit_read /args->ret > 0/ { @bytes = hist(args->ret); }",
    61,
  ],
];

/**
 * Slots after the program's last `exit`: the cold blocks that count lost
 * events and refused map updates, which no successful run executes (the
 * kernel translates them one for one: no helper call in them).
 */
function coldSlots(insns: Insn[]): number {
  let last = -1;
  insns.forEach((i, k) => {
    if (i.code === (Class.JMP | JmpOp.EXIT)) last = k;
  });
  return insns.length - last - 1;
}

Deno.test({
  name: "the kernel verifier accepts the hot path programs, xlated ≤ bpftrace",
  ignore: skip("the kernel compiler test", kernelSkip),
  async fn() {
    const got: string[] = [];
    for (const [src, bpftrace] of CASES) {
      const engine = new KernelEngine();
      try {
        const prog = compile(src);
        await engine.load(prog);
        const [s] = engine.stats();
        const cold = coldSlots(prog.probes[0].insns);
        // The engine's stop check (kernels without perf links only: one
        // load, one branch) is not the compiler's.
        const stop = engine.stopChecked ? STOP_CHECK_SLOTS : 0;
        const own = s.insnCount - stop;
        got.push(`${own - cold}+${cold}+${stop}/${bpftrace}`);
        assert.ok(own - cold <= bpftrace, `${src}: ${s.insnCount}`);
      } finally {
        engine.close();
      }
    }
    console.log(
      `kernel xlated (tsbpf hot+cold+stop check/bpftrace): ${got.join(" ")}`,
    );
  },
});

const SCOPE = [
  'BEGIN { printf("hello %d %s\\n", 42, "world"); exit(); }',
  'BEGIN { $i = 0; while ($i < 10) { $i++; if ($i == 5) { break; } } printf("%d\\n", $i); }',
  "tracepoint:syscalls:sys_enter_openat { @s[comm] = sum(args->flags); @a = avg(args->flags); @mn = min(args->flags); @mx = max(args->flags); @st = stats(args->flags); }",
  "tracepoint:syscalls:sys_enter_read { @l = lhist(args->count, 0, 1000, 100); }",
  "tracepoint:syscalls:sys_enter_openat { $s = str(args->filename); if ($s != comm) { @[pid, tid, $s] = count(); } }",
  "tracepoint:sched:sched_switch { @[args->prev_comm, args->next_pid] = count(); }",
  'tracepoint:sched:sched_process_exec { printf("%s %d\\n", str(args->filename), args->pid); }',
  'BEGIN { @t = nsecs; @e = elapsed; @c2 = cpu; @r = rand; @cg = cgroup; @u = uid; @g = gid; time("%H\\n"); }',
  "BEGIN { $x = 1 ? 2 : 3; $y = pid > 0 ? pid : tid; @v = $x + $y; @w = (pid > 1 && tid > 1) || uid == 0; @n = !($x == 2); }",
  "BEGIN { @m++; @m--; ++@m; @m += 5; @m -= 2; @m *= 3; $a = 1; $a += 4; $a <<= 2; @k[comm] = $a; }",
  'BEGIN { $t = (1, "ab", comm); @tt = $t; printf("%d %s %s\\n", $t.0, $t.1, $t.2); }',
  "rawtracepoint:sched_switch { @[arg0 > 0] = count(); }",
  "profile:hz:99 { @[kstack] = count(); @u[ustack(5)] = count(); @c[cpu] = count(); }",
  'BEGIN { @x[1] = "abc"; @x[2] = comm; $s = @x[1]; if ($s == "abc") { printf("ok %s\\n", @x[2]); } }',
  'tracepoint:syscalls:sys_enter_kill { signal("SIGKILL"); }',
  'tracepoint:syscalls:sys_enter_execve { join(args->argv); join(args->argv, ","); printf("%s\\n", comm); exit(); }',
  "profile:hz:99 { @[kstack(perf, 4)] = count(); @u[ustack(perf)] = count(); @n[numaid] = count(); }",
  'BEGIN { @[username] = count(); printf("%s %d\\n", username, cpid); }',
];

Deno.test({
  name: "the kernel verifier accepts programs across the language",
  ignore: skip("the kernel compiler test", kernelSkip),
  async fn() {
    for (const src of SCOPE) {
      const engine = new KernelEngine();
      try {
        await engine.load(compile(src, { unsafe: true, cpid: 1 }));
      } catch (e) {
        assert.fail(`${src}\n${e instanceof Error ? e.message : e}`);
      } finally {
        engine.close();
      }
    }
  },
});

/**
 * Programs reading signed fields narrower than 64 bits (`ldxsx`) or
 * casting to signed narrower types (`movsx`).
 */
const SIGNED_READS = [
  "tracepoint:syscalls:sys_enter_getppid { @[curtask->real_parent->pid] = count(); }",
  "tracepoint:syscalls:sys_enter_openat { @[((struct task_struct *)curtask)->real_parent->real_parent->tgid] = count(); }",
  "tracepoint:sched:sched_switch { @[args->prev_comm, args->next_pid] = count(); }",
  "tracepoint:sched:sched_wakeup /args->prio > 100/ { @[args->target_cpu, curtask->prio] = sum(args->prio); }",
  "tracepoint:syscalls:sys_enter_read { @[(int8)args->count, (int16)args->fd, (int32)args->count] = count(); }",
];

Deno.test({
  name:
    "the kernel verifier accepts sign-extending loads and moves, and their expansion for older kernels",
  ignore: skip("the kernel compiler test", kernelSkip),
  async fn() {
    for (const src of SIGNED_READS) {
      await prepareKernelTypes(src);
      const prog = compile(src);
      const sx = prog.probes[0].insns.filter((i) =>
        (i.code & 0xe7) === 0x81 || (i.code === 0xbf && i.off !== 0)
      );
      assert.ok(sx.length > 0, `${src}: no ldxsx or movsx`);
      const expanded = {
        ...prog,
        probes: prog.probes.map((p) => expandSignExtension(p)),
      };
      for (const p of [prog, expanded]) {
        const engine = new KernelEngine();
        try {
          await engine.load(p);
        } catch (e) {
          assert.fail(`${src}\n${e instanceof Error ? e.message : e}`);
        } finally {
          engine.close();
        }
      }
    }
  },
});

/** u64 value of a keyless map entry in the kernel (summed over CPUs). */
function kernelValue(
  engine: KernelEngine,
  prog: Program,
  name: string,
): bigint {
  const i = prog.maps.findIndex((m) => m.name === name);
  let n = 0n;
  for (const e of engine.readMap(i)) {
    for (const v of e.values) {
      n += new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
    }
  }
  return n;
}

Deno.test({
  name: "kernel: events a full ring buffer drops are counted in .lost",
  ignore: skip("the kernel compiler test", kernelSkip),
  async fn() {
    const prog = compile(
      'BEGIN { $i = 0; while ($i < 1000) { printf("%d\\n", $i); $i++; } }',
    );
    // 4096 bytes hold 170 records of 24 bytes; 5 runs send 5000.
    prog.maps[prog.eventsMap!].maxEntries = 4096;
    const engine = new KernelEngine();
    try {
      await engine.load(prog);
      for (let i = 0; i < 5; i++) await engine.runSpecial("BEGIN");
      let received = 0;
      while (await engine.poll(0, () => received++) > 0) { /* drain */ }
      const lost = engine.lostEvents();
      console.log(`kernel ring buffer: received ${received}, lost ${lost}`);
      assert.equal(received + lost, 5000);
      assert.ok(received > 0 && lost > 0);
    } finally {
      engine.close();
    }
  },
});

/** Spawns perl calling getppid `n` times once it reads a line. */
function getppidChild(n: number): Deno.ChildProcess {
  return new Deno.Command("/usr/bin/perl", {
    args: [
      "-e",
      `$|=1; print "ready\\n"; <STDIN>; getppid() for 1..${n}; print "done\\n";`,
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
}

async function readLine(r: ReadableStreamDefaultReader<Uint8Array>) {
  const { value } = await r.read();
  return new TextDecoder().decode(value);
}

Deno.test({
  name: "kernel: the pid option counts only that process's syscalls",
  ignore: skip("the kernel compiler test", kernelSkip),
  async fn() {
    const a = getppidChild(1500);
    const b = getppidChild(700);
    const ra = a.stdout.getReader();
    const rb = b.stdout.getReader();
    const engine = new KernelEngine();
    try {
      assert.equal(await readLine(ra), "ready\n");
      assert.equal(await readLine(rb), "ready\n");
      const prog = compile(
        "tracepoint:syscalls:sys_enter_getppid { @n = count(); }",
        { pid: a.pid },
      );
      await engine.load(prog);
      await engine.attach();
      for (const c of [a, b]) {
        const w = c.stdin.getWriter();
        await w.write(new TextEncoder().encode("go\n"));
        await w.close();
      }
      assert.equal(await readLine(ra), "done\n");
      assert.equal(await readLine(rb), "done\n");
      assert.equal(kernelValue(engine, prog, "@n"), 1500n);
    } finally {
      engine.close();
      ra.releaseLock();
      rb.releaseLock();
      await a.stdout.cancel();
      await b.stdout.cancel();
      await a.status;
      await b.status;
    }
  },
});

Deno.test({
  name: "kernel: unique program names and numaid load and run",
  ignore: skip("the kernel compiler test", kernelSkip),
  async fn() {
    const engine = new KernelEngine();
    try {
      const prog = compile(
        "tracepoint:syscalls:sys_enter_accept, tracepoint:syscalls:sys_enter_accept4 { @[probe] = count(); }" +
          " BEGIN { @node = numaid; }",
      );
      await engine.load(prog);
      assert.deepEqual(engine.programNames, [
        "sys_enter_acc_1",
        "sys_enter_acc_2",
        "BEGIN",
      ]);
      await engine.runSpecial("BEGIN");
      const nodes = [...Deno.readDirSync("/sys/devices/system/node")]
        .filter((e) => /^node\d+$/.test(e.name)).length;
      assert.ok(
        kernelValue(engine, prog, "@node") < BigInt(Math.max(nodes, 1)),
      );
    } finally {
      engine.close();
    }
  },
});

Deno.test({
  name: "kernel: join(args->argv) of an exec renders as bpftrace's",
  ignore: skip("the kernel compiler test", kernelSkip),
  async fn() {
    const prog = compile(
      'tracepoint:syscalls:sys_enter_execve /str(args->filename) == "/bin/echo"/ { join(args->argv); join(args->argv, ","); }',
    );
    const engine = new KernelEngine();
    try {
      await engine.load(prog);
      await engine.attach();
      await new Deno.Command("/bin/echo", {
        args: ["tsbpf-join", "b"],
        stdout: "null",
      }).output();
      const text: string[] = [];
      const json: string[] = [];
      await engine.poll(1000, (rec) => {
        const ev = decodeEvent(prog, rec);
        text.push(formatEventOutput(ev, "text")!);
        json.push(formatEventOutput(ev, "json")!);
      });
      // Other execs of /bin/echo may race in: look for ours.
      assert.ok(text.includes("/bin/echo tsbpf-join b\n"), text.join(""));
      assert.ok(text.includes("/bin/echo,tsbpf-join,b\n"), text.join(""));
      assert.ok(
        json.includes('{"type": "join", "data": "/bin/echo tsbpf-join b"}\n'),
      );
    } finally {
      engine.close();
    }
  },
});
