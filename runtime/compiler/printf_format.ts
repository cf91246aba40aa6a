/**
 * printf-style format strings as bpftrace accepts them: parsing the
 * conversion specifiers and checking argument types against them.
 *
 * @module
 */

import type { SType } from "./types.ts";

/** One conversion specifier of a format string. */
export interface FormatSpec {
  /** The whole specifier text, e.g. `%-10lu`. */
  text: string;
  /** The conversion character: d i u x X o c s p r. */
  conv: string;
}

const SPEC_RE =
  /%([-+ #0]*)(\d+|\*)?(?:\.(\d+|\*))?(hh|h|ll|l|j|z|t)?([a-zA-Z%])/g;
const CONVS = new Set(["d", "i", "u", "x", "X", "o", "c", "s", "p", "r"]);

/**
 * Parses a format string into its conversion specifiers (`%%` excluded).
 *
 * @returns The specifiers, or an error message for an invalid one.
 * @example Usage
 * ```ts
 * import { parseFormat } from "./printf_format.ts";
 * const r = parseFormat("%s has %5d%%\n");
 * console.assert(Array.isArray(r) && r.length === 2 && r[1].conv === "d");
 * ```
 */
export function parseFormat(format: string): FormatSpec[] | string {
  const specs: FormatSpec[] = [];
  SPEC_RE.lastIndex = 0;
  let last = 0;
  for (let m = SPEC_RE.exec(format); m !== null; m = SPEC_RE.exec(format)) {
    const gap = format.slice(last, m.index);
    if (gap.includes("%")) {
      return `Invalid format specifier at "${gap.slice(gap.indexOf("%"))}"`;
    }
    last = SPEC_RE.lastIndex;
    const conv = m[5];
    if (conv === "%") {
      if (m[0] !== "%%") return `Invalid format specifier "${m[0]}"`;
      continue;
    }
    if (m[2] === "*" || m[3] === "*") {
      return `Variable width or precision is not supported: "${m[0]}"`;
    }
    if (!CONVS.has(conv)) return `Invalid format specifier "${m[0]}"`;
    specs.push({ text: m[0], conv });
  }
  if (format.slice(last).includes("%")) {
    return `Invalid format specifier at "${
      format.slice(last + format.slice(last).indexOf("%"))
    }"`;
  }
  return specs;
}

/**
 * Checks one argument against its specifier.
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
  const textual = t.k === "str" || t.k === "buf" || t.k === "ksym" ||
    t.k === "usym" || t.k === "kstack" || t.k === "ustack" ||
    t.k === "inet" || t.k === "tuple" || t.k === "timestamp" ||
    t.k === "username";
  switch (spec.conv) {
    case "s":
      if (textual || isInt) return undefined;
      break;
    case "r":
      if (t.k === "buf" || t.k === "str") return undefined;
      break;
    default:
      if (isInt) return undefined;
  }
  const want = spec.conv === "s"
    ? "string"
    : spec.conv === "r"
    ? "buffer"
    : "integer";
  return `${fn}: ${spec.text} specifier expects a value of type ${want} (${
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
