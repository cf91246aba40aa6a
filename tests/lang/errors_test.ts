import assert from "node:assert/strict";
import {
  CompileError,
  CompileErrors,
  Diagnostics,
} from "../../runtime/lang/diagnostics.ts";
import { parse, parseRecovering } from "../../runtime/lang/parser.ts";

/** The formatted errors `parse` throws for `src` (fails if it parses). */
function errors(src: string, file = "stdin", params?: string[]): string {
  try {
    parse(src, file, params);
  } catch (e) {
    assert.ok(e instanceof CompileErrors, `not CompileErrors: ${e}`);
    assert.ok(e instanceof SyntaxError);
    for (const one of e.errors) assert.ok(one instanceof CompileError);
    return e.format();
  }
  assert.fail(`parsed without errors: ${src}`);
}

Deno.test("errors: compiler-style report through the parse diagnostics", () => {
  const src = "tracepoint:syscalls:sys_enter_openat { @[comm] = cont(); }";
  const { ast, diagnostics } = parse(src, "script.bt");
  const s = ast.probes[0].body.stmts[0];
  assert.ok(s.kind === "assign" && s.value.kind === "call");
  diagnostics.error(s.value.span, `Unknown function: "${s.value.name}"`);
  assert.equal(
    diagnostics.format(),
    [
      'script.bt:1:50: ERROR: Unknown function: "cont"',
      "tracepoint:syscalls:sys_enter_openat { @[comm] = cont(); }",
      "                                                 ~~~~~~",
    ].join("\n"),
  );
  assert.throws(
    () => diagnostics.throwIfErrors(),
    (e) =>
      e instanceof CompileErrors && e.errors.length === 1 &&
      e.message === 'Unknown function: "cont"' && e.errors[0].line === 1 &&
      e.errors[0].col === 50 && e.errors[0].file === "script.bt",
  );
});

Deno.test("errors: missing separator between statements", () => {
  assert.equal(
    errors("BEGIN { @x = 1 @y = 2 }"),
    [
      'stdin:1:16: ERROR: Expected ";" or "}" after statement, found "@y"',
      "BEGIN { @x = 1 @y = 2 }",
      "               ~~",
    ].join("\n"),
  );
});

Deno.test("errors: unknown attach point type", () => {
  assert.equal(
    errors("kprobez:foo { }", "a.bt"),
    [
      'a.bt:1:1: ERROR: Unknown attach point type "kprobez"; did you mean "kprobe"?',
      "kprobez:foo { }",
      "~~~~~~~~~~~",
    ].join("\n"),
  );
});

Deno.test("errors: unterminated string reports once", () => {
  assert.equal(
    errors('BEGIN { printf("abc); }'),
    [
      "stdin:1:16: ERROR: Unterminated string",
      'BEGIN { printf("abc); }',
      "               ~~~~~~~~",
    ].join("\n"),
  );
});

Deno.test("errors: end of input uses a caret", () => {
  assert.equal(
    errors("BEGIN {{{{"),
    [
      'stdin:1:11: ERROR: Expected "}" to close the block opened at line 1, found end of input',
      "BEGIN {{{{",
      "          ^",
    ].join("\n"),
  );
  assert.equal(
    errors("BEGIN"),
    [
      'stdin:1:6: ERROR: Expected "{" or a predicate after the attach point, found end of input',
      "BEGIN",
      "     ^",
    ].join("\n"),
  );
  assert.equal(
    errors("  // nothing here\n"),
    [
      "stdin:1:1: ERROR: Program has no probes",
      "  // nothing here",
      "^",
    ].join("\n"),
  );
});

Deno.test("errors: several independent errors in one report", () => {
  const src = [
    "BEGIN {",
    "  @x = (1;",
    "  @y = 2 +;",
    "  $z = 3",
    "}",
    "END { @a[ = 1 }",
    "profile:xs:10 { }",
    "kretprobe:vfs_read { $t = (1, 2); $t.0 = 3; x++; }",
  ].join("\n");
  assert.equal(
    errors(src, "multi.bt"),
    [
      'multi.bt:2:10: ERROR: Expected ")" or ",", found ";"',
      "  @x = (1;",
      "         ~",
      'multi.bt:3:11: ERROR: Expected an expression, found ";"',
      "  @y = 2 +;",
      "          ~",
      'multi.bt:6:11: ERROR: Expected an expression, found "="',
      "END { @a[ = 1 }",
      "          ~",
      'multi.bt:7:1: ERROR: Invalid attach point "profile:xs:10": unknown unit "xs", expected hz, s, ms or us',
      "profile:xs:10 { }",
      "~~~~~~~~~~~~~",
      "multi.bt:8:35: ERROR: Cannot assign to a tuple element (tuples are immutable): only a map or a $variable can be assigned",
      "kretprobe:vfs_read { $t = (1, 2); $t.0 = 3; x++; }",
      "                                  ~~~~",
      'multi.bt:8:45: ERROR: "++" needs a map or a $variable, found identifier "x"',
      "kretprobe:vfs_read { $t = (1, 2); $t.0 = 3; x++; }",
      "                                            ~",
    ].join("\n"),
  );
});

Deno.test("errors: a missing } before the next probe is reported there", () => {
  const src = [
    "BEGIN { @x = 1;",
    "tracepoint:a:b { }",
    "END { if (1) { @x = 2;",
    "kprobe:f { @ = ; }",
  ].join("\n");
  assert.equal(
    errors(src),
    [
      'stdin:2:1: ERROR: Expected "}" to close the block opened at line 1, found "tracepoint"',
      "tracepoint:a:b { }",
      "~~~~~~~~~~",
      'stdin:4:1: ERROR: Expected "}" to close the block opened at line 3, found "kprobe"',
      "kprobe:f { @ = ; }",
      "~~~~~~",
      'stdin:4:16: ERROR: Expected an expression, found ";"',
      "kprobe:f { @ = ; }",
      "               ~",
    ].join("\n"),
  );
  const { ast } = parseRecovering(src);
  // BEGIN and END lost their bodies; the probes after them are kept.
  assert.deepEqual(ast.probes.map((p) => p.attachPoints[0].raw), [
    "tracepoint:a:b",
    "kprobe:f",
  ]);
});

Deno.test("errors: the aggregate message counts the others", () => {
  try {
    parse("BEGIN { @x = ; @y = ; @z = ; }");
    assert.fail("should not parse");
  } catch (e) {
    assert.ok(e instanceof CompileErrors);
    assert.equal(e.errors.length, 3);
    assert.equal(
      e.message,
      'Expected an expression, found ";" (and 2 more errors)',
    );
  }
});

Deno.test("errors: attach point validation messages", () => {
  const first = (src: string, params?: string[]) =>
    errors(src, "stdin", params).split("\n")[0];
  assert.equal(
    first("tracepoint:foo { }"),
    'stdin:1:1: ERROR: Invalid attach point "tracepoint:foo": expected "tracepoint:CATEGORY:EVENT"',
  );
  assert.equal(
    first("BEGIN:foo { }"),
    'stdin:1:1: ERROR: Invalid attach point "BEGIN:foo": BEGIN takes no arguments',
  );
  assert.equal(
    first("k:f+xyz { }"),
    'stdin:1:1: ERROR: Invalid attach point "k:f+xyz": invalid offset',
  );
  assert.equal(
    first("software:nope:1 {}"),
    'stdin:1:1: ERROR: Invalid attach point "software:nope:1": unknown software event "nope"',
  );
  assert.equal(
    first("interval:s:0 {}"),
    'stdin:1:1: ERROR: Invalid attach point "interval:s:0": expected a positive number, found "0"',
  );
  assert.equal(
    first("uprobe::main {}"),
    'stdin:1:1: ERROR: Invalid attach point "uprobe::main": empty binary or symbol',
  );
  assert.equal(
    errors("uprobe:$2:main { }", "stdin", ["/bin/sh"]),
    [
      "stdin:1:8: ERROR: Positional parameter $2 is used in an attach point but not given",
      "uprobe:$2:main { }",
      "       ~~",
    ].join("\n"),
  );
  assert.equal(
    first("BEGIN, { }"),
    'stdin:1:8: ERROR: Expected an attach point after ",", found "{"',
  );
  assert.equal(
    first("BEGIN /1 { }"),
    'stdin:1:10: ERROR: Expected "/" to end the predicate, found "{"',
  );
});

Deno.test("errors: statement-level syntax messages", () => {
  const first = (src: string) => errors(src).split("\n")[0];
  assert.equal(
    first("BEGIN { if $x > 1 { } }"),
    'stdin:1:15: ERROR: Expected "{" after the if condition, found ">"; without parentheses it is one unary expression, put it in parentheses',
  );
  assert.equal(
    first("BEGIN { unroll 3; }"),
    'stdin:1:17: ERROR: Expected "{" after the unroll condition, found ";"',
  );
  assert.equal(
    first("BEGIN { else { } }"),
    'stdin:1:9: ERROR: Unexpected "else" without a matching "if"',
  );
  assert.equal(
    first("BEGIN { 1 = 2; }"),
    "stdin:1:9: ERROR: Cannot assign to a literal: only a map or a $variable can be assigned",
  );
  assert.equal(
    first('BEGIN { printf("%d", 1 2); }'),
    'stdin:1:24: ERROR: Expected "," or ")" in arguments of printf(), found "2"',
  );
  assert.equal(
    first("BEGIN { @x = $t. ; }"),
    'stdin:1:18: ERROR: Expected a field name after ".", found ";"',
  );
  assert.equal(
    first("BEGIN { @m[] = 1; }"),
    "stdin:1:11: ERROR: Expected a map key between [ and ]",
  );
  assert.equal(
    first("BEGIN { @x = 1 ? 2; }"),
    'stdin:1:19: ERROR: Expected ":" in conditional expression, found ";"',
  );
  assert.equal(
    first("BEGIN { } }"),
    'stdin:1:11: ERROR: Unexpected "}"',
  );
});

Deno.test("errors: lexical messages", () => {
  const all = (src: string) =>
    errors(src).split("\n").filter((l) => l.startsWith("stdin:"));
  assert.deepEqual(all('BEGIN { @x = 09; @y = "\\q"; $z = 1 ` 2; }'), [
    'stdin:1:14: ERROR: Integer literal "09" is not a valid octal number',
    'stdin:1:24: ERROR: Invalid escape "\\q" in string',
    'stdin:1:36: ERROR: Invalid character "`"',
  ]);
  assert.deepEqual(all("BEGIN { $ = 1; }"), [
    'stdin:1:9: ERROR: Expected a variable name after "$"',
  ]);
  assert.deepEqual(all("BEGIN { $x = $0; }"), [
    'stdin:1:14: ERROR: Invalid positional parameter "$0"',
  ]);
  assert.deepEqual(all("BEGIN { } /* open"), [
    "stdin:1:11: ERROR: Unterminated comment",
  ]);
  assert.deepEqual(all("BEGIN { @x = 1; }\x01"), [
    'stdin:1:18: ERROR: Invalid character "\\x01"',
  ]);
});

Deno.test("errors: marker keeps tabs and ignores CR", () => {
  assert.equal(
    errors("BEGIN {\r\n\t@x = ;\r\n}"),
    [
      'stdin:2:7: ERROR: Expected an expression, found ";"',
      "\t@x = ;",
      "\t     ~",
    ].join("\n"),
  );
});

Deno.test("errors: a span across lines is marked to the end of its line", () => {
  const d = new Diagnostics("f.bt", "ab\ncd");
  d.error({ start: 1, end: 4, line: 1, col: 2 }, "Spans two lines");
  assert.equal(d.format(), "f.bt:1:2: ERROR: Spans two lines\nab\n ~");
});

Deno.test("errors: warnings format with WARNING and do not throw", () => {
  const d = new Diagnostics("stdin", "BEGIN { }");
  d.warning({ start: 0, end: 5, line: 1, col: 1 }, "Nothing to do");
  d.throwIfErrors();
  assert.equal(
    d.format(),
    "stdin:1:1: WARNING: Nothing to do\nBEGIN { }\n~~~~~",
  );
});

Deno.test("errors: fail() throws everything collected so far", () => {
  const d = new Diagnostics("stdin", "BEGIN { a; b; }");
  d.error({ start: 8, end: 9, line: 1, col: 9 }, 'Unknown identifier "a"');
  assert.throws(
    () => d.fail({ start: 11, end: 12, line: 1, col: 12 }, "Fatal here"),
    (e) => e instanceof CompileErrors && e.errors.length === 2,
  );
});

Deno.test("errors: parseRecovering returns the partial tree", () => {
  const { ast, diagnostics } = parseRecovering(
    "BEGIN { @x = ; } END { exit() } kprobez:x { }",
  );
  assert.equal(diagnostics.errors.length, 2);
  assert.deepEqual(ast.probes.map((p) => p.attachPoints[0].provider), [
    "BEGIN",
    "END",
  ]);
});
