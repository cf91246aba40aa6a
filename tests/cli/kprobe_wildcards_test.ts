import assert from "node:assert/strict";
import { hasStackTrace, runCli } from "./helpers.ts";

/**
 * kprobe wildcards expand to the kernel's functions (kallsyms) at compile
 * time, so `func` and `probe` name the real function on the interpreter
 * (this kernel has no kprobes to attach), and `-l` lists them.
 */

let why: string | undefined;
try {
  const text = Deno.readTextFileSync("/proc/kallsyms");
  if (!/^[0-9a-f]+ [tT] vfs_read$/m.test(text)) {
    why = "/proc/kallsyms has no vfs_read text symbol";
  }
} catch (e) {
  why = `/proc/kallsyms is not readable: ${e instanceof Error ? e.message : e}`;
}
if (why !== undefined) console.log(`kprobe_wildcards_test: skipped: ${why}`);

Deno.test({
  name:
    "kprobe:vfs_rea* under --backend interp: func and probe name each function",
  ignore: why !== undefined,
  async fn() {
    const r = await runCli([
      "--backend",
      "interp",
      "--duration",
      "0.2",
      "-e",
      "kprobe:vfs_rea* { @f[func] = count(); @p[probe] = count(); }",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const keys = (map: string) =>
      [...r.stdout.matchAll(new RegExp(`^@${map}\\[(.*)\\]: \\d+$`, "gm"))]
        .map((m) => m[1]).sort();
    assert.ok(keys("f").includes("vfs_read"), r.stdout);
    assert.ok(!keys("f").some((k) => k.includes("*")), r.stdout);
    assert.deepEqual(keys("p"), keys("f").map((f) => `kprobe:${f}`));
  },
});

Deno.test({
  name:
    "-l 'kprobe:vfs_rea*' lists the functions; no match is an error naming the wildcard",
  ignore: why !== undefined,
  async fn() {
    const l = await runCli(["-l", "kprobe:vfs_rea*"]);
    assert.equal(l.code, 0, l.stderr);
    assert.ok(l.stdout.split("\n").includes("kprobe:vfs_read"), l.stdout);
    assert.ok(!l.stdout.includes("vfs_write"), l.stdout);
    const r = await runCli([
      "--dry-run",
      "-e",
      "kretprobe:tsbpf_no_such_fn_* { @ = count(); }",
    ]);
    assert.equal(r.code, 2);
    assert.ok(!hasStackTrace(r.stderr), r.stderr);
    assert.match(
      r.stderr,
      /ERROR: No kernel functions match "kretprobe:tsbpf_no_such_fn_\*"/,
    );
    // Beside an attach point that matches, it is left out, as bpftrace
    // leaves it out (dcsnoop.bt's `kprobe:lookup_fast.constprop.*`).
    // (--backend interp: a dry run that compiles and verifies; on the
    // kernel engine it would attach, and this kernel may have no kprobes.)
    const beside = await runCli([
      "--dry-run",
      "--backend",
      "interp",
      "-e",
      "kprobe:vfs_read, kprobe:tsbpf_no_such_fn_* { @ = count(); }",
    ]);
    assert.equal(beside.code, 0, beside.stderr);
  },
});

Deno.test({
  name:
    "kprobe:vfs_* on synthetic events: reads and writes lead, mknod and rename are rare (vfscount.bt)",
  ignore: why !== undefined,
  async fn() {
    const r = await runCli([
      "--backend",
      "interp",
      "--duration",
      "1",
      "-e",
      "kprobe:vfs_* { @[func] = count(); }",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const counts = new Map(
      [...r.stdout.matchAll(/^@\[(\w+)\]: (\d+)$/gm)].map((m) => [
        m[1],
        Number(m[2]),
      ]),
    );
    const sorted = [...counts].sort((a, b) => b[1] - a[1]);
    assert.deepEqual(sorted.slice(0, 2).map(([f]) => f), [
      "vfs_read",
      "vfs_write",
    ]);
    for (const f of ["vfs_mknod", "vfs_rename"]) {
      const n = counts.get(f);
      if (n === undefined) continue; // not in this kernel's list
      assert.ok(n * 10 < counts.get("vfs_read")!, `${f}: ${n}`);
    }
  },
});

Deno.test({
  name:
    "-l kprobe:… says when this kernel cannot attach kprobes, and only then",
  ignore: why !== undefined,
  async fn() {
    let pmu = true;
    try {
      Deno.statSync("/sys/bus/event_source/devices/kprobe");
    } catch {
      pmu = false;
    }
    const r = await runCli(["-l", "kprobe:vfs_rea*"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^kprobe:vfs_read$/m);
    const note =
      /^tsbpf: this kernel has no kprobes \(built without CONFIG_KPROBES\): the kernel functions listed cannot be attached; use tracepoints$/m;
    if (pmu) assert.doesNotMatch(r.stderr, note);
    else assert.match(r.stderr, note);
    const tp = await runCli(["-l", "tracepoint:sched:sched_switch"]);
    assert.doesNotMatch(tp.stderr, note);
  },
});
