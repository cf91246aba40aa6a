/**
 * Syntax of bpftrace 0.19-0.26 that lowers to the 0.17 tree: lowercase
 * `begin`/`end`, `BEGIN,END` in one probe, `a ?: b`, duration literals.
 */

import assert from "node:assert/strict";
import type { Expr } from "../../runtime/lang/ast.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import { lowerProgram } from "../../runtime/lang/lowering.ts";
import { parse } from "../../runtime/lang/parser.ts";

/** The formatted errors `parse` throws for `src` (fails if it parses). */
function errors(src: string): string {
  try {
    parse(src, "stdin");
  } catch (e) {
    assert.ok(e instanceof CompileErrors, `not CompileErrors: ${e}`);
    return e.format();
  }
  assert.fail(`parsed without errors: ${src}`);
}

/** The value expression of `begin { $r = EXPR; }`. */
function valueOf(text: string): Expr {
  const s = parse(`begin { $r = ${text}; }`).ast.probes[0].body.stmts[0];
  assert.ok(s.kind === "assign");
  return s.value;
}

Deno.test("modern syntax: begin and end are BEGIN and END, raw text kept", () => {
  const { ast } = parse("begin { } end { } BEGIN { } END { }");
  assert.deepEqual(
    ast.probes.map((p) => [p.attachPoints[0].provider, p.attachPoints[0].raw]),
    [["BEGIN", "begin"], ["END", "end"], ["BEGIN", "BEGIN"], ["END", "END"]],
  );
  assert.match(errors("begin:x { }"), /Invalid attach point "begin:x"/);
});

Deno.test("modern syntax: BEGIN,END lowers to one probe per provider, in order", () => {
  const { ast } = parse(
    "END, tracepoint:a:b, BEGIN, tracepoint:c:d /pid/ { @x = 1; }",
  );
  assert.equal(ast.probes.length, 1, "the parser keeps the probe as written");
  const lowered = lowerProgram(ast).probes;
  assert.deepEqual(
    lowered.map((p) => p.attachPoints.map((a) => a.raw)),
    [["END"], ["tracepoint:a:b", "tracepoint:c:d"], ["BEGIN"]],
  );
  for (const p of lowered) {
    assert.equal(p.predicate?.kind, "builtin");
    assert.equal(p.body.stmts.length, 1);
  }
  // Copies, not shared nodes: the compiler annotates nodes per probe.
  assert.notEqual(lowered[0].body, lowered[1].body);
  assert.notEqual(lowered[0].predicate, lowered[2].predicate);
  const single = parse("BEGIN { } tracepoint:a:b, tracepoint:c:d { }").ast;
  assert.deepEqual(lowerProgram(single).probes, single.probes);
});

Deno.test("modern syntax: a ?: b is a ? a : b", () => {
  const e = valueOf("$x ?: 10");
  assert.ok(e.kind === "ternary");
  assert.deepEqual(
    [e.cond.kind, e.then.kind, e.else.kind],
    ["var", "var", "int"],
  );
  assert.notEqual(e.cond, e.then);
  const m = valueOf("@m[pid] + 1 ?: str(arg0) ?: 3");
  assert.ok(m.kind === "ternary" && m.cond.kind === "binary");
  assert.ok(m.else.kind === "ternary", "right associative");
  // The ordinary ternary is unchanged.
  const t = valueOf("$x ? 1 : 2");
  assert.ok(t.kind === "ternary" && t.then.kind === "int");
});

Deno.test("modern syntax: a ?: b rejects side effects in a, at the effect", () => {
  assert.equal(
    errors("begin { @y = @z++ ?: 2; }"),
    [
      'stdin:1:14: ERROR: The first operand of "?:" is evaluated twice and must have no side effects; assign it to a variable first',
      "begin { @y = @z++ ?: 2; }",
      "             ~~~~",
    ].join("\n"),
  );
  assert.match(errors("begin { $a = 1 + count() ?: 2; }"), /1:18: ERROR/);
  assert.match(errors('begin { $a = printf("x") ?: 2; }'), /evaluated twice/);
});

Deno.test("modern syntax: duration literals are nanoseconds", () => {
  const cases: [string, bigint][] = [
    ["10ns", 10n],
    ["5us", 5_000n],
    ["100ms", 100_000_000n],
    ["1s", 1_000_000_000n],
    ["1m", 60_000_000_000n],
    ["2h", 7_200_000_000_000n],
    ["1d", 86_400_000_000_000n],
    ["1_000ms", 1_000_000_000n],
    ["2e3us", 2_000_000n],
  ];
  for (const [text, value] of cases) {
    const e = valueOf(text);
    assert.ok(e.kind === "int", text);
    assert.equal(e.value, value, text);
    assert.equal(e.raw, text);
  }
  // Hex digits win over units, as in C: 0x1d is 29.
  const hex = valueOf("0x1d");
  assert.ok(hex.kind === "int" && hex.value === 29n);
  assert.match(errors("begin { $a = 300000d; }"), /"300000d" does not fit/);
  assert.match(errors("begin { $a = 3ss; }"), /"3ss" has an invalid suffix/);
  assert.match(errors("begin { $a = 3S; }"), /"3S" has an invalid suffix/);
});
