/**
 * Parity rows for the code generator's short forms: `find()` with one
 * map lookup (its key evaluated once, as 0.26's `let $key = key`), in a
 * condition, negated, as a value and per event.
 *
 * @module
 */

import assert from "node:assert/strict";
import { entries, linesOf, only, total } from "./expect.ts";
import { N, type Row } from "./row.ts";

/** The rows. */
export const CODEGEN_ROWS: Row[] = [
  {
    name: "find_one_lookup",
    features: [
      "find() evaluates its key once (a key with an effect)",
      "find() as a condition, negated, as a value, in a ternary",
      "find() of a miss leaves the variable alone",
      "find() of a string value into a variable",
    ],
    source: `begin {
  @m[1] = 5; @m[2] = -3; @n = 0; $v = 7;
  if (find(@m, @n++ + 1, $v)) { printf("a %d %d\\n", $v, @n); }
  if (!find(@m, 9, $v)) { printf("b %d\\n", $v); }
  $r = find(@m, 2, $v); printf("c %d %d\\n", $r, $v);
  $x = find(@m, 3, $v) ? 10 : 20; printf("d %d %d\\n", $x, $v);
  @s[1] = "abcdefgh"; $s = "";
  if (find(@s, 1, $s)) { printf("e %s\\n", $s); }
  $t = find(@s, 2, $s); printf("f %d %s\\n", $t, $s);
}`,
    expect(r) {
      assert.deepEqual(linesOf(r).slice(0, 6), [
        "a 5 1",
        "b 5",
        "c 1 -3",
        "d 20 -3",
        "e abcdefgh",
        "f 0 abcdefgh",
      ]);
    },
  },
  {
    name: "find_per_event",
    features: [
      "find() per event: a miss on the first event, hits after",
      "find() then an update of the same element",
    ],
    source: `tracepoint:syscalls:sys_enter_openat {
  $seen = 0;
  if (find(@first, pid, $seen)) { @again = count(); }
  else { @first[pid] = 1; @new = count(); }
  $n = 0;
  if (find(@cnt, 1, $n)) { @cnt[1] = $n + 1; } else { @cnt[1] = 1; }
}`,
    workload: ["open", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(Number(only(r, "@new")), 1);
      const again = Number(only(r, "@again"));
      assert.deepEqual(entries(r, "@cnt").map(([k]) => k), ["1"]);
      assert.equal(total(r, "@cnt"), again + 1);
      assert.ok(
        r.engine === "interp" ? again >= 1 : again === N - 1,
        `${again}`,
      );
    },
  },
];
