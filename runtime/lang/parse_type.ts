/**
 * C type names in bpftrace source: the type of a cast (`(u32)x`,
 * `(struct task_struct *)p`), of `sizeof` and `offsetof`, and of
 * `let $x: type`, and the lookahead that tells a cast or a type from a
 * parenthesized expression.
 *
 * @module
 */

import type { TypeRef } from "./ast.ts";
import { isBuiltinName } from "./ast.ts";
import { describeToken } from "./lexer.ts";
import type { ParserState } from "./parse_state.ts";

/** Integer and other C type names that make `(name)` a cast. */
const TYPE_NAMES: ReadonlySet<string> = new Set([
  "u8",
  "u16",
  "u32",
  "u64",
  "s8",
  "s16",
  "s32",
  "s64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8_t",
  "uint16_t",
  "uint32_t",
  "uint64_t",
  "int8_t",
  "int16_t",
  "int32_t",
  "int64_t",
  "int",
  "char",
  "short",
  "long",
  "unsigned",
  "signed",
  "bool",
  "void",
  "size_t",
  "pid_t",
]);

/** The tag keywords of C types: `struct x`, `union x`, `enum x`. */
export const TAG_KEYWORDS: ReadonlySet<string> = new Set([
  "struct",
  "union",
  "enum",
]);

/** Reserved words: never the name of a value, a call or a plain type. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  "if",
  "else",
  "while",
  "unroll",
  "return",
  "break",
  "continue",
  "sizeof",
  "offsetof",
  "struct",
  "union",
  "enum",
]);

/** At `(`: whether a cast type follows (`(u32)`, `(struct x *)`). */
export function castAhead(p: ParserState): boolean {
  const a = p.peek(1);
  if (a.type !== "ident") return false;
  let k = 2;
  let named = TYPE_NAMES.has(a.text);
  if (TAG_KEYWORDS.has(a.text)) {
    if (p.peek(2).type !== "ident") return false;
    named = true;
    k = 3;
  } else if (isBuiltinName(a.text) || KEYWORDS.has(a.text)) return false;
  let stars = 0;
  while (p.at("*", k)) {
    k++;
    stars++;
  }
  if (p.at("[", k) && p.at("]", k + 1)) k += 2; // `(int8[])x`
  else if (p.at("[", k)) {
    if (p.peek(k + 1).type !== "int" || !p.at("]", k + 2)) return false;
    k += 3;
  }
  if (!p.at(")", k)) return false;
  if (named || stars > 0) return true;
  // `(name) x`: a cast only when an operand follows.
  const n = p.peek(k + 1);
  return n.type === "int" || n.type === "str" || n.type === "var" ||
    n.type === "map" || n.type === "ident" || n.type === "positional" ||
    (n.type === "punct" &&
      (n.text === "(" || n.text === "!" || n.text === "~"));
}

/** Whether a type name (rather than an expression) starts `k` tokens ahead. */
export function typeAhead(p: ParserState, k: number): boolean {
  const a = p.peek(k);
  if (a.type !== "ident") return false;
  if (TAG_KEYWORDS.has(a.text)) return true;
  if (isBuiltinName(a.text) || KEYWORDS.has(a.text)) return false;
  const n = p.peek(k + 1);
  return n.type === "punct" && (n.text === ")" || n.text === "*" ||
    (n.text === "[" && TYPE_NAMES.has(a.text)));
}

/** A type: `[struct|union|enum] name`, then `*`s, then `[n]` or `[]`. */
export function parseType(p: ParserState): TypeRef {
  const start = p.cur.span;
  if (p.atWord("typeof") && p.at("(", 1)) {
    // `typeof(size_t)`, `typeof(struct x *)` (0.26): the type named.
    p.advance();
    p.advance();
    if (!typeAhead(p, 0) && !TYPE_NAMES.has(p.cur.text)) {
      p.fail(
        p.cur.span,
        `Expected a type name in typeof(), found ${
          describeToken(p.cur)
        }: typeof() of an expression is not supported`,
      );
    }
    const inner = parseType(p);
    p.expect(")", "to close typeof(");
    return { ...inner, span: p.from(start) };
  }
  let name = "";
  if (p.cur.type === "ident" && TAG_KEYWORDS.has(p.cur.text)) {
    name = p.advance().text + " ";
  }
  const id = p.cur;
  if (id.type !== "ident") {
    p.fail(id.span, `Expected a type name, found ${describeToken(id)}`);
  }
  p.advance();
  name += id.text;
  let pointer = 0;
  while (p.at("*")) {
    p.advance();
    pointer++;
  }
  const type: TypeRef = { kind: "type", name, pointer, span: start };
  if (p.at("[") && p.at("]", 1)) {
    // `int8[]`: an array whose length the cast value gives (0 here).
    p.advance();
    p.advance();
    type.arrayLength = 0;
  } else if (p.at("[")) {
    p.advance();
    const n = p.cur;
    if (n.type !== "int") {
      p.fail(
        n.span,
        `Expected an array length, found ${describeToken(n)}`,
      );
    }
    p.advance();
    p.expect("]", "after the array length");
    type.arrayLength = Number(n.int);
  }
  type.span = p.from(start);
  return type;
}
