/**
 * Parity rows for the statements of bpftrace 0.26: `let` declarations and
 * block scoping, `for` loops over maps and ranges with `break`,
 * `continue` and `return`, block expressions and map declarations.
 *
 * @module
 */

import assert from "node:assert/strict";
import { only, total } from "./expect.ts";
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
];
