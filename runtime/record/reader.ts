/**
 * Reads a recording: checks the preamble, the header and every block's
 * length and CRC once when opened (reading one block at a time, so memory
 * stays bounded), then streams its events.
 *
 * A truncated or corrupted file is rejected with a {@linkcode RecordingError}
 * naming the byte offset; with `salvage`, the events before the damage stay
 * readable and `damage` says what was lost.
 *
 * @module
 */

import {
  blankEvent,
  BLOCK_HEADER_SIZE,
  BlockKind,
  ByteReader,
  crc32,
  decodeEvent,
  decodeEventInto,
  MAGIC,
  MAX_BLOCK,
  PREAMBLE_SIZE,
  type RecordedEvent,
  RecordingError,
  type RecordingHeader,
  type SymbolTable,
  type Trailer,
  VERSION,
} from "./format.ts";
import { describeOsError } from "../probes/os_error.ts";

/** Options of {@linkcode openRecording}. */
export interface OpenOptions {
  /** Keep the events before a damaged or missing part instead of failing. */
  salvage?: boolean;
}

/** Random access to the file's bytes. */
export interface ByteSource {
  /** Total bytes. */
  readonly size: number;
  /** Reads `n` bytes at `offset` (fewer at the end). */
  read(offset: number, n: number): Uint8Array;
  /** Releases the source. */
  close(): void;
}

/** A source over a file, read with positioned reads. */
export function fileSource(path: string): ByteSource {
  const file = Deno.openSync(path, { read: true });
  const size = file.statSync().size;
  return {
    size,
    read(offset, n) {
      if (!(offset >= 0 && offset <= size && n >= 0)) return new Uint8Array(0);
      const out = new Uint8Array(Math.max(0, Math.min(n, size - offset)));
      file.seekSync(offset, Deno.SeekMode.Start);
      let got = 0;
      while (got < out.length) {
        const r = file.readSync(out.subarray(got));
        if (r === null || r === 0) break;
        got += r;
      }
      return out.subarray(0, got);
    },
    close: () => file.close(),
  };
}

/** A source over bytes in memory. */
export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (offset, n) => bytes.subarray(offset, offset + n),
    close() {},
  };
}

/** An opened recording. */
export interface Recording extends Disposable {
  /** What the file says of the machine and the program it was made on. */
  readonly header: RecordingHeader;
  /** The trailer; absent only when salvaging a file cut short. */
  readonly trailer?: Trailer;
  /** Symbol answers of the live session (empty when absent). */
  readonly symbols: SymbolTable;
  /** With `salvage`: what was damaged (events after it are not read). */
  readonly damage?: RecordingError;
  /** Streams the events, block by block, in file order. */
  events(): Generator<RecordedEvent>;
  /** Called with the first replay error (a read the file does not hold). */
  onReplayError?: (error: Error) => void;
  /**
   * A stream of the events decoded into one reused object (valid until the
   * next call): replay's fast path.
   */
  stream(): { next(): RecordedEvent | undefined };
  /** Releases the file. */
  close(): void;
}

const decoder = new TextDecoder();

/** An empty symbol table. */
export function emptySymbols(): SymbolTable {
  return {
    ksym: {},
    usym: {},
    stack: {},
    stackAddresses: {},
    userModule: {},
    username: {},
  };
}

/**
 * Opens a recording file and checks it whole.
 *
 * @throws {RecordingError} for a file that is not a recording, of another
 *   version, truncated or corrupted (unless `salvage`).
 * @example Open a recording
 * ```ts ignore
 * import { openRecording } from "./reader.ts";
 * using rec = openRecording("trace.tsrec");
 * for (const ev of rec.events()) console.log(ev.pid);
 * ```
 */
export function openRecording(
  path: string,
  options: OpenOptions = {},
): Recording {
  let src: ByteSource;
  try {
    src = fileSource(path);
  } catch (e) {
    throw new RecordingError(
      `Cannot open recording "${path}": ${describeOsError(e)}`,
    );
  }
  try {
    return readRecording(src, path, options);
  } catch (e) {
    src.close();
    throw e;
  }
}

/** Opens a recording from a {@linkcode ByteSource} (see `openRecording`). */
export function readRecording(
  src: ByteSource,
  name: string,
  options: OpenOptions = {},
): Recording {
  const fail = (what: string, at: number) =>
    new RecordingError(`Recording "${name}" ${what} (at byte ${at})`, at);
  const pre = src.read(0, PREAMBLE_SIZE);
  if (pre.length < MAGIC.length || !MAGIC.every((b, i) => pre[i] === b)) {
    throw fail("is not a tsbpf recording: its first bytes are wrong", 0);
  }
  if (pre.length < PREAMBLE_SIZE) throw fail("is truncated in its header", 0);
  const v = new DataView(pre.buffer, pre.byteOffset, pre.byteLength);
  const version = v.getUint16(8, true);
  if (version !== VERSION) {
    throw fail(
      `has format version ${version}; this tsbpf reads version ${VERSION}`,
      8,
    );
  }
  const hlen = v.getUint32(12, true);
  const json = src.read(PREAMBLE_SIZE, hlen);
  if (json.length < hlen) throw fail("is truncated in its header", src.size);
  if (crc32(json) !== v.getUint32(16, true)) {
    throw fail("has a corrupted header (CRC mismatch)", PREAMBLE_SIZE);
  }
  let header: RecordingHeader;
  try {
    header = JSON.parse(decoder.decode(json));
  } catch {
    throw fail("has a header that is not valid JSON", PREAMBLE_SIZE);
  }
  const eventBlocks: [number, number][] = [];
  let symbols = emptySymbols();
  let trailer: Trailer | undefined;
  let damage: RecordingError | undefined;
  let at = PREAMBLE_SIZE + hlen;
  while (trailer === undefined) {
    if (at >= src.size) {
      damage = fail("is truncated: it ends before its END block", at);
      break;
    }
    const h = src.read(at, BLOCK_HEADER_SIZE);
    if (h.length < BLOCK_HEADER_SIZE) {
      damage = fail("is truncated in a block header", at);
      break;
    }
    const hv = new DataView(h.buffer, h.byteOffset, h.byteLength);
    const kind = h[0];
    const len = hv.getUint32(1, true);
    if (
      len > MAX_BLOCK ||
      (kind !== BlockKind.EVENTS && kind !== BlockKind.SYMBOLS &&
        kind !== BlockKind.END)
    ) {
      damage = fail(`is corrupted: block of kind ${kind}, ${len} bytes`, at);
      break;
    }
    const payload = src.read(at + BLOCK_HEADER_SIZE, len);
    if (payload.length < len) {
      damage = fail(
        `is truncated: a block of ${len} bytes has ${payload.length}`,
        at,
      );
      break;
    }
    if (crc32(payload) !== hv.getUint32(5, true)) {
      damage = fail("is corrupted: a block's CRC does not match", at);
      break;
    }
    try {
      if (kind === BlockKind.EVENTS) eventBlocks.push([at, len]);
      else if (kind === BlockKind.SYMBOLS) {
        symbols = { ...emptySymbols(), ...JSON.parse(decoder.decode(payload)) };
      } else trailer = JSON.parse(decoder.decode(payload));
    } catch {
      damage = fail("is corrupted: a block is not valid JSON", at);
      break;
    }
    at += BLOCK_HEADER_SIZE + len;
  }
  if (damage !== undefined && !options.salvage) {
    throw new RecordingError(
      `${damage.message}; --salvage replays the events before it`,
      damage.offset,
    );
  }
  return {
    header,
    trailer,
    symbols,
    damage,
    *events() {
      for (const [off, len] of eventBlocks) {
        const payload = src.read(off + BLOCK_HEADER_SIZE, len);
        const r = new ByteReader(payload);
        let prev = 0;
        while (!r.done) {
          let e: RecordedEvent;
          try {
            e = decodeEvent(r, prev);
          } catch (err) {
            throw fail(
              `has a malformed event: ${
                err instanceof Error ? err.message : String(err)
              }`,
              off,
            );
          }
          prev = e.timeNs;
          yield e;
        }
      }
    },
    stream: () => new EventStream(src, eventBlocks, fail),
    close: () => src.close(),
    [Symbol.dispose]: () => src.close(),
  };
}

/** Events decoded one at a time into one reused object. */
export class EventStream {
  readonly #src: ByteSource;
  readonly #blocks: [number, number][];
  readonly #fail: (what: string, at: number) => RecordingError;
  readonly #event = blankEvent();
  #block = 0;
  #reader?: ByteReader;
  #at = 0;
  #prev = 0;

  /** Streams `blocks` of `src`. */
  constructor(
    src: ByteSource,
    blocks: [number, number][],
    fail: (what: string, at: number) => RecordingError,
  ) {
    this.#src = src;
    this.#blocks = blocks;
    this.#fail = fail;
  }

  /** The next event (the same object each time), or undefined at the end. */
  next(): RecordedEvent | undefined {
    let r = this.#reader;
    while (r === undefined || r.done) {
      if (this.#block >= this.#blocks.length) return undefined;
      const [off, len] = this.#blocks[this.#block++];
      r = this.#reader = new ByteReader(
        this.#src.read(off + BLOCK_HEADER_SIZE, len),
      );
      this.#at = off;
      this.#prev = 0;
    }
    try {
      decodeEventInto(r, this.#prev, this.#event);
    } catch (err) {
      throw this.#fail(
        `has a malformed event: ${
          err instanceof Error ? err.message : String(err)
        }`,
        this.#at,
      );
    }
    this.#prev = this.#event.timeNs;
    return this.#event;
  }
}
