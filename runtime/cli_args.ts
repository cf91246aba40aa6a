/**
 * Command-line arguments of `mod.ts`, bpftrace-compatible where bpftrace has
 * the flag.
 *
 * @module
 */

import { FlagError, parseDuration, parseFlags } from "./args.ts";
import {
  type MetricsAddress,
  parseMetricsAddress,
  parseMetricsLabels,
} from "./metrics/options.ts";

import type { BackendChoice } from "./engines/backend.ts";

/** Parsed command line. */
export interface CliOptions {
  /** Program text from `-e`. */
  expr?: string;
  /** Script file (first positional when there is no `-e`). */
  file?: string;
  /** Positional parameters `$1`, `$2`, … */
  params: string[];
  /**
   * Named parameters after `--` (`--name=value`, or `--name` without a
   * value), read by `getopt()` (bpftrace 0.26).
   */
  named: Map<string, string | undefined>;
  /** `-l [PATTERN]`: list probes instead of running (with -v, their fields). */
  list?: string;
  /** `--asm FILE`: the eBPF playground. */
  asm?: string;
  /** `--mem HEX`: playground input bytes. */
  mem?: string;
  noVerify: boolean;
  pid?: number;
  command?: string;
  format: "text" | "json";
  output?: string;
  disasm: boolean;
  /** `-d STAGE[,STAGE]`: the debug stages asked for (`-d` alone: `dis`). */
  debug: DebugStage[];
  dryRun: boolean;
  /** `--probe-filter REGEX`: attach only the probes it matches. */
  probeFilter?: string;
  /** `--test` / `--bench`: run the `test:` / `bench:` probes. */
  mode?: "test" | "bench";
  verbose: boolean;
  /** `-q`: no attach line. */
  quiet: boolean;
  /** `-k`/`-kk`: report BPF helper errors (accepted; tsbpf warns). */
  helperErrors: boolean;
  /** `--no-warnings`: print no warnings. */
  noWarnings: boolean;
  /**
   * bpftrace 0.17 spellings that 0.26 refuses and tsbpf still runs: the
   * warning for each, with bpftrace's migration hint.
   */
  migrationHints: string[];
  /** `--include FILE` (repeatable): as `#include <FILE>` in the program. */
  includes: string[];
  backend: BackendChoice;
  duration?: number;
  seed?: number;
  rate?: number;
  unsafe: boolean;
  /** `--max-map-keys N`: keys a map holds at most (`max_map_keys`). */
  maxMapKeys?: number;
  /** `--run-system-on-synthetic-events`: let system() run in the interpreter. */
  runSystemOnSynthetic: boolean;
  /** `--metrics [HOST:]PORT`: serve the maps at /metrics. */
  metrics?: MetricsAddress;
  /** `--metrics-labels`: label names per map. */
  metricsLabels?: Record<string, string[]>;
  /** `--metrics-prefix`: metric name prefix. */
  metricsPrefix?: string;
  /** `--metrics-max-series`: label sets per map. */
  metricsMaxSeries?: number;
  /** `--remote-write URL`: push the maps to a remote-write endpoint. */
  remoteWrite?: string;
  /** `--remote-write-interval S`: seconds between pushes. */
  remoteWriteInterval?: number;
  /** `--record FILE`: record every run of the probes to FILE. */
  record?: string;
  /** `--replay FILE`: run over a recording (or perf.data) instead. */
  replay?: string;
  /** `--realtime`: replay in recorded time, not as fast as possible. */
  realtime: boolean;
  /** `--salvage`: replay what precedes damage in a recording. */
  salvage: boolean;
  help: boolean;
  version: boolean;
}

/** One option of the command line: its spelling, its value and its help. */
export interface CliOption {
  /** The one-letter spelling after a single dash (`-e`). */
  short?: string;
  /** The spelling after two dashes (`--duration`). */
  long?: string;
  /** `"boolean"` for a switch, `"string"` for an option with a value. */
  type: "boolean" | "string";
  /** The value's name in the help (`PROGRAM`, `S`, `[PATTERN]`). */
  value?: string;
  /** What the option does, in one line. */
  help: string;
  /**
   * What shell completion offers as the value: a list of words, files,
   * process ids or commands. Nothing: no completion for the value.
   */
  complete?: readonly string[] | "file" | "pid" | "command";
}

/**
 * Every option of the command line, in the order `--help` lists them: the
 * one table the parser, `--help`, the shell completions and the man page are
 * made from. Add an option here and all four know it.
 */
export const CLI_OPTIONS = [
  {
    short: "e",
    type: "string",
    value: "PROGRAM",
    help: "program text (bpftrace language)",
  },
  {
    short: "l",
    long: "list",
    type: "boolean",
    value: "[PATTERN]",
    help: "list tracepoints (and uprobe:BIN:* symbols) matching PATTERN;\n" +
      "with -v (-lv), each tracepoint's arguments and their types",
  },
  {
    short: "p",
    long: "pid",
    type: "string",
    value: "PID",
    help: "trace only this process, exit when it exits",
    complete: "pid",
  },
  {
    short: "c",
    long: "cmd",
    type: "string",
    value: "'CMD'",
    help: "run CMD, trace it, exit when it exits",
    complete: "command",
  },
  {
    short: "f",
    type: "string",
    value: "text|json",
    help: "output format (default text)",
    complete: ["text", "json"],
  },
  {
    short: "o",
    long: "output",
    type: "string",
    value: "FILE",
    help: "write output to FILE",
    complete: "file",
  },
  {
    short: "d",
    long: "debug",
    type: "boolean",
    value: "[STAGE]",
    help: "print a stage of the compile (stdout): parse, ast, types,\n" +
      "codegen, codegen-opt or dis (the bytecode; -d alone), verifier,\n" +
      "libbpf, or all; several: ast,dis",
  },
  {
    short: "v",
    long: "verbose",
    type: "boolean",
    help: "verbose: which engine runs, the whole verifier log on\n" +
      "rejection; with -l, each tracepoint's arguments",
  },
  { short: "q", long: "quiet", type: "boolean", help: "quiet: no attach line" },
  {
    short: "k",
    long: "warnings",
    type: "boolean",
    help: "report BPF helper errors (-kk as well): accepted for\n" +
      "bpftrace's scripts; tsbpf does not report them yet and says so",
  },
  {
    long: "no-warnings",
    type: "boolean",
    help: "print no warnings",
  },
  {
    long: "include",
    type: "string",
    value: "FILE",
    help: "as '#include <FILE>' in the program (repeatable)",
    complete: "file",
  },
  {
    long: "dry-run",
    type: "boolean",
    help: "load and attach every probe, then exit (no output);\n" +
      "with --backend interp: compile and verify only, no privileges",
  },
  {
    long: "probe-filter",
    type: "string",
    value: "REGEX",
    help: "attach only the probes whose name REGEX matches\n" +
      "(begin and end always run)",
  },
  {
    long: "mode",
    type: "string",
    value: "test|bench",
    help: "as --test or --bench (bpftrace's other modes are not in tsbpf)",
    complete: ["test", "bench"],
  },
  {
    long: "test",
    type: "boolean",
    help: "run the test:NAME probes (after begin, before end)\n" +
      "and report which pass; other probes are not attached",
  },
  {
    long: "bench",
    type: "boolean",
    help: "run the bench:NAME probes and report the average time\n" +
      "of one run; other probes are not attached",
  },
  {
    long: "backend",
    type: "string",
    value: "B",
    help: "auto (default), kernel or interp",
    complete: ["auto", "kernel", "interp"],
  },
  {
    long: "duration",
    type: "string",
    value: "S",
    help: "stop after S seconds (or 500ms, 2m, 1h)",
  },
  {
    long: "seed",
    type: "string",
    value: "N",
    help: "seed of the synthetic events (interpreter)",
  },
  {
    long: "rate",
    type: "string",
    value: "N",
    help: "synthetic events per second per probe (interpreter)",
  },
  {
    long: "max-map-keys",
    type: "string",
    value: "N",
    help: "keys a map holds at most (default 4096, or\n" +
      "BPFTRACE_MAP_KEYS_MAX); updates a full map refuses are reported",
  },
  {
    long: "unsafe",
    type: "boolean",
    help: "allow system(), cat() and signal(); on synthetic events\n" +
      "(interpreter) system() prints the command, not runs it",
  },
  {
    long: "run-system-on-synthetic-events",
    type: "boolean",
    help: "with --unsafe: run system() for synthetic events too",
  },
  {
    long: "metrics",
    type: "string",
    value: "[HOST:]PORT",
    help: "serve the maps at http://HOST:PORT/metrics for\n" +
      "Prometheus (HOST defaults to 127.0.0.1)",
  },
  {
    long: "metrics-labels",
    type: "string",
    value: "'MAP=NAME,...[;MAP=...]'",
    help: "label names of a map's keys (default: from the keys)",
  },
  {
    long: "metrics-prefix",
    type: "string",
    value: "P",
    help: "metric name prefix (default tsbpf_)",
  },
  {
    long: "metrics-max-series",
    type: "string",
    value: "N",
    help: "label sets shown per map (default 10000)",
  },
  {
    long: "remote-write",
    type: "string",
    value: "URL",
    help: "push the maps to a Prometheus remote-write endpoint",
  },
  {
    long: "remote-write-interval",
    type: "string",
    value: "S",
    help: "seconds between pushes (default 15)",
  },
  {
    long: "record",
    type: "string",
    value: "FILE",
    help: "record every run of the probes to FILE (kernel engine)",
    complete: "file",
  },
  {
    long: "replay",
    type: "string",
    value: "FILE",
    help: "run over a recording or a perf.data file (interpreter)",
    complete: "file",
  },
  {
    long: "realtime",
    type: "boolean",
    help: "replay at the recorded pace",
  },
  {
    long: "salvage",
    type: "boolean",
    help: "replay the part of a damaged recording before the damage",
  },
  {
    long: "asm",
    type: "string",
    value: "FILE",
    help: "assemble FILE, verify it and run it once in the interpreter",
    complete: "file",
  },
  {
    long: "mem",
    type: "string",
    value: "HEX",
    help: "bytes r1 points at in --asm mode (r2 holds their length)",
  },
  {
    long: "no-verify",
    type: "boolean",
    help: "skip our verifier in --asm mode",
  },
  { short: "h", long: "help", type: "boolean", help: "this text" },
  { short: "V", long: "version", type: "boolean", help: "the version" },
] as const satisfies readonly CliOption[];

/** The stage names `-d` takes, as bpftrace 0.26 names them. */
export const DEBUG_STAGES = [
  "parse",
  "ast",
  "types",
  "codegen",
  "codegen-opt",
  "dis",
  "libbpf",
  "verifier",
] as const;

/** One `-d` stage. */
export type DebugStage = typeof DEBUG_STAGES[number];

/**
 * Parses a `-d` argument: stage names separated by commas, or `all`.
 *
 * @throws {UsageError} for a name bpftrace does not know.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDebugStages } from "./cli_args.ts";
 *
 * assert.deepEqual(parseDebugStages("ast,dis"), ["ast", "dis"]);
 * assert.equal(parseDebugStages("all").length, 8);
 * ```
 */
export function parseDebugStages(arg: string): DebugStage[] {
  const out = new Set<DebugStage>();
  for (const s of arg.split(",")) {
    if (s === "") continue;
    if (s === "all") { for (const x of DEBUG_STAGES) out.add(x); }
    else if ((DEBUG_STAGES as readonly string[]).includes(s)) {
      out.add(s as DebugStage);
    } else {
      throw new UsageError(
        `Invalid option for -d: "${s}" (stages: all, ${
          DEBUG_STAGES.join(", ")
        })`,
      );
    }
  }
  return [...out];
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** True for a word that names debug stages (`ast`, `all`, `ast,dis`). */
function isStageList(word: string | undefined): boolean {
  return word !== undefined &&
    word.split(",").every((s) =>
      s === "all" || (DEBUG_STAGES as readonly string[]).includes(s)
    );
}

/**
 * Removes every `-d [STAGE]`, `-dSTAGE`, `--debug [STAGE]` and
 * `--debug=STAGE` before `--` from `argv` (bpftrace's `-d` takes a
 * stage; tsbpf's `-d` alone, the bytecode, stays valid) and returns the
 * stages (`-d` combined with other letters, `-dv`, is left to the flag
 * parser: the bytecode).
 */
function takeDebug(argv: string[]): DebugStage[] {
  const stages: DebugStage[] = [];
  for (let i = 0; i < argv.length;) {
    const arg = argv[i];
    if (arg === "--") break;
    let value: string | undefined;
    let taken = 1;
    if (arg === "-d" || arg === "--debug") {
      const next = argv[i + 1];
      // A stage-like word that names no file is a stage, perhaps a wrong
      // one (bpftrace: "invalid option for -d"); a file is the script.
      if (
        isStageList(next) ||
        (next !== undefined && /^[a-z][a-z,-]*$/.test(next) && !isFile(next))
      ) {
        value = next;
        taken = 2;
      } else value = "dis";
    } else if (arg.startsWith("--debug=")) value = arg.slice(8);
    else if (/^-d[a-z]/.test(arg) && isStageList(arg.slice(2))) {
      value = arg.slice(2);
    }
    if (value === undefined) {
      i++;
      continue;
    }
    stages.push(...parseDebugStages(value));
    argv.splice(i, taken);
  }
  return [...new Set(stages)];
}

/** The forms of the command line, as `--help` and the man page show them. */
export const CLI_SYNOPSIS: readonly string[] = [
  "tsbpf [options] FILENAME [ARGS...]",
  "tsbpf [options] -e 'program' [ARGS...]",
  "tsbpf -l [PATTERN]",
  "tsbpf serve --metrics [HOST:]PORT FILE.bt...   (see tsbpf serve --help)",
  "tsbpf --asm FILE [--mem HEX] [--no-verify] [-d]",
  "tsbpf completions bash|zsh",
];

/**
 * How an option is written in the help: `-e PROGRAM`, `-h, --help`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { optionSpelling } from "./cli_args.ts";
 *
 * assert.equal(optionSpelling({ short: "h", long: "help", type: "boolean", help: "" }), "-h, --help");
 * assert.equal(optionSpelling({ long: "seed", type: "string", value: "N", help: "" }), "--seed N");
 * ```
 */
export function optionSpelling(o: CliOption): string {
  const names = [
    o.short === undefined ? undefined : `-${o.short}`,
    o.long === undefined ? undefined : `--${o.long}`,
  ].filter((n) => n !== undefined).join(", ");
  return o.value === undefined ? names : `${names} ${o.value}`;
}

/** The parser's flag set: each option under its long name, else its letter. */
type FlagsOf<T extends readonly CliOption[]> = {
  [
    O in T[number] as O extends { long: string } ? O["long"]
      : O["short"] & string
  ]: { type: O["type"]; short?: string };
};

function flagSpecs(): FlagsOf<typeof CLI_OPTIONS> {
  const specs: Record<string, { type: "boolean" | "string"; short?: string }> =
    {};
  for (const o of CLI_OPTIONS as readonly CliOption[]) {
    specs[o.long ?? o.short!] = { type: o.type, short: o.short };
  }
  return specs as FlagsOf<typeof CLI_OPTIONS>;
}

/** One option's lines in `--help`: spelling, then help; long ones wrap. */
function helpLines(o: CliOption): string {
  const spelling = optionSpelling(o);
  const [first, ...rest] = o.help.split("\n");
  const pad = " ".repeat(21);
  const head = spelling.length > 16
    ? `    ${spelling}\n${pad}${first}\n`
    : `    ${spelling.padEnd(16)} ${first}\n`;
  return head + rest.map((l) => `${pad}${l}\n`).join("");
}

/** The usage text printed by `--help`, made from {@linkcode CLI_OPTIONS}. */
export const USAGE: string = `USAGE:
${CLI_SYNOPSIS.map((l) => `    ${l}\n`).join("")}
OPTIONS:
${(CLI_OPTIONS as readonly CliOption[]).map(helpLines).join("")}`;

/** A command-line usage mistake, reported as one sentence. */
export class UsageError extends TypeError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function num(
  name: string,
  v: string | undefined,
  integer = true,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `Option ${name} needs a non-negative number, got "${v}"`,
    );
  }
  return n;
}

function duration(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const s = parseDuration(v);
  if (s === undefined) {
    throw new UsageError(
      `Option --duration needs a duration such as 10, 1.5s, 500ms or 2m, got "${v}"`,
    );
  }
  return s;
}

function mapKeys(v: string | undefined): number | undefined {
  const n = num("--max-map-keys", v);
  if (n !== undefined && (n < 1 || n > 0xffffffff)) {
    throw new UsageError(
      `Option --max-map-keys needs an integer from 1 to 4294967295, got "${v}"`,
    );
  }
  return n;
}

/**
 * Parses the command line.
 *
 * @throws {UsageError} for unknown options or bad values.
 * @example Parse a one-liner
 * ```ts
 * import { parseCli } from "./cli_args.ts";
 * const o = parseCli(["-e", "BEGIN { exit(); }", "--backend", "interp"]);
 * console.assert(o.expr === "BEGIN { exit(); }" && o.backend === "interp");
 * ```
 */
export function parseCli(args: string[]): CliOptions {
  // `-l` is a switch, as in bpftrace: its pattern is the first positional,
  // so `-lv PATTERN` and `-l -v PATTERN` mean the same.
  const argv = [...args];
  const named = takeNamed(argv);
  const includes = takeRepeated(argv, "include");
  const migrationHints = oldSpellings(argv);
  const debug = takeDebug(argv);
  let parsed;
  try {
    parsed = parseFlags(argv, flagSpecs());
  } catch (e) {
    if (e instanceof FlagError) throw new UsageError(e.message);
    throw e;
  }
  const v = parsed.values;
  const format = v.f ?? "text";
  const mode = modeOf(v.mode, v.test, v.bench);
  if (format !== "text" && format !== "json") {
    throw new UsageError(
      `Output format must be "text" or "json", got "${format}"`,
    );
  }
  const backend = v.backend ?? "auto";
  if (backend !== "auto" && backend !== "kernel" && backend !== "interp") {
    throw new UsageError(
      `Backend must be "auto", "kernel" or "interp", got "${backend}"`,
    );
  }
  if (v["run-system-on-synthetic-events"] && !v.unsafe) {
    throw new UsageError(
      "Option --run-system-on-synthetic-events needs --unsafe",
    );
  }
  const metrics = metricsValues(v);
  if (v.record !== undefined && v.replay !== undefined) {
    throw new UsageError("--record and --replay cannot be used together");
  }
  if (v.replay === undefined && (v.realtime || v.salvage)) {
    throw new UsageError(
      `${v.realtime ? "--realtime" : "--salvage"} needs --replay FILE`,
    );
  }
  const positionals = [...parsed.positionals];
  const list = v.list ? positionals.shift() ?? "" : undefined;
  const file = v.e === undefined && list === undefined && v.asm === undefined
    ? positionals.shift()
    : undefined;
  return {
    expr: v.e,
    file,
    params: positionals,
    named,
    list,
    asm: v.asm,
    mem: v.mem,
    noVerify: v["no-verify"] ?? false,
    pid: num("-p", v.pid),
    command: v.cmd,
    format,
    output: v.output,
    disasm:
      debug.some((s) =>
        s === "dis" || s === "codegen" || s === "codegen-opt"
      ) || (v.debug ?? false),
    debug: v.debug && debug.length === 0 ? ["dis"] : debug,
    dryRun: v["dry-run"] ?? false,
    ...(v["probe-filter"] === undefined
      ? {}
      : { probeFilter: v["probe-filter"] }),
    ...(mode === undefined ? {} : { mode }),
    verbose: v.verbose ?? false,
    quiet: v.quiet ?? false,
    helperErrors: v.warnings ?? false,
    noWarnings: v["no-warnings"] ?? false,
    migrationHints,
    includes,
    backend,
    duration: duration(v.duration),
    seed: num("--seed", v.seed),
    rate: num("--rate", v.rate, false),
    unsafe: v.unsafe ?? false,
    maxMapKeys: mapKeys(v["max-map-keys"]),
    runSystemOnSynthetic: v["run-system-on-synthetic-events"] ?? false,
    ...metrics,
    record: v.record,
    replay: v.replay,
    realtime: v.realtime ?? false,
    salvage: v.salvage ?? false,
    help: v.help ?? false,
    version: v.version ?? false,
  };
}

/**
 * Removes the named parameters (`--name[=value]`) after `--` from `argv`
 * and returns them; the positional ones stay.
 */
function takeNamed(argv: string[]): Map<string, string | undefined> {
  const named = new Map<string, string | undefined>();
  const dash = argv.indexOf("--");
  if (dash < 0) return named;
  const rest = argv.splice(dash + 1);
  for (const a of rest) {
    if (!a.startsWith("--") || a === "--") {
      argv.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    if (eq < 0) named.set(a.slice(2), undefined);
    else named.set(a.slice(2, eq), a.slice(eq + 1));
  }
  return named;
}

/**
 * Removes every `--NAME VALUE` and `--NAME=VALUE` before `--` from `argv`
 * and returns the values in order (the flag parser keeps only the last).
 */
function takeRepeated(argv: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < argv.length;) {
    const arg = argv[i];
    if (arg === "--") break;
    if (arg === `--${name}`) {
      if (i + 1 >= argv.length) {
        throw new UsageError(`Option '--${name}' needs a value`);
      }
      values.push(argv[i + 1]);
      argv.splice(i, 2);
    } else if (arg.startsWith(`--${name}=`)) {
      values.push(arg.slice(name.length + 3));
      argv.splice(i, 1);
    } else {
      i++;
    }
  }
  return values;
}

/**
 * The bpftrace 0.17 spellings in `argv` (before `--`) that bpftrace 0.26
 * refuses and tsbpf still runs, each with its migration hint: `-kk`
 * (0.23 made `-k` alone report errors) and `-d`/`-dd` without a stage
 * (0.20 made `-d` take one).
 */
function oldSpellings(argv: readonly string[]): string[] {
  const hints: string[] = [];
  const end = argv.indexOf("--");
  const args = end < 0 ? argv : argv.slice(0, end);
  const ks = args.filter((a) => /^-k+$/.test(a))
    .reduce((n, a) => n + a.length - 1, 0);
  if (ks > 1) {
    hints.push(
      "-kk has been deprecated. Use a single -k for runtime warnings for errors in map lookups and probe reads.",
    );
  }
  const bare = args.some((a, i) =>
    a === "-dd" ||
    ((a === "-d" || a === "--debug") && !isStageList(args[i + 1]) &&
      !(args[i + 1] !== undefined && /^[a-z][a-z,-]*$/.test(args[i + 1]) &&
        !isFile(args[i + 1])))
  );
  if (bare) {
    hints.push(
      "-d takes a stage since bpftrace 0.20 (-d dis for the bytecode, -d all for every stage); tsbpf reads -d alone as -d dis",
    );
  }
  return hints;
}

/** `--mode`, `--test`, `--bench`: at most one, as bpftrace. */
function modeOf(
  mode: string | undefined,
  test: boolean | undefined,
  bench: boolean | undefined,
): "test" | "bench" | undefined {
  if (test && bench) {
    throw new UsageError("--test and --bench cannot be used together");
  }
  if (mode !== undefined && (test || bench)) {
    throw new UsageError(
      `--${test ? "test" : "bench"} conflicts with existing --mode`,
    );
  }
  if (mode !== undefined && mode !== "test" && mode !== "bench") {
    throw new UsageError(
      `--mode can only be 'test' or 'bench' in tsbpf, got "${mode}"`,
    );
  }
  return (mode as "test" | "bench" | undefined) ??
    (test ? "test" : bench ? "bench" : undefined);
}

/** The metrics exporter's options. */
type MetricsCliOptions = Pick<
  CliOptions,
  | "metrics"
  | "metricsLabels"
  | "metricsPrefix"
  | "metricsMaxSeries"
  | "remoteWrite"
  | "remoteWriteInterval"
>;

/** The `--metrics*` and `--remote-write*` options, checked. */
function metricsValues(v: {
  metrics?: string;
  "metrics-labels"?: string;
  "metrics-prefix"?: string;
  "metrics-max-series"?: string;
  "remote-write"?: string;
  "remote-write-interval"?: string;
}): MetricsCliOptions {
  const out: MetricsCliOptions = {};
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof RangeError) throw new UsageError(e.message);
      throw e;
    }
  };
  if (v.metrics !== undefined) {
    out.metrics = wrap(() => parseMetricsAddress(v.metrics!));
  }
  if (v["metrics-labels"] !== undefined) {
    out.metricsLabels = wrap(() => parseMetricsLabels(v["metrics-labels"]!));
  }
  if (v["metrics-prefix"] !== undefined) {
    out.metricsPrefix = v["metrics-prefix"];
  }
  out.metricsMaxSeries = num("--metrics-max-series", v["metrics-max-series"]);
  if (out.metricsMaxSeries === undefined) delete out.metricsMaxSeries;
  if (v["remote-write"] !== undefined) out.remoteWrite = v["remote-write"];
  const interval = num(
    "--remote-write-interval",
    v["remote-write-interval"],
    false,
  );
  if (interval !== undefined) {
    if (interval <= 0) {
      throw new UsageError(
        `Option --remote-write-interval needs a positive number, got "${
          v["remote-write-interval"]
        }"`,
      );
    }
    if (out.remoteWrite === undefined) {
      throw new UsageError(
        "Option --remote-write-interval needs --remote-write URL",
      );
    }
    out.remoteWriteInterval = interval;
  }
  const extra = ["metrics-labels", "metrics-prefix", "metrics-max-series"]
    .find((k) => v[k as keyof typeof v] !== undefined);
  if (
    out.metrics === undefined && out.remoteWrite === undefined &&
    extra !== undefined
  ) {
    throw new UsageError(
      `Option --${extra} needs --metrics [HOST:]PORT or --remote-write URL`,
    );
  }
  return out;
}
