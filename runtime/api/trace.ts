/**
 * The TypeScript scripting API: `trace(source)` compiles a program — text
 * in the bpftrace language, or probe bodies written in TypeScript and
 * staged into the same syntax tree — runs it on the kernel or the
 * interpreter, and hands back a session to read its maps (typed from their
 * declarations), iterate its events and typed emits, and tick on the
 * engine's clock.
 *
 * @module
 */

import { selectEngine } from "../engines/backend.ts";
import { compile } from "../compiler/compile.ts";
import { prepareKernelTypes } from "../compiler/kernel_types.ts";
import type { Engine, ProbeStats } from "../engines/engine.ts";
import { sortMapData } from "../output/decode.ts";
import { textFormatter } from "../output/formatter.ts";
import type { MapFull } from "../output/map_full.ts";
import type { DecodedEvent, MapData, Value } from "../output/types.ts";
import type { Program } from "../program.ts";
import type { MetricsServer } from "../metrics/server.ts";
import type { Exporters } from "./trace_metrics.ts";
import type { RemoteWriter } from "../metrics/remote_write.ts";
import type { ProcessWatch } from "../process_watch.ts";
import { type ExitReason, Session, writeStdout } from "../session.ts";
import {
  type EventDecl,
  type EventInfo,
  matchEmit,
  type Shape,
} from "../staging/events.ts";
import type { MapRef, MapValueKind } from "../staging/maps.ts";
import { compileStaged, type StagedProgram, Tracer } from "../staging/stage.ts";
import type { KeyType } from "../staging/types.ts";
import type { ApiKey, ApiMapValue, ApiRecord } from "./typed.ts";
import {
  type KeyParts,
  type MapKey,
  type MapSnapshot,
  type MapValue,
  snapshotOf,
  type TraceMap,
} from "./map_view.ts";

export type { ExitReason } from "../session.ts";
export type {
  TraceMetricsOptions,
  TraceRemoteWriteOptions,
} from "./trace_metrics.ts";

import type {
  EmitRecord,
  Tick,
  TickSync,
  TraceEvent,
  TraceOptions,
  TraceSource,
} from "./trace_types.ts";

export type {
  EmitRecord,
  Tick,
  TickSync,
  TraceEvent,
  TraceOptions,
  TraceSource,
} from "./trace_types.ts";

interface Subscriber {
  items: TraceEvent[];
  head: number;
}

function createEngine(
  options: TraceOptions,
): Promise<{ engine: Engine; note: string }> {
  const choice = options.backend ?? "auto";
  const engineOptions = {
    seed: options.seed,
    rate: options.rate,
    pid: options.pid,
    realtime: options.realtime ?? false,
    stats: options.stats,
  };
  return selectEngine(choice, engineOptions);
}

/**
 * Compiles `source`, loads and attaches it, runs BEGIN and returns the
 * running session. Close it with `await using`, `close()` or `stop()` +
 * `close()`.
 *
 * `source` is bpftrace-language text, or TypeScript probe bodies: a
 * builder `(t) => { ... }`, a {@linkcode Tracer}, or a
 * {@linkcode StagedProgram}. Staged bodies compile through the same
 * compiler to the same bytecode as the equivalent text; their typed maps
 * and events read back typed (`session.map(ref)`, `session.emits(event)`).
 *
 * @throws {import("../lang/diagnostics.ts").CompileErrors} on syntax or
 *   semantic errors; {@linkcode import("../staging/stager.ts").StagingError}
 *   from a staging builder; the
 *   engine's errors (verifier, attach) as they are.
 * @example Count getppid calls on the interpreter (bpftrace text)
 * ```ts
 * import assert from "node:assert/strict";
 * import { trace } from "./trace.ts";
 *
 * await using s = await trace(
 *   "tracepoint:syscalls:sys_enter_getppid { @calls[comm] = count(); }",
 *   { backend: "interp", seed: 1 },
 * );
 * for await (const tick of s.every(100)) if (tick.index === 2) break;
 * const calls = s.map<string, number>("calls");
 * assert.ok(calls.read().size > 0);
 * ```
 * @example The same with a TypeScript probe body and a typed emit
 * ```ts
 * import assert from "node:assert/strict";
 * import { trace } from "./trace.ts";
 * import { Tracer } from "../staging/stage.ts";
 * import type { Str, U32 } from "../staging/types.ts";
 *
 * const t = new Tracer();
 * const calls = t.map<[Str], "count">("calls");
 * const call = t.event<{ pid: U32; comm: Str }>("call");
 * t.probe("tracepoint:syscalls:sys_enter_getppid", (c) => {
 *   calls.at(c.comm).count();
 *   c.emit(call, { pid: c.pid, comm: c.comm });
 * });
 * await using s = await trace(t, { backend: "interp", seed: 1 });
 * for await (const r of s.emits(call)) {
 *   const comm: string = r.comm; // typed from the declaration
 *   assert.ok((s.map(calls).get(comm) ?? 0) >= 1);
 *   break;
 * }
 * ```
 */
export async function trace(
  source: TraceSource,
  options: TraceOptions = {},
): Promise<TraceSession> {
  // As the CLI's -p: a pid of no process of this machine is an error (a
  // replay's are not this machine's), and every probe tests the pid.
  if (options.pid !== undefined && options.replay === undefined) {
    (await import("./trace_pid.ts")).checkPid(
      options.pid,
      options.backend ?? "auto",
    );
  }
  const compileOptions = {
    params: options.params,
    pid: options.pid,
    unsafe: options.unsafe,
    maxMapKeys: options.maxMapKeys,
    histSums: options.metrics !== undefined ||
      options.remoteWrite !== undefined,
  };
  // record/replay: their modules load only when asked for; a replay opens
  // its file first, the program compiling against the formats it carries.
  const hooks = options.record !== undefined || options.replay !== undefined
    ? await import("../record/cli_hooks.ts")
    : undefined;
  const replay = options.replay === undefined
    ? undefined
    : await hooks!.replayEngine(options.replay, {
      realtime: options.realtime ?? false,
    });
  if (replay !== undefined && options.durationMs === undefined) {
    options = { ...options, durationMs: replay.durationMs };
  }
  let program: Program;
  let staged: StagedProgram | undefined;
  if (typeof source === "string") {
    await prepareKernelTypes(source);
    program = compile(source, {
      ...compileOptions,
      fileName: options.fileName ?? "script",
    });
  } else {
    // A builder that reads kernel structs (`c.kernel(...)`) stages with
    // the kernel's types at hand.
    if (typeof source === "function") {
      await prepareKernelTypes(source.toString());
    }
    staged = typeof source === "function"
      ? stageBuilder(source)
      : source instanceof Tracer
      ? source.finish()
      : source;
    program = compileStaged(staged, {
      ...compileOptions,
      fileName: options.fileName ?? "staged",
    });
  }
  // A replay's kernel types served this compile only.
  replay?.restoreTypes();
  // The exporters start before anything loads: a bad setting or a busy
  // address fails before any probe attaches.
  // (trace_metrics.ts is imported only when an exporter is asked for.)
  const exporters: Exporters =
    options.metrics === undefined && options.remoteWrite === undefined
      ? {}
      : await (await import("./trace_metrics.ts")).startExporters(
        options,
        program,
        staged,
      );
  const closeExporters = () =>
    Promise.all([exporters.server?.close(), exporters.writer?.close()]);
  let created;
  try {
    created = replay ?? await createEngine(options);
  } catch (e) {
    await closeExporters();
    throw e;
  }
  const { note } = created;
  const recorder = options.record === undefined
    ? undefined
    : hooks!.recordingEngine(created.engine, options.record, "trace()", {
      pid: options.pid,
    });
  const engine: Engine = recorder ?? created.engine;
  let session: TraceSession;
  try {
    engine.verify?.(program);
    session = new TraceSession(
      program,
      engine,
      note,
      options,
      staged,
      replay === undefined ? undefined : () => replay.feed.error,
      {
        mark: recorder === undefined ? undefined : (ns) => recorder.mark(ns),
        feed: replay?.feed,
      },
    );
    await session.start();
    // As the CLI's -p: the session ends when that process exits (the
    // interpreter's and a replay's processes are not this machine's).
    if (
      options.pid !== undefined && replay === undefined &&
      created.engine.kind === "kernel"
    ) {
      session.endWith(
        (await import("../process_watch.ts")).watchProcess(options.pid),
      );
    }
    // One line naming the engine and why, once its probes are live; on
    // the interpreter unless asked not to, as the CLI: its events are
    // synthetic (a replay's are recorded).
    const sayNote = options.announce ??
      (created.engine.kind === "interp" && replay === undefined);
    if (sayNote) console.error(`tsbpf: ${note}`);
    await session.exportTo(exporters, options.stats ?? false);
    if (options.announce && exporters.server !== undefined) {
      console.error(`tsbpf: serving metrics at ${exporters.server.url}`);
    }
    if (options.announce && exporters.writer !== undefined) {
      console.error(`tsbpf: writing metrics to ${exporters.writer.url}`);
    }
  } catch (e) {
    await closeExporters();
    engine.close();
    throw e;
  }
  return session;
}

/** Sessions started and not yet closed. */
const openSessions = new Set<TraceSession>();

/**
 * For an exit that cannot wait (a second Ctrl-C): leaves the probes that
 * every open session still has attached to background processes, which
 * hold them until the kernel has released them (tens of milliseconds per
 * tracepoint), and says so on standard error. Exiting without this would
 * wait for the kernel all the same.
 *
 * @example Before exiting at once
 * ```ts
 * import { handOffProbes } from "./trace.ts";
 * handOffProbes();
 * ```
 */
export function handOffProbes(): void {
  for (const session of openSessions) {
    const left = session.handOff();
    if (left === undefined) continue;
    console.error(
      `tsbpf: exiting; process ${left.pid} holds the ${left.count} probes left until the kernel has released them`,
    );
  }
}

function stageBuilder(build: (t: Tracer) => void): StagedProgram {
  const t = new Tracer();
  build(t);
  return t.finish();
}

/** Names of the events a program can emit (staged or native). */
function eventNames(
  program: Program,
  events: readonly EventInfo[],
): Set<string> {
  const names = new Set(events.map((e) => e.name));
  for (const f of program.formats) {
    const a = f.action as { kind: string; event?: unknown };
    if (a.kind === "emit" && typeof a.event === "string") names.add(a.event);
  }
  return names;
}

const MS = 1_000_000n;

/**
 * A running program. Every iterator (`every`, `events`, `emits`,
 * `printf`, `run`) drives the engine while it waits, so any one of them
 * alone keeps events flowing; several may run at once.
 *
 * @example Read a map every tick, then close
 * ```ts
 * import assert from "node:assert/strict";
 * import { trace } from "./trace.ts";
 *
 * await using session = await trace(
 *   "tracepoint:raw_syscalls:sys_enter { @calls[pid, comm] = count(); }",
 *   { backend: "interp", seed: 1, durationMs: 300 },
 * );
 * const calls = session.map<[number, string], number>("calls");
 * for await (const tick of session.every(100)) {
 *   const [top] = calls.read().sortedBy((n) => n);
 *   console.log(tick.elapsedMs, top);
 * }
 * assert.equal(session.exitReason, "duration");
 * ```
 */
export class TraceSession implements AsyncDisposable {
  /** The compiled program. */
  readonly program: Program;
  /** The staged program, when the source was TypeScript probe bodies. */
  readonly staged?: StagedProgram;
  /** Which engine runs it. */
  readonly engineKind: "kernel" | "interp";
  /**
   * True when the events are invented (the interpreter's synthetic world):
   * every map, event and line the session hands out is synthetic, and
   * whatever shows them should say so. False for the kernel's events and
   * for a replay of recorded ones.
   */
  readonly synthetic: boolean;
  /** One sentence: which engine and why. */
  readonly note: string;
  #replayError: (() => Error | undefined) | undefined;
  #engine: Engine;
  #session: Session;
  #print: boolean;
  #durationMs?: number;
  #recording: boolean;
  #ticks: TickSync;
  /** The time of the tick being handed out (see `every()`). */
  #tickDate?: Date;
  #signal?: AbortSignal;
  #unlisten?: () => void;
  #handleSignals: boolean;
  #maxBuffered: number;
  #subs = new Set<Subscriber>();
  #pumping: Promise<unknown> | undefined;
  #reason: ExitReason | undefined;
  #closed = false;
  #dropped = 0;
  #events: readonly EventInfo[];
  #eventNames: Set<string>;
  #metrics?: MetricsServer;
  #writer?: RemoteWriter;
  #process?: ProcessWatch;

  /** Use {@linkcode trace} instead: it compiles, verifies and starts. */
  constructor(
    program: Program,
    engine: Engine,
    note: string,
    options: TraceOptions = {},
    staged?: StagedProgram,
    replayError?: () => Error | undefined,
    ticks: TickSync = {},
  ) {
    this.#ticks = ticks;
    this.#replayError = replayError;
    this.program = program;
    this.staged = staged;
    this.#events = staged?.events ?? [];
    this.#eventNames = eventNames(program, this.#events);
    this.#engine = engine;
    this.engineKind = engine.kind;
    this.synthetic = engine.synthetic ?? engine.kind === "interp";
    this.note = note;
    this.#print = options.print ?? false;
    this.#durationMs = options.durationMs;
    this.#recording = options.record !== undefined;
    this.#signal = options.signal;
    this.#handleSignals = options.handleSignals ?? options.signal === undefined;
    this.#maxBuffered = options.maxBuffered ?? 100_000;
    this.#session = new Session(program, this.#engine, {
      format: options.format,
      write: options.write ?? writeStdout,
      unsafe: options.unsafe,
      warn: options.warn,
      notice: options.announce ? (line) => console.error(line) : undefined,
      quiet: !this.#print,
      onEvent: (ev) => this.#onEvent(ev),
    });
  }

  /** Loads, attaches and runs BEGIN (called by {@linkcode trace}). */
  async start(): Promise<void> {
    await this.#session.start();
    openSessions.add(this);
    if (this.#handleSignals) this.#signal = this.#listen();
  }

  /**
   * Serves this session's maps through the `/metrics` server and pushes
   * them through the remote writer, until it closes (called by
   * {@linkcode trace} with the `metrics` or `remoteWrite` option).
   *
   * @ignore
   */
  async exportTo(
    exporters: { server?: MetricsServer; writer?: RemoteWriter },
    statsAsked: boolean,
  ): Promise<void> {
    if (exporters.server === undefined && exporters.writer === undefined) {
      return;
    }
    const { sessionMetrics } = await import("../metrics/server.ts");
    const source = sessionMetrics(this.#session, statsAsked);
    exporters.server?.setSource(source);
    exporters.writer?.setSource(source);
    this.#metrics = exporters.server;
    this.#writer = exporters.writer;
  }

  /**
   * Ends this session (`exitReason` `"process"`) when the watched process
   * exits; `close()` stops the watch (called by {@linkcode trace} with
   * the `pid` option on the kernel).
   *
   * @ignore
   */
  endWith(watch: ProcessWatch): void {
    this.#process?.close();
    this.#process = watch;
  }

  /**
   * Where the maps are served as Prometheus metrics
   * (`http://127.0.0.1:9464/metrics`), when the `metrics` option is on.
   */
  get metricsUrl(): string | undefined {
    return this.#metrics?.url;
  }

  /**
   * Listens for SIGINT and SIGTERM until `close()`: the first aborts the
   * returned signal, the next exits the process.
   */
  #listen(): AbortSignal {
    const abort = new AbortController();
    const onSignal = () => {
      if (!abort.signal.aborted) {
        abort.abort();
        return;
      }
      handOffProbes();
      Deno.exit(130);
    };
    const added: Deno.Signal[] = [];
    for (const s of ["SIGINT", "SIGTERM"] as const) {
      try {
        Deno.addSignalListener(s, onSignal);
        added.push(s);
      } catch {
        // not on this platform (SIGTERM on Windows) or not permitted
      }
    }
    this.#unlisten = () => {
      for (const s of added) Deno.removeSignalListener(s, onSignal);
    };
    const given = this.#signal;
    return given === undefined
      ? abort.signal
      : AbortSignal.any([given, abort.signal]);
  }

  /** See {@linkcode handOffProbes}. */
  handOff(): { count: number; pid: number } | undefined {
    return this.#engine.handOff?.();
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

  /**
   * The date and time on the session's clock: now, or on a replay (and in
   * the testing API) the recorded time, so that a script's interval
   * headers print the same on replay as live.
   */
  wallClock(): Date {
    return this.#tickDate ?? this.#session.wallClock();
  }

  /** Ring-buffer records the engine lost. */
  lostEvents(): number {
    return this.#engine.lostEvents();
  }

  /**
   * Every map that refused updates because it was full (`maxMapKeys`),
   * with how many it refused since the start; empty when none did. The
   * same figure is each map's `lostUpdates` in {@linkcode maps}.
   */
  mapFull(): MapFull[] {
    return this.#session.mapFull();
  }

  /**
   * Per-probe run statistics of the engine. On the kernel, run counts and
   * times need `stats: true` (or `kernel.bpf_stats_enabled=1`).
   */
  stats(): ProbeStats[] {
    return this.#engine.stats();
  }

  #checkDone(): boolean {
    if (this.#reason !== undefined) return true;
    this.#reason = this.#session.endReason({
      durationMs: this.#durationMs,
      signal: this.#signal,
      process: this.#process?.signal,
    });
    // A recording stops with the session, so that the script's last reads
    // of its maps see exactly the runs the file holds (a replay's too).
    if (this.#reason !== undefined && this.#recording) this.#engine.pause?.();
    return this.#reason !== undefined;
  }

  #onEvent(ev: DecodedEvent): void {
    if (this.#subs.size === 0) return;
    const emit = matchEmit(ev) as EmitRecord | undefined;
    const out: TraceEvent = {
      id: ev.id,
      action: ev.action,
      args: ev.args,
    };
    if (emit !== undefined) out.emit = emit;
    else out.text = textFormatter.event(ev, this.wallClock());
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
   *
   * An end between two ticks (`exit()`, `durationMs`, Ctrl-C, the
   * signal; not `stop()`) gives a last tick with `final: true` and the
   * partial `intervalMs`: nothing is lost.
   */
  async *every(intervalMs: number): AsyncGenerator<Tick> {
    if (!(intervalMs > 0)) {
      throw new RangeError(`Tick interval must be positive, got ${intervalMs}`);
    }
    let last = this.elapsedMs();
    const first = Math.floor(last / intervalMs) + 1;
    const { mark, feed } = this.#ticks;
    if (feed?.marked) {
      yield* this.#recordedTicks(feed);
      return;
    }
    for (let index = 0;; index++) {
      const target = (first + index) * intervalMs;
      while (!this.#checkDone() && this.elapsedMs() < target) {
        await this.#step(Math.min(100, target - this.elapsedMs()));
      }
      const now = this.elapsedMs();
      // Ended between two ticks: a last, partial tick (as BCC's tools
      // print on Ctrl-C), unless stopped or closed by the caller.
      const final = now < target;
      if (final && (!this.#endsWithTick() || now <= last)) return;
      if (mark !== undefined) {
        // Recording: where this tick reads the maps, and when.
        if (this.#pumping !== undefined) await this.#pumping.catch(() => {});
        this.#tickDate = new Date();
        await mark(BigInt(this.#tickDate.getTime()) * MS);
      }
      try {
        yield final
          ? { index, elapsedMs: now, intervalMs: now - last, final }
          : { index, elapsedMs: now, intervalMs: now - last };
      } finally {
        this.#tickDate = undefined;
      }
      last = now;
      if (final || this.#checkDone()) return;
    }
  }

  /** Whether the session ended on its own, not by stop() or close(). */
  #endsWithTick(): boolean {
    const reason = this.#reason;
    return !this.#closed && reason !== undefined && reason !== "stopped" &&
      reason !== "closed";
  }

  /**
   * The ticks of a replay of a recorded session that ticked: each comes
   * where a recorded tick read the maps (after the same runs), at the
   * recorded time of day, until the recording's runs are over.
   */
  async *#recordedTicks(feed: NonNullable<TickSync["feed"]>): AsyncGenerator<
    Tick
  > {
    feed.holdAtMarks = true;
    let last = this.elapsedMs();
    try {
      for (let index = 0;; index++) {
        let stalls = 0;
        while (feed.atMark() === undefined && !feed.exhausted) {
          if (this.#signal?.aborted || this.#session.exitRequested) return;
          if (this.#checkDone() && ++stalls > 3) return;
          await this.#step(100);
        }
        const at = feed.atMark();
        if (at === undefined) return;
        const now = this.elapsedMs();
        this.#tickDate = new Date(Number(at / MS));
        try {
          yield { index, elapsedMs: now, intervalMs: now - last };
        } finally {
          this.#tickDate = undefined;
          feed.releaseMark();
        }
        last = now;
      }
    } finally {
      feed.holdAtMarks = false;
    }
  }

  /**
   * Every event from now on, decoded, with its rendered text (or, for a
   * record of `c.emit()`, its `emit` record and no text). Type the
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
      if (ev.emit !== undefined) continue;
      partial += ev.text ?? "";
      let nl;
      while ((nl = partial.indexOf("\n")) >= 0) {
        yield partial.slice(0, nl);
        partial = partial.slice(nl + 1);
      }
    }
    if (partial !== "") yield partial;
  }

  /**
   * The records of one event from now on, typed by its declaration:
   * `emits(big)` for `big = t.event<{ pid: U32; comm: Str }>("big")`
   * yields `{ pid: number; comm: string }`. Emits are never printed as
   * text; they arrive here (and as `events()` with an `emit` field).
   *
   * @throws {RangeError} (on the first `next()`) when the program has no
   *   such event.
   */
  emits<S extends Shape>(event: EventDecl<S>): AsyncGenerator<ApiRecord<S>>;
  /**
   * The records of the event named `name`, typed by the shape `S` given
   * explicitly (`emits<{ pid: U32 }>("big")`), else loosely.
   */
  emits<S extends Shape = Shape>(name: string): AsyncGenerator<ApiRecord<S>>;
  /** Every emitted record of every event, with its event's name. */
  emits(): AsyncGenerator<EmitRecord>;
  async *emits(
    event?: EventDecl | string,
  ): AsyncGenerator<Record<string, Value> | EmitRecord> {
    const name = typeof event === "string" ? event : event?.name;
    if (name !== undefined && !this.#eventNames.has(name)) {
      const known = [...this.#eventNames].map((n) => `"${n}"`).join(", ");
      throw new RangeError(
        `Unknown event "${name}"; the program has ${known || "no events"}`,
      );
    }
    for await (const ev of this.events()) {
      if (ev.emit === undefined) continue;
      if (name === undefined) yield ev.emit;
      else if (ev.emit.event === name) yield ev.emit.record;
    }
  }

  /** Handles events until the session is done; returns why it ended. */
  async run(): Promise<ExitReason> {
    while (!this.#checkDone()) await this.#step(100);
    return this.#reason!;
  }

  /**
   * A handle on a map declared in TypeScript probe bodies, typed from its
   * declaration: `map(drops)` for `drops = t.map<[U32, Str], "count">(...)`
   * is a `TraceMap<[number, string], number>`.
   *
   * @throws {RangeError} when the program has no such map.
   */
  map<K extends readonly KeyType[], V extends MapValueKind>(
    ref: MapRef<K, V>,
  ): TraceMap<ApiKey<K>, ApiMapValue<V>>;
  /**
   * A typed handle on map `name` (`"drops"` or `"@drops"`; `"@"` for the
   * anonymous map). `K` is the key (a tuple for several keys), `V` the
   * value; integers above 2^53 arrive as `bigint`.
   *
   * @throws {RangeError} when the program has no such map.
   */
  map<K = MapKey, V = MapValue>(name: string): TraceMap<K, V>;
  map(ref: string | MapRef): TraceMap<unknown, unknown> {
    const name = typeof ref === "string" ? ref : ref.name;
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
    const read = (): MapSnapshot<unknown, unknown> => snapshotOf(data());
    return {
      name: full,
      kind: spec.agg!.kind,
      read,
      entries: () => [...read()],
      get: (...key: KeyParts<unknown>) => read().lookup(...key),
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

  /** Deletes every entry of map `name` (or of a declared map). */
  clear(map: string | MapRef): void {
    this.map(typeof map === "string" ? map : map.name).clear();
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
    try {
      await Promise.all([this.#metrics?.close(), this.#writer?.close()]);
      await this.#session.finish({ printMaps: this.#print });
    } finally {
      openSessions.delete(this);
      this.#unlisten?.();
      this.#process?.close();
    }
    // A replay that met a read the recording does not hold stopped that
    // run: the output is incomplete, so the session fails.
    const err = this.#replayError?.();
    if (err !== undefined) throw err;
  }

  /** `await using` support: {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
