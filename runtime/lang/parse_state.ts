/**
 * The parser's state and token plumbing, shared by the files of the
 * grammar: {@linkcode ParserState} holds the lexer, the tokens looked
 * ahead, the nesting depth and the predicate flag, and does lookahead,
 * error reporting with unwinding ({@linkcode Bail}), and the recovery
 * that skips to the next statement or probe. The grammar's functions take
 * it as their first argument (`#` fields cannot cross files); `parser.ts`
 * makes the concrete parser.
 *
 * @module
 */

import type { Span, Stmt } from "./ast.ts";
import { type Diagnostics, quote } from "./diagnostics.ts";
import { describeToken, Lexer, type Token } from "./lexer.ts";

/**
 * Thrown inside the parser to unwind to a recovery point; never escapes.
 * Not an `Error`, so throwing it does not capture a stack trace.
 */
export class Bail {}
/** Unwinds to the nearest recovery point (statement or probe). */
export const BAIL: Bail = new Bail();
/** Unwinds to the top level, which resumes at the current token. */
export const BAIL_TO_PROBE: Bail = new Bail();

/** Deepest nesting of expressions/blocks before an error. */
const MAX_DEPTH = 200;

/** The span from the start of `a` to the end of `b`. */
export function joinSpan(a: Span, b: Span): Span {
  return { start: a.start, end: b.end, line: a.line, col: a.col };
}

/**
 * The parser as the grammar's files see it: tokens, errors, recovery and
 * nesting. {@linkcode ParserState.parseStmt} is the one grammar rule
 * reached from below the statement parser (a block used as a value), so
 * the concrete parser provides it.
 */
export abstract class ParserState {
  /** The token source. */
  readonly lx: Lexer;
  /** Where errors go. */
  readonly diag: Diagnostics;
  /** Positional parameters (`$1` is `params[0]`), when known. */
  readonly params: readonly string[] | undefined;
  /** Tokens looked ahead and not consumed yet. */
  buf: Token[] = [];
  /** The last consumed token. */
  prev: Token;
  /** Current nesting of expressions and blocks. */
  depth = 0;
  /** Inside a probe's `/predicate/`, where `/` may end it. */
  inPredicate = false;
  /** Whether "nested too deeply" was reported already. */
  reportedDepth = false;
  /** Lexical error count at the start of the current statement/probe. */
  lexMark = 0;

  constructor(
    src: string,
    diag: Diagnostics,
    params: readonly string[] | undefined,
  ) {
    this.diag = diag;
    this.params = params;
    this.lx = new Lexer(src, diag);
    this.prev = {
      type: "eof",
      text: "",
      span: { start: 0, end: 0, line: 1, col: 1 },
    };
  }

  /** Parses one statement (`parse_stmt.ts`). */
  abstract parseStmt(): Stmt;

  // ---- token plumbing ----

  /** The token `k` ahead of the current one (0: the current token). */
  peek(k = 0): Token {
    while (this.buf.length <= k) this.buf.push(this.lx.next());
    return this.buf[k];
  }

  /** The current token, not consumed. */
  get cur(): Token {
    return this.peek(0);
  }

  /** Consumes the current token (never past the end) and returns it. */
  advance(): Token {
    const t = this.peek(0);
    if (t.type !== "eof") this.buf.shift();
    this.prev = t;
    return t;
  }

  /** Whether the token `k` ahead is the punctuation `text`. */
  at(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.type === "punct" && t.text === text;
  }

  /** Whether the token `k` ahead is the word `word`. */
  atWord(word: string, k = 0): boolean {
    const t = this.peek(k);
    return t.type === "ident" && t.text === word;
  }

  /** Span from `start` to the end of the last consumed token. */
  from(start: Span): Span {
    return joinSpan(start, this.prev.span);
  }

  /**
   * Reports a syntax error and unwinds to the nearest recovery point. The
   * report is dropped when a lexical error happened since `mark` (the
   * syntax error is then most likely a consequence of it).
   */
  fail(span: Span, message: string, mark = this.lexMark): never {
    if (this.lx.errorCount === mark) this.diag.error(span, message);
    throw BAIL;
  }

  /** Consumes the punctuation `text`, or fails saying what was found. */
  expect(text: string, context?: string): Token {
    if (this.at(text)) return this.advance();
    const t = this.cur;
    this.fail(
      t.span,
      `Expected ${quote(text)}${context ? " " + context : ""}, found ${
        describeToken(t)
      }`,
    );
  }

  /** After `maxErrors` errors, stops: jumps to the end of input. */
  tooManyErrors(): boolean {
    if (this.diag.errors.length < this.diag.maxErrors) return false;
    this.buf = [];
    this.lx.advanceTo(this.lx.src.length);
    return true;
  }

  /** Counts one nesting level (callers `leave()` in a `finally`). */
  enter(span: Span): void {
    if (++this.depth > MAX_DEPTH) {
      this.depth--;
      if (!this.reportedDepth) {
        this.reportedDepth = true;
        this.diag.error(span, "Program is nested too deeply");
      }
      throw BAIL;
    }
  }

  /** Ends the nesting level `enter()` counted. */
  leave(): void {
    this.depth--;
  }

  /** Skips a probe's remaining tokens: through a balancing `}` or EOF. */
  recoverTopLevel(): void {
    let depth = 0;
    let first = true;
    while (this.cur.type !== "eof") {
      const t = this.cur;
      if (t.type === "punct" && t.text === "{") depth++;
      else if (t.type === "punct" && t.text === "}") {
        this.advance();
        if (depth <= 1) return;
        depth--;
        continue;
      } else if (!first && depth === 0 && this.looksLikeProbeStart()) {
        return;
      }
      first = false;
      this.advance();
    }
  }

  /** Whether the current token begins a line and looks like `word:`. */
  looksLikeProbeStart(): boolean {
    const t = this.cur;
    if (t.type !== "ident" || t.span.col !== 1) return false;
    return t.text === "BEGIN" || t.text === "END" || t.text === "begin" ||
      t.text === "end" ||
      (this.at(":", 1) && this.peek(1).span.start === t.span.end);
  }

  /**
   * Skips a statement's remaining tokens, stopping before `}` closing the
   * block.
   */
  recoverStatement(): void {
    let depth = 0;
    while (this.cur.type !== "eof") {
      const t = this.cur;
      if (t.type === "punct") {
        if (t.text === ";" && depth === 0) {
          this.advance();
          return;
        }
        if (t.text === "{") depth++;
        else if (t.text === "}") {
          if (depth === 0) return;
          depth--;
          this.advance();
          if (depth === 0) return;
          continue;
        }
      }
      this.advance();
    }
  }
}
