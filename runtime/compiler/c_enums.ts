/**
 * The enum definitions of a script's preamble (`enum Foo { ONE = 1, TWO };`,
 * named or anonymous): their enumerators as constants whose values print
 * as the enumerator's name (bpftrace 0.26), and the named enums as types
 * for casts (`(enum Foo)$x`). Loaded on demand, for scripts that define
 * one.
 *
 * @module
 */

import type { EnumRef } from "./types.ts";

/** An enumerator: its value and the enum it belongs to. */
export interface EnumConstant {
  /** Its value. */
  value: bigint;
  /** Its enum, with every enumerator's name. */
  type: EnumRef;
}

/**
 * A definition that could not be read.
 *
 * @example Usage
 * ```ts
 * import { CEnumError } from "./c_enums.ts";
 * const e = new CEnumError(0, 'In enum A: cannot read enumerator "3x"');
 * console.assert(e.index === 0 && e instanceof SyntaxError);
 * ```
 */
export class CEnumError extends SyntaxError {
  /** Index of the definition in the list given to `parseCEnums`. */
  index: number;

  /** Builds the error for definition `index`. */
  constructor(index: number, message: string) {
    super(message);
    this.name = "CEnumError";
    this.index = index;
  }
}

/** A preamble's enums. */
export interface ScriptEnums {
  /** Enumerators by name. */
  constants: Map<string, EnumConstant>;
  /** Named enums by C name (`enum Foo`). */
  types: Map<string, EnumRef>;
  /** Definitions that could not be read. */
  errors: CEnumError[];
}

/**
 * Reads the enum definitions among `defs` (raw C texts, in order; other
 * definitions are skipped). An enumerator without a value follows the
 * previous one (the first is 0); a value may be an integer expression of
 * literals and enumerators defined before it.
 *
 * @example Implicit values and a trailing comma
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCEnums } from "./c_enums.ts";
 * const e = parseCEnums(["enum Foo { A, B = 1 << 3, C, };"]);
 * assert.equal(e.constants.get("C")?.value, 9n);
 * assert.deepEqual(e.types.get("enum Foo")?.values, [["0", "A"], ["8", "B"], ["9", "C"]]);
 * ```
 */
export function parseCEnums(defs: readonly string[]): ScriptEnums {
  const out: ScriptEnums = {
    constants: new Map(),
    types: new Map(),
    errors: [],
  };
  let anonymous = 0;
  defs.forEach((text, index) => {
    const src = text.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/.*$/gm, "");
    const m = /^\s*enum\s*([A-Za-z_]\w*)?\s*\{([\s\S]*)\}\s*;?\s*$/.exec(src);
    if (m === null) return;
    const name = m[1] === undefined
      ? `enum (anonymous${anonymous++ === 0 ? "" : ` ${anonymous}`})`
      : `enum ${m[1]}`;
    const type: EnumRef = { name, values: [] };
    const mine = new Map<string, bigint>();
    let next = 0n;
    try {
      for (const raw of m[2].split(",")) {
        const item = raw.trim();
        if (item === "") continue;
        const im = /^([A-Za-z_]\w*)\s*(?:=\s*([\s\S]+))?$/.exec(item);
        if (im === null) {
          throw new CEnumError(
            index,
            `In ${name}: cannot read enumerator "${item}"`,
          );
        }
        const [, id, expr] = im;
        const value = expr === undefined
          ? next
          : evaluate(expr, (n) =>
            mine.get(n) ?? out.constants.get(n)?.value, () =>
            new CEnumError(
              index,
              `In ${name}: the value of "${id}" is not an integer constant: "${expr.trim()}"`,
            ));
        mine.set(id, value);
        type.values.push([String(value), id]);
        next = value + 1n;
      }
    } catch (e) {
      if (!(e instanceof CEnumError)) throw e;
      // Reported once; the enumerators read before it stay usable.
      out.errors.push(e);
    }
    for (const [id, value] of mine) out.constants.set(id, { value, type });
    if (m[1] !== undefined) out.types.set(name, type);
  });
  return out;
}

/**
 * An integer constant expression of C (literals, names, parentheses,
 * unary `- ~ !`, binary `* / % + - << >> & ^ |`).
 */
function evaluate(
  text: string,
  name: (n: string) => bigint | undefined,
  fail: () => CEnumError,
): bigint {
  const toks = text.match(/0[xX][0-9a-fA-F]+|\d+|[A-Za-z_]\w*|<<|>>|\S/g) ??
    [];
  let i = 0;
  const LEVELS = [["|"], ["^"], ["&"], ["<<", ">>"], ["+", "-"], [
    "*",
    "/",
    "%",
  ]];
  const primary = (): bigint => {
    const t = toks[i++];
    if (t === undefined) throw fail();
    if (t === "(") {
      const v = binary(0);
      if (toks[i++] !== ")") throw fail();
      return v;
    }
    if (t === "-") return -primary();
    if (t === "+") return primary();
    if (t === "~") return ~primary();
    if (t === "!") return primary() === 0n ? 1n : 0n;
    if (/^\d/.test(t)) {
      // A suffix (`1UL`) follows as a name token.
      if (/^[uUlL]+$/.test(toks[i] ?? "")) i++;
      if (!/^0\d/.test(t)) return BigInt(t);
      if (!/^0[0-7]+$/.test(t)) throw fail();
      return BigInt("0o" + t.slice(1));
    }
    const v = /^[A-Za-z_]/.test(t) ? name(t) : undefined;
    if (v === undefined) throw fail();
    return v;
  };
  const binary = (level: number): bigint => {
    if (level === LEVELS.length) return primary();
    let v = binary(level + 1);
    while (LEVELS[level].includes(toks[i])) {
      const op = toks[i++];
      const r = binary(level + 1);
      if ((op === "/" || op === "%") && r === 0n) throw fail();
      v = op === "|"
        ? v | r
        : op === "^"
        ? v ^ r
        : op === "&"
        ? v & r
        : op === "<<"
        ? v << r
        : op === ">>"
        ? v >> r
        : op === "+"
        ? v + r
        : op === "-"
        ? v - r
        : op === "*"
        ? v * r
        : op === "/"
        ? v / r
        : v % r;
    }
    return v;
  };
  const v = binary(0);
  if (i !== toks.length) throw fail();
  return v;
}
