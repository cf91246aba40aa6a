import assert from "node:assert/strict";
import { parseAttachPoint } from "../../runtime/probes/attach_spec.ts";
import { findBinary } from "../../runtime/probes/find_binary.ts";
import { globToRegExp, matchGlob } from "../../runtime/probes/glob.ts";
import {
  expandAttachPoint,
  listProbes,
} from "../../runtime/probes/list_probes.ts";
import { listTracepoints } from "../../runtime/probes/tracepoint_format.ts";

function bpftraceList(pattern: string): string[] | undefined {
  try {
    const out = new Deno.Command("bpftrace", {
      args: ["-l", pattern],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    if (!out.success) return undefined;
    return new TextDecoder().decode(out.stdout).split("\n").filter((l) =>
      l !== ""
    ).sort();
  } catch {
    return undefined;
  }
}

Deno.test("listProbes for tracepoint patterns equals bpftrace -l", () => {
  for (
    const pattern of [
      "tracepoint:skb:*",
      "tracepoint:syscalls:sys_enter_*",
      "t:sched:*",
    ]
  ) {
    const ours = listProbes(pattern);
    assert.ok(ours.length > 0, pattern);
    const theirs = bpftraceList(pattern);
    if (theirs === undefined) {
      console.log(
        `bpftrace -l "${pattern}" unavailable: compared with listTracepoints only`,
      );
      const [, cat] = pattern.split(":");
      assert.deepEqual(
        ours,
        listTracepoints().filter((n) => n.startsWith(`${cat}:`)).map((n) =>
          `tracepoint:${n}`
        ),
      );
    } else {
      assert.deepEqual(ours, theirs, pattern);
    }
  }
});

Deno.test("listProbes without provider, with perf events and uprobes", () => {
  const all = listProbes();
  assert.ok(all.includes("tracepoint:skb:kfree_skb"));
  assert.ok(all.includes("software:cpu-clock:"));
  assert.ok(all.includes("hardware:cpu-cycles:"));
  assert.equal(
    all.filter((p) => p.startsWith("tracepoint:")).length,
    listTracepoints().length,
  );
  assert.deepEqual(
    listProbes("*kfree_skb*").filter((p) => p.startsWith("tracepoint:skb:")),
    [
      "tracepoint:skb:kfree_skb",
    ],
  );
  assert.deepEqual(listProbes("skb:kfree_skb"), ["tracepoint:skb:kfree_skb"]);
  assert.deepEqual(listProbes("s:c*"), [
    "software:context-switches:",
    "software:cpu-clock:",
    "software:cpu-migrations:",
  ]);
  assert.deepEqual(listProbes("hardware:cycles"), ["hardware:cpu-cycles:"]);
  // From BTF (`MODULE:NAME`, as bpftrace 0.26), else tracepoint names.
  assert.ok(
    listProbes("rawtracepoint:kfree_sk?").some((p) =>
      /^rawtracepoint:(vmlinux:)?kfree_skb$/.test(p)
    ),
  );
  const libc = findBinary("libc");
  assert.deepEqual(listProbes("uprobe:libc:getpid"), [`uprobe:${libc}:getpid`]);
  assert.ok(listProbes("u:/bin/bash").length > 100);
  // kprobes: the kernel's functions, where a list of them is readable
  // (kernel_functions_test.ts checks the list itself).
  kernelFunctionsOr(() => {
    const vfs = listProbes("kprobe:vfs_rea*");
    assert.ok(vfs.includes("kprobe:vfs_read"), vfs.join());
    assert.ok(vfs.every((p) => p.startsWith("kprobe:vfs_rea")), vfs.join());
  });
  assert.throws(() => listProbes("uprobe::x"), SyntaxError);
});

Deno.test("expandAttachPoint expands each provider's wildcards", () => {
  const tps = expandAttachPoint(
    parseAttachPoint("tracepoint:syscalls:sys_enter_getp*"),
  );
  assert.ok(tps.length >= 3);
  for (const ap of tps) {
    assert.equal(ap.kind, "tracepoint");
    assert.ok(ap.target.startsWith("syscalls:sys_enter_getp"));
    assert.equal(ap.text, `tracepoint:${ap.target}`);
  }
  const one = parseAttachPoint("t:skb:kfree_skb");
  assert.deepEqual(expandAttachPoint(one), [one]);

  const libc = findBinary("libc");
  const ups = expandAttachPoint(parseAttachPoint("uprobe:libc:getp?d"));
  assert.ok(ups.some((a) => a.symbol === "getpid"));
  for (const ap of ups) {
    assert.equal(ap.target, libc);
    assert.equal(ap.text, `uprobe:${libc}:${ap.symbol}`);
  }
  // A bare binary without wildcards is still resolved to its path.
  assert.deepEqual(expandAttachPoint(parseAttachPoint("ur:libc:getpid")), [{
    kind: "uretprobe",
    target: libc,
    symbol: "getpid",
    text: `uretprobe:${libc}:getpid`,
  }]);

  const sw = expandAttachPoint(parseAttachPoint("software:*-faults:7"));
  assert.deepEqual(sw.map((a) => a.text), [
    "software:alignment-faults:7",
    "software:emulation-faults:7",
    "software:major-faults:7",
    "software:minor-faults:7",
    "software:page-faults:7",
  ]);
  kernelFunctionsOr(() => {
    const kp = expandAttachPoint(parseAttachPoint("kretprobe:vfs_rea?"));
    assert.deepEqual(kp.map((a) => a.text), ["kretprobe:vfs_read"]);
    assert.deepEqual(kp[0].kind, "kretprobe");
  });
});

/**
 * Runs `check` where the kernel's functions are listed (this machine's
 * /proc/kallsyms, or available_filter_functions); elsewhere, a listing
 * of kprobes is the error that says why.
 */
function kernelFunctionsOr(check: () => void): void {
  let listed = true;
  try {
    listProbes("kprobe:vfs_read");
  } catch (e) {
    assert.match(String(e), /No list of kernel functions is readable/);
    listed = false;
  }
  if (listed) check();
}

Deno.test("glob patterns treat regex characters literally", () => {
  assert.ok(matchGlob("a-b/c.d+e(f)[g]{h}|i^$\\", "a-b/c.d+e(f)[g]{h}|i^$\\"));
  assert.ok(matchGlob("*-faults", "page-faults"));
  assert.ok(matchGlob("a?c", "abc"));
  assert.ok(!matchGlob("a?c", "ac"));
  assert.ok(matchGlob("*", ""));
  assert.ok(!matchGlob("a.c", "abc"));
  assert.ok(globToRegExp("x*").test("x\ny"));
});
