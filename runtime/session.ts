/**
 * A tracing session: one compiled `Program` running on one engine, its
 * events rendered as they arrive, its maps printed when it ends.
 *
 * The session is the one path for output, exit handling, END and map
 * printing that both engines share: it never knows which engine it drives.
 *
 * @module
 */

import type { Engine } from "./engines/engine.ts";
import { engineSymbols } from "./host_symbols.ts";
import { decodeEvent, decodeMap, loadNumberNames } from "./output/decode.ts";
import { type Formatter, formatterFor } from "./output/formatter.ts";
import {
  formatMapFullWarning,
  type MapFull,
  mapFullCounts,
} from "./output/map_full.ts";
import { formatPrintf } from "./output/printf.ts";
import type { DecodedEvent, MapData, SymbolResolver } from "./output/types.ts";
import type { Program } from "./program.ts";
import { checkProbeLimit } from "./probe_limit.ts";

/**
 * Why a session ended: the program called `exit()`, the duration passed,
 * the signal aborted, the process traced (`-p PID`) exited, `stop()` was
 * called, or the output was closed.
 */
export type ExitReason =
  | "exit"
  | "duration"
  | "signal"
  | "command"
  | "process"
  | "stopped"
  | "closed";

/** Options of a session. */
export interface SessionOptions {
  /** Output format (default `text`). */
  format?: "text" | "json";
  /** Where rendered output goes (default: standard output). */
  write?: (text: string) => void;
  /** Allow `system()` and `cat()` events to act. */
  unsafe?: boolean;
  /**
   * Run `system()` commands for synthetic events too (the interpreter).
   * Off by default: the command a synthetic event would run is printed
   * instead, since it stems from invented data and may run thousands of
   * times a second.
   */
  runSystemOnSynthetic?: boolean;
  /** Called with every decoded event before it is rendered. */
  onEvent?: (event: DecodedEvent) => void;
  /** Print nothing for events (the caller consumes them via `onEvent`). */
  quiet?: boolean;
  /** Print the attach line (`-q` turns it off; default: on). */
  attachLine?: boolean;
  /** Called once every probe is attached, after the attach line. */
  onAttached?: () => void;
  /**
   * Where the text-format lines that are not the script's output go: the
   * attach line and `Lost N events` (default: `write`). The CLI sends
   * them to standard error, as bpftrace 0.24 and later do; with `-f json`
   * their records stay in the output, as in bpftrace.
   */
  messages?: (text: string) => void;
  /**
   * Where warnings go (full maps; default: standard error). They are
   * written at exit and when `print()` shows a map that lost updates.
   */
  warn?: (text: string) => void;
  /** Where `errorf()` messages go (default: standard error). */
  error?: (text: string) => void;
  /**
   * Where notices about the session go (detach progress), one line each,
   * without a newline (default: nowhere).
   */
  notice?: (line: string) => void;
}

/** How far `Session.finish()` got detaching probes. */
export interface DetachProgress {
  /** Attach points detached. */
  done: number;
  /** Attach points to detach (0 before the first one is done). */
  total: number;
  /** Milliseconds since detaching began. */
  elapsedMs: number;
}

/**
 * Wall milliseconds of work after which a session's loop yields to the
 * event loop (signals, timers), and the most one poll works at once: far
 * below the 100 ms in which Ctrl-C must be acted on.
 */
export const SLICE_MS = 20;
/** The longest the ring is read at the end while probes still fire. */
const DRAIN_MS = 1000;
/** A detach that lasts longer than this is announced, with progress. */
const DETACH_NOTICE_MS = 250;

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function writeStderr(text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) {
    const n = Deno.stderr.writeSync(bytes);
    bytes = bytes.subarray(n);
  }
}

/** Why a file did not open, in strerror's words (what bpftrace prints). */
function openError(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "No such file or directory";
  if (
    e instanceof Deno.errors.PermissionDenied ||
    e instanceof Deno.errors.NotCapable
  ) return "Permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "Is a directory";
  return e instanceof Error ? e.message : String(e);
}

/** True for the error a write to a pipe with no reader raises. */
function isBrokenPipe(e: unknown): boolean {
  return e instanceof Deno.errors.BrokenPipe ||
    (e instanceof Error && (e as { code?: unknown }).code === "EPIPE");
}

const encoder = new TextEncoder();

/**
 * Writes text to standard output, all of it.
 *
 * @example Write a line
 * ```ts
 * import { writeStdout } from "./session.ts";
 * writeStdout("hello\n");
 * ```
 */
export function writeStdout(text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) {
    const n = Deno.stdout.writeSync(bytes);
    bytes = bytes.subarray(n);
  }
}

/**
 * Drives an engine through a program's life: load, attach, BEGIN, events,
 * END, map printing, release.
 *
 * @example Run a BEGIN-only program on an engine
 * ```ts ignore
 * import { Session } from "./session.ts";
 * const session = new Session(program, engine);
 * await session.start();
 * await session.run({ durationMs: 1000 });
 * await session.finish();
 * ```
 */
export class Session {
  /** The program being run. */
  readonly program: Program;
  /** The engine running it. */
  readonly engine: Engine;
  #out: Formatter;
  #write: (text: string) => void;
  #unsafe: boolean;
  #runSystemOnSynthetic: boolean;
  #onEvent?: (event: DecodedEvent) => void;
  #quiet: boolean;
  #attachLine: boolean;
  #onAttached?: () => void;
  #messages?: (text: string) => void;
  #warn: (text: string) => void;
  #error: (text: string) => void;
  /** Per map name, the lost-update count last warned about. */
  #warnedFull = new Map<string, number>();
  #exitRequested = false;
  /** The engine's `pause()` begun when the program called exit(). */
  #pausing: Promise<void> | undefined;
  /** True while END runs and its records are read (after `exit()` too). */
  #ending = false;
  #exitCode: number | undefined;
  #stopRequested = false;
  #finished = false;
  #resolver?: SymbolResolver;
  #started = 0;
  #pending: string[] = [];
  #pendingSize = 0;
  #notice?: (line: string) => void;
  #outputClosed = false;
  #turnAt = performance.now();
  #wallStart = 0;
  #detachLeft: DetachProgress | undefined;

  /** Creates a session; nothing is loaded until `start()`. */
  constructor(program: Program, engine: Engine, options: SessionOptions = {}) {
    this.program = program;
    this.engine = engine;
    this.#out = formatterFor(options.format ?? "text");
    const write = options.write ?? writeStdout;
    // A reader that went away (`| head -1`) ends the session quietly.
    this.#write = (text) => {
      if (this.#outputClosed) return;
      try {
        write(text);
      } catch (e) {
        if (!isBrokenPipe(e)) throw e;
        this.#outputClosed = true;
      }
    };
    this.#notice = options.notice;
    this.#unsafe = options.unsafe ?? false;
    this.#runSystemOnSynthetic = options.runSystemOnSynthetic ?? false;
    this.#onEvent = options.onEvent;
    this.#quiet = options.quiet ?? false;
    this.#attachLine = options.attachLine ?? true;
    this.#onAttached = options.onAttached;
    this.#messages = options.messages;
    this.#warn = options.warn ?? writeStderr;
    this.#error = options.error ?? writeStderr;
  }

  /** True once the program called `exit()`. */
  get exitRequested(): boolean {
    return this.#exitRequested;
  }

  /**
   * The code the program gave `exit(code)` (0.26), if it gave one: the
   * status the process exits with.
   */
  get exitCode(): number | undefined {
    return this.#exitCode;
  }

  /** True once a write found the output closed (a pipe with no reader). */
  get outputClosed(): boolean {
    return this.#outputClosed;
  }

  /**
   * While `finish()` detaches probes: how many are done of how many, and
   * for how long it has been detaching; otherwise undefined.
   */
  get detaching(): DetachProgress | undefined {
    return this.#detachLeft;
  }

  /**
   * True once `durationMs` passed on the engine's clock, or on the wall
   * clock for an engine paced by it (an interpreter that falls behind its
   * rate still ends on time).
   */
  durationPassed(durationMs: number): boolean {
    if (this.elapsedMs() >= durationMs) return true;
    return this.engine.realtime === true &&
      performance.now() - this.#wallStart >= durationMs;
  }

  /** Milliseconds on the engine's clock since `start()`. */
  elapsedMs(): number {
    return this.#now() - this.#started;
  }

  #now(): number {
    return this.engine.clockMs ? this.engine.clockMs() : performance.now();
  }

  /** The time on the engine's clock: now, or the recorded time of a replay. */
  wallClock(): Date {
    const ns = this.engine.wallClockNs?.();
    return ns === undefined ? new Date() : new Date(Number(ns / 1_000_000n));
  }

  /**
   * Number of attach points, as bpftrace counts probes (less those
   * skipped by `missing_probes`).
   */
  probeCount(): number {
    return this.program.probes.reduce((n, p) => n + p.attach.length, 0) -
      (this.engine.skippedAttachPoints?.().length ?? 0);
  }

  /**
   * Loads the program, runs BEGIN, attaches every other probe, then prints
   * the attach line and BEGIN's output. As in bpftrace, BEGIN runs before any
   * other probe can fire; the attach line means the probes are live.
   */
  async start(): Promise<void> {
    checkProbeLimit(this.program);
    await loadNumberNames(this.program);
    await this.engine.load(this.program);
    const symbols = this.engine.symbols?.() ?? engineSymbols(this.engine);
    this.#resolver = symbols;
    const trailer = this.program.config?.strTruncTrailer;
    if (trailer !== undefined) {
      // Strings cut at max_strlen end with the config's trailer.
      this.#resolver = Object.assign(Object.create(symbols), {
        strTruncTrailer: trailer,
      });
    }
    if (this.#out.format === "json") {
      // 0.26 keeps enums numbers in JSON (names only through printf's %s).
      this.#resolver = Object.assign(Object.create(this.#resolver!), {
        enumNumbers: true,
      });
    }
    this.#started = this.#now();
    this.#wallStart = performance.now();
    await this.engine.runSpecial("BEGIN");
    // BEGIN's events are rendered now, written after the attach line.
    await this.engine.poll(0, (rec) => this.#handle(rec));
    const begun = this.#pending;
    this.#pending = [];
    this.#pendingSize = 0;
    if (!this.#exitRequested) await this.engine.attach();
    if (this.program.config?.missingProbes === "warn") {
      // bpftrace 0.26's words for an attach point skipped at attach time.
      for (const s of this.engine.skippedAttachPoints?.() ?? []) {
        this.#warn(
          `WARNING: ${s.error.message}\nWARNING: Unable to attach probe: ${s.point}. Skipping.\n`,
        );
      }
    }
    const n = this.probeCount();
    if (!this.#quiet && this.#attachLine) {
      // Synthetic events say so on the attach line: never invented data
      // that looks like the kernel's.
      const synthetic = this.engine.synthetic ??
        this.engine.kind === "interp";
      const attached = this.#out.attached(n, synthetic);
      if (this.#out.format === "json") this.#write(attached);
      else (this.#messages ?? this.#write)(attached);
    }
    this.#onAttached?.();
    this.#pending = begun.concat(this.#pending);
    this.#flush();
  }

  /** Asks `run()` to return at its next turn. */
  stop(): void {
    this.#stopRequested = true;
  }

  /**
   * Polls once for up to `timeoutMs`, handling events for at most about
   * {@linkcode SLICE_MS} of work. Output of one poll is written at once:
   * one write per batch, not per event. However fast events come, the
   * event loop gets a turn every `SLICE_MS`, so signal listeners and
   * timers run.
   */
  async pump(timeoutMs: number): Promise<number> {
    let got: number;
    try {
      got = await this.engine.poll(
        timeoutMs,
        (rec) => this.#handle(rec),
        { sliceMs: SLICE_MS },
      );
    } finally {
      this.#flush();
    }
    const now = performance.now();
    if (now - this.#turnAt >= SLICE_MS) {
      await nextTurn();
      this.#turnAt = performance.now();
    }
    return got;
  }

  /**
   * Reads every record still in the ring, a slice at a time (one poll
   * handles at most {@linkcode SLICE_MS} of work, and records not read are
   * neither printed nor counted as lost). Once the probes are paused or
   * detached the ring only empties; the kernel engine stops at what the ring
   * held when the drain began (`markDrain`), in case a probe still runs,
   * and reads all of it however long a slow reader of our output takes
   * (the mark bounds the work: one ring); an engine without a mark whose
   * probes still fire is drained for at most {@linkcode DRAIN_MS}.
   */
  async #drain(): Promise<void> {
    const marked = this.engine.markDrain?.() ?? false;
    const until = performance.now() + DRAIN_MS;
    while (await this.pump(0) > 0 && (marked || performance.now() < until)) {
      // keep reading
    }
  }

  #emit(text: string): void {
    this.#pending.push(text);
    this.#pendingSize += text.length;
    if (this.#pendingSize > 1 << 16) this.#flush();
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    const text = this.#pending.join("");
    this.#pending = [];
    this.#pendingSize = 0;
    this.#write(text);
  }

  /**
   * Why the session should end now, or undefined while it should go on:
   * the program exited, `stop()` was called, the output was closed, the
   * signal aborted, the traced process exited (`process`, aborted by a
   * `watchProcess()` of `process_watch.ts`), or `durationMs` passed on the
   * engine's clock (checked in that order).
   */
  endReason(
    limits: {
      durationMs?: number;
      signal?: AbortSignal;
      process?: AbortSignal;
    } = {},
  ): ExitReason | undefined {
    if (this.#exitRequested) return "exit";
    if (this.#stopRequested) return "stopped";
    if (this.#outputClosed) return "closed";
    if (limits.signal?.aborted) return "signal";
    if (limits.process?.aborted) return "process";
    if (
      limits.durationMs !== undefined && this.durationPassed(limits.durationMs)
    ) return "duration";
    return undefined;
  }

  /**
   * Handles events until the program exits, `stop()` is called, the signal
   * aborts, the traced process exits (`process`), or `durationMs` passes on
   * the engine's clock.
   */
  async run(
    options: {
      durationMs?: number;
      signal?: AbortSignal;
      process?: AbortSignal;
      tickMs?: number;
    } = {},
  ): Promise<ExitReason> {
    const tick = options.tickMs ?? 100;
    while (true) {
      const reason = this.endReason(options);
      if (reason !== undefined) return reason;
      let wait = tick;
      if (options.durationMs !== undefined) {
        wait = Math.min(wait, options.durationMs - this.elapsedMs());
      }
      await this.pump(Math.max(0, Math.ceil(wait)));
    }
  }

  /** Decodes and returns one user-visible map as plain data. */
  readMap(name: string): MapData {
    const i = this.program.maps.findIndex((m) => m.name === name);
    if (i < 0 || this.program.maps[i].internal) {
      throw new RangeError(`Unknown map "${name}"`);
    }
    return this.#decodeMap(i);
  }

  /** Every user-visible map, decoded. */
  readMaps(): MapData[] {
    const out: MapData[] = [];
    this.program.maps.forEach((m, i) => {
      if (!m.internal && m.agg) out.push(this.#decodeMap(i));
    });
    return out;
  }

  /** Deletes every entry of a user-visible map. */
  clearMap(name: string): void {
    const i = this.program.maps.findIndex((m) => m.name === name);
    if (i < 0) throw new RangeError(`Unknown map "${name}"`);
    this.engine.clearMap(i);
  }

  #decodeMap(i: number): MapData {
    const data = decodeMap(
      this.program.maps[i],
      this.engine.readMap(i),
      this.#resolver,
    );
    const lost = this.mapFull().find((m) => m.name === data.name)?.lost;
    if (lost !== undefined) data.lostUpdates = lost;
    return data;
  }

  /**
   * Every user map that refused updates because it was full, with how
   * many since the start (the program counts them in its `.full` map);
   * empty when none did.
   */
  mapFull(): MapFull[] {
    const i = this.program.maps.findIndex((m) =>
      m.name === ".full" && m.internal
    );
    if (i < 0) return [];
    return mapFullCounts(this.program.maps, this.engine.readMap(i));
  }

  /**
   * Reports full maps: at exit every one; after `print()` showed map
   * `printed`, that one. With `-f json` a `map_full` record follows each
   * (on every print); the warning on standard error is written at exit and
   * when the count grew since the last warning.
   */
  #reportFull(printed?: string): void {
    for (const m of this.mapFull()) {
      if (printed !== undefined && m.name !== printed) continue;
      const json = this.#out.mapFull(m);
      if (printed !== undefined) {
        if (json !== "") this.#emit(json);
        if (this.#warnedFull.get(m.name) === m.lost) continue;
        // The map's text first, then the warning about it.
        this.#flush();
      } else if (json !== "") this.#write(json);
      this.#warnedFull.set(m.name, m.lost);
      this.#warn(formatMapFullWarning(m));
    }
  }

  /**
   * Runs END, handles its events, prints every map and the lost
   * event count, then detaches (announcing a slow detach through
   * `notice`, with progress) and releases the engine. Safe to call twice.
   * `printMaps: false` prints no maps; `end: true` still writes the end
   * of the output (two newlines in text), as bpftrace does whether or
   * not maps follow; `print_maps_on_exit = false` implies it.
   */
  async finish(
    options: { printMaps?: boolean; end?: boolean } = {},
  ): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    try {
      // As in bpftrace, END runs once every other probe has stopped. An
      // engine that can pause its probes quickly detaches them after the
      // maps are printed: that can take the kernel a while.
      if (this.#pausing !== undefined) await this.#pausing;
      else if (this.engine.pause !== undefined) await this.engine.pause();
      else this.engine.detach?.();
      // What probes wrote after exit() goes unread (dropped); END's
      // records are read.
      if (this.#exitRequested) await this.#drain();
      this.#ending = true;
      await this.engine.runSpecial("END");
      await this.#drain();
      const config = this.program.config?.printMapsOnExit;
      if (options.printMaps ?? config ?? true) {
        // As bpftrace: two newlines, then every map; an empty one prints
        // as a blank line (text) or nothing (JSON), a keyless count as 0.
        this.#write(this.#out.exitMaps(this.readMaps()));
      } else if (options.end ?? config === false) {
        // bpftrace 0.26 (src/bpftrace.cpp): the output's end, no maps.
        this.#write(this.#out.exitMaps([]));
      }
      this.#reportFull();
      const lost = this.engine.lostEvents();
      if (lost > 0) {
        const line = this.#out.lostEvents(lost);
        if (this.#out.format === "json") this.#write(line);
        else (this.#messages ?? this.#write)(line);
      }
      this.#noticeLag();
      await this.#detach();
    } finally {
      this.#detachLeft = undefined;
      this.engine.close();
    }
  }

  /**
   * Says so when an engine paced by the wall clock but with its own clock
   * (the interpreter) fell behind: fewer events ran than its rate asks.
   */
  #noticeLag(): void {
    if (this.#notice === undefined || this.engine.clockMs === undefined) return;
    if (this.engine.realtime !== true) return;
    const wall = performance.now() - this.#wallStart;
    const ran = this.elapsedMs();
    if (wall - ran < 100 || ran > 0.9 * wall) return;
    this.#notice(
      `tsbpf: the interpreter could not keep up with its event rate: it ran ${
        ran < 10 ? ran.toPrecision(2) : Math.round(ran)
      } ms of synthetic time in ${Math.round(wall)} ms`,
    );
  }

  async #detach(): Promise<void> {
    const engine = this.engine;
    if (engine.detachAsync === undefined) {
      engine.detach?.();
      return;
    }
    const notice = this.#notice;
    const t0 = performance.now();
    let shownAt = -1;
    this.#detachLeft = { done: 0, total: 0, elapsedMs: 0 };
    await engine.detachAsync((done, total) => {
      this.#detachLeft = { done, total, elapsedMs: performance.now() - t0 };
      if (notice === undefined) return;
      const now = performance.now();
      if (shownAt < 0) {
        if (done < total && now - t0 >= DETACH_NOTICE_MS) {
          notice(`tsbpf: detaching ${total} probes… (${done} done)`);
          shownAt = now;
        }
      } else if (done === total) {
        notice(
          `tsbpf: detached ${total} probes in ${
            ((now - t0) / 1000).toFixed(1)
          } s`,
        );
      } else if (now - shownAt >= 1000) {
        notice(`tsbpf: detaching… ${done} of ${total} probes done`);
        shownAt = now;
      }
    });
  }

  /** Begins the engine's `pause()` now, its errors left to `finish()`. */
  #pauseNow(): Promise<void> | undefined {
    if (this.engine.pause === undefined) return undefined;
    try {
      return Promise.resolve(this.engine.pause()).catch(() => {});
    } catch {
      return undefined;
    }
  }

  #handle(record: Uint8Array): void {
    // As bpftrace 0.26 (src/bpftrace.cpp): once a probe called exit(), the
    // records of probes that ran after it (on the kernel, until the probes
    // are paused) are dropped, END's are read.
    if (this.#exitRequested && !this.#ending) return;
    const ev = decodeEvent(this.program, record, this.#resolver);
    this.#onEvent?.(ev);
    const a = ev.action;
    switch (a.kind) {
      case "print_map": {
        if (this.#quiet) return;
        const data = this.#decodeMap(a.mapIndex);
        this.#emit(this.#out.map(data, { top: a.top, div: a.div }));
        this.#reportFull(data.name);
        return;
      }
      case "clear":
        this.engine.clearMap(a.mapIndex);
        return;
      case "zero":
        this.engine.zeroMap(a.mapIndex);
        return;
      case "exit":
        if (ev.args.length > 0 && this.#exitCode === undefined) {
          // As a process status: the low 8 bits.
          this.#exitCode = Number(BigInt(ev.args[0] as number | bigint) & 255n);
        }
        if (!this.#exitRequested) {
          this.#exitRequested = true;
          // Stop the probes at once (the kernel's keep running until
          // paused): fewer run after the one that called exit().
          this.#pausing = this.#pauseNow();
        }
        return;
      case "errorf":
      case "warnf": {
        // bpftrace 0.26: `FILE:LINE:COL-END: ERROR: message` on stderr.
        const file = a.file ?? this.program.source?.name ?? "stdin";
        const text = formatPrintf(a.format, ev.args).replace(/\n$/, "");
        const line = `${file}:${a.line}:${a.col}-${a.endCol}: ${
          a.kind === "errorf" ? "ERROR" : "WARNING"
        }: ${text}\n`;
        if (a.kind === "errorf") this.#error(line);
        else this.#warn(line);
        return;
      }
      case "system": {
        if (!this.#unsafe) return;
        const cmd = formatPrintf(a.format, ev.args);
        if (this.engine.kind === "interp" && !this.#runSystemOnSynthetic) {
          this.#emit(
            this.#out.systemNotRun(
              cmd,
              this.engine.synthetic === false ? "replayed" : "synthetic",
            ),
          );
          return;
        }
        const out = new Deno.Command("sh", {
          args: ["-c", cmd],
          stdout: "piped",
          stderr: "inherit",
        }).outputSync();
        const text = new TextDecoder().decode(out.stdout);
        this.#emit(this.#out.systemOutput(text));
        return;
      }
      case "cat": {
        // Reading a file needs no --unsafe (bpftrace 0.17 and 0.26).
        const path = formatPrintf(a.format, ev.args);
        let text: string;
        try {
          text = Deno.readTextFileSync(path);
        } catch (e) {
          text = `ERROR: failed to open file '${path}': ${openError(e)}\n`;
        }
        this.#emit(this.#out.catOutput(text));
        return;
      }
      default: {
        // printf, print(value), time(), join(): rendered by the output code.
        if (this.#quiet) return;
        const text = this.#out.event(ev, this.wallClock());
        if (text !== undefined) this.#emit(text);
      }
    }
  }
}
