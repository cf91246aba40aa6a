/**
 * Error messages users search for keep bpftrace 0.26's wording, inside our
 * `FILE:LINE:COL: ERROR:` format with the source line and a mark under
 * the span.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";

/** The formatted diagnostics of a script that does not compile. */
function failure(src: string): string {
  try {
    compile(src);
  } catch (e) {
    if (e instanceof CompileErrors) return e.format();
    throw e;
  }
  throw new Error(`compiled: ${src}`);
}

Deno.test("wording: a tracepoint that does not exist is 'No matches for tracepoint'", () => {
  assert.equal(
    failure("t:syscalls:nonsense { exit(); }"),
    "stdin:1:1: ERROR: No matches for tracepoint syscalls:nonsense.\n" +
      "t:syscalls:nonsense { exit(); }\n" +
      "~~~~~~~~~~~~~~~~~~~",
  );
});

Deno.test("wording: an unroll count above 100 is 'unroll maximum value is 100'", () => {
  assert.equal(
    failure("begin { unroll(101) { @x++; } }"),
    "stdin:1:16: ERROR: unroll maximum value is 100\n" +
      "begin { unroll(101) { @x++; } }\n" +
      "               ~~~",
  );
});

Deno.test("wording: kaddr() of an unknown symbol is 'Failed to resolve kernel symbol', marking the call", () => {
  assert.equal(
    failure('begin { print(kaddr("asdfzzzzzzz")) }'),
    "stdin:1:15: ERROR: Failed to resolve kernel symbol: asdfzzzzzzz\n" +
      'begin { print(kaddr("asdfzzzzzzz")) }\n' +
      "              ~~~~~~~~~~~~~~~~~~~~",
  );
});
