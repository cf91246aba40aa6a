/**
 * A small command-line flag parser with the conventions of `node:util`'s
 * `parseArgs` in strict mode: `--name value`, `--name=value`, `-x value`,
 * `-xvalue`, grouped short booleans (`-dv`) and `--` ending the options.
 *
 * tsbpf parses its flags itself instead of importing `node:util`: loading
 * Deno's Node compatibility layer costs about 25 ms and several MiB at every
 * start, a large share of a tracing tool's start-up budget.
 *
 * @module
 */

import { didYouMean } from "./lang/suggest.ts";

/** How one flag is spelled and whether it takes a value. */
export interface FlagSpec {
  /** `"boolean"` for a switch, `"string"` for a flag with a value. */
  type: "boolean" | "string";
  /** One-letter alias used after a single dash. */
  short?: string;
}

/** The values of a flag set: booleans for switches, strings otherwise. */
export type FlagValues<O extends Record<string, FlagSpec>> = {
  [K in keyof O]?: O[K]["type"] extends "boolean" ? boolean : string;
};

/** A command line that does not fit the flag set, in one sentence. */
export class FlagError extends TypeError {
  /** The argument that did not fit. */
  readonly arg: string;

  /** Creates the error. */
  constructor(message: string, arg: string) {
    super(message);
    this.name = "FlagError";
    this.arg = arg;
  }
}

/**
 * Splits `args` into flag values and positionals. Unknown flags, a missing
 * value and a value given to a switch are errors. A later flag overrides an
 * earlier one of the same name.
 *
 * @throws {FlagError} for a command line that does not fit `options`.
 * @example Parse flags and positionals
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFlags } from "./args.ts";
 *
 * const r = parseFlags(["-dv", "--backend=interp", "-e", "BEGIN {}", "x"], {
 *   d: { type: "boolean", short: "d" },
 *   v: { type: "boolean", short: "v" },
 *   e: { type: "string", short: "e" },
 *   backend: { type: "string" },
 * });
 * assert.deepEqual(r.values, { d: true, v: true, backend: "interp", e: "BEGIN {}" });
 * assert.deepEqual(r.positionals, ["x"]);
 * ```
 */
export function parseFlags<O extends Record<string, FlagSpec>>(
  args: readonly string[],
  options: O,
  allowPositionals = true,
): { values: FlagValues<O>; positionals: string[] } {
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(options)) {
    if (spec.short !== undefined) byShort.set(spec.short, name);
  }
  const values: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  const positional = (arg: string) => {
    if (!allowPositionals) {
      throw new FlagError(`Unexpected argument '${arg}'`, arg);
    }
    positionals.push(arg);
  };
  let i = 0;
  const valueOf = (flag: string): string => {
    if (i + 1 >= args.length) {
      throw new FlagError(`Option '${flag}' needs a value`, flag);
    }
    return args[++i];
  };
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      for (const rest of args.slice(i + 1)) positional(rest);
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const spec = Object.hasOwn(options, name) ? options[name] : undefined;
      if (spec === undefined) {
        const known = Object.keys(options).filter((k) => k.length > 1)
          .map((k) => `--${k}`);
        throw new FlagError(
          `Unknown option '--${name}'${didYouMean(`--${name}`, known, "'")}`,
          arg,
        );
      }
      if (spec.type === "boolean") {
        if (eq >= 0) {
          throw new FlagError(
            `Option '--${name}' does not take a value`,
            arg,
          );
        }
        values[name] = true;
      } else {
        values[name] = eq >= 0 ? arg.slice(eq + 1) : valueOf(`--${name}`);
      }
      continue;
    }
    if (arg.length > 1 && arg.startsWith("-")) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j];
        const name = byShort.get(letter);
        if (name === undefined) {
          throw new FlagError(`Unknown option '-${letter}'`, arg);
        }
        if (options[name].type === "boolean") {
          values[name] = true;
          continue;
        }
        values[name] = j + 1 < arg.length
          ? arg.slice(j + 1)
          : valueOf(`-${letter}`);
        break;
      }
      continue;
    }
    positional(arg);
  }
  return { values: values as FlagValues<O>, positionals };
}

/** Seconds per unit of a duration option. */
const DURATION_UNITS: Record<string, number> = {
  "": 1,
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
};

/**
 * Reads a duration in seconds: a non-negative number of seconds, or one
 * with a unit, `ms`, `s`, `m` or `h` (`"10"`, `"1.5s"`, `"500ms"`,
 * `"2m"`).
 *
 * @returns The seconds, or undefined when `text` is not a duration.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "./args.ts";
 *
 * assert.equal(parseDuration("3"), 3);
 * assert.equal(parseDuration("500ms"), 0.5);
 * assert.equal(parseDuration("2m"), 120);
 * assert.equal(parseDuration("3x"), undefined);
 * ```
 */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|)\s*$/.exec(text);
  if (m === null) return undefined;
  const seconds = Number(m[1]) * DURATION_UNITS[m[2]];
  return Number.isFinite(seconds) ? seconds : undefined;
}
