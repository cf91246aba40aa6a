/**
 * The TypeScript scripting API: `trace(source)` compiles a bpftrace-language
 * program, runs it on the kernel or the interpreter, and hands back a
 * session to read its maps, iterate its events and tick on the engine's
 * clock.
 *
 * @module
 */

import { selectEngine } from "../backend.ts";
import type { BackendChoice } from "../cli_args.ts";
import { compile } from "../compiler/compile.ts";
import type { Engine, ProbeStats } from "../engine.ts";
import { sortMapData } from "../output/decode.ts";
import { formatEventOutput } from "../output/event.ts";
import type { DecodedEvent, MapData, Value } from "../output/types.ts";
import type { Program } from "../program.ts";
import { type ExitReason, Session, writeStdout } from "../session.ts";
import { verifyProgram } from "../verify_program.ts";
import {
  type KeyParts,
  type MapKey,
  type MapSnapshot,
  type MapValue,
  snapshotOf,
  type TraceMap,
} from "./map_view.ts";

export type { ExitReason } from "../session.ts";

/** Options of {@linkcode trace}. */
export interface TraceOptions {
  /** `auto` (default: the kernel when it can, else the interpreter), `kernel` or `interp`. */
  backend?: BackendChoice;
  /** Positional parameters: `$1` is `params[0]`. */
  params?: string[];
  /** Seed of the synthetic events (interpreter). */
  seed?: number;
  /** Synthetic events per second per probe (interpreter). */
  rate?: number;
  /** Trace only this process. */
  pid?: number;
  /** Allow `system()`, `cat()` and `signal()`. */
  unsafe?: boolean;
  /** Output format of what `print` writes (default `text`). */
  format?: "text" | "json";
  /**
   * Print like the CLI: the attach line, printf output as it comes, and
   * every non-empty map when the session closes (default false).
   */
  print?: boolean;
  /** Where `print` output goes (default: standard output). */
  write?: (text: string) => void;
  /**
   * Interpreter only: pace virtual time with the wall clock (default
   * false: a tick of N ms runs N ms of synthetic time as fast as it can).
   */
  realtime?: boolean;
  /** End the session after this many milliseconds on the engine's clock. */
  durationMs?: number;
  /** End the session when this signal aborts. */
  signal?: AbortSignal;
  /** Source name in compile errors (default `script`). */
  fileName?: string;
  /**
   * Events kept per unread iterator before the oldest are dropped
   * (default 100000); see `TraceSession.droppedEvents`.
   */
  maxBuffered?: number;
}

/** One tick of {@linkcode TraceSession.every}. */
export interface Tick {
  /** 0 for the first tick. */
  index: number;
  /** Milliseconds since the session started, on the engine's clock. */
  elapsedMs: number;
  /** Milliseconds since the previous tick (or the loop's start). */
  intervalMs: number;
}

/**
 * A decoded event with its rendered text: the printf output for `printf`,
 * the joined arguments and a newline for `join`, the value and a newline
 * for `print(value)`, the time for `time`.
 */
export interface TraceEvent<A extends Value[] = Value[]> extends DecodedEvent {
  /** Argument values; typed by the caller with `events<[...]>()`. */
  args: A;
  /** The text the event prints, when it prints text. */
  text?: string;
}

interface Subscriber {
  items: TraceEvent[];
  head: number;
}

function createEngine(
  options: TraceOptions,
): { engine: Engine; note: string } {
  const choice = options.backend ?? "auto";
  const engineOptions = {
    seed: options.seed,
    rate: options.rate,
    pid: options.pid,
    realtime: options.realtime ?? false,
  };
  return selectEngine(choice, engineOptions);
}

/**
 * Compiles `source` (bpftrace language), loads and attaches it, runs BEGIN
 * and returns the running session. Close it with `await using`, `close()`
 * or `stop()` + `close()`.
 *
 * @throws {import("../lang/diagnostics.ts").CompileErrors} on syntax or
 *   semantic errors; the engine's errors (verifier, attach) as they are.
 * @example Count getppid calls of this process on the interpreter
 * ```ts
 * import assert from "node:assert/strict";
 * import { trace } from "./trace.ts";
 *
 * await using s = await trace(
 *   "tracepoint:syscalls:sys_enter_getppid { @calls[comm] = count(); }",
 *   { backend: "interp", seed: 1 },
 * );
 * for await (const tick of s.every(100)) if (tick.index === 2) break;
 * const calls = s.map<string, number>("calls").read();
 * assert.ok(calls.size > 0);
 * ```
 */
export async function trace(
  source: string,
  options: TraceOptions = {},
): Promise<TraceSession> {
  const program = compile(source, {
    fileName: options.fileName ?? "script",
    params: options.params,
    unsafe: options.unsafe,
  });
  verifyProgram(program);
  const { engine, note } = createEngine(options);
  const session = new TraceSession(program, engine, note, options);
  try {
    await session.start();
  } catch (e) {
    engine.close();
    throw e;
  }
  return session;
}

/**
 * A running program. Every iterator (`every`, `events`, `printf`, `run`)
 * drives the engine while it waits, so any one of them alone keeps events
 * flowing; several may run at once.
 */
export class TraceSession implements AsyncDisposable {
  /** The compiled program. */
  readonly program: Program;
  /** Which engine runs it. */
  readonly engineKind: "kernel" | "interp";
  /** One sentence: which engine and why. */
  readonly note: string;
  #engine: Engine;
  #session: Session;
  #print: boolean;
  #write: (text: string) => void;
  #durationMs?: number;
  #signal?: AbortSignal;
  #maxBuffered: number;
  #subs = new Set<Subscriber>();
  #pumping: Promise<unknown> | undefined;
  #reason: ExitReason | undefined;
  #closed = false;
  #dropped = 0;

  /** Use {@linkcode trace} instead: it compiles, verifies and starts. */
  constructor(
    program: Program,
    engine: Engine,
    note: string,
    options: TraceOptions = {},
  ) {
    this.program = program;
    this.#engine = engine;
    this.engineKind = engine.kind;
    this.note = note;
    this.#print = options.print ?? false;
    this.#write = options.write ?? writeStdout;
    this.#durationMs = options.durationMs;
    this.#signal = options.signal;
    this.#maxBuffered = options.maxBuffered ?? 100_000;
    this.#session = new Session(program, this.#engine, {
      format: options.format,
      write: this.#write,
      unsafe: options.unsafe,
      quiet: !this.#print,
      onEvent: (ev) => this.#onEvent(ev),
    });
  }

  /** Loads, attaches and runs BEGIN (called by {@linkcode trace}). */
  async start(): Promise<void> {
    await this.#session.start();
  }

  /** Why the session ended, or undefined while it runs. */
  get exitReason(): ExitReason | undefined {
    this.#checkDone();
    return this.#reason;
  }

  /** True once the program exited, was stopped, timed out or closed. */
  get done(): boolean {
    return this.#checkDone();
  }

  /** Events dropped because an iterator fell `maxBuffered` behind. */
  get droppedEvents(): number {
    return this.#dropped;
  }

  /** Milliseconds since start on the engine's clock (virtual on interp). */
  elapsedMs(): number {
    return this.#session.elapsedMs();
  }

  /** Ring-buffer records the engine lost. */
  lostEvents(): number {
    return this.#engine.lostEvents();
  }

  /** Per-probe run statistics of the engine. */
  stats(): ProbeStats[] {
    return this.#engine.stats();
  }

  #checkDone(): boolean {
    if (this.#reason !== undefined) return true;
    if (this.#session.exitRequested) this.#reason = "exit";
    else if (this.#signal?.aborted) this.#reason = "signal";
    else if (
      this.#durationMs !== undefined &&
      this.#session.elapsedMs() >= this.#durationMs
    ) this.#reason = "duration";
    return this.#reason !== undefined;
  }

  #onEvent(ev: DecodedEvent): void {
    if (this.#subs.size === 0) return;
    const out: TraceEvent = {
      id: ev.id,
      action: ev.action,
      args: ev.args,
      text: formatEventOutput(ev, "text"),
    };
    for (const s of this.#subs) {
      if (s.items.length - s.head >= this.#maxBuffered) {
        s.head++;
        this.#dropped++;
      }
      s.items.push(out);
    }
  }

  /** Polls once (shared by every waiting iterator). */
  async #step(maxMs: number): Promise<void> {
    if (this.#pumping !== undefined) {
      await this.#pumping;
      return;
    }
    let wait = maxMs;
    if (this.#durationMs !== undefined) {
      wait = Math.min(wait, this.#durationMs - this.#session.elapsedMs());
    }
    wait = Math.max(0, Math.ceil(wait));
    this.#pumping = this.#session.pump(wait);
    try {
      await this.#pumping;
    } finally {
      this.#pumping = undefined;
    }
  }

  /**
   * Ticks every `intervalMs` on the engine's clock (wall time on the
   * kernel, virtual time on the interpreter), at multiples of `intervalMs`
   * since the session started (so a `durationMs` that is a multiple of the
   * interval ends on a tick; the first tick may come early), until the program exits, the
   * session is stopped or closed, its duration passes or its signal aborts.
   * Events keep flowing between ticks.
   */
  async *every(intervalMs: number): AsyncGenerator<Tick> {
    if (!(intervalMs > 0)) {
      throw new RangeError(`Tick interval must be positive, got ${intervalMs}`);
    }
    let last = this.elapsedMs();
    const first = Math.floor(last / intervalMs) + 1;
    for (let index = 0;; index++) {
      const target = (first + index) * intervalMs;
      while (!this.#checkDone() && this.elapsedMs() < target) {
        await this.#step(Math.min(100, target - this.elapsedMs()));
      }
      const now = this.elapsedMs();
      if (now < target) return;
      yield { index, elapsedMs: now, intervalMs: now - last };
      last = now;
      if (this.#checkDone()) return;
    }
  }

  /**
   * Every event from now on, decoded, with its rendered text. Type the
   * arguments with a tuple: `events<[number, string]>()`.
   */
  async *events<A extends Value[] = Value[]>(): AsyncGenerator<
    TraceEvent<A>
  > {
    const sub: Subscriber = { items: [], head: 0 };
    this.#subs.add(sub);
    try {
      while (true) {
        while (sub.head < sub.items.length) {
          const ev = sub.items[sub.head++] as TraceEvent<A>;
          if (sub.head > 1024 && sub.head * 2 > sub.items.length) {
            sub.items = sub.items.slice(sub.head);
            sub.head = 0;
          }
          yield ev;
        }
        if (this.#checkDone() || this.#closed) return;
        await this.#step(100);
      }
    } finally {
      this.#subs.delete(sub);
    }
  }

  /**
   * The text lines `printf()` (and `join()`) print from now on, without
   * their newlines; a last unterminated line comes when the session ends.
   */
  async *printf(): AsyncGenerator<string> {
    let partial = "";
    for await (const ev of this.events()) {
      if (ev.action.kind !== "printf" && ev.action.kind !== "join") continue;
      partial += ev.text ?? "";
      let nl;
      while ((nl = partial.indexOf("\n")) >= 0) {
        yield partial.slice(0, nl);
        partial = partial.slice(nl + 1);
      }
    }
    if (partial !== "") yield partial;
  }

  /** Handles events until the session is done; returns why it ended. */
  async run(): Promise<ExitReason> {
    while (!this.#checkDone()) await this.#step(100);
    return this.#reason!;
  }

  /**
   * A typed handle on map `name` (`"drops"` or `"@drops"`; `"@"` for the
   * anonymous map). `K` is the key (a tuple for several keys), `V` the
   * value; integers above 2^53 arrive as `bigint`.
   *
   * @throws {RangeError} when the program has no such map.
   */
  map<K = MapKey, V = MapValue>(name: string): TraceMap<K, V> {
    const full = name.startsWith("@") ? name : "@" + name;
    const index = this.program.maps.findIndex((m) =>
      m.name === full && !m.internal && m.agg !== undefined
    );
    if (index < 0) {
      const known = this.program.maps.filter((m) => !m.internal && m.agg)
        .map((m) => `"${m.name}"`).join(", ");
      throw new RangeError(
        `Unknown map "${full}"; the program has ${known || "no maps"}`,
      );
    }
    const spec = this.program.maps[index];
    const data = (): MapData => sortMapData(this.#session.readMap(full));
    const read = (): MapSnapshot<K, V> => snapshotOf<K, V>(data());
    return {
      name: full,
      kind: spec.agg!.kind,
      read,
      entries: () => [...read()],
      get: (...key: KeyParts<K>) => read().lookup(...key),
      data,
      clear: () => this.#engine.clearMap(index),
    };
  }

  /** Every user-visible map now, decoded. */
  maps(): MapData[] {
    return this.program.maps
      .filter((m) => !m.internal && m.agg !== undefined)
      .map((m) => this.map(m.name).data());
  }

  /** Deletes every entry of map `name`. */
  clear(name: string): void {
    this.map(name).clear();
  }

  /**
   * Ends the session's iterators (`exitReason` becomes `"stopped"`); the
   * maps stay readable until `close()`.
   */
  stop(): void {
    this.#reason ??= "stopped";
    this.#session.stop();
  }

  /**
   * Runs END, prints the maps when `print` is on, detaches and releases
   * everything. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#reason ??= "stopped";
    if (this.#pumping !== undefined) await this.#pumping.catch(() => {});
    await this.#session.finish({ printMaps: this.#print });
  }

  /** `await using` support: {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
