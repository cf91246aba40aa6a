/**
 * Compile errors that remain around 0.26's aggregation reads, `if` values
 * and probe return values: located, in bpftrace v0.26.1's words where it
 * has them (tests/type_checker.cpp at the tag).
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";

/** The formatted errors a script gets (fails when it compiles). */
function errors(src: string): string {
  try {
    compile(src, {});
  } catch (e) {
    assert.ok(e instanceof CompileErrors, `not CompileErrors: ${e}`);
    return e.format();
  }
  assert.fail(`compiled without errors: ${src}`);
}

/** One error: message, source line, mark from column `col` over `len`. */
function located(msg: string, src: string, col: number, len: number): string {
  return `stdin:1:${col}: ERROR: ${msg}\n${src}\n` +
    " ".repeat(col - 1) + "~".repeat(len);
}

const CASES: [string, string, number, number][] = [
  [
    "begin { @y = count(); @x = @y; }",
    "Map value 'count_t' cannot be assigned from one map to another. " +
    "The function that returns this type must be called directly e.g. " +
    "`@x = count();`. Add a cast to integer if you want the value of the " +
    "aggregate, e.g. `@x = (int64)@y;`.",
    23,
    7,
  ],
  [
    "begin { @y = avg(5); @x = @y; }",
    "Map value 'avg_t' cannot be assigned from one map to another. " +
    "The function that returns this type must be called directly e.g. " +
    "`@x = avg(retval);`. Add a cast to integer if you want the value of " +
    "the aggregate, e.g. `@x = (int64)@y;`.",
    22,
    7,
  ],
  [
    "begin { @a = lhist(123, 0, 123, 1); @b = @a; }",
    "Map value 'lhist_t' cannot be assigned from one map to another. " +
    "The function that returns this type must be called directly e.g. " +
    "`@b = lhist(rand %10, 0, 10, 1);`.",
    37,
    7,
  ],
  [
    "begin { @a = stats(10); let $b = @a; }",
    "Value 'stats_t' cannot be assigned to a scratch variable.",
    25,
    11,
  ],
  [
    'begin { return "a"; }',
    "Probe return values can only be integers. Found string[2]",
    9,
    10,
  ],
  [
    "begin { $v = if (1) { 5 }; }",
    'An "if" used as a value needs an "else"',
    14,
    12,
  ],
  [
    "begin { $v = if (1) { 5 } else { let $q = 1; }; }",
    "A block used as a value must end with an expression",
    32,
    15,
  ],
];

for (const [src, msg, col, len] of CASES) {
  Deno.test(`aggread: error for ${src}`, () => {
    assert.equal(errors(src), located(msg, src, col, len));
  });
}

Deno.test("aggread: an aggregation's value goes to variables, keys and integer maps", () => {
  for (
    const src of [
      "begin { @y = count(); $x = @y; @k[@y] = @y + 1; }",
      "begin { @x = 1; @y = min(3); @x = @y; }",
      "begin { @y = sum(2); @x = (int64)@y; if (@y) { print(@y * 2); } }",
      "begin { @a[1] = 1; if (delete(@a, 1)) { print(1); } }",
      "begin { $a = 1; return $a; }",
    ]
  ) {
    compile(src, {});
  }
});
