/**
 * What the recording tests share: recordings made in memory.
 *
 * @module
 */

import type {
  RecordedEvent,
  RecordingHeader,
} from "../../runtime/record/format.ts";
import { emptySymbols } from "../../runtime/record/reader.ts";
import { RecordingWriter } from "../../runtime/record/writer.ts";
import type { Program } from "../../runtime/program.ts";

/** A header for `program`'s probes. */
export function headerFor(program: Program): RecordingHeader {
  return {
    version: 1,
    producer: "tsbpf",
    created: new Date(0).toISOString(),
    kernelRelease: "6.18.0-test",
    bootTimeNs: "1700000000000000000",
    numCpus: 2,
    probes: program.probes.map((p) => ({
      name: p.name,
      attach: p.attach.map((a) => a.text),
      ctx: p.ctx,
    })),
    stringCapture: 256,
  };
}

/** An event of probe 0 with every fact set; `patch` overrides fields. */
export function event(patch: Partial<RecordedEvent> = {}): RecordedEvent {
  const comm = new Uint8Array(16);
  comm.set(new TextEncoder().encode("nginx"));
  return {
    probe: 0,
    cpu: 1,
    timeNs: 1_000_000,
    pid: 42,
    tid: 43,
    uid: 33,
    gid: 33,
    cgroupId: 7n,
    comm,
    flags: 0,
    ctx: new Uint8Array(16),
    calls: [],
    ...patch,
  };
}

/** Writes a whole recording to memory. */
export function recordingBytes(
  header: RecordingHeader,
  events: RecordedEvent[],
  options: {
    blockEvery?: number;
    /** Tick marks: after the event at an index, at a wall-clock time. */
    marks?: ReadonlyMap<number, bigint>;
  } = {},
): Uint8Array {
  const chunks: Uint8Array[] = [];
  const w = new RecordingWriter({
    writeSync: (b) => (chunks.push(b.slice()), b.length),
  }, header);
  events.forEach((e, i) => {
    w.event(e);
    const mark = options.marks?.get(i);
    if (mark !== undefined) w.mark(mark);
    if (options.blockEvery && (i + 1) % options.blockEvery === 0) w.flush();
  });
  w.finish(emptySymbols(), 0);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
