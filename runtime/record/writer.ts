/**
 * Streams a recording to a file: the header, then blocks of events of at
 * most {@linkcode BLOCK_TARGET} bytes (memory stays bounded however long
 * the recording), then the symbol table and the trailer.
 *
 * @module
 */

import {
  BLOCK_HEADER_SIZE,
  BlockKind,
  ByteWriter,
  crc32,
  encodeEvent,
  MAGIC,
  MARK_PROBE,
  PREAMBLE_SIZE,
  type RecordedEvent,
  type RecordingHeader,
  type SymbolTable,
  TICK_WALL,
  type Trailer,
  VERSION,
} from "./format.ts";

/** An events block is written once it holds this many bytes. */
export const BLOCK_TARGET = 64 * 1024;

/** Where the writer's bytes go. */
export interface ByteSink {
  /** Writes some of `bytes`, returning how many (as `Deno.FsFile`). */
  writeSync(bytes: Uint8Array): number;
}

const encoder = new TextEncoder();

/**
 * Writes a recording.
 *
 * @example Write a recording to memory
 * ```ts
 * import { RecordingWriter } from "./writer.ts";
 * const chunks: Uint8Array[] = [];
 * const w = new RecordingWriter({
 *   writeSync: (b) => (chunks.push(b.slice()), b.length),
 * }, {
 *   version: 1, producer: "tsbpf", created: new Date(0).toISOString(),
 *   kernelRelease: "6.18.0", bootTimeNs: "0", numCpus: 1, probes: [],
 *   stringCapture: 0,
 * });
 * w.finish({ ksym: {}, usym: {}, stack: {}, stackAddresses: {}, userModule: {}, username: {} }, 0);
 * console.assert(chunks.length > 0);
 * ```
 */
export class RecordingWriter {
  readonly #sink: ByteSink;
  readonly #block = new ByteWriter();
  #prevNs = 0;
  #events = 0;
  #incomplete = 0;
  #marks = 0;
  #firstNs?: number;
  #lastNs?: number;
  #bytes = 0;
  #finished = false;

  /** Writes the preamble and header at once. */
  constructor(sink: ByteSink, header: RecordingHeader) {
    this.#sink = sink;
    const json = encoder.encode(JSON.stringify(header));
    const pre = new Uint8Array(PREAMBLE_SIZE);
    pre.set(MAGIC);
    const v = new DataView(pre.buffer);
    v.setUint16(8, VERSION, true);
    v.setUint32(12, json.length, true);
    v.setUint32(16, crc32(json), true);
    this.#write(pre);
    this.#write(json);
  }

  /** Events written so far. */
  get events(): number {
    return this.#events;
  }

  /** Bytes written so far (header and complete blocks). */
  get bytesWritten(): number {
    return this.#bytes;
  }

  /** Appends one event (written out with its block). */
  event(e: RecordedEvent): void {
    encodeEvent(this.#block, e, this.#prevNs);
    this.#prevNs = e.timeNs;
    this.#events++;
    if (e.flags & 1) this.#incomplete++;
    // Runs on several CPUs reach the ring slightly out of time order.
    if (this.#firstNs === undefined || e.timeNs < this.#firstNs) {
      this.#firstNs = e.timeNs;
    }
    if (this.#lastNs === undefined || e.timeNs > this.#lastNs) {
      this.#lastNs = e.timeNs;
    }
    if (this.#block.length >= BLOCK_TARGET) this.flush();
  }

  /**
   * Marks the place in the stream where a tick of the session read its
   * maps (at `wallNs`, wall-clock ns since the epoch); not counted as an
   * event.
   */
  mark(wallNs: bigint): void {
    const t = this.#lastNs ?? 0;
    encodeEvent(this.#block, {
      probe: MARK_PROBE,
      cpu: 0,
      timeNs: t,
      pid: 0,
      tid: 0,
      uid: 0,
      gid: 0,
      cgroupId: 0n,
      comm: new Uint8Array(16),
      flags: 0,
      ctx: new Uint8Array(0),
      calls: [{ helper: TICK_WALL, capture: false, r0: wallNs, addr: 0n }],
    }, this.#prevNs);
    this.#prevNs = t;
    this.#marks++;
  }

  /** Writes the pending events as a block. */
  flush(): void {
    if (this.#block.length === 0) return;
    this.#writeBlock(BlockKind.EVENTS, this.#block.bytes());
    this.#block.reset();
    this.#prevNs = 0;
  }

  /** Writes the last events, the symbol table and the trailer. */
  finish(symbols: SymbolTable, lost: number): void {
    if (this.#finished) return;
    this.#finished = true;
    this.flush();
    this.#writeBlock(
      BlockKind.SYMBOLS,
      encoder.encode(JSON.stringify(symbols)),
    );
    const trailer: Trailer = {
      events: this.#events,
      lost,
      incomplete: this.#incomplete,
    };
    if (this.#firstNs !== undefined) {
      trailer.firstNs = String(this.#firstNs);
      trailer.lastNs = String(this.#lastNs);
    }
    if (this.#marks > 0) trailer.marks = this.#marks;
    this.#writeBlock(BlockKind.END, encoder.encode(JSON.stringify(trailer)));
  }

  #writeBlock(kind: number, payload: Uint8Array): void {
    const h = new Uint8Array(BLOCK_HEADER_SIZE);
    const v = new DataView(h.buffer);
    h[0] = kind;
    v.setUint32(1, payload.length, true);
    v.setUint32(5, crc32(payload), true);
    this.#write(h);
    this.#write(payload);
  }

  #write(bytes: Uint8Array): void {
    this.#bytes += bytes.length;
    while (bytes.length > 0) {
      bytes = bytes.subarray(this.#sink.writeSync(bytes));
    }
  }
}
