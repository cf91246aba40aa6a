/**
 * The plumbing every script in `scripts/` shares: the common options
 * (`--help`, `--duration S`, `-p PID`, `--backend`, `--seed`, `--rate`),
 * Ctrl-C handling, and turning any failure into one line on standard error
 * and an exit status (never a stack trace).
 *
 * @module
 */

import { FlagError, parseFlags } from "../args.ts";
import type { BackendChoice } from "../cli_args.ts";
import type { TraceOptions } from "./trace.ts";

/** Flag specs of the common options (see `../args.ts`). */
export const COMMON_OPTIONS = {
  help: { type: "boolean", short: "h" },
  duration: { type: "string" },
  p: { type: "string", short: "p" },
  backend: { type: "string" },
  seed: { type: "string" },
  rate: { type: "string" },
  record: { type: "string" },
  replay: { type: "string" },
} as const;

/** Help lines of the common options. */
export const COMMON_HELP =
  `    --duration S     stop after S seconds (default: run until Ctrl-C)
    -p PID           trace only this process
    --backend B      auto (default), kernel or interp
    --seed N         seed of the synthetic events (interpreter)
    --rate N         synthetic events per second per probe (interpreter)
    --record FILE    record every run of the probes to FILE (kernel)
    --replay FILE    run over a recording or perf.data file (interpreter)
    -h, --help       this text
`;

/** A command-line mistake: printed as one line, exit status 2. */
export class ToolUsageError extends TypeError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ToolUsageError";
  }
}

/** The common options, validated. */
export interface CommonOptions {
  help: boolean;
  durationMs?: number;
  pid?: number;
  backend: BackendChoice;
  seed?: number;
  rate?: number;
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
  record?: string;
  replay?: string;
}): CommonOptions {
  const backend = values.backend ?? "auto";
  if (backend !== "auto" && backend !== "kernel" && backend !== "interp") {
    throw new ToolUsageError(
      `Option --backend must be auto, kernel or interp, got "${backend}"`,
    );
  }
  const duration = numberOption("--duration", values.duration, false);
  return {
    help: values.help ?? false,
    durationMs: duration === undefined ? undefined : duration * 1000,
    pid: numberOption("-p", values.p),
    backend,
    seed: numberOption("--seed", values.seed),
    rate: numberOption("--rate", values.rate, false),
    record: values.record,
    replay: values.replay,
  };
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
 * 1 for anything else, reported as `NAME: message` on one line.
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
  const onSignal = () => abort.abort();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    await body(abort.signal);
    return 0;
  } catch (e) {
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
