/**
 * Parity rows for the last pieces of bpftrace 0.26's language: the clocks
 * of `nsecs()` (`sw_tai` included) and `strftime()` of a TAI time, the
 * task builtins with a task argument (`ppid(task)`, `pcomm`,
 * `leader_comm`, `leader_tid`), `probetype`, `has_cpid`, the type tests of meta.bt (`is_str()`, ...),
 * `strlen()`, `strstr()`,
 * bools inside tuples and map keys, and
 * arrays of arrays.
 * Expected output follows bpftrace v0.26.1's docs/stdlib.md and
 * tests/runtime (each cited where it is used).
 *
 * @module
 */

import assert from "node:assert/strict";
import { entries, only } from "./expect.ts";
import { N, type Row } from "./row.ts";

/** Wall-clock minus uptime, from `/proc/uptime` (10 ms steps), in ns. */
function bootWallNs(): number {
  const up = Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]);
  return Date.now() * 1e6 - up * 1e9;
}

/** The rows of this area. */
export const LANG26_ROWS: Row[] = [
  {
    name: "lang26_nsecs_sw_tai",
    features: [
      "nsecs(sw_tai)",
      "strftime() of nsecs(tai)",
      "strftime() of a sw_tai variable",
      "strftime() of a map holding nsecs(tai)",
    ],
    // stdlib.md (nsecs): sw_tai approximates the TAI timestamp from the
    // boot clock; its example prints sw_tai against tai, a few ns apart.
    // strftime() of a TAI time is a date without the boot time added
    // (type_checker.cpp accepts nsecs(tai) there).
    source: `begin {
  $b = nsecs(boot); $s = nsecs(sw_tai); $b2 = nsecs(boot);
  $a = nsecs(sw_tai); $t = nsecs(tai); $c = nsecs(sw_tai);
  print(($s - $b, $b2 - $b, (int64)(($a + $c) / 2) - (int64)$t));
  $w = nsecs(sw_tai);
  printf("%s %s\\n", strftime("%Y", nsecs(tai)), strftime("%Y", $w));
  @tai = nsecs(tai);
  @year = strftime("%Y", @tai);
  exit();
}`,
    expect(r) {
      const lines = r.output.trim().split("\n");
      const [delta, spread, vsTai] = lines[0].slice(1, -1).split(", ").map(
        Number,
      );
      // sw_tai - boot is the host's CLOCK_TAI - CLOCK_BOOTTIME: the wall
      // clock less the uptime, plus TAI's leap seconds (37 at most).
      const off = (delta - bootWallNs()) / 1e9;
      assert.ok(off > -1 && off < 40, `${r.engine}: ${lines[0]}`);
      assert.ok(spread >= 0 && spread < 1e9, lines[0]);
      const year = String(new Date().getFullYear());
      assert.equal(lines[1].split(" ")[0], year);
      assert.equal(String(only(r, "@year")), year);
      if (r.engine === "kernel") {
        // The kernel's own TAI clock between two sw_tai reads: within a
        // millisecond (bpftrace's example shows about 100 ns).
        assert.ok(Math.abs(vsTai) < 1e6, lines[0]);
        assert.equal(lines[1], `${year} ${year}`);
      }
    },
  },
  {
    name: "lang26_task_relatives",
    features: [
      "pcomm",
      "pcomm(task)",
      "leader_comm",
      "leader_tid()",
      "ppid(task)",
    ],
    // stdlib.md: pcomm is task.real_parent.comm, leader_comm
    // task.group_leader.comm, leader_tid task.group_leader.pid, ppid(task)
    // task.real_parent.pid; each takes a task or defaults to curtask.
    source: `tracepoint:syscalls:sys_enter_getppid {
  @parent[pcomm] = count();
  @same[pcomm() == pcomm(curtask), leader_comm == comm,
    leader_comm(curtask) == comm(), leader_tid == pid, leader_tid() == tid,
    ppid(curtask) == ppid, ppid(curtask->real_parent) > 0] = count();
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      // The workload is single-threaded: its own group leader.
      assert.deepEqual(entries(r, "@same"), [[
        "true|true|true|true|true|true|true",
        N,
      ]]);
      const parents = entries(r, "@parent");
      assert.equal(parents.length, 1, JSON.stringify(parents));
      assert.equal(parents[0][1], N);
      assert.match(parents[0][0], /^\S{1,15}$/);
    },
  },
  {
    name: "lang26_probetype",
    features: ["probetype", "probetype()"],
    // stdlib.md (probetype): begin and end are "special";
    // tests/runtime/macro ("builtin wrapper probetype") prints it in begin.
    source: `begin { print((probetype, probetype() == probetype)); }
tracepoint:syscalls:sys_enter_getppid { @t[probetype] = count(); }`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(r.output, "(special, true)\n");
      assert.deepEqual(entries(r, "@t"), [["tracepoint", N]]);
    },
  },
  {
    name: "lang26_has_cpid",
    features: ["has_cpid", "has_cpid()", "cpid without -c"],
    // stdlib.md (has_cpid, cpid): has_cpid is true iff there is a -c
    // child; cpid without one is zero with a warning where it is read.
    source:
      `begin { print((has_cpid, has_cpid())); if (has_cpid) { print(cpid); } print(cpid); exit(); }`,
    expect(r) {
      assert.equal(r.output, "(false, false)\n0\n");
      assert.equal(
        r.stderr,
        "stdin:1:77-81: WARNING: No child command (`-c`); cpid is zero\n",
      );
    },
  },
  {
    name: "lang26_type_introspection",
    features: [
      "is_str()",
      "is_ptr()",
      "is_array()",
      "is_integer()",
      "is_unsigned_integer()",
      "is_literal()",
      "kptr()/uptr()",
      "static_assert()",
    ],
    // stdlib.md (is_*, kptr, uptr, static_assert) and stdlib/meta.bt: the
    // answers come from the argument's type (is_literal: its form) at
    // compile time; kptr/uptr leave the value and type as they are.
    source: `begin {
  $p = (int8 *)0x10; $a = (uint8[4])(uint32)1; $s = "x"; @m = 5;
  static_assert(1 + 1 == 2, "math");
  print((is_str($s), is_str(1), is_ptr($p), is_ptr(1), is_array($a),
    is_array($s), is_integer(1), is_integer(true), is_integer($p)));
  print((is_unsigned_integer((uint8)1), is_unsigned_integer(-1),
    is_literal(1), is_literal(-1), is_literal("a"), is_literal($s),
    is_integer(@m)));
  if (is_str($s)) { print(kptr($p)); }
  print(uptr(curtask) == curtask);
  exit();
}`,
    expect(r) {
      assert.equal(
        r.output,
        "(true, false, true, false, true, false, true, false, false)\n" +
          "(true, false, true, true, true, false, true)\n0x10\ntrue\n",
      );
    },
  },
  {
    name: "lang26_is_err_fail_long_format",
    features: [
      "is_err()",
      "fail() in a branch never taken",
      "a printf format longer than a string",
    ],
    // stdlib.md (is_err): the kernel's IS_ERR(), -4095 to -1; (fail): a
    // build error only where it is reached, as the positional-parameter
    // example there. bpftrace takes formats of any length.
    source: `begin {
  print((is_err((int8 *)-2), is_err((int8 *)0x1000), is_err((int8 *)-4095),
    is_err((int8 *)-4096)));
  if ($1 > 5) { fail("Expected at most 5, got %d", $1); }
  printf("a format longer than sixty-four bytes, which bpftrace takes whole: %d\\n", 7);
  exit();
}`,
    expect(r) {
      assert.equal(
        r.output,
        "(true, false, true, false)\n" +
          "a format longer than sixty-four bytes, which bpftrace takes whole: 7\n",
      );
    },
  },
  {
    name: "lang26_strlen",
    features: [
      "strlen(string)",
      "strlen(char *)",
      "strlen of a literal, a variable, comm",
    ],
    // stdlib.md (strlen): the length of a string-like object, a string or
    // an int8 pointer (read as far as str() reads).
    source: `begin {
  $s = "hello"; print((strlen("abc"), strlen($s), strlen(""), strlen(comm) > 0));
}
tracepoint:syscalls:sys_enter_openat {
  @n[strlen(args.filename)] = count();
  @same[strlen(args.filename) == strlen(str(args.filename))] = count();
}`,
    workload: ["open", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(r.output, "(3, 5, 0, true)\n");
      assert.deepEqual(entries(r, "@same"), [["true", N]]);
      if (r.engine === "kernel") {
        // The workload opens /nonexistent/tsbparity/0 to /19.
        assert.deepEqual(entries(r, "@n").sort(), [["24", 10], ["25", 10]]);
      }
    },
  },
  {
    name: "lang26_strstr",
    features: ['strstr(haystack, "needle")'],
    // stdlib.md (strstr): the index of the needle's first occurrence, -1
    // when it is not there; strings.bt: an empty needle is at 0.
    source: `begin {
  $s = "hello world";
  print((strstr($s, "world"), strstr($s, "h"), strstr($s, "xyz"),
    strstr($s, ""), strstr("abcabc", "ca"), strstr($s, "d")));
  exit();
}`,
    expect(r) {
      assert.equal(r.output, "(6, 0, -1, 0, 2, 10)\n");
    },
  },
  {
    name: "lang26_bools_in_tuples",
    features: [
      "bool in a printed tuple",
      "bool in a map key tuple",
      "bool in a map value tuple",
      "sizeof of a tuple with bools",
    ],
    // tests/runtime/bool ("bool values", "bool in resized tuples") and
    // tests/runtime/tuples (struct sizing); a bool is one byte
    // (types.cpp: CreateBool), aligned as a byte in a tuple.
    source: `begin {
  print((true, 1));
  $t = (true, (int8)1, false);
  print(($t, sizeof($t), sizeof((true, 1)), sizeof((1 > 0, (int16)2))));
  @a[false, 1, true] = 1; @a[true, (int32)2, false] = 2;
  @v = (false, 3, true);
  exit();
}`,
    expect(r) {
      assert.equal(r.output, "(true, 1)\n((true, 1, false), 3, 16, 4)\n");
      assert.match(r.exitOutput, /^@a\[false, 1, true\]: 1$/m);
      assert.match(r.exitOutput, /^@a\[true, 2, false\]: 2$/m);
      assert.match(r.exitOutput, /^@v: \(false, 3, true\)$/m);
      assert.deepEqual(entries(r, "@a").sort(), [
        ["false|1|true", 1],
        ["true|2|false", 2],
      ]);
    },
  },
  {
    name: "lang26_arrays_of_arrays",
    features: [
      "int y[2][2] member indexed",
      "copied to a variable, a map value, a map key",
      "indexed after the copy",
      "printed nested",
      "in a tuple",
      "sizeof",
    ],
    // tests/runtime/array ("multi-dimensional array ..."): the same
    // struct B, read here from a scratch tuple's bytes (5, 6, 7, 8)
    // instead of the test program's memory; tests/runtime/tuples ("array
    // in tuple sizing"): an int32 then 16 bytes of int is 20 bytes.
    source: `struct B { int y[2][2]; }
begin {
  $t = (0x0000000600000005, 0x0000000800000007);
  $p = (struct B *)&$t;
  printf("Result: %d\\n", $p->y[1][0]);
  $b = $p->y; printf("Result: %d\\n", $b[1][0]);
  @b[0] = $p->y; printf("Result: %d\\n", @b[0][1][0]);
  $x = @b[0]; printf("Result: %d\\n", $x[1][1]);
  @m = $p->y; @x[$p->y] = 0; @y[@m] = 1;
  print(($b, $b[1], sizeof($b), sizeof(((int32)1, $b))));
  exit();
}`,
    expect(r) {
      assert.equal(
        r.output,
        "Result: 7\nResult: 7\nResult: 7\nResult: 8\n" +
          "([[5,6],[7,8]], [7,8], 16, 20)\n",
      );
      assert.match(r.exitOutput, /^@b\[0\]: \[\[5,6\],\[7,8\]\]$/m);
      assert.match(r.exitOutput, /^@m: \[\[5,6\],\[7,8\]\]$/m);
      assert.match(r.exitOutput, /^@x\[\[\[5,6\],\[7,8\]\]\]: 0$/m);
      assert.match(r.exitOutput, /^@y\[\[\[5,6\],\[7,8\]\]\]: 1$/m);
    },
  },
];
