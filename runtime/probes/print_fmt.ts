/**
 * Reading the `print fmt:` line of a tracefs `format` file: the value
 * tables of `__print_symbolic(REC->field, { 2, "NAME" }, …)` and
 * `__print_flags(REC->field, "|", { 1, "FLAG" }, …)`.
 *
 * The kernel leaves some table values as unresolved enum identifiers
 * (`TCP_ESTABLISHED`); such entries cannot be turned into numbers and are
 * skipped. Simple constant expressions (`1ULL`, `(-1)`, `(1 << 3)`, `0x20`)
 * are evaluated.
 *
 * @module
 */

/** One value table found in a print fmt. */
export interface PrintFmtTable {
  /** `symbolic` for `__print_symbolic`, `flags` for `__print_flags`. */
  kind: "symbolic" | "flags";
  /** The field the table applies to (`reason` for `REC->reason`), if plain. */
  field?: string;
  /** The value expression as written, e.g. `REC->reason`. */
  expr: string;
  /** `__print_flags` delimiter. */
  delimiter?: string;
  /** Numeric value → name, in source order. */
  values: Map<number, string>;
}

/**
 * Find every `__print_symbolic` and `__print_flags` table in a print fmt.
 *
 * @example Reading a symbolic table
 * ```ts
 * import assert from "node:assert/strict";
 * import { printFmtTables } from "./print_fmt.ts";
 *
 * const fmt = `"reason: %s", __print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, { 3, "NO_SOCKET" })`;
 * const [table] = printFmtTables(fmt);
 * assert.equal(table.field, "reason");
 * assert.equal(table.values.get(3), "NO_SOCKET");
 * ```
 */
export function printFmtTables(printFmt: string): PrintFmtTable[] {
  const out: PrintFmtTable[] = [];
  const re = /__print_(symbolic|flags)(?:_u64)?\s*\(/g;
  for (let m = re.exec(printFmt); m !== null; m = re.exec(printFmt)) {
    const open = m.index + m[0].length - 1;
    const close = matchClose(printFmt, open);
    if (close < 0) break;
    const args = splitTopLevel(printFmt.slice(open + 1, close));
    re.lastIndex = open + 1; // tables may nest inside other calls' arguments
    if (args.length === 0) continue;
    const kind = m[1] === "symbolic" ? "symbolic" : "flags";
    const expr = args[0].trim();
    const field = /^REC->([A-Za-z_]\w*)$/.exec(expr)?.[1];
    let rest = args.slice(1);
    let delimiter: string | undefined;
    if (kind === "flags" && rest.length > 0) {
      delimiter = unquote(rest[0].trim());
      rest = rest.slice(1);
    }
    const values = new Map<number, string>();
    for (const entry of rest) {
      const e = entry.trim();
      if (!e.startsWith("{") || !e.endsWith("}")) continue;
      const parts = splitTopLevel(e.slice(1, -1));
      if (parts.length !== 2) continue;
      const value = evalConst(parts[0].trim());
      const name = unquote(parts[1].trim());
      if (value === undefined || name === undefined) continue;
      if (!values.has(value)) values.set(value, name);
    }
    out.push({ kind, field, expr, delimiter, values });
  }
  return out;
}

/** Index of the bracket closing the one at `open`, or -1. */
function matchClose(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const ch = s[i];
    if (ch === '"' || ch === "'") {
      i = skipString(s, i);
      continue;
    }
    if (ch === "(" || ch === "{" || ch === "[") depth++;
    else if (ch === ")" || ch === "}" || ch === "]") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Index of the closing quote of the string starting at `i`. */
function skipString(s: string, i: number): number {
  const q = s[i];
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === "\\") j++;
    else if (s[j] === q) return j;
  }
  return s.length;
}

/** Split on commas not nested in brackets or strings. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '"' || ch === "'") i = skipString(s, i);
    else if (ch === "(" || ch === "{" || ch === "[") depth++;
    else if (ch === ")" || ch === "}" || ch === "]") depth--;
    else if (ch === "," && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  if (s.slice(start).trim() !== "" || out.length > 0) out.push(s.slice(start));
  return out;
}

/** The content of a C string literal (adjacent literals joined). */
function unquote(s: string): string | undefined {
  if (!s.startsWith('"')) return undefined;
  let out = "";
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i])) i++;
    if (i >= s.length) break;
    if (s[i] !== '"') return undefined;
    const end = skipString(s, i);
    out += s.slice(i + 1, end).replace(
      /\\(.)/g,
      (_, c: string) => c === "n" ? "\n" : c === "t" ? "\t" : c,
    );
    i = end + 1;
  }
  return out;
}

/**
 * Evaluate a small C integer constant expression: literals with U/L
 * suffixes, parentheses, unary `- ~ !`, binary `* / % + - << >> & ^ |`.
 * Returns undefined for anything else (identifiers, casts).
 *
 * @example Evaluating table keys
 * ```ts
 * import assert from "node:assert/strict";
 * import { evalConst } from "./print_fmt.ts";
 *
 * assert.equal(evalConst("(1UL << 4) | 0x1"), 17);
 * assert.equal(evalConst("(-1)"), -1);
 * assert.equal(evalConst("TCP_ESTABLISHED"), undefined);
 * ```
 */
export function evalConst(expr: string): number | undefined {
  const toks = expr.match(
    /0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|<<|>>|[-+*/%&|^~!()]|\S/g,
  );
  if (toks === null) return undefined;
  let pos = 0;
  const prec: Record<string, number> = {
    "|": 1,
    "^": 2,
    "&": 3,
    "<<": 4,
    ">>": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
  };
  const unary = (): bigint | undefined => {
    const t = toks[pos++];
    if (t === undefined) return undefined;
    if (t === "(") {
      const v = binary(0);
      if (toks[pos++] !== ")") return undefined;
      return v;
    }
    if (t === "-" || t === "~" || t === "!" || t === "+") {
      const v = unary();
      if (v === undefined) return undefined;
      return t === "-" ? -v : t === "~" ? ~v : t === "!" ? BigInt(v === 0n) : v;
    }
    if (/^\d|^0[xX]/.test(t)) {
      const digits = t.replace(/[uUlL]+$/, "");
      if (/^0\d+$/.test(digits)) return BigInt("0o" + digits.slice(1));
      return BigInt(digits);
    }
    return undefined;
  };
  const binary = (min: number): bigint | undefined => {
    let left = unary();
    while (left !== undefined) {
      const op = toks[pos];
      const p = op === undefined ? undefined : prec[op];
      if (p === undefined || p < min) break;
      pos++;
      const right = binary(p + 1);
      if (right === undefined) return undefined;
      switch (op) {
        case "|":
          left = left | right;
          break;
        case "^":
          left = left ^ right;
          break;
        case "&":
          left = left & right;
          break;
        case "<<":
          left = left << right;
          break;
        case ">>":
          left = left >> right;
          break;
        case "+":
          left = left + right;
          break;
        case "-":
          left = left - right;
          break;
        case "*":
          left = left * right;
          break;
        case "/":
          if (right === 0n) return undefined;
          left = left / right;
          break;
        case "%":
          if (right === 0n) return undefined;
          left = left % right;
          break;
      }
    }
    return left;
  };
  const v = binary(0);
  if (v === undefined || pos !== toks.length) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}
