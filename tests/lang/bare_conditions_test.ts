/**
 * bpftrace 0.26 lets `if`, `while`, `unroll` and `for` leave out the
 * parentheses around a unary expression (`if $x {`, `while !$done {`,
 * `unroll 4 {`, `for $i : 0..10 {`); a binary operator there needs them,
 * and the error says so at the operator.
 */

import assert from "node:assert/strict";
import type { Stmt } from "../../runtime/lang/ast.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import { parse } from "../../runtime/lang/parser.ts";

/** Deep copy without `span` fields, for structural comparisons. */
function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== "span") out[k] = strip(x);
    return out;
  }
  return v;
}

/** The statements of the one probe in `src`, without spans. */
function stmts(src: string): unknown {
  return strip(parse(src).ast.probes[0].body.stmts);
}

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

/** The first statement's condition (or unroll count, or for head). */
function head(src: string): unknown {
  const s = parse(src).ast.probes[0].body.stmts[0] as Stmt;
  switch (s.kind) {
    case "if":
    case "while":
      return strip(s.cond);
    case "unroll":
      return strip(s.count);
    case "for":
      return strip(s.map ?? [s.from, s.to]);
  }
  assert.fail(`not a conditional statement: ${s.kind}`);
}

const v = (name: string) => ({ kind: "var", name });
const int = (n: number) => ({ kind: "int", value: BigInt(n), raw: String(n) });

Deno.test("bare conditions: parse as the parenthesized forms do", () => {
  const pairs: [string, string][] = [
    ["if $x { @a = 1; }", "if ($x) { @a = 1; }"],
    ["if !pid { @a = 1; }", "if (!pid) { @a = 1; }"],
    ["if -$x { }", "if (-$x) { }"],
    ["if *$p { }", "if (*$p) { }"],
    ["if ~$x { }", "if (~$x) { }"],
    ["if @m[1, 2] { }", "if (@m[1, 2]) { }"],
    ["if @m { }", "if (@m) { }"],
    ["if $t.f { }", "if ($t.f) { }"],
    ["if $t.0 { }", "if ($t.0) { }"],
    ["if $p->f->g { }", "if ($p->f->g) { }"],
    ["if $a[2] { }", "if ($a[2]) { }"],
    ["if $i++ { }", "if ($i++) { }"],
    ["if --$i { }", "if (--$i) { }"],
    ['if strcontains(comm, "sh") { }', 'if (strcontains(comm, "sh")) { }'],
    ["if errname { }", "if (errname) { }"],
    ["if true { }", "if (true) { }"],
    ["if $1 { }", "if ($1) { }"],
    [
      "if $x { } else if !$y { } else { }",
      "if ($x) { } else if (!$y) { } else { }",
    ],
    ["if $x { } else if ($y == 1) { }", "if ($x) { } else if ($y == 1) { }"],
    ["while !$done { $done = 1; }", "while (!$done) { $done = 1; }"],
    ["while $i { $i--; }", "while ($i) { $i--; }"],
    ["unroll 4 { @a++; }", "unroll (4) { @a++; }"],
    ["unroll $1 { }", "unroll ($1) { }"],
    ["for $i : 0..10 { print($i); }", "for ($i : 0..10) { print($i); }"],
    ["for $kv : @m { print($kv); }", "for ($kv : @m) { print($kv); }"],
    [
      "for $j : ((uint64)0)..((uint64)$n) { }",
      "for ($j : ((uint64)0)..((uint64)$n)) { }",
    ],
  ];
  for (const [bare, paren] of pairs) {
    assert.deepEqual(
      stmts(`BEGIN { ${bare} }`),
      stmts(`BEGIN { ${paren} }`),
      bare,
    );
  }
});

Deno.test("bare conditions: the condition ends before the block", () => {
  assert.deepEqual(head("BEGIN { if $x { $x = 2; } }"), v("x"));
  assert.deepEqual(head("BEGIN { while !$x { } }"), {
    kind: "unary",
    op: "!",
    expr: v("x"),
  });
  assert.deepEqual(head("BEGIN { unroll 3 { } }"), int(3));
  assert.deepEqual(head("BEGIN { for $i : 1..$n { } }"), [int(1), v("n")]);
  // A block is a block, not a record or a map key after the condition.
  const s = parse("BEGIN { if $x { @m[1] = 2 } else { @m[2] = 1 } }").ast
    .probes[0].body.stmts[0];
  assert.ok(s.kind === "if" && s.then.stmts.length === 1 && s.else);
  // `for` without parentheses only when a $variable follows it.
  assert.ok(parse("BEGIN { for $k : @m { } }").ast.probes.length === 1);
});

Deno.test("bare conditions: an operator needs the parentheses, said at the operator", () => {
  assert.equal(
    errors("BEGIN { if $x == 1 { } }"),
    [
      'stdin:1:15: ERROR: Expected "{" after the if condition, found "=="; without parentheses it is one unary expression, put it in parentheses',
      "BEGIN { if $x == 1 { } }",
      "              ~~",
    ].join("\n"),
  );
  assert.equal(
    errors("BEGIN { $i = 0; while $i < 3 { $i++; } }"),
    [
      'stdin:1:26: ERROR: Expected "{" after the while condition, found "<"; without parentheses it is one unary expression, put it in parentheses',
      "BEGIN { $i = 0; while $i < 3 { $i++; } }",
      "                         ~",
    ].join("\n"),
  );
  assert.equal(
    errors("BEGIN { unroll 2 + 1 { } }").split("\n")[0],
    'stdin:1:18: ERROR: Expected "{" after the unroll condition, found "+"; without parentheses it is one unary expression, put it in parentheses',
  );
  assert.equal(
    errors("BEGIN { if $x { } else if $y && $z { } }").split("\n")[0],
    'stdin:1:30: ERROR: Expected "{" after the if condition, found "&&"; without parentheses it is one unary expression, put it in parentheses',
  );
  assert.equal(
    errors("BEGIN { for $i : 0..$n + 1 { } }").split("\n")[0],
    'stdin:1:24: ERROR: Expected "{" after the range end, found "+"; without parentheses it is one unary expression, put it in parentheses',
  );
  // After the parentheses, as in bpftrace 0.26, the block must follow.
  assert.equal(
    errors("BEGIN { if ($x) + 1 { } }"),
    [
      'stdin:1:17: ERROR: Expected "{" after the if condition, found "+"; put the whole condition inside the parentheses',
      "BEGIN { if ($x) + 1 { } }",
      "                ~",
    ].join("\n"),
  );
});

Deno.test("bare conditions: a cast after if needs parentheses around it", () => {
  // bpftrace 0.26 reads `(u8)` as the whole condition and then refuses
  // `$x`; a cast inside the parentheses is the way to write it.
  assert.equal(
    errors("BEGIN { $x = 1; if (uint8)$x { } }"),
    [
      'stdin:1:20: ERROR: A cast cannot start the condition of "if" without parentheses around it: write if ((type)expr) {',
      "BEGIN { $x = 1; if (uint8)$x { } }",
      "                   ~~~~~~~",
    ].join("\n"),
  );
  assert.equal(
    errors("BEGIN { while (struct task_struct *)curtask { } }").split("\n")[0],
    'stdin:1:15: ERROR: A cast cannot start the condition of "while" without parentheses around it: write while ((type)expr) {',
  );
  assert.deepEqual(head("BEGIN { if ((uint8)$x) { } }"), {
    kind: "cast",
    type: strip(
      (parse("BEGIN { $y = (uint8)$x; }").ast.probes[0].body.stmts[0] as {
        value: { type: unknown };
      }).value.type,
    ),
    expr: v("x"),
  });
});

Deno.test("bare conditions: other malformed heads are located", () => {
  const first = (src: string) => errors(src).split("\n")[0];
  assert.equal(
    first("BEGIN { if $x }"),
    'stdin:1:15: ERROR: Expected "{" after the if condition, found "}"',
  );
  assert.equal(
    first("BEGIN { if { } }"),
    'stdin:1:12: ERROR: Expected a condition after "if", found "{"',
  );
  assert.equal(
    first("BEGIN { for ($i : 0..3 { } }"),
    'stdin:1:24: ERROR: Expected ")" after the range, found "{"',
  );
  assert.equal(
    first("BEGIN { for $i : 0..3) { } }"),
    'stdin:1:22: ERROR: Expected "{" after the range end, found ")"',
  );
  assert.equal(
    first("BEGIN { for $kv : @m) { } }"),
    'stdin:1:21: ERROR: Expected "{" after the map, found ")"',
  );
  assert.equal(
    first("BEGIN { for $i : 5 { } }"),
    'stdin:1:18: ERROR: Expected a map or a range "start..end" to loop over, found a literal',
  );
  assert.equal(
    first("BEGIN { while { } }"),
    'stdin:1:15: ERROR: Expected a condition after "while", found "{"',
  );
});
