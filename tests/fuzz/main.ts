/**
 * `deno task fuzz`: runs the fuzzers for as long as asked, each in runner
 * processes with a 300 MB heap and a per-case watchdog, and prints every
 * finding with the input that provokes it.
 *
 * ```sh
 * deno task fuzz                              # 10,000 cases per fuzzer, seed 1
 * deno task fuzz --cases 100000 --seed 7      # longer, another seed
 * deno task fuzz --only compiler --case 4711  # replay one case
 * ```
 *
 * Options: `--cases N` (compiler and bytecode cases each; the CLI fuzzer
 * runs one case per thousand, at least one), `--seed N`, `--only NAME`
 * (`compiler`, `bytecode` or `cli`), `--case I` (only case I), `--out
 * FILE` (findings as JSON lines). Exit code 0 with no findings, 1 with.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type Finding,
  formatFinding,
  formatReport,
  HEAP_MB,
  newReport,
  Rand,
  record,
  type Report,
} from "./engine.ts";
import { fuzzerNamed } from "./runner.ts";

const RUNNER = new URL("./runner.ts", import.meta.url).pathname;

/** Options of {@linkcode fuzz}. */
export interface FuzzOptions {
  /** Fuzzer name to case range `[from, to)`. */
  plan: Record<string, [number, number]>;
  seed: number;
  /** A case with no result after this long is a hang (default 60 s). */
  hangMs?: number;
  /** Called after every case (progress). */
  onCase?: (fuzzer: string, index: number, report: Report) => void;
  /** Called for every finding as it happens. */
  onFinding?: (f: Finding) => void;
}

/**
 * Runs the plan in runner processes; returns one report per fuzzer. A
 * runner that dies or stalls on a case is recorded against that case and
 * replaced by a new one starting after it.
 */
export async function fuzz(opts: FuzzOptions): Promise<Map<string, Report>> {
  const reports = new Map<string, Report>();
  for (const [name, [from, to]] of Object.entries(opts.plan)) {
    const report = newReport();
    reports.set(name, report);
    const fuzzer = await fuzzerNamed(name);
    const input = (i: number) => {
      try {
        return fuzzer.generate(Rand.forCase(opts.seed, i));
      } catch (e) {
        return `(the generator failed: ${e})`;
      }
    };
    const t0 = performance.now();
    let next = from;
    while (next < to) {
      const died = await runRange(name, opts, next, to, (line) => {
        record(
          report,
          name,
          line.i,
          {
            outcome: line.o,
            ...(line.f ? { finding: line.f } : {}),
          },
          line.ms,
          line.f ? input(line.i) : "",
        );
        next = line.i + 1;
        if (line.f) opts.onFinding?.(report.findings.at(-1)!);
        opts.onCase?.(name, line.i, report);
      });
      if (next >= to) break;
      // The runner ended on case `next` without a result.
      record(
        report,
        name,
        next,
        { outcome: died.kind, finding: died },
        0,
        input(next),
      );
      opts.onFinding?.(report.findings.at(-1)!);
      opts.onCase?.(name, next, report);
      next++;
    }
    report.ms = performance.now() - t0;
  }
  return reports;
}

interface Line {
  i: number;
  o: string;
  ms: number;
  f?: { kind: Finding["kind"]; detail: string };
}

/** Runs one runner process until it finishes or dies; says how it died. */
async function runRange(
  name: string,
  opts: FuzzOptions,
  from: number,
  to: number,
  onLine: (l: Line) => void,
): Promise<{ kind: Finding["kind"]; detail: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-lock",
      `--v8-flags=--max-old-space-size=${HEAP_MB}`,
      RUNNER,
      "--fuzzer",
      name,
      "--seed",
      String(opts.seed),
      "--from",
      String(from),
      "--to",
      String(to),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const hangMs = opts.hangMs ?? 60_000;
  let last = performance.now();
  let hung = false;
  const watchdog = setInterval(() => {
    if (performance.now() - last > hangMs) {
      hung = true;
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }, 1000);
  const errText = new Response(child.stderr).text();
  let buf = "";
  const dec = new TextDecoder();
  for await (const chunk of child.stdout) {
    buf += dec.decode(chunk, { stream: true });
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      last = performance.now();
      onLine(JSON.parse(text) as Line);
    }
  }
  const status = await child.status;
  clearInterval(watchdog);
  const err = await errText;
  if (hung) {
    return { kind: "hang", detail: `no result after ${hangMs / 1000} s` };
  }
  if (/out of memory|heap limit/i.test(err)) {
    return {
      kind: "memory",
      detail: `runner ran out of its ${HEAP_MB} MB heap (exit ${status.code})`,
    };
  }
  return {
    kind: "crash",
    detail: `runner exited ${status.code}${
      status.signal ? ` (${status.signal})` : ""
    }: ${err.slice(-400)}`,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      cases: { type: "string", default: "10000" },
      seed: { type: "string", default: "1" },
      only: { type: "string" },
      case: { type: "string" },
      out: { type: "string" },
    },
  });
  const n = Number(values.cases);
  const seed = Number(values.seed);
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(seed)) {
    console.error(
      "Usage: deno task fuzz [--cases N] [--seed N] [--only NAME] [--case I] [--out FILE]",
    );
    Deno.exit(2);
  }
  const all: Record<string, [number, number]> = {
    compiler: [0, n],
    bytecode: [0, n],
    cli: [0, Math.max(1, Math.floor(n / 1000))],
  };
  const plan: Record<string, [number, number]> = {};
  for (const [k, v] of Object.entries(all)) {
    if (values.only !== undefined && values.only !== k) continue;
    plan[k] = values.case !== undefined
      ? [Number(values.case), Number(values.case) + 1]
      : v;
  }
  console.log(`fuzz: seed ${seed}, plan ${JSON.stringify(plan)}`);
  let lastPrint = 0;
  const reports = await fuzz({
    plan,
    seed,
    onCase(name, i, r) {
      const now = performance.now();
      if (now - lastPrint > 10_000) {
        lastPrint = now;
        console.log(`  ${name} case ${i}: ${r.findings.length} findings`);
      }
    },
    onFinding(f) {
      console.log(formatFinding(f));
      if (values.out !== undefined) {
        Deno.writeTextFileSync(values.out, JSON.stringify(f) + "\n", {
          append: true,
        });
      }
    },
  });
  let findings = 0;
  for (const [name, r] of reports) {
    console.log(formatReport(name, r));
    findings += r.findings.length;
  }
  Deno.exit(findings === 0 ? 0 : 1);
}
