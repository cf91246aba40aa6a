/**
 * printf-style format strings as bpftrace accepts them: parsing the
 * conversion specifiers and checking argument types against them.
 *
 * @module
 */

import { parseFormat as parseSpecs } from "../lang/printf_format.ts";
import type { SType } from "./types.ts";

/** One conversion specifier of a format string, as the compiler checks it. */
export interface FormatSpec {
  /** The whole specifier text, e.g. `%-10lu`. */
  text: string;
  /** The conversion: d u x X o c s p r rx rh. */
  conv: string;
}

/**
 * Parses a format string into its conversion specifiers, as bpftrace 0.17
 * counts them (text that is not a specifier is printed as it is), with the
 * parser the output uses (`lang/printf_format.ts`).
 *
 * @returns The specifiers (the string alternative, an error message, is
 *   kept for specifiers tsbpf cannot print; every bpftrace 0.17 one prints).
 * @example Usage
 * ```ts
 * import { parseFormat } from "./printf_format.ts";
 * const r = parseFormat("%s has %5d %i%%\n");
 * console.assert(Array.isArray(r) && r.length === 2 && r[1].conv === "d");
 * ```
 */
export function parseFormat(format: string): FormatSpec[] | string {
  return parseSpecs(format).map((s) => ({ text: s.text, conv: s.conversion }));
}

/**
 * Checks one argument against its specifier as bpftrace 0.17 does, with
 * its message (naming the bare conversion, `%s` for `%-10s`): `%s` takes
 * strings and the values printed as text (symbols, stacks, addresses,
 * timestamps, user names) but not integers, tuples or buffers; `%r`,
 * `%rx` and `%rh` take buffers (and, unlike bpftrace, strings); the
 * others take integers.
 *
 * @returns An error message, or undefined when the type fits.
 * @example Usage
 * ```ts
 * import { checkArg } from "./printf_format.ts";
 * console.assert(checkArg("printf", { text: "%d", conv: "d" }, { k: "str", size: 8 }) !== undefined);
 * ```
 */
export function checkArg(
  fn: string,
  spec: FormatSpec,
  t: SType,
): string | undefined {
  const isInt = t.k === "int";
  const textual = t.k === "str" || t.k === "ksym" || t.k === "usym" ||
    t.k === "kstack" || t.k === "ustack" || t.k === "inet" ||
    t.k === "timestamp" || t.k === "username" || t.k === "intname" ||
    (t.k === "int" && t.enumType !== undefined);
  const buffer = spec.conv === "r" || spec.conv === "rx" ||
    spec.conv === "rh";
  if (spec.conv === "s") {
    if (textual) return undefined;
  } else if (buffer) {
    if (t.k === "buf" || t.k === "str") return undefined;
  } else if (isInt) return undefined;
  const want = spec.conv === "s" ? "string" : buffer ? "buffer" : "integer";
  return `${fn}: %${spec.conv} specifier expects a value of type ${want} (${
    describe(t)
  } supplied)`;
}

function describe(t: SType): string {
  switch (t.k) {
    case "int":
      return "integer";
    case "str":
      return "string";
    case "buf":
      return "buffer";
    default:
      return t.k;
  }
}

/**
 * Formats literal values as printf() would print them, for messages the
 * compiler writes itself (`fail()`): integers in the specifier's base,
 * strings as they are, padded to the width; `%%` is a percent sign.
 *
 * @example Usage
 * ```ts
 * import { formatLiterals } from "./printf_format.ts";
 * console.assert(formatLiterals("%d %s %x%%", [5n, "a", 255n]) === "5 a ff%");
 * ```
 */
export function formatLiterals(
  format: string,
  args: readonly (bigint | string)[],
): string {
  const text = (t: string) => t.replaceAll("%%", "%");
  let out = "";
  let at = 0;
  parseSpecs(format).forEach((s, i) => {
    out += text(format.slice(at, s.index));
    at = s.index + s.text.length;
    const v = args[i] ?? "";
    let t: string;
    if (typeof v === "string") t = v;
    else if (s.conversion === "c") t = String.fromCharCode(Number(v & 0xffn));
    else if (s.conversion === "d") t = BigInt.asIntN(64, v).toString();
    else {
      const u = BigInt.asUintN(64, v);
      t = s.conversion === "x" || s.conversion === "p"
        ? u.toString(16)
        : s.conversion === "X"
        ? u.toString(16).toUpperCase()
        : s.conversion === "o"
        ? u.toString(8)
        : u.toString();
    }
    const pad = Math.max(0, s.width - t.length);
    out += s.left
      ? t + " ".repeat(pad)
      : (s.zero && typeof v !== "string" ? "0" : " ").repeat(pad) + t;
  });
  return out + text(format.slice(at));
}
