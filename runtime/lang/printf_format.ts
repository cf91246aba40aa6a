/**
 * printf-style format strings as bpftrace 0.17 reads them: the one parser
 * of conversion specifiers, used by the compiler (argument counts and
 * types, `compiler/printf_format.ts`) and by the output (rendering,
 * `output/printf.ts`).
 *
 * A specifier is an optional `-`, a width, a precision, then `s`, `c`, `r`,
 * `rx`, `rh`, `gr` (0.26: GFP flags), or an optional length (`hh h l ll j z t`) and one of
 * `d u o x X p`. Anything else after a `%` (`%i`, `%+d`, `%f`, `%%`) is
 * plain text, and an argument for it is one too many.
 *
 * @module
 */

/** One conversion specifier of a printf format string. */
export interface FormatSpec {
  /** The specifier text, e.g. `"%-5ld"`. */
  text: string;
  /** Offset of the `%` in the format string. */
  index: number;
  /** `-` flag: pad on the right. */
  left: boolean;
  /** Width begins with `0`: pad numbers with zeros. */
  zero: boolean;
  /** Minimum field width (0 = none). */
  width: number;
  /** Precision after `.`, if given. */
  precision?: number;
  /** Length modifier: "", "hh", "h", "l", "ll", "j", "z" or "t". */
  length: string;
  /** Conversion: "d", "u", "o", "x", "X", "p", "c", "s", "r", "rx", "rh" or "gr". */
  conversion: string;
}

const SPEC_RE =
  /%(-?)([0-9]*)(?:\.([0-9]+))?(s|rx|rh|r|gr|c|(hh|h|ll|l|j|z|t)?([duoxXp]))/g;

/**
 * Finds the conversion specifiers of a format string as bpftrace 0.17 does
 * (text that is not a specifier is printed as it is).
 *
 * @example Specifiers of a format
 * ```ts
 * import { parseFormat } from "./printf_format.ts";
 * import assert from "node:assert/strict";
 *
 * const specs = parseFormat("%-16s %5lu %i %%\n");
 * assert.deepEqual(specs.map((s) => s.conversion), ["s", "u"]);
 * assert.equal(specs[1].width, 5);
 * ```
 */
export function parseFormat(format: string): FormatSpec[] {
  const specs: FormatSpec[] = [];
  for (const m of format.matchAll(SPEC_RE)) {
    const digits = m[2];
    specs.push({
      text: m[0],
      index: m.index!,
      left: m[1] === "-",
      zero: digits.startsWith("0"),
      width: digits === "" ? 0 : parseInt(digits, 10),
      precision: m[3] === undefined ? undefined : parseInt(m[3], 10),
      length: m[5] ?? "",
      conversion: m[6] ?? m[4],
    });
  }
  return specs;
}
