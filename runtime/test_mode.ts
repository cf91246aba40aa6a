/**
 * `--test` and `--bench`: bpftrace 0.26's `test:NAME` and `bench:NAME`
 * probes. Outside these modes such probes are left out of the program;
 * in them, the program's other probes are left out, `begin` runs, then
 * every test (or benchmark) in the order written, then `end` and the maps.
 *
 * A test passes when its probe returns 0 and running it raised no error;
 * its output is shown only when it fails. A benchmark runs its probe
 * more times (1, then ×1000, ×100, ×10, ×2 as the measured time grows)
 * until the runs took 1 ms in all, and reports the average time of one
 * run; a probe returning non-zero skips its benchmark.
 *
 * @module
 */

import type { Program } from "./program.ts";
import type { Session } from "./session.ts";

/** Which probes `--test` or `--bench` runs. */
export type ProbeMode = "test" | "bench";

/** A program with test or bench probes and nothing to run without them. */
export class NothingToRunError extends Error {
  /** Creates the error for the mode the program needs. */
  constructor(mode: ProbeMode) {
    super(
      `No probes attached; use --${mode} to run ${
        mode === "test" ? "test" : "benchmark"
      } probes.`,
    );
    this.name = "NothingToRunError";
  }
}

/**
 * The program as run in a mode: without a mode, its `test:` and `bench:`
 * probes are dropped; with `"test"` (`"bench"`), every probe but
 * `begin`/`end` and the `test:` (`bench:`) probes is.
 *
 * @throws {NothingToRunError} without a mode, when only test or bench
 * probes were there (as bpftrace, which then attaches nothing).
 * @example Keep the tests
 * ```ts
 * import assert from "node:assert/strict";
 * import { compile } from "./compiler/compile.ts";
 * import { probesForMode } from "./test_mode.ts";
 *
 * const p = compile("begin { } test:a { } interval:s:1 { }");
 * assert.deepEqual(probesForMode(p, "test").probes.map((x) => x.name), ["BEGIN", "test_a"]);
 * assert.deepEqual(probesForMode(p).probes.map((x) => x.name), ["BEGIN", "interval_s_1"]);
 * ```
 */
export function probesForMode(program: Program, mode?: ProbeMode): Program {
  const kindOf = (p: Program["probes"][number]) => p.attach[0]?.kind;
  const probes = program.probes.filter((p) => {
    const k = kindOf(p);
    if (k === "test" || k === "bench") return k === mode;
    return mode === undefined || k === "BEGIN" || k === "END";
  });
  if (mode === undefined && probes.length === 0) {
    const dropped = program.probes.map(kindOf);
    if (dropped.includes("test")) throw new NothingToRunError("test");
    if (dropped.includes("bench")) throw new NothingToRunError("bench");
  }
  return probes.length === program.probes.length
    ? program
    : { ...program, probes };
}

/** How results are written. */
export interface ModeOutput {
  /** `text` (bpftrace's gtest-like lines) or `json` (one record each). */
  format: "text" | "json";
  /** Colour the text markers (a terminal without NO_COLOR). */
  color: boolean;
  /** Where results go. */
  write: (text: string) => void;
  /**
   * Sends the session's output elsewhere (a function) or back (undefined):
   * a test's output is kept to be shown if it fails; a benchmark's is
   * dropped.
   */
  divert: (to: ((text: string) => void) | undefined) => void;
  /** Where a failed benchmark's error goes (standard error). */
  error: (line: string) => void;
}

/** One test's result. */
export interface TestResult {
  /** The name after `test:`. */
  name: string;
  /** Whether it passed. */
  passed: boolean;
  /** Nanoseconds its run took. */
  durationNs: number;
  /** What it printed (and the error that stopped it, if one did). */
  output: string;
}

/** One benchmark's result. */
export interface BenchResult {
  /** The name after `bench:`. */
  name: string;
  /** Average nanoseconds of one run. */
  averageNs: number;
  /** Runs the average is over. */
  iters: number;
}

const GREEN = "\x1b[32m";
const RED = "\x1b[31m";
const RESET = "\x1b[0m";

/**
 * A duration as bpftrace shows a test's: whole nanoseconds, microseconds
 * (`μs`), milliseconds or seconds, the largest unit it reaches.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTestDuration } from "./test_mode.ts";
 *
 * assert.equal(formatTestDuration(999), "999 ns");
 * assert.equal(formatTestDuration(12_345), "12 μs");
 * assert.equal(formatTestDuration(3_000_000_000), "3 s");
 * ```
 */
export function formatTestDuration(ns: number): string {
  const units: [number, string][] = [[1e9, "s"], [1e6, "ms"], [1e3, "μs"]];
  for (const [scale, unit] of units) {
    if (ns >= scale) return `${Math.floor(ns / scale)} ${unit}`;
  }
  return `${Math.floor(ns)} ns`;
}

function mark(text: string, color: string | undefined): string {
  return color === undefined ? text : `${color}${text}${RESET}`;
}

/**
 * The text bpftrace prints for test `index` of `results` (all results up
 * to it known): a header before the first, the RUN line, the output of a
 * failed test, the OK/FAILED line, and after the last a summary.
 *
 * @example Two tests, one failing
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTestText } from "./test_mode.ts";
 *
 * const r = [
 *   { name: "okay", passed: true, durationNs: 900, output: "hidden\n" },
 *   { name: "bad", passed: false, durationNs: 2000, output: "shown\n" },
 * ];
 * assert.equal(
 *   formatTestText(r, 0, 2, false) + formatTestText(r, 1, 2, false),
 *   "[==========] Running 2 tests.\n" +
 *     "[ RUN      ] okay\n[       OK ] okay (900 ns)\n" +
 *     "[ RUN      ] bad\nshown\n[  FAILED  ] bad (2 μs)\n" +
 *     "[==========] 2 tests ran.\n[  PASSED  ] 1 test.\n" +
 *     "[  FAILED  ] 1 test, listed below:\n[  FAILED  ] bad\n",
 * );
 * ```
 */
export function formatTestText(
  results: readonly TestResult[],
  index: number,
  total: number,
  color: boolean,
): string {
  const ok = color ? GREEN : undefined;
  const bad = color ? RED : undefined;
  const plural = (n: number) => n === 1 ? "test" : "tests";
  const r = results[index];
  let out = "";
  // "tests" even for one, as bpftrace.
  if (index === 0) {
    out += `${mark("[==========]", ok)} Running ${total} tests.\n`;
  }
  out += `${mark("[ RUN      ]", ok)} ${r.name}\n`;
  if (r.passed) out += `${mark("[       OK ]", ok)} ${r.name}`;
  else {
    for (const line of r.output.split("\n")) {
      if (line !== "") out += line + "\n";
    }
    out += `${mark("[  FAILED  ]", bad)} ${r.name}`;
  }
  out += ` (${formatTestDuration(r.durationNs)})\n`;
  if (index === total - 1) {
    const failed = results.filter((x) => !x.passed);
    const passed = results.length - failed.length;
    out += `${mark("[==========]", ok)} ${total} ${plural(total)} ran.\n`;
    out += `${mark("[  PASSED  ]", ok)} ${passed} ${plural(passed)}.\n`;
    if (failed.length > 0) {
      out += `${mark("[  FAILED  ]", bad)} ${failed.length} ${
        plural(failed.length)
      }, listed below:\n`;
      for (const f of failed) out += `${mark("[  FAILED  ]", bad)} ${f.name}\n`;
    }
  }
  return out;
}

/**
 * The text bpftrace prints for benchmark `index`: a header and a rule
 * before the first, then `NAME  AVERAGE  ITERATIONS` in columns.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatBenchText } from "./test_mode.ts";
 *
 * const text = formatBenchText({ name: "a", averageNs: 41.7, iters: 24000 }, 0, ["a"]);
 * assert.equal(text.split("\n")[2], "a".padEnd(41) + "41".padEnd(15) + "24000");
 * ```
 */
export function formatBenchText(
  r: BenchResult,
  index: number,
  names: readonly string[],
): string {
  const width = Math.max(40, ...names.map((n) => n.length)) + 1;
  let out = "";
  if (index === 0) {
    out += "Benchmark".padEnd(width) + "Time(ns)".padEnd(15) + "Iterations\n";
    out += "-".repeat(width + 15 + "Iterations".length) + "\n";
  }
  return out + r.name.padEnd(width) +
    String(Math.floor(r.averageNs)).padEnd(15) + `${r.iters}\n`;
}

function jsonString(s: string): string {
  return JSON.stringify(s);
}

/**
 * A test's JSON record, as bpftrace 0.26 writes it.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTestJson } from "./test_mode.ts";
 *
 * assert.equal(
 *   formatTestJson({ name: "t", passed: true, durationNs: 5, output: "" }),
 *   '{"type": "test_result", "data": {"t": {"duration": 5, "passed": true, "output": ""}}}\n',
 * );
 * ```
 */
export function formatTestJson(r: TestResult): string {
  return `{"type": "test_result", "data": {${
    jsonString(r.name)
  }: {"duration": ${
    Math.floor(r.durationNs)
  }, "passed": ${r.passed}, "output": ${jsonString(r.output)}}}}\n`;
}

/**
 * A benchmark's JSON record, as bpftrace 0.26 writes it.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatBenchJson } from "./test_mode.ts";
 *
 * assert.equal(
 *   formatBenchJson({ name: "a", averageNs: 40.2, iters: 1000 }),
 *   '{"type": "benchmark_result", "data": {"a": {"average": 40, "iters": 1000}}}\n',
 * );
 * ```
 */
export function formatBenchJson(r: BenchResult): string {
  return `{"type": "benchmark_result", "data": {${
    jsonString(r.name)
  }: {"average": ${Math.floor(r.averageNs)}, "iters": ${r.iters}}}}\n`;
}

/** The probes of `mode`'s kind, with their index and name. */
function modeProbes(
  program: Program,
  mode: ProbeMode,
): { index: number; name: string }[] {
  const out: { index: number; name: string }[] = [];
  program.probes.forEach((p, index) => {
    const a = p.attach[0];
    if (a?.kind === mode) out.push({ index, name: a.target });
  });
  return out;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs every test or benchmark of a started session (its `begin` ran)
 * and writes the results; the caller then finishes the session (`end`,
 * maps). Returns the exit status: 1 when a test or benchmark failed.
 *
 * @example Run the tests of a program (interpreter)
 * ```ts ignore
 * import { runProbeMode } from "./test_mode.ts";
 * const status = await runProbeMode(session, "test", output);
 * ```
 */
export async function runProbeMode(
  session: Session,
  mode: ProbeMode,
  out: ModeOutput,
): Promise<number> {
  const engine = session.engine;
  if (engine.runProbe === undefined) {
    throw new TypeError(`This engine cannot run ${mode} probes`);
  }
  const run = engine.runProbe.bind(engine);
  const probes = modeProbes(session.program, mode);
  let status = 0;
  if (mode === "test") {
    const results: TestResult[] = [];
    for (const [i, p] of probes.entries()) {
      let output = "";
      out.divert((t) => output += t);
      let passed = false;
      let durationNs = 0;
      try {
        const r = await run(p.index, 1);
        durationNs = r.averageNs;
        await session.pump(0);
        passed = r.retval === 0;
      } catch (e) {
        output += `ERROR: ${errorText(e)}\n`;
      } finally {
        out.divert(undefined);
      }
      results.push({ name: p.name, passed, durationNs, output });
      if (!passed) status = 1;
      out.write(
        out.format === "json"
          ? formatTestJson(results[i])
          : formatTestText(results, i, probes.length, out.color),
      );
    }
    return status;
  }
  const names = probes.map((p) => p.name);
  let shown = 0;
  for (const p of probes) {
    let iters = 1;
    let result: BenchResult | undefined;
    out.divert(() => {});
    try {
      for (;;) {
        const r = await run(p.index, iters);
        await session.pump(0);
        if (r.retval !== 0) break; // skipped, as bpftrace
        const total = r.averageNs * iters;
        if (total < 1e3) iters *= 1000;
        else if (total < 1e4) iters *= 100;
        else if (total < 1e5) iters *= 10;
        else if (total < 1e6) iters *= 2;
        else {
          result = { name: p.name, averageNs: r.averageNs, iters };
          break;
        }
      }
    } catch (e) {
      out.divert(undefined);
      out.error(`ERROR: Benchmark '${p.name}' failed: ${errorText(e)}`);
      status = 1;
      continue;
    } finally {
      out.divert(undefined);
    }
    if (result === undefined) continue;
    out.write(
      out.format === "json"
        ? formatBenchJson(result)
        : formatBenchText(result, shown, names),
    );
    shown++;
  }
  return status;
}
