/**
 * Writes CPU profiles in pprof's format (`profile.proto`, gzipped), the
 * format `go tool pprof` and continuous-profiling servers (Pyroscope,
 * Parca and the like) read.
 *
 * A profile is built from samples (a stack, innermost frame first, with a
 * count and labels) as a sampling profiler aggregates them. The layout is
 * the one Go's own CPU profiles use: two sample types, `samples/count` and
 * `cpu/nanoseconds` (the count times the sampling period), period type
 * `cpu/nanoseconds`. Every distinct frame name becomes a function, every
 * distinct (address, mapping, name) a location; kernel frames share one
 * mapping named `[kernel.kallsyms]` (as perf names it), user frames the
 * mapping of `/proc/PID/maps` that holds their address (see
 * {@linkcode ProcessMaps}) or, when it is not known, a mapping that names
 * the object alone.
 *
 * Encoded with protobufjs' minimal writer: loaded only when a profile is
 * written (`scripts/profile.ts --pprof FILE`), so start-up does not grow.
 *
 * @module
 */

// An inline npm: specifier, not a deno.json import: Deno installs every
// import deno.json lists on each run, also where the registry is unreachable.
// deno-lint-ignore no-import-prefix
import protobuf from "npm:protobufjs@8.8.1/minimal.js";
import { readElf } from "../probes/elf.ts";

/** A mapped object: an executable, a library, or the kernel. */
export interface PprofMapping {
  /** First address (0 when unknown). */
  start: bigint;
  /** One past the last address (0 when unknown). */
  limit: bigint;
  /** File offset mapped at `start`. */
  offset: bigint;
  /** The object's path, `[kernel.kallsyms]` for the kernel. */
  file: string;
  /** The object's GNU build ID in hex, when known. */
  buildId?: string;
}

/** One frame of a sampled stack. */
export interface PprofFrame {
  /** The function name as the profile shows it. */
  name: string;
  /** The function's symbol, when it differs from `name` (`_[k]` marks). */
  systemName?: string;
  /** The instruction pointer, when known. */
  address?: bigint;
  /** A kernel frame: it goes to the kernel mapping. */
  kernel?: boolean;
  /** The user object holding the frame, when known. */
  mapping?: PprofMapping;
}

/** One sample: a distinct stack and how often it was seen. */
export interface PprofSample {
  /** Frames, innermost (leaf) first. */
  stack: PprofFrame[];
  /** Times the stack was sampled. */
  count: number;
  /** String labels (`comm`) and numeric labels (`pid`). */
  labels?: Record<string, string | number>;
}

/** Options of {@linkcode encodePprof}. */
export interface PprofOptions {
  /** Sampling period in nanoseconds (1e9 / frequency). */
  periodNs: number;
  /** When the profile started, in nanoseconds since the Unix epoch. */
  timeNs?: bigint;
  /** How long the profile ran, in nanoseconds. */
  durationNs?: bigint;
  /** Comments shown by `pprof -comments`. */
  comments?: string[];
}

/** The name of the kernel's mapping, as perf names it. */
export const KERNEL_MAPPING = "[kernel.kallsyms]";

type Writer = protobuf.Writer;

function long(v: bigint): protobuf.Long {
  const u = BigInt.asUintN(64, v);
  return {
    low: Number(u & 0xffffffffn),
    high: Number(u >> 32n),
    unsigned: true,
  };
}

/** Writes a uint64/int64 field unless it is zero. */
function u64(w: Writer, field: number, v: bigint | number): void {
  if (v === 0 || v === 0n) return;
  w.uint32(field << 3);
  if (typeof v === "number") w.uint64(v);
  else w.uint64(long(v));
}

/**
 * Encodes samples as a pprof `Profile` message (uncompressed; see
 * {@linkcode writePprof} for the gzipped file).
 *
 * @throws {RangeError} for a count that is not a positive integer.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodePprof } from "./pprof.ts";
 *
 * const bytes = encodePprof([
 *   { stack: [{ name: "spin", address: 0x401136n }], count: 3, labels: { comm: "a" } },
 * ], { periodNs: 10_101_010 });
 * assert.equal(bytes[0], 0x0a); // field 1 (sample_type), length-delimited
 * ```
 */
export function encodePprof(
  samples: readonly PprofSample[],
  options: PprofOptions,
): Uint8Array {
  const strings = new Map<string, number>([["", 0]]);
  const str = (s: string): number => {
    let i = strings.get(s);
    if (i === undefined) {
      i = strings.size;
      strings.set(s, i);
    }
    return i;
  };
  // The kernel mapping spans the kernel addresses sampled.
  let kStart: bigint | undefined;
  let kEnd = 0n;
  for (const s of samples) {
    for (const f of s.stack) {
      if (!f.kernel || f.address === undefined) continue;
      if (kStart === undefined || f.address < kStart) kStart = f.address;
      if (f.address + 1n > kEnd) kEnd = f.address + 1n;
    }
  }
  const kernel: PprofMapping = {
    start: kStart ?? 0n,
    limit: kStart === undefined ? 0n : kEnd,
    offset: 0n,
    file: KERNEL_MAPPING,
  };
  const mappings = new Map<string, [number, PprofMapping]>();
  // Frames of one object share its mapping object: look that up first.
  const seen = new Map<PprofMapping, number>();
  const mappingId = (m: PprofMapping): number => {
    const id = seen.get(m);
    if (id !== undefined) return id;
    const key = `${m.start}-${m.limit}-${m.offset}-${m.file}-${
      m.buildId ?? ""
    }`;
    let e = mappings.get(key);
    if (e === undefined) {
      e = [mappings.size + 1, m];
      mappings.set(key, e);
    }
    seen.set(m, e[0]);
    return e[0];
  };
  const functions = new Map<string, [number, PprofFrame]>();
  const locations = new Map<string, [number, number, bigint, number]>();
  const locationId = (f: PprofFrame): number => {
    const fkey = `${f.name}\0${f.systemName ?? f.name}`;
    let fn = functions.get(fkey);
    if (fn === undefined) {
      fn = [functions.size + 1, f];
      functions.set(fkey, fn);
    }
    const m = f.kernel ? kernel : f.mapping;
    const mid = m === undefined ? 0 : mappingId(m);
    const addr = f.address ?? 0n;
    const key = `${mid}:${addr}:${fn[0]}`;
    let loc = locations.get(key);
    if (loc === undefined) {
      loc = [locations.size + 1, mid, addr, fn[0]];
      locations.set(key, loc);
    }
    return loc[0];
  };

  const w = protobuf.Writer.create();
  const valueType = (field: number, type: string, unit: string) => {
    w.uint32((field << 3) | 2).fork();
    w.uint32(1 << 3).int64(str(type));
    w.uint32(2 << 3).int64(str(unit));
    w.ldelim();
  };
  valueType(1, "samples", "count");
  valueType(1, "cpu", "nanoseconds");
  const period = Math.round(options.periodNs);
  for (const s of samples) {
    if (!Number.isSafeInteger(s.count) || s.count <= 0) {
      throw new RangeError(
        `A sample count must be a positive integer, got ${s.count}`,
      );
    }
    const ids = s.stack.map(locationId);
    w.uint32((2 << 3) | 2).fork();
    if (ids.length > 0) {
      w.uint32((1 << 3) | 2).fork();
      for (const id of ids) w.uint64(id);
      w.ldelim();
    }
    w.uint32((2 << 3) | 2).fork();
    w.int64(s.count).int64(s.count * period);
    w.ldelim();
    for (const [key, v] of Object.entries(s.labels ?? {})) {
      w.uint32((3 << 3) | 2).fork();
      w.uint32(1 << 3).int64(str(key));
      if (typeof v === "string") w.uint32(2 << 3).int64(str(v));
      else w.uint32(3 << 3).int64(v);
      w.ldelim();
    }
    w.ldelim();
  }
  for (const [id, m] of mappings.values()) {
    w.uint32((3 << 3) | 2).fork();
    w.uint32(1 << 3).uint64(id);
    u64(w, 2, m.start);
    u64(w, 3, m.limit);
    u64(w, 4, m.offset);
    w.uint32(5 << 3).int64(str(m.file));
    if (m.buildId) w.uint32(6 << 3).int64(str(m.buildId));
    // Frames come symbolized: pprof need not look for the binaries.
    w.uint32(7 << 3).bool(true);
    w.ldelim();
  }
  for (const [id, mid, addr, fid] of locations.values()) {
    w.uint32((4 << 3) | 2).fork();
    w.uint32(1 << 3).uint64(id);
    u64(w, 2, mid);
    u64(w, 3, addr);
    w.uint32((4 << 3) | 2).fork();
    w.uint32(1 << 3).uint64(fid);
    w.ldelim();
    w.ldelim();
  }
  for (const [id, f] of functions.values()) {
    w.uint32((5 << 3) | 2).fork();
    w.uint32(1 << 3).uint64(id);
    w.uint32(2 << 3).int64(str(f.name));
    w.uint32(3 << 3).int64(str(f.systemName ?? f.name));
    w.ldelim();
  }
  // Strings used by the fields below come before the table is written.
  const comments = (options.comments ?? []).map(str);
  const defaultType = str("cpu");
  for (const s of strings.keys()) w.uint32((6 << 3) | 2).string(s);
  u64(w, 9, options.timeNs ?? 0n);
  u64(w, 10, options.durationNs ?? 0n);
  valueType(11, "cpu", "nanoseconds");
  u64(w, 12, period);
  for (const c of comments) w.uint32(13 << 3).int64(c);
  w.uint32(14 << 3).int64(defaultType);
  const b = w.finish();
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Gzips `bytes` with the web-standard `CompressionStream`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { gzip } from "./pprof.ts";
 *
 * const z = await gzip(new Uint8Array([1, 2, 3]));
 * assert.deepEqual([...z.subarray(0, 2)], [0x1f, 0x8b]);
 * ```
 */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Encodes samples as a gzipped pprof profile and writes it to `path`, the
 * file `go tool pprof` reads.
 *
 * @example Usage
 * ```ts
 * import { writePprof } from "./pprof.ts";
 *
 * const path = Deno.makeTempFileSync({ suffix: ".pb.gz" });
 * await writePprof(path, [{ stack: [{ name: "main" }], count: 1 }], {
 *   periodNs: 1e7,
 * });
 * Deno.removeSync(path);
 * ```
 */
export async function writePprof(
  path: string,
  samples: readonly PprofSample[],
  options: PprofOptions,
): Promise<void> {
  await Deno.writeFile(path, await gzip(encodePprof(samples, options)));
}

/**
 * The executable mappings of processes, from `/proc/PID/maps` (with the
 * GNU build ID of each file, which servers match debug info by), read while
 * the processes live: a profiler calls {@linkcode ProcessMaps.see} for the
 * pids it sampled while it runs, and {@linkcode ProcessMaps.find} when it
 * writes the profile (when a process may have exited).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProcessMaps } from "./pprof.ts";
 *
 * const maps = new ProcessMaps((pid) =>
 *   pid === 7
 *     ? "00400000-00452000 r-xp 00001000 08:02 173521 /opt/none/dd\n"
 *     : undefined
 * );
 * maps.see(7);
 * assert.deepEqual(maps.find(7, 0x401000n), {
 *   start: 0x400000n, limit: 0x452000n, offset: 0x1000n, file: "/opt/none/dd",
 * });
 * assert.equal(maps.find(7, 0x500000n), undefined);
 * ```
 */
export class ProcessMaps {
  #read: (pid: number) => string | undefined;
  #maps = new Map<number, PprofMapping[]>();
  #buildIds = new Map<string, string | undefined>();
  #identified = new WeakSet<PprofMapping>();

  /**
   * @param read Reads the maps text of a pid (default: `/proc/PID/maps`;
   * undefined when the process is gone).
   */
  constructor(read: (pid: number) => string | undefined = readProcMaps) {
    this.#read = read;
  }

  /** Reads the maps of `pid` (again, to catch libraries loaded since). */
  see(pid: number): void {
    const text = this.#read(pid);
    if (text !== undefined) this.#maps.set(pid, parseExecutableMaps(text));
  }

  #buildId(pid: number, file: string): string | undefined {
    if (!file.startsWith("/")) return undefined;
    // A process in another mount namespace sees its files under its root.
    const key = `${pid}:${file}`;
    if (this.#buildIds.has(file)) return this.#buildIds.get(file);
    if (this.#buildIds.has(key)) return this.#buildIds.get(key);
    for (const [path, k] of [[file, file], [`/proc/${pid}/root${file}`, key]]) {
      try {
        const id = readElf(path).buildId;
        this.#buildIds.set(k, id);
        return id;
      } catch {
        // not there, or not an ELF file
      }
    }
    return undefined;
  }

  /** The mapping of `pid` that holds `addr`, if known. */
  find(pid: number, addr: bigint): PprofMapping | undefined {
    const m = lookup(this.#maps.get(pid) ?? [], addr);
    // Build IDs are read for the mappings sampled only (the symbolizer has
    // read those files already, and readElf caches them).
    if (m !== undefined && !this.#identified.has(m)) {
      this.#identified.add(m);
      const id = this.#buildId(pid, m.file);
      if (id !== undefined) m.buildId = id;
    }
    return m;
  }
}

/** Binary search in mappings sorted by address, as /proc/PID/maps lists them. */
function lookup(
  maps: readonly PprofMapping[],
  addr: bigint,
): PprofMapping | undefined {
  let a = 0;
  let b = maps.length - 1;
  while (a <= b) {
    const mid = (a + b) >>> 1;
    if (maps[mid].limit <= addr) a = mid + 1;
    else if (maps[mid].start > addr) b = mid - 1;
    else return maps[mid];
  }
  return undefined;
}

function readProcMaps(pid: number): string | undefined {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/maps`);
  } catch {
    return undefined;
  }
}

const MAPS_LINE =
  /^([0-9a-f]+)-([0-9a-f]+)\s+\S\S(\S)\S\s+([0-9a-f]+)\s+\S+\s+\d+\s+(\S.*?)(?: \(deleted\))?$/;

function parseExecutableMaps(text: string): PprofMapping[] {
  const out: PprofMapping[] = [];
  for (const line of text.split("\n")) {
    const m = MAPS_LINE.exec(line);
    if (m === null || m[3] !== "x") continue;
    out.push({
      start: BigInt("0x" + m[1]),
      limit: BigInt("0x" + m[2]),
      offset: BigInt("0x" + m[4]),
      file: m[5],
    });
  }
  return out;
}
