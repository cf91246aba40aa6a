/**
 * The interface both engines (kernel via libbpf, interpreter on synthetic
 * events) implement. The session drives an engine; it never knows which.
 *
 * @module
 */

import type { SymbolResolver } from "./output/types.ts";
import type { Program } from "./program.ts";

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

/**
 * An engine loads a `Program`, attaches its probes, delivers the records its
 * probes send through the events ring buffer, and reads maps.
 */
export interface Engine {
  /** Which engine this is. */
  readonly kind: "kernel" | "interp";
  /** Creates the maps and loads (verifies) every probe. */
  load(program: Program): Promise<void>;
  /** Attaches every probe except BEGIN and END. */
  attach(): Promise<void>;
  /**
   * Detaches every attached probe, keeping maps and programs (END and map
   * reads still work). Absent: probes stay attached until `close()`.
   */
  detach?(): void;
  /** Runs the BEGIN or END probe once, if the program has it. */
  runSpecial(kind: "BEGIN" | "END"): Promise<void>;
  /**
   * Waits up to `timeoutMs` for events and hands each ring-buffer record
   * (starting with its u64 format id) to `onEvent`. Returns how many.
   */
  poll(
    timeoutMs: number,
    onEvent: (record: Uint8Array) => void,
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
  /** Resolves addresses and stack ids for this engine's events and maps. */
  symbols?(): SymbolResolver;
  /** Detaches and releases everything. Safe to call twice. */
  close(): void;
}
