/**
 * `sizeof` measures what bpftrace 0.17 measures: a variable keeps the width
 * of its first assignment (a cast's width), builtins are 64 bits, tuple
 * literals lay out their elements at their own widths; storage may widen.
 * Expected numbers are what the installed bpftrace 0.17 prints for the same
 * expressions (see vs_bpftrace_test.ts for the live comparison).
 */

import assert from "node:assert/strict";
import { events, load, run } from "./harness.ts";

function sizes(exprs: string[], prelude = ""): bigint[] {
  const fmt = exprs.map(() => "%d").join(" ");
  const l = load(
    `BEGIN { ${prelude} printf("${fmt}\\n", ${
      exprs.map((e) => `sizeof(${e})`).join(", ")
    }); }`,
  );
  run(l, "BEGIN");
  return events(l)[0].args as bigint[];
}

Deno.test("sizeof a variable is the width of its first assignment", () => {
  assert.deepEqual(
    sizes(
      ["$x", "$z", "$s", "$s2", "$c", "$n"],
      "$x = (uint16)1; $z = (uint8)1; $z = 300; $s = (int32)-1; $s2 = $s; " +
        "$c = comm; $n = 5;",
    ),
    [2n, 1n, 4n, 4n, 16n, 8n],
  );
});

Deno.test("sizeof tuples lays out elements at their own widths", () => {
  assert.deepEqual(
    sizes(
      ["$t", "$u", "((uint8)1, comm)", "$v"],
      "$t = ((uint16)1, (uint8)2); $u = ((uint8)1, ((uint16)2, (uint8)3)); " +
        '$v = (1, (uint16)2, "ab", (int8)3);',
    ),
    [4n, 6n, 17n, 16n],
  );
});

Deno.test("sizeof builtins, casts and arithmetic", () => {
  assert.deepEqual(
    sizes(
      ["pid", "tid", "uid", "cpu", "nsecs", "(uint16)1", "$x + 1", "1"],
      "$x = (uint16)1;",
    ),
    [8n, 8n, 8n, 8n, 8n, 2n, 8n, 8n],
  );
});
