/**
 * The statement grammar: blocks (with recovery to the next statement
 * after an error), assignments, `if`/`else if`/`else`, `while`,
 * `unroll`, `for` over a map or a range, `let`, `return`, `break` and
 * `continue`.
 *
 * @module
 */

import type {
  AssignOp,
  Block,
  BlockExpr,
  Expr,
  ForStmt,
  IfStmt,
  LetStmt,
  MapExpr,
  Span,
  Stmt,
  TypeRef,
  VarExpr,
} from "./ast.ts";
import { describeToken } from "./lexer.ts";
import {
  Bail,
  BAIL_TO_PROBE,
  joinSpan,
  type ParserState,
} from "./parse_state.ts";
import { describeExpr, parseExpr, parseUnary } from "./parse_expr.ts";
import { castAhead, parseType, typeAhead } from "./parse_type.ts";

/** The assignment operators. */
const ASSIGN_OPS: ReadonlySet<string> = new Set([
  "=",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "&=",
  "|=",
  "^=",
  "<<=",
  ">>=",
]);

/** A binary operator, which ends an unparenthesized condition early. */
const BINARY_OP = /^(?:[-+*/%^|&<>?]|[=!<>]=|<<|>>|&&|\|\|)$/;

/** `{ statements }`, recovering from errors statement by statement. */
export function parseBlock(p: ParserState): Block {
  const open = p.expect("{");
  const openMark = p.lx.errorCount;
  p.enter(open.span);
  const stmts: Stmt[] = [];
  try {
    while (!p.at("}") && p.cur.type !== "eof") {
      if (p.tooManyErrors()) break;
      if (p.at(";")) {
        p.advance();
        continue;
      }
      if (p.looksLikeProbeStart()) {
        // A probe header inside a block: the block's "}" is missing.
        // Report it once and let the top level parse the next probe.
        const t = p.cur;
        if (p.lx.errorCount === openMark) {
          p.diag.error(
            t.span,
            `Expected "}" to close the block opened at line ${open.span.line}, found ${
              describeToken(t)
            }`,
          );
        }
        throw BAIL_TO_PROBE;
      }
      p.lexMark = p.cur.errorMark ?? p.lx.errorCount;
      try {
        const s = parseStmt(p);
        stmts.push(s);
        if (
          s.kind === "if" || s.kind === "while" || s.kind === "unroll" ||
          s.kind === "block" || s.kind === "for"
        ) {
          continue;
        }
        if (p.at(";")) p.advance();
        else if (!p.at("}")) {
          const t = p.cur;
          p.fail(
            t.span,
            `Expected ";" or "}" after statement, found ${describeToken(t)}`,
          );
        }
      } catch (e) {
        if (!(e instanceof Bail) || e === BAIL_TO_PROBE) throw e;
        p.recoverStatement();
      }
    }
  } finally {
    p.leave();
  }
  if (p.cur.type === "eof") {
    p.fail(
      p.cur.span,
      `Expected "}" to close the block opened at line ${open.span.line}, found end of input`,
      openMark,
    );
  }
  p.advance();
  return { kind: "block", stmts, span: p.from(open.span) };
}

/**
 * The condition of `if`, `while` or `unroll` (`what`): `(expr)` or, as in
 * bpftrace 0.26, a unary expression (`if $x {`, `unroll 4 {`).
 */
function parseCondition(p: ParserState, what: string): Expr {
  let e: Expr;
  const paren = p.at("(");
  if (paren && castAhead(p)) {
    // `if (u8)$x {`: bpftrace 0.26 refuses it too.
    const open = p.advance();
    parseType(p);
    p.expect(")", "after the cast type");
    p.fail(
      p.from(open.span),
      `A cast cannot start the condition of "${what}" without parentheses around it: write ${what} ((type)expr) {`,
    );
  }
  if (paren) {
    p.advance();
    e = parseExpr(p);
    p.expect(")", `after the ${what} condition`);
  } else {
    if (p.at("{") && p.at("}", 1)) {
      p.fail(p.cur.span, `Expected a condition after "${what}", found "{"`);
    }
    e = parseUnary(p);
  }
  if (!p.at("{")) expectBlockAfter(p, `the ${what} condition`, paren);
  return e;
}

/** Fails at the token after `what` that is not "{", saying why if it can. */
function expectBlockAfter(p: ParserState, what: string, paren: boolean): never {
  const t = p.cur;
  let why = "";
  if (t.type === "punct" && BINARY_OP.test(t.text)) {
    why = paren
      ? "; put the whole condition inside the parentheses"
      : "; without parentheses it is one unary expression, put it in parentheses";
  }
  p.fail(t.span, `Expected "{" after ${what}, found ${describeToken(t)}${why}`);
}

/** One statement, without its `;`. */
export function parseStmt(p: ParserState): Stmt {
  const t = p.cur;
  if (t.type === "punct" && t.text === "{") return parseBlock(p);
  if (t.type === "ident") {
    switch (t.text) {
      case "if":
        return parseIf(p);
      case "while": {
        p.advance();
        const cond = parseCondition(p, "while");
        const body = parseBlock(p);
        return { kind: "while", cond, body, span: p.from(t.span) };
      }
      case "unroll": {
        p.advance();
        const count = parseCondition(p, "unroll");
        const body = parseBlock(p);
        return { kind: "unroll", count, body, span: p.from(t.span) };
      }
      case "return": {
        // `return EXPR;` sets a test or bench probe's result.
        p.advance();
        if (p.at(";") || p.at("}")) {
          return { kind: "return", span: t.span };
        }
        const value = parseExpr(p);
        return { kind: "return", value, span: p.from(t.span) };
      }
      case "break":
      case "continue":
        p.advance();
        return { kind: t.text, span: t.span };
      case "else":
        p.fail(t.span, 'Unexpected "else" without a matching "if"');
        break;
      case "let":
        if (p.peek(1).type === "var") return parseLet(p);
        break;
      case "for":
        if (p.at("(", 1) || p.peek(1).type === "var") return parseFor(p);
        break;
    }
  }
  const expr = parseExpr(p);
  const op = p.cur;
  if (op.type === "punct" && ASSIGN_OPS.has(op.text)) {
    p.advance();
    if (expr.kind === "ident" && expr.name === "_" && op.text === "=") {
      // `_ = expr;`: the value discarded (0.26).
      const e = parseExpr(p);
      return { kind: "expr", expr: e, span: p.from(t.span) };
    }
    if (expr.kind !== "var" && expr.kind !== "map") {
      p.diag.error(
        expr.span,
        `Cannot assign to ${
          describeExpr(expr)
        }: only a map or a $variable can be assigned`,
      );
    }
    const value = parseExpr(p);
    const s: Stmt = {
      kind: "assign",
      op: op.text as AssignOp,
      target: expr as VarExpr | MapExpr,
      value,
      span: p.from(expr.span),
    };
    // `@m = { …; avg(x) }` (0.26): `{ …; @m = avg(x); }`.
    const v = value.kind === "block_expr" ? value.value : undefined;
    if (
      expr.kind === "map" && v?.kind === "call" &&
      /^(count|sum|avg|min|max|stats|l?hist|tseries)$/.test(v.name)
    ) {
      const stmts = [...(value as BlockExpr).stmts, { ...s, value: v }];
      return { kind: "block", stmts, span: s.span };
    }
    return s;
  }
  return ternaryStmt(expr);
}

/**
 * `c ? f() : g();` (a call in either branch: it may have no value) is
 * `if (c) { f(); } else { g(); }`, as 0.26 runs it.
 */
function ternaryStmt(e: Expr): Stmt {
  const s: Stmt = { kind: "expr", expr: e, span: e.span };
  if (e.kind !== "ternary") return s;
  const [x, y] = [e.then, e.else];
  if (x.kind !== "call" && y.kind !== "call") return s;
  const block = (e: Expr): Block => ({
    kind: "block",
    stmts: [ternaryStmt(e)],
    span: e.span,
  });
  return {
    kind: "if",
    cond: e.cond,
    then: block(x),
    else: block(y),
    span: e.span,
  };
}

/**
 * `typeof(type)` or `typeof(expr)` (at `typeof`). A bare name stays an
 * expression: sema reads it as a type unless a macro put one there.
 */
function parseTypeof(p: ParserState): TypeRef {
  const start = p.advance().span;
  p.advance();
  const type = typeAhead(p, 0) && !p.at(")", 1) ? parseType(p) : undefined;
  const of = type ? undefined : parseExpr(p);
  p.expect(")", "after typeof(");
  return {
    ...type ?? { kind: "type", name: "typeof", pointer: 0, of },
    span: p.from(start),
  };
}

/** `let $x [: type] [= value]` (at `let`). */
function parseLet(p: ParserState): LetStmt {
  const start = p.advance().span;
  const v = p.advance();
  const target: VarExpr = { kind: "var", name: v.value ?? "", span: v.span };
  let type: TypeRef | undefined;
  if (p.at(":")) {
    p.advance();
    type = p.atWord("typeof") && p.at("(", 1) ? parseTypeof(p) : parseType(p);
  }
  let value: Expr | undefined;
  if (p.at("=")) {
    p.advance();
    value = parseExpr(p);
  } else if (p.cur.type === "punct" && ASSIGN_OPS.has(p.cur.text)) {
    p.fail(
      p.cur.span,
      `Expected "=" or ";" after "let $${target.name}", found ${
        describeToken(p.cur)
      }`,
    );
  }
  return {
    kind: "let",
    target,
    ...(type ? { type } : {}),
    ...(value ? { value } : {}),
    span: p.from(start),
  };
}

/** `for ($v : @map) { }` or `for $v : from..to { }` (at `for`). */
function parseFor(p: ParserState): ForStmt {
  const start = p.advance().span;
  const paren = p.at("(");
  if (paren) p.advance();
  const v = p.cur;
  if (v.type !== "var") {
    p.fail(
      v.span,
      `Expected a $variable after "for${paren ? " (" : ""}", found ${
        describeToken(v)
      }`,
    );
  }
  p.advance();
  const target: VarExpr = { kind: "var", name: v.value ?? "", span: v.span };
  p.expect(":", "after the loop variable");
  const first = parseUnary(p);
  let stmt: ForStmt;
  if (p.at(".") && p.at(".", 1)) {
    p.advance();
    p.advance();
    const to = parseUnary(p);
    if (paren) p.expect(")", "after the range");
    if (!p.at("{")) expectBlockAfter(p, "the range end", paren);
    const body = parseBlock(p);
    stmt = { kind: "for", target, from: first, to, body, span: start };
  } else {
    if (first.kind !== "map") {
      p.fail(
        first.span,
        `Expected a map or a range "start..end" to loop over, found ${
          describeExpr(first)
        }`,
      );
    }
    if (paren) p.expect(")", "after the map");
    if (!p.at("{")) expectBlockAfter(p, "the map", paren);
    const body = parseBlock(p);
    stmt = { kind: "for", target, map: first, body, span: start };
  }
  stmt.span = p.from(start);
  return stmt;
}

/** `if (c) { } else if c { } else { }` (at `if`). */
function parseIf(p: ParserState): IfStmt {
  // `else if` chains are collected iteratively (no recursion per link).
  const links: { start: Span; cond: Expr; then: Block }[] = [];
  let tail: Block | undefined;
  for (;;) {
    const start = p.advance().span;
    const cond = parseCondition(p, "if");
    const then = parseBlock(p);
    links.push({ start, cond, then });
    if (!p.atWord("else")) break;
    p.advance();
    if (p.atWord("if")) continue;
    if (!p.at("{")) {
      p.fail(
        p.cur.span,
        `Expected "{" or "if" after "else", found ${describeToken(p.cur)}`,
      );
    }
    tail = parseBlock(p);
    break;
  }
  const end = p.prev.span;
  let node: IfStmt | Block | undefined = tail;
  for (let i = links.length - 1; i >= 0; i--) {
    const { start, cond, then } = links[i];
    node = {
      kind: "if",
      cond,
      then,
      ...(node ? { else: node } : {}),
      span: joinSpan(start, end),
    };
  }
  return node as IfStmt;
}
