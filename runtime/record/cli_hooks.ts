/**
 * What the CLI needs for `--record` and `--replay`, imported only when one
 * of them is given.
 *
 * @module
 */

import type { Engine } from "../engines/engine.ts";
import { InterpEngine } from "../engines/interp_engine.ts";
import { openRecording, type Recording } from "./reader.ts";
import { RecordingError } from "./format.ts";
import { kernelTypeSource, useKernelTypes } from "../compiler/kernel_types.ts";
import { RecordingEngine, type RecordingOptions } from "./recording_engine.ts";
import { ReplayFeed } from "./replay_feed.ts";
import { useTracepointFormats } from "../probes/tracepoint_format.ts";

/** A replay engine and what the CLI reports about it. */
export interface Replay {
  engine: Engine;
  feed: ReplayFeed;
  /** One sentence: what is replayed. */
  note: string;
  /** Milliseconds of recorded time (the default duration). */
  durationMs: number;
  /** A warning when salvaging a damaged file. */
  warning?: string;
  /**
   * Gives the compiler back the kernel types it had before the recording's
   * (call once the replayed program is compiled, in a process that goes on).
   */
  restoreTypes(): void;
}

/**
 * Opens `path` (a tsbpf recording or a perf.data file) and makes the
 * interpreter engine that replays it. From then on, programs compile
 * against the tracepoint formats the recording carries.
 *
 * @throws {import("./format.ts").RecordingError} for a damaged file.
 * @example Replay
 * ```ts ignore
 * import { replayEngine } from "./cli_hooks.ts";
 * const r = await replayEngine("trace.tsrec", { realtime: false });
 * r.engine.close();
 * ```
 */
export async function replayEngine(
  source: string | Recording,
  options: { realtime: boolean; salvage?: boolean },
): Promise<Replay> {
  const rec = typeof source === "string"
    ? await openAny(source, options.salvage ?? false)
    : source;
  const path = typeof source === "string" ? source : "events";
  // Programs compile against the recorded machine's tracepoints.
  if (rec.header.formats !== undefined) {
    useTracepointFormats(rec.header.formats);
  }
  // And against the kernel types the recorded program read.
  const before = kernelTypeSource();
  if (rec.header.btf !== undefined) {
    await useRecordedTypes(rec.header.btf, path);
  }
  const feed = new ReplayFeed(rec);
  const h = rec.header;
  const events = rec.trailer?.events;
  return {
    engine: new InterpEngine({ feed, realtime: options.realtime }),
    feed,
    note: `replaying "${path}" in the interpreter (${
      events === undefined ? "" : `${events} events `
    }recorded${h.producer === "perf.data" ? " by perf" : ""}${
      h.pid === undefined ? "" : ` from process ${h.pid}`
    } on Linux ${h.kernelRelease}, ${h.numCpus} CPUs)`,
    durationMs: feed.durationNs() / 1e6 + 1,
    restoreTypes: () => useKernelTypes(before),
    warning: rec.damage === undefined
      ? undefined
      : `${rec.damage.message}; replaying the events before it`,
  };
}

/** Makes the compiler find kernel types in the recording's BTF blob. */
async function useRecordedTypes(text: string, path: string): Promise<void> {
  const [{ parseBtf }, { KernelTypes }, { preambleTypes }] = await Promise
    .all([
      import("../btf/btf_reader.ts"),
      import("../btf/kernel_types.ts"),
      import("../compiler/c_types.ts"),
    ]);
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    throw new RecordingError(`Recording "${path}" has malformed kernel types`);
  }
  const types = new KernelTypes(
    parseBtf(bytes, `recording "${path}"`),
    "btf",
  );
  useKernelTypes({
    types: () => types,
    find: (cname) => {
      const id = types.lookup(cname);
      return id === undefined ? undefined : { types, id };
    },
    preamble: (defs) => preambleTypes(defs, types),
  });
}

async function openAny(path: string, salvage: boolean) {
  let head = new Uint8Array(8);
  try {
    using f = Deno.openSync(path);
    const n = f.readSync(head) ?? 0;
    head = head.subarray(0, n);
  } catch {
    // openRecording reports it
  }
  if (new TextDecoder().decode(head) === "PERFILE2") {
    const { openPerfData } = await import("./perf_data.ts");
    return openPerfData(path, { salvage });
  }
  return openRecording(path, { salvage });
}

/**
 * Wraps a kernel engine so that the session is recorded to `path`
 * (`options.pid`: the program traces only that process, `-p PID`; only
 * its runs are recorded).
 *
 * @throws {TypeError} when `engine` is not the kernel engine.
 */
export function recordingEngine(
  engine: Engine,
  path: string,
  name: string,
  options: RecordingOptions = {},
): RecordingEngine {
  if (engine.kind !== "kernel") {
    throw new TypeError(
      "Cannot record: --record needs the kernel engine (use --backend kernel as root)",
    );
  }
  const file = Deno.openSync(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const sink = {
    writeSync: (b: Uint8Array) => file.writeSync(b),
  };
  const rec = new RecordingEngine(engine, sink, name, options);
  const close = rec.close.bind(rec);
  rec.close = () => {
    try {
      close();
    } finally {
      try {
        file.close();
      } catch {
        // closed already
      }
    }
  };
  return rec;
}
