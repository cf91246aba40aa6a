/**
 * The preprocessor lines of a script's preamble, as far as bpftrace's
 * tools use them: `#ifdef`/`#ifndef`/`#else`/`#endif` around definitions
 * (`BPFTRACE_HAVE_BTF` is defined when kernel types come from BTF, as
 * bpftrace defines it), and `#define NAME value` integer constants.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";

/** The definitions and constants a preamble leaves active. */
export interface Preamble {
  /** The struct/union/enum/typedef definitions not excluded by `#if`s. */
  definitions: ast.CDefinition[];
  /** `#define NAME <integer>` constants. */
  defines: Map<string, bigint>;
  /** The `#include`s not excluded by `#if`s, in order. */
  includes?: ast.Include[];
}

/**
 * Applies the conditionals of a preamble.
 *
 * @param defs The preamble's lines and definitions, in order.
 * @param defined Names defined before the script (`BPFTRACE_HAVE_BTF`).
 * @param includes The preamble's `#include` lines (placed by position).
 * @example A definition only for kernels without BTF
 * ```ts
 * import assert from "node:assert/strict";
 * import { preamble } from "./c_preamble.ts";
 * const span = { start: 0, end: 0, line: 1, col: 1 };
 * const p = preamble([
 *   { kind: "cdef", text: "#ifndef BPFTRACE_HAVE_BTF", span },
 *   { kind: "cdef", text: "struct a { int x; };", span },
 *   { kind: "cdef", text: "#endif", span },
 *   { kind: "cdef", text: "#define AF_INET 2", span },
 * ], new Set(["BPFTRACE_HAVE_BTF"]));
 * assert.equal(p.definitions.length, 0);
 * assert.equal(p.defines.get("AF_INET"), 2n);
 * ```
 */
export function preamble(
  defs: readonly ast.CDefinition[],
  defined: ReadonlySet<string>,
  includes: readonly ast.Include[] = [],
): Preamble {
  const definitions: ast.CDefinition[] = [];
  const defines = new Map<string, bigint>();
  const activeIncludes: ast.Include[] = [];
  const lines: (ast.CDefinition | ast.Include)[] = [...defs, ...includes]
    .sort((a, b) => a.span.start - b.span.start);
  // One entry per open conditional: whether its current branch is taken.
  const stack: boolean[] = [];
  const active = () => stack.every((x) => x);
  const isDefined = (n: string) => defined.has(n) || defines.has(n);
  for (const d of lines) {
    if (d.kind === "include") {
      if (active()) activeIncludes.push(d);
      continue;
    }
    // Comments after a directive (`#define AF_INET 2 /* IPv4 */`) go.
    const text = d.text.replace(/\/\*.*?\*\/|\/\/.*$/g, " ").trim();
    let m: RegExpExecArray | null;
    if ((m = /^#\s*ifdef\s+(\w+)/.exec(text)) !== null) {
      stack.push(isDefined(m[1]));
    } else if ((m = /^#\s*ifndef\s+(\w+)/.exec(text)) !== null) {
      stack.push(!isDefined(m[1]));
    } else if (/^#\s*if\b/.test(text)) {
      const c = /^#\s*if\s+(!?)\s*defined\s*\(?\s*(\w+)\s*\)?\s*$/.exec(text);
      stack.push(c === null ? false : (c[1] === "!") !== isDefined(c[2]));
    } else if (/^#\s*else\b/.test(text)) {
      if (stack.length > 0) stack.push(!stack.pop()!);
    } else if (/^#\s*endif\b/.test(text)) {
      stack.pop();
    } else if (!active()) {
      continue;
    } else if (
      (m =
        /^#\s*define\s+(\w+)\s+\(?\s*(-?(?:0x[0-9a-f]+|\d+))[uUlL]*\s*\)?\s*$/i
          .exec(text)) !== null
    ) {
      const neg = m[2].startsWith("-");
      const v = BigInt(neg ? m[2].slice(1) : m[2]);
      defines.set(m[1], neg ? -v : v);
    } else if (!text.startsWith("#")) {
      definitions.push(d);
    }
  }
  return activeIncludes.length === 0
    ? { definitions, defines }
    : { definitions, defines, includes: activeIncludes };
}
