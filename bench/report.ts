/**
 * The benchmark results as Markdown tables, with each target and whether
 * it holds.
 *
 * @module
 */

import type { ConsumerRow } from "./consumer.ts";
import type { InterpRow } from "./interp.ts";
import type { PerEventRow } from "./per_event.ts";
import type { PhaseRow, StartupRow } from "./startup.ts";
import { num, ratio } from "./stats.ts";
import { lossFreeRate, type StreamRow } from "./streaming.ts";

/** Everything one run of the suite measured; absent sections were skipped. */
export interface BenchResults {
  /** `date -u` at the start. */
  date: string;
  /** CPUs online. */
  nproc: number;
  /** `uname -r`. */
  kernel: string;
  /** /proc/loadavg at the start and at the end. */
  load: [string, string];
  /** Rounds per tool. */
  rounds: number;
  /** Start-up rows. */
  startup?: StartupRow[];
  /** tsbpf start-up phases. */
  phases?: PhaseRow[];
  /** Per-event rows. */
  perEvent?: PerEventRow[];
  /** Streaming rows. */
  streaming?: StreamRow[];
  /** tsbpf's user-space cost per streamed event, by stage. */
  consumer?: ConsumerRow[];
  /** Interpreter rows. */
  interp?: InterpRow[];
  /** Why sections were skipped. */
  skipped: string[];
}

function spread(xs: readonly number[]): string {
  const v = xs.filter(Number.isFinite);
  if (v.length === 0) return "n/a";
  return `${num(Math.min(...v))}–${num(Math.max(...v))}`;
}

function holds(ok: boolean): string {
  return ok ? "yes" : "**no**";
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join(
    "\n",
  ) + "\n";
}

/**
 * Renders results as Markdown.
 *
 * @example Render an empty run
 * ```ts
 * import { renderReport } from "./report.ts";
 * const md = renderReport({
 *   date: "now", nproc: 2, kernel: "6.18", load: ["1", "1"], rounds: 1,
 *   skipped: ["kernel: not root"],
 * });
 * console.assert(md.includes("not root"));
 * ```
 */
export function renderReport(r: BenchResults): string {
  let md = `Measured ${r.date} on ${r.nproc} CPUs, Linux ${r.kernel}; ` +
    `load average ${r.load[0]} at the start, ${r.load[1]} at the end. ` +
    `${r.rounds} rounds per tool, tsbpf and bpftrace alternating in each ` +
    `round; figures are medians.\n\n`;
  for (const s of r.skipped) md += `Skipped: ${s}.\n\n`;

  if (r.startup) {
    md += "### Start-up (ms)\n\n";
    md += table(
      [
        "metric",
        "tsbpf",
        "bpftrace",
        "ratio",
        "target ≤ 0.25×",
        "range tsbpf / bpftrace",
      ],
      r.startup.map((s) => [
        s.name,
        num(s.ms.tsbpf, 1),
        num(s.ms.bpftrace, 1),
        ratio(s.ms.tsbpf, s.ms.bpftrace),
        holds(s.ms.tsbpf <= 0.25 * s.ms.bpftrace),
        `${spread(s.samples.tsbpf)} / ${spread(s.samples.bpftrace)}`,
      ]),
    );
    md += "\n";
  }
  if (r.phases) {
    md += "### Where tsbpf's start-up goes (ms; memory rows in MiB)\n\n";
    md += table(
      ["phase", "median"],
      r.phases.map((p) => [p.phase, num(p.ms, 1)]),
    );
    md += "\n";
  }
  if (r.perEvent) {
    md += "### Per-event cost in the kernel (ns per program run)\n\n";
    md += table(
      [
        "one-liner",
        "tsbpf",
        "bpftrace",
        "ratio",
        "target ≤ 1.0×",
        "range tsbpf / bpftrace",
        "runs",
      ],
      r.perEvent.map((p) => [
        p.case.name,
        num(p.tools.tsbpf.nsPerRun, 0),
        num(p.tools.bpftrace.nsPerRun, 0),
        ratio(p.tools.tsbpf.nsPerRun, p.tools.bpftrace.nsPerRun),
        holds(p.tools.tsbpf.nsPerRun <= p.tools.bpftrace.nsPerRun),
        `${spread(p.tools.tsbpf.samples)} / ${
          spread(p.tools.bpftrace.samples)
        }`,
        num(p.tools.tsbpf.runs),
      ]),
    );
    md += "\n### Instructions per program\n\n";
    const rows: string[][] = [];
    for (const p of r.perEvent) {
      const ts = Object.entries(p.tools.tsbpf.xlated);
      const bt = Object.values(p.tools.bpftrace.xlated);
      const emitted = Object.values(p.emitted);
      ts.forEach(([name, x], i) => {
        rows.push([
          p.case.name,
          name,
          num(emitted[i] ?? NaN),
          num(x),
          num(bt[i] ?? NaN),
          ratio(x, bt[i] ?? NaN),
        ]);
      });
    }
    md += table(
      [
        "one-liner",
        "program",
        "tsbpf emitted",
        "tsbpf xlated",
        "bpftrace xlated",
        "xlated ratio",
      ],
      rows,
    );
    md += "\n### Memory: peak RSS of the tool process (MiB)\n\n";
    md += table(
      [
        "one-liner",
        "tsbpf VmHWM",
        "bpftrace VmHWM",
        "ratio",
        "target ≤ 0.6×",
        "tsbpf max RSS at exit",
        "bpftrace max RSS at exit",
        "RSS anon / file: tsbpf",
        "bpftrace",
      ],
      r.perEvent.map((p) => {
        const t = p.tools.tsbpf, b = p.tools.bpftrace;
        return [
          p.case.name,
          num(t.vmHwmKb / 1024, 1),
          num(b.vmHwmKb / 1024, 1),
          ratio(t.vmHwmKb, b.vmHwmKb),
          holds(t.vmHwmKb <= 0.6 * b.vmHwmKb),
          num(t.maxRssKb / 1024, 1),
          num(b.maxRssKb / 1024, 1),
          `${num(t.anonKb / 1024, 1)} / ${num(t.fileKb / 1024, 1)}`,
          `${num(b.anonKb / 1024, 1)} / ${num(b.fileKb / 1024, 1)}`,
        ];
      }),
    );
    md += "\n";
  }
  if (r.streaming) {
    md += "### Event streaming (printf per openat)\n\n";
    const cell = (f: StreamRow["tools"]["tsbpf"]) =>
      `${num(f.achievedRate)}/s: ${num(f.received)} of ${num(f.made)}, ` +
      `${num(f.deliveredRate)} lines/s` +
      (f.missing > 0 ? `, ${num(f.missing)} missing` : "") +
      (f.reportedLost > 0 ? `, "Lost ${num(f.reportedLost)}"` : "");
    md += table(
      [
        "asked rate",
        "tsbpf (achieved rate: received of made, delivered)",
        "bpftrace",
      ],
      r.streaming.map((s) => [
        s.rate === 0 ? "burst" : `${num(s.rate)}/s`,
        cell(s.tools.tsbpf),
        cell(s.tools.bpftrace),
      ]),
    );
    const t = lossFreeRate(r.streaming, "tsbpf");
    const b = lossFreeRate(r.streaming, "bpftrace");
    md += `\nHighest loss-free rate: tsbpf ${num(t)}/s, bpftrace ${
      num(b)
    }/s, ratio ${ratio(t, b)} (target ≥ 1.5×: ${holds(t >= 1.5 * b)}).\n`;
    const peak = (tool: "tsbpf" | "bpftrace") =>
      Math.max(...r.streaming!.map((s) => s.tools[tool].deliveredRate));
    md += `Highest delivered rate (lines/s reaching the reader, lost or ` +
      `not): tsbpf ${num(peak("tsbpf"))}, bpftrace ${num(peak("bpftrace"))}` +
      `, ratio ${ratio(peak("tsbpf"), peak("bpftrace"))}.\n\n`;
  }
  if (r.consumer) {
    md += "### Where tsbpf's user-space time per streamed event goes\n\n";
    md += table(
      ["stage", "µs per event"],
      r.consumer.map((c) => [c.stage, num(c.usPerEvent, 2)]),
    );
    md += "\n";
  }
  if (r.interp) {
    md += "### Interpreter engine on synthetic events\n\n";
    md += table(
      ["one-liner", "program runs/s (end to end)"],
      r.interp.map((i) => [i.name, num(i.runsPerSec)]),
    );
    md += "\n";
  }
  return md;
}
