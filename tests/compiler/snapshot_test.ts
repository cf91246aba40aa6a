import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { formatDryRun } from "../../runtime/compiler/dry_run.ts";

/** Representative programs whose disassembly is pinned. */
const PROGRAMS: [string, string][] = [
  [
    "count by comm",
    "tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }",
  ],
  [
    "pid filter",
    "tracepoint:raw_syscalls:sys_enter /pid == 1234/ { @[args->id] = count(); }",
  ],
  [
    "printf open",
    'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); }',
  ],
  [
    "hist read",
    "tracepoint:syscalls:sys_exit_read /args->ret > 0/ { @bytes = hist(args->ret); }",
  ],
  [
    "lhist",
    "tracepoint:syscalls:sys_enter_read { @ = lhist(args->count, 0, 1000, 100); }",
  ],
  [
    "tuple key",
    "tracepoint:sched:sched_switch { @[args->prev_comm, args->next_pid] = sum(1); }",
  ],
  [
    "avg and max",
    "tracepoint:syscalls:sys_enter_openat { @a = avg(args->flags); @m = max(args->flags); }",
  ],
  [
    "string compare",
    'tracepoint:syscalls:sys_enter_openat /comm == "bash"/ { @[str(args->filename)] = count(); }',
  ],
  ["while loop", "BEGIN { $i = 0; while ($i < 10) { $i++; } @i = $i; }"],
  ["ternary and logic", "BEGIN { @x = pid > 100 && uid == 0 ? 1 : 2; }"],
  ["elapsed", 'interval:s:1 { printf("%d\\n", elapsed); exit(); }'],
  ["uprobe args", "uprobe:/bin/bash:readline { @[arg0, arg1 * 2] = count(); }"],
  ["kstack", "profile:hz:99 { @[kstack(3)] = count(); }"],
  ["map increment", 'BEGIN { @n[comm]++; @m = @n["x"] + 1; }'],
  [
    "latency pair",
    "tracepoint:syscalls:sys_enter_read { @s[tid] = nsecs; } tracepoint:syscalls:sys_exit_read /@s[tid]/ { @lat = hist(nsecs - @s[tid]); delete(@s[tid]); }",
  ],
  [
    "pid and tid reused",
    "tracepoint:raw_syscalls:sys_enter /pid == 1234/ { @[tid, pid, cpu] = count(); @c[cpu] = count(); }",
  ],
];

for (const [name, src] of PROGRAMS) {
  Deno.test(`disassembly: ${name}`, async (t) => {
    await t.assertSnapshot(formatDryRun(compile(src)));
  });
}

Deno.test("the dry run names attach points and numbers slots", () => {
  const text = formatDryRun(
    compile("tracepoint:syscalls:sys_enter_getp* { @ = count(); }"),
  );
  const lines = text.split("\n");
  assert.match(
    lines[0],
    /^sys_enter_getp\w* \(tracepoint, \d+ instructions\)$/,
  );
  assert.ok(lines.includes("  attach: tracepoint:syscalls:sys_enter_getppid"));
  assert.ok(lines.includes("  attach: tracepoint:syscalls:sys_enter_getpid"));
  assert.match(lines.find((l) => /^ +0: /.test(l)) ?? "", /^ {3}0: /);
});
