/**
 * The bpftrace lexer: turns source text into tokens with spans.
 *
 * The parser drives a {@linkcode Lexer} one token at a time because probe
 * headers (attach points such as `uprobe:/bin/bash:readline`) are scanned
 * as raw text, not as tokens; {@linkcode tokenize} runs the ordinary token
 * mode over a whole source, for tests and tools.
 *
 * @module
 */

import type { Span } from "./ast.ts";
import { Diagnostics, quote } from "./diagnostics.ts";

/** Token categories. Punctuation tokens use their own text as type. */
export type TokenType =
  | "ident"
  | "map"
  | "var"
  | "positional"
  | "int"
  | "str"
  | "preproc"
  | "punct"
  | "eof";

/** One token. */
export interface Token {
  /** The token category. */
  type: TokenType;
  /** The source text of the token (for `str`, including the quotes). */
  text: string;
  /** `int`: the value; */
  int?: bigint;
  /** `str`: the decoded byte string; `map`/`var`: the name without sigil. */
  value?: string;
  /** `positional`: the index (0 for `$#`). */
  index?: number;
  /** The lexer's error count before this token was scanned. */
  errorMark?: number;
  /** Source range of the token. */
  span: Span;
}

/**
 * Length of the punctuator at `p` (first char code `c`), 0 if none:
 * `<<= >>= -> ++ -- += -= *= /= %= &= |= ^= << >> <= >= == != && ||` and
 * the single characters `+-*\/%&|^!~<>=(){}[],;:?.`.
 */
function punctLength(s: string, p: number, c: number): number {
  const d = s.charCodeAt(p + 1);
  switch (c) {
    case 60: // <
    case 62: // >
      if (d === c) return s.charCodeAt(p + 2) === 61 ? 3 : 2;
      return d === 61 ? 2 : 1;
    case 45: // -
      return d === 62 || d === 45 || d === 61 ? 2 : 1;
    case 43: // +
      return d === 43 || d === 61 ? 2 : 1;
    case 38: // &
    case 124: // |
      return d === c || d === 61 ? 2 : 1;
    case 42: // *
    case 47: // /
    case 37: // %
    case 94: // ^
    case 61: // =
    case 33: // !
      return d === 61 ? 2 : 1;
    case 126: // ~
    case 40: // (
    case 41: // )
    case 123: // {
    case 125: // }
    case 91: // [
    case 93: // ]
    case 44: // ,
    case 59: // ;
    case 58: // :
    case 63: // ?
    case 46: // .
      return 1;
    default:
      return 0;
  }
}

const U64_MAX = (1n << 64n) - 1n;

/** Nanoseconds per unit of a duration literal (`100ms`). */
const DURATION_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
};

/** Length of an integer suffix (`u`, `l`, `ul`, `ll`, `ull`, `llu`) at `p`. */
function suffixLength(s: string, p: number): number {
  let q = p;
  const isU = (i: number) => s[i] === "u" || s[i] === "U";
  const isL = (i: number) => s[i] === "l" || s[i] === "L";
  if (isU(q)) {
    q++;
    if (isL(q)) q += s[q + 1] === s[q] ? 2 : 1;
  } else if (isL(q)) {
    q += s[q + 1] === s[q] ? 2 : 1;
    if (isU(q)) q++;
  }
  return q - p;
}

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

/** Describes a token for an error message: `"@x"`, `end of input`. */
export function describeToken(t: Token): string {
  if (t.type === "eof") return "end of input";
  return quote(t.text, 24);
}

/** `__attribute__((...))`s after a C definition, with blanks and comments. */
const ATTRIBUTES =
  /(?:(?:\s|\/\*[\s\S]*?\*\/|\/\/[^\n]*\n)*__attribute__\s*(?:\/\*[\s\S]*?\*\/\s*)*\(\((?:[^()]|\([^()]*\))*\)\))*/y;

/**
 * An on-demand lexer over one source. Errors go to the shared
 * {@linkcode Diagnostics}; the lexer always returns a token (an invalid
 * character is reported and skipped).
 *
 * @example Usage
 * ```ts
 * import { Lexer } from "./lexer.ts";
 * import { Diagnostics } from "./diagnostics.ts";
 * import assert from "node:assert/strict";
 * const lx = new Lexer("@x = 1;", new Diagnostics());
 * assert.equal(lx.next().type, "map");
 * assert.equal(lx.next().text, "=");
 * ```
 */
export class Lexer {
  /** The source text. */
  readonly src: string;
  /** Where errors go. */
  readonly diag: Diagnostics;
  /** Current offset. */
  pos = 0;
  /** Current 1-based line. */
  line = 1;
  /** Offset of the current line's first character. */
  lineStart = 0;
  /** End offset of the last token returned (for end-of-input spans). */
  lastEnd = 0;
  /** Number of lexical errors reported so far. */
  errorCount = 0;
  private tokenMark = 0;
  private lastLine = 1;
  private lastLineStart = 0;

  /**
   * Makes a lexer.
   *
   * @param src The source text.
   * @param diag Where lexical errors are reported.
   */
  constructor(src: string, diag: Diagnostics) {
    this.src = src;
    this.diag = diag;
  }

  /**
   * A span from `start` (which must be on the current line or an earlier
   * recorded position) to `end`.
   */
  spanAt(start: number, end: number, line: number, lineStart: number): Span {
    return { start, end, line, col: start - lineStart + 1 };
  }

  /** Reports a lexical error. */
  private err(span: Span, message: string): void {
    this.errorCount++;
    this.diag.error(span, message);
  }

  /** Zero-width span just after the last token. */
  endSpan(): Span {
    return {
      start: this.lastEnd,
      end: this.lastEnd,
      line: this.lastLine,
      col: this.lastEnd - this.lastLineStart + 1,
    };
  }

  /** Skips whitespace and comments. */
  skipTrivia(): void {
    const s = this.src;
    const n = s.length;
    while (this.pos < n) {
      const c = s.charCodeAt(this.pos);
      if (c === 10) {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === 32 || c === 9 || c === 13 || c === 11 || c === 12) {
        this.pos++;
      } else if (c === 47 && s.charCodeAt(this.pos + 1) === 47) {
        const nl = s.indexOf("\n", this.pos);
        this.pos = nl < 0 ? n : nl;
      } else if (c === 47 && s.charCodeAt(this.pos + 1) === 42) {
        const start = this.pos;
        const line = this.line;
        const ls = this.lineStart;
        const close = s.indexOf("*/", this.pos + 2);
        const stop = close < 0 ? n : close + 2;
        for (let i = this.pos; i < stop; i++) {
          if (s.charCodeAt(i) === 10) {
            this.line++;
            this.lineStart = i + 1;
          }
        }
        this.pos = stop;
        if (close < 0) {
          this.err(
            this.spanAt(start, start + 2, line, ls),
            "Unterminated comment",
          );
        }
      } else {
        return;
      }
    }
  }

  /** Makes the token from `start` to the current position. */
  private tok(type: TokenType, start: number): Token {
    const t: Token = {
      type,
      text: this.src.slice(start, this.pos),
      span: {
        start,
        end: this.pos,
        line: this.line,
        col: start - this.lineStart + 1,
      },
      errorMark: this.tokenMark,
    };
    this.lastEnd = this.pos;
    this.lastLine = this.line;
    this.lastLineStart = this.lineStart;
    return t;
  }

  /**
   * Returns the next token in ordinary mode.
   *
   * @returns The token (`eof` at the end, repeatedly).
   */
  next(): Token {
    this.tokenMark = this.errorCount;
    for (;;) {
      this.skipTrivia();
      const s = this.src;
      const start = this.pos;
      if (start >= s.length) {
        const span = this.endSpan();
        return { type: "eof", text: "", span, errorMark: this.tokenMark };
      }
      const c = s.charCodeAt(start);
      if (isIdentStart(c)) {
        let p = start + 1;
        while (p < s.length && isIdentPart(s.charCodeAt(p))) p++;
        this.pos = p;
        return this.tok("ident", start);
      }
      if (isDigit(c)) return this.number(start);
      if (c === 34) return this.string(start);
      if (c === 64) { // @
        let p = start + 1;
        if (p < s.length && isIdentStart(s.charCodeAt(p))) {
          p++;
          while (p < s.length && isIdentPart(s.charCodeAt(p))) p++;
        }
        this.pos = p;
        const t = this.tok("map", start);
        t.value = s.slice(start + 1, p);
        return t;
      }
      if (c === 36) { // $
        let p = start + 1;
        const d = s.charCodeAt(p);
        if (isIdentStart(d)) {
          p++;
          while (p < s.length && isIdentPart(s.charCodeAt(p))) p++;
          this.pos = p;
          const t = this.tok("var", start);
          t.value = s.slice(start + 1, p);
          return t;
        }
        if (isDigit(d)) {
          while (p < s.length && isDigit(s.charCodeAt(p))) p++;
          this.pos = p;
          const index = Number(s.slice(start + 1, p));
          const t = this.tok("positional", start);
          t.index = index;
          if (index === 0 || p - start > 8) {
            this.err(
              t.span,
              `Invalid positional parameter "${t.text}"`,
            );
          }
          return t;
        }
        if (d === 35) { // $#
          this.pos = p + 1;
          const t = this.tok("positional", start);
          t.index = 0;
          return t;
        }
        this.pos = p;
        const t = this.tok("punct", start);
        this.err(t.span, 'Expected a variable name after "$"');
        continue;
      }
      if (c === 35) { // # directive: to end of line
        const nl = s.indexOf("\n", start);
        this.pos = nl < 0 ? s.length : nl;
        return this.tok("preproc", start);
      }
      const len = punctLength(s, start, c);
      if (len > 0) {
        this.pos = start + len;
        return this.tok("punct", start);
      }
      // Invalid character: report and skip the whole code point.
      const cp = s.codePointAt(start)!;
      this.pos = start + (cp > 0xffff ? 2 : 1);
      const t = this.tok("punct", start);
      this.err(t.span, `Invalid character ${describeChar(cp)}`);
    }
  }

  /** Scans an integer literal. */
  private number(start: number): Token {
    const s = this.src;
    let p = start;
    let value = 0n;
    let bad: string | undefined;
    if (
      s.charCodeAt(p) === 48 && (s[p + 1] === "x" || s[p + 1] === "X")
    ) {
      p += 2;
      const ds = p;
      while (p < s.length && (isHex(s.charCodeAt(p)) || s[p] === "_")) p++;
      const digits = s.slice(ds, p).replaceAll("_", "");
      if (digits.length === 0) bad = "has no hex digits";
      else value = BigInt("0x" + digits);
    } else {
      while (p < s.length && (isDigit(s.charCodeAt(p)) || s[p] === "_")) p++;
      const digits = s.slice(start, p).replaceAll("_", "");
      if (digits.length > 1 && digits[0] === "0") {
        if (/[89]/.test(digits)) bad = "is not a valid octal number";
        else value = BigInt("0o" + digits.slice(1));
      } else {
        value = BigInt(digits);
      }
      if (
        (s[p] === "e" || s[p] === "E") && isDigit(s.charCodeAt(p + 1))
      ) {
        p++;
        const es = p;
        while (p < s.length && isDigit(s.charCodeAt(p))) p++;
        const exp = Number(s.slice(es, p));
        if (exp > 40) bad = "does not fit in 64 bits";
        else value *= 10n ** BigInt(exp);
      }
    }
    // Duration suffixes (0.19+): the value in nanoseconds.
    const unit = /^(ns|us|ms|s|m|h|d)(?![A-Za-z0-9_])/.exec(s.slice(p, p + 3));
    if (unit && !bad) {
      p += unit[1].length;
      value *= DURATION_NS[unit[1]];
    } else {
      // Integer suffixes: u, l, ul, ll, ull (any case).
      p += suffixLength(s, p);
    }
    if (p < s.length && isIdentPart(s.charCodeAt(p))) {
      while (p < s.length && isIdentPart(s.charCodeAt(p))) p++;
      bad ??= "has an invalid suffix";
    }
    if (s[p - 1] === "_" && !bad) bad = 'ends with "_"';
    if (!bad && value > U64_MAX) bad = "does not fit in 64 bits";
    this.pos = p;
    const t = this.tok("int", start);
    t.int = value;
    if (bad) {
      this.err(t.span, `Integer literal ${quote(t.text)} ${bad}`);
      t.int = 0n;
    }
    return t;
  }

  /** Scans a string literal, decoding escapes. */
  private string(start: number): Token {
    const s = this.src;
    let p = start + 1;
    let out = "";
    let chunk = p;
    const errs: [number, number, string][] = [];
    let closed = false;
    while (p < s.length) {
      const c = s.charCodeAt(p);
      if (c === 34) {
        out += bytesOf(s.slice(chunk, p));
        p++;
        closed = true;
        break;
      }
      if (c === 10) break;
      if (c !== 92) {
        p++;
        continue;
      }
      out += bytesOf(s.slice(chunk, p));
      const e = s[p + 1];
      let len = 2;
      switch (e) {
        case "n":
          out += "\n";
          break;
        case "t":
          out += "\t";
          break;
        case "r":
          out += "\r";
          break;
        case '"':
        case "\\":
          out += e;
          break;
        case "x": {
          let q = p + 2;
          while (q < p + 4 && q < s.length && isHex(s.charCodeAt(q))) q++;
          if (q === p + 2) {
            errs.push([
              p,
              p + 2,
              'Invalid escape "\\x" in string: expected hex digits',
            ]);
          } else {
            out += String.fromCharCode(parseInt(s.slice(p + 2, q), 16));
          }
          len = q - p;
          break;
        }
        default: {
          if (e !== undefined && e >= "0" && e <= "7") {
            let q = p + 1;
            while (q < p + 4 && q < s.length && s[q] >= "0" && s[q] <= "7") q++;
            const v = parseInt(s.slice(p + 1, q), 8);
            if (v > 255) {
              errs.push([
                p,
                q,
                `Invalid escape "${s.slice(p, q)}" in string: value above 255`,
              ]);
            } else {
              out += String.fromCharCode(v);
            }
            len = q - p;
          } else if (e === undefined || e === "\n") {
            len = 1;
          } else {
            const cp = s.codePointAt(p + 1)!;
            len = cp > 0xffff ? 3 : 2;
            errs.push([
              p,
              p + len,
              `Invalid escape ${quote(s.slice(p, p + len))} in string`,
            ]);
          }
        }
      }
      p += len;
      chunk = p;
    }
    if (!closed) out += bytesOf(s.slice(chunk, p));
    this.pos = p;
    const t = this.tok("str", start);
    t.value = out;
    for (const [a, b, m] of errs) {
      this.err(this.spanAt(a, b, t.span.line, this.lineStart), m);
    }
    if (!closed) this.err(t.span, "Unterminated string");
    return t;
  }

  /**
   * Scans raw text up to the end of the current line or `stopAt`, used for
   * C definitions in the preamble: from `start`, through balanced braces,
   * to the closing `}` (plus an optional `;`) or a `;` outside braces.
   *
   * @param start Offset where the definition begins.
   * @returns The end offset, or -1 if the definition never ends.
   */
  scanCDefinition(start: number): number {
    const s = this.src;
    let depth = 0;
    for (let p = start; p < s.length; p++) {
      const ch = s[p];
      if (ch === "{") depth++;
      else if (ch === "}") {
        depth--;
        if (depth <= 0) {
          // With its `__attribute__((packed))` (0.26), comments between.
          ATTRIBUTES.lastIndex = p + 1;
          const end = p + 1 + ATTRIBUTES.exec(s)![0].length;
          let q = end;
          while (q < s.length && (s[q] === " " || s[q] === "\t")) q++;
          return s[q] === ";" ? q + 1 : end;
        }
      } else if (ch === ";" && depth === 0) return p + 1;
    }
    return -1;
  }

  /**
   * Moves to `offset` (which must be a token boundary at or after the
   * current position), keeping line tracking right.
   *
   * @param offset The new position.
   */
  advanceTo(offset: number): void {
    const s = this.src;
    for (let i = this.pos; i < offset; i++) {
      if (s.charCodeAt(i) === 10) {
        this.line++;
        this.lineStart = i + 1;
      }
    }
    this.pos = offset;
    this.lastEnd = offset;
    this.lastLine = this.line;
    this.lastLineStart = this.lineStart;
  }

  /**
   * Resets the position to a token start returned earlier (for
   * re-scanning in another mode).
   *
   * @param span The token's span.
   */
  rewind(span: Span): void {
    this.pos = span.start;
    this.line = span.line;
    this.lineStart = span.start - span.col + 1;
  }
}

/** UTF-8 bytes of `text` as a byte string (ASCII passes through). */
function bytesOf(text: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  let out = "";
  for (const b of new TextEncoder().encode(text)) out += String.fromCharCode(b);
  return out;
}

function describeChar(cp: number): string {
  return quote(String.fromCodePoint(cp));
}

/**
 * Splits a whole source into ordinary tokens (no attach-point mode), ending
 * with one `eof` token; errors are collected, not thrown.
 *
 * @example Usage
 * ```ts
 * import { tokenize } from "./lexer.ts";
 * import assert from "node:assert/strict";
 * const { tokens, diagnostics } = tokenize('@[comm] = count(); "a\\n"');
 * assert.deepEqual(tokens.map((t) => t.text), ["@", "[", "comm", "]", "=", "count", "(", ")", ";", '"a\\n"', ""]);
 * assert.equal(tokens[9].value, "a\n");
 * assert.equal(diagnostics.hasErrors, false);
 * ```
 *
 * @param source The text.
 * @param fileName Source name for diagnostics.
 * @returns The tokens and the collected diagnostics.
 */
export function tokenize(
  source: string,
  fileName = "stdin",
): { tokens: Token[]; diagnostics: Diagnostics } {
  const diagnostics = new Diagnostics(fileName, source);
  const lx = new Lexer(source, diagnostics);
  const tokens: Token[] = [];
  for (;;) {
    const t = lx.next();
    tokens.push(t);
    if (t.type === "eof") break;
  }
  return { tokens, diagnostics };
}
