/**
 * Integer `#define`s of the headers a script `#include`s, read from the
 * system's include directories as a C preprocessor would: nested
 * `#include`/`#include_next`, `#define`/`#undef`, `#if`/`#ifdef`/
 * `#ifndef`/`#elif`/`#else`/`#endif` (expressions with `defined`,
 * `__has_include` and function-like macros). bpftrace gets these
 * constants (`AF_INET` from `<sys/socket.h>`) by running clang over the
 * same files; a value is taken only when it is an integer expression of
 * integers and other such defines. Imported lazily, with the BTF reader.
 *
 * @module
 */

/** An `#include` line of a script. */
export interface HeaderInclude {
  /** The path between the delimiters. */
  path: string;
  /** `true` for `<...>`, `false` for `"..."`. */
  system: boolean;
}

/** Where and how headers are read (tests give their own). */
export interface HeaderOptions {
  /** The include directories, searched in order. */
  dirs?: readonly string[];
  /** Reads a file, or undefined when it is not there. */
  readFile?: (path: string) => string | undefined;
}

interface Macro {
  params?: string[];
  body: string;
  file: string;
}

/** Macros every translation unit starts with (clang's, for this target). */
function predefined(): Map<string, string> {
  const m = new Map<string, string>([
    ["__linux__", "1"],
    ["__linux", "1"],
    ["__unix__", "1"],
    ["__unix", "1"],
    ["__gnu_linux__", "1"],
    ["__ELF__", "1"],
    ["__STDC__", "1"],
    ["__STDC_VERSION__", "201710L"],
    ["__STDC_HOSTED__", "1"],
    ["__GNUC__", "4"],
    ["__GNUC_MINOR__", "2"],
    ["__GNUC_PATCHLEVEL__", "1"],
    ["__clang__", "1"],
    ["__CHAR_BIT__", "8"],
    ["__SIZEOF_SHORT__", "2"],
    ["__SIZEOF_INT__", "4"],
    ["__SIZEOF_LONG__", "8"],
    ["__SIZEOF_LONG_LONG__", "8"],
    ["__SIZEOF_POINTER__", "8"],
    ["__LP64__", "1"],
    ["_LP64", "1"],
    ["__ORDER_LITTLE_ENDIAN__", "1234"],
    ["__ORDER_BIG_ENDIAN__", "4321"],
    ["__BYTE_ORDER__", "__ORDER_LITTLE_ENDIAN__"],
  ]);
  const arch = Deno.build.arch === "aarch64"
    ? ["__aarch64__"]
    : ["__x86_64__", "__x86_64", "__amd64__", "__amd64"];
  for (const a of arch) m.set(a, "1");
  return m;
}

/**
 * The directories searched for `#include <...>` here: as clang's on
 * Linux (`/usr/local/include`, the multiarch directory, `/usr/include`);
 * none elsewhere, where the host's headers describe another system.
 *
 * @example Usage
 * ```ts
 * import { systemIncludeDirs } from "./c_headers.ts";
 * console.log(systemIncludeDirs().join(":"));
 * ```
 */
export function systemIncludeDirs(): string[] {
  if (Deno.build.os !== "linux") return [];
  const triple = Deno.build.arch === "aarch64"
    ? "aarch64-linux-gnu"
    : "x86_64-linux-gnu";
  return ["/usr/local/include", `/usr/include/${triple}`, "/usr/include"];
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** What `HeaderDefines.lookup` found for a name. */
export type HeaderLookup =
  | { kind: "value"; value: bigint; file: string }
  | { kind: "other"; text: string; file: string }
  | { kind: "none" };

/**
 * The macros a script's includes define, with the files read and those
 * not found.
 *
 * @example A constant of a header tree
 * ```ts
 * import assert from "node:assert/strict";
 * import { HeaderDefines } from "./c_headers.ts";
 * const files: Record<string, string> = {
 *   "/inc/a.h": "#include <b.h>\n#define AF_INET PF_INET\n",
 *   "/inc/b.h": "#ifndef B_H\n#define B_H\n#define PF_INET (1 + 1)\n#endif\n",
 * };
 * const h = new HeaderDefines([{ path: "a.h", system: true }], {
 *   dirs: ["/inc"],
 *   readFile: (p) => files[p],
 * });
 * assert.deepEqual(h.lookup("AF_INET"), {
 *   kind: "value",
 *   value: 2n,
 *   file: "/inc/a.h",
 * });
 * ```
 */
export class HeaderDefines {
  /** Files read, in order. */
  readonly files: string[] = [];
  /** The script's includes not found, as written (`<sys/socket.h>`). */
  readonly missing: string[] = [];
  /** The directories searched. */
  readonly dirs: readonly string[];
  #macros = new Map<string, Macro>();
  #read: (path: string) => string | undefined;
  #seen = new Map<string, number>();

  /**
   * Reads the headers now.
   *
   * @param includes The script's active `#include`s, in order.
   * @param opts Directories and file reader.
   */
  constructor(
    includes: readonly HeaderInclude[],
    opts: HeaderOptions = {},
  ) {
    this.dirs = opts.dirs ?? systemIncludeDirs();
    this.#read = opts.readFile ?? readText;
    for (const [k, v] of predefined()) {
      this.#macros.set(k, { body: v, file: "<built-in>" });
    }
    for (const inc of includes) {
      const found = this.#find(inc.path, inc.system, "", -1);
      if (found === undefined) {
        this.missing.push(inc.system ? `<${inc.path}>` : `"${inc.path}"`);
      } else {
        this.#file(found.path, found.dir, found.text, 0);
      }
    }
  }

  /**
   * A macro's integer value (its expansion evaluated), its text when it
   * is not an integer expression, or none.
   */
  lookup(name: string): HeaderLookup {
    const m = this.#macros.get(name);
    if (m === undefined || m.file === "<built-in>") return { kind: "none" };
    if (m.params !== undefined) {
      return {
        kind: "other",
        text: `${name}(${m.params.join(", ")})`,
        file: m.file,
      };
    }
    try {
      const toks = this.#expand(tokenize(m.body), new Set([name]), false);
      return { kind: "value", value: evaluate(toks, false), file: m.file };
    } catch {
      return { kind: "other", text: m.body.trim(), file: m.file };
    }
  }

  #find(
    path: string,
    system: boolean,
    fromDir: string,
    after: number,
  ): { path: string; dir: number; text: string } | undefined {
    if (path.startsWith("/")) {
      const text = this.#read(path);
      return text === undefined ? undefined : { path, dir: -1, text };
    }
    if (!system && after < 0) {
      const p = fromDir === "" ? path : `${fromDir}/${path}`;
      const text = this.#read(p);
      if (text !== undefined) return { path: p, dir: -1, text };
    }
    for (let i = Math.max(0, after); i < this.dirs.length; i++) {
      const p = `${this.dirs[i]}/${path}`;
      const text = this.#read(p);
      if (text !== undefined) return { path: p, dir: i, text };
    }
    return undefined;
  }

  #file(path: string, dirIndex: number, text: string, depth: number): void {
    // Guards make a second reading a no-op; the count stops a loop.
    const n = this.#seen.get(path) ?? 0;
    if (n > 4 || depth > 40) return;
    this.#seen.set(path, n + 1);
    if (n === 0) this.files.push(path);
    const here = path.slice(0, Math.max(0, path.lastIndexOf("/")));
    // One entry per open conditional: [taking this branch, taken one yet].
    const stack: [boolean, boolean][] = [];
    const active = () => stack.every((s) => s[0]);
    for (const line of directives(text)) {
      const m = /^(\w+)\s*(.*)$/s.exec(line);
      if (m === null) continue;
      const [, word, rest] = m;
      switch (word) {
        case "ifdef":
        case "ifndef": {
          const name = /^\w+/.exec(rest)?.[0] ?? "";
          const on = active() && this.#macros.has(name) === (word === "ifdef");
          stack.push([on, on]);
          break;
        }
        case "if": {
          const on = active() && this.#condition(rest);
          stack.push([on, on]);
          break;
        }
        case "elif": {
          const top = stack.at(-1);
          if (top === undefined) break;
          const outer = stack.slice(0, -1).every((s) => s[0]);
          top[0] = outer && !top[1] && this.#condition(rest);
          top[1] ||= top[0];
          break;
        }
        case "else": {
          const top = stack.at(-1);
          if (top === undefined) break;
          const outer = stack.slice(0, -1).every((s) => s[0]);
          top[0] = outer && !top[1];
          top[1] = true;
          break;
        }
        case "endif":
          stack.pop();
          break;
        case "define":
          if (active()) this.#define(rest, path);
          break;
        case "undef":
          if (active()) this.#macros.delete(/^\w+/.exec(rest)?.[0] ?? "");
          break;
        case "include":
        case "include_next": {
          if (!active()) break;
          const inc = /^(?:<([^>]*)>|"([^"]*)")/.exec(rest);
          if (inc === null) break;
          const next = word === "include_next" && dirIndex >= 0;
          const found = this.#find(
            inc[1] ?? inc[2],
            inc[1] !== undefined,
            here,
            next ? dirIndex + 1 : -1,
          );
          // A nested header missing (a compiler's own stddef.h) leaves
          // its names unknown, which the lookup then says.
          if (found !== undefined) {
            this.#file(found.path, found.dir, found.text, depth + 1);
          }
          break;
        }
      }
    }
  }

  #define(rest: string, file: string): void {
    const m = /^(\w+)(\(([^)]*)\))?\s*(.*)$/s.exec(rest);
    if (m === null) return;
    const macro: Macro = { body: m[4], file };
    if (m[2] !== undefined) {
      macro.params = m[3].split(",").map((p) => p.trim()).filter((p) =>
        p !== ""
      );
    }
    this.#macros.set(m[1], macro);
  }

  /** An `#if` expression's truth; false when it cannot be evaluated. */
  #condition(text: string): boolean {
    try {
      return evaluate(this.#expand(tokenize(text), new Set(), true), true) !==
        0n;
    } catch {
      return false;
    }
  }

  #expand(toks: string[], off: ReadonlySet<string>, cond: boolean): string[] {
    const out: string[] = [];
    for (let i = 0; i < toks.length; i++) {
      const t = toks[i];
      if (cond && t === "defined") {
        let j = i + 1;
        const paren = toks[j] === "(";
        if (paren) j++;
        const name = toks[j] ?? "";
        if (paren && toks[j + 1] !== ")") throw new SyntaxError("defined(");
        out.push(this.#macros.has(name) ? "1" : "0");
        i = paren ? j + 1 : j;
        continue;
      }
      if (cond && /^__has_include(_next)?$/.test(t)) {
        // __has_include(<a/b.h>) or ("a.h"): the tokens up to ")".
        let j = i + 2;
        let path = "";
        while (j < toks.length && toks[j] !== ")") path += toks[j++];
        const p = /^<(.*)>$|^"(.*)"$/.exec(path);
        if (p === null) throw new SyntaxError("__has_include");
        const f = this.#find(p[1] ?? p[2], p[1] !== undefined, "", -1);
        out.push(f === undefined ? "0" : "1");
        i = j;
        continue;
      }
      const m = /^[A-Za-z_]\w*$/.test(t) && !off.has(t)
        ? this.#macros.get(t)
        : undefined;
      if (m === undefined) {
        out.push(t);
        continue;
      }
      if (m.params === undefined) {
        out.push(...this.#expand(tokenize(m.body), new Set([...off, t]), cond));
        continue;
      }
      if (toks[i + 1] !== "(") {
        out.push(t);
        continue;
      }
      // Arguments: split at top-level commas.
      const args: string[][] = [[]];
      let depth = 0;
      let j = i + 2;
      for (; j < toks.length; j++) {
        const a = toks[j];
        if (a === ")" && depth === 0) break;
        if (a === "(") depth++;
        if (a === ")") depth--;
        if (a === "," && depth === 0) args.push([]);
        else args.at(-1)!.push(a);
      }
      if (j >= toks.length) throw new SyntaxError("unclosed macro call");
      const body = tokenize(m.body);
      if (body.includes("#") || body.includes("##")) {
        throw new SyntaxError("stringizing is not evaluated");
      }
      const sub: string[] = [];
      for (const b of body) {
        const k = m.params.indexOf(b);
        if (k < 0) sub.push(b);
        else sub.push(...this.#expand(args[k] ?? [], off, cond));
      }
      out.push(...this.#expand(sub, new Set([...off, t]), cond));
      i = j;
    }
    return out;
  }
}

/** The directives of a file, comments removed and lines joined. */
function directives(text: string): string[] {
  const joined = text.replace(/\\\r?\n/g, "");
  const out: string[] = [];
  let inComment = false;
  for (const raw of joined.split("\n")) {
    let line = raw;
    if (inComment) {
      const end = line.indexOf("*/");
      if (end < 0) continue;
      line = line.slice(end + 2);
      inComment = false;
    }
    line = line.replace(/\/\*.*?\*\//g, " ");
    const open = line.indexOf("/*");
    if (open >= 0) {
      line = line.slice(0, open);
      inComment = true;
    }
    const slash = line.indexOf("//");
    if (slash >= 0) line = line.slice(0, slash);
    const t = line.trim();
    if (t.startsWith("#")) out.push(t.slice(1).trim());
  }
  return out;
}

const TOKEN =
  /\s*(0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|[A-Za-z_]\w*|'(?:\\.|[^'\\])+'|"(?:\\.|[^"\\])*"|<<|>>|<=|>=|==|!=|&&|\|\||##|[-+*/%()<>!~&|^?:,#.[\]{};=])/y;

function tokenize(text: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  let end = 0;
  let m: RegExpExecArray | null;
  while ((m = TOKEN.exec(text)) !== null) {
    out.push(m[1]);
    end = TOKEN.lastIndex;
  }
  if (text.slice(end).trim() !== "") {
    throw new SyntaxError(`Cannot read "${text}"`);
  }
  return out;
}

const CAST_WORDS = new Set([
  "int",
  "long",
  "short",
  "char",
  "unsigned",
  "signed",
  "__u8",
  "__u16",
  "__u32",
  "__u64",
  "__s8",
  "__s16",
  "__s32",
  "__s64",
]);

function isCastWord(t: string): boolean {
  return CAST_WORDS.has(t) || /^(u?int(8|16|32|64)_t|size_t)$/.test(t);
}

/**
 * Evaluates a C integer expression; in a condition a leftover name is 0,
 * elsewhere it makes the expression not an integer (throws).
 */
function evaluate(toks: readonly string[], cond: boolean): bigint {
  let i = 0;
  const peek = () => toks[i];
  const expect = (t: string) => {
    if (toks[i] !== t) throw new SyntaxError(`Expected "${t}"`);
    i++;
  };
  // Binary operators by precedence, loosest first.
  const BIN: string[][] = [
    ["||"],
    ["&&"],
    ["|"],
    ["^"],
    ["&"],
    ["==", "!="],
    ["<", ">", "<=", ">="],
    ["<<", ">>"],
    ["+", "-"],
    ["*", "/", "%"],
  ];
  const apply = (op: string, a: bigint, b: bigint): bigint => {
    switch (op) {
      case "||":
        return a !== 0n || b !== 0n ? 1n : 0n;
      case "&&":
        return a !== 0n && b !== 0n ? 1n : 0n;
      case "|":
        return a | b;
      case "^":
        return a ^ b;
      case "&":
        return a & b;
      case "==":
        return a === b ? 1n : 0n;
      case "!=":
        return a !== b ? 1n : 0n;
      case "<":
        return a < b ? 1n : 0n;
      case ">":
        return a > b ? 1n : 0n;
      case "<=":
        return a <= b ? 1n : 0n;
      case ">=":
        return a >= b ? 1n : 0n;
      case "<<":
        return a << b;
      case ">>":
        return a >> b;
      case "+":
        return a + b;
      case "-":
        return a - b;
      case "*":
        return a * b;
      case "/":
      case "%":
        if (b === 0n) throw new RangeError("Division by zero");
        return op === "/" ? a / b : a % b;
    }
    throw new SyntaxError(`Unknown operator "${op}"`);
  };
  const binary = (level: number): bigint => {
    if (level === BIN.length) return unary();
    let a = binary(level + 1);
    while (BIN[level].includes(peek())) {
      const op = toks[i++];
      a = apply(op, a, binary(level + 1));
    }
    return a;
  };
  const ternary = (): bigint => {
    const c = binary(0);
    if (peek() !== "?") return c;
    i++;
    const a = ternary();
    expect(":");
    const b = ternary();
    return c !== 0n ? a : b;
  };
  const unary = (): bigint => {
    const t = toks[i++];
    if (t === undefined) throw new SyntaxError("Unexpected end");
    if (t === "!") return unary() === 0n ? 1n : 0n;
    if (t === "~") return ~unary();
    if (t === "-") return -unary();
    if (t === "+") return unary();
    if (t === "(") {
      // A cast to an integer type: the operand's value.
      let j = i;
      while (j < toks.length && isCastWord(toks[j])) j++;
      if (j > i && toks[j] === ")") {
        i = j + 1;
        return unary();
      }
      const v = ternary();
      expect(")");
      return v;
    }
    const num = /^(0[xX][0-9a-fA-F]+|\d+)[uUlL]*$/.exec(t);
    if (num !== null) {
      const s = num[1];
      return /^0\d/.test(s) ? BigInt(`0o${s.slice(1)}`) : BigInt(s);
    }
    const ch = /^'(\\?.)'$/.exec(t);
    if (ch !== null) {
      const c = ch[1];
      const esc: Record<string, number> = { "\\n": 10, "\\t": 9, "\\0": 0 };
      return BigInt(esc[c] ?? c.at(-1)!.charCodeAt(0));
    }
    if (cond && /^[A-Za-z_]\w*$/.test(t)) {
      // An unknown function-like name in a condition: its call is 0.
      if (peek() === "(") {
        let depth = 0;
        do {
          if (toks[i] === "(") depth++;
          if (toks[i] === ")") depth--;
          i++;
        } while (depth > 0 && i < toks.length);
      }
      return 0n;
    }
    throw new SyntaxError(`Not an integer: "${t}"`);
  };
  const v = ternary();
  if (i !== toks.length) throw new SyntaxError(`Unexpected "${toks[i]}"`);
  return v;
}

const cache = new Map<string, HeaderDefines>();

/**
 * The defines of a script's includes from the system's include
 * directories, read once per list of includes.
 *
 * @example Usage
 * ```ts
 * import { headerDefines } from "./c_headers.ts";
 * const h = headerDefines([{ path: "sys/socket.h", system: true }]);
 * console.log(h.missing.length === 0 ? h.lookup("AF_INET") : h.missing);
 * ```
 */
export function headerDefines(
  includes: readonly HeaderInclude[],
): HeaderDefines {
  const key = includes.map((i) => (i.system ? `<${i.path}>` : i.path)).join(
    "\n",
  );
  let h = cache.get(key);
  if (h === undefined) {
    h = new HeaderDefines(includes);
    cache.set(key, h);
  }
  return h;
}
