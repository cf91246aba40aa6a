/**
 * Errors of the last pieces of bpftrace 0.26's language (issue 17): an
 * unknown `nsecs()` clock, `strftime()` of a monotonic time, `len()` with
 * the wrong arguments, `&` of something that is no variable, and what
 * tsbpf does not follow (`&@map`, `comm(pid)`). Each is one error in our
 * `FILE:LINE:COL: ERROR:` format with the source line and a mark, and
 * the CLI exits 2. The wording cited is bpftrace v0.26.1's.
 */

import assert from "node:assert/strict";
import { prepareKernelTypes } from "../../runtime/compiler/kernel_types.ts";
import { failure, one } from "./harness.ts";

// Script structs (`struct B { ... }`) are laid out with the kernel's types.
await prepareKernelTypes("struct");

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

const CASES: [string, string, number, number, string][] = [
  // tests/type_checker.cpp (call_nsecs): the mark is under the clock.
  [
    "nsecs() of an unknown clock",
    "begin { $ns = nsecs(xxx); }",
    21,
    3,
    "Invalid timestamp mode: xxx",
  ],
  // type_checker.cpp (strftime): a monotonic time is no date.
  [
    "strftime() of nsecs(monotonic)",
    'begin { print(strftime("%M:%S", nsecs(monotonic))); }',
    15,
    35,
    "strftime() can not take a monotonic timestamp",
  ],
  [
    "strftime() of a variable holding nsecs(monotonic)",
    'begin { $m = nsecs(monotonic); print(strftime("%S", $m)); }',
    38,
    18,
    "strftime() can not take a monotonic timestamp",
  ],
  // stdlib/base.bt defines len() with one argument; a call matching no
  // definition is macro_expansion.cpp's "Call to len() has arguments
  // that do not match any definition", with the count expected.
  [
    "len() of a map and a key",
    "begin { @m[1] = count(); print(len(@m, 1)); }",
    32,
    10,
    "Call to len() has arguments that do not match any definition. Expected: 1 but got 2",
  ],
  [
    "len() without arguments",
    "begin { print(len()); }",
    15,
    5,
    "Call to len() has arguments that do not match any definition. Expected: 1 but got 0",
  ],
  // tests/parser.cpp (address_of): & takes a map or a variable.
  [
    "& of a literal",
    "begin { $x = &1; }",
    14,
    2,
    "The address-of operator (&) can only be used on a map or variable",
  ],
  // tests/type_checker.cpp (map_address): an undefined map.
  [
    "& of an undefined map",
    "begin { $x = &@a; }",
    15,
    2,
    "Undefined map: @a",
  ],
  // Not followed (README): 0.26's &@m is the BPF map object.
  [
    "& of a map",
    "begin { @a = 1; $x = &@a; }",
    22,
    3,
    "The address of a map (the BPF map object) is not supported: copy the value to a scratch variable ($x = @m; &$x)",
  ],
  // Not followed (README): stdlib.md's comm(uint32 pid) needs a kfunc.
  [
    "comm(pid)",
    "begin { print(comm(1)); }",
    20,
    1,
    "comm(pid) is not supported: tsbpf does not call kfuncs (bpf_task_from_pid); comm() is the current thread's",
  ],
  // stdlib.md: pcomm() takes at most a task.
  [
    "pcomm() of two arguments",
    "begin { print(pcomm(curtask, 1)); }",
    15,
    17,
    "pcomm() takes at most 1 argument",
  ],
  // stdlib/meta.bt: static_assert(cond, msg) fails the build with msg.
  [
    "static_assert() of a false condition",
    'begin { static_assert(1 == 2, "one is not two"); }',
    9,
    39,
    "one is not two",
  ],
  [
    "static_assert() of a run-time condition",
    'begin { static_assert(pid, "x"); }',
    23,
    3,
    "static_assert() needs a condition known at compile time",
  ],
  // stdlib.md (fail): reached, it fails the build with its message; $1
  // not given is 0.
  [
    "fail() reached",
    'begin { if ($1 < 2) { fail("Expected more than 1, got %d", $1); } }',
    23,
    40,
    "Expected more than 1, got 0",
  ],
  [
    "fail() of a run-time value",
    'begin { fail("pid %d", pid); }',
    24,
    3,
    "fail() takes literal arguments only",
  ],
  [
    "strlen() of an integer",
    "begin { print(strlen(1)); }",
    22,
    1,
    "strlen() expects a string or a pointer to one, got int64",
  ],
  // type_checker.cpp (kptr/uptr): integers or pointers only.
  [
    "kptr() of a string",
    'begin { print(kptr("a")); }',
    20,
    3,
    "kptr() only supports integer or pointer arguments (string provided)",
  ],
  // type_checker.cpp (binop of arrays): the elements must be integers.
  [
    "== of arrays of arrays",
    "struct B { int y[2][2]; } begin { $t = (1, 2); $p = (struct B *)&$t; print($p->y == $p->y); }",
    76,
    14,
    "Only arrays of same sized integer support comparison operators.",
  ],
];

for (const [what, src, col, len, message] of CASES) {
  Deno.test(`lang26 errors: ${what}`, () => {
    assert.equal(failure(src), one(src, col, len, message));
  });
}

Deno.test("lang26 errors: the CLI exits 2 with the located len() error", async () => {
  const src = "begin { @m[1] = count(); print(len(@m, 1)); }";
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", MOD, "--dry-run", "-e", src],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 2, err);
  assert.equal(
    err.trim(),
    one(
      src,
      32,
      10,
      "Call to len() has arguments that do not match any definition. Expected: 1 but got 2",
    ),
  );
});
