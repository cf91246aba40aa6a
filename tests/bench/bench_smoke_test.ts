/**
 * Smoke test of the benchmark suite (bench/): every measurement runs once
 * with tiny sizes, so the suite cannot rot. Asserts only that measuring
 * works and the figures are positive. The kernel parts skip with a printed
 * reason when not root or bpftrace/bpftool/gcc are missing.
 */

import assert from "node:assert/strict";
import { measureConsumer } from "../../bench/consumer.ts";
import { interpSkipReason, measureInterp } from "../../bench/interp.ts";
import {
  measurePerEvent,
  PER_EVENT_CASES,
  withBpfStats,
} from "../../bench/per_event.ts";
import { renderReport } from "../../bench/report.ts";
import { measureStartup } from "../../bench/startup.ts";
import { measureStreaming } from "../../bench/streaming.ts";
import { kernelSkipReason } from "../../bench/tools.ts";
import { skip } from "../support/skip.ts";

const kernelSkip = kernelSkipReason();
const interpSkip = await interpSkipReason();

function positive(x: number, what: string): void {
  assert.ok(Number.isFinite(x) && x > 0, `${what} is ${x}`);
}

Deno.test({
  name: "bench smoke: start-up of both tools is timed",
  ignore: skip("the start-up smoke test", kernelSkip),
  async fn() {
    const rows = await measureStartup(1);
    assert.equal(rows.length, 7);
    for (const r of rows) {
      positive(r.ms.tsbpf, `tsbpf ${r.name}`);
      positive(r.ms.bpftrace, `bpftrace ${r.name}`);
    }
  },
});

Deno.test({
  name: "bench smoke: per-event cost, instructions and memory are measured",
  ignore: skip("the per-event smoke test", kernelSkip),
  async fn() {
    const cases = [PER_EVENT_CASES[1], PER_EVENT_CASES[4]];
    const rows = await withBpfStats(() => measurePerEvent(cases, 1, 0.01));
    for (const r of rows) {
      for (const tool of ["tsbpf", "bpftrace"] as const) {
        const f = r.tools[tool];
        positive(f.nsPerRun, `${tool} ns/run of ${r.case.name}`);
        positive(f.runs, `${tool} runs of ${r.case.name}`);
        positive(f.vmHwmKb, `${tool} VmHWM`);
        const xs = Object.values(f.xlated);
        assert.equal(xs.length, r.case.program.split("tracepoint:").length - 1);
        for (const x of xs) positive(x, `${tool} xlated instructions`);
      }
      for (const n of Object.values(r.emitted)) positive(n, "emitted");
    }
    const md = renderReport({
      date: "now",
      nproc: 2,
      kernel: "k",
      load: ["0", "0"],
      rounds: 1,
      perEvent: rows,
      skipped: [],
    });
    assert.match(md, /read latency/);
  },
});

Deno.test({
  name: "bench smoke: printf events stream to both tools",
  ignore: skip("the streaming smoke test", kernelSkip),
  async fn() {
    const rows = await measureStreaming([2000], 0.1, 1, 0);
    for (const tool of ["tsbpf", "bpftrace"] as const) {
      const f = rows[0].tools[tool];
      positive(f.made, `${tool} syscalls made`);
      positive(f.received, `${tool} lines received`);
      positive(f.achievedRate, `${tool} rate`);
    }
  },
});

Deno.test({
  name: "bench smoke: tsbpf's event consumer stages are timed",
  ignore: skip("the consumer smoke test", kernelSkip),
  async fn() {
    const rows = await measureConsumer(1, 200);
    assert.equal(rows.length, 5);
    for (const r of rows) positive(r.usPerEvent, r.stage);
  },
});

Deno.test({
  name: "bench smoke: the interpreter engine runs the one-liners",
  ignore: skip("the interpreter smoke test", interpSkip),
  async fn() {
    const rows = await measureInterp(PER_EVENT_CASES, 1, 5);
    assert.equal(rows.length, PER_EVENT_CASES.length);
    for (const r of rows) positive(r.runsPerSec, `runs/s of ${r.name}`);
  },
});
