/**
 * The bpftrace parser: source text to a {@linkcode Program} tree, with
 * error recovery so several independent errors are reported at once.
 *
 * - {@linkcode parse} returns `{ ast, diagnostics }` or throws
 *   {@linkcode CompileErrors} holding every lexical and syntax error. The
 *   returned `diagnostics` collector (same file name and source) is meant
 *   to be reused by the compiler: `diagnostics.error(span, msg)` then
 *   `diagnostics.throwIfErrors()`.
 * - {@linkcode parseRecovering} never throws: it returns the (possibly
 *   partial) tree and the collector, for tools and tests.
 *
 * The grammar lives in the `parse_*.ts` files: the token plumbing and
 * recovery in `parse_state.ts`, top-level items in `parse_items.ts`,
 * probe headers in `parse_probe.ts`, statements in `parse_stmt.ts`,
 * expressions in `parse_expr.ts`, C type names in `parse_type.ts`.
 *
 * @module
 */

import type { Program, Stmt } from "./ast.ts";
import { Diagnostics } from "./diagnostics.ts";
import { ParserState } from "./parse_state.ts";
import { parseProgram } from "./parse_items.ts";
import { parseStmt } from "./parse_stmt.ts";

/** What {@linkcode parse} returns. */
export interface ParseResult {
  /** The program tree. */
  ast: Program;
  /**
   * The collector used while parsing (warnings only when `parse` returns);
   * the compiler keeps reporting into it.
   */
  diagnostics: Diagnostics;
}

/** The concrete parser: the state, with the statement rule plugged in. */
class Parser extends ParserState {
  override parseStmt(): Stmt {
    return parseStmt(this);
  }
}

/**
 * Parses a program, collecting errors instead of throwing: the tree may be
 * partial when `diagnostics.hasErrors`. Never throws for any input.
 *
 * @example Usage
 * ```ts
 * import { parseRecovering } from "./parser.ts";
 * import assert from "node:assert/strict";
 * const { ast, diagnostics } = parseRecovering("BEGIN { @x = ; } END { exit() }");
 * assert.equal(diagnostics.errors.length, 1);
 * assert.equal(ast.probes.length, 2);
 * ```
 *
 * @param source The program text.
 * @param fileName Source name for messages (`stdin` for `-e`).
 * @param params Positional parameters (`$1` is `params[0]`).
 * @returns The tree and the collected diagnostics.
 */
export function parseRecovering(
  source: string,
  fileName = "stdin",
  params?: readonly string[],
): ParseResult {
  const diagnostics = new Diagnostics(fileName, source);
  const p = new Parser(source, diagnostics, params);
  let ast: Program;
  try {
    ast = parseProgram(p);
  } catch (e) {
    // Last resort (e.g. engine stack exhaustion): report, never escape.
    const span = p.lx.endSpan();
    diagnostics.error(
      span,
      e instanceof RangeError
        ? "Program is nested too deeply"
        : `Internal parser error: ${e instanceof Error ? e.message : e}`,
    );
    ast = {
      kind: "program",
      includes: [],
      cDefinitions: [],
      probes: [],
      span: { start: 0, end: source.length, line: 1, col: 1 },
    };
  }
  return { ast, diagnostics };
}

/**
 * Parses a bpftrace program.
 *
 * @example Usage
 * ```ts
 * import { parse } from "./parser.ts";
 * import { CompileErrors } from "./diagnostics.ts";
 * import assert from "node:assert/strict";
 * const { ast } = parse("tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }");
 * assert.equal(ast.probes[0].attachPoints[0].target, "syscalls:sys_enter_openat");
 * try {
 *   parse('BEGIN { printf("hi) }', "stdin");
 * } catch (e) {
 *   assert.ok(e instanceof CompileErrors);
 *   assert.equal(e.format().split("\n")[0], "stdin:1:16: ERROR: Unterminated string");
 * }
 * ```
 *
 * @param source The program text.
 * @param fileName Source name for messages (`stdin` for `-e`).
 * @param params Positional parameters (`$1` is `params[0]`).
 * @returns The tree and the diagnostics collector (for the compiler to
 *   keep reporting into).
 * @throws {CompileErrors} Every lexical and syntax error found.
 */
export function parse(
  source: string,
  fileName = "stdin",
  params?: readonly string[],
): ParseResult {
  const r = parseRecovering(source, fileName, params);
  r.diagnostics.throwIfErrors();
  return r;
}
