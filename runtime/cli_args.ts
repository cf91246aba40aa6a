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
  /** `-l [PATTERN]`: list probes instead of running. */
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

/** The usage text printed by `--help`. */
export const USAGE = `USAGE:
    tsbpf [options] FILENAME [ARGS...]
    tsbpf [options] -e 'program' [ARGS...]
    tsbpf -l [PATTERN]
    tsbpf --asm FILE [--mem HEX] [--no-verify] [-d]

OPTIONS:
    -e PROGRAM       program text (bpftrace language)
    -l [PATTERN]     list tracepoints (and uprobe:BIN:* symbols) matching PATTERN
    -p PID           trace only this process
    -c 'CMD'         run CMD, trace it, exit when it exits
    -f text|json     output format (default text)
    -o FILE          write output to FILE
    -d               print the bytecode of every probe
    -v               verbose: the whole verifier log on rejection
    --dry-run        compile and verify, attach nothing
    --backend B      auto (default), kernel or interp
    --duration S     stop after S seconds
    --seed N         seed of the synthetic events (interpreter)
    --rate N         synthetic events per second per probe (interpreter)
    --unsafe         allow system(), cat() and signal()
    --record FILE    record every run of the probes to FILE (kernel engine)
    --replay FILE    run over a recording or a perf.data file (interpreter)
    --realtime       replay at the recorded pace
    --salvage        replay the part of a damaged recording before the damage
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
  // `-l` takes an optional pattern: rewrite a bare -l into -l "".
  const argv = [...args];
  const li = argv.indexOf("-l");
  if (li >= 0 && (li === argv.length - 1 || argv[li + 1].startsWith("-"))) {
    argv.splice(li + 1, 0, "");
  }
  let parsed;
  try {
    parsed = parseFlags(argv, {
      e: { type: "string", short: "e" },
      l: { type: "string", short: "l" },
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
      asm: { type: "string" },
      mem: { type: "string" },
      "no-verify": { type: "boolean" },
      record: { type: "string" },
      replay: { type: "string" },
      realtime: { type: "boolean" },
      salvage: { type: "boolean" },
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
  if (v.record !== undefined && v.replay !== undefined) {
    throw new UsageError("--record and --replay cannot be used together");
  }
  if (v.replay === undefined && (v.realtime || v.salvage)) {
    throw new UsageError(
      `${v.realtime ? "--realtime" : "--salvage"} needs --replay FILE`,
    );
  }
  const positionals = [...parsed.positionals];
  const file = v.e === undefined && v.l === undefined && v.asm === undefined
    ? positionals.shift()
    : undefined;
  return {
    expr: v.e,
    file,
    params: positionals,
    list: v.l,
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
    record: v.record,
    replay: v.replay,
    realtime: v.realtime ?? false,
    salvage: v.salvage ?? false,
    help: (v.h ?? false) || (v.help ?? false),
    version: v.version ?? false,
  };
}
