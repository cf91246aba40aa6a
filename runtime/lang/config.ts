/**
 * The script's `config = { ... }` block, checked: which settings tsbpf
 * applies, and a warning for each one it ignores.
 *
 * Keys are written as bpftrace allows: `stack_mode`, `STACK_MODE` or
 * `BPFTRACE_STACK_MODE`. As in bpftrace, the environment wins over the
 * block: `BPFTRACE_MAP_KEYS_MAX` over `max_map_keys`,
 * `BPFTRACE_STACK_MODE` over `stack_mode`.
 *
 * @module
 */

import type { ConfigBlock, ConfigEntry, Span } from "./ast.ts";
import { CompileError, type Diagnostics, quote } from "./diagnostics.ts";
import { didYouMean } from "./suggest.ts";
import { envVar } from "../probes/env.ts";
import type { Program } from "../program.ts";

/** The settings of a config block, as tsbpf uses them. */
export interface ScriptConfig {
  /** `max_map_keys`: keys a map holds at most. */
  maxMapKeys?: number;
  /** `print_maps_on_exit`: whether maps print at exit (default true). */
  printMapsOnExit?: boolean;
  /** `stack_mode`: how `kstack`/`ustack` without a mode print. */
  stackMode?: "perf" | "raw";
  /** `max_strlen`: bytes of a string read at run time (default 64). */
  maxStrlen?: number;
  /**
   * `missing_probes`: what an attach point that cannot be attached does
   * (default `error`: the run fails).
   */
  missingProbes?: "warn" | "ignore";
  /**
   * `str_trunc_trailer`: what strings cut at `max_strlen` end with
   * (default none, as bpftrace 0.17 prints them; 0.26's is `..`).
   */
  strTruncTrailer?: string;
  /** Settings accepted but not applied: one warning each. */
  warnings: CompileError[];
}

/** bpftrace 0.26's config variables that tsbpf accepts and ignores. */
const IGNORED: ReadonlySet<string> = new Set([
  "cache_user_symbols",
  "cpp_demangle",
  "lazy_symbolication",
  "license",
  "log_size",
  "max_bpf_progs",
  "max_cat_bytes",
  "max_probes",
  "on_stack_limit",
  "perf_rb_pages",
  "show_debug_info",
  "unstable_tseries",
  "unstable_dw_ustack",
]);

/** The settings tsbpf reads. */
const APPLIED = [
  "max_map_keys",
  "max_strlen",
  "missing_probes",
  "print_maps_on_exit",
  "stack_mode",
  "str_trunc_trailer",
];

/** Old names bpftrace 0.26 still takes for a setting. */
const RENAMED: Readonly<Record<string, string>> = {
  strlen: "max_strlen",
  map_keys_max: "max_map_keys",
  cat_bytes_max: "max_cat_bytes",
  no_cpp_demangle: "cpp_demangle",
};

/** Largest `max_strlen` (a string's size is a 32-bit count). */
const MAX_STRLEN = 0xffffffff;

/**
 * The environment variables that set what a block sets, in the order
 * read (the first one set wins), by setting (the list of all of them is
 * `CONFIG_ENV` in compiler/on_demand.ts). `BPFTRACE_MAP_KEYS_MAX` is
 * read where the map size is resolved (compile.ts).
 */
const ENV: Readonly<Record<string, readonly string[]>> = {
  max_strlen: ["BPFTRACE_MAX_STRLEN", "BPFTRACE_STRLEN"],
  missing_probes: ["BPFTRACE_MISSING_PROBES"],
  stack_mode: ["BPFTRACE_STACK_MODE"],
  str_trunc_trailer: ["BPFTRACE_STR_TRUNC_TRAILER"],
};

/** The value as written: a number, or a name or string's text. */
function valueOf(e: ConfigEntry): bigint | string | boolean | undefined {
  const v = e.value;
  if (v.kind === "int") return v.value;
  if (v.kind === "bool") return v.value;
  if (v.kind === "str") return v.value;
  if (v.kind === "ident" || v.kind === "builtin") return v.name;
  return undefined;
}

function envSet(name: string): boolean {
  const v = envVar(name);
  return v !== undefined && v !== "";
}

/** What a setting's value means, or the values it expects. */
type Parsed<T> = { ok: T } | { expected: string };

function parseStackMode(v: unknown): Parsed<"perf" | "raw" | undefined> {
  if (v === "perf" || v === "raw") return { ok: v };
  if (v === "bpftrace") return { ok: undefined };
  return { expected: '"bpftrace", "perf" or "raw"' };
}

function parseMissingProbes(v: unknown): Parsed<"warn" | "ignore" | undefined> {
  const s = typeof v === "string" ? v.toLowerCase() : "";
  if (s === "warn" || s === "ignore") return { ok: s };
  if (s === "error") return { ok: undefined };
  return { expected: '"error", "warn" or "ignore"' };
}

function parseMaxStrlen(v: unknown): Parsed<number> {
  const n = typeof v === "string" && /^\s*\d+\s*$/.test(v) ? BigInt(v) : v;
  if (typeof n === "bigint" && n >= 1n && n <= BigInt(MAX_STRLEN)) {
    return { ok: Number(n) };
  }
  return { expected: `an integer from 1 to ${MAX_STRLEN}` };
}

/** Stores a setting's parsed value (undefined: tsbpf's default). */
function apply(
  out: ScriptConfig,
  key: string,
  value: unknown,
): Parsed<unknown> {
  switch (key) {
    case "stack_mode": {
      const p = parseStackMode(value);
      if ("ok" in p) {
        if (p.ok === undefined) delete out.stackMode;
        else out.stackMode = p.ok;
      }
      return p;
    }
    case "missing_probes": {
      const p = parseMissingProbes(value);
      if ("ok" in p) {
        if (p.ok === undefined) delete out.missingProbes;
        else out.missingProbes = p.ok;
      }
      return p;
    }
    case "str_trunc_trailer": {
      if (typeof value !== "string") return { expected: "a string" };
      if (value === "") delete out.strTruncTrailer;
      else out.strTruncTrailer = value;
      return { ok: value };
    }
    default: {
      const p = parseMaxStrlen(value);
      if ("ok" in p) out.maxStrlen = p.ok;
      return p;
    }
  }
}

/**
 * Checks a config block: errors for unknown keys and bad values go to
 * `diag`; the settings tsbpf applies are returned, with a warning for
 * each setting it ignores. `BPFTRACE_STACK_MODE`, `BPFTRACE_MAX_STRLEN`
 * (or 0.17's `BPFTRACE_STRLEN`) and `BPFTRACE_MISSING_PROBES` in the
 * environment apply with or without a block, and win over it.
 *
 * @example Usage
 * ```ts
 * import { readConfig } from "./config.ts";
 * import { Diagnostics } from "./diagnostics.ts";
 * import { parse } from "./parser.ts";
 * import assert from "node:assert/strict";
 * const { ast } = parse("config = { max_map_keys = 10; print_maps_on_exit = 0 } begin { }");
 * const c = readConfig(ast.config, new Diagnostics());
 * assert.equal(c.maxMapKeys, 10);
 * assert.equal(c.printMapsOnExit, false);
 * ```
 *
 * @param block The parsed block, if the program has one.
 * @param diag Where errors go (its file names the warnings too).
 * @returns The settings.
 * @throws {RangeError} A bad value of one of the environment variables.
 */
export function readConfig(
  block: ConfigBlock | undefined,
  diag: Diagnostics,
): ScriptConfig {
  const out: ScriptConfig = { warnings: [] };
  const warn = (span: Span, message: string) => {
    out.warnings.push(new CompileError(message, span, diag.file, "warning"));
  };
  const seen = new Set<string>();
  for (const e of block?.entries ?? []) {
    let key = e.key.toLowerCase().replace(/^bpftrace_/, "");
    key = RENAMED[key] ?? key;
    const value = valueOf(e);
    if (value === undefined) continue; // the parser reported it
    if (!APPLIED.includes(key) && !IGNORED.has(key)) {
      diag.error(
        e.span,
        `${e.key}: not a known configuration option${
          didYouMean(key, [...APPLIED, ...IGNORED])
        }`,
      );
      continue;
    }
    if (seen.has(key)) {
      diag.error(e.span, `${e.key}: set twice in the config block`);
      continue;
    }
    seen.add(key);
    const bad = (expected: string) =>
      diag.error(
        e.value.span,
        `Invalid value ${
          quote(String(value))
        } for ${key}: expected ${expected}`,
      );
    switch (key) {
      case "max_map_keys":
        if (typeof value !== "bigint" || value < 1n || value > 0xffffffffn) {
          bad("an integer from 1 to 4294967295");
        } else if (!envSet("BPFTRACE_MAP_KEYS_MAX")) {
          // The variable tsbpf reads (bpftrace 0.17's name) wins.
          out.maxMapKeys = Number(value);
        }
        break;
      case "print_maps_on_exit":
        if (value === true || value === 1n || value === "true") {
          out.printMapsOnExit = true;
        } else if (value === false || value === 0n || value === "false") {
          out.printMapsOnExit = false;
        } else bad("true, false, 1 or 0");
        break;
      case "stack_mode":
      case "max_strlen":
      case "missing_probes":
      case "str_trunc_trailer": {
        if (key === "stack_mode" && value === "build_id") {
          diag.error(
            e.value.span,
            "stack_mode build_id is not supported by tsbpf",
          );
          break;
        }
        const p = apply(out, key, value);
        if ("expected" in p) bad(p.expected);
        break;
      }
      default:
        warn(e.span, `${key} is not supported by tsbpf: ignored`);
    }
  }
  // As in bpftrace, the environment wins over the block.
  readEnv(out);
  return out;
}

/** Sets `out`'s settings from the environment; throws on a bad value. */
function readEnv(out: ScriptConfig): void {
  for (const [key, names] of Object.entries(ENV)) {
    const name = names.find(envSet);
    if (name === undefined) continue;
    const value = envVar(name)!;
    const raw = key === "max_strlen" || key === "str_trunc_trailer";
    const p = apply(out, key, raw ? value : value.trim());
    if ("expected" in p) {
      throw new RangeError(
        `Invalid ${name} ${quote(value)}: expected ${p.expected}`,
      );
    }
  }
}

/**
 * Checks the environment variables that set what a config block sets
 * (the CLI's usage check, before anything is compiled).
 *
 * @example Usage
 * ```ts
 * import { checkConfigEnv } from "./config.ts";
 * checkConfigEnv();
 * ```
 *
 * @throws {RangeError} A bad value of one of them.
 */
export function checkConfigEnv(): void {
  readEnv({ warnings: [] });
}

/**
 * Adds the cause to a "Stack limit exceeded" error when `max_strlen`
 * made strings larger than tsbpf's default: they live on the 512-byte
 * BPF stack.
 *
 * @example Usage
 * ```ts
 * import { explainStackLimit } from "./config.ts";
 * import { Diagnostics } from "./diagnostics.ts";
 * import assert from "node:assert/strict";
 * const diag = new Diagnostics();
 * const span = { start: 0, end: 1, line: 1, col: 1 };
 * diag.error(span, "Stack limit exceeded: the probe needs more than 512 bytes");
 * explainStackLimit(diag, 1024);
 * assert.match(diag.errors[0].message, /max_strlen is 1024/);
 * ```
 *
 * @param diag The compile's diagnostics.
 * @param maxStrlen The `max_strlen` in effect.
 */
export function explainStackLimit(diag: Diagnostics, maxStrlen: number): void {
  for (const e of diag.errors) {
    if (e.message.startsWith("Stack limit exceeded")) {
      e.message += ` (max_strlen is ${maxStrlen}: tsbpf keeps strings on ` +
        "the BPF stack, lower max_strlen or read shorter strings with " +
        "str(p, n))";
    }
  }
}

/**
 * The part of a config the running session uses, warnings rendered with
 * their source line: `Program.config`.
 *
 * @example Usage
 * ```ts
 * import { readConfig, sessionConfig } from "./config.ts";
 * import { Diagnostics } from "./diagnostics.ts";
 * import { parse } from "./parser.ts";
 * import assert from "node:assert/strict";
 * const src = "config = { on_stack_limit = 32 } begin { }";
 * const diag = new Diagnostics("stdin", src);
 * const c = sessionConfig(readConfig(parse(src).ast.config, diag), diag);
 * assert.match(c.warnings[0], /^stdin:1:12: WARNING: on_stack_limit is not supported by tsbpf/);
 * ```
 *
 * @param config The checked block.
 * @param diag The compile's diagnostics (for the source text).
 * @param defaultStrlen The string size without `max_strlen`.
 * @returns What `Program.config` holds.
 */
export function sessionConfig(
  config: ScriptConfig,
  diag: Diagnostics,
  defaultStrlen = 64,
): NonNullable<Program["config"]> {
  return {
    ...(config.printMapsOnExit === undefined
      ? {}
      : { printMapsOnExit: config.printMapsOnExit }),
    ...(config.missingProbes === undefined
      ? {}
      : { missingProbes: config.missingProbes }),
    ...(config.strTruncTrailer === undefined ? {} : {
      strTruncTrailer: {
        size: config.maxStrlen ?? defaultStrlen,
        text: config.strTruncTrailer,
      },
    }),
    warnings: config.warnings.map((w) => w.format(diag.source, diag.file)),
  };
}
