/**
 * Replay throughput: a recording of N `raw_syscalls:sys_enter` runs (40
 * processes, made here with the recording writer, or FILE when given)
 * replayed through `@[comm] = count()` in the interpreter, as fast as it
 * goes. Prints events per second for opening (checking every CRC) and for
 * the replay itself.
 *
 * ```sh
 * deno run -A bench/replay_speed.ts [N | FILE]
 * ```
 *
 * @module
 */

import { compile } from "../runtime/compiler/compile.ts";
import { replayEngine } from "../runtime/record/cli_hooks.ts";
import { RecordingWriter } from "../runtime/record/writer.ts";
import { emptySymbols } from "../runtime/record/reader.ts";

const PROGRAM = "tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }";

function synthesize(n: number): string {
  const program = compile(PROGRAM);
  const path = Deno.makeTempFileSync({ suffix: ".tsrec" });
  const file = Deno.openSync(path, { write: true });
  const w = new RecordingWriter(file, {
    version: 1,
    producer: "tsbpf",
    created: new Date().toISOString(),
    kernelRelease: "bench",
    bootTimeNs: "0",
    numCpus: 2,
    probes: program.probes.map((p) => ({
      name: p.name,
      attach: p.attach.map((a) => a.text),
      ctx: p.ctx,
    })),
    stringCapture: 0,
  });
  const comms = Array.from({ length: 40 }, (_, i) => {
    const c = new Uint8Array(16);
    c.set(new TextEncoder().encode(`worker-${i}`));
    return c;
  });
  const ctx = new Uint8Array(program.probes[0].ctx.size);
  const dv = new DataView(ctx.buffer);
  for (let i = 0; i < n; i++) {
    dv.setBigInt64(8, BigInt(i % 300), true);
    w.event({
      probe: 0,
      cpu: i & 1,
      timeNs: 1e12 + i * 500,
      pid: 1000 + (i % 40),
      tid: 1000 + (i % 40),
      uid: 0,
      gid: 0,
      cgroupId: 1n,
      comm: comms[i % 40],
      flags: 0,
      ctx,
      calls: [],
    });
  }
  w.finish(emptySymbols(), 0);
  file.close();
  return path;
}

if (import.meta.main) {
  const arg = Deno.args[0] ?? "2000000";
  const made = /^\d+$/.test(arg);
  const path = made ? synthesize(Number(arg)) : arg;
  try {
    const t0 = performance.now();
    const r = await replayEngine(path, { realtime: false });
    const t1 = performance.now();
    await r.engine.load(compile(PROGRAM));
    await r.engine.attach();
    const t2 = performance.now();
    await r.engine.poll(r.durationMs, () => {});
    const t3 = performance.now();
    const n = r.feed.events;
    const bytes = Deno.statSync(path).size;
    console.log(
      `${n} events, ${(bytes / n).toFixed(1)} bytes/event; open ${
        (n / (t1 - t0) / 1e3).toFixed(2)
      } M events/s; replay ${(n / (t3 - t2) / 1e3).toFixed(2)} M events/s`,
    );
    r.engine.close();
  } finally {
    if (made) Deno.removeSync(path);
  }
}
