/**
 * The plumbing every script in `scripts/` shares, public so that a user's
 * own script behaves like the bundled ones: the common options (`--help`,
 * `--duration S`, `-p PID`, `--backend`, `--seed`, `--rate`), the table
 * options (`-i`/`--interval S`, `-T`/`--top N`), Ctrl-C handling, and
 * turning any failure into one line on standard error and an exit status
 * (never a stack trace). `mod.ts` exports all of it.
 *
 * @example A complete tool: options, help, Ctrl-C, a table per interval
 * ```ts
 * import {
 *   COMMON_HELP,
 *   commonOptions,
 *   formatTable,
 *   intervalHeader,
 *   out,
 *   parseTool,
 *   runTool,
 *   TABLE_OPTIONS,
 *   tableHelp,
 *   tableOptions,
 *   trace,
 *   traceOptions,
 * } from "../../mod.ts";
 *
 * const DEFAULTS = { interval: 1, top: 5 };
 * const USAGE = `USAGE: opens.ts [options]\n\nOPTIONS:\n` +
 *   tableHelp(DEFAULTS) + COMMON_HELP;
 *
 * async function main(signal: AbortSignal): Promise<void> {
 *   const v = parseTool(["--backend", "interp", "--duration", "2"], TABLE_OPTIONS);
 *   const common = commonOptions(v);
 *   if (common.help) return out(USAGE);
 *   const { intervalMs, top } = tableOptions(v, DEFAULTS);
 *   await using session = await trace(
 *     "tracepoint:syscalls:sys_enter_openat { @opens[comm] = count(); }",
 *     { ...traceOptions(common, signal), realtime: false },
 *   );
 *   out("Tracing openat()... Hit Ctrl-C to end.\n");
 *   const opens = session.map<string, number>("opens");
 *   for await (const _ of session.every(intervalMs!)) {
 *     const rows = opens.entries().sort((a, b) => b[1] - a[1]).slice(0, top)
 *       .map(([comm, n]) => ({ comm, n }));
 *     out(`\n${intervalHeader()}\n` + formatTable(rows, [
 *       { key: "comm", title: "COMM", width: 16 },
 *       { key: "n", title: "OPENS" },
 *     ]));
 *   }
 * }
 *
 * // In a script: if (import.meta.main) Deno.exit(await runTool("opens", main));
 * const status = await runTool("opens", main);
 * console.assert(status === 0);
 * ```
 *
 * @module
 */

import { FlagError, parseDuration, parseFlags } from "../args.ts";
import type { BackendChoice } from "../engines/backend.ts";
import { parseMetricsAddress, parseMetricsLabels } from "../metrics/options.ts";
import {
  handOffProbes,
  type TraceMetricsOptions,
  type TraceOptions,
  type TraceRemoteWriteOptions,
} from "./trace.ts";

/** Flag specs of the common options (see `../args.ts`). */
export const COMMON_OPTIONS = {
  help: { type: "boolean", short: "h" },
  duration: { type: "string" },
  p: { type: "string", short: "p" },
  backend: { type: "string" },
  seed: { type: "string" },
  rate: { type: "string" },
  metrics: { type: "string" },
  "metrics-labels": { type: "string" },
  "metrics-prefix": { type: "string" },
  "metrics-max-series": { type: "string" },
  "remote-write": { type: "string" },
  "remote-write-interval": { type: "string" },
  record: { type: "string" },
  replay: { type: "string" },
} as const;

/** Help lines of the common options. */
export const COMMON_HELP =
  `    --duration S     stop after S seconds, or 500ms, 2m, 1h (default: until Ctrl-C)
    -p PID           trace only this process, exit when it exits
    --backend B      auto (default), kernel or interp
    --seed N         seed of the synthetic events (interpreter)
    --rate N         synthetic events per second per probe (interpreter)
    --metrics [HOST:]PORT
                     serve the maps at http://HOST:PORT/metrics for
                     Prometheus (HOST defaults to 127.0.0.1)
    --metrics-labels 'MAP=NAME,...[;MAP=...]'
                     label names of a map's keys
    --metrics-prefix P
                     metric name prefix (default tsbpf_)
    --metrics-max-series N
                     label sets shown per map (default 10000)
    --remote-write URL
                     push the maps to a Prometheus remote-write endpoint
    --remote-write-interval S
                     seconds between pushes (default 15)
    --record FILE    record every run of the probes to FILE (kernel)
    --replay FILE    run over a recording or perf.data file (interpreter)
    -h, --help       this text
`;

/**
 * A command-line mistake: {@linkcode runTool} prints it as one line ending
 * in `; try --help`, with exit status 2.
 *
 * @example Refuse a bad combination of options
 * ```ts
 * import assert from "node:assert/strict";
 * import { runTool, ToolUsageError } from "./tool.ts";
 *
 * const lines: string[] = [];
 * const status = await runTool("demo", () => {
 *   throw new ToolUsageError("Choose one of -a and -b");
 * }, (line) => lines.push(line));
 * assert.equal(status, 2);
 * assert.deepEqual(lines, ["demo: Choose one of -a and -b; try --help"]);
 * ```
 */
export class ToolUsageError extends TypeError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ToolUsageError";
  }
}

/** The common options, validated. */
export interface CommonOptions {
  /** `-h`/`--help`: print the usage and exit. */
  help: boolean;
  /** `--duration S`, in milliseconds; undefined: until Ctrl-C. */
  durationMs?: number;
  /** `-p PID`: trace only this process. */
  pid?: number;
  /** `--backend`: the engine. */
  backend: BackendChoice;
  /** `--seed N`: seed of the synthetic events (interpreter). */
  seed?: number;
  /** `--rate N`: synthetic events per second per probe (interpreter). */
  rate?: number;
  /** `--metrics` and its companions. */
  metrics?: TraceMetricsOptions;
  /** `--remote-write` and its companions. */
  remoteWrite?: TraceRemoteWriteOptions;
  /** `--record FILE`. */
  record?: string;
  /** `--replay FILE`. */
  replay?: string;
}

/**
 * Parses a non-negative number option.
 *
 * @throws {ToolUsageError} when `text` is not a non-negative number.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberOption } from "./tool.ts";
 *
 * assert.equal(numberOption("--duration", "1.5", false), 1.5);
 * assert.equal(numberOption("-p", undefined), undefined);
 * assert.throws(() => numberOption("-p", "x"), /Option -p needs/);
 * ```
 */
export function numberOption(
  name: string,
  text: string | undefined,
  integer = true,
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (
    text.trim() === "" || !Number.isFinite(n) || n < 0 ||
    (integer && !Number.isInteger(n))
  ) {
    throw new ToolUsageError(
      `Option ${name} needs a non-negative ${
        integer ? "integer" : "number"
      }, got "${text}"`,
    );
  }
  return n;
}

/**
 * Parses a script's command line: its own options plus
 * {@linkcode COMMON_OPTIONS}; positionals are refused.
 *
 * @throws {ToolUsageError} for unknown options or missing values.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTool } from "./tool.ts";
 *
 * const v = parseTool(["--duration", "2", "-P"], { P: { type: "boolean", short: "P" } });
 * assert.equal(v.duration, "2");
 * assert.equal(v.P, true);
 * ```
 */
export function parseTool<
  O extends Record<
    string,
    { type: "string" | "boolean"; short?: string }
  >,
>(
  args: string[],
  options: O,
): {
  [K in keyof (O & typeof COMMON_OPTIONS)]?: (
    & O
    & typeof COMMON_OPTIONS
  )[K]["type"] extends "boolean" ? boolean : string;
} {
  try {
    const { values } = parseFlags(
      args,
      { ...COMMON_OPTIONS, ...options },
      false,
    );
    return values as never;
  } catch (e) {
    if (e instanceof FlagError) throw new ToolUsageError(e.message);
    throw e;
  }
}

/**
 * Validates the common options.
 *
 * @throws {ToolUsageError} for bad numbers or an unknown backend.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { commonOptions } from "./tool.ts";
 *
 * const c = commonOptions({ duration: "3", backend: "interp" });
 * assert.equal(c.durationMs, 3000);
 * assert.equal(commonOptions({ duration: "250ms" }).durationMs, 250);
 * assert.equal(c.backend, "interp");
 * ```
 */
export function commonOptions(values: {
  help?: boolean;
  duration?: string;
  p?: string;
  backend?: string;
  seed?: string;
  rate?: string;
  metrics?: string;
  "metrics-labels"?: string;
  "metrics-prefix"?: string;
  "metrics-max-series"?: string;
  "remote-write"?: string;
  "remote-write-interval"?: string;
  record?: string;
  replay?: string;
}): CommonOptions {
  const backend = values.backend ?? "auto";
  if (backend !== "auto" && backend !== "kernel" && backend !== "interp") {
    throw new ToolUsageError(
      `Option --backend must be auto, kernel or interp, got "${backend}"`,
    );
  }
  const duration = values.duration === undefined
    ? undefined
    : parseDuration(values.duration);
  if (values.duration !== undefined && duration === undefined) {
    throw new ToolUsageError(
      `Option --duration needs a duration such as 10, 1.5s, 500ms or 2m, got "${values.duration}"`,
    );
  }
  const out: CommonOptions = {
    help: values.help ?? false,
    durationMs: duration === undefined ? undefined : duration * 1000,
    pid: numberOption("-p", values.p),
    backend,
    seed: numberOption("--seed", values.seed),
    rate: numberOption("--rate", values.rate, false),
    record: values.record,
    replay: values.replay,
  };
  const metrics = metricsOption(values);
  if (metrics !== undefined) {
    const { listen, ...settings } = metrics;
    if (listen !== "") out.metrics = metrics;
    const url = values["remote-write"];
    if (url !== undefined) {
      out.remoteWrite = { url, ...settings };
      const s = numberOption(
        "--remote-write-interval",
        values["remote-write-interval"],
        false,
      );
      if (s !== undefined) {
        if (s <= 0) {
          throw new ToolUsageError(
            `Option --remote-write-interval needs a positive number, got "${
              values["remote-write-interval"]
            }"`,
          );
        }
        out.remoteWrite.intervalSeconds = s;
      }
    }
  }
  if (
    values["remote-write-interval"] !== undefined &&
    values["remote-write"] === undefined
  ) {
    throw new ToolUsageError(
      "Option --remote-write-interval needs --remote-write URL",
    );
  }
  return out;
}

/** `--metrics` and its companions, checked. */
function metricsOption(values: {
  metrics?: string;
  "metrics-labels"?: string;
  "metrics-prefix"?: string;
  "metrics-max-series"?: string;
  "remote-write"?: string;
}): TraceMetricsOptions | undefined {
  const extra =
    (["metrics-labels", "metrics-prefix", "metrics-max-series"] as const)
      .find((k) => values[k] !== undefined);
  if (values.metrics === undefined && values["remote-write"] === undefined) {
    if (extra !== undefined) {
      throw new ToolUsageError(
        `Option --${extra} needs --metrics [HOST:]PORT or --remote-write URL`,
      );
    }
    return undefined;
  }
  try {
    // No --metrics (remote write alone): an empty listen address.
    if (values.metrics !== undefined) parseMetricsAddress(values.metrics);
    const labels = values["metrics-labels"] === undefined
      ? {}
      : parseMetricsLabels(values["metrics-labels"]);
    const o: TraceMetricsOptions = {
      listen: values.metrics ?? "",
      maps: Object.fromEntries(
        Object.entries(labels).map(([m, l]) => [m, { labels: l }]),
      ),
    };
    if (values["metrics-prefix"] !== undefined) {
      o.prefix = values["metrics-prefix"];
    }
    const max = numberOption(
      "--metrics-max-series",
      values["metrics-max-series"],
    );
    if (max !== undefined) o.maxSeries = max;
    return o;
  } catch (e) {
    if (e instanceof RangeError) throw new ToolUsageError(e.message);
    throw e;
  }
}

/**
 * Flag specs of the options of scripts that print tables: `-i`/`--interval S`
 * (a table every S seconds, under a `[HH:MM:SS]` header) and `-T`/`--top N`
 * (the N largest rows), as BCC's tools spell them.
 */
export const TABLE_OPTIONS = {
  interval: { type: "string", short: "i" },
  top: { type: "string", short: "T" },
} as const;

/** The validated {@linkcode TABLE_OPTIONS}. */
export interface TableOptions {
  /** Milliseconds between tables; undefined: one table, at the end. */
  intervalMs?: number;
  /** How many rows a table shows at most. */
  top: number;
}

/**
 * Help lines of {@linkcode TABLE_OPTIONS}, with the script's defaults
 * (`interval` undefined: one table at the end).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableHelp } from "./tool.ts";
 *
 * assert.match(tableHelp({ interval: 1, top: 10 }), /-T, --top N +show the top N rows \(default 10\)/);
 * ```
 */
export function tableHelp(
  defaults: { interval?: number; top: number },
): string {
  const every = defaults.interval === undefined
    ? "print (and reset) every S seconds"
    : `seconds between tables (default ${defaults.interval})`;
  return `    -i, --interval S ${every}
    -T, --top N      show the top N rows (default ${defaults.top})
`;
}

/**
 * Validates {@linkcode TABLE_OPTIONS}: positive numbers, falling back to
 * the script's defaults.
 *
 * @throws {ToolUsageError} for a zero, negative or non-numeric value.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableOptions } from "./tool.ts";
 *
 * assert.deepEqual(tableOptions({ interval: "2" }, { top: 10 }), { intervalMs: 2000, top: 10 });
 * assert.deepEqual(tableOptions({}, { interval: 1, top: 5 }), { intervalMs: 1000, top: 5 });
 * assert.throws(() => tableOptions({ top: "0" }, { top: 5 }), /--top needs a positive/);
 * ```
 */
export function tableOptions(
  values: { interval?: string; top?: string },
  defaults: { interval?: number; top: number },
): TableOptions {
  const interval = numberOption("--interval", values.interval, false) ??
    defaults.interval;
  const top = numberOption("--top", values.top) ?? defaults.top;
  if (interval === 0) {
    throw new ToolUsageError(
      `Option --interval needs a positive number, got "${values.interval}"`,
    );
  }
  if (top === 0) {
    throw new ToolUsageError(
      `Option --top needs a positive integer, got "${values.top}"`,
    );
  }
  return {
    intervalMs: interval === undefined ? undefined : interval * 1000,
    top,
  };
}

/**
 * The header of one interval's table: the wall-clock time as `[HH:MM:SS]`,
 * as BCC's tools print it.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { intervalHeader } from "./tool.ts";
 *
 * assert.equal(intervalHeader(new Date(2024, 0, 1, 9, 5, 7)), "[09:05:07]");
 * ```
 */
export function intervalHeader(date: Date = new Date()): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `[${two(date.getHours())}:${two(date.getMinutes())}:${
    two(date.getSeconds())
  }]`;
}

/**
 * The `trace()` options a script gets from the common options: the chosen
 * engine, real-time pacing on the interpreter, the duration and the
 * Ctrl-C signal.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { commonOptions, traceOptions } from "./tool.ts";
 *
 * const o = traceOptions(commonOptions({ duration: "1" }), new AbortController().signal);
 * assert.equal(o.durationMs, 1000);
 * assert.equal(o.realtime, true);
 * ```
 */
export function traceOptions(
  common: CommonOptions,
  signal: AbortSignal,
): TraceOptions {
  return {
    backend: common.backend,
    pid: common.pid,
    seed: common.seed,
    rate: common.rate,
    durationMs: common.durationMs,
    signal,
    // A replay goes as fast as it can; synthetic events keep the wall clock.
    realtime: common.replay === undefined,
    record: common.record,
    replay: common.replay,
    announce: true,
    ...(common.metrics === undefined ? {} : { metrics: common.metrics }),
    ...(common.remoteWrite === undefined
      ? {}
      : { remoteWrite: common.remoteWrite }),
  };
}

const encoder = new TextEncoder();

/**
 * Writes text to standard output, all of it.
 *
 * @example Usage
 * ```ts
 * import { out } from "./tool.ts";
 * out("");
 * ```
 */
export function out(text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
}

function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const first = msg.split("\n")[0].trim();
  return first === "" ? "Failed" : first;
}

/**
 * Runs a script's body with Ctrl-C (SIGINT, SIGTERM) wired to an abort
 * signal and returns its exit status: 0 on success, 2 for a usage error,
 * 1 for anything else, reported as `NAME: message` on one line. The first
 * signal aborts (the body's loops end, it prints its summary); a second
 * exits at once with status 130. A closed standard output (`| head -1`)
 * ends the script quietly with status 141, as bpftrace (killed by
 * SIGPIPE) does.
 *
 * @example A body that fails
 * ```ts
 * import assert from "node:assert/strict";
 * import { runTool } from "./tool.ts";
 *
 * const status = await runTool("demo", () => Promise.reject(new Error("Nope")), () => {});
 * assert.equal(status, 1);
 * ```
 */
export async function runTool(
  name: string,
  body: (signal: AbortSignal) => Promise<void>,
  report: (line: string) => void = (line) =>
    Deno.stderr.writeSync(encoder.encode(line + "\n")),
): Promise<number> {
  const abort = new AbortController();
  const onSignal = () => {
    if (!abort.signal.aborted) abort.abort();
    else {
      handOffProbes();
      Deno.exit(130);
    }
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    await body(abort.signal);
    return 0;
  } catch (e) {
    if (e instanceof Deno.errors.BrokenPipe) return 141;
    if (e instanceof ToolUsageError) {
      report(`${name}: ${oneLine(e)}; try --help`);
      return 2;
    }
    if (e instanceof Deno.errors.NotCapable) {
      report(`${name}: ${oneLine(e)}; run with -A`);
      return 1;
    }
    report(`${name}: ${oneLine(e)}`);
    return 1;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}
