/**
 * Parity rows for the statements of bpftrace 0.26: `let` declarations and
 * block scoping, `for` loops over maps and ranges with `break`,
 * `continue` and `return`, block expressions and map declarations.
 *
 * @module
 */

import assert from "node:assert/strict";
import { entries, linesOf, only, total } from "./expect.ts";
import { N, type Row } from "./row.ts";

/** The statement rows. */
export const STATEMENT_ROWS: Row[] = [
  {
    name: "let_declarations",
    features: ["let $x = v", "let $x;", "let $x: type", "block scoping"],
    source: `begin {
  let $a = 1;
  let $b;
  let $c: u8 = 5;
  let $s: string;
  { let $d = "inner"; printf("%s %d\\n", $d, $a); }
  { let $d = 7; printf("%d\\n", $d); }
  if ($a == 1) { let $e = $a + 1; $b = $e; }
  printf("%d %d [%s]\\n", $b, $c, $s);
  exit();
}`,
    expect(r) {
      assert.equal(r.output, "inner 1\n7\n2 5 []\n");
    },
  },
  {
    name: "let_zero_each_run",
    features: ["let $x; is zero each time it runs", "0.17 assignment"],
    source: `begin {
  $i = 0;
  while ($i < 3) {
    let $z;
    $z += $i;
    $legacy = $z * 10;
    printf("%d %d\\n", $z, $legacy);
    $i++;
  }
  exit();
}`,
    expect(r) {
      assert.equal(r.output, "0 0\n1 10\n2 20\n");
    },
  },
  {
    name: "for_range_break_continue",
    features: ["for ($i : a..b)", "break", "continue", "empty range"],
    source: `begin {
  $s = 0;
  for ($i : 0..10) {
    if ($i == 2) { continue; }
    if ($i == 7) { break; }
    $s += $i;
    printf("%d ", $i);
  }
  printf("sum %d\\n", $s);
  for ($j : 3..1) { printf("never\\n"); }
  for ($k : -2..1) { for ($m : 0..2) { printf("(%d,%d)", $k, $m); } }
  printf("\\n");
  exit();
}`,
    expect(r) {
      assert.equal(
        r.output,
        "0 1 3 4 5 6 sum 19\n(-2,0)(-2,1)(-1,0)(-1,1)(0,0)(0,1)\n",
      );
    },
  },
  {
    name: "for_range_return_in_probe",
    features: ["return in a for loop", "for in a tracepoint probe"],
    source: `tracepoint:syscalls:sys_enter_getppid {
  for ($i : 0..5) {
    @iter = count();
    if ($i == 2) { return; }
  }
  @after = count();
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(only(r, "@iter"), 3 * N);
      assert.equal(total(r, "@after"), 0);
    },
  },
  {
    name: "for_map_one_and_two_keys",
    features: ["for ($kv : @map)", "$kv.0 / $kv.1", "nested key tuple"],
    source: `begin {
  @a[16] = 32; @a[64] = 128;
  @b[16, 17] = 32;
  @s["abc"] = "aa"; @s["def"] = "dd";
  for ($kv : @a) { printf("a %d %d\\n", $kv.0, $kv.1); }
  for ($kv : @b) { printf("b (%d,%d) %d\\n", $kv.0.0, $kv.0.1, $kv.1); print($kv); }
  for ($kv : @s) { print($kv); }
  exit();
}`,
    expect(r) {
      // Hash order is the engine's own: compare the lines as a set.
      assert.deepEqual(linesOf(r).sort(), [
        "((16, 17), 32)",
        "(abc, aa)",
        "(def, dd)",
        "a 16 32",
        "a 64 128",
        "b (16,17) 32",
      ]);
    },
  },
  {
    name: "for_map_variables_and_nesting",
    features: [
      "variables read and written in a for body",
      "nested for loops",
      "maps written in a for body",
    ],
    source: `begin {
  @a[1] = 10; @a[2] = 20; @b[7] = 70; @b[8] = 80; @b[9] = 90;
  $var = 3; $s = "abc";
  for ($kv : @a) {
    printf("A");
    for ($kv2 : @b) { printf("B"); $var *= 2; }
    @new[$kv.1] = $kv.0;
    $s = "def";
  }
  printf("\\n%d %s\\n", $var, $s);
  exit();
}`,
    expect(r) {
      assert.equal(r.output, "ABBBABBB\n192 def\n");
      assert.deepEqual(entries(r, "@new").sort(), [["10", 1], ["20", 2]]);
    },
  },
  {
    name: "for_map_break_continue_return",
    features: ["break in a map loop", "continue in a map loop", "return"],
    source: `begin {
  @m["foo"] = 1; @m["bar"] = 2;
  $n = 0;
  for ($kv : @m) { $n++; break; }
  printf("break after %d\\n", $n);
  for ($kv : @m) { if ($kv.0 == "bar") { continue; } printf("%s\\n", $kv.0); }
  for ($kv : @m) { if ($kv.0 == "bar") { printf("ret %s\\n", $kv.0); return; } }
  printf("not reached\\n");
}
end { printf("end\\n"); }
interval:ms:50 { exit(); }`,
    expect(r) {
      assert.equal(r.output, "break after 1\nfoo\nret bar\n");
      assert.match(r.exitOutput, /^end\n/);
    },
  },
  {
    name: "for_range_runtime_bounds",
    features: [
      "for ($i : a..b) with run-time bounds (bpf_loop)",
      "bounds evaluated once",
      "nested return",
    ],
    source: `begin {
  $a = 2; $b = 6;
  for ($i : $a..$b) { printf("%d ", $i); $b = 100; }
  @lim = 4;
  for ($i : (0 - 2)..@lim) { @lim += 1; printf("%d ", $i); }
  $z = 0;
  for ($i : 5..$z) { printf("never "); }
  printf("\\n");
  $n = 4;
  for ($i : 1..$n) { for ($j : 1..$i) { printf("%d", $j); if ($j == 2) { printf("\\n"); return; } } }
  printf("not reached\\n");
}
interval:ms:50 { exit(); }`,
    expect(r) {
      assert.equal(r.output, "2 3 4 5 -2 -1 0 1 2 3 \n112\n");
      assert.equal(only(r, "@lim"), 10);
    },
  },
  {
    name: "for_range_large_in_probe",
    features: ["bpf_loop with many iterations", "for in a tracepoint probe"],
    source: `tracepoint:syscalls:sys_enter_getppid {
  $n = 1000;
  for ($i : 0..$n) { @iter = count(); }
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(only(r, "@iter"), 1000 * N);
    },
  },
  {
    name: "block_expressions",
    features: ["block expressions", "scope of a block expression"],
    source: `begin {
  let $a = { let $b = 1; $b + 1 };
  $s = { $t = "xy"; $t };
  @m[{ let $k = 3; $k * 2 }] = { 5 };
  $n = 1 + { let $q = 10; if ($q > 5) { $q = 20; } $q };
  printf("%d %s %d\\n", $a, $s, $n);
  exit();
}`,
    expect(r) {
      assert.equal(r.output, "2 xy 21\n");
      assert.deepEqual(entries(r, "@m"), [["6", 5]]);
    },
  },
  {
    name: "map_declarations",
    features: [
      "let @m = hash(n)",
      "lruhash",
      "percpuhash",
      "percpulruhash",
      "max entries honoured",
    ],
    source: `let @h = hash(1);
let @l = lruhash(1);
let @p = percpuhash(2);
let @q = percpulruhash(1);
begin {
  @h[1] = 1; @h[2] = 2;
  @l[1] = 1; @l[2] = 2;
  @p[1] = count(); @p[2] = count(); @p[3] = count();
  @q[1] = count(); @q[2] = count();
  exit();
}`,
    expect(r) {
      // hash refuses the second key; the LRU maps evict the first.
      assert.deepEqual(entries(r, "@h"), [["1", 1]]);
      assert.deepEqual(entries(r, "@l"), [["2", 2]]);
      assert.deepEqual(entries(r, "@p").sort(), [["1", 1], ["2", 1]]);
      assert.deepEqual(entries(r, "@q"), [["2", 1]]);
    },
  },
  {
    name: "for_map_in_probe",
    features: ["for ($kv : @map) in a tracepoint probe", "per-event loop"],
    source: `begin { @w[1] = 10; @w[2] = 20; @w[3] = 30; }
tracepoint:syscalls:sys_enter_getppid {
  $t = 0;
  for ($kv : @w) { $t += $kv.1; if ($kv.0 == 2) { @seen = count(); } }
  @total = sum($t);
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(only(r, "@total"), 60 * N);
      assert.equal(only(r, "@seen"), N);
    },
  },
  {
    name: "for_map_aggregations",
    features: [
      "for ($kv : @map) over count(), sum(), min(), max(), avg()",
      "$kv.1 folded over the CPUs",
    ],
    source: `begin {
  @c[16, 17] = count(); @c[16, 17] = count(); @c[1, 2] = count();
  @s["a"] = sum(5); @s["a"] = sum(-7);
  @mn[1] = min(5); @mn[1] = min(-3); @mn[1] = min(8);
  @mx[1] = max(4); @mx[1] = max(9); @mx[1] = max(-1); @mx[2] = max(-6);
  @a[1] = avg(10); @a[1] = avg(-25); @a[2] = avg(7); @a[2] = avg(8);
  for ($kv : @c) { print($kv); }
  for ($kv : @s) { print($kv); }
  for ($kv : @mn) { printf("min %d\\n", $kv.1); }
  for ($kv : @mx) { printf("max %d %d\\n", $kv.0, $kv.1); }
  for ($kv : @a) { printf("avg %d %d\\n", $kv.0, $kv.1); }
  exit();
}`,
    expect(r) {
      assert.deepEqual(linesOf(r).sort(), [
        "((1, 2), 1)",
        "((16, 17), 2)",
        "(a, -2)",
        "avg 1 -7",
        "avg 2 7",
        "max 1 9",
        "max 2 -6",
        "min -3",
      ]);
    },
  },
  {
    name: "for_map_aggregations_in_probe",
    features: ["for over per-CPU maps written by events on any CPU"],
    source: `tracepoint:syscalls:sys_enter_getppid {
  @c[1] = count(); @s[1] = sum(3); @mx[1] = max(7); @mn[1] = min(-2);
  @a[1] = avg(4);
}
end {
  for ($kv : @c) { printf("c %d\\n", $kv.1); }
  for ($kv : @s) { printf("s %d\\n", $kv.1); }
  for ($kv : @mx) { printf("mx %d\\n", $kv.1); }
  for ($kv : @mn) { printf("mn %d\\n", $kv.1); }
  for ($kv : @a) { printf("a %d\\n", $kv.1); }
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.deepEqual(r.exitOutput.split("\n").slice(0, 5), [
        `c ${N}`,
        `s ${3 * N}`,
        "mx 7",
        "mn -2",
        "a 4",
      ]);
    },
  },
];
