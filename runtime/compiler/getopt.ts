/**
 * Named program parameters (bpftrace 0.26): `getopt("name", default
 * [, "description"])` in a script, `-- --name=value` on the command line.
 * The default's type is the option's type (no default: a boolean). The
 * value is known when the program compiles, so it is a constant of the
 * program; the command line is checked against the options the program
 * declares, with bpftrace's messages.
 *
 * @module
 */

import type { ProgramOption } from "../program.ts";

export type { ProgramOption };

/** Named parameters as given: a value, or undefined for a bare `--name`. */
export type NamedParams = Map<string, string | undefined>;

const TRUTHY = new Set(["1", "true", "on", "yes"]);
const FALSY = new Set(["0", "false", "off", "no"]);

/**
 * The value of `option` given `text` on the command line (undefined: a
 * bare `--name`), or the reason it is not one (bpftrace's wording).
 *
 * @example Usage
 * ```ts
 * import { optionValue } from "./getopt.ts";
 * const aa = { name: "aa", description: "", type: "int" as const, default: 1n };
 * console.assert(optionValue(aa, "-5") === -5n);
 * console.assert(typeof optionValue(aa, "x") === "object");
 * ```
 */
export function optionValue(
  option: ProgramOption,
  text: string | undefined,
): bigint | string | { error: string; value: string } {
  if (text === undefined) {
    if (option.type === "bool") return 1n;
    return {
      error: option.type === "string"
        ? "expects a string"
        : "expects an integer",
      value: "true",
    };
  }
  switch (option.type) {
    case "string":
      return text;
    case "bool": {
      const t = text.toLowerCase();
      if (TRUTHY.has(t)) return 1n;
      if (FALSY.has(t)) return 0n;
      return { error: "expects a boolean (e.g. 'true')", value: text };
    }
    case "int":
    case "uint": {
      if (!/^[+-]?(0x[0-9a-f]+|0b[01]+|0o?[0-7]+|\d+)$/i.test(text.trim())) {
        return { error: "invalid integer", value: text };
      }
      const t = text.trim();
      const neg = t.startsWith("-");
      const digits = t.replace(/^[+-]/, "");
      const v = BigInt(
        /^0[0-7]+$/.test(digits) ? `0o${digits.slice(1)}` : digits,
      ) * (neg ? -1n : 1n);
      const ok = option.type === "uint"
        ? v >= 0n && v < 1n << 64n
        : v >= -(1n << 63n) && v < 1n << 63n;
      return ok ? v : { error: "value is out of range", value: text };
    }
  }
}

/**
 * What bpftrace says about named parameters that do not fit the program's
 * options: unknown names (with the options it expects), `--help` (the
 * options and their descriptions), and values of the wrong type. Empty
 * when all is well. Each entry is a line without its `ERROR: ` or
 * `HINT: ` tag, which `kind` gives.
 *
 * @example Usage
 * ```ts
 * import { checkNamed } from "./getopt.ts";
 * const opts = [{ name: "aa", description: "", type: "int" as const, default: 1n }];
 * const out = checkNamed(opts, new Map([["bb", undefined]]));
 * console.assert(out[0].text === "unexpected program command line options: --bb");
 * ```
 */
export function checkNamed(
  options: readonly ProgramOption[],
  named: NamedParams,
): { kind: "ERROR" | "HINT"; text: string }[] {
  const known = new Set(options.map((o) => o.name));
  const unexpected = [...named.keys()].filter((n) => !known.has(n));
  if (unexpected.length > 0) {
    const help = unexpected.includes("help");
    const out: { kind: "ERROR" | "HINT"; text: string }[] = [];
    const wrong = unexpected.filter((n) => n !== "help");
    if (wrong.length > 0) {
      out.push({
        kind: "ERROR",
        text: `unexpected program command line options: ${
          wrong.map((n) => `--${n}`).join(", ")
        }`,
      });
    }
    if (options.length === 0) {
      out.push({ kind: "HINT", text: "no custom program options defined." });
    } else if (help) {
      const lines = options.map((o) =>
        o.description === "" ? `--${o.name}` : `--${o.name}: ${o.description}`
      );
      out.push({
        kind: "HINT",
        text: `expected program options:\n${lines.join("\n")}`,
      });
    } else {
      out.push({
        kind: "HINT",
        text: `expected program options: ${
          options.map((o) => `--${o.name}`).join(": ")
        }`,
      });
    }
    return out;
  }
  for (const o of options) {
    if (!named.has(o.name)) continue;
    const v = optionValue(o, named.get(o.name));
    if (typeof v === "object") {
      return [{
        kind: "ERROR",
        text:
          `program command line option --${o.name} ${v.error} (value: ${v.value})`,
      }];
    }
  }
  return [];
}
