/**
 * The script's `config = { ... }` block, checked: which settings tsbpf
 * applies, and a warning for each one it does not support yet.
 *
 * Keys are written as bpftrace allows: `stack_mode`, `STACK_MODE` or
 * `BPFTRACE_STACK_MODE`. As in bpftrace, the environment wins over the
 * block: `BPFTRACE_MAP_KEYS_MAX` over `max_map_keys`.
 *
 * @module
 */

import type { ConfigBlock, ConfigEntry, Span } from "./ast.ts";
import { CompileError, type Diagnostics, quote } from "./diagnostics.ts";
import { didYouMean } from "./suggest.ts";
import { envVar } from "../probes/env.ts";

/** The settings of a config block, as tsbpf uses them. */
export interface ScriptConfig {
  /** `max_map_keys`: keys a map holds at most. */
  maxMapKeys?: number;
  /** `print_maps_on_exit`: whether maps print at exit (default true). */
  printMapsOnExit?: boolean;
  /** `stack_mode`: how `kstack`/`ustack` without a mode print. */
  stackMode?: "perf" | "raw";
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
  "str_trunc_trailer",
  "unstable_tseries",
  "unstable_dw_ustack",
]);

/** Settings tsbpf reads, and those it knows but does not apply. */
const APPLIED = ["max_map_keys", "print_maps_on_exit", "stack_mode"];
const CHECKED = ["max_strlen", "missing_probes"];

/** The stack modes tsbpf prints (bpftrace's `build_id` it does not). */
const STACK_MODES = ["bpftrace", "perf", "raw"];

/** A stack mode's setting: undefined for bpftrace's own (the default). */
function stackModeOf(v: string): "perf" | "raw" | undefined {
  return v === "perf" || v === "raw" ? v : undefined;
}

/** Bytes of a string in tsbpf (bpftrace 0.17's `BPFTRACE_STRLEN`). */
const STRLEN = 64;

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

/**
 * Checks a config block: errors for unknown keys and bad values go to
 * `diag`; the settings tsbpf applies are returned, with a warning for
 * each setting it does not support yet. `BPFTRACE_STACK_MODE` in the
 * environment applies with or without a block (and wins over it).
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
 * @throws {RangeError} A bad `BPFTRACE_STACK_MODE` in the environment.
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
    const key = e.key.toLowerCase().replace(/^bpftrace_/, "");
    const value = valueOf(e);
    if (value === undefined) continue; // the parser reported it
    const known = APPLIED.includes(key) || CHECKED.includes(key) ||
      IGNORED.has(key);
    if (!known) {
      diag.error(
        e.span,
        `${e.key}: not a known configuration option${
          didYouMean(key, [...APPLIED, ...CHECKED, ...IGNORED])
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
      case "max_strlen":
        if (typeof value !== "bigint" || value < 1n) {
          bad("a positive integer");
        } else if (value !== BigInt(STRLEN)) {
          warn(
            e.span,
            `max_strlen is not supported yet: strings stay ${STRLEN} bytes`,
          );
        }
        break;
      case "missing_probes":
        if (!["error", "warn", "ignore"].includes(String(value))) {
          bad('"error", "warn" or "ignore"');
        } else if (value !== "error") {
          warn(
            e.span,
            "missing_probes is not supported yet: a probe that cannot be attached is an error",
          );
        }
        break;
      case "stack_mode":
        if (value === "build_id") {
          diag.error(
            e.value.span,
            "stack_mode build_id is not supported by tsbpf",
          );
        } else if (!STACK_MODES.includes(String(value))) {
          bad('"bpftrace", "perf" or "raw"');
        } else out.stackMode = stackModeOf(String(value));
        break;
      default:
        warn(e.span, `${key} is not supported by tsbpf: ignored`);
    }
  }
  // As in bpftrace, the environment wins over the block.
  const env = envVar("BPFTRACE_STACK_MODE");
  if (env !== undefined && env !== "") {
    if (!STACK_MODES.includes(env)) {
      throw new RangeError(
        `Invalid BPFTRACE_STACK_MODE "${env}": expected bpftrace, perf or raw`,
      );
    }
    const mode = stackModeOf(env);
    if (mode === undefined) delete out.stackMode;
    else out.stackMode = mode;
  }
  return out;
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
 * @returns What `Program.config` holds.
 */
export function sessionConfig(
  config: ScriptConfig,
  diag: Diagnostics,
): { printMapsOnExit?: boolean; warnings: string[] } {
  return {
    ...(config.printMapsOnExit === undefined
      ? {}
      : { printMapsOnExit: config.printMapsOnExit }),
    warnings: config.warnings.map((w) => w.format(diag.source, diag.file)),
  };
}
