/** Macros: expansion and hygiene, and errors that point at the macro and the call. */

import assert from "node:assert/strict";
import type { Expr, Program } from "../../runtime/lang/ast.ts";
import { CompileErrors, Diagnostics } from "../../runtime/lang/diagnostics.ts";
import { expandMacros } from "../../runtime/lang/macros.ts";
import { parse } from "../../runtime/lang/parser.ts";

function expand(src: string): { program: Program; errors: string } {
  const diag = new Diagnostics("stdin", src);
  const program = expandMacros(parse(src).ast, diag);
  return { program, errors: diag.format() };
}

/** Source-like text of an expression (enough for these tests). */
function show(e: Expr): string {
  switch (e.kind) {
    case "int":
      return e.raw;
    case "var":
      return `$${e.name}`;
    case "map":
      return `@${e.name}${
        e.keys.length ? `[${e.keys.map(show).join(", ")}]` : ""
      }`;
    case "binary":
      return `(${show(e.left)} ${e.op} ${show(e.right)})`;
    case "call":
      return `${e.name}(${e.args.map(show).join(", ")})`;
    default:
      return e.kind;
  }
}

function stmts(p: Program): string[] {
  return p.probes[0].body.stmts.map((s) => {
    if (s.kind === "assign") {
      return `${show(s.target as Expr)} ${s.op} ${show(s.value)}`;
    }
    if (s.kind === "expr") return show(s.expr);
    return s.kind;
  });
}

Deno.test("macros: parsed with parameters of each kind and whether they have a value", () => {
  const { ast } = parse(
    "macro f($a, @m, x) { $a += x; @m = 1; } macro g() { 1 } macro h() { 1; } begin { }",
  );
  assert.deepEqual(
    ast.macros?.map((m) => [m.name, m.params.map((p) => p.kind), m.hasValue]),
    [["f", ["var", "map", "ident"], false], ["g", [], true], ["h", [], false]],
  );
  const only = parse("macro g() { 1 }").ast;
  assert.equal(only.macros?.length, 1, "a file of macros parses (imports)");
});

Deno.test("macros: variables, maps and expressions bound; the body's variables renamed", () => {
  const { program, errors } = expand(
    `macro inc($x) { $x += 1; $x }
macro set(@m, k) { @m[k] = k * 2; }
macro fresh(x) { $y = x + 1; $y }
begin { $a = 1; $b = inc($a); set(@s, $a + 1); $y = 2; $z = fresh($y); }`,
  );
  assert.equal(errors, "");
  assert.deepEqual(stmts(program), [
    "$a = 1",
    "$a += 1",
    "$b = $a",
    "@s[($a + 1)] = (($a + 1) * 2)",
    "$y = 2",
    "$__fresh_3_y = ($y + 1)",
    "$z = $__fresh_3_y",
  ]);
  assert.equal(program.macros, undefined);
});

Deno.test("macros: statement calls drop a value without effects; bare names call zero-parameter macros", () => {
  const { program } = expand(
    'macro inc($x) { $x += 1; $x } macro one() { 1 } macro p() { printf("x") } begin { $a = 0; inc($a); $b = one; p; }',
  );
  assert.deepEqual(stmts(program), [
    "$a = 0",
    "$a += 1",
    "$b = 1",
    "printf(str)",
  ]);
});

Deno.test("macros: bpftrace's errors for bad definitions and calls", () => {
  const first = (src: string) => expand(src).errors.split("\n")[0];
  assert.equal(
    first("macro u() { @x++ } begin { }"),
    "stdin:1:13: ERROR: Unhygienic access to map: @x. Maps must be passed into the macro as arguments.",
  );
  assert.equal(
    first("macro w($x) { $x++ } begin { w(@x); }"),
    "stdin:1:32: ERROR: Mismatched arg. w() expects a variable for arg $x but got a map.",
  );
  assert.equal(
    first("macro w(@x) { @x++ } begin { w(1 + 1); }"),
    "stdin:1:32: ERROR: Mismatched arg. w() expects a map for arg @x but got an expression.",
  );
  assert.equal(
    first("macro a() { b() } macro b() { a() } begin { a(); }"),
    "stdin:1:31: ERROR: Recursive macro call detected. Call chain: a > b > a",
  );
  assert.equal(
    first("macro two(x, y) { x + y } begin { print(two(1)); }"),
    "stdin:1:41: ERROR: Call to two() has the wrong number of arguments. Expected: 2 but got 1.",
  );
  assert.equal(
    first("macro f() { 1 } macro f() { 2 } begin { }"),
    "stdin:1:17: ERROR: Redefinition of macro: f",
  );
  assert.equal(
    first("macro g($a, $a) { 1 } begin { }"),
    "stdin:1:13: ERROR: Variable for macro argument has already been used: $a",
  );
  assert.match(
    first("macro i($x) { $x += 1; } begin { $b = i($b); }"),
    /1:39: ERROR: Macro i\(\) has no value: its body ends with a statement/,
  );
  assert.match(
    first("macro i($x) { $x += 1; $x } begin { if (i($b)) { } }"),
    /has statements before its value: call it as a statement or in an assignment/,
  );
  // Statements are never hoisted out of an operand evaluated only sometimes.
  assert.match(
    first("macro i($x) { $x += 1; $x } begin { $c = $a && i($b); }"),
    /has statements before its value/,
  );
});

Deno.test("macros: an error inside an expanded body shows the macro, then each call", () => {
  const src =
    "macro h(x) { x + y }\nmacro g(y) { h(y) }\nbegin { print(g(1)); }";
  const { program } = expand(src);
  const body = program.probes[0].body.stmts[0];
  assert.ok(body.kind === "expr" && body.expr.kind === "call");
  const inner = body.expr.args[0];
  assert.ok(inner.kind === "binary" && inner.right.kind === "ident");
  const diag = new Diagnostics("stdin", src);
  diag.error(inner.right.span, 'Unknown identifier: "y"');
  assert.equal(
    diag.format(),
    [
      'stdin:1:18: ERROR: Unknown identifier: "y"',
      "macro h(x) { x + y }",
      "                 ~",
      "stdin:2:14: NOTE: In the expansion of macro h() called here",
      "macro g(y) { h(y) }",
      "             ~~~~",
      "stdin:3:15: NOTE: In the expansion of macro g() called here",
      "begin { print(g(1)); }",
      "              ~~~~",
    ].join("\n"),
  );
  assert.throws(() => diag.throwIfErrors(), CompileErrors);
});
