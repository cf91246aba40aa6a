/**
 * `&&` and `||` whose left side (or whole) is known at compile time: the
 * dead side is not emitted (our verifier, like the kernel's, rejects
 * unreachable instructions), side effects of evaluated sides still happen,
 * in `if`, `while`, ternaries, predicates and assignments.
 */

import assert from "node:assert/strict";
import { entries, events, load, run, tpCtx, valueOf } from "./harness.ts";

/** Loads (compile + verify) and runs BEGIN once; printf formats, values. */
function begin(src: string): { out: string[]; v: (n: string) => unknown } {
  const l = load(src);
  run(l, "BEGIN");
  const out = events(l).filter((e) => e.kind === "printf").map((e) =>
    e.format ?? ""
  );
  return { out, v: (n: string) => valueOf(l, n) };
}

Deno.test("a constant true left side of || skips the right side", () => {
  const r = begin(
    'BEGIN { if (1 || @w++ > 0) { printf("a\\n"); } @x = 1; }',
  );
  assert.deepEqual(r.out, ["a\n"]);
  assert.equal(r.v("@w"), undefined); // never evaluated
});

Deno.test("a constant false left side of && skips the right side", () => {
  const r = begin(
    'BEGIN { if (0 && @v++) { printf("b\\n"); } else { printf("c\\n"); } }',
  );
  assert.deepEqual(r.out, ["c\n"]);
  assert.equal(r.v("@v"), undefined);
});

Deno.test("a constant right side decides the truth, the left side still runs", () => {
  const r = begin(
    'BEGIN { if (@q++ && 0) { printf("dead\\n"); } else { printf("live\\n"); } ' +
      'if (!(@q++ && 0)) { printf("n\\n"); } ' +
      'if ((@q++ && 0) && @r++) { printf("d2\\n"); } ' +
      'if (@q++ || 1) { printf("t\\n"); } }',
  );
  assert.deepEqual(r.out, ["live\n", "n\n", "t\n"]);
  assert.equal(r.v("@q"), 4n);
  assert.equal(r.v("@r"), undefined);
});

Deno.test("known conditions in assignments, ternaries and while", () => {
  const r = begin(
    "BEGIN { $x = @u++ && 0; @x = $x; @y = (@u++ || 1) ? 5 : 6; " +
      '@s = 0 || @u++ > 0 ? "s1" : "s2"; @z = (@u++ && 0) || pid > 0; ' +
      "@o = 1 || @never++; @a = 0 && @never++; " +
      "while (@u++ && 0) { @never++; } }",
  );
  assert.equal(r.v("@x"), 0n);
  assert.equal(r.v("@y"), 5n);
  assert.equal(r.v("@s"), "s1");
  assert.equal(r.v("@z"), 1n);
  assert.equal(r.v("@o"), 1n);
  assert.equal(r.v("@a"), 0n);
  assert.equal(r.v("@u"), 5n);
  assert.equal(r.v("@never"), undefined);
});

Deno.test("decided predicates: never true drops the body, always true keeps it", () => {
  const src =
    "tracepoint:syscalls:sys_enter_openat /0 && @w++/ { @a = count(); } " +
    "tracepoint:syscalls:sys_enter_read /1 || @w++/ { @b = count(); } " +
    "tracepoint:syscalls:sys_enter_write /@p++ && 0/ { @c = count(); }";
  const l = load(src, { tracefsAvailable: false });
  for (const tp of ["openat", "read", "write"]) {
    const text = `tracepoint:syscalls:sys_enter_${tp}`;
    run(l, text, tpCtx(l, text, {}));
    run(l, text, tpCtx(l, text, {}));
  }
  assert.equal(valueOf(l, "@a"), undefined);
  assert.equal(valueOf(l, "@w"), undefined);
  assert.equal(valueOf(l, "@c"), undefined);
  assert.equal(valueOf(l, "@p"), 2n);
  assert.deepEqual(entries(l, "@b").map((e) => e.value), [[2n]]);
});
