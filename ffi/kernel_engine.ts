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
} from "../runtime/engine.ts";
import type { MapSpec, ProbeProgram, Program } from "../runtime/program.ts";
import { encode, LD_IMM64 } from "../runtime/bpf/insn.ts";
import { MapType, ProgType, PseudoSrc } from "../runtime/bpf/opcodes.ts";
import {
  type Attachment,
  attachmentFds,
  attachPoint,
  detach,
  detachAsync,
  parseCpuList,
  pause,
} from "./attach.ts";
import {
  failingInsn,
  FfiUnavailableError,
  KernelError,
  VerifierRejection,
} from "./errors.ts";
import { progInfo } from "./introspect.ts";
import { MmapRingBuffer } from "./ringbuf.ts";
import { type FuncInfo, funcInfo, functionStarts } from "./func_info.ts";
import {
  addressOf,
  Callback,
  native,
  type NativeLibs,
  RINGBUF_SAMPLE_FN,
} from "./libbpf.ts";
import {
  alloc,
  BPF_STATS_RUN_TIME,
  cstr,
  ProgLoadOpts,
  TestRunOpts,
} from "./structs.ts";

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
}

/** Bytes of verifier log collected on a rejection. */
const LOG_SIZE = 16 * 1024 * 1024;
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
 * A kernel program name: ≤ 15 characters of `[A-Za-z0-9_.]`.
 *
 * @example Clean a name
 * ```ts
 * import { kernelName } from "./kernel_engine.ts";
 * console.assert(kernelName("tracepoint:skb:kfree_skb") === "tracepoint_skb_");
 * ```
 */
export function kernelName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, "_").slice(0, 15);
}

/**
 * Number of possible CPUs, as per-CPU maps count them.
 *
 * @example Count CPUs
 * ```ts
 * import { possibleCpus } from "./kernel_engine.ts";
 * if (Deno.build.os === "linux") console.assert(possibleCpus() >= 1);
 * ```
 */
export function possibleCpus(): number {
  const cpus = parseCpuList(
    Deno.readTextFileSync("/sys/devices/system/cpu/possible"),
  );
  return Math.max(...cpus) + 1;
}

function isPerCpu(type: number): boolean {
  return type === MapType.PERCPU_HASH || type === MapType.PERCPU_ARRAY ||
    type === MapType.LRU_PERCPU_HASH;
}

function isArray(type: number): boolean {
  return type === MapType.ARRAY || type === MapType.PERCPU_ARRAY;
}

function ringbufSize(n: number): number {
  let size = 4096;
  while (size < n) size *= 2;
  return size;
}

interface Loaded {
  probe: ProbeProgram;
  fd: number;
  kname: string;
  special: boolean;
}

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
 * import { InsnBuilder } from "../runtime/bpf/builder.ts";
 * import { Helper, MapType, ProgType } from "../runtime/bpf/opcodes.ts";
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
  #libs: NativeLibs | undefined;
  #program: Program | undefined;
  #mapFds: number[] = [];
  #progs: Loaded[] = [];
  #atts: Attachment[] = [];
  #logs = new Map<string, string>();
  #statsFd = -1;
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
  /** The function BTF of the program being loaded, if it has callbacks. */
  #btf: { fd: number; info: FuncInfo } | undefined;
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
    program.maps.forEach((m, i) => this.#mapFds.push(this.#createMap(m, i)));
    for (const probe of program.probes) this.#loadProbe(probe);
    if (program.eventsMap !== undefined) this.#openRingBuffer();
  }

  #createMap(m: MapSpec, index: number): number {
    const n = this.#n;
    const ring = m.type === MapType.RINGBUF;
    const name = kernelName(
      `${index}${m.name.replace(/^[@.]/, "_")}`,
    );
    const ret = n.bpf.bpf_map_create(
      m.type,
      cstr(name),
      ring ? 0 : m.keySize,
      ring ? 0 : m.valueSize,
      ring ? ringbufSize(m.maxEntries) : m.maxEntries,
      null,
    );
    return n.check(
      `create map "${m.name}"`,
      ret,
      ret === -1 ? "Creating BPF maps needs root or CAP_BPF" : undefined,
    );
  }

  #patch(insns: ProbeProgram["insns"]): Uint8Array<ArrayBuffer> {
    const out = insns.map((i) => ({ ...i }));
    for (let pc = 0; pc < out.length; pc++) {
      const i = out[pc];
      if (
        i.code === LD_IMM64 &&
        (i.src === PseudoSrc.MAP_FD || i.src === PseudoSrc.MAP_VALUE)
      ) {
        const fd = this.#mapFds[i.imm];
        if (fd === undefined) {
          throw new RangeError(
            `Instruction ${pc} refers to map ${i.imm}, the program has ${this.#mapFds.length}`,
          );
        }
        i.imm = fd;
        pc++; // skip the second half
      }
    }
    return encode(out) as Uint8Array<ArrayBuffer>;
  }

  #loadProbe(probe: ProbeProgram): void {
    const special = probe.attach.some((a) =>
      a.kind === "BEGIN" || a.kind === "END"
    );
    // BPF_PROG_TEST_RUN runs raw tracepoint and socket filter programs, not
    // kprobe or tracepoint ones: BEGIN/END load as raw tracepoints.
    const progType = special && probe.progType !== ProgType.SOCKET_FILTER
      ? ProgType.RAW_TRACEPOINT
      : probe.progType;
    const kname = kernelName(probe.name);
    const code = this.#patch(probe.insns);
    const starts = functionStarts(probe.insns);
    const btf = starts.length > 1 ? this.#loadFuncBtf(starts) : undefined;
    try {
      this.#loadCode(probe, progType, kname, code, special, btf);
    } finally {
      this.#btf = undefined;
      if (btf !== undefined) this.#n.closeFd(btf.fd);
    }
  }

  /**
   * Loads the BTF of a program's functions (the kernel wants `func_info`
   * for callbacks); returns its fd and the records.
   */
  #loadFuncBtf(starts: number[]): { fd: number; info: FuncInfo } {
    const n = this.#n;
    const info = funcInfo(starts);
    if (n.bpf.bpf_btf_load === null) {
      throw new TypeError(
        "This libbpf has no bpf_btf_load: programs with for loops need it",
      );
    }
    const fd = n.bpf.bpf_btf_load(info.btf, BigInt(info.btf.length), null);
    if (fd < 0) throw n.error("load the BTF of a program's functions", -fd);
    return { fd, info };
  }

  #loadCode(
    probe: ProbeProgram,
    progType: number,
    kname: string,
    code: Uint8Array<ArrayBuffer>,
    special: boolean,
    btf: { fd: number; info: FuncInfo } | undefined,
  ): void {
    this.#btf = btf;
    const level = this.#opts.logLevel ?? 0;
    let { fd, log } = this.#tryLoad(progType, kname, code, level, level > 0);
    if (level > 0) this.#logs.set(probe.name, log);
    if (fd < 0) {
      const errno = -fd;
      if (level === 0) {
        ({ fd, log } = this.#tryLoad(progType, kname, code, 1, true));
        this.#logs.set(probe.name, log);
      }
      if (fd >= 0) {
        // Loaded with a log though it failed without: keep it.
      } else if (log.trim() !== "") {
        const at = failingInsn(log);
        const loc = at === undefined ? undefined : probe.locs?.[at];
        throw new VerifierRejection(kname, log, errno, at, loc);
      } else {
        throw this.#n.error(
          `load program "${kname}"`,
          errno,
          errno === 1
            ? "Loading BPF programs needs root (or CAP_BPF and CAP_PERFMON)"
            : undefined,
        );
      }
    }
    this.#progs.push({ probe, fd, kname, special });
  }

  #tryLoad(
    progType: number,
    name: string,
    code: Uint8Array<ArrayBuffer>,
    logLevel: number,
    withLog: boolean,
  ): { fd: number; log: string } {
    const n = this.#n;
    const { bytes: opts, view } = alloc(ProgLoadOpts.size);
    view.setBigUint64(ProgLoadOpts.sz, BigInt(ProgLoadOpts.size), true);
    if (this.#btf !== undefined) {
      const { fd, info } = this.#btf;
      view.setUint32(ProgLoadOpts.prog_btf_fd, fd, true);
      view.setBigUint64(ProgLoadOpts.func_info, addressOf(info.records), true);
      view.setUint32(ProgLoadOpts.func_info_cnt, info.count, true);
      view.setUint32(ProgLoadOpts.func_info_rec_size, 8, true);
    }
    const logBuf = withLog ? new Uint8Array(LOG_SIZE) : undefined;
    if (logBuf) {
      view.setUint32(ProgLoadOpts.log_level, logLevel, true);
      view.setUint32(ProgLoadOpts.log_size, logBuf.length, true);
      view.setBigUint64(ProgLoadOpts.log_buf, addressOf(logBuf), true);
    }
    const fd = n.bpf.bpf_prog_load(
      progType,
      cstr(name),
      cstr("GPL"),
      code,
      BigInt(code.length / 8),
      opts,
    );
    let log = "";
    if (logBuf) {
      const end = logBuf.indexOf(0);
      log = new TextDecoder().decode(
        logBuf.subarray(0, end < 0 ? logBuf.length : end),
      );
    }
    return { fd, log };
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

  /** Attaches every probe except BEGIN and END. A second call does nothing. */
  attach(): Promise<void> {
    if (this.#atts.length > 0) return Promise.resolve();
    try {
      for (const p of this.#progs) {
        if (p.special) continue;
        for (const point of p.probe.attach) {
          this.#atts.push(
            attachPoint(p.fd, point, { pid: this.#opts.pid }),
          );
        }
      }
      return Promise.resolve();
    } catch (e) {
      for (const a of this.#atts.splice(0)) detach(a);
      return Promise.reject(e);
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
  markDrain(): void {
    const ring = this.#ring;
    if (ring !== undefined) this.#drainTo = ring.consumed + ring.available();
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

  #spec(mapIndex: number): [MapSpec, number] {
    const spec = this.#program?.maps[mapIndex];
    const fd = this.#mapFds[mapIndex];
    if (spec === undefined || fd === undefined) {
      throw new RangeError(`No map ${mapIndex} is loaded`);
    }
    return [spec, fd];
  }

  /** Every entry of a map; per-CPU maps give one value per possible CPU. */
  readMap(mapIndex: number): RawMapEntry[] {
    const [spec, fd] = this.#spec(mapIndex);
    if (spec.type === MapType.RINGBUF) return [];
    const n = this.#n;
    const perCpu = isPerCpu(spec.type);
    const stride = perCpu ? Math.ceil(spec.valueSize / 8) * 8 : spec.valueSize;
    const ncpu = perCpu ? this.#ncpus : 1;
    if (spec.type !== MapType.STACK_TRACE && spec.keySize > 0) {
      const batch = this.#readBatch(spec, fd, stride, ncpu);
      if (batch !== undefined) return batch;
    }
    const out: RawMapEntry[] = [];
    let key: Uint8Array<ArrayBuffer> | null = null;
    for (;;) {
      const next = new Uint8Array(Math.max(spec.keySize, 1));
      const ret = n.bpf.bpf_map_get_next_key(fd, key, next);
      if (ret === -2) break; // ENOENT: end
      n.check(`read map "${spec.name}"`, ret);
      key = next;
      const value = new Uint8Array(Math.max(stride * ncpu, 1));
      const got = n.bpf.bpf_map_lookup_elem(fd, next, value);
      if (got === -2) continue; // deleted meanwhile
      n.check(`read map "${spec.name}"`, got);
      const values: Uint8Array[] = [];
      for (let c = 0; c < ncpu; c++) {
        values.push(value.slice(c * stride, c * stride + spec.valueSize));
      }
      out.push({ key: next.slice(0, spec.keySize), values });
    }
    return out;
  }

  /**
   * Reads a map with `bpf_map_lookup_batch` (one call per few thousand
   * entries). Undefined when the kernel cannot batch this map type.
   */
  #readBatch(
    spec: MapSpec,
    fd: number,
    stride: number,
    ncpu: number,
  ): RawMapEntry[] | undefined {
    const n = this.#n;
    const { keySize, valueSize } = spec;
    let chunk = Math.max(1, Math.min(spec.maxEntries, 4096));
    // Hash maps pass a u32 bucket token, array maps a key.
    const token = Math.max(keySize, 8);
    let inTok: Uint8Array<ArrayBuffer> | null = null;
    const outTok = new Uint8Array(token);
    const count = new Uint32Array(1);
    const countBytes = new Uint8Array(count.buffer);
    const out: RawMapEntry[] = [];
    for (;;) {
      const keys = new Uint8Array(chunk * keySize);
      const values = new Uint8Array(chunk * stride * ncpu);
      count[0] = chunk;
      const ret = n.bpf.bpf_map_lookup_batch(
        fd,
        inTok,
        outTok,
        keys,
        values,
        countBytes,
        null,
      );
      if (ret < 0 && ret !== -2) {
        // A hash bucket larger than the chunk: retry with more room.
        if (ret === -28 && chunk < spec.maxEntries * 2) {
          chunk *= 2;
          continue;
        }
        if (out.length === 0 && inTok === null) return undefined;
        n.check(`read map "${spec.name}"`, ret);
      }
      const got = count[0];
      for (let i = 0; i < got; i++) {
        const base = i * stride * ncpu;
        const vals: Uint8Array[] = [];
        for (let c = 0; c < ncpu; c++) {
          const at = base + c * stride;
          vals.push(values.subarray(at, at + valueSize));
        }
        // Views into this batch's fresh buffers: no copies.
        out.push({
          key: keys.subarray(i * keySize, (i + 1) * keySize),
          values: vals,
        });
      }
      if (ret === -2) return out; // ENOENT: that was the last batch
      inTok = outTok.slice();
    }
  }

  /** Deletes every entry of a map (array maps: zeroes every value). */
  clearMap(mapIndex: number): void {
    const [spec, fd] = this.#spec(mapIndex);
    if (spec.type === MapType.RINGBUF) return;
    const n = this.#n;
    if (isArray(spec.type)) {
      const stride = isPerCpu(spec.type)
        ? Math.ceil(spec.valueSize / 8) * 8 * this.#ncpus
        : spec.valueSize;
      const zero = new Uint8Array(stride);
      const key = new Uint32Array(1);
      for (let i = 0; i < spec.maxEntries; i++) {
        key[0] = i;
        n.check(
          `clear map "${spec.name}"`,
          n.bpf.bpf_map_update_elem(fd, new Uint8Array(key.buffer), zero, 0n),
        );
      }
      return;
    }
    const keys: Uint8Array<ArrayBuffer>[] = [];
    let key: Uint8Array<ArrayBuffer> | null = null;
    for (;;) {
      const next = new Uint8Array(Math.max(spec.keySize, 1));
      const ret = n.bpf.bpf_map_get_next_key(fd, key, next);
      if (ret === -2) break;
      n.check(`clear map "${spec.name}"`, ret);
      keys.push(next);
      key = next;
    }
    for (const k of keys) {
      const ret = n.bpf.bpf_map_delete_elem(fd, k);
      if (ret !== -2) n.check(`clear map "${spec.name}"`, ret);
    }
  }

  /** Sets every value to zero, keeping the keys (bpftrace's `zero()`). */
  zeroMap(mapIndex: number): void {
    const [spec, fd] = this.#spec(mapIndex);
    if (isArray(spec.type)) {
      this.clearMap(mapIndex);
      return;
    }
    if (spec.type === MapType.RINGBUF || spec.type === MapType.STACK_TRACE) {
      return;
    }
    const n = this.#n;
    const stride = isPerCpu(spec.type)
      ? Math.ceil(spec.valueSize / 8) * 8 * this.#ncpus
      : spec.valueSize;
    const zero = new Uint8Array(stride);
    let key: Uint8Array<ArrayBuffer> | null = null;
    for (;;) {
      const next = new Uint8Array(Math.max(spec.keySize, 1));
      const ret = n.bpf.bpf_map_get_next_key(fd, key, next);
      if (ret === -2) break;
      n.check(`zero map "${spec.name}"`, ret);
      // BPF_EXIST: a key deleted meanwhile stays deleted.
      const up = n.bpf.bpf_map_update_elem(fd, next, zero, 2n);
      if (up !== -2) n.check(`zero map "${spec.name}"`, up);
      key = next;
    }
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
   * Stops every attached probe from running without detaching it (perf
   * events are disabled; raw tracepoint links, cheap to release, are
   * released). Fast whatever the number of probes.
   */
  pause(): void {
    for (const a of this.#atts) {
      try {
        pause(a);
      } catch {
        // detach will release it
      }
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
   * one can exit at once: their fds (paused first) are inherited by a
   * child that waits for this process to end, then ends itself, and the
   * kernel releases them then, as slowly as ever but in the background.
   * Returns how many attach points and the child's pid, or undefined when
   * nothing is left or no child could be started.
   */
  handOff(): { count: number; pid: number } | undefined {
    const atts = this.#atts;
    if (atts.length === 0 || this.#libs === undefined) return undefined;
    const n = this.#libs;
    this.pause();
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
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Whether the kernel engine can run here, and if not, why. `absent` is set
 * when the kernel path cannot exist on this machine at all (not Linux, or
 * no usable libbpf): only then may `auto` stand in the interpreter.
 */
export type KernelProbe = { ok: true } | {
  ok: false;
  reason: string;
  absent?: true;
};

const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

/**
 * The capabilities tracing needs that this process lacks (CAP_BPF and
 * CAP_PERFMON; CAP_SYS_ADMIN stands for both), from `/proc/self/status`.
 * Empty when they are all there or the file cannot be read.
 */
function missingCapabilities(): string[] {
  let eff: bigint;
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
    if (m === null) return [];
    eff = BigInt(`0x${m[1]}`);
  } catch {
    return [];
  }
  const has = (cap: number) => (eff >> BigInt(cap) & 1n) === 1n;
  if (has(CAP_SYS_ADMIN)) return [];
  const missing: string[] = [];
  if (!has(CAP_BPF)) missing.push("CAP_BPF");
  if (!has(CAP_PERFMON)) missing.push("CAP_PERFMON");
  return missing;
}

function permissionReason(uid: number, missing: string[]): string {
  const caps = missing.length > 0 ? missing : ["CAP_BPF", "CAP_PERFMON"];
  const them = caps.length > 1 ? "them" : "it";
  const how = uid === 0
    ? `which this process lacks although it runs as root (a container or ` +
      `a reduced capability set?): grant ${them} to it`
    : `which this process (uid ${uid}) lacks: run as root (sudo) or grant ` +
      `${them} (setcap ${
        caps.map((c) => c.toLowerCase()).join(",")
      }+ep on the deno binary)`;
  return `tracing in the kernel needs ${caps.join(" and ")}, ${how}; ` +
    `--backend interp runs the program on synthetic events instead`;
}

/**
 * Tells whether the kernel engine can be used on this machine, and if not,
 * why, in one sentence. Creates (and closes) one tiny map to be sure, and
 * checks the capabilities attaching needs.
 *
 * @example Check the machine
 * ```ts
 * import { probeKernel } from "./kernel_engine.ts";
 * const r = probeKernel();
 * console.log(r.ok ? "kernel engine available" : r.reason);
 * ```
 */
export function probeKernel(): KernelProbe {
  if (Deno.build.os !== "linux") {
    return {
      ok: false,
      reason: `the kernel engine needs Linux, this is ${Deno.build.os}`,
      absent: true,
    };
  }
  let n: NativeLibs;
  try {
    n = native();
  } catch (e) {
    if (e instanceof FfiUnavailableError) {
      // Denied FFI is the user's choice, not a missing kernel path.
      return e.cause instanceof Deno.errors.NotCapable
        ? { ok: false, reason: e.reason }
        : { ok: false, reason: e.reason, absent: true };
    }
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
  const fd = n.bpf.bpf_map_create(
    MapType.ARRAY,
    cstr("tsb_probe"),
    4,
    8,
    1,
    null,
  );
  if (fd >= 0) {
    n.closeFd(fd);
    // Maps may be allowed (CAP_BPF) while attaching is not (CAP_PERFMON).
    const missing = missingCapabilities();
    if (missing.length > 0) {
      return { ok: false, reason: permissionReason(n.libc.geteuid(), missing) };
    }
    return { ok: true };
  }
  const errno = -fd;
  if (errno === 1 || errno === 13) {
    return {
      ok: false,
      reason: permissionReason(n.libc.geteuid(), missingCapabilities()),
    };
  }
  if (errno === 38) {
    return {
      ok: false,
      reason: "this kernel was built without BPF (CONFIG_BPF_SYSCALL)",
    };
  }
  return {
    ok: false,
    reason: new KernelError("create a BPF map", errno, n.strerror(errno))
      .message,
  };
}
