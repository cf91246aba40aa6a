/**
 * Parity rows for the stack of `for` loops run as callbacks: a callback's
 * frame holds the variables its body uses, and a variable declared in the
 * body lives in that frame only, so loops over big values fit the
 * kernel's 512 bytes for a whole call chain.
 *
 * @module
 */

import assert from "node:assert/strict";
import { only } from "./expect.ts";
import type { Row } from "./row.ts";

/** The rows of loop callback frames. */
export const STACK_ROWS: Row[] = [
  {
    name: "for_callback_frames",
    features: [
      "let in a bpf_loop body (callback frame only)",
      "variable of the probe read and written in nested callbacks",
      "let in a bpf_for_each_map_elem body",
      "big tuples next to a callback loop",
      "a probe variable only read in a callback",
    ],
    source: `begin {
  $a = (1, 2, 3, 4, 5, 6, 7, 8); $b = $a;
  $n = 3; $sum = 0; $one = 1;
  for ($i : 0..$n) {
    let $t = ($i, "tuple", 3, 4, 5, 6, 7, 8);
    let $v = $t;
    let $u;
    $u = $i * 10;
    for ($j : 0..$i) {
      $sum += $u + $j + $one - 1;
    }
    printf("%d %s %d %d\\n", $v.0, $t.1, $t.7, $u);
  }
  @m[1] = 5; @m[2] = 7;
  for ($kv : @m) { let $w = $kv.1 * 2; $sum += $w; }
  printf("%d %d %d\\n", $a.0, $b.7, $sum);
  clear(@m);
  exit();
}`,
    expect(r) {
      assert.equal(
        r.output,
        "0 tuple 8 0\n1 tuple 8 10\n2 tuple 8 20\n1 8 75\n",
      );
    },
  },
  {
    name: "for_callback_return_flags",
    features: [
      "return after a nested callback loop without one",
      "exit() in a map loop around a range loop",
    ],
    source: `begin {
  $n = 0;
  for ($i : 0..(3 + $n)) {
    for ($j : 0..(2 + $n)) { $n += 1; }
    if ($i == 1) { printf("ret %d\\n", $n); return; }
  }
  printf("not reached\\n");
}
begin {
  @m[1] = 1; @m[2] = 2; @k = 0;
  for ($kv : @m) {
    for ($j : 0..$kv.1) { @k += 1; }
    if (@k > 2) { printf("exit %d\\n", @k); clear(@m); exit(); }
  }
  printf("not reached\\n");
}`,
    expect(r) {
      assert.equal(r.output, "ret 6\nexit 3\n");
      assert.equal(only(r, "@k"), 3);
    },
  },
];
