/**
 * What recording costs: for each one-liner of the per-event benchmark,
 * the kernel's nanoseconds per program run (`bpf_stats` run_time_ns /
 * run_cnt over the workload) without and with `--record`'s tap, and the
 * recording's bytes per event.
 *
 * ```sh
 * deno run -A bench/record_cost.ts [ROUNDS]
 * ```
 *
 * @module
 */

import { compile } from "../runtime/compiler/compile.ts";
import { prepareKernelTypes } from "../runtime/compiler/kernel_types.ts";
import { KernelEngine } from "../runtime/engines/kernel_engine.ts";
import type { Engine } from "../runtime/engines/engine.ts";
import { RecordingEngine } from "../runtime/record/recording_engine.ts";
import { Session } from "../runtime/session.ts";
import { PER_EVENT_CASES, type PerEventCase } from "./per_event.ts";
import { median } from "./stats.ts";
import { Workload } from "./workload.ts";

interface Run {
  nsPerRun: number;
  runs: number;
  bytesPerEvent?: number;
}

async function measure(c: PerEventCase, record: boolean): Promise<Run> {
  const work = await Workload.start(c.mode, c.calls);
  const text = c.program.replaceAll("$PID", String(work.pid));
  // Kernel types for the one-liners that read kernel structures.
  await prepareKernelTypes(text);
  const program = compile(text);
  const inner = new KernelEngine({ enableStats: true });
  const path = Deno.makeTempFileSync({ suffix: ".tsrec" });
  const file = Deno.openSync(path, { write: true });
  const engine: Engine = record
    ? new RecordingEngine(inner, file, c.name)
    : inner;
  const session = new Session(program, engine, {
    format: "text",
    write: () => {},
  });
  try {
    await session.start();
    const sum = () =>
      engine.stats().reduce(
        (a, s) => [a[0] + s.runTimeNs, a[1] + s.runCount],
        [0, 0],
      );
    const [t0, n0] = sum();
    const done = work.release();
    let finished = false;
    done.then(() => finished = true, () => finished = true);
    while (!finished) await session.pump(20);
    await done;
    const [t1, n1] = sum();
    await session.finish({ printMaps: false });
    const out: Run = { nsPerRun: (t1 - t0) / (n1 - n0), runs: n1 - n0 };
    if (engine instanceof RecordingEngine) {
      const s = engine.summary()!;
      out.bytesPerEvent = s.bytes / Math.max(1, s.events);
    }
    return out;
  } finally {
    file.close();
    Deno.removeSync(path);
    await work.kill().catch(() => {});
  }
}

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 3);
  console.log(
    "| one-liner | ns/run | ns/run recording | added | bytes/event |",
  );
  console.log("|---|---:|---:|---:|---:|");
  for (const c of PER_EVENT_CASES) {
    const plain: number[] = [], rec: number[] = [], bytes: number[] = [];
    for (let r = 0; r < rounds; r++) {
      plain.push((await measure(c, false)).nsPerRun);
      const m = await measure(c, true);
      rec.push(m.nsPerRun);
      bytes.push(m.bytesPerEvent ?? 0);
    }
    const p = median(plain), q = median(rec);
    console.log(
      `| ${c.name} | ${p.toFixed(0)} | ${q.toFixed(0)} | +${
        (q - p).toFixed(0)
      } | ${median(bytes).toFixed(0)} |`,
    );
  }
}
