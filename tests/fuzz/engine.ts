/**
 * The fuzz engine shared by the compiler and bytecode fuzzers: a seeded
 * random source, the case loop with its time and memory oracle, and the
 * report. Each case draws from its own generator seeded by (seed, case
 * index), so any case can be replayed alone (`deno task fuzz --seed S
 * --case I`) and a run interrupted at case I resumes from I + 1.
 *
 * @module
 */

/** A seeded pseudo-random source (mulberry32). */
export class Rand {
  #a: number;

  /** Makes a source from a 32-bit seed. */
  constructor(seed: number) {
    this.#a = seed >>> 0;
  }

  /** The source for case `index` of a run seeded `seed`. */
  static forCase(seed: number, index: number): Rand {
    return new Rand(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ index);
  }

  /** A float in [0, 1). */
  next(): number {
    this.#a = (this.#a + 0x6d2b79f5) >>> 0;
    let t = this.#a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A 32-bit unsigned integer. */
  u32(): number {
    return Math.floor(this.next() * 4294967296);
  }

  /** One element of `xs`. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** What the oracle found wrong with a case. */
export type FindingKind =
  /** An exception other than the documented error types. */
  | "crash"
  /** A compile error without a FILE:LINE:COL location. */
  | "unlocated"
  /** A CLI exit code other than 0, 1 or 2. */
  | "exit-code"
  /** A program our verifier accepted faulted in the interpreter. */
  | "fault"
  /** A case took longer than the time bound (confirmed by a rerun). */
  | "slow"
  /** A case did not finish at all (task mode only). */
  | "hang"
  /** A case needed more heap than the bound (its runner died). */
  | "memory";

/** One finding: the input that provokes it, to replay. */
export interface Finding {
  kind: FindingKind;
  fuzzer: string;
  /** Case index within the run (replay with the same seed). */
  index: number;
  detail: string;
  input: string;
}

/** What one check says about an input. */
export interface Verdict {
  /** A label counted in the report (`ok`, `errors`, `rejected`…). */
  outcome: string;
  /** Set when the oracle failed. */
  finding?: { kind: FindingKind; detail: string };
  /** Milliseconds under the time bound, when not the whole check. */
  ms?: number;
}

/** A fuzzer: makes inputs and judges them. */
export interface Fuzzer {
  /** Name in reports. */
  readonly name: string;
  /** The input of one case, from its own random source. */
  generate(rand: Rand): string;
  /** Runs one input through the code under test and judges the outcome. */
  check(input: string): Verdict | Promise<Verdict>;
}

/** The time bound per case: the 1 s. */
export const SLOW_MS = 1000;

/**
 * The heap bound: runner processes run with `--max-old-space-size` set to
 * this, so a case that needs more dies there, and the parent records it.
 */
export const HEAP_MB = 300;

/** Counts of one run. */
export interface Report {
  cases: number;
  outcomes: Record<string, number>;
  findings: Finding[];
  ms: number;
  slowestMs: number;
  slowest: string;
}

/** An empty report. */
export function newReport(): Report {
  return {
    cases: 0,
    outcomes: {},
    findings: [],
    ms: 0,
    slowestMs: 0,
    slowest: "",
  };
}

/**
 * Runs case `index` of `fuzzer` and records it into `report`. A slow case
 * is run again before it counts as a finding: the machine is shared, and
 * a one-off stall is not the code's. A verdict may give its own `ms` (the
 * part under the time bound).
 */
export async function runCase(
  fuzzer: Fuzzer,
  seed: number,
  index: number,
  report: Report,
  slowMs = SLOW_MS,
): Promise<void> {
  const input = fuzzer.generate(Rand.forCase(seed, index));
  const judge = async (): Promise<[Verdict, number]> => {
    const t0 = performance.now();
    let v: Verdict;
    try {
      v = await fuzzer.check(input);
    } catch (e) {
      v = {
        outcome: "crash",
        finding: { kind: "crash", detail: describe(e) },
      };
    }
    return [v, v.ms ?? performance.now() - t0];
  };
  let [v, ms] = await judge();
  if (v.finding === undefined && ms > slowMs) {
    [v, ms] = await judge();
    if (v.finding === undefined && ms > slowMs) {
      v = {
        outcome: "slow",
        finding: { kind: "slow", detail: `${ms.toFixed(0)} ms twice` },
      };
    }
  }
  record(report, fuzzer.name, index, v, ms, input);
}

/** Adds one judged case to `report`. */
export function record(
  report: Report,
  fuzzer: string,
  index: number,
  v: Verdict,
  ms: number,
  input: string,
): void {
  report.cases++;
  report.outcomes[v.outcome] = (report.outcomes[v.outcome] ?? 0) + 1;
  if (ms > report.slowestMs) {
    report.slowestMs = ms;
    report.slowest = `${fuzzer} #${index}`;
  }
  if (v.finding !== undefined) {
    report.findings.push({ ...v.finding, fuzzer, index, input });
  }
}

/** An exception as one line plus the top of its stack. */
export function describe(e: unknown): string {
  if (!(e instanceof Error)) return `non-Error thrown: ${String(e)}`;
  const stack = (e.stack ?? "").split("\n").slice(1, 6).join("\n");
  return `${e.name}: ${e.message.slice(0, 300)}\n${stack}`;
}

/** A finding as text, the input shortened for a terminal. */
export function formatFinding(f: Finding, maxInput = 400): string {
  const input = f.input.length > maxInput
    ? `${f.input.slice(0, maxInput)}… (${f.input.length} chars)`
    : f.input;
  return `[${f.kind}] ${f.fuzzer} case ${f.index}: ${f.detail}\n  input: ${
    JSON.stringify(input)
  }`;
}

/** The report as a few lines. */
export function formatReport(name: string, r: Report): string {
  const kinds: Record<string, number> = {};
  for (const f of r.findings) kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
  return `${name}: ${r.cases} cases in ${(r.ms / 1000).toFixed(1)} s, ` +
    `outcomes ${JSON.stringify(r.outcomes)}, ` +
    `findings ${r.findings.length} ${JSON.stringify(kinds)}, ` +
    `slowest ${r.slowestMs.toFixed(0)} ms (${r.slowest})`;
}
