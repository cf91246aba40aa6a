/**
 * Parity rows for the code generator's short forms: `find()` with one
 * map lookup (its key evaluated once, as 0.26's `let $key = key`), in a
 * condition, negated, as a value and per event; `strlen()` a word at a
 * time, at the lengths around its words' edges and at `max_strlen`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { entries, linesOf, only, total } from "./expect.ts";
import { N, type Row } from "./row.ts";

/** `n` letters (a to z, again). */
function letters(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(97 + i % 26);
  return s;
}

/**
 * strlen() of map values of these lengths, one BEGIN probe each (a line
 * each; each copy of a value takes max_strlen bytes of stack).
 */
function strlenSource(lens: number[], maxStrlen?: number): string {
  const config = maxStrlen === undefined
    ? ""
    : `config = { max_strlen = ${maxStrlen} }\n`;
  return config +
    lens.map((n, i) =>
      `begin { @s[${i}] = "${letters(n)}"; printf("%d\\n", strlen(@s[${i}])); }`
    ).join("\n");
}

/** Paths of these lengths (the workload opens each once). */
const PATHS = [0, 1, 63, 64, 100].map((n) => "p".repeat(n));

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
  {
    name: "strlen_lengths",
    features: [
      "strlen() of strings of 0, 1, 7 to 9, 15 to 17 and 62, 63 bytes",
    ],
    source: strlenSource([0, 1, 7, 8, 9, 15, 16, 17, 62, 63]),
    expect(r) {
      assert.deepEqual(linesOf(r).slice(0, 10), [
        ...["0", "1", "7", "8", "9", "15", "16", "17", "62", "63"],
      ]);
    },
  },
  {
    name: "strlen_max_strlen",
    features: [
      "strlen() with max_strlen = 100: 63, 64 and 99 bytes",
    ],
    source: strlenSource([0, 1, 63, 64, 99], 100),
    expect(r) {
      assert.deepEqual(linesOf(r).slice(0, 5), ["0", "1", "63", "64", "99"]);
    },
  },
  {
    name: "strlen_pointer",
    features: [
      "strlen() of a char * reads max_strlen bytes (63 and a NUL)",
    ],
    source: `tracepoint:syscalls:sys_enter_openat {
  @[strlen(args->filename)] = count();
}`,
    workload: ["open", ...PATHS],
    pidFilter: true,
    expect(r) {
      if (r.engine === "kernel") {
        assert.deepEqual(entries(r, "@"), [["0", 1], ["1", 1], ["63", 3]]);
      } else {
        for (const [k] of entries(r, "@")) assert.ok(Number(k) <= 63, k);
      }
    },
  },
  {
    name: "strlen_pointer_max_strlen",
    features: [
      "strlen() of a char * with max_strlen = 100 (99 and a NUL)",
    ],
    source: `config = { max_strlen = 100 }
tracepoint:syscalls:sys_enter_openat {
  @[strlen(args->filename)] = count();
}`,
    workload: ["open", ...PATHS],
    pidFilter: true,
    expect(r) {
      if (r.engine === "kernel") {
        assert.deepEqual(entries(r, "@"), [
          ["0", 1],
          ["1", 1],
          ["63", 1],
          ["64", 1],
          ["99", 1],
        ]);
      } else {
        for (const [k] of entries(r, "@")) assert.ok(Number(k) <= 99, k);
      }
    },
  },
];
