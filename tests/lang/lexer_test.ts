import assert from "node:assert/strict";
import { tokenize } from "../../runtime/lang/lexer.ts";

function texts(src: string): string[] {
  const { tokens, diagnostics } = tokenize(src);
  assert.equal(diagnostics.format(), "");
  return tokens.slice(0, -1).map((t) => t.text);
}

Deno.test("lexer: punctuators take the longest match", () => {
  assert.deepEqual(
    texts("a<<=b>>=c->d++ --e+=f!=g&&h||i<=j>=k==l"),
    [
      "a",
      "<<=",
      "b",
      ">>=",
      "c",
      "->",
      "d",
      "++",
      "--",
      "e",
      "+=",
      "f",
      "!=",
      "g",
      "&&",
      "h",
      "||",
      "i",
      "<=",
      "j",
      ">=",
      "k",
      "==",
      "l",
    ],
  );
});

Deno.test("lexer: sigils, positionals and token types", () => {
  const { tokens } = tokenize("@ @name $x $1 $# $23 ident");
  assert.deepEqual(
    tokens.map((t) => [t.type, t.value ?? t.index ?? null]),
    [
      ["map", ""],
      ["map", "name"],
      ["var", "x"],
      ["positional", 1],
      ["positional", 0],
      ["positional", 23],
      ["ident", null],
      ["eof", null],
    ],
  );
});

Deno.test("lexer: integer literals", () => {
  const { tokens, diagnostics } = tokenize(
    "0 42 0x1F 0XfF 010 1_000 1e6 2e0 10u 7ull 5L 18446744073709551615",
  );
  assert.equal(diagnostics.hasErrors, false);
  assert.deepEqual(tokens.slice(0, -1).map((t) => t.int), [
    0n,
    42n,
    31n,
    255n,
    8n,
    1000n,
    1000000n,
    2n,
    10n,
    7n,
    5n,
    18446744073709551615n,
  ]);
});

Deno.test("lexer: bad integer literals are reported", () => {
  const { diagnostics } = tokenize("09 18446744073709551616 12abc 0x 1e50 1_");
  assert.deepEqual(diagnostics.errors.map((e) => e.message), [
    'Integer literal "09" is not a valid octal number',
    'Integer literal "18446744073709551616" does not fit in 64 bits',
    'Integer literal "12abc" has an invalid suffix',
    'Integer literal "0x" has no hex digits',
    'Integer literal "1e50" does not fit in 64 bits',
    'Integer literal "1_" ends with "_"',
  ]);
});

Deno.test("lexer: string escapes decode to bytes", () => {
  const { tokens, diagnostics } = tokenize(
    String.raw`"a\n\t\r\"\\\x41\101\0\x7" "é"`,
  );
  assert.equal(diagnostics.hasErrors, false);
  assert.equal(tokens[0].value, 'a\n\t\r"\\AA\0\x07');
  // Non-ASCII source text becomes its UTF-8 bytes.
  assert.equal(tokens[1].value, "\xc3\xa9");
});

Deno.test("lexer: string errors", () => {
  const { diagnostics } = tokenize(
    String.raw`"\q" "\e" "\x" "\777" "open`,
  );
  assert.deepEqual(diagnostics.errors.map((e) => e.message), [
    'Invalid escape "\\q" in string',
    'Invalid escape "\\e" in string',
    'Invalid escape "\\x" in string: expected hex digits',
    'Invalid escape "\\777" in string: value above 255',
    "Unterminated string",
  ]);
});

Deno.test("lexer: a string ends at the end of its line", () => {
  const { tokens, diagnostics } = tokenize('"abc\n x');
  assert.equal(diagnostics.errors[0].message, "Unterminated string");
  assert.equal(tokens[0].value, "abc");
  assert.equal(tokens[1].text, "x");
  assert.deepEqual(tokens[1].span, { start: 6, end: 7, line: 2, col: 2 });
});

Deno.test("lexer: comments are skipped, spans count lines", () => {
  const { tokens } = tokenize("a // one\n/* two\nthree */ b\n\tc");
  assert.deepEqual(
    tokens.map((t) => [t.text, t.span.line, t.span.col]),
    [["a", 1, 1], ["b", 3, 10], ["c", 4, 2], ["", 4, 3]],
  );
});

Deno.test("lexer: unterminated comment and invalid characters", () => {
  const { diagnostics, tokens } = tokenize("a ` b € /* c");
  assert.deepEqual(diagnostics.errors.map((e) => e.message), [
    'Invalid character "`"',
    'Invalid character "€"',
    "Unterminated comment",
  ]);
  assert.deepEqual(tokens.map((t) => t.text), ["a", "b", ""]);
});

Deno.test("lexer: preprocessor lines are one token", () => {
  const { tokens } = tokenize("#include <linux/sched.h>\nBEGIN");
  assert.equal(tokens[0].type, "preproc");
  assert.equal(tokens[0].text, "#include <linux/sched.h>");
  assert.equal(tokens[1].text, "BEGIN");
});
