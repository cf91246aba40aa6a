/**
 * Parity rows for bpftrace 0.26's builtin forms: the `__builtin_X` names
 * its standard library wraps in macros, user macros that replace those
 * builtins (or overload them with other arities), `strcontains()` and
 * `strstr()` with a needle known only at run time, `str(p, $n)` with a
 * length known only at run time, and printf's `%gr`. Expected output
 * follows bpftrace v0.26.1's tests/runtime (macro, strcontains, call),
 * cited where used.
 *
 * @module
 */

import assert from "node:assert/strict";
import { entries } from "./expect.ts";
import { N, type Row } from "./row.ts";

/** The rows of this area. */
export const BUILTINS26_ROWS: Row[] = [
  {
    name: "builtins26_raw_builtins",
    features: [
      "__builtin_comm, __builtin_cpu, ... (0.26's stdlib-macro builtins)",
      "comm(), cpu(), ... (call forms)",
      "username == username",
    ],
    // tests/runtime/macro ("builtin wrapper ..."): each __builtin_X equals
    // X and X(); elapsed, rand and jiffies are printed (two reads differ).
    source: `begin {
  print((__builtin_comm == comm(), __builtin_comm == comm,
    __builtin_cpu == cpu(), __builtin_uid == uid(), __builtin_gid == gid,
    __builtin_ncpus == ncpus(), __builtin_usermode == usermode,
    __builtin_username == username(), __builtin_cgroup == cgroup,
    __builtin_curtask == curtask(), __builtin_probetype == probetype,
    __builtin_probe == probe()));
  printf("SUCCESS %llu %llu %llu %llu\\n", __builtin_elapsed, elapsed(),
    __builtin_rand, __builtin_jiffies);
  print(__builtin_probetype);
}
tracepoint:syscalls:sys_enter_getppid {
  @[__builtin_probe, __builtin_comm == comm, __builtin_probetype] = count();
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      const lines = r.output.trim().split("\n");
      assert.equal(lines[0], `(${Array(12).fill("true").join(", ")})`);
      assert.match(lines[1], /^SUCCESS \d+ \d+ \d+ \d+$/);
      assert.equal(lines[2], "special");
      assert.deepEqual(entries(r, "@"), [[
        "tracepoint:syscalls:sys_enter_getppid|true|tracepoint",
        N,
      ]]);
    },
  },
  {
    name: "builtins26_raw_cpid",
    features: ["__builtin_cpid (no warning)", "cpid() without -c"],
    // src/stdlib/base.bt: cpid() reads __builtin_cpid and warns when it is
    // 0; __builtin_cpid itself does not.
    source: `begin { print((__builtin_cpid, cpid())); exit(); }`,
    expect(r) {
      assert.equal(r.output, "(0, 0)\n");
      assert.equal(
        r.stderr,
        "stdin:1:32-38: WARNING: No child command (`-c`); cpid is zero\n",
      );
    },
  },
  {
    name: "builtins26_raw_func_retval",
    features: [
      "__builtin_func == func() == func (usym ==)",
      "__builtin_retval == retval()",
    ],
    // tests/runtime/macro ("builtin wrapper func", "builtin wrapper
    // retval"), on uprobes (this kernel has no kprobes).
    source: (t) =>
      `uprobe:${t.bin}:parity_target {
  $f = func;
  @u[__builtin_func == func() && __builtin_func == func && $f == func,
    $f != func, __builtin_probe == probe()] = count();
}
uretprobe:${t.bin}:parity_target {
  @r[__builtin_retval == retval() && __builtin_retval == retval] = count();
}`,
    workload: ["calls", String(N)],
    pidFilter: true,
    expect(r) {
      assert.deepEqual(entries(r, "@u"), [["true|false|true", N]]);
      // The interpreter's last call may still be in flight at the end.
      const [[key, n]] = entries(r, "@r") as [[string, number]];
      assert.equal(key, "true");
      assert.ok(n === N || (r.engine !== "kernel" && n === N - 1), `${n}`);
    },
  },
  {
    name: "builtins26_macro_shadows_builtin",
    features: [
      "user macro replaces a stdlib-macro builtin",
      "macro overloads by arity",
      "__builtin_X is never replaced",
    ],
    // tests/runtime/macro: "user macros override stdlib" (cpu() is the
    // user's), "user macros don't override stdlib if different
    // signature" (cpu("hi") is the user's, cpu() the builtin's); a bare
    // ncpus expands a user ncpus() as 0.26 expands any bare macro name.
    source: `macro cpu(x) { x }
macro ncpus() { 99 }
macro pid() { 7 }
begin {
  print(cpu("hi"));
  printf("SUCCESS %llu\\n", cpu());
  print((ncpus, ncpus(), __builtin_ncpus < 99, pid(), pid != 7));
  exit();
}`,
    expect(r) {
      const lines = r.output.trim().split("\n");
      assert.equal(lines[0], "hi");
      assert.match(lines[1], /^SUCCESS \d+$/);
      assert.equal(lines[2], "(99, 99, true, 7, true)");
    },
  },
  {
    name: "builtins26_macro_replaces_called_builtin",
    features: ['macro cpu() { "hi" } replaces cpu()'],
    // tests/runtime/macro ("user macros override stdlib").
    source:
      `macro cpu() { "hi" } begin { printf(cpu()); printf(cpu); exit(); }`,
    expect(r) {
      assert.equal(r.output, "hihi");
    },
  },
  {
    name: "builtins26_macro_typeof_block_arg",
    features: [
      "let $y: typeof(macro argument)",
      "let $x: typeof(expr) / typeof(type)",
      "a block argument evaluated at each use",
    ],
    // tests/runtime/macro: "it renames internal variables" (2), "it
    // replaces the passed in expression in multiple expression statement
    // locations" (hihihi).
    source: `macro add(x) { let $y: typeof(x); if (true) { $y = 1 } x + $y }
macro side_effects(x) { x; x; x; }
begin {
  print(add(1));
  side_effects({ printf("hi") });
  printf("\\n");
  let $s: typeof("abc"); $s = "xy";
  let $u: typeof(uint8); $u = 255;
  let $v: typeof($u); $v = 7;
  print(($s, $u, $v, sizeof($u), sizeof($v)));
  exit();
}`,
    expect(r) {
      assert.equal(r.output, "2\nhihihi\n(xy, 255, 7, 1, 1)\n");
    },
  },
  {
    name: "builtins26_strcontains_runtime_needle",
    features: [
      "strcontains(s, $needle)",
      "strstr(s, $needle)",
      "embedded NUL in haystack or needle",
    ],
    // tests/runtime/strcontains: "null character in needle" (true),
    // "null character in both" (false), "variable present" / "not
    // present", plus the literal cases with the needle in a variable.
    source: `begin {
  $needle = "wo\\0rld"; $hay = "hello\\0world"; $a = "bar"; $e = "";
  $ab = "abac"; $nl = "hello-longer"; $tw = "\\two";
  print((strcontains("hello world", $needle), strcontains($hay, $needle),
    strcontains("foobar", $a), strcontains("foo", $a), strcontains("", $e),
    strcontains("hello", $e), strcontains("ababac", $ab),
    strcontains("hello", $nl), strcontains("hello\\tworld", $tw)));
  print((strstr("ababac", $ab), strstr("foobar", $a), strstr("foo", $a),
    strstr("abc", $e), strstr($hay, $needle)));
  exit();
}`,
    expect(r) {
      assert.equal(
        r.output,
        "(true, false, true, false, true, true, true, false, true)\n" +
          "(2, 3, -1, 0, -1)\n",
      );
    },
  },
  {
    name: "builtins26_str_runtime_length",
    features: [
      "str(p, $n)",
      "str(p, $a + 4)",
      "strcontains(str(p), str(p, $n))",
    ],
    // tests/runtime/call ("string truncation variable length", "... with
    // expression") and strcontains ("no literals"). tsbpf's str(p, n)
    // keeps n characters, as bpftrace 0.17 (0.26 keeps n - 1): a length
    // known at run time keeps as many as the same literal.
    source: `tracepoint:syscalls:sys_enter_openat {
  $n = (uint16)5; $a = 1;
  @same[str(args.filename, $n) == str(args.filename, 5),
    str(args.filename, $a + 4) == str(args.filename, 5),
    strlen(str(args.filename, $n)), str(args.filename, $a - 1) == ""] =
    count();
  @found[strcontains(str(args.filename), str(args.filename, $n)),
    strstr(str(args.filename), str(args.filename, $n))] = count();
}`,
    workload: ["open", String(N)],
    pidFilter: true,
    expect(r) {
      // Every synthetic and workload path is longer than 5 bytes.
      assert.deepEqual(entries(r, "@same"), [["true|true|5|true", N]]);
      assert.deepEqual(entries(r, "@found"), [["true|0", N]]);
    },
  },
  {
    name: "builtins26_printf_gr",
    features: ["printf %gr (GFP flags)"],
    // tests/runtime/call ("printf_gr"): 0x1 is GFP_DMA; util/gfp_flags.cpp
    // for the order of names and the hex rest.
    source: `begin {
  printf("GFPFlags: %gr\\n", 0x1);
  $k = (uint32)0xcc0;
  printf("%gr %gr %gr %gr\\n", 0, $k | 0x100, 0x400cc0, 0x200 | 0x20);
  exit();
}`,
    expect(r) {
      assert.equal(
        r.output,
        "GFPFlags: GFP_DMA\n0 GFP_KERNEL|__GFP_ZERO GFP_KERNEL_ACCOUNT __GFP_HIGH|0x200\n",
      );
    },
  },
];
