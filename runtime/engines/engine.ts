/**
 * The interface both engines (kernel via libbpf, interpreter on synthetic
 * events) implement. The session drives an engine; it never knows which.
 *
 * @module
 */

import type { SymbolResolver } from "../output/types.ts";
import type { Program } from "../program.ts";

/** One raw map entry: key bytes and value bytes (one per CPU if per-CPU). */
export interface RawMapEntry {
  /** The key's bytes. */
  key: Uint8Array;
  /** One element for ordinary maps, one per possible CPU for per-CPU maps. */
  values: Uint8Array[];
}

/** Per-probe execution statistics. */
export interface ProbeStats {
  /** The probe program's name. */
  name: string;
  /** Times the program ran (kernel: needs kernel.bpf_stats_enabled=1). */
  runCount: number;
  /** Total nanoseconds spent in the program. */
  runTimeNs: number;
  /** Instructions after loading (kernel: xlated length / 8). */
  insnCount: number;
}

/** Bounds on the work of one `Engine.poll`. */
export interface PollLimits {
  /** Return after about this many wall milliseconds of work. */
  sliceMs?: number;
}

/** An attach point that could not be attached and was skipped. */
export interface SkippedAttach {
  /** The attach point's text (`hardware:cycles:100000`). */
  point: string;
  /** Why it could not be attached. */
  error: Error;
}

/**
 * An engine loads a `Program`, attaches its probes, delivers the records its
 * probes send through the events ring buffer, and reads maps.
 */
export interface Engine {
  /** Which engine this is. */
  readonly kind: "kernel" | "interp";
  /**
   * True when the events are invented (the interpreter's synthetic world),
   * false for the kernel's and for a replay of recorded ones. Absent: true
   * for the interpreter.
   */
  readonly synthetic?: boolean;
  /**
   * Checks `program` as `load` would, so that a rejection surfaces before
   * anything is created or said; `load` of this same program then does not
   * check it again. Throws what `load` would. Absent: `load` checks (the
   * kernel's verifier judges as the kernel loads).
   */
  verify?(program: Program): void;
  /** Creates the maps and loads (verifies) every probe. */
  load(program: Program): Promise<void>;
  /**
   * Attaches every probe except BEGIN and END. With the program's
   * `config.missingProbes` set, an attach point that fails is skipped
   * (see `skippedAttachPoints`) instead of failing the attach.
   */
  attach(): Promise<void>;
  /**
   * The attach points `attach()` skipped (`missing_probes` warn or
   * ignore) and why. Absent: the engine never skips.
   */
  skippedAttachPoints?(): readonly SkippedAttach[];
  /**
   * Detaches every attached probe, keeping maps and programs (END and map
   * reads still work). Absent: probes stay attached until `close()`.
   */
  detach?(): void;
  /**
   * Stops every attached probe from running, quickly, keeping what is
   * slow to release for `detach()` (the kernel engine releases the BPF
   * links of its tracepoints, kprobes and uprobes and disables its
   * sampling perf events; closing their perf events can take the kernel
   * tens of milliseconds each). Resolves once no probe runs. Absent:
   * probes keep running until `detach()`.
   */
  pause?(): void | Promise<void>;
  /**
   * Marks what the ring holds now: from then on `poll` hands over only
   * records written before the mark, and returns 0 once they are all read,
   * so a drain at the end terminates although probes still fire (an
   * engine without `pause()`, or a probe it could not pause, tracing our
   * own writes refills the ring as we drain it). Returns true when it
   * set a mark (a drain to it then ends however slow the reader is),
   * false when polls still read whatever there is.
   * Absent: polls read whatever there is.
   */
  markDrain?(): boolean;
  /**
   * Detaches every probe like `detach()`, without blocking the event loop,
   * reporting progress as `(done, total)` now and then.
   */
  detachAsync?(onProgress?: (done: number, total: number) => void): Promise<
    void
  >;
  /**
   * Leaves the probes still attached to a background process that
   * releases them, so that this process can exit at once; returns how many
   * and its pid, or undefined (nothing left, or not possible).
   */
  handOff?(): { count: number; pid: number } | undefined;
  /**
   * True when the engine's clock keeps pace with the wall clock (the
   * kernel; the interpreter with `realtime`). A session's duration then
   * also ends on wall time when the engine falls behind.
   */
  readonly realtime?: boolean;
  /** Runs the BEGIN or END probe once, if the program has it. */
  runSpecial(kind: "BEGIN" | "END"): Promise<void>;
  /**
   * Runs probe `index` of the program (a `test:` or `bench:` probe)
   * `repeat` times and returns its last return value and the average
   * nanoseconds one run took (`--test`, `--bench`). Absent: the engine
   * cannot run probes on demand.
   */
  runProbe?(
    index: number,
    repeat: number,
  ): Promise<{ retval: number; averageNs: number }>;
  /**
   * Waits up to `timeoutMs` for events and hands each ring-buffer record
   * (starting with its u64 format id) to `onEvent`. Returns how many.
   * With `limits.sliceMs`, one call does a bounded amount of work (about
   * that many wall milliseconds), however fast events come, so that its
   * caller can check signals and deadlines between calls; the
   * interpreter's clock then may stop short of `timeoutMs`.
   */
  poll(
    timeoutMs: number,
    onEvent: (record: Uint8Array) => void,
    limits?: PollLimits,
  ): Promise<number>;
  /** Records dropped because the ring buffer was full. */
  lostEvents(): number;
  /** Every entry of a map. */
  readMap(mapIndex: number): RawMapEntry[];
  /** Deletes every entry of a map (array maps: zeroes every value). */
  clearMap(mapIndex: number): void;
  /** Sets every value of a map to zero, keeping its keys (`zero()`). */
  zeroMap(mapIndex: number): void;
  /** Per-probe statistics. */
  stats(): ProbeStats[];
  /**
   * Milliseconds on the engine's clock: wall time for the kernel, virtual
   * time for the interpreter. The session measures `--duration` with it.
   * Absent: `performance.now()`.
   */
  clockMs?(): number;
  /**
   * Wall-clock nanoseconds since the epoch when the engine's clock is not
   * the host's (a replay: the recorded time). Absent or undefined: now.
   */
  wallClockNs?(): bigint | undefined;
  /** Resolves addresses and stack ids for this engine's events and maps. */
  symbols?(): SymbolResolver;
  /** Detaches and releases everything. Safe to call twice. */
  close(): void;
}
