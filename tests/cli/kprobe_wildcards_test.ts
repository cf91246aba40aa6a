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
    const beside = await runCli([
      "--dry-run",
      "-e",
      "kprobe:vfs_read, kprobe:tsbpf_no_such_fn_* { @ = count(); }",
    ]);
    assert.equal(beside.code, 0, beside.stderr);
  },
});
