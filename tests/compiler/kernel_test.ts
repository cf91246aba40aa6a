import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { KernelEngine, probeKernel } from "../../ffi/kernel_engine.ts";

const probe = probeKernel();
if (!probe.ok) console.log(`Skipping kernel compiler tests: ${probe.reason}`);

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

Deno.test({
  name: "the kernel verifier accepts the hot path programs, xlated ≤ bpftrace",
  ignore: !probe.ok,
  async fn() {
    const got: string[] = [];
    for (const [src, bpftrace] of CASES) {
      const engine = new KernelEngine();
      try {
        await engine.load(compile(src));
        const [s] = engine.stats();
        got.push(`${s.insnCount}/${bpftrace}`);
        assert.ok(s.insnCount <= bpftrace, `${src}: ${s.insnCount}`);
      } finally {
        engine.close();
      }
    }
    console.log(`kernel xlated (tsbpf/bpftrace): ${got.join(" ")}`);
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
];

Deno.test({
  name: "the kernel verifier accepts programs across the language",
  ignore: !probe.ok,
  async fn() {
    for (const src of SCOPE) {
      const engine = new KernelEngine();
      try {
        await engine.load(compile(src, { unsafe: true }));
      } catch (e) {
        assert.fail(`${src}\n${e instanceof Error ? e.message : e}`);
      } finally {
        engine.close();
      }
    }
  },
});
