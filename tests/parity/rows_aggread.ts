/**
 * Parity rows for values bpftrace 0.26 reads in the program that tsbpf
 * refused before: an aggregation map's value in an expression (the
 * per-CPU slots folded as 0.26's `CreatePerCpuMapAggElems` folds them),
 * `delete()` as a value, `if` as a value, a ternary of calls as a
 * statement, `_ = expr;`, `return` in any probe and a block expression
 * ending in an aggregation. Programs and expected lines are those of
 * v0.26.1's tests/runtime (file and test name cited per row); an
 * `exit()` is added where the original runs until the harness stops it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { linesOf, only } from "./expect.ts";
import type { Row } from "./row.ts";

/**
 * name, program, the lines the output (printed events, then the maps at
 * exit) must include, and the 0.26 runtime test it comes from.
 */
const CASES: [string, string, string[], string][] = [
  [
    "count_if",
    'i:ms:1 { @ = count(); if (@ > 5) { printf("done\\n"); exit(); }}',
    ["done"],
    "other: per_cpu_map_count_if",
  ],
  [
    "min_if",
    "begin { @ = 10; } i:ms:1 { @--; @mn = min(@); " +
    'if (@mn < 5) { printf("done\\n"); exit(); }}',
    ["done"],
    "other: per_cpu_map_min_if",
  ],
  [
    "max_if",
    "begin { @ = 1; } i:ms:1 { @++; @mx = max(@); " +
    'if (@mx > 5) { printf("done\\n"); exit(); }}',
    ["done"],
    "other: per_cpu_map_max_if",
  ],
  [
    "avg_if",
    "begin { @ = avg(1); @ = avg(1); @ = avg(10); " +
    'if (@ == 4) { printf("done\\n"); } exit(); }',
    ["done", "@: 4"],
    "other: per_cpu_map_avg_if",
  ],
  [
    "avg_negative_if",
    "begin { @ = avg(-1); @ = avg(-1); @ = avg(-10); " +
    'if (@ == -4) { printf("done\\n"); } exit(); }',
    ["done", "@: -4"],
    "signed_ints: avg cast negative values",
  ],
  [
    "arithmetic",
    "begin { @a = sum(10); @b = count(); $c = @a + @b; " +
    'if ($c == 11) { printf("done\\n"); } exit(); }',
    ["done"],
    "other: per_cpu_map_arithmetic",
  ],
  [
    "as_map_key",
    "begin { @a = count(); @b = sum(5); @c = min(1); @d = max(10); " +
    "@e = avg(7); @[@a, @b, @c, @d, @e] = 1; exit(); }",
    ["@[1, 5, 1, 10, 7]: 1"],
    "other: per_cpu_map_as_map_key",
  ],
  [
    "print_tuple",
    "begin { @a = avg(5); @c = count(); @s = sum(5); @mn = min(1); " +
    "@mx = max(-1); print((@a, @c, @s, @mn, @mx)); exit(); }",
    ["(5, 1, 5, 1, -1)"],
    "basic: print_per_cpu_map_vals",
  ],
  [
    "delete_value",
    "begin { @a[1] = 1; $x = delete(@a, 2); $y = delete(@a, 1); " +
    'if ($x == false && $y == true) { printf("SUCCESS\\n"); } exit(); }',
    ["SUCCESS"],
    "stdlib: bad delete",
  ],
  [
    "ternary_of_calls",
    'i:ms:1 { nsecs ? printf("yes\\n") : printf("no") ; exit(); }',
    ["yes"],
    "other: ternary_none_type",
  ],
  [
    "discard",
    "begin { _ = { print(1); 1 }; exit(); }",
    ["1"],
    "basic: discard expression",
  ],
  [
    "if_value",
    "begin { let $x=1; let $y=2; let $z=3; print(if ($x) { if ($y) " +
    "{ if ($z) { $x } else { $y } } else { $z } } else { 0 }); exit(); }",
    ["1"],
    "regression: nested ternary operators",
  ],
  [
    "probe_return",
    "begin { $a = 1; print($a); return $a; } begin { exit(); }",
    ["1"],
    "basic: probe return",
  ],
  [
    "block_agg",
    "begin { @ = { let $a = 100; avg($a) }; exit(); }",
    ["@: 100"],
    "call: block expression with map assignment",
  ],
];

const CASE_ROWS: Row[] = CASES.map(([name, source, want, from]) => ({
  name: `aggread_${name}`,
  features: [`0.26 tests/runtime/${from}`],
  source,
  kernelMs: 2000,
  interpMs: 1000,
  expect(r) {
    assert.equal(r.reason, "exit");
    assert.equal(r.faults, 0, r.firstFault);
    const lines = [...linesOf(r), ...r.exitOutput.split("\n")];
    for (const line of want) {
      assert.ok(
        lines.includes(line),
        `no line ${JSON.stringify(line)} in ${JSON.stringify(lines)}`,
      );
    }
    // "no" never printed: only the branch taken runs.
    assert.ok(!lines.includes("no"), JSON.stringify(lines));
    assert.doesNotMatch(r.stderr, /discarded/);
  },
}));

/** The rows of this area. */
export const AGGREAD_ROWS: Row[] = [
  ...CASE_ROWS,
  {
    name: "aggread_in_loops",
    features: [
      "an aggregation read inside a while loop and a bpf_loop range",
      "nine reads in one expression",
    ],
    // An inline fold over 1024 CPUs left the kernel's verifier too many
    // pending branches here ("The sequence of 8193 jumps is too complex").
    source: `begin {
  @c = count(); @m = max(7); $i = 0;
  while ($i < 50) { if (@c > 0) { @n++; } $i++; }
  for ($j : 0..$i) { @r = sum(@m); }
  print(@c + @c + @c + @c + @c + @c + @c + @c + @m);
  exit();
}`,
    expect(r) {
      assert.deepEqual(linesOf(r), ["15"]);
      assert.equal(only(r, "@n"), 50);
      assert.equal(only(r, "@r"), 350);
    },
  },
  {
    name: "aggread_folds_cpus",
    features: [
      "a count() read in the program is its total over every CPU",
      "max() of an aggregation's value",
    ],
    // profile fires on every CPU: @seen, the largest total a probe read,
    // is the final count less what other CPUs added after the last read.
    // A read of the running CPU's slot alone would see about 1/ncpus.
    source: "profile:hz:499 { @ = count(); @seen = max(@); }",
    kernelMs: 1500,
    interpMs: 1500,
    expect(r) {
      const n = Number(only(r, "@"));
      const seen = Number(only(r, "@seen"));
      assert.ok(n >= 100, `${r.engine}: @ = ${n}`);
      // The maps are read one after the other while the probe still
      // fires: a few events may land between the two reads.
      const ok = seen >= n * 0.9 && seen <= n * 1.1;
      assert.ok(ok, `${r.engine}: @seen = ${seen}, @ = ${n}`);
    },
  },
];
