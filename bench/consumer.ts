/**
 * Where tsbpf's user-space time per streamed event goes: the printf
 * one-liner of the streaming benchmark loaded in-process on the kernel
 * engine, the ring buffer filled by the workload while nobody reads, then
 * each stage of the session's path timed separately over the same records:
 * draining the ring buffer, decoding, formatting, and writing one line per
 * `writeSync` against one write for the whole poll's batch (what the
 * session does since it batches its output).
 *
 * @module
 */

import { KernelEngine } from "../runtime/engines/kernel_engine.ts";
import { compile } from "../runtime/compiler/compile.ts";
import { decodeEvent } from "../runtime/output/decode.ts";
import { formatEventOutput } from "../runtime/output/event.ts";
import { median } from "./stats.ts";
import { STREAM_PROGRAM } from "./streaming.ts";
import { Workload } from "./workload.ts";

/** Microseconds per event of each stage (medians over the rounds). */
export interface ConsumerRow {
  /** Stage. */
  stage: string;
  /** Microseconds per event. */
  usPerEvent: number;
}

const encoder = new TextEncoder();

/**
 * Times each stage of consuming `events` printf records, `rounds` times.
 *
 * @example A small run (root, gcc)
 * ```ts ignore
 * import { measureConsumer } from "./consumer.ts";
 * console.table(await measureConsumer(1, 1000));
 * ```
 */
export async function measureConsumer(
  rounds: number,
  events: number,
): Promise<ConsumerRow[]> {
  const cols: Record<string, number[]> = {};
  const add = (k: string, v: number) => (cols[k] ??= []).push(v);
  const sink = Deno.openSync("/dev/null", { write: true });
  try {
    // Round -1 warms the JIT and is not counted: a stream runs warm code.
    for (let r = -1; r < rounds; r++) {
      const work = await Workload.start("opens", events);
      const program = compile(
        STREAM_PROGRAM.replace("$PID", String(work.pid)),
      );
      const engine = new KernelEngine();
      try {
        await engine.load(program);
        await engine.attach();
        await work.release(); // fills the ring buffer; nobody reads yet
        const records: Uint8Array[] = [];
        let t = performance.now();
        await engine.poll(0, (rec) => records.push(rec));
        const n = records.length;
        if (n === 0) throw new Error("No event reached the ring buffer");
        add(
          "drain ring buffer (KernelEngine.poll, copy out)",
          performance.now() - t,
        );
        t = performance.now();
        const evs = records.map((rec) => decodeEvent(program, rec));
        add("decode record", performance.now() - t);
        t = performance.now();
        const texts = evs.map((ev) => formatEventOutput(ev, "text") ?? "");
        add("format printf line", performance.now() - t);
        t = performance.now();
        for (const s of texts) sink.writeSync(encoder.encode(s));
        add(
          "encode + writeSync per line (unbatched)",
          performance.now() - t,
        );
        t = performance.now();
        sink.writeSync(encoder.encode(texts.join("")));
        add(
          "encode + one writeSync per poll (the session now)",
          performance.now() - t,
        );
        for (const k of Object.keys(cols)) {
          if (r < 0) cols[k].pop();
          else cols[k][cols[k].length - 1] *= 1000 / n;
        }
      } finally {
        engine.close();
        await work.kill();
      }
    }
  } finally {
    sink.close();
  }
  return Object.entries(cols).map(([stage, v]) => ({
    stage,
    usPerEvent: median(v),
  }));
}
