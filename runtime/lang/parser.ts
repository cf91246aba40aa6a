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
 * @module
 */

import type {
  AssignOp,
  AttachPointNode,
  BinaryOp,
  Block,
  CDefinition,
  ConfigBlock,
  ConfigEntry,
  Expr,
  ForStmt,
  IfStmt,
  ImportDecl,
  Include,
  LetStmt,
  MacroDef,
  MacroParam,
  MapDecl,
  MapDeclType,
  MapExpr,
  Probe,
  Program,
  Span,
  Stmt,
  TypeRef,
  UnaryOp,
  VarExpr,
} from "./ast.ts";
import { isBuiltinName } from "./ast.ts";
import { buildAttachPoint, scanAttachPoint } from "./attach_point.ts";
import { Diagnostics, quote } from "./diagnostics.ts";
import { describeToken, Lexer, type Token } from "./lexer.ts";
import { lowerElvis } from "./lowering.ts";
import { callStyleBuiltin } from "./call_builtins.ts";

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

/**
 * Thrown inside the parser to unwind to a recovery point; never escapes.
 * Not an `Error`, so throwing it does not capture a stack trace.
 */
class Bail {}
const BAIL = new Bail();
/** Unwinds to the top level, which resumes at the current token. */
const BAIL_TO_PROBE = new Bail();

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

const UNARY_OPS: ReadonlySet<string> = new Set(["!", "~", "-", "*", "&"]);

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

const TAG_KEYWORDS: ReadonlySet<string> = new Set(["struct", "union", "enum"]);

/** The map types of `let @m = type(n);`. */
const MAP_DECL_TYPES: ReadonlySet<string> = new Set([
  "hash",
  "lruhash",
  "percpuhash",
  "percpulruhash",
]);

const KEYWORDS: ReadonlySet<string> = new Set([
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

/** Deepest nesting of expressions/blocks before an error. */
const MAX_DEPTH = 200;

function joinSpan(a: Span, b: Span): Span {
  return { start: a.start, end: b.end, line: a.line, col: a.col };
}

class Parser {
  readonly lx: Lexer;
  readonly diag: Diagnostics;
  readonly params: readonly string[] | undefined;
  private buf: Token[] = [];
  /** The last consumed token. */
  private prev: Token;
  private depth = 0;
  private inPredicate = false;
  private reportedDepth = false;
  /** Lexical error count at the start of the current statement/probe. */
  private lexMark = 0;

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

  // ---- token plumbing ----

  private peek(k = 0): Token {
    while (this.buf.length <= k) this.buf.push(this.lx.next());
    return this.buf[k];
  }

  private get cur(): Token {
    return this.peek(0);
  }

  private advance(): Token {
    const t = this.peek(0);
    if (t.type !== "eof") this.buf.shift();
    this.prev = t;
    return t;
  }

  private at(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.type === "punct" && t.text === text;
  }

  private atWord(word: string, k = 0): boolean {
    const t = this.peek(k);
    return t.type === "ident" && t.text === word;
  }

  /** Span from `start` to the end of the last consumed token. */
  private from(start: Span): Span {
    return joinSpan(start, this.prev.span);
  }

  /**
   * Reports a syntax error and unwinds to the nearest recovery point. The
   * report is dropped when a lexical error happened since `mark` (the
   * syntax error is then most likely a consequence of it).
   */
  private fail(span: Span, message: string, mark = this.lexMark): never {
    if (this.lx.errorCount === mark) this.diag.error(span, message);
    throw BAIL;
  }

  private expect(text: string, context?: string): Token {
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
  private tooManyErrors(): boolean {
    if (this.diag.errors.length < this.diag.maxErrors) return false;
    this.buf = [];
    this.lx.advanceTo(this.lx.src.length);
    return true;
  }

  /** Counts one nesting level (callers `leave()` in a `finally`). */
  private enter(span: Span): void {
    if (++this.depth > MAX_DEPTH) {
      this.depth--;
      if (!this.reportedDepth) {
        this.reportedDepth = true;
        this.diag.error(span, "Program is nested too deeply");
      }
      throw BAIL;
    }
  }

  private leave(): void {
    this.depth--;
  }

  /** Skips a probe's remaining tokens: through a balancing `}` or EOF. */
  private recoverTopLevel(): void {
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
  private looksLikeProbeStart(): boolean {
    const t = this.cur;
    if (t.type !== "ident" || t.span.col !== 1) return false;
    return t.text === "BEGIN" || t.text === "END" || t.text === "begin" ||
      t.text === "end" ||
      (this.at(":", 1) && this.peek(1).span.start === t.span.end);
  }

  /** Skips a statement's remaining tokens, stopping before `}` closing the block. */
  private recoverStatement(): void {
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

  // ---- program ----

  parseProgram(): Program {
    const includes: Include[] = [];
    const cDefinitions: CDefinition[] = [];
    const probes: Probe[] = [];
    let config: ConfigBlock | undefined;
    const imports: ImportDecl[] = [];
    const macros: MacroDef[] = [];
    const mapDecls: MapDecl[] = [];
    const start = this.cur.span;
    while (this.cur.type !== "eof") {
      if (this.tooManyErrors()) break;
      const t = this.cur;
      this.lexMark = t.errorMark ?? this.lx.errorCount;
      try {
        if (t.type === "preproc") {
          this.advance();
          const m = /^#\s*include\s*(?:<([^>]*)>|"([^"]*)")\s*$/.exec(t.text);
          if (m) {
            includes.push({
              kind: "include",
              path: m[1] ?? m[2],
              system: m[1] !== undefined,
              span: t.span,
            });
          } else if (t.text.startsWith("#!")) {
            // A shebang line: ignored.
          } else if (/^#\s*include\b/.test(t.text)) {
            this.diag.error(
              t.span,
              'Expected a file name in <...> or "..." after #include',
            );
          } else {
            cDefinitions.push({ kind: "cdef", text: t.text, span: t.span });
          }
        } else if (
          t.type === "ident" &&
          (TAG_KEYWORDS.has(t.text) || t.text === "typedef")
        ) {
          this.parseCDefinition(t, cDefinitions);
        } else if (this.atWord("macro") && this.peek(1).type === "ident") {
          macros.push(this.parseMacro());
        } else if (this.atWord("import") && this.peek(1).type === "str") {
          const kw = this.advance();
          const path = this.advance();
          const decl: ImportDecl = {
            kind: "import",
            path: path.value ?? "",
            span: joinSpan(kw.span, path.span),
          };
          if (probes.length > 0) {
            this.diag.error(
              decl.span,
              "Imports must come before the probes",
            );
          }
          imports.push(decl);
          if (this.at(";")) this.advance();
        } else if (this.atWord("let") && this.peek(1).type === "map") {
          const d = this.parseMapDecl();
          if (d !== undefined) mapDecls.push(d);
        } else if (this.atWord("config") && this.at("=", 1)) {
          const c = this.parseConfig();
          if (config) {
            this.diag.error(c.span, "Only one config block is allowed");
          }
          config ??= c;
        } else if (t.type === "punct" && (t.text === "}" || t.text === ";")) {
          this.advance();
          this.diag.error(t.span, `Unexpected ${describeToken(t)}`);
        } else {
          const p = this.parseProbe();
          if (p) probes.push(p);
        }
      } catch (e) {
        if (!(e instanceof Bail)) throw e;
        if (e !== BAIL_TO_PROBE) this.recoverTopLevel();
      }
    }
    if (
      probes.length === 0 && imports.length === 0 && macros.length === 0 &&
      !this.diag.hasErrors
    ) {
      this.diag.error(this.lx.endSpan(), "Program has no probes");
    }
    const end = this.lx.endSpan();
    return {
      kind: "program",
      includes,
      cDefinitions,
      ...(config ? { config } : {}),
      ...(imports.length > 0 ? { imports } : {}),
      ...(macros.length > 0 ? { macros } : {}),
      ...(mapDecls.length > 0 ? { mapDecls } : {}),
      probes,
      span: {
        start: Math.min(start.start, end.end),
        end: end.end,
        line: start.line,
        col: start.col,
      },
    };
  }

  private parseMacro(): MacroDef {
    const start = this.advance().span; // macro
    const name = this.advance().text;
    const params: MacroParam[] = [];
    this.expect("(", `after the macro name "${name}"`);
    while (!this.at(")")) {
      const t = this.cur;
      if (t.type === "var" || t.type === "map" || t.type === "ident") {
        this.advance();
        params.push({
          kind: t.type,
          name: t.type === "ident" ? t.text : t.value ?? "",
          span: t.span,
        });
      } else {
        this.fail(
          t.span,
          `Expected a macro parameter ($var, @map or a name), found ${
            describeToken(t)
          }`,
        );
      }
      if (!this.at(")")) this.expect(",", "between macro parameters");
    }
    this.advance();
    const body = this.parseBlock();
    const last = body.stmts.at(-1);
    // The value: a last expression not followed by ";".
    const tail = last
      ? this.lx.src.slice(last.span.end, body.span.end - 1)
        .replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, "")
      : ";";
    return {
      kind: "macro",
      name,
      params,
      body,
      hasValue: last?.kind === "expr" && !tail.includes(";"),
      span: this.from(start),
    };
  }

  private parseCDefinition(t: Token, out: CDefinition[]): void {
    const end = this.lx.scanCDefinition(t.span.start);
    this.buf = [];
    this.lx.rewind(t.span);
    if (end < 0) {
      this.lx.advanceTo(this.lx.src.length);
      this.diag.error(
        t.span,
        `Unterminated ${t.text} definition: expected "}" or ";"`,
      );
      return;
    }
    this.lx.advanceTo(end);
    out.push({
      kind: "cdef",
      text: this.lx.src.slice(t.span.start, end),
      span: { ...t.span, end },
    });
  }

  private parseConfig(): ConfigBlock {
    const start = this.advance().span;
    this.advance(); // =
    this.expect("{", "after config =");
    const entries: ConfigEntry[] = [];
    while (!this.at("}") && this.cur.type !== "eof") {
      if (this.at(";")) {
        this.advance();
        continue;
      }
      const key = this.cur;
      if (key.type !== "ident") {
        this.fail(
          key.span,
          `Expected a config key, found ${describeToken(key)}`,
        );
      }
      this.advance();
      this.expect("=", "after config key");
      const value = this.parsePrimary();
      if (
        value.kind !== "int" && value.kind !== "str" &&
        value.kind !== "bool" && value.kind !== "ident" &&
        value.kind !== "builtin"
      ) {
        this.diag.error(
          value.span,
          "Config values must be an integer, a string or a name",
        );
      }
      entries.push({
        kind: "config_entry",
        key: key.text,
        value,
        span: this.from(key.span),
      });
      if (!this.at("}")) this.expect(";", "after config entry");
    }
    this.expect("}", "to close the config block");
    return { kind: "config", entries, span: this.from(start) };
  }

  private parseAttachPoint(): AttachPointNode | undefined {
    const t = this.cur;
    this.buf = [];
    this.lx.rewind(t.span);
    this.lx.skipTrivia();
    const start = this.lx.pos;
    const line = this.lx.line;
    const lineStart = this.lx.lineStart;
    const raw = scanAttachPoint(
      this.lx.src,
      start,
      this.diag,
      this.params,
      line,
      lineStart,
    );
    if (raw.raw === "") {
      this.fail(t.span, `Expected an attach point, found ${describeToken(t)}`);
    }
    this.lx.advanceTo(raw.end);
    const span = this.lx.spanAt(start, raw.end, line, lineStart);
    this.prev = { type: "ident", text: raw.raw, span };
    return buildAttachPoint(raw, span, this.diag);
  }

  private parseProbe(): Probe | undefined {
    const start = this.cur.span;
    const aps: AttachPointNode[] = [];
    let ok = true;
    for (;;) {
      const ap = this.parseAttachPoint();
      if (ap) aps.push(ap);
      else ok = false;
      if (!this.at(",")) break;
      this.advance();
      if (this.at("{") || this.at("/")) {
        this.fail(
          this.cur.span,
          `Expected an attach point after ",", found ${
            describeToken(this.cur)
          }`,
        );
      }
    }
    let predicate: Expr | undefined;
    if (this.at("/")) {
      this.advance();
      this.inPredicate = true;
      try {
        predicate = this.parseExpr();
      } finally {
        this.inPredicate = false;
      }
      this.expect("/", "to end the predicate");
    }
    if (!this.at("{")) {
      const t = this.cur;
      this.fail(
        t.span,
        `Expected "{" or a predicate after the attach point, found ${
          describeToken(t)
        }`,
      );
    }
    const body = this.parseBlock();
    if (!ok || aps.length === 0) return undefined;
    return {
      kind: "probe",
      attachPoints: aps,
      ...(predicate ? { predicate } : {}),
      body,
      span: this.from(start),
    };
  }

  // ---- statements ----

  private parseBlock(): Block {
    const open = this.expect("{");
    const openMark = this.lx.errorCount;
    this.enter(open.span);
    const stmts: Stmt[] = [];
    try {
      while (!this.at("}") && this.cur.type !== "eof") {
        if (this.tooManyErrors()) break;
        if (this.at(";")) {
          this.advance();
          continue;
        }
        if (this.looksLikeProbeStart()) {
          // A probe header inside a block: the block's "}" is missing.
          // Report it once and let the top level parse the next probe.
          const t = this.cur;
          if (this.lx.errorCount === openMark) {
            this.diag.error(
              t.span,
              `Expected "}" to close the block opened at line ${open.span.line}, found ${
                describeToken(t)
              }`,
            );
          }
          throw BAIL_TO_PROBE;
        }
        this.lexMark = this.cur.errorMark ?? this.lx.errorCount;
        try {
          const s = this.parseStmt();
          stmts.push(s);
          if (
            s.kind === "if" || s.kind === "while" || s.kind === "unroll" ||
            s.kind === "block" || s.kind === "for"
          ) {
            continue;
          }
          if (this.at(";")) this.advance();
          else if (!this.at("}")) {
            const t = this.cur;
            this.fail(
              t.span,
              `Expected ";" or "}" after statement, found ${describeToken(t)}`,
            );
          }
        } catch (e) {
          if (!(e instanceof Bail) || e === BAIL_TO_PROBE) throw e;
          this.recoverStatement();
        }
      }
    } finally {
      this.leave();
    }
    if (this.cur.type === "eof") {
      this.fail(
        this.cur.span,
        `Expected "}" to close the block opened at line ${open.span.line}, found end of input`,
        openMark,
      );
    }
    this.advance();
    return { kind: "block", stmts, span: this.from(open.span) };
  }

  private parseParenExpr(what: string): Expr {
    this.expect("(", `after "${what}"`);
    const e = this.parseExpr();
    this.expect(")", `after the ${what} condition`);
    return e;
  }

  private parseStmt(): Stmt {
    const t = this.cur;
    if (t.type === "punct" && t.text === "{") return this.parseBlock();
    if (t.type === "ident") {
      switch (t.text) {
        case "if":
          return this.parseIf();
        case "while": {
          this.advance();
          const cond = this.parseParenExpr("while");
          const body = this.parseBlock();
          return { kind: "while", cond, body, span: this.from(t.span) };
        }
        case "unroll": {
          this.advance();
          this.expect("(", 'after "unroll"');
          const count = this.parseExpr();
          this.expect(")", "after the unroll count");
          const body = this.parseBlock();
          return { kind: "unroll", count, body, span: this.from(t.span) };
        }
        case "return": {
          // `return EXPR;` sets a test or bench probe's result.
          this.advance();
          if (this.at(";") || this.at("}")) {
            return { kind: "return", span: t.span };
          }
          const value = this.parseExpr();
          return { kind: "return", value, span: this.from(t.span) };
        }
        case "break":
        case "continue":
          this.advance();
          return { kind: t.text, span: t.span };
        case "else":
          this.fail(t.span, 'Unexpected "else" without a matching "if"');
          break;
        case "let":
          if (this.peek(1).type === "var") return this.parseLet();
          break;
        case "for":
          if (this.at("(", 1)) return this.parseFor();
          break;
      }
    }
    const expr = this.parseExpr();
    const op = this.cur;
    if (op.type === "punct" && ASSIGN_OPS.has(op.text)) {
      this.advance();
      if (expr.kind !== "var" && expr.kind !== "map") {
        this.diag.error(
          expr.span,
          `Cannot assign to ${
            describeExpr(expr)
          }: only a map or a $variable can be assigned`,
        );
      }
      const value = this.parseExpr();
      return {
        kind: "assign",
        op: op.text as AssignOp,
        target: expr as VarExpr | MapExpr,
        value,
        span: this.from(expr.span),
      };
    }
    return { kind: "expr", expr, span: expr.span };
  }

  /** `let @name = type(max_entries);` at the top level (at `let`). */
  private parseMapDecl(): MapDecl | undefined {
    const start = this.advance().span;
    const m = this.advance();
    this.expect("=", `after "let @${m.value ?? ""}"`);
    const t = this.cur;
    if (t.type !== "ident") {
      this.fail(t.span, `Expected a map type, found ${describeToken(t)}`);
    }
    this.advance();
    this.expect("(", "after the map type");
    const n = this.cur;
    if (n.type !== "int") {
      this.fail(
        n.span,
        `Expected the map's maximum number of entries, found ${
          describeToken(n)
        }`,
      );
    }
    this.advance();
    this.expect(")", "after the number of entries");
    if (this.at(";")) this.advance();
    const span = this.from(start);
    if (!MAP_DECL_TYPES.has(t.text)) {
      this.diag.error(
        t.span,
        `Invalid bpf map type: ${t.text}; valid types: ${
          [...MAP_DECL_TYPES].join(", ")
        }`,
      );
      return undefined;
    }
    const max = n.int ?? 0n;
    if (max < 1n || max > 0xffffffffn) {
      this.diag.error(
        n.span,
        `Invalid number of entries ${n.text}: expected 1 to 4294967295`,
      );
      return undefined;
    }
    return {
      kind: "map_decl",
      name: m.value ?? "",
      type: t.text as MapDeclType,
      maxEntries: Number(max),
      span,
    };
  }

  /** `let $x [: type] [= value]` (at `let`). */
  private parseLet(): LetStmt {
    const start = this.advance().span;
    const v = this.advance();
    const target: VarExpr = { kind: "var", name: v.value ?? "", span: v.span };
    let type: TypeRef | undefined;
    if (this.at(":")) {
      this.advance();
      type = this.parseType();
    }
    let value: Expr | undefined;
    if (this.at("=")) {
      this.advance();
      value = this.parseExpr();
    } else if (this.cur.type === "punct" && ASSIGN_OPS.has(this.cur.text)) {
      this.fail(
        this.cur.span,
        `Expected "=" or ";" after "let $${target.name}", found ${
          describeToken(this.cur)
        }`,
      );
    }
    return {
      kind: "let",
      target,
      ...(type ? { type } : {}),
      ...(value ? { value } : {}),
      span: this.from(start),
    };
  }

  /** `for ($v : @map) { }` or `for ($v : from..to) { }` (at `for`). */
  private parseFor(): ForStmt {
    const start = this.advance().span;
    this.expect("(", 'after "for"');
    const v = this.cur;
    if (v.type !== "var") {
      this.fail(
        v.span,
        `Expected a $variable after "for (", found ${describeToken(v)}`,
      );
    }
    this.advance();
    const target: VarExpr = { kind: "var", name: v.value ?? "", span: v.span };
    this.expect(":", "after the loop variable");
    const first = this.parseUnary();
    let stmt: ForStmt;
    if (this.at(".") && this.at(".", 1)) {
      this.advance();
      this.advance();
      const to = this.parseUnary();
      this.expect(")", "after the range");
      const body = this.parseBlock();
      stmt = { kind: "for", target, from: first, to, body, span: start };
    } else {
      if (first.kind !== "map") {
        this.fail(
          first.span,
          `Expected a map or a range "start..end" to loop over, found ${
            describeExpr(first)
          }`,
        );
      }
      this.expect(")", "after the map");
      const body = this.parseBlock();
      stmt = { kind: "for", target, map: first, body, span: start };
    }
    stmt.span = this.from(start);
    return stmt;
  }

  private parseIf(): IfStmt {
    // `else if` chains are collected iteratively (no recursion per link).
    const links: { start: Span; cond: Expr; then: Block }[] = [];
    let tail: Block | undefined;
    for (;;) {
      const start = this.advance().span;
      const cond = this.parseParenExpr("if");
      const then = this.parseBlock();
      links.push({ start, cond, then });
      if (!this.atWord("else")) break;
      this.advance();
      if (this.atWord("if")) continue;
      if (!this.at("{")) {
        this.fail(
          this.cur.span,
          `Expected "{" or "if" after "else", found ${describeToken(this.cur)}`,
        );
      }
      tail = this.parseBlock();
      break;
    }
    const end = this.prev.span;
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

  // ---- expressions ----

  parseExpr(): Expr {
    const start = this.cur.span;
    this.enter(start);
    try {
      const cond = this.parseBinary(1);
      if (!this.at("?")) return cond;
      this.advance();
      if (this.at(":")) {
        this.advance();
        const other = this.parseExpr();
        const r = lowerElvis(cond, other, this.from(start));
        if (!("error" in r)) return r;
        this.diag.error(r.at, r.error);
        return cond;
      }
      const saved = this.inPredicate;
      this.inPredicate = false;
      let then: Expr;
      try {
        then = this.parseExpr();
      } finally {
        this.inPredicate = saved;
      }
      this.expect(":", "in conditional expression");
      const els = this.parseExpr();
      return { kind: "ternary", cond, then, else: els, span: this.from(start) };
    } finally {
      this.leave();
    }
  }

  private parseBinary(minPrec: number): Expr {
    let left = this.parseUnary();
    for (;;) {
      const t = this.cur;
      if (t.type !== "punct") return left;
      const prec = BINARY_PREC[t.text];
      if (prec === undefined || prec < minPrec) return left;
      if (
        t.text === "/" && this.inPredicate &&
        (this.at("{", 1) || this.peek(1).type === "eof")
      ) {
        return left;
      }
      this.advance();
      const right = this.parseBinary(prec + 1);
      left = {
        kind: "binary",
        op: t.text as BinaryOp,
        left,
        right,
        span: joinSpan(left.span, right.span),
      };
    }
  }

  private parseUnary(): Expr {
    const t = this.cur;
    if (t.type === "punct") {
      if (UNARY_OPS.has(t.text)) {
        this.advance();
        this.enter(t.span);
        try {
          const expr = this.parseUnary();
          return {
            kind: "unary",
            op: t.text as UnaryOp,
            expr,
            span: this.from(t.span),
          };
        } finally {
          this.leave();
        }
      }
      if (t.text === "++" || t.text === "--") {
        this.advance();
        this.enter(t.span);
        try {
          const target = this.parseUnary();
          return this.incdec(t, target, true, this.from(t.span));
        } finally {
          this.leave();
        }
      }
      if (t.text === "(" && this.castAhead()) {
        this.advance();
        const type = this.parseType();
        this.expect(")", "after the cast type");
        this.enter(t.span);
        try {
          const expr = this.parseUnary();
          return { kind: "cast", type, expr, span: this.from(t.span) };
        } finally {
          this.leave();
        }
      }
    }
    return this.parsePostfix();
  }

  private incdec(op: Token, target: Expr, prefix: boolean, span: Span): Expr {
    if (target.kind !== "var" && target.kind !== "map") {
      this.diag.error(
        target.span,
        `"${op.text}" needs a map or a $variable, found ${
          describeExpr(target)
        }`,
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

  /** At `(`: whether a cast type follows (`(u32)`, `(struct x *)`). */
  private castAhead(): boolean {
    const a = this.peek(1);
    if (a.type !== "ident") return false;
    let k = 2;
    let named = TYPE_NAMES.has(a.text);
    if (TAG_KEYWORDS.has(a.text)) {
      if (this.peek(2).type !== "ident") return false;
      named = true;
      k = 3;
    } else if (isBuiltinName(a.text) || KEYWORDS.has(a.text)) return false;
    let stars = 0;
    while (this.at("*", k)) {
      k++;
      stars++;
    }
    if (this.at("[", k) && this.at("]", k + 1)) k += 2; // `(int8[])x`
    else if (this.at("[", k)) {
      if (this.peek(k + 1).type !== "int" || !this.at("]", k + 2)) return false;
      k += 3;
    }
    if (!this.at(")", k)) return false;
    if (named || stars > 0) return true;
    // `(name) x`: a cast only when an operand follows.
    const n = this.peek(k + 1);
    return n.type === "int" || n.type === "str" || n.type === "var" ||
      n.type === "map" || n.type === "ident" || n.type === "positional" ||
      (n.type === "punct" &&
        (n.text === "(" || n.text === "!" || n.text === "~"));
  }

  private parseType(): TypeRef {
    const start = this.cur.span;
    let name = "";
    if (this.cur.type === "ident" && TAG_KEYWORDS.has(this.cur.text)) {
      name = this.advance().text + " ";
    }
    const id = this.cur;
    if (id.type !== "ident") {
      this.fail(id.span, `Expected a type name, found ${describeToken(id)}`);
    }
    this.advance();
    name += id.text;
    let pointer = 0;
    while (this.at("*")) {
      this.advance();
      pointer++;
    }
    const type: TypeRef = { kind: "type", name, pointer, span: start };
    if (this.at("[") && this.at("]", 1)) {
      // `int8[]`: an array whose length the cast value gives (0 here).
      this.advance();
      this.advance();
      type.arrayLength = 0;
    } else if (this.at("[")) {
      this.advance();
      const n = this.cur;
      if (n.type !== "int") {
        this.fail(
          n.span,
          `Expected an array length, found ${describeToken(n)}`,
        );
      }
      this.advance();
      this.expect("]", "after the array length");
      type.arrayLength = Number(n.int);
    }
    type.span = this.from(start);
    return type;
  }

  private parsePostfix(): Expr {
    let e = this.parsePrimary();
    for (;;) {
      const t = this.cur;
      if (t.type !== "punct") return e;
      if (t.text === "." || t.text === "->") {
        if (t.text === "." && this.at(".", 1)) return e; // a range `a..b`
        this.advance();
        const f = this.cur;
        if (f.type === "ident") {
          this.advance();
          e = {
            kind: "field",
            expr: e,
            field: f.text,
            arrow: t.text === "->",
            span: this.from(e.span),
          };
        } else if (f.type === "int" && t.text === ".") {
          this.advance();
          if (!/^[0-9]+$/.test(f.text) || f.text.length > 6) {
            this.diag.error(f.span, `Invalid tuple index ${quote(f.text)}`);
          }
          e = {
            kind: "tuple_index",
            expr: e,
            index: Number(f.int ?? 0n),
            span: this.from(e.span),
          };
        } else {
          this.fail(
            f.span,
            `Expected a field name after "${t.text}", found ${
              describeToken(f)
            }`,
          );
        }
      } else if (t.text === "[") {
        this.advance();
        const index = this.parseExpr();
        this.expect("]", "after the index");
        e = { kind: "index", expr: e, index, span: this.from(e.span) };
      } else if (t.text === "++" || t.text === "--") {
        this.advance();
        e = this.incdec(t, e, false, this.from(e.span));
      } else {
        return e;
      }
    }
  }

  private parseArgs(close: string, what: string): Expr[] {
    const args: Expr[] = [];
    if (this.at(close)) {
      this.advance();
      return args;
    }
    for (;;) {
      args.push(this.parseExpr());
      if (this.at(",")) {
        this.advance();
        continue;
      }
      if (this.at(close)) {
        this.advance();
        return args;
      }
      const t = this.cur;
      this.fail(
        t.span,
        `Expected "," or "${close}" in ${what}, found ${describeToken(t)}`,
      );
    }
  }

  parsePrimary(): Expr {
    const t = this.cur;
    switch (t.type) {
      case "int":
        this.advance();
        return { kind: "int", value: t.int ?? 0n, raw: t.text, span: t.span };
      case "str":
        this.advance();
        return { kind: "str", value: t.value ?? "", span: t.span };
      case "var":
        this.advance();
        return { kind: "var", name: t.value ?? "", span: t.span };
      case "positional": {
        this.advance();
        if (t.index === 0) {
          return {
            kind: "positional_count",
            ...(this.params ? { value: this.params.length } : {}),
            span: t.span,
          };
        }
        const index = t.index ?? 1;
        const value = this.params?.[index - 1];
        return {
          kind: "positional",
          index,
          ...(value !== undefined ? { value } : {}),
          span: t.span,
        };
      }
      case "map": {
        this.advance();
        let keys: Expr[] = [];
        if (this.at("[")) {
          const open = this.advance();
          if (this.at("]")) {
            this.fail(open.span, "Expected a map key between [ and ]");
          }
          keys = this.parseArgs("]", "map keys");
        }
        return {
          kind: "map",
          name: t.value ?? "",
          keys,
          span: this.from(t.span),
        };
      }
      case "ident":
        return this.parseIdent(t);
      case "punct":
        if (t.text === "(") return this.parseParen(t);
        if (t.text === "{") return this.parseBlockExpr(t);
        break;
    }
    this.fail(t.span, `Expected an expression, found ${describeToken(t)}`);
  }

  /** `{ stmts; value }` used as an expression (at `{`). */
  private parseBlockExpr(open: Token): Expr {
    this.advance();
    this.enter(open.span);
    const saved = this.inPredicate;
    this.inPredicate = false;
    const stmts: Stmt[] = [];
    let value: Expr | undefined;
    try {
      while (!this.at("}") && this.cur.type !== "eof") {
        if (this.at(";")) {
          this.advance();
          continue;
        }
        const s = this.parseStmt();
        if (this.at("}") && s.kind === "expr") {
          value = s.expr;
          break;
        }
        stmts.push(s);
        if (
          s.kind === "if" || s.kind === "while" || s.kind === "unroll" ||
          s.kind === "block" || s.kind === "for"
        ) continue;
        if (this.at(";")) this.advance();
        else if (!this.at("}")) {
          this.fail(
            this.cur.span,
            `Expected ";" or "}" after statement, found ${
              describeToken(this.cur)
            }`,
          );
        }
      }
    } finally {
      this.inPredicate = saved;
      this.leave();
    }
    this.expect("}", "to close the block expression");
    if (value === undefined) {
      this.fail(
        this.from(open.span),
        'A block used as a value must end with an expression without ";"',
      );
    }
    return { kind: "block_expr", stmts, value, span: this.from(open.span) };
  }

  private parseParen(open: Token): Expr {
    this.advance();
    this.enter(open.span);
    const saved = this.inPredicate;
    this.inPredicate = false;
    try {
      if (this.cur.type === "ident" && this.at("=", 1)) {
        return this.parseRecordFields(open);
      }
      const first = this.parseExpr();
      if (this.at(")")) {
        this.advance();
        return first;
      }
      if (!this.at(",")) {
        this.fail(
          this.cur.span,
          `Expected ")" or ",", found ${describeToken(this.cur)}`,
        );
      }
      this.advance();
      const elems = [first, ...this.parseArgs(")", "tuple")];
      return { kind: "tuple", elems, span: this.from(open.span) };
    } finally {
      this.inPredicate = saved;
      this.leave();
    }
  }

  /** `(a=1, b="x")`, after its "(": a tuple with field names. */
  private parseRecordFields(open: Token): Expr {
    const names: string[] = [];
    const elems: Expr[] = [];
    for (;;) {
      const n = this.cur;
      if (n.type !== "ident" || !this.at("=", 1)) {
        this.fail(
          n.span,
          `Expected a record field "name=value", found ${describeToken(n)}`,
        );
      }
      if (names.includes(n.text)) {
        this.fail(n.span, `Duplicate record field "${n.text}"`);
      }
      this.advance();
      this.advance();
      names.push(n.text);
      elems.push(this.parseExpr());
      if (this.at(")")) break;
      this.expect(",", "record");
    }
    this.advance();
    return { kind: "tuple", elems, names, span: this.from(open.span) };
  }

  private parseIdent(t: Token): Expr {
    const name = t.text;
    if (name === "true" || name === "false") {
      this.advance();
      return { kind: "bool", value: name === "true", span: t.span };
    }
    if (name === "sizeof" && this.at("(", 1)) return this.parseSizeof(t);
    if (name === "offsetof" && this.at("(", 1)) return this.parseOffsetof(t);
    if (KEYWORDS.has(name)) {
      this.fail(t.span, `Expected an expression, found ${describeToken(t)}`);
    }
    this.advance();
    if (this.at("(")) {
      this.advance();
      this.enter(t.span);
      const saved = this.inPredicate;
      this.inPredicate = false;
      try {
        const args = this.parseArgs(")", `arguments of ${name}()`);
        const span = this.from(t.span);
        const b = callStyleBuiltin(name, args, span);
        if (b !== undefined && "error" in b) this.fail(b.span, b.error);
        if (b !== undefined) return b;
        return { kind: "call", name, args, span };
      } finally {
        this.inPredicate = saved;
        this.leave();
      }
    }
    if (isBuiltinName(name)) return { kind: "builtin", name, span: t.span };
    return { kind: "ident", name, span: t.span };
  }

  private typeAhead(k: number): boolean {
    const a = this.peek(k);
    if (a.type !== "ident") return false;
    if (TAG_KEYWORDS.has(a.text)) return true;
    if (isBuiltinName(a.text) || KEYWORDS.has(a.text)) return false;
    const n = this.peek(k + 1);
    return n.type === "punct" && (n.text === ")" || n.text === "*" ||
      (n.text === "[" && TYPE_NAMES.has(a.text)));
  }

  private parseSizeof(t: Token): Expr {
    this.advance();
    this.advance(); // (
    const saved = this.inPredicate;
    this.inPredicate = false;
    try {
      const arg = this.typeAhead(0) ? this.parseType() : this.parseExpr();
      this.expect(")", "after the sizeof argument");
      return { kind: "sizeof", arg, span: this.from(t.span) };
    } finally {
      this.inPredicate = saved;
    }
  }

  private parseOffsetof(t: Token): Expr {
    this.advance();
    this.advance(); // (
    const type = this.parseType();
    this.expect(",", "after the offsetof type");
    const field: string[] = [];
    for (;;) {
      const f = this.cur;
      if (f.type !== "ident") {
        this.fail(f.span, `Expected a field name, found ${describeToken(f)}`);
      }
      this.advance();
      field.push(f.text);
      if (!this.at(".")) break;
      this.advance();
    }
    this.expect(")", "after the offsetof field");
    return { kind: "offsetof", type, field, span: this.from(t.span) };
  }
}

/** A short description of an expression for error messages. */
function describeExpr(e: Expr): string {
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
    ast = p.parseProgram();
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
