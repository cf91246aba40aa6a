/**
 * Prints a syntax tree as bpftrace source text, giving every node the span
 * of its text. Staged programs are printed so that compile errors point
 * into readable bpftrace (`staged:3:12: ERROR: ...`), and so that a staged
 * program can be shown, saved as a `.bt` file, or parsed back.
 *
 * Operands that are themselves operators are parenthesized, so the text
 * parses back to the same tree whatever the precedence.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";

class Writer {
  text = "";
  line = 1;
  col = 1;
  indent = 0;

  write(s: string): void {
    for (const ch of s) {
      if (ch === "\n") {
        this.line++;
        this.col = 1;
      } else this.col += ch.length;
    }
    this.text += s;
  }

  newline(): void {
    this.write("\n" + "  ".repeat(this.indent));
  }

  /** Writes a node via `body`, then sets its span. */
  node(n: { span: ast.Span }, body: () => void): void {
    const start = this.text.length;
    const line = this.line;
    const col = this.col;
    body();
    n.span = { start, end: this.text.length, line, col };
  }
}

/**
 * Prints a program as bpftrace source and sets every node's span to its
 * place in that text (the tree is modified).
 *
 * @example Usage
 * ```ts
 * import { parse } from "../lang/parser.ts";
 * import { printProgram } from "./print.ts";
 * import assert from "node:assert/strict";
 * const { ast } = parse("BEGIN { @x[pid] = count(); }");
 * assert.equal(printProgram(ast), "BEGIN {\n  @x[pid] = count();\n}\n");
 * ```
 */
export function printProgram(prog: ast.Program): string {
  const w = new Writer();
  w.node(prog, () => {
    for (const inc of prog.includes) {
      w.node(inc, () =>
        w.write(
          inc.system ? `#include <${inc.path}>` : `#include "${inc.path}"`,
        ));
      w.write("\n");
    }
    for (const d of prog.cDefinitions) {
      w.node(d, () => w.write(d.text));
      w.write("\n");
    }
    if (prog.config !== undefined) config(w, prog.config);
    for (const p of prog.probes) probe(w, p);
  });
  return w.text;
}

function config(w: Writer, c: ast.ConfigBlock): void {
  w.node(c, () => {
    w.write("config = {");
    for (const e of c.entries) {
      w.write(" ");
      w.node(e, () => {
        w.write(`${e.key} = `);
        expr(w, e.value);
        w.write(";");
      });
    }
    w.write(" }");
  });
  w.write("\n");
}

function probe(w: Writer, p: ast.Probe): void {
  w.node(p, () => {
    p.attachPoints.forEach((ap, i) => {
      if (i > 0) w.write(", ");
      w.node(ap, () => w.write(ap.raw));
    });
    if (p.predicate !== undefined) {
      w.write(" /");
      const pred = p.predicate;
      paren(w, pred, true);
      w.write("/");
    }
    w.write(" ");
    block(w, p.body);
  });
  w.write("\n");
}

function block(w: Writer, b: ast.Block): void {
  w.node(b, () => {
    w.write("{");
    w.indent++;
    for (const s of b.stmts) {
      w.newline();
      stmt(w, s);
    }
    w.indent--;
    w.newline();
    w.write("}");
  });
}

function stmt(w: Writer, s: ast.Stmt): void {
  switch (s.kind) {
    case "block":
      block(w, s);
      return;
    case "expr":
      w.node(s, () => {
        expr(w, s.expr);
        w.write(";");
      });
      return;
    case "assign":
      w.node(s, () => {
        expr(w, s.target);
        w.write(` ${s.op} `);
        expr(w, s.value);
        w.write(";");
      });
      return;
    case "if":
      ifStmt(w, s);
      return;
    case "while":
      w.node(s, () => {
        w.write("while (");
        expr(w, s.cond);
        w.write(") ");
        block(w, s.body);
      });
      return;
    case "unroll":
      w.node(s, () => {
        w.write("unroll (");
        expr(w, s.count);
        w.write(") ");
        block(w, s.body);
      });
      return;
    case "return":
    case "break":
    case "continue":
      w.node(s, () => w.write(`${s.kind};`));
      return;
  }
}

function ifStmt(w: Writer, s: ast.IfStmt): void {
  w.node(s, () => {
    w.write("if (");
    expr(w, s.cond);
    w.write(") ");
    block(w, s.then);
    if (s.else !== undefined) {
      w.write(" else ");
      if (s.else.kind === "if") ifStmt(w, s.else);
      else block(w, s.else);
    }
  });
}

/** Node kinds printed inside parentheses when they are an operand. */
const COMPOUND: ReadonlySet<string> = new Set([
  "binary",
  "unary",
  "ternary",
  "cast",
  "incdec",
]);

function paren(w: Writer, e: ast.Expr, always = false): void {
  if (always || COMPOUND.has(e.kind)) {
    w.write("(");
    expr(w, e);
    w.write(")");
  } else expr(w, e);
}

function list(w: Writer, es: readonly ast.Expr[]): void {
  es.forEach((e, i) => {
    if (i > 0) w.write(", ");
    expr(w, e);
  });
}

function expr(w: Writer, e: ast.Expr): void {
  w.node(e, () => exprText(w, e));
}

function exprText(w: Writer, e: ast.Expr): void {
  switch (e.kind) {
    case "int":
      w.write(String(e.value));
      return;
    case "str":
      w.write(quoteBytes(e.value));
      return;
    case "bool":
      w.write(String(e.value));
      return;
    case "var":
      w.write(`$${e.name}`);
      return;
    case "map":
      w.write(`@${e.name}`);
      if (e.keys.length > 0) {
        w.write("[");
        list(w, e.keys);
        w.write("]");
      }
      return;
    case "builtin":
      w.write(e.clock === undefined ? e.name : `${e.name}(${e.clock})`);
      return;
    case "ident":
      w.write(e.name);
      return;
    case "positional":
      w.write(`$${e.index}`);
      return;
    case "positional_count":
      w.write("$#");
      return;
    case "call":
      w.write(`${e.name}(`);
      list(w, e.args);
      w.write(")");
      return;
    case "unary":
      w.write(e.op);
      paren(w, e.expr);
      return;
    case "incdec":
      if (e.prefix) w.write(e.op);
      expr(w, e.target);
      if (!e.prefix) w.write(e.op);
      return;
    case "binary":
      paren(w, e.left);
      w.write(` ${e.op} `);
      paren(w, e.right);
      return;
    case "ternary":
      paren(w, e.cond);
      w.write(" ? ");
      paren(w, e.then);
      w.write(" : ");
      paren(w, e.else);
      return;
    case "field":
      paren(w, e.expr);
      w.write(`${e.arrow ? "->" : "."}${e.field}`);
      return;
    case "tuple_index":
      paren(w, e.expr);
      w.write(`.${e.index}`);
      return;
    case "index":
      paren(w, e.expr);
      w.write("[");
      expr(w, e.index);
      w.write("]");
      return;
    case "tuple":
      w.write("(");
      list(w, e.elems);
      w.write(")");
      return;
    case "cast":
      w.write("(");
      typeRef(w, e.type);
      w.write(")");
      paren(w, e.expr, true);
      return;
    case "sizeof":
      w.write("sizeof(");
      if (e.arg.kind === "type") typeRef(w, e.arg);
      else expr(w, e.arg);
      w.write(")");
      return;
    case "offsetof":
      w.write("offsetof(");
      typeRef(w, e.type);
      w.write(`, ${e.field.join(".")})`);
      return;
  }
}

function typeRef(w: Writer, t: ast.TypeRef): void {
  w.node(t, () => {
    w.write(t.name);
    if (t.pointer > 0) w.write(" " + "*".repeat(t.pointer));
    if (t.arrayLength !== undefined) w.write(`[${t.arrayLength}]`);
  });
}

/**
 * A byte string as a bpftrace string literal with escapes.
 *
 * @example Usage
 * ```ts
 * import { quoteBytes } from "./print.ts";
 * console.assert(quoteBytes('a"\n\x1e') === '"a\\"\\n\\x1e"');
 * ```
 */
export function quoteBytes(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x0d) out += "\\r";
    else if (c < 0x20 || c >= 0x7f) {
      out += "\\x" + c.toString(16).padStart(2, "0");
    } else out += value[i];
  }
  return out + '"';
}
