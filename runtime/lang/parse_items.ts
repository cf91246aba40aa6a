/**
 * The program and its top-level items besides probes: `#include` and C
 * definitions, `macro` definitions, `import "file.bt"`, map declarations
 * (`let @m = hash(n);`) and the `config = { ... }` block, and the loop
 * that parses them with recovery to the next item.
 *
 * @module
 */

import type {
  CDefinition,
  ConfigBlock,
  ConfigEntry,
  ImportDecl,
  Include,
  MacroDef,
  MacroParam,
  MapDecl,
  MapDeclType,
  Probe,
  Program,
} from "./ast.ts";
import { describeToken, type Token } from "./lexer.ts";
import {
  Bail,
  BAIL_TO_PROBE,
  joinSpan,
  type ParserState,
} from "./parse_state.ts";
import { parsePrimary } from "./parse_expr.ts";
import { parseBlock } from "./parse_stmt.ts";
import { parseProbe } from "./parse_probe.ts";
import { TAG_KEYWORDS } from "./parse_type.ts";

/** The map types of `let @m = type(n);`. */
const MAP_DECL_TYPES: ReadonlySet<string> = new Set([
  "hash",
  "lruhash",
  "percpuhash",
  "percpulruhash",
]);

/** The whole program, item by item, to the end of input. */
export function parseProgram(p: ParserState): Program {
  const includes: Include[] = [];
  const cDefinitions: CDefinition[] = [];
  const probes: Probe[] = [];
  let config: ConfigBlock | undefined;
  const imports: ImportDecl[] = [];
  const macros: MacroDef[] = [];
  const mapDecls: MapDecl[] = [];
  const start = p.cur.span;
  while (p.cur.type !== "eof") {
    if (p.tooManyErrors()) break;
    const t = p.cur;
    p.lexMark = t.errorMark ?? p.lx.errorCount;
    try {
      if (t.type === "preproc") {
        p.advance();
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
          p.diag.error(
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
        parseCDefinition(p, t, cDefinitions);
      } else if (p.atWord("macro") && p.peek(1).type === "ident") {
        macros.push(parseMacro(p));
      } else if (p.atWord("import") && p.peek(1).type === "str") {
        const kw = p.advance();
        const path = p.advance();
        const decl: ImportDecl = {
          kind: "import",
          path: path.value ?? "",
          span: joinSpan(kw.span, path.span),
        };
        if (probes.length > 0) {
          p.diag.error(
            decl.span,
            "Imports must come before the probes",
          );
        }
        imports.push(decl);
        if (p.at(";")) p.advance();
      } else if (p.atWord("let") && p.peek(1).type === "map") {
        const d = parseMapDecl(p);
        if (d !== undefined) mapDecls.push(d);
      } else if (p.atWord("config") && p.at("=", 1)) {
        const c = parseConfig(p);
        if (config) {
          p.diag.error(c.span, "Only one config block is allowed");
        }
        config ??= c;
      } else if (t.type === "punct" && (t.text === "}" || t.text === ";")) {
        p.advance();
        p.diag.error(t.span, `Unexpected ${describeToken(t)}`);
      } else {
        const probe = parseProbe(p);
        if (probe) probes.push(probe);
      }
    } catch (e) {
      if (!(e instanceof Bail)) throw e;
      if (e !== BAIL_TO_PROBE) p.recoverTopLevel();
    }
  }
  if (
    probes.length === 0 && imports.length === 0 && macros.length === 0 &&
    !p.diag.hasErrors
  ) {
    p.diag.error(p.lx.endSpan(), "Program has no probes");
  }
  const end = p.lx.endSpan();
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

/** `macro name(params) { body }` (at `macro`). */
function parseMacro(p: ParserState): MacroDef {
  const start = p.advance().span; // macro
  const name = p.advance().text;
  const params: MacroParam[] = [];
  p.expect("(", `after the macro name "${name}"`);
  while (!p.at(")")) {
    const t = p.cur;
    if (t.type === "var" || t.type === "map" || t.type === "ident") {
      p.advance();
      params.push({
        kind: t.type,
        name: t.type === "ident" ? t.text : t.value ?? "",
        span: t.span,
      });
    } else {
      p.fail(
        t.span,
        `Expected a macro parameter ($var, @map or a name), found ${
          describeToken(t)
        }`,
      );
    }
    if (!p.at(")")) p.expect(",", "between macro parameters");
  }
  p.advance();
  const body = parseBlock(p);
  const last = body.stmts.at(-1);
  // The value: a last expression not followed by ";".
  const tail = last
    ? p.lx.src.slice(last.span.end, body.span.end - 1)
      .replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, "")
    : ";";
  return {
    kind: "macro",
    name,
    params,
    body,
    hasValue: last?.kind === "expr" && !tail.includes(";"),
    span: p.from(start),
  };
}

/**
 * A C `struct`/`union`/`enum`/`typedef` definition, kept as text (at its
 * first word).
 */
function parseCDefinition(p: ParserState, t: Token, out: CDefinition[]): void {
  const end = p.lx.scanCDefinition(t.span.start);
  p.buf = [];
  p.lx.rewind(t.span);
  if (end < 0) {
    p.lx.advanceTo(p.lx.src.length);
    p.diag.error(
      t.span,
      `Unterminated ${t.text} definition: expected "}" or ";"`,
    );
    return;
  }
  p.lx.advanceTo(end);
  out.push({
    kind: "cdef",
    text: p.lx.src.slice(t.span.start, end),
    span: { ...t.span, end },
  });
}

/** `config = { key = value; ... }` (at `config`). */
function parseConfig(p: ParserState): ConfigBlock {
  const start = p.advance().span;
  p.advance(); // =
  p.expect("{", "after config =");
  const entries: ConfigEntry[] = [];
  while (!p.at("}") && p.cur.type !== "eof") {
    if (p.at(";")) {
      p.advance();
      continue;
    }
    const key = p.cur;
    if (key.type !== "ident") {
      p.fail(
        key.span,
        `Expected a config key, found ${describeToken(key)}`,
      );
    }
    p.advance();
    p.expect("=", "after config key");
    const value = parsePrimary(p);
    if (
      value.kind !== "int" && value.kind !== "str" &&
      value.kind !== "bool" && value.kind !== "ident" &&
      value.kind !== "builtin"
    ) {
      p.diag.error(
        value.span,
        "Config values must be an integer, a string or a name",
      );
    }
    entries.push({
      kind: "config_entry",
      key: key.text,
      value,
      span: p.from(key.span),
    });
    if (!p.at("}")) p.expect(";", "after config entry");
  }
  p.expect("}", "to close the config block");
  return { kind: "config", entries, span: p.from(start) };
}

/** `let @name = type(max_entries);` at the top level (at `let`). */
function parseMapDecl(p: ParserState): MapDecl | undefined {
  const start = p.advance().span;
  const m = p.advance();
  p.expect("=", `after "let @${m.value ?? ""}"`);
  const t = p.cur;
  if (t.type !== "ident") {
    p.fail(t.span, `Expected a map type, found ${describeToken(t)}`);
  }
  p.advance();
  p.expect("(", "after the map type");
  const n = p.cur;
  if (n.type !== "int") {
    p.fail(
      n.span,
      `Expected the map's maximum number of entries, found ${describeToken(n)}`,
    );
  }
  p.advance();
  p.expect(")", "after the number of entries");
  if (p.at(";")) p.advance();
  const span = p.from(start);
  if (!MAP_DECL_TYPES.has(t.text)) {
    p.diag.error(
      t.span,
      `Invalid bpf map type: ${t.text}; valid types: ${
        [...MAP_DECL_TYPES].join(", ")
      }`,
    );
    return undefined;
  }
  const max = n.int ?? 0n;
  if (max < 1n || max > 0xffffffffn) {
    p.diag.error(
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
