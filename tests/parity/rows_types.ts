/**
 * Parity rows for the value types and expressions of bpftrace 0.26:
 * `bool`, call-style builtins, tuple and string subscripts, records,
 * `&` address-of, typed pointers printed in hex, enum casts. Expected
 * output follows bpftrace v0.26.1's tests/runtime (bool, tuples, record,
 * pointers, variable) and docs/stdlib.md.
 *
 * @module
 */

import assert from "node:assert/strict";
import { entries, only } from "./expect.ts";
import { N, type Row } from "./row.ts";

/** The rows of this area. */
export const TYPES_ROWS: Row[] = [
  {
    name: "bool_values_casts_printing",
    features: [
      "true/false",
      "comparisons yield bool",
      "(bool) casts",
      "bool printed true/false, %d 1/0",
    ],
    source: `begin {
  print((true, false));
  if (true) { print(1); } if (false) { print(2); }
  $b = true; $c = false; print(($b, $c));
  print(((bool)1, (bool)0, (bool)256, (bool)-1));
  print(((bool)"hello", (bool)""));
  $p = (int64 *)0; $q = (int64 *)1; print(((bool)$q, (bool)$p));
  print(((int64)true, (int64)false));
  $x = 0; print((!0, !10, !$x));
  $a = 100000; $z = 0; $g = $a > $z; $d = $a && $z; $e = $g || $d;
  print(($g, $d, $e, (uint64)$g, $a == 100000, "a" != "a"));
  printf("%d %d %u\\n", $g, 1 == 2, true);
  print(true ? 5 : 6);
  @m[true] = false; @n[false, 1, true] = 1; @v = 3 > 4;
  exit();
}`,
    expect(r) {
      assert.equal(
        r.output,
        "(true, false)\n1\n(true, false)\n(true, false, true, true)\n" +
          "(true, false)\n(true, false)\n(1, 0)\n(true, false, true)\n" +
          "(true, false, true, 1, true, false)\n1 0 1\n5\n",
      );
      assert.match(r.exitOutput, /^@m\[true\]: false$/m);
      assert.match(r.exitOutput, /^@n\[false, 1, true\]: 1$/m);
      assert.match(r.exitOutput, /^@v: false$/m);
      assert.equal(only(r, "@v"), false);
    },
  },
  {
    name: "call_style_builtins",
    features: [
      "comm()",
      "pid()",
      "tid()",
      "pid(init)",
      "tid(curr_ns)",
      "nsecs()",
    ],
    source:
      `tracepoint:syscalls:sys_enter_getppid { @[comm(), pid()] = count(); @same[pid(init) == pid && tid(curr_ns) == tid() && nsecs() > 0 && nsecs(boot) > 0] = count(); }`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.deepEqual(entries(r, "@"), [[
        `${r.target.comm}|${r.target.pid}`,
        N,
      ]]);
      assert.deepEqual(entries(r, "@same"), [["true", N]]);
    },
  },
  {
    name: "tuples_index_keys_nested",
    features: [
      "$t.N",
      "$t[const expr]",
      "tuple map keys and values",
      "nested tuples",
    ],
    source: `begin {
  $v = 99; $t = (0, 1, "str", (5, 6), $v);
  printf("%d %d %s %d %d %d\\n", $t.0, $t.1, $t.2, $t.3.0, $t.3.1, $t.4);
  @t = (0, 1, "str"); printf("%d %d %s\\n", @t.0, @t.1, @t.2);
  $a = (1, 2, 3); print($a[1 + 1]); print($t[3][1]);
  @[(1, 2)] = (3, 4); @x["abcd", 2] = (3, 4, 5);
  $k = (1, "hello"); @y[(1, "hello")] = 1; @y[$k] = 2;
  @z = ((int8)1, ((int8)-20, (int8)30));
  exit();
}`,
    expect(r) {
      assert.equal(r.output, "0 1 str 5 6 99\n0 1 str\n3\n6\n");
      assert.match(r.exitOutput, /^@\[1, 2\]: \(3, 4\)$/m);
      assert.match(r.exitOutput, /^@x\[abcd, 2\]: \(3, 4, 5\)$/m);
      assert.match(r.exitOutput, /^@y\[1, hello\]: 2$/m);
      assert.match(r.exitOutput, /^@z: \(1, \(-20, 30\)\)$/m);
    },
  },
  {
    name: "records",
    features: [
      '(a=1, b="x")',
      ".a access",
      "records in variables, map keys and values",
      "record printing",
    ],
    source: `begin {
  $v = 99; $t = (a=0, b=1, c="str", d=(5, 6), e=$v);
  printf("%d %d %s %d %d %d\\n", $t.a, $t.b, $t.c, $t.d.0, $t.d.1, $t.e);
  $w = (x=1, y=2); $u = (a=0, b=1, c="str", d=(5, 6), e=$w); print($u);
  print($u.e.y);
  @r = (m="bye", n=(x=3, y=true)); print(@r.n.x);
  @k[(a=1, b="k")] = (one=1);
  exit();
}`,
    expect(r) {
      assert.equal(
        r.output,
        "0 1 str 5 6 99\n" +
          "{ .a = 0, .b = 1, .c = str, .d = (5, 6), .e = { .x = 1, .y = 2 } }\n" +
          "2\n3\n",
      );
      assert.match(
        r.exitOutput,
        /^@r: \{ \.m = bye, \.n = \{ \.x = 3, \.y = true \} \}$/m,
      );
      assert.match(
        r.exitOutput,
        /^@k\[\{ \.a = 1, \.b = k \}\]: \{ \.one = 1 \}$/m,
      );
      assert.deepEqual(only(r, "@r"), {
        type: "record",
        fields: [["m", "bye"], ["n", {
          type: "record",
          fields: [["x", 3], ["y", true]],
        }]],
      });
    },
  },
  {
    name: "string_subscripts",
    features: ["$s[N] gives the byte as an integer"],
    source: `begin {
  $s = "hello"; print(($s[0], $s[4], $s[5]));
  printf("%c%c\\n", $s[1], $s[2]);
  @c = $s[3] == 108;
  exit();
}`,
    expect(r) {
      assert.equal(r.output, "(104, 111, 0)\nel\n");
      assert.equal(only(r, "@c"), true);
    },
  },
  {
    name: "address_of_and_pointers",
    features: [
      "&$var",
      "*(&$var)",
      "pointers print in hex",
      "%p and %d of a pointer",
    ],
    source: `begin {
  $a = 7; $b = &$a; print(*$b);
  $s = "hello"; $c = (int8 *)&$s; printf("%c %c\\n", *$c, *($c + 1));
  $n = -3; $m = &$n; printf("%d\\n", *$m);
  print((int8 *)0x1000);
  printf("%p %d %x\\n", (int8 *)0x1000, (int8 *)0x1000, (int8 *)0x1000);
  print(((int16 *)0x20, 1));
  @p = (int32 *)0x32; @k[(int8 *)0x10] = 1;
  exit();
}`,
    expect(r) {
      assert.equal(
        r.output,
        "7\nh e\n-3\n0x1000\n0x1000 4096 1000\n(0x20, 1)\n",
      );
      assert.match(r.exitOutput, /^@p: 0x32$/m);
      assert.match(r.exitOutput, /^@k\[0x10\]: 1$/m);
    },
  },
  {
    name: "enum_casts",
    features: ["(enum name)x", "enum printed by name with print(), %s, maps"],
    source: `begin {
  $x = 2; $e = (enum sock_type)$x; print($e);
  printf("%s %d %s\\n", $e, $e, (enum sock_type)1);
  print((enum sock_type)77);
  @m = (enum sock_type)1; @k[(enum sock_type)2] = 1;
  exit();
}`,
    expect(r) {
      // SOCK_STREAM = 1, SOCK_DGRAM = 2 (include/linux/net.h, every kernel).
      assert.equal(r.output, "SOCK_DGRAM\nSOCK_DGRAM 2 SOCK_STREAM\n77\n");
      assert.match(r.exitOutput, /^@m: SOCK_STREAM$/m);
      assert.match(r.exitOutput, /^@k\[SOCK_DGRAM\]: 1$/m);
    },
  },
  {
    name: "integer_array_casts",
    features: [
      "(uint8[4])x",
      '(int8[])x and (int8[])"str"',
      "(uint64)$array",
      "array subscripts",
      "arrays printed [1,2,3,4] in print(), map keys, values and tuples",
      "bool arrays",
    ],
    source: `begin {
  $a = (uint8[4])(uint32)0x04030201; print($a);
  printf("%x %x\\n", ((int8[8])12345)[0], ((int8[])12345)[1]);
  printf("%d %x\\n", (uint64)(int8[8])12345, (uint32)$a);
  print((int8[])"hello");
  print(((int16[2])(int32)-2)[0]);
  print(((1, (uint8[2])(uint16)258), (int8[6])(int32)0x030201));
  print((bool[4])(uint32)0x0100);
  @m = (int16[2])(int32)-2;
  @k[(uint8[2])(uint16)258, 1] = (1, (uint8[4])(uint32)7);
  exit();
}`,
    expect(r) {
      assert.equal(
        r.output,
        "[1,2,3,4]\n39 30\n12345 4030201\n[104,101,108,108,111,0]\n-2\n" +
          "((1, [2,1]), [1,2,3,0,0,0])\n[false,true,false,false]\n",
      );
      assert.match(r.exitOutput, /^@m: \[-2,-1\]$/m);
      assert.match(r.exitOutput, /^@k\[\[2,1\], 1\]: \(1, \[7,0,0,0\]\)$/m);
      assert.deepEqual(only(r, "@m"), { type: "array", values: [-2, -1] });
    },
  },
  {
    name: "aggregate_equality",
    features: ["== and != on tuples", "on records", "on integer arrays"],
    source: `begin {
  $t = (1, "ab", (int16)3); $u = (1, "ab", 3); $v = (1, "ac", (int16)3);
  print(($t == $u, $t != $u, $t == $v, $t != $v));
  $r = (a=1, b="x"); $s = (a=1, b="x"); $q = (a=2, b="x");
  print(($r == $s, $r == $q, (1, (2, 3)) == (1, (2, 3)), (1, (2, 3)) == (1, (2, 4))));
  $x = (uint8[4])(uint32)0x04030201; $y = (uint8[4])(uint32)0x04030201;
  print(($x == $y, $x != $y, $x == (uint8[4])(uint32)5));
  if ($t == $u) { printf("tuples equal\\n"); }
  $o = (b="x", a=1); $p = (p=1, q=(m=1, n=2));
  print(($r == $o, $q == $o, $p == (q=(n=2, m=1), p=1)));
  @e = $r != $q;
  exit();
}`,
    expect(r) {
      assert.equal(
        r.output,
        "(true, false, false, true)\n(true, false, true, false)\n" +
          "(true, false, false)\ntuples equal\n(true, false, true)\n",
      );
      assert.equal(only(r, "@e"), true);
    },
  },
  {
    name: "kernel_int_arrays_as_values",
    features: [
      "an int array member copied into a variable, map key, value, tuple",
      "printed [0]",
      "indexed after the copy",
    ],
    // The workload blocks no signals: `blocked.sig` (unsigned long[1])
    // is [0] in the kernel and in the interpreter's zeroed task.
    source: `tracepoint:syscalls:sys_enter_getppid {
  $t = (struct task_struct *)curtask;
  $v = $t->blocked.sig;
  @k[$t->blocked.sig, $v[0]] = count();
  @v = ($v, $t->blocked.sig);
  @same[$v == $t->blocked.sig] = count();
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.match(r.exitOutput, new RegExp(`^@k\\[\\[0\\], 0\\]: ${N}$`, "m"));
      assert.match(r.exitOutput, /^@v: \(\[0\], \[0\]\)$/m);
      assert.deepEqual(entries(r, "@same"), [["true", N]]);
    },
  },
  {
    name: "tracepoint_int_arrays_as_values",
    features: [
      "a tracepoint's integer array field (unsigned long args[6]) as a value",
      "printed [a,b,...] as 0.26",
      "indexed, compared, sized",
    ],
    source: `tracepoint:raw_syscalls:sys_enter {
  $a = args->args;
  @ok[$a[5] == args->args[5], $a == args->args, sizeof($a)] = count();
  @last = args->args;
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      const ok = entries(r, "@ok");
      assert.ok(ok.length === 1, `one key: ${JSON.stringify(ok)}`);
      assert.equal(ok[0][0], "true|true|48");
      assert.match(r.exitOutput, /^@last: \[\d+(,\d+){5}\]$/m);
    },
  },
  {
    name: "records_in_another_field_order",
    features: [
      "a record assigned with its fields in another order keeps the first order",
      "by name in variables, map keys and values, nested records",
    ],
    source: `begin {
  $a = (foo=1, bar="x"); $a = (bar="yy", foo=2); print($a);
  $b = (bar="z", foo=3); $a = $b; print(($a.foo, $a.bar));
  $n = (p=1, q=(x=1, y=2)); $o = (q=(y=5, x=6), p=7); $n = $o; print($n);
  $n = (q=(y=8, x=9), p=10); print($n);
  @m[(a=1, b=2)] = 1; @m[(b=2, a=1)] += 5; @m[(b=3, a=4)] = 2;
  @w[1, (x=1, y="a")] = (y="b", x=2); @w[2, (y="c", x=3)] = (x=4, y="d");
  exit();
}`,
    expect(r) {
      assert.equal(
        r.output,
        "{ .foo = 2, .bar = yy }\n(3, z)\n" +
          "{ .p = 7, .q = { .x = 6, .y = 5 } }\n" +
          "{ .p = 10, .q = { .x = 9, .y = 8 } }\n",
      );
      assert.match(r.exitOutput, /^@m\[\{ \.a = 1, \.b = 2 \}\]: 6$/m);
      assert.match(r.exitOutput, /^@m\[\{ \.a = 4, \.b = 3 \}\]: 2$/m);
      assert.match(
        r.exitOutput,
        /^@w\[2, \{ \.x = 3, \.y = c \}\]: \{ \.y = d, \.x = 4 \}$/m,
      );
    },
  },
  {
    name: "nsecs_clocks",
    features: ["nsecs(monotonic)", "nsecs(tai)", "nsecs(boot)"],
    source: `begin {
  $m = nsecs(monotonic); $b = nsecs(boot); $t = nsecs(tai);
  printf("%d %d\\n", $t / 1000000000, $m > 0 && $b >= $m && $t > $b);
  @tai = nsecs(tai) > 1000000000 * 1000000000;
  exit();
}`,
    expect(r) {
      const [secs, ok] = r.output.trim().split(" ").map(Number);
      // CLOCK_TAI is the wall clock plus the leap seconds the kernel was
      // told of (37 at most so far, 0 unless NTP set them).
      assert.ok(Math.abs(secs - Date.now() / 1000) < 600, r.output);
      assert.equal(ok, 1);
      assert.equal(only(r, "@tai"), true);
    },
  },
  {
    name: "pointer_compound_assignment",
    features: [
      "@p += n and $p -= n step n elements of the pointee",
      "on map values, keyed map values and variables",
    ],
    source: `begin {
  @p = (int32 *)0x1000; @p += 6; @a = @p; @p++; @b = @p; @p -= 2;
  $q = (int16 *)0x10; $q += 3; print($q); $q++; $q -= 1; print($q);
  @q[1] = (int64 *)0x100; @q[1]++; @q[1] += 2;
  $i = 1; $i += 2; @n = 5; @n += 3; print(($i, @n));
  exit();
}`,
    expect(r) {
      assert.equal(r.output, "0x16\n0x16\n(3, 8)\n");
      assert.match(r.exitOutput, /^@a: 0x1018$/m);
      assert.match(r.exitOutput, /^@b: 0x101c$/m);
      assert.match(r.exitOutput, /^@p: 0x1014$/m);
      assert.match(r.exitOutput, /^@q\[1\]: 0x118$/m);
    },
  },
  {
    name: "castable_aggregation_maps",
    features: [
      "(bool)@count, (int64)@sum, (uint64)@m[k] of count() and sum() maps",
      "summed over the CPUs in the program",
    ],
    source: `tracepoint:syscalls:sys_enter_getppid {
  @c = count(); @s = sum(2); @k[1] = count(); @z = sum(0);
  @seen[(bool)@c] = count();
}
END {
  print(((uint64)@c, (int64)@s, (bool)@c, (uint64)@k[1], (uint64)@k[2], (bool)@z));
  if ((bool)@k[1]) { printf("k1\\n"); }
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.ok(
        r.exitOutput.startsWith(
          `(${N}, ${2 * N}, true, ${N}, 0, false)\nk1\n`,
        ),
        r.exitOutput,
      );
      assert.deepEqual(entries(r, "@seen"), [["true", N]]);
    },
  },
  {
    name: "castable_min_max_avg_maps",
    features: [
      "(int64)@m of min(), max() and avg() maps, folded over the CPUs",
    ],
    source: `tracepoint:syscalls:sys_enter_getppid {
  @mn = min(5); @mn = min(-3); @mx = max(7); @mx = max(2);
  @av = avg(10); @av = avg(-25);
  @n[(int64)@mn, (int64)@mx] = count();
}
END {
  printf("%d %d %d %d\\n", (int64)@mn, (int64)@mx, (int64)@av, (bool)@av);
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      // avg: (10 - 25) / 2 per event pair, rounded toward zero as bpftrace.
      assert.ok(r.exitOutput.startsWith("-3 7 -7 1\n"), r.exitOutput);
      assert.deepEqual(entries(r, "@n"), [["-3|7", N]]);
    },
  },
  {
    name: "runtime_string_and_array_index",
    features: [
      "$s[$i] with a run-time index, checked against the size",
      "$a[$i] on an integer array",
      "out of bounds (past the end, negative) reads 0",
      "*++$p through &$s",
    ],
    source: `begin {
  $s = "hello"; $i = 1; $n = -1;
  print(($s[$i], $s[$i + 3], $s[$i + 4], $s[$i + 5], $s[$n]));
  $a = (int16[4])(uint64)0xfffe000300020001;
  $j = 0;
  while ($j < 5) { printf("%d ", $a[$j]); $j++; }
  printf("\\n");
  $b = (int8 *)&$s; printf("%c %c\\n", *$b, *++$b);
  exit();
}`,
    expect(r) {
      assert.equal(r.output, "(101, 111, 0, 0, 0)\n1 2 3 -2 0 \nh e\n");
    },
  },
  {
    name: "address_of_values",
    features: [
      "&$t of a tuple, record, string, integer array, username",
      "*p reads the whole value back",
    ],
    source: `begin {
  $t = (1, "hello", 2); print(*(&$t));
  $s = "hello"; $p = &$s; print(*$p);
  $u = username; $q = &$u; printf("user %s\\n", *$q);
  $r = (x=1, y="z"); $rp = &$r; print(*$rp); @m = *$rp;
  $arr = (uint8[2])(uint16)0x0201; print(*(&$arr));
  exit();
}`,
    expect(r) {
      assert.match(
        r.output,
        /^\(1, hello, 2\)\nhello\nuser \S+\n\{ \.x = 1, \.y = z \}\n\[1,2\]\n$/,
      );
      assert.match(r.exitOutput, /^@m: \{ \.x = 1, \.y = z \}$/m);
    },
  },
  {
    name: "tuple_variable_widened_later",
    features: [
      "a tuple variable read before a later assignment widens it",
      "nested tuples, map values and keys from it",
    ],
    // bpftrace 0.26.1 tests/runtime/variable "variable tuple string
    // resize"; 0.17 printed `(hi, 0)` here.
    source: `begin {
  $a = ("hi", 1); print($a); @m = $a; @k[$a] = 1;
  $a = ("hellolongstr", 2); print($a); @k[$a] = 2;
  $b = ("hi", ("hellolongstr", 2)); print($b);
  $b = ("hellolongstr", ("hi", 5)); print($b);
  exit();
}`,
    expect(r) {
      assert.equal(
        r.output,
        "(hi, 1)\n(hellolongstr, 2)\n(hi, (hellolongstr, 2))\n" +
          "(hellolongstr, (hi, 5))\n",
      );
      assert.match(r.exitOutput, /^@m: \(hi, 1\)$/m);
      assert.match(r.exitOutput, /^@k\[hi, 1\]: 1$/m);
      assert.match(r.exitOutput, /^@k\[hellolongstr, 2\]: 2$/m);
    },
  },
];
