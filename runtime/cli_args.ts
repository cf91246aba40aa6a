/**
 * Command-line arguments of `mod.ts`, bpftrace-compatible where bpftrace has
 * the flag.
 *
 * @module
 */

import { FlagError, parseFlags } from "./args.ts";

/** Which engine runs the program. */
export type BackendChoice = "auto" | "kernel" | "interp";

/** Parsed command line. */
export interface CliOptions {
  /** Program text from `-e`. */
  expr?: string;
  /** Script file (first positional when there is no `-e`). */
  file?: string;
  /** Positional parameters `$1`, `$2`, … */
  params: string[];
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
  dryRun: boolean;
  verbose: boolean;
  backend: BackendChoice;
  duration?: number;
  seed?: number;
  rate?: number;
  unsafe: boolean;
  /** `--max-map-keys N`: keys a map holds at most (`max_map_keys`). */
  maxMapKeys?: number;
  /** `--run-system-on-synthetic-events`: let system() run in the interpreter. */
  runSystemOnSynthetic: boolean;
  help: boolean;
  version: boolean;
}

/** The usage text printed by `--help`. */
export const USAGE = `USAGE:
    tsbpf [options] FILENAME [ARGS...]
    tsbpf [options] -e 'program' [ARGS...]
    tsbpf -l [PATTERN]
    tsbpf --asm FILE [--mem HEX] [--no-verify] [-d]

OPTIONS:
    -e PROGRAM       program text (bpftrace language)
    -l [PATTERN]     list tracepoints (and uprobe:BIN:* symbols) matching PATTERN;
                     with -v (-lv), each tracepoint's arguments and their types
    -p PID           trace only this process
    -c 'CMD'         run CMD, trace it, exit when it exits
    -f text|json     output format (default text)
    -o FILE          write output to FILE
    -d               print the bytecode of every probe
    -v               verbose: which engine runs, the whole verifier log on
                     rejection; with -l, each tracepoint's arguments
    --dry-run        compile and verify, attach nothing
    --backend B      auto (default), kernel or interp
    --duration S     stop after S seconds
    --seed N         seed of the synthetic events (interpreter)
    --rate N         synthetic events per second per probe (interpreter)
    --max-map-keys N keys a map holds at most (default 4096, or
                     BPFTRACE_MAP_KEYS_MAX); updates a full map refuses are reported
    --unsafe         allow system(), cat() and signal(); on synthetic events
                     (interpreter) system() prints the command, not runs it
    --run-system-on-synthetic-events
                     with --unsafe: run system() for synthetic events too
    --asm FILE       assemble FILE, verify it and run it once in the interpreter
    --mem HEX        bytes r1 points at in --asm mode (r2 holds their length)
    --no-verify      skip our verifier in --asm mode
    -h, --help       this text
    --version        the version
`;

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
  let parsed;
  try {
    parsed = parseFlags(argv, {
      e: { type: "string", short: "e" },
      l: { type: "boolean", short: "l" },
      p: { type: "string", short: "p" },
      c: { type: "string", short: "c" },
      f: { type: "string", short: "f" },
      o: { type: "string", short: "o" },
      d: { type: "boolean", short: "d" },
      v: { type: "boolean", short: "v" },
      h: { type: "boolean", short: "h" },
      help: { type: "boolean" },
      version: { type: "boolean" },
      "dry-run": { type: "boolean" },
      backend: { type: "string" },
      duration: { type: "string" },
      seed: { type: "string" },
      rate: { type: "string" },
      unsafe: { type: "boolean" },
      "max-map-keys": { type: "string" },
      "run-system-on-synthetic-events": { type: "boolean" },
      asm: { type: "string" },
      mem: { type: "string" },
      "no-verify": { type: "boolean" },
    });
  } catch (e) {
    if (e instanceof FlagError) throw new UsageError(e.message);
    throw e;
  }
  const v = parsed.values;
  const format = v.f ?? "text";
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
  const positionals = [...parsed.positionals];
  const list = v.l ? positionals.shift() ?? "" : undefined;
  const file = v.e === undefined && list === undefined && v.asm === undefined
    ? positionals.shift()
    : undefined;
  return {
    expr: v.e,
    file,
    params: positionals,
    list,
    asm: v.asm,
    mem: v.mem,
    noVerify: v["no-verify"] ?? false,
    pid: num("-p", v.p),
    command: v.c,
    format,
    output: v.o,
    disasm: v.d ?? false,
    dryRun: v["dry-run"] ?? false,
    verbose: v.v ?? false,
    backend,
    duration: num("--duration", v.duration, false),
    seed: num("--seed", v.seed),
    rate: num("--rate", v.rate, false),
    unsafe: v.unsafe ?? false,
    maxMapKeys: mapKeys(v["max-map-keys"]),
    runSystemOnSynthetic: v["run-system-on-synthetic-events"] ?? false,
    help: (v.h ?? false) || (v.help ?? false),
    version: v.version ?? false,
  };
}
