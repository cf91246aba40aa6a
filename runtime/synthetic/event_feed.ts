/**
 * The interface of an event source from outside the synthetic world (a
 * recording, a perf.data file): the interpreter engine runs its events
 * instead of synthetic ones.
 *
 * @module
 */

import type { SymbolResolver } from "../output/types.ts";
import type { Program } from "../program.ts";
import type { VmEnvironment } from "../vm/environment.ts";
import type { HelperFn } from "../vm/helpers.ts";
import type { RingBufMap, VmMap } from "../vm/maps.ts";

/** One event to run: which probe, with which context. */
export interface FedEvent {
  /** Index into `Program.probes`. */
  probe: number;
  /** The context bytes r1 points at. */
  ctx: Uint8Array;
  /** Engine nanoseconds (from the feed's start) the event happened at. */
  timeNs: number;
}

/**
 * Events from elsewhere. The feed keeps `env` up to date with the event it
 * returned last, and may replace helpers to serve recorded values.
 */
export interface EventFeed {
  /** The environment probes see; the feed sets it per event. */
  readonly env: VmEnvironment;
  /** Helpers replacing the interpreter's, by id. */
  readonly helpers?: ReadonlyMap<number, HelperFn>;
  /** CPUs of the machine the events come from. */
  readonly numCpus: number;
  /** Checks that the feed can drive `program`; throws a clear error if not. */
  load(program: Program): void;
  /** The next event before `endNs`, made current; undefined when none. */
  next(endNs: number): FedEvent | undefined;
  /** Makes BEGIN/END probe `probe`'s run current; its context, if any. */
  special(probe: number): Uint8Array | undefined;
  /**
   * Hands the ring buffer's records to `onEvent` in the order the feed
   * says (a recording: the order they reached the live ring). Absent: ring
   * order. Returns how many.
   */
  drain?(ring: RingBufMap, onEvent: (record: Uint8Array) => void): number;
  /**
   * Wall-clock ns since the epoch at engine time `engineNs` (a recording:
   * the recorded machine's clock; while `drain` hands an output on, the
   * time it entered the live ring).
   */
  wallClockNs?(engineNs: number): bigint;
  /** Names the addresses and stacks of the feed's events. */
  symbols(maps: readonly VmMap[]): SymbolResolver;
}
