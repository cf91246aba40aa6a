/**
 * The kernel engine: runs a `Program` in the running Linux kernel through
 * libbpf (Deno FFI). Maps become kernel maps, probes are verified by the
 * kernel and attached, events arrive through a BPF ring buffer read from
 * its memory mapping (`ringbuf.ts`), or through libbpf's consumer when the
 * ring cannot be mapped.
 *
 * @module
 */

import type {
  Engine,
  PollLimits,
  ProbeStats,
  RawMapEntry,
  SkippedAttach,
} from "./engine.ts";
import type { ProbeProgram, Program } from "../program.ts";
import { MapType, ProgType } from "../bpf/opcodes.ts";
import {
  type Attachment,
  attachmentFds,
  attachPoint,
  detach,
  detachAsync,
  hasPerfLinks,
  pause,
} from "../../ffi/attach.ts";
import { progInfo } from "../../ffi/introspect.ts";
import { MmapRingBuffer } from "../../ffi/ringbuf.ts";
import {
  addressOf,
  Callback,
  native,
  type NativeLibs,
  RINGBUF_SAMPLE_FN,
} from "../../ffi/libbpf.ts";
import {
  alloc,
  BPF_STATS_RUN_TIME,
  PerfIoctl,
  TestRunOpts,
} from "../../ffi/structs.ts";
import {
  clearKernelMap,
  createKernelMap,
  type KernelMap,
  possibleCpus,
  readKernelMap,
  ringbufSize,
  zeroKernelMap,
} from "./kernel_maps.ts";
import {
  isSpecial,
  type Loaded,
  loadProbe,
  needsStopCheck,
  STOP_MAP,
} from "./kernel_load.ts";

export { type KernelProbe, probeKernel } from "./kernel_probe.ts";
export { STOP_CHECK_SLOTS } from "./kernel_load.ts";
export { kernelName, possibleCpus } from "./kernel_maps.ts";

/** Options of the kernel engine. */
export interface KernelEngineOptions {
  /** Restrict uprobes and sampling perf events to this process. */
  pid?: number;
  /**
   * Turn on the kernel's run-time statistics (`bpf_enable_stats`) while
   * the engine lives, so `stats()` reports run counts and times.
   */
  enableStats?: boolean;
  /**
   * Verifier log level for every load (0 = none, 1, 2). Logs are then kept
   * and available from `verifierLog()`. A failed load is always retried
   * with level 1 to explain the rejection.
   */
  logLevel?: 0 | 1 | 2;
  /**
   * How ring buffer records are read: `"mmap"` (default) maps the ring
   * and walks it from JavaScript, falling back to `"libbpf"` (libbpf's
   * `ring_buffer__consume`, one C → JS callback per record) when the
   * mapping fails.
   */
  ringReader?: "mmap" | "libbpf";
  /**
   * On a kernel without perf links (before 5.15), put the stop check
   * ({@linkcode STOP_CHECK_SLOTS} slots: one load, one branch) before
   * every tracepoint, kprobe and uprobe program, so that `pause()` stops
   * them (default true). Where perf links exist `pause()` releases them
   * instead and programs load exactly as compiled, whatever this says.
   * False loads every program exactly as given on every kernel, to
   * compare the kernel's verdict with another verifier's (the check
   * initializes r0 and is a valid jump target); on an old kernel a
   * paused tracepoint's program is then detached by `pause()`, slowly.
   */
  stopCheck?: boolean;
  /**
   * Attach to perf events through BPF links where the kernel has them
   * (default true). False attaches as on kernels before 5.15 (ioctls,
   * programs behind the stop check), to test that path.
   */
  perfLinks?: boolean;
  /**
   * Load the sign-extending loads and moves (`ldxsx`, `movsx`) as
   * compiled where the kernel has them (Linux 6.6+; default true). False
   * expands them into plain loads and shifts on every kernel, as on
   * kernels before 6.6, to test that path.
   */
  signExtension?: boolean;
}

/** Size of the raw tracepoint context handed to BEGIN/END test runs. */
const RAW_TP_CTX_SIZE = 12 * 8;
/** A stream of records counts as idle after this long without one. */
const STREAM_IDLE_MS = 50;
/** Nap between checks of a streaming ring that is momentarily empty. */
const NAP_MS = 1;
/** Bytes of one `struct epoll_event` on x86_64 (packed). */
const EPOLL_EVENT_SIZE = 12;
/**
 * Attachments released at once by `detachAsync`: the kernel serialises
 * most of the work, but overlapping the rest measured ~40% faster.
 */
const DETACH_CONCURRENCY = 16;

/**
 * Runs a `Program` in the kernel.
 *
 * Every fd (maps, programs, perf events, links), the ring buffer (its
 * mapping and epoll fd, or libbpf's consumer and its callback) are
 * released by `close()`, which is idempotent and also runs
 * when `load()` fails. Lost events are counted only when the program has
 * an internal per-CPU array map named `.lost` whose u64 value the probes
 * increment when `bpf_ringbuf_output` fails; otherwise `lostEvents()`
 * is 0 (the kernel's ring buffer does not count drops).
 *
 * @example Run a BEGIN probe that stores 42 in an array map
 * ```ts
 * import assert from "node:assert/strict";
 * import { KernelEngine, probeKernel } from "./kernel_engine.ts";
 * import { InsnBuilder } from "../bpf/builder.ts";
 * import { Helper, MapType, ProgType } from "../bpf/opcodes.ts";
 *
 * const b = new InsnBuilder();
 * b.st(4, 10, -4, 0).st(8, 10, -16, 42);
 * b.ldMap(1, 0);
 * b.movReg(2, 10).alu64Imm("ADD", 2, -4);
 * b.movReg(3, 10).alu64Imm("ADD", 3, -16);
 * b.movImm(4, 0);
 * b.call(Helper.map_update_elem);
 * b.movImm(0, 0).exit();
 * if (probeKernel().ok) {
 *   using engine = new KernelEngine();
 *   await engine.load({
 *     probes: [{
 *       name: "doc_begin",
 *       attach: [{ kind: "BEGIN", target: "", text: "BEGIN" }],
 *       progType: ProgType.RAW_TRACEPOINT,
 *       insns: b.build().insns,
 *       ctx: { kind: "none", size: 0 },
 *     }],
 *     maps: [{
 *       name: "@x", type: MapType.ARRAY, keySize: 4, valueSize: 8,
 *       maxEntries: 1, key: { kind: "int", size: 4, signed: false },
 *       internal: false,
 *     }],
 *     formats: [],
 *   });
 *   await engine.attach();
 *   await engine.runSpecial("BEGIN");
 *   const [{ values: [v] }] = engine.readMap(0);
 *   assert.equal(new DataView(v.buffer).getBigUint64(0, true), 42n);
 * }
 * ```
 */
export class KernelEngine implements Engine, Disposable {
  /** Always `"kernel"`. */
  readonly kind = "kernel" as const;
  /** The kernel runs on the wall clock. */
  readonly realtime = true;
  #opts: KernelEngineOptions;
  #skipped: SkippedAttach[] = [];
  #libs: NativeLibs | undefined;
  #program: Program | undefined;
  #mapFds: number[] = [];
  #progs: Loaded[] = [];
  #atts: Attachment[] = [];
  /** The program of each attachment. */
  #progOf = new WeakMap<Attachment, Loaded>();
  #logs = new Map<string, string>();
  #statsFd = -1;
  /**
   * The stop flag's map (one u64; byte 0 set by `pause()`), or -1: only
   * on kernels without perf links.
   */
  #stopFd = -1;
  #ring: MmapRingBuffer | undefined;
  /** Set by `markDrain()`: consumer position where reading stops. */
  #drainTo: number | undefined;
  #lastRecordAt = -Infinity;
  #rb: Deno.PointerValue = null;
  #rbEpollFd = -1;
  #cb: Callback<typeof RINGBUF_SAMPLE_FN> | undefined;
  #sink: ((record: Uint8Array) => void) | undefined;
  #delivered = 0;
  #sinkError: unknown = undefined;
  #deadline = Infinity;
  #outOfTime = false;
  #closed = false;
  #ncpus = 1;

  /** Creates an engine; nothing touches the kernel before `load()`. */
  constructor(options: KernelEngineOptions = {}) {
    this.#opts = options;
  }

  get #n(): NativeLibs {
    if (this.#closed) throw new Error("Cannot use a closed kernel engine");
    return this.#libs ??= native();
  }

  /**
   * How the events ring buffer is read (`undefined` before `load()` or
   * when the program sends no events): `"mmap"` or `"libbpf"`.
   */
  get ringReader(): "mmap" | "libbpf" | undefined {
    return this.#ring ? "mmap" : this.#rb !== null ? "libbpf" : undefined;
  }

  /** The program names as loaded into the kernel, per probe, in order. */
  get programNames(): string[] {
    return this.#progs.map((p) => p.kname);
  }

  /** Program fds, per probe, in order (for inspection). */
  get programFds(): number[] {
    return this.#progs.map((p) => p.fd);
  }

  /** See {@linkcode Engine.skippedAttachPoints}. */
  skippedAttachPoints(): readonly SkippedAttach[] {
    return this.#skipped;
  }

  /** The verifier log of a probe, when `logLevel` was set or it failed. */
  verifierLog(probeName: string): string | undefined {
    return this.#logs.get(probeName);
  }

  /** Creates every map and loads every probe. On failure releases all. */
  load(program: Program): Promise<void> {
    try {
      this.#load(program);
      return Promise.resolve();
    } catch (e) {
      this.close();
      return Promise.reject(e);
    }
  }

  #load(program: Program): void {
    if (this.#program) throw new Error("Cannot load twice into one engine");
    const n = this.#n;
    this.#program = program;
    this.#ncpus = possibleCpus();
    if (this.#opts.enableStats) {
      // Best effort: without it run counts and times read 0.
      this.#statsFd = Math.max(-1, n.bpf.bpf_enable_stats(BPF_STATS_RUN_TIME));
    }
    program.maps.forEach((m, i) => this.#mapFds.push(createKernelMap(n, m, i)));
    // Where perf links exist, pause() releases them: no program needs
    // the stop check (found once per process, one tiny program load).
    if (
      this.#opts.stopCheck !== false &&
      program.probes.some((p) => needsStopCheck(p, isSpecial(p))) &&
      (this.#opts.perfLinks === false || !hasPerfLinks())
    ) {
      this.#stopFd = createKernelMap(n, STOP_MAP, program.maps.length);
    }
    for (const probe of program.probes) this.#loadProbe(probe);
    if (program.eventsMap !== undefined) this.#openRingBuffer();
  }

  #loadProbe(probe: ProbeProgram): void {
    this.#progs.push(loadProbe({
      n: this.#n,
      mapFds: this.#mapFds,
      stopFd: this.#stopFd,
      logLevel: this.#opts.logLevel ?? 0,
      logs: this.#logs,
      signExtension: this.#opts.signExtension,
      source: this.#program?.source?.text,
    }, probe));
  }

  #openRingBuffer(): void {
    const program = this.#program!;
    const index = program.eventsMap!;
    const spec = program.maps[index];
    if (spec === undefined || spec.type !== MapType.RINGBUF) {
      throw new RangeError(
        `Program.eventsMap ${index} is not a ring buffer map`,
      );
    }
    const n = this.#n;
    if (this.#opts.ringReader !== "libbpf") {
      try {
        this.#ring = MmapRingBuffer.open(
          n,
          this.#mapFds[index],
          ringbufSize(spec.maxEntries),
        );
        return;
      } catch {
        // Fall back to libbpf's consumer below.
      }
    }
    this.#cb = new Callback(RINGBUF_SAMPLE_FN, (_ctx, data, size) => {
      if (this.#sinkError !== undefined || data === null) return -1;
      const record = new Uint8Array(Number(size));
      new Deno.UnsafePointerView(data).copyInto(record);
      this.#delivered++;
      try {
        this.#sink?.(record);
      } catch (e) {
        this.#sinkError = e;
        return -1;
      }
      // Out of time: a negative return stops libbpf after this record,
      // which counts as consumed.
      if (
        this.#delivered % 64 === 0 && performance.now() >= this.#deadline
      ) {
        this.#outOfTime = true;
        return -1;
      }
      return 0;
    });
    const rb = n.bpf.ring_buffer__new(
      this.#mapFds[index],
      this.#cb.pointer,
      null,
      null,
    );
    if (rb === null) {
      throw n.error(`open the ring buffer of "${spec.name}"`, n.errno());
    }
    this.#rb = rb;
    this.#rbEpollFd = n.bpf.ring_buffer__epoll_fd(rb);
  }

  /**
   * Attaches every probe except BEGIN and END. A second call does nothing.
   * With `missing_probes` warn or ignore, an attach point that fails is
   * skipped ({@linkcode skippedAttachPoints}).
   */
  async attach(): Promise<void> {
    if (this.#atts.length > 0) return;
    const skip = this.#program?.config?.missingProbes !== undefined;
    // The ELF reader loads only for programs with uprobes.
    const resolveUprobe = this.#progs.some((p) =>
        !p.special &&
        p.probe.attach.some((a) =>
          a.kind === "uprobe" || a.kind === "uretprobe"
        )
      )
      ? (await import("../probes/uprobe_target.ts")).resolveUprobe
      : undefined;
    if (this.#atts.length > 0) return;
    try {
      for (const p of this.#progs) {
        if (p.special) continue;
        for (const point of p.probe.attach) {
          try {
            const a = attachPoint(p.fd, point, {
              pid: this.#opts.pid,
              resolveUprobe,
              perfLinks: this.#opts.perfLinks,
            });
            this.#progOf.set(a, p);
            this.#atts.push(a);
          } catch (e) {
            if (!skip || !(e instanceof Error)) throw e;
            this.#skipped.push({ point: point.text, error: e });
          }
        }
      }
    } catch (e) {
      for (const a of this.#atts.splice(0)) detach(a);
      throw e;
    }
  }

  /** Runs the BEGIN or END probe once with BPF_PROG_TEST_RUN, if present. */
  runSpecial(kind: "BEGIN" | "END"): Promise<void> {
    try {
      for (const p of this.#progs) {
        if (!p.probe.attach.some((a) => a.kind === kind)) continue;
        this.#testRun(p);
      }
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Runs probe `index` of the program (a `test:` or `bench:` probe, loaded
   * as a raw tracepoint program) `repeat` times through BPF_PROG_TEST_RUN,
   * with the kernel's run-time statistics on (`bpf_enable_stats`) for the
   * while: the time is the kernel's own measure of the program's runs,
   * without the system calls around them (raw tracepoint test runs take no
   * `repeat` and report no duration). Returns the last r0 and the average
   * nanoseconds of one run.
   */
  runProbe(
    index: number,
    repeat: number,
  ): Promise<{ retval: number; averageNs: number }> {
    try {
      const probe = this.#program?.probes[index];
      const p = this.#progs.find((q) => q.probe === probe);
      if (p === undefined) {
        throw new RangeError(`No probe ${index} is loaded`);
      }
      const n = this.#n;
      const statsFd = this.#statsFd >= 0
        ? -1
        : n.bpf.bpf_enable_stats(BPF_STATS_RUN_TIME);
      try {
        const before = progInfo(p.fd);
        let retval = 0;
        for (let i = 0; i < repeat; i++) retval = this.#testRun(p);
        const after = progInfo(p.fd);
        const runs = Number(after.runCnt - before.runCnt);
        const ns = Number(after.runTimeNs - before.runTimeNs);
        if (runs === 0 && repeat > 0) {
          throw n.error(
            `time program "${p.kname}" (bpf_enable_stats)`,
            statsFd < 0 && this.#statsFd < 0 ? -statsFd : 0,
          );
        }
        return Promise.resolve({
          retval,
          averageNs: runs > 0 ? ns / runs : 0,
        });
      } finally {
        if (statsFd >= 0) n.closeFd(statsFd);
      }
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Runs a loaded probe once through BPF_PROG_TEST_RUN and returns r0.
   * Works for BEGIN/END (raw tracepoint) and socket filter programs.
   */
  testRun(probeName: string): number {
    const p = this.#progs.find((q) => q.probe.name === probeName);
    if (p === undefined) {
      throw new ReferenceError(`No probe named "${probeName}" is loaded`);
    }
    return this.#testRun(p);
  }

  #testRun(p: Loaded): number {
    const n = this.#n;
    const { bytes: opts, view } = alloc(TestRunOpts.size);
    view.setBigUint64(TestRunOpts.sz, BigInt(TestRunOpts.size), true);
    const socket = p.probe.progType === ProgType.SOCKET_FILTER;
    const input = new Uint8Array(socket ? 64 : RAW_TP_CTX_SIZE);
    if (socket) {
      view.setBigUint64(TestRunOpts.data_in, addressOf(input), true);
      view.setUint32(TestRunOpts.data_size_in, input.length, true);
    } else {
      view.setBigUint64(TestRunOpts.ctx_in, addressOf(input), true);
      view.setUint32(TestRunOpts.ctx_size_in, input.length, true);
    }
    n.check(
      `run program "${p.kname}"`,
      n.bpf.bpf_prog_test_run_opts(p.fd, opts),
    );
    input.fill(0, 0, 0); // keeps `input` alive until here
    return view.getUint32(TestRunOpts.retval, true);
  }

  /**
   * Waits up to `timeoutMs` for ring buffer records and hands each to
   * `onEvent` on the JS thread, in order. The wait (epoll) runs off the JS
   * thread. Records are `onEvent`'s to keep. An exception in `onEvent`
   * rejects the poll; that record counts as consumed, the rest wait for
   * the next poll. With `limits.sliceMs`, stops handing records over after
   * about that many milliseconds; the rest wait for the next poll.
   */
  async poll(
    timeoutMs: number,
    onEvent: (record: Uint8Array) => void,
    limits: PollLimits = {},
  ): Promise<number> {
    const slice = limits.sliceMs;
    this.#deadline = slice === undefined ? Infinity : performance.now() + slice;
    if (this.#ring !== undefined) return this.#pollMapped(timeoutMs, onEvent);
    if (this.#rb === null) {
      if (timeoutMs > 0) {
        await new Promise((r) => setTimeout(r, timeoutMs));
      }
      return 0;
    }
    let got = this.#consume(onEvent);
    if (got > 0 || timeoutMs <= 0) return got;
    const events = new Uint8Array(EPOLL_EVENT_SIZE * 4);
    await this.#n.libc.epoll_wait(
      this.#rbEpollFd,
      events,
      4,
      Math.min(Math.trunc(timeoutMs), 2 ** 31 - 1),
    );
    if (this.#rb === null) return 0; // closed meanwhile
    this.#deadline = slice === undefined ? Infinity : performance.now() + slice;
    got = this.#consume(onEvent);
    return got;
  }

  /**
   * Polls the mapped ring. While records keep coming (the last arrived
   * less than `STREAM_IDLE_MS` ago) an empty ring is re-checked after
   * short timer naps, reading its memory only: an epoll wait costs a
   * thread hop per call (tens of µs), which a busy stream would pay every
   * few records. Once the stream is idle, waits go back to epoll.
   */
  /** See {@linkcode Engine.markDrain}: the ring position to stop at. */
  markDrain(): boolean {
    const ring = this.#ring;
    if (ring === undefined) return false;
    this.#drainTo = ring.consumed + ring.available();
    return true;
  }

  async #pollMapped(
    timeoutMs: number,
    onEvent: (record: Uint8Array) => void,
  ): Promise<number> {
    const ring = this.#ring!;
    if (this.#drainTo !== undefined) {
      // Draining: records up to the mark, no waiting.
      const left = this.#drainTo - ring.consumed;
      return left > 0 ? ring.consume(onEvent, left, this.#deadline) : 0;
    }
    const max = 4 * ring.size;
    let got = ring.consume(onEvent, max, this.#deadline);
    let now = performance.now();
    if (got > 0) this.#lastRecordAt = now;
    if (got > 0 || timeoutMs <= 0) return got;
    const end = now + timeoutMs;
    while (now - this.#lastRecordAt < STREAM_IDLE_MS) {
      if (now >= end) return 0;
      await new Promise((r) => setTimeout(r, Math.min(NAP_MS, end - now)));
      if (this.#ring !== ring) return 0; // closed meanwhile
      now = performance.now();
      if (ring.available() > 0) {
        got = ring.consume(onEvent, max, this.#deadline);
        if (got > 0) {
          this.#lastRecordAt = now;
          return got;
        }
      }
    }
    if (now >= end) return 0;
    await ring.wait(end - now);
    if (this.#ring !== ring) return 0;
    got = ring.consume(onEvent, max, this.#deadline);
    if (got > 0) this.#lastRecordAt = performance.now();
    return got;
  }

  #consume(onEvent: (record: Uint8Array) => void): number {
    const n = this.#n;
    this.#sink = onEvent;
    this.#delivered = 0;
    this.#sinkError = undefined;
    this.#outOfTime = false;
    const ret = n.bpf.ring_buffer__consume(this.#rb);
    this.#sink = undefined;
    const err = this.#sinkError;
    this.#sinkError = undefined;
    if (err !== undefined) throw err;
    if (ret < 0 && !this.#outOfTime) n.check("read the ring buffer", ret);
    return this.#delivered;
  }

  /** Records lost (see the class notes: needs a `.lost` map). */
  lostEvents(): number {
    const i = this.#program?.maps.findIndex((m) => m.name === ".lost") ?? -1;
    if (i < 0 || this.#mapFds[i] === undefined) return 0;
    let total = 0n;
    for (const e of this.readMap(i)) {
      for (const v of e.values) {
        if (v.length >= 8) {
          total += new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
        }
      }
    }
    return Number(total);
  }

  #map(mapIndex: number): KernelMap {
    const spec = this.#program?.maps[mapIndex];
    const fd = this.#mapFds[mapIndex];
    if (spec === undefined || fd === undefined) {
      throw new RangeError(`No map ${mapIndex} is loaded`);
    }
    return { n: this.#n, spec, fd, ncpus: this.#ncpus };
  }

  /** Every entry of a map; per-CPU maps give one value per possible CPU. */
  readMap(mapIndex: number): RawMapEntry[] {
    return readKernelMap(this.#map(mapIndex));
  }

  /** Deletes every entry of a map (array maps: zeroes every value). */
  clearMap(mapIndex: number): void {
    clearKernelMap(this.#map(mapIndex));
  }

  /** Sets every value to zero, keeping the keys (bpftrace's `zero()`). */
  zeroMap(mapIndex: number): void {
    zeroKernelMap(this.#map(mapIndex));
  }

  /**
   * Per-probe statistics from `bpf_prog_info`. Run counts and times are
   * 0 unless `enableStats` was set or `kernel.bpf_stats_enabled=1`.
   */
  stats(): ProbeStats[] {
    return this.#progs.map((p) => {
      const info = progInfo(p.fd);
      return {
        name: p.probe.name,
        runCount: Number(info.runCnt),
        runTimeNs: Number(info.runTimeNs),
        insnCount: info.xlatedProgLen / 8,
      };
    });
  }

  /**
   * Detaches every probe (links and perf events), keeping programs and maps:
   * END can still run and maps can still be read.
   */
  detach(): void {
    for (const a of this.#atts.splice(0)) {
      try {
        detach(a);
      } catch {
        // keep releasing
      }
    }
  }

  /**
   * Whether programs were loaded behind the stop check (kernels without
   * perf links): their xlated code is then {@linkcode STOP_CHECK_SLOTS}
   * slots longer than compiled.
   */
  get stopChecked(): boolean {
    return this.#stopFd >= 0;
  }

  /**
   * Stops every attached probe from running without detaching it, fast
   * whatever the number of probes (see `pause()` in `ffi/attach.ts`):
   * the perf links of tracepoints, kprobes and uprobes are released (a
   * disabled perf event does not stop their programs; releasing a link
   * takes a program out of the event at once), sampling perf events are
   * disabled, raw tracepoint links (cheap to release) are released. The
   * perf events, whose release is the kernel's slow part, are left to
   * `detach()`, `detachAsync()` or `handOff()`. On a kernel without perf
   * links the stop flag the programs check is set instead; a tracing
   * program loaded without it (`stopCheck: false`) is detached.
   * Resolves once no probe's program runs any more.
   */
  async pause(): Promise<void> {
    this.#setStopFlag();
    const ids = new Map<number, number>();
    await Promise.all(this.#atts.map(async (a) => {
      const p = this.#progOf.get(a);
      try {
        let id = 0;
        if (a.tracing === true && a.links.length > 0 && p !== undefined) {
          id = ids.get(p.fd) ?? progInfo(p.fd).id;
          ids.set(p.fd, id);
        }
        const stopped = await pause(a, id);
        if (!stopped && p?.stopChecked !== true) await detachAsync(a);
      } catch {
        // detach will release it
      }
    }));
  }

  /** Sets the stop flag, if there is one. */
  #setStopFlag(): void {
    if (this.#stopFd < 0 || this.#libs === undefined) return;
    const n = this.#libs;
    const key = new Uint8Array(4);
    const one = new Uint8Array(8);
    one[0] = 1;
    try {
      n.check(
        "stop the probes",
        n.bpf.bpf_map_update_elem(this.#stopFd, key, one, 0n),
      );
    } catch {
      // detach will stop them
    }
  }

  /**
   * Detaches every probe like `detach()`, the kernel's slow part on worker
   * threads, calling `onProgress(done, total)` after each attach point.
   * `close()` meanwhile releases what is left at once.
   */
  async detachAsync(
    onProgress?: (done: number, total: number) => void,
  ): Promise<void> {
    const atts = this.#atts;
    const total = atts.length;
    let done = 0;
    const worker = async () => {
      for (let a = atts.shift(); a !== undefined; a = atts.shift()) {
        try {
          await detachAsync(a);
        } catch {
          // keep releasing
        }
        done++;
        onProgress?.(done, total);
      }
    };
    const workers = [];
    for (let i = 0; i < Math.min(DETACH_CONCURRENCY, total); i++) {
      workers.push(worker());
    }
    await Promise.all(workers);
  }

  /**
   * Leaves the probes still attached to a background process, so that this
   * one can exit at once: their fds are inherited by a child that waits
   * for this process to end, then ends itself, and the kernel releases
   * them then, as slowly as ever but in the background. Returns how many
   * attach points and the child's pid, or undefined when nothing is left
   * or no child could be started. Called after `pause()` (the session's
   * end does so first), only perf events are left; otherwise their perf
   * events are disabled (and the stop flag set) here, and a tracing
   * probe's program runs until the child ends.
   */
  handOff(): { count: number; pid: number } | undefined {
    const atts = this.#atts;
    if (atts.length === 0 || this.#libs === undefined) return undefined;
    const n = this.#libs;
    this.#setStopFlag();
    for (const a of atts) {
      for (const fd of a.perfFds) {
        n.libc.ioctl(fd, BigInt(PerfIoctl.DISABLE), 0n);
      }
    }
    const fds = atts.flatMap(attachmentFds);
    const F_SETFD = 2;
    for (const fd of fds) n.libc.fcntl(fd, F_SETFD, 0); // no FD_CLOEXEC
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("sh", {
        args: [
          "-c",
          `while kill -0 ${Deno.pid} 2>/dev/null; do sleep 0.2; done`,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    } catch {
      return undefined;
    }
    child.unref();
    const count = atts.length;
    // The child holds them now: closing ours is cheap.
    for (const a of atts.splice(0)) detach(a);
    return { count, pid: child.pid };
  }

  /** Detaches and releases everything. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const n = this.#libs;
    for (const a of this.#atts.splice(0)) {
      try {
        detach(a);
      } catch {
        // keep releasing
      }
    }
    if (n === undefined) return;
    this.#ring?.close();
    this.#ring = undefined;
    if (this.#rb !== null) {
      n.bpf.ring_buffer__free(this.#rb);
      this.#rb = null;
      this.#rbEpollFd = -1;
    }
    this.#cb?.[Symbol.dispose]();
    this.#cb = undefined;
    for (const p of this.#progs.splice(0)) n.closeFd(p.fd);
    for (const fd of this.#mapFds.splice(0)) n.closeFd(fd);
    n.closeFd(this.#statsFd);
    this.#statsFd = -1;
    n.closeFd(this.#stopFd);
    this.#stopFd = -1;
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
