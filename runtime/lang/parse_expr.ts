/**
 * The expression grammar: precedence climbing over the binary operators,
 * then unary operators and casts, postfix field, index and `++`/`--`,
 * and the primaries (literals, variables, maps, calls, tuples and
 * records, `sizeof`, `offsetof`, blocks used as values). `a ?: b` is
 * lowered as it is parsed.
 *
 * @module
 */

import type {
  BinaryOp,
  Block,
  Expr,
  IfStmt,
  Span,
  Stmt,
  UnaryOp,
} from "./ast.ts";
import { isBuiltinName } from "./ast.ts";
import { quote } from "./diagnostics.ts";
import { describeToken, type Token } from "./lexer.ts";
import { lowerElvis } from "./lowering.ts";
import { callStyleBuiltin, taskRelative } from "./call_builtins.ts";
import { joinSpan, type ParserState } from "./parse_state.ts";
import { castAhead, KEYWORDS, parseType, typeAhead } from "./parse_type.ts";

/** Binary operators and their precedence (higher binds tighter). */
const BINARY_PREC: Readonly<Record<string, number>> = {
  "||": 1,
  "&&": 2,
  "|": 3,
  "^": 4,
  "&": 5,
  "==": 6,
  "!=": 6,
  "<": 7,
  "<=": 7,
  ">": 7,
  ">=": 7,
  "<<": 8,
  ">>": 8,
  "+": 9,
  "-": 9,
  "*": 10,
  "/": 10,
  "%": 10,
};

/** Prefix operators. */
const UNARY_OPS: ReadonlySet<string> = new Set(["!", "~", "-", "*", "&"]);

/** An expression, with `?:` and `a ?: b`. */
export function parseExpr(p: ParserState): Expr {
  const start = p.cur.span;
  p.enter(start);
  try {
    const cond = parseBinary(p, 1);
    if (!p.at("?")) return cond;
    p.advance();
    if (p.at(":")) {
      p.advance();
      const other = parseExpr(p);
      const r = lowerElvis(cond, other, p.from(start));
      if (!("error" in r)) return r;
      p.diag.error(r.at, r.error);
      return cond;
    }
    const saved = p.inPredicate;
    p.inPredicate = false;
    let then: Expr;
    try {
      then = parseExpr(p);
    } finally {
      p.inPredicate = saved;
    }
    p.expect(":", "in conditional expression");
    const els = parseExpr(p);
    return { kind: "ternary", cond, then, else: els, span: p.from(start) };
  } finally {
    p.leave();
  }
}

/** Binary operators binding at least as tight as `minPrec`. */
function parseBinary(p: ParserState, minPrec: number): Expr {
  let left = parseUnary(p);
  for (;;) {
    const t = p.cur;
    if (t.type !== "punct") return left;
    const prec = BINARY_PREC[t.text];
    if (prec === undefined || prec < minPrec) return left;
    if (
      t.text === "/" && p.inPredicate &&
      (p.at("{", 1) || p.peek(1).type === "eof")
    ) {
      return left;
    }
    p.advance();
    const right = parseBinary(p, prec + 1);
    left = {
      kind: "binary",
      op: t.text as BinaryOp,
      left,
      right,
      span: joinSpan(left.span, right.span),
    };
  }
}

/** Prefix operators, `++`/`--` and casts, then a postfix expression. */
export function parseUnary(p: ParserState): Expr {
  const t = p.cur;
  if (t.type === "punct") {
    if (UNARY_OPS.has(t.text)) {
      p.advance();
      p.enter(t.span);
      try {
        const expr = parseUnary(p);
        return {
          kind: "unary",
          op: t.text as UnaryOp,
          expr,
          span: p.from(t.span),
        };
      } finally {
        p.leave();
      }
    }
    if (t.text === "++" || t.text === "--") {
      p.advance();
      p.enter(t.span);
      try {
        const target = parseUnary(p);
        return incdec(p, t, target, true, p.from(t.span));
      } finally {
        p.leave();
      }
    }
    if (t.text === "(" && castAhead(p)) {
      p.advance();
      const type = parseType(p);
      p.expect(")", "after the cast type");
      p.enter(t.span);
      try {
        const expr = parseUnary(p);
        return { kind: "cast", type, expr, span: p.from(t.span) };
      } finally {
        p.leave();
      }
    }
  }
  return parsePostfix(p);
}

/** `++`/`--` on `target`, which must be a map or a $variable. */
function incdec(
  p: ParserState,
  op: Token,
  target: Expr,
  prefix: boolean,
  span: Span,
): Expr {
  if (target.kind !== "var" && target.kind !== "map") {
    p.diag.error(
      target.span,
      `"${op.text}" needs a map or a $variable, found ${describeExpr(target)}`,
    );
    return target;
  }
  return {
    kind: "incdec",
    op: op.text as "++" | "--",
    prefix,
    target,
    span,
  };
}

/** A primary, then `.field`, `->field`, `.N`, `[index]`, `++`, `--`. */
function parsePostfix(p: ParserState): Expr {
  let e = parsePrimary(p);
  for (;;) {
    const t = p.cur;
    if (t.type !== "punct") return e;
    if (t.text === "." || t.text === "->") {
      if (t.text === "." && p.at(".", 1)) return e; // a range `a..b`
      p.advance();
      const f = p.cur;
      if (f.type === "ident") {
        p.advance();
        e = {
          kind: "field",
          expr: e,
          field: f.text,
          arrow: t.text === "->",
          span: p.from(e.span),
        };
      } else if (f.type === "int" && t.text === ".") {
        p.advance();
        if (!/^[0-9]+$/.test(f.text) || f.text.length > 6) {
          p.diag.error(f.span, `Invalid tuple index ${quote(f.text)}`);
        }
        e = {
          kind: "tuple_index",
          expr: e,
          index: Number(f.int ?? 0n),
          span: p.from(e.span),
        };
      } else {
        p.fail(
          f.span,
          `Expected a field name after "${t.text}", found ${describeToken(f)}`,
        );
      }
    } else if (t.text === "[") {
      p.advance();
      const index = parseExpr(p);
      p.expect("]", "after the index");
      e = { kind: "index", expr: e, index, span: p.from(e.span) };
    } else if (t.text === "++" || t.text === "--") {
      p.advance();
      e = incdec(p, t, e, false, p.from(e.span));
    } else {
      return e;
    }
  }
}

/** Comma-separated expressions up to `close` (after the opening token). */
function parseArgs(p: ParserState, close: string, what: string): Expr[] {
  const args: Expr[] = [];
  if (p.at(close)) {
    p.advance();
    return args;
  }
  for (;;) {
    args.push(parseExpr(p));
    if (p.at(",")) {
      p.advance();
      continue;
    }
    if (p.at(close)) {
      p.advance();
      return args;
    }
    const t = p.cur;
    p.fail(
      t.span,
      `Expected "," or "${close}" in ${what}, found ${describeToken(t)}`,
    );
  }
}

/**
 * A literal, variable, map, name or call, or a `(...)` or `{...}`
 * expression.
 */
export function parsePrimary(p: ParserState): Expr {
  const t = p.cur;
  switch (t.type) {
    case "int":
      p.advance();
      return { kind: "int", value: t.int ?? 0n, raw: t.text, span: t.span };
    case "str":
      p.advance();
      return { kind: "str", value: t.value ?? "", span: t.span };
    case "var":
      p.advance();
      return { kind: "var", name: t.value ?? "", span: t.span };
    case "positional": {
      p.advance();
      if (t.index === 0) {
        return {
          kind: "positional_count",
          ...(p.params ? { value: p.params.length } : {}),
          span: t.span,
        };
      }
      const index = t.index ?? 1;
      const value = p.params?.[index - 1];
      return {
        kind: "positional",
        index,
        ...(value !== undefined ? { value } : {}),
        span: t.span,
      };
    }
    case "map": {
      p.advance();
      let keys: Expr[] = [];
      if (p.at("[")) {
        const open = p.advance();
        if (p.at("]")) {
          p.fail(open.span, "Expected a map key between [ and ]");
        }
        keys = parseArgs(p, "]", "map keys");
      }
      return {
        kind: "map",
        name: t.value ?? "",
        keys,
        span: p.from(t.span),
      };
    }
    case "ident":
      return parseIdent(p, t);
    case "punct":
      if (t.text === "(") return parseParen(p, t);
      if (t.text === "{") return parseBlockExpr(p, t);
      break;
  }
  p.fail(t.span, `Expected an expression, found ${describeToken(t)}`);
}

/** `{ stmts; value }` used as an expression (at `{`). */
function parseBlockExpr(p: ParserState, open: Token): Expr {
  p.advance();
  p.enter(open.span);
  const saved = p.inPredicate;
  p.inPredicate = false;
  const stmts: Stmt[] = [];
  let value: Expr | undefined;
  try {
    while (!p.at("}") && p.cur.type !== "eof") {
      if (p.at(";")) {
        p.advance();
        continue;
      }
      const s = p.parseStmt();
      if (p.at("}") && (s.kind === "expr" || s.kind === "if")) {
        value = s.kind === "if" ? ifValue(p, s) : s.expr;
        break;
      }
      stmts.push(s);
      if (
        s.kind === "if" || s.kind === "while" || s.kind === "unroll" ||
        s.kind === "block" || s.kind === "for"
      ) continue;
      if (p.at(";")) p.advance();
      else if (!p.at("}")) {
        p.fail(
          p.cur.span,
          `Expected ";" or "}" after statement, found ${describeToken(p.cur)}`,
        );
      }
    }
  } finally {
    p.inPredicate = saved;
    p.leave();
  }
  p.expect("}", "to close the block expression");
  if (value === undefined) {
    p.fail(
      p.from(open.span),
      'A block used as a value must end with an expression without ";"',
    );
  }
  return { kind: "block_expr", stmts, value, span: p.from(open.span) };
}

/**
 * An `if` used as a value (0.26): `if (c) { …; a } else { …; b }` is
 * `c ? { …; a } : { …; b }`.
 */
function ifValue(p: ParserState, s: IfStmt): Expr {
  const arm = (b?: Block | IfStmt): Expr => {
    if (b?.kind === "if") return ifValue(p, b);
    const last = b?.stmts.at(-1);
    const value = last?.kind === "if"
      ? ifValue(p, last)
      : last?.kind === "block"
      ? arm(last)
      : last?.kind === "expr"
      ? last.expr
      : p.fail(
        (b ?? s).span,
        b
          ? "A block used as a value must end with an expression"
          : 'An "if" used as a value needs an "else"',
      );
    const stmts = b!.stmts.slice(0, -1);
    return { kind: "block_expr", stmts, value, span: b!.span };
  };
  const then = arm(s.then);
  return {
    kind: "ternary",
    cond: s.cond,
    then,
    else: arm(s.else),
    span: s.span,
  };
}

/** `(expr)` or a tuple or a record (at `(`). */
function parseParen(p: ParserState, open: Token): Expr {
  p.advance();
  p.enter(open.span);
  const saved = p.inPredicate;
  p.inPredicate = false;
  try {
    if (p.cur.type === "ident" && p.at("=", 1)) {
      return parseRecordFields(p, open);
    }
    const first = parseExpr(p);
    if (p.at(")")) {
      p.advance();
      return first;
    }
    if (!p.at(",")) {
      p.fail(
        p.cur.span,
        `Expected ")" or ",", found ${describeToken(p.cur)}`,
      );
    }
    p.advance();
    const elems = [first, ...parseArgs(p, ")", "tuple")];
    return { kind: "tuple", elems, span: p.from(open.span) };
  } finally {
    p.inPredicate = saved;
    p.leave();
  }
}

/** `(a=1, b="x")`, after its "(": a tuple with field names. */
function parseRecordFields(p: ParserState, open: Token): Expr {
  const names: string[] = [];
  const elems: Expr[] = [];
  for (;;) {
    const n = p.cur;
    if (n.type !== "ident" || !p.at("=", 1)) {
      p.fail(
        n.span,
        `Expected a record field "name=value", found ${describeToken(n)}`,
      );
    }
    if (names.includes(n.text)) {
      p.fail(n.span, `Duplicate record field "${n.text}"`);
    }
    p.advance();
    p.advance();
    names.push(n.text);
    elems.push(parseExpr(p));
    if (p.at(")")) break;
    p.expect(",", "record");
  }
  p.advance();
  return { kind: "tuple", elems, names, span: p.from(open.span) };
}

/**
 * A name: `true`/`false`, `sizeof`, `offsetof`, a call, a builtin or an
 * identifier.
 */
function parseIdent(p: ParserState, t: Token): Expr {
  const name = t.text;
  if (name === "true" || name === "false") {
    p.advance();
    return { kind: "bool", value: name === "true", span: t.span };
  }
  if (name === "sizeof" && p.at("(", 1)) return parseSizeof(p, t);
  if (name === "offsetof" && p.at("(", 1)) return parseOffsetof(p, t);
  if (name === "if") return ifValue(p, p.parseStmt() as IfStmt);
  if (name === "typeof" && p.at("(", 1)) {
    p.fail(t.span, "typeof() is supported in let declarations only");
  }
  if (KEYWORDS.has(name)) {
    p.fail(t.span, `Expected an expression, found ${describeToken(t)}`);
  }
  p.advance();
  if (p.at("(")) {
    p.advance();
    p.enter(t.span);
    const saved = p.inPredicate;
    p.inPredicate = false;
    try {
      const args = parseArgs(p, ")", `arguments of ${name}()`);
      const span = p.from(t.span);
      const b = callStyleBuiltin(name, args, span);
      // Arguments a builtin does not take: a call (for a user macro; else
      // sema reports the error).
      if (b === undefined || "error" in b) {
        return { kind: "call", name, args, span };
      }
      return b.kind === "builtin" ? { ...b, called: true } : b;
    } finally {
      p.inPredicate = saved;
      p.leave();
    }
  }
  if (isBuiltinName(name)) return { kind: "builtin", name, span: t.span };
  // __builtin_cpu and the others 0.26's standard library wraps in macros.
  const m =
    /^__builtin_(?!(?:has_cpid|leader_\w+|nsecs|numaid|pcomm|p?pid|tid)$)(\w+)$/
      .exec(name);
  const raw = m && callStyleBuiltin(m[1], [], t.span);
  if (raw && "kind" in raw && raw.kind === "builtin") {
    return { ...raw, raw: true };
  }
  return taskRelative(name, undefined, t.span) ??
    { kind: "ident", name, span: t.span };
}

/** `sizeof(type)` or `sizeof(expr)` (at `sizeof`). */
function parseSizeof(p: ParserState, t: Token): Expr {
  p.advance();
  p.advance(); // (
  const saved = p.inPredicate;
  p.inPredicate = false;
  try {
    const arg = typeAhead(p, 0) ? parseType(p) : parseExpr(p);
    p.expect(")", "after the sizeof argument");
    return { kind: "sizeof", arg, span: p.from(t.span) };
  } finally {
    p.inPredicate = saved;
  }
}

/** `offsetof(type, field.field)` (at `offsetof`). */
function parseOffsetof(p: ParserState, t: Token): Expr {
  p.advance();
  p.advance(); // (
  const type = parseType(p);
  p.expect(",", "after the offsetof type");
  const field: string[] = [];
  for (;;) {
    const f = p.cur;
    if (f.type !== "ident") {
      p.fail(f.span, `Expected a field name, found ${describeToken(f)}`);
    }
    p.advance();
    field.push(f.text);
    if (!p.at(".")) break;
    p.advance();
  }
  p.expect(")", "after the offsetof field");
  return { kind: "offsetof", type, field, span: p.from(t.span) };
}

/** A short description of an expression for error messages. */
export function describeExpr(e: Expr): string {
  switch (e.kind) {
    case "call":
      return `the call ${e.name}()`;
    case "builtin":
      return `builtin "${e.name}"`;
    case "field":
      return `field "${e.field}"`;
    case "int":
    case "str":
    case "bool":
      return "a literal";
    case "positional":
      return `positional parameter $${e.index}`;
    case "tuple_index":
      return "a tuple element (tuples are immutable)";
    case "ident":
      return `identifier "${e.name}"`;
    case "positional_count":
      return '"$#"';
    case "incdec":
      return `"${e.op}" expression`;
    case "tuple":
    case "cast":
    case "sizeof":
    case "offsetof":
    case "index":
    case "ternary":
      return `a ${e.kind} expression`;
    default:
      return `an ${e.kind === "unary" ? "unary" : "operator"} expression`;
  }
}
