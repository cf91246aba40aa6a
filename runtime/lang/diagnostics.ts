/**
 * Compile-error reporting in bpftrace's shape:
 *
 * ```text
 * script.bt:1:50: ERROR: Unknown function "cont"
 * tracepoint:syscalls:sys_enter_openat { @[comm] = cont(); }
 *                                                  ~~~~
 * ```
 *
 * `FILE:LINE:COL: ERROR: message`, the source line, then `~` under the span
 * (`^` for a zero-width span). The lexer, the parser and the compiler all
 * report through a {@linkcode Diagnostics} collector; when a phase ends with
 * errors it throws one {@linkcode CompileErrors} holding every
 * {@linkcode CompileError}.
 *
 * @module
 */

import type { Span } from "./ast.ts";

/** Severity of a diagnostic. */
export type Severity = "error" | "warning" | "note";

/**
 * One compile error (or warning) at a source location.
 *
 * @example Usage
 * ```ts
 * import { CompileError } from "./diagnostics.ts";
 * import assert from "node:assert/strict";
 * const e = new CompileError("Unterminated string", { start: 8, end: 12, line: 1, col: 9 }, "stdin");
 * assert.equal(e.format("BEGIN { \"abc"),
 *   'stdin:1:9: ERROR: Unterminated string\nBEGIN { "abc\n        ~~~~');
 * ```
 */
export class CompileError extends SyntaxError {
  /** The source name (`stdin` for `-e` programs). */
  readonly file: string;
  /** 1-based line of the span start. */
  readonly line: number;
  /** 1-based column of the span start. */
  readonly col: number;
  /** The source range the error is about. */
  readonly span: Span;
  /** `error` or `warning`. */
  readonly severity: Severity;

  /**
   * Makes an error.
   *
   * @param message One plain sentence, values quoted.
   * @param span Where in the source.
   * @param file The source name.
   * @param severity `error` (default) or `warning`.
   */
  constructor(
    message: string,
    span: Span,
    file = "stdin",
    severity: Severity = "error",
  ) {
    super(message);
    this.name = "CompileError";
    this.file = span.source?.name ?? file;
    this.line = span.line;
    this.col = span.col;
    this.span = span;
    this.severity = severity;
  }

  /**
   * Renders the error with its source line and marker.
   *
   * @param sourceText The whole source the span points into.
   * @param sourceName Overrides the file name.
   * @returns Three lines (no trailing newline).
   */
  format(sourceText: string, sourceName: string = this.file): string {
    // A span into an imported file renders from that file.
    const main = formatDiagnostic(
      this.span.source?.name ?? sourceName,
      this.span.source?.text ?? sourceText,
      this.span,
      this.message,
      this.severity,
    );
    // Code from a macro: also the call it was expanded from.
    const notes: string[] = [];
    for (let at = this.span.expandedFrom; at; at = at.span.expandedFrom) {
      notes.push(formatDiagnostic(
        at.span.source?.name ?? sourceName,
        at.span.source?.text ?? sourceText,
        at.span,
        `In the expansion of macro ${at.macro}() called here`,
        "note",
      ));
    }
    return [main, ...notes].join("\n");
  }
}

/**
 * Several compile errors, thrown at the end of a phase that found any.
 *
 * @example Usage
 * ```ts
 * import { parse } from "./parser.ts";
 * import { CompileErrors } from "./diagnostics.ts";
 * import assert from "node:assert/strict";
 * try {
 *   parse("BEGIN { @x = 1 @y = 2 }");
 *   assert.fail("expected an error");
 * } catch (e) {
 *   assert.ok(e instanceof CompileErrors);
 *   assert.equal(e.errors.length, 1);
 * }
 * ```
 */
export class CompileErrors extends SyntaxError {
  /** The errors, in source order of detection. */
  readonly errors: CompileError[];
  /** The warnings collected alongside. */
  readonly warnings: CompileError[];
  /** The source name. */
  readonly file: string;
  /** The source text the spans point into. */
  readonly source: string;

  /**
   * Wraps errors (at least one).
   *
   * @param errors The errors.
   * @param file The source name.
   * @param source The source text.
   * @param warnings Warnings to keep with them.
   */
  constructor(
    errors: CompileError[],
    file = "stdin",
    source = "",
    warnings: CompileError[] = [],
  ) {
    const first = errors[0]?.message ?? "Compile failed";
    super(
      errors.length > 1
        ? `${first} (and ${errors.length - 1} more ${
          errors.length === 2 ? "error" : "errors"
        })`
        : first,
    );
    this.name = "CompileErrors";
    this.errors = errors;
    this.warnings = warnings;
    this.file = file;
    this.source = source;
  }

  /**
   * All errors rendered in bpftrace's shape, one block each, separated by
   * newlines.
   *
   * @param sourceName Overrides the file name.
   * @param sourceText Overrides the source text.
   * @returns The rendered text (no trailing newline).
   */
  format(
    sourceName: string = this.file,
    sourceText: string = this.source,
  ): string {
    return this.errors.map((e) => e.format(sourceText, sourceName)).join(
      "\n",
    );
  }
}

/**
 * Collects errors and warnings for one source; shared by the lexer, parser
 * and compiler.
 *
 * @example Usage
 * ```ts
 * import { Diagnostics } from "./diagnostics.ts";
 * import assert from "node:assert/strict";
 * const src = "BEGIN { foo(); }";
 * const diag = new Diagnostics("stdin", src);
 * diag.error({ start: 8, end: 11, line: 1, col: 9 }, 'Unknown function "foo"');
 * assert.equal(diag.hasErrors, true);
 * assert.equal(diag.format(),
 *   'stdin:1:9: ERROR: Unknown function "foo"\nBEGIN { foo(); }\n        ~~~');
 * assert.throws(() => diag.throwIfErrors(), SyntaxError);
 * ```
 */
export class Diagnostics {
  /** The source name (`stdin` for `-e`). */
  readonly file: string;
  /** The source text. */
  readonly source: string;
  /** Errors so far. */
  readonly errors: CompileError[] = [];
  /** Warnings so far. */
  readonly warnings: CompileError[] = [];
  /**
   * Stop collecting after this many errors: later ones are counted in
   * `dropped` and `error()` returns the last recorded one.
   */
  maxErrors = 20;
  /** Errors not recorded because `maxErrors` was reached. */
  dropped = 0;

  /**
   * Makes an empty collector.
   *
   * @param file The source name.
   * @param source The source text.
   */
  constructor(file = "stdin", source = "") {
    this.file = file;
    this.source = source;
  }

  /** Whether any error was reported. */
  get hasErrors(): boolean {
    return this.errors.length > 0;
  }

  /**
   * Records an error and returns it (reporting continues). An error with
   * the same start and message as a recorded one is not recorded twice.
   *
   * @param span Where.
   * @param message One plain sentence.
   * @returns The recorded error.
   */
  error(span: Span, message: string): CompileError {
    if (this.errors.length >= this.maxErrors) {
      this.dropped++;
      return this.errors[this.errors.length - 1];
    }
    const same = this.errors.find((x) =>
      x.span.start === span.start && x.message === message
    );
    if (same) return same;
    const e = new CompileError(message, span, this.file, "error");
    this.errors.push(e);
    return e;
  }

  /**
   * Records a warning.
   *
   * @param span Where.
   * @param message One plain sentence.
   * @returns The recorded warning.
   */
  warning(span: Span, message: string): CompileError {
    const e = new CompileError(message, span, this.file, "warning");
    this.warnings.push(e);
    return e;
  }

  /**
   * Records an error and throws every error so far as
   * {@linkcode CompileErrors}: for errors that cannot be recovered from.
   *
   * @param span Where.
   * @param message One plain sentence.
   */
  fail(span: Span, message: string): never {
    this.error(span, message);
    throw this.toError();
  }

  /** Throws {@linkcode CompileErrors} if any error was reported. */
  throwIfErrors(): void {
    if (this.hasErrors) throw this.toError();
  }

  /**
   * The errors so far as one {@linkcode CompileErrors}.
   *
   * @returns The aggregate.
   */
  toError(): CompileErrors {
    return new CompileErrors(
      [...this.errors],
      this.file,
      this.source,
      [...this.warnings],
    );
  }

  /**
   * Renders every error (and warning) in bpftrace's shape.
   *
   * @param sourceName Overrides the file name.
   * @param sourceText Overrides the source text.
   * @returns The text, blocks separated by newlines, no trailing newline.
   */
  format(
    sourceName: string = this.file,
    sourceText: string = this.source,
  ): string {
    return [...this.errors, ...this.warnings].map((e) =>
      e.format(sourceText, sourceName)
    ).join("\n");
  }
}

/**
 * Renders one diagnostic: header, source line, marker line.
 *
 * @example Usage
 * ```ts
 * import { formatDiagnostic } from "./diagnostics.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   formatDiagnostic("a.bt", "BEGIN {", { start: 7, end: 7, line: 1, col: 8 }, "Unexpected end of input"),
 *   "a.bt:1:8: ERROR: Unexpected end of input\nBEGIN {\n       ^",
 * );
 * ```
 *
 * @param sourceName File name for the header.
 * @param sourceText The whole source.
 * @param span The range to mark.
 * @param message One plain sentence.
 * @param severity `error` or `warning`.
 * @returns Three lines joined by `\n`.
 */
export function formatDiagnostic(
  sourceName: string,
  sourceText: string,
  span: Span,
  message: string,
  severity: Severity = "error",
): string {
  const head = `${sourceName}:${span.line}:${span.col}: ${
    severity === "error" ? "ERROR" : severity === "note" ? "NOTE" : "WARNING"
  }: ${message}`;
  const start = Math.max(0, Math.min(span.start, sourceText.length));
  let lineStart = sourceText.lastIndexOf("\n", start - 1) + 1;
  if (start === 0) lineStart = 0;
  let lineEnd = sourceText.indexOf("\n", start);
  if (lineEnd < 0) lineEnd = sourceText.length;
  let text = sourceText.slice(lineStart, lineEnd);
  if (text.endsWith("\r")) text = text.slice(0, -1);
  let at = start - lineStart;
  let width = Math.min(span.end, lineStart + text.length) - start;
  if (text.length > MAX_SHOWN) {
    // A very long line (a generated one-liner): show a window around the
    // mark, not the whole line once per error.
    const from = Math.max(0, at - MAX_SHOWN / 4);
    const to = Math.min(text.length, from + MAX_SHOWN);
    const lead = from > 0 ? "..." : "";
    text = lead + text.slice(from, to) + (to < text.length ? "..." : "");
    at = at - from + lead.length;
    width = Math.min(width, to - (at - lead.length + from));
  }
  const prefix = text.slice(0, at).replace(/[^\t]/g, " ");
  const marker = span.end <= span.start || width <= 0 ? "^" : "~".repeat(width);
  return `${head}\n${text}\n${prefix}${marker}`;
}

/** Longest source line shown whole under a diagnostic. */
const MAX_SHOWN = 200;

/**
 * Quotes a value for an error message: `"text"`, with control characters
 * shown as `\xNN` and long text shortened with `...`.
 *
 * @example Usage
 * ```ts
 * import { quote } from "./diagnostics.ts";
 * import assert from "node:assert/strict";
 * assert.equal(quote("\\q"), '"\\q"');
 * assert.equal(quote("a\nb"), '"a\\x0ab"');
 * ```
 *
 * @param text The value.
 * @param max Longest text shown before shortening.
 * @returns The quoted text.
 */
export function quote(text: string, max = 40): string {
  let t = text.length > max ? text.slice(0, max - 3) + "..." : text;
  // deno-lint-ignore no-control-regex
  const control = /[\x00-\x1f\x7f]/g;
  t = t.replace(
    control,
    (c) => "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"),
  );
  return `"${t}"`;
}
