import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import {
  ProgramRejectedError,
  verifyProgram,
} from "../../runtime/verify_program.ts";
import { compileErrors as messages, load, run, valueOf } from "./harness.ts";

/**
 * `while` loops run exactly as written (no hidden iteration cap, as in
 * bpftrace); a loop the verifier cannot bound is rejected with the script
 * line of the loop.
 */

Deno.test("a while loop runs 2000 iterations, not 1024", () => {
  const l = load(
    "BEGIN { $i = 0; while ($i < 2000) { $i++; } @ = $i; exit(); }",
  );
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@"), 2000n);
});

Deno.test("our verifier bounds a 2000-iteration loop well inside its budget", () => {
  const src = "BEGIN { $i = 0; while ($i < 2000) { $i++; } @ = $i; exit(); }";
  const processed = verifyProgram(compile(src));
  // About 6 instructions an iteration, unrolled by the verifier.
  assert.ok(processed > 2000 * 5 && processed < 2000 * 8, `${processed}`);
});

Deno.test("break, continue and nested loops keep exact counts", () => {
  const l = load(
    "BEGIN { $i = 0; $odd = 0; $n = 0;" +
      " while ($i < 3000) { $i++; if ($i % 2 == 0) { continue; } $odd++;" +
      "   if ($i >= 2501) { break; } }" +
      " $a = 0; while ($a < 40) { $b = 0; while ($b < 30) { $b++; $n++; } $a++; }" +
      " @i = $i; @odd = $odd; @n = $n; exit(); }",
  );
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@i"), 2501n);
  assert.equal(valueOf(l, "@odd"), 1251n);
  assert.equal(valueOf(l, "@n"), 1200n);
});

Deno.test("while (1) with a break or an exit() compiles and ends", () => {
  const l = load(
    "BEGIN { $i = 0; while (1) { $i++; if ($i > 1500) { break; } } @a = $i;" +
      " $j = 0; while (true) { $j++; if ($j == 1700) { @b = $j; exit(); } }" +
      " @never = 1; }",
  );
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@a"), 1501n);
  assert.equal(valueOf(l, "@b"), 1700n);
  assert.equal(valueOf(l, "@never"), undefined);
});

Deno.test("while (0) compiles to nothing", () => {
  const l = load("BEGIN { $i = 7; while (0) { $i++; } @ = $i; }");
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@"), 7n);
});

Deno.test("while (1) that can never end is a compile error", () => {
  assert.deepEqual(messages("BEGIN { $i = 0; while (1) { $i++; } @ = $i; }"), [
    "Infinite loop: the while condition is always true and the body has no break, return or exit()",
  ]);
});

Deno.test("a loop that returns to the same state is rejected at its line", () => {
  const src = "BEGIN {\n  $i = 0;\n  while ($i < 10) {\n    $i = $i;\n  }\n}";
  assert.throws(
    () => verifyProgram(compile(src)),
    (e: unknown) => {
      assert.ok(e instanceof ProgramRejectedError);
      assert.equal(e.line, 3);
      assert.match(e.message, /infinite loop detected/);
      assert.ok(e.message.includes("3 |   while ($i < 10) {"), e.message);
      return true;
    },
  );
});

Deno.test("a loop bounded only by event data is rejected at a line of the loop", () => {
  const src = "tracepoint:syscalls:sys_enter_read {\n  $i = 0;\n" +
    "  while ($i < args->count) {\n    $i++;\n  }\n  @ = $i;\n}";
  assert.throws(
    () => verifyProgram(compile(src)),
    (e: unknown) => {
      assert.ok(e instanceof ProgramRejectedError);
      assert.ok(e.line === 3 || e.line === 4, `line ${e.line}`);
      assert.match(e.message, /too complex|not provably bounded/);
      return true;
    },
  );
});
