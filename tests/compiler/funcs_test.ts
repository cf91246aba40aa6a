/**
 * Functions of bpftrace 0.17 that scripts still missed (issue 17):
 * `macaddr()`, `signal_thread()`, `override()`, and the errors for
 * `path()` and `skboutput()`, which need fentry programs tsbpf does not
 * load. Errors are one `FILE:LINE:COL: ERROR:` each, in bpftrace's
 * wording (0.17's binary and v0.26.1's type checker), and exit 2.
 */

import assert from "node:assert/strict";
import { load, mapIndex, rawEntries, run } from "./harness.ts";
import { runCli } from "../cli/helpers.ts";
import { kernelSkipReason, skip } from "../support/skip.ts";
import { failure, one } from "./harness.ts";

const CASES: [string, string, number, number, string, boolean][] = [
  // 0.17 and type_checker.cpp (macaddr).
  [
    "macaddr() of a string literal",
    'begin { print(macaddr("abcdef")); }',
    15,
    17,
    "macaddr() does not support literal string arguments",
    false,
  ],
  [
    "macaddr() of an array of 4 bytes",
    "begin { $a = (uint8[4])(uint32)1; print(macaddr($a)); }",
    49,
    2,
    "macaddr() argument must be at least 6 bytes in size",
    false,
  ],
  [
    "macaddr() of a tuple",
    "begin { print(macaddr((1, 2))); }",
    23,
    6,
    "macaddr() only supports array or pointer arguments ((int64,int64) provided)",
    false,
  ],
  [
    "macaddr() without arguments",
    "begin { print(macaddr()); }",
    15,
    9,
    "macaddr() takes 1 argument (0 given)",
    false,
  ],
  [
    "cgroup_path() of a string",
    'begin { print(cgroup_path("x")); }',
    27,
    3,
    "cgroup_path() expects an integer argument 1, got string[2]",
    false,
  ],
  [
    "cgroup_path() with a run-time filter",
    "begin { print(cgroup_path(1, comm)); }",
    30,
    4,
    "cgroup_path() only supports a string literal as filter",
    false,
  ],
  // 0.17: "override can only be used with kprobes."
  [
    "override() in a tracepoint",
    "tracepoint:syscalls:sys_enter_getuid { override(1); }",
    40,
    11,
    "override can only be used with kprobes.",
    true,
  ],
  [
    "override() without --unsafe",
    "kprobe:vfs_read { override(1); }",
    19,
    11,
    "override() is an unsafe function: use --unsafe",
    false,
  ],
  [
    "signal_thread() without --unsafe",
    "begin { signal_thread(9); }",
    9,
    16,
    "signal_thread() is an unsafe function: use --unsafe",
    false,
  ],
  [
    "signal_thread() of an unknown signal",
    'begin { signal_thread("SIGFOO"); }',
    23,
    8,
    'Unknown signal "SIGFOO"',
    true,
  ],
  // stdlib/strings.bt (assert_str): its static_assert() and fail() texts.
  [
    "assert_str() of an integer",
    "begin { assert_str(1); }",
    20,
    1,
    "string-like values must be either strings, arrays or pointers",
    false,
  ],
  [
    "assert_str() of an array of uint32",
    "begin { $a = (uint32[2])(uint64)1; assert_str($a); }",
    47,
    2,
    "string-like arrays must contain a char-like type",
    false,
  ],
  [
    "strcap() of a pointer to uint32",
    "begin { $p = (uint32 *)0; print(strcap($p)); }",
    40,
    2,
    "string-like pointers must point to a char-like type",
    false,
  ],
  [
    "memcmp() past the end of a value",
    'begin { $a = "ab"; $b = "abcdef"; print(memcmp($a, $b, 4)); }',
    56,
    1,
    "memcmp() compares at most 3 bytes of these values",
    false,
  ],
  [
    "memcmp() of a run-time length",
    'begin { $a = "ab"; print(memcmp($a, $a, pid)); }',
    41,
    3,
    "memcmp() expects a non-negative integer literal as argument 3",
    false,
  ],
  [
    "kfunc_exist() of a run-time string",
    "begin { print(kfunc_exist(comm)); }",
    27,
    4,
    "kfunc_exist() expects a string literal",
    false,
  ],
  [
    "socket_cookie() in a tracepoint",
    "tracepoint:sock:inet_sock_set_state { print(socket_cookie(args->skaddr)); }",
    45,
    27,
    "socket_cookie() needs an fentry or fexit probe (bpf_get_socket_cookie), which tsbpf does not support",
    false,
  ],
  // stdlib/meta.bt (check_key), as find() calls it.
  [
    "find() in a map without keys",
    "begin { @x = 1; $v = 0; print(find(@x, 1, $v)); }",
    36,
    2,
    "call to find() expects a map with explicit keys (non-scalar map)",
    false,
  ],
  [
    "find() into a literal",
    "begin { @m[1] = 1; print(find(@m, 1, 5)); }",
    38,
    1,
    "find() expects a scratch variable as argument 3",
    false,
  ],
  // pre_type_check.cpp (path), and why tsbpf has no such probe.
  [
    "path() in a tracepoint",
    "tracepoint:syscalls:sys_enter_openat { print(path(args->filename)); }",
    46,
    20,
    "The path function can only be used with 'fentry', 'fexit', 'iter' probes (bpf_d_path), which tsbpf does not support",
    false,
  ],
  [
    "skboutput()",
    'tracepoint:syscalls:sys_enter_openat { $r = skboutput("x.pcap", 0, 10, 0); }',
    45,
    29,
    "skboutput() needs an fentry or fexit probe (bpf_skb_output), which tsbpf does not support",
    false,
  ],
];

for (const [what, src, col, len, message, unsafe] of CASES) {
  Deno.test(`funcs errors: ${what}`, () => {
    assert.equal(failure(src, { unsafe }), one(src, col, len, message));
  });
}

Deno.test("funcs errors: the CLI exits 2 with the located override() error", async () => {
  const src = "tracepoint:syscalls:sys_enter_getuid { override(1); }";
  const r = await runCli(["--unsafe", "--dry-run", "-e", src]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    r.stderr.trim(),
    one(src, 40, 11, "override can only be used with kprobes."),
  );
});

Deno.test("interpreter: macaddr() reads six bytes of an array or a pointer", () => {
  const l = load(
    "BEGIN { $a = (uint8[8])(uint64)0x0000665544332211; @v = macaddr($a); " +
      "$p = (uint64)0x0a0b0c0d0e0f; @p = macaddr(&$p); @k[macaddr($a)] = 1; }",
  );
  run(l, "BEGIN");
  const bytes = (name: string, key = false) => {
    const e = rawEntries(l, mapIndex(l, name))[0];
    return [...(key ? e.key : e.values[0]).subarray(0, 6)];
  };
  assert.deepEqual(bytes("@v"), [0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);
  assert.deepEqual(bytes("@p"), [0x0f, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a]);
  assert.deepEqual(bytes("@k", true), [0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);
});

Deno.test("interpreter: signal_thread() signals the current thread", () => {
  const l = load('BEGIN { signal_thread("SIGUSR1"); }', { unsafe: true });
  run(l, "BEGIN");
  const s = l.vms[0].output.signals;
  assert.equal(s.length, 1);
  assert.equal(s[0].signal, 10);
  assert.equal(s[0].tid, l.env.tid);
});

Deno.test("interpreter: override() in a kprobe is accepted by our verifier", () => {
  const l = load("kprobe:vfs_read { override(-1); @n = count(); }", {
    unsafe: true,
    tracefsAvailable: false,
  });
  assert.equal(run(l, "kprobe:vfs_read"), 0n);
});

Deno.test({
  name: "kernel: signal_thread() sends the signal to the traced thread",
  ignore: skip("the signal_thread() kernel test", kernelSkipReason()),
  async fn() {
    // A child of its own name: SIGTERM on its getppid() ends it before it
    // prints; without the signal it would print "survived".
    const script = await Deno.makeTempFile({ suffix: ".py" });
    try {
      await Deno.writeTextFile(
        script,
        'import os, time\nopen("/proc/self/comm", "w").write("tsbsigthr")\n' +
          'time.sleep(0.3)\nos.getppid()\ntime.sleep(2)\nprint("survived")\n',
      );
      const r = await runCli([
        "--unsafe",
        "-e",
        'tracepoint:syscalls:sys_enter_getppid /comm == "tsbsigthr"/ { signal_thread("SIGTERM"); @n = count(); }',
        "-c",
        `/usr/bin/python3 ${script}`,
      ], { timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /survived/);
      assert.match(r.stdout, /@n: 1\n/);
    } finally {
      await Deno.remove(script);
    }
  },
});

Deno.test("kfunc_exist() reads the kernel's BTF; kfunc_allowed() is false", () => {
  let btf = false;
  try {
    btf = Deno.statSync("/sys/kernel/btf/vmlinux").isFile;
  } catch {
    // No BTF: kfunc_exist() is false for every name.
  }
  const l = load(
    'BEGIN { @e = kfunc_exist("bpf_task_from_pid"); @n = kfunc_exist("tsbpf_no_such_kfunc"); @a = kfunc_allowed("bpf_task_from_pid"); }',
  );
  run(l, "BEGIN");
  const v = (name: string) => rawEntries(l, mapIndex(l, name))[0].values[0][0];
  // bpf_task_from_pid is a kfunc of Linux 6.2 and later.
  const [major, minor] = Deno.osRelease().split(".").map(Number);
  if (btf && (major > 6 || (major === 6 && minor >= 2))) {
    assert.equal(v("@e"), 1);
  }
  assert.equal(v("@n"), 0);
  assert.equal(v("@a"), 0);
});
