/**
 * The types of the scripting API's surface: the options of `trace()`, what
 * it runs, and what a `TraceSession` hands out (ticks, events, emit
 * records), and how a session's ticks line up with a recording. The
 * session itself is in `trace.ts`, which exports these too.
 *
 * @module
 */

import type { BackendChoice } from "../engines/backend.ts";
import type { DecodedEvent, Value } from "../output/types.ts";
import type {
  TraceMetricsOptions,
  TraceRemoteWriteOptions,
} from "./trace_metrics.ts";
import type { StagedProgram, Tracer } from "../staging/stage.ts";
import type { Recording } from "../record/reader.ts";

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
  /**
   * Trace only this process, as the CLI's `-p PID` (a pid of no process
   * throws `NoSuchProcessError`).
   */
  pid?: number;
  /** Allow `system()`, `cat()` and `signal()`. */
  unsafe?: boolean;
  /**
   * Keys a map holds at most (bpftrace's `max_map_keys`; default
   * `BPFTRACE_MAP_KEYS_MAX` from the environment, else 4096). Updates a
   * full map refuses are counted: see {@linkcode TraceSession.mapFull}.
   */
  maxMapKeys?: number;
  /**
   * Where warnings go (a full map lost updates; default: standard error).
   */
  warn?: (text: string) => void;
  /** Output format of what `print` writes (default `text`). */
  format?: "text" | "json";
  /**
   * Print like the CLI: the attach line, printf output as it comes, and
   * every map when the session closes (default false).
   */
  print?: boolean;
  /** Where `print` output goes (default: standard output). */
  write?: (text: string) => void;
  /**
   * Interpreter only: pace virtual time with the wall clock (default
   * false: a tick of N ms runs N ms of synthetic time as fast as it can).
   */
  realtime?: boolean;
  /**
   * Kernel: time and count the programs' runs for {@linkcode
   * TraceSession.stats} (the kernel's run-time statistics, which cost every
   * BPF program on the machine two clock reads per run while the session
   * lives; default false). The interpreter always counts.
   */
  stats?: boolean;
  /**
   * Kernel: record every run of the probes to this file, for `replay`
   * (docs/recording.md).
   */
  record?: string;
  /**
   * Run over this recording (or perf.data file) in the interpreter instead
   * of live events; the session ends with the recording unless
   * `durationMs` says otherwise.
   */
  replay?: string | Recording;
  /** End the session after this many milliseconds on the engine's clock. */
  durationMs?: number;
  /** End the session when this signal aborts. */
  signal?: AbortSignal;
  /**
   * End the session on Ctrl-C (SIGINT) or SIGTERM, as a script run until
   * Ctrl-C wants: iterators (`every`, `events`, `emits`, `printf`, `run`)
   * end, so the code after the loop runs, and `close()` runs END and
   * prints the maps; a second signal exits the process at once (status
   * 130), leaving probes still to detach to a background process. The listeners go when the session closes. Default: true unless
   * `signal` is given (the caller then handles signals).
   */
  handleSignals?: boolean;
  /**
   * Source name in compile errors (default `script` for bpftrace text,
   * `staged` for TypeScript probe bodies).
   */
  fileName?: string;
  /**
   * One line on standard error naming the engine, as the CLI's: `true`
   * always, `false` never; default: on the interpreter (its events are
   * synthetic), not on a replay.
   */
  announce?: boolean;
  /**
   * Events kept per unread iterator before the oldest are dropped
   * (default 100000); see `TraceSession.droppedEvents`.
   */
  maxBuffered?: number;
  /**
   * Serve the maps as Prometheus metrics at `http://HOST:PORT/metrics`
   * while the session lives: `"[HOST:]PORT"` (HOST defaults to
   * 127.0.0.1; port 0 picks a free one, see `TraceSession.metricsUrl`),
   * or {@linkcode TraceMetricsOptions}. Histograms then also keep the sum
   * of their values, for an exact `_sum`.
   */
  metrics?: string | number | TraceMetricsOptions;
  /**
   * Push the maps to a Prometheus remote-write 1.0 endpoint
   * (`http://host:9090/api/v1/write`) every `intervalSeconds` (default
   * 15) while the session lives, and once more as it closes: the URL, or
   * {@linkcode TraceRemoteWriteOptions}.
   */
  remoteWrite?: string | TraceRemoteWriteOptions;
}

/** One tick of {@linkcode TraceSession.every}. */
export interface Tick {
  /** 0 for the first tick. */
  index: number;
  /** Milliseconds since the session started, on the engine's clock. */
  elapsedMs: number;
  /** Milliseconds since the previous tick (or the loop's start). */
  intervalMs: number;
  /** True on a last, partial tick (the session ended between ticks). */
  final?: boolean;
}

/**
 * A decoded event with its rendered text: the printf output for `printf`,
 * the joined arguments and a newline for `join`, the value and a newline
 * for `print(value)`, the time for `time`.
 */
export interface TraceEvent<A extends Value[] = Value[]> extends DecodedEvent {
  /** Argument values; typed by the caller with `events<[...]>()`. */
  args: A;
  /** The text the event prints, when it prints text (never for emits). */
  text?: string;
  /** For a record sent by `c.emit()`: the event's name and its record. */
  emit?: EmitRecord;
}

/** One record sent by `c.emit()` in a TS-native probe body. */
export interface EmitRecord<R = Record<string, Value>> {
  /** The event's name (`t.event(name)` or `c.emit(name, ...)`). */
  event: string;
  /** The fields, decoded: integers, strings, ... by their staged type. */
  record: R;
}

/**
 * What {@linkcode trace} runs: bpftrace-language text; a staging builder
 * (`(t) => { t.probe(...) }`) run once at compile time; a
 * {@linkcode Tracer} whose maps and events were declared beforehand; or
 * an already {@linkcode StagedProgram}.
 */
export type TraceSource =
  | string
  | ((t: Tracer) => void)
  | Tracer
  | StagedProgram;

/**
 * How a session's ticks line up with a recording: a recorded session marks
 * where each tick read its maps; a replayed one stops its runs at each mark
 * until the tick is handed out.
 */
export interface TickSync {
  /**
   * Recording: drains the runs made so far and marks a tick at this
   * wall-clock time (ns since the epoch).
   */
  mark?: (wallNs: bigint) => Promise<void>;
  /** Replay: the recording's runs, stopping at tick marks when asked. */
  feed?: {
    holdAtMarks: boolean;
    readonly marked: boolean;
    atMark(): bigint | undefined;
    releaseMark(): void;
    readonly exhausted: boolean;
  };
}
