/**
 * Command-line arguments of `mod.ts`, bpftrace-compatible where bpftrace has
 * the flag.
 *
 * @module
 */

import { FlagError, parseFlags } from "./args.ts";
import {
  type MetricsAddress,
  parseMetricsAddress,
  parseMetricsLabels,
} from "./metrics/options.ts";

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
  help: boolean;
  version: boolean;
}

/** The usage text printed by `--help`. */
export const USAGE = `USAGE:
    tsbpf [options] FILENAME [ARGS...]
    tsbpf [options] -e 'program' [ARGS...]
    tsbpf -l [PATTERN]
    tsbpf serve --metrics [HOST:]PORT FILE.bt...   (see tsbpf serve --help)
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
    --metrics [HOST:]PORT
                     serve the maps at http://HOST:PORT/metrics for
                     Prometheus (HOST defaults to 127.0.0.1)
    --metrics-labels 'MAP=NAME,...[;MAP=...]'
                     label names of a map's keys (default: from the keys)
    --metrics-prefix P
                     metric name prefix (default tsbpf_)
    --metrics-max-series N
                     label sets shown per map (default 10000)
    --remote-write URL
                     push the maps to a Prometheus remote-write endpoint
    --remote-write-interval S
                     seconds between pushes (default 15)
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
      metrics: { type: "string" },
      "metrics-labels": { type: "string" },
      "metrics-prefix": { type: "string" },
      "metrics-max-series": { type: "string" },
      "remote-write": { type: "string" },
      "remote-write-interval": { type: "string" },
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
  const metrics = metricsValues(v);
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
    ...metrics,
    help: (v.h ?? false) || (v.help ?? false),
    version: v.version ?? false,
  };
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
