/**
 * Recording: an {@linkcode Engine} wrapper that loads the tapped version of
 * the program (tap.ts) into the kernel engine, peels the tap's records off
 * the events ring buffer, and streams them to a recording file, while the
 * program's own events and maps go on exactly as without it. At close it
 * writes the symbol answers the session used and the lost-record count.
 *
 * @module
 */

import type { Engine, ProbeStats, RawMapEntry } from "../engines/engine.ts";
import { MapType } from "../bpf/opcodes.ts";
import {
  mayNeedKernelTypes,
  usedKernelTypes,
} from "../compiler/kernel_types.ts";
import { engineSymbols } from "../host_symbols.ts";
import { hostBootTimeNs } from "../output/boot_time.ts";
import { userName } from "../output/decode.ts";
import type { SymbolResolver } from "../output/types.ts";
import type { Program } from "../program.ts";
import {
  readTracepointFormat,
  type TracepointFormat,
} from "../probes/tracepoint_format.ts";
import type { RecordingHeader, SymbolTable } from "./format.ts";
import { VERSION } from "./format.ts";
import { decodeRawRecord, isRecordRecord } from "./raw_record.ts";
import { emptySymbols } from "./reader.ts";
import { instrument, Off, type Tapped } from "./tap.ts";
import { type ByteSink, RecordingWriter } from "./writer.ts";

/** The formats of the program's tracepoints (those that can be read). */
function tracepointFormats(program: Program): TracepointFormat[] {
  const out = new Map<string, TracepointFormat>();
  for (const p of program.probes) {
    for (const a of p.attach) {
      if (a.kind !== "tracepoint" || out.has(a.target)) continue;
      const [category, name] = a.target.split(":");
      try {
        out.set(a.target, readTracepointFormat(category, name));
      } catch {
        // unknown here: the context layout in the header still says it
      }
    }
  }
  return [...out.values()];
}

/**
 * The kernel types programs read (usedKernelTypes), selected from the
 * kernel's into a small BTF blob; undefined when they read none.
 */
async function usedTypesBlob(): Promise<Uint8Array | undefined> {
  const used = usedKernelTypes();
  if (Object.keys(used.records).length === 0 && used.enums.length === 0) {
    return undefined;
  }
  const [{ captureTypes }, { kernelTypes }] = await Promise.all([
    import("../btf/select_types.ts"),
    import("../btf/load_types.ts"),
  ]);
  return captureTypes(kernelTypes(), used.records, used.enums).btf;
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** Map types a tick's snapshot holds (those with entries to read). */
const SNAPSHOT_TYPES: ReadonlySet<number> = new Set([
  MapType.HASH,
  MapType.ARRAY,
  MapType.PERCPU_HASH,
  MapType.PERCPU_ARRAY,
  MapType.LRU_HASH,
  MapType.LRU_PERCPU_HASH,
]);

/** Options of {@linkcode RecordingEngine}. */
export interface RecordingOptions {
  /** Bytes captured per `char *` tracepoint argument (default 256; 0: none). */
  stringCapture?: number;
  /**
   * The program was compiled for this process only (`-p PID`): only its
   * runs are recorded (`TapOptions.pid` in tap.ts).
   */
  pid?: number;
}

/** What a finished recording holds. */
export interface RecordingSummary {
  events: number;
  bytes: number;
  lost: number;
}

/**
 * Records every run of a program's probes while it runs in `inner`.
 *
 * @example Record a one-liner for one second
 * ```ts ignore
 * import { KernelEngine } from "../engines/kernel_engine.ts";
 * import { RecordingEngine } from "./recording_engine.ts";
 * import { Session } from "../session.ts";
 * import { compile } from "../compiler/compile.ts";
 * const program = compile("tracepoint:syscalls:sys_enter_getppid { @ = count(); }");
 * const file = Deno.openSync("out.tsrec", { write: true, create: true, truncate: true });
 * const engine = new RecordingEngine(new KernelEngine(), file, "-e");
 * const session = new Session(program, engine, { format: "text" });
 * await session.start();
 * await session.run({ durationMs: 1000 });
 * await session.finish();
 * file.close();
 * ```
 */
export class RecordingEngine implements Engine {
  /** The wrapped engine's kind. */
  readonly kind: "kernel" | "interp";
  readonly #inner: Engine;
  readonly #sink: ByteSink;
  readonly #name: string;
  readonly #options: RecordingOptions;
  #tapped?: Tapped;
  #writer?: RecordingWriter;
  #memo: SymbolTable = emptySymbols();
  #closed = false;
  #summary?: RecordingSummary;
  #onEvent?: (record: Uint8Array) => void;
  #program?: Program;
  /** Maps read at the last tick mark, served until the next poll. */
  #snapshot?: Map<number, RawMapEntry[]>;

  /** Wraps `inner`; the recording goes to `sink` (`name` labels the program). */
  constructor(
    inner: Engine,
    sink: ByteSink,
    name: string,
    options: RecordingOptions = {},
  ) {
    this.#inner = inner;
    this.kind = inner.kind;
    this.#sink = sink;
    this.#name = name;
    this.#options = options;
  }

  /** Loads the tapped program and writes the recording's header. */
  async load(program: Program): Promise<void> {
    const tapped = instrument(program, this.#options);
    await this.#inner.load(tapped.program);
    this.#tapped = tapped;
    this.#program = program;
    const cpus = this.#inner.readMap(tapped.scratchMap)[0]?.values.length ?? 1;
    let release = "unknown";
    try {
      release = Deno.osRelease();
    } catch {
      // not permitted: keep "unknown"
    }
    const header: RecordingHeader = {
      version: VERSION,
      producer: "tsbpf",
      created: new Date().toISOString(),
      kernelRelease: release,
      bootTimeNs: String(hostBootTimeNs()),
      numCpus: cpus,
      probes: program.probes.map((p) => ({
        name: p.name,
        attach: p.attach.map((a) => a.text),
        ctx: p.ctx,
      })),
      stringCapture: this.#options.stringCapture ?? 256,
      ringSize: tapped.program.maps[tapped.program.eventsMap!].maxEntries,
      formats: tracepointFormats(program),
    };
    if (this.#options.pid !== undefined) header.pid = this.#options.pid;
    // Types used by this program (a text that cannot name kernel types
    // gets none of what earlier programs of the process used).
    const text = program.source?.text;
    const btf = text === undefined || mayNeedKernelTypes(text)
      ? await usedTypesBlob()
      : undefined;
    if (btf !== undefined) header.btf = base64(btf);
    if (program.source !== undefined) {
      header.program = { name: program.source.name, text: program.source.text };
    } else header.program = { name: this.#name, text: "" };
    this.#writer = new RecordingWriter(this.#sink, header);
  }

  /** Attaches every probe. */
  attach(): Promise<void> {
    return this.#inner.attach();
  }

  /** Detaches every probe. */
  detach(): void {
    this.#inner.detach?.();
  }

  /**
   * Stops every probe from running, by detaching them: the kernel
   * engine's `pause()` takes a program off its event at once, but a run
   * already under way on another CPU may end after it, and a run after
   * the last drain of the ring would be in the maps but not in the file;
   * detaching waits for those (RCU grace periods). END can still run and
   * maps can still be read.
   */
  pause(): void {
    this.#inner.detach?.();
  }

  /**
   * Marks where a tick of the session reads the maps (at `wallNs`), so
   * that a replay's tick reads after the same runs: the runs recorded so
   * far are taken off the ring first (the program's own records go to the
   * last poll's handler), and the tick reads right after.
   */
  async mark(wallNs: bigint): Promise<void> {
    const w = this.#writer;
    if (w === undefined || this.#closed) return;
    const onEvent = this.#onEvent;
    await this.#inner.poll(0, (rec) => {
      if (isRecordRecord(rec)) w.event(decodeRawRecord(rec));
      else onEvent?.(rec);
    });
    // The tick's reads are served from maps read now, right after the
    // drain, not whenever the script gets to them (runs made meanwhile
    // would be in the maps but after the mark).
    const snapshot = new Map<number, RawMapEntry[]>();
    this.#program?.maps.forEach((m, i) => {
      if (m.internal || !SNAPSHOT_TYPES.has(m.type)) return;
      snapshot.set(i, this.#inner.readMap(i));
    });
    w.mark(wallNs);
    this.#snapshot = snapshot;
  }

  /** Runs BEGIN or END (their runs are recorded too). */
  runSpecial(kind: "BEGIN" | "END"): Promise<void> {
    return this.#inner.runSpecial(kind);
  }

  /**
   * Polls, writing tap records to the file and passing the rest on. After
   * a poll that found records it yields to the event loop once: a recorded
   * probe that fires on the recorder's own system calls (reading the ring
   * makes some) would otherwise keep every poll busy, and timers, signals
   * and the `-c` child's exit would never be seen.
   */
  async poll(
    timeoutMs: number,
    onEvent: (record: Uint8Array) => void,
  ): Promise<number> {
    const w = this.#writer;
    this.#onEvent = onEvent;
    this.#snapshot = undefined;
    const got = await this.#inner.poll(timeoutMs, (rec) => {
      if (w !== undefined && isRecordRecord(rec)) {
        w.event(decodeRawRecord(rec));
      } else onEvent(rec);
    });
    if (got > 0) await new Promise((r) => setTimeout(r, 0));
    return got;
  }

  /** The program's own lost events. */
  lostEvents(): number {
    return this.#inner.lostEvents();
  }

  /** Runs whose record could not be written (ring buffer full). */
  lostRecords(): number {
    const t = this.#tapped;
    if (t === undefined || this.#closed) return this.#summary?.lost ?? 0;
    let total = 0;
    for (const e of this.#inner.readMap(t.scratchMap)) {
      for (const v of e.values) {
        total += Number(
          new DataView(v.buffer, v.byteOffset, v.byteLength).getBigUint64(
            Off.LOST,
            true,
          ),
        );
      }
    }
    return total;
  }

  /** Reads a map of the program (during a tick: as the tick began). */
  readMap(mapIndex: number): RawMapEntry[] {
    return this.#snapshot?.get(mapIndex) ?? this.#inner.readMap(mapIndex);
  }

  /** Clears a map of the program. */
  clearMap(mapIndex: number): void {
    this.#snapshot?.delete(mapIndex);
    this.#inner.clearMap(mapIndex);
  }

  /** Zeroes a map of the program. */
  zeroMap(mapIndex: number): void {
    this.#snapshot?.delete(mapIndex);
    this.#inner.zeroMap(mapIndex);
  }

  /** The inner engine's statistics (of the tapped programs). */
  stats(): ProbeStats[] {
    return this.#inner.stats();
  }

  /** The inner engine's resolver; every answer is kept for the file. */
  symbols(): SymbolResolver {
    const inner = this.#inner.symbols?.() ?? engineSymbols(this.#inner);
    const m = this.#memo;
    const hex = (a: bigint) => a.toString(16);
    const out: SymbolResolver = {
      ksym: (addr) => (m.ksym[hex(addr)] = inner.ksym(addr)),
      usym: (
        addr,
        pid,
      ) => (m.usym[`${pid ?? ""}:${hex(addr)}`] = inner.usym(addr, pid)),
      stack: (
        map,
        id,
        kernel,
        pid,
      ) => (m.stack[`${map}:${id}:${kernel ? 1 : 0}:${pid ?? ""}`] = inner
        .stack(
          map,
          id,
          kernel,
          pid,
        )),
    };
    if (inner.stackAddresses !== undefined) {
      const f = inner.stackAddresses.bind(inner);
      out.stackAddresses = (map, id) => {
        const a = f(map, id);
        m.stackAddresses[`${map}:${id}`] = a.map(hex);
        return a;
      };
    }
    if (inner.userModule !== undefined) {
      const f = inner.userModule.bind(inner);
      out.userModule = (addr, pid) => {
        const v = f(addr, pid);
        m.userModule[`${pid ?? ""}:${hex(addr)}`] = v ?? null;
        return v;
      };
    }
    const name = inner.username?.bind(inner) ?? userName;
    out.username = (uid) => (m.username[String(uid)] = name(uid));
    if (inner.bootTimeNs !== undefined) out.bootTimeNs = inner.bootTimeNs;
    return out;
  }

  /** What the recording holds, once closed. */
  summary(): RecordingSummary | undefined {
    return this.#summary;
  }

  /** Finishes the file (symbols, trailer) and releases the inner engine. */
  close(): void {
    if (this.#closed) return;
    try {
      const w = this.#writer;
      if (w !== undefined) {
        let lost = 0;
        try {
          lost = this.lostRecords();
        } catch {
          // the maps are gone: count none
        }
        w.finish(this.#memo, lost);
        this.#summary = { events: w.events, bytes: w.bytesWritten, lost };
      }
    } finally {
      this.#closed = true;
      this.#inner.close();
    }
  }
}
