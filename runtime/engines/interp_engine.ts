/**
 * The interpreter engine: runs a compiled `Program`'s probes in tsbpf's own
 * eBPF interpreter, fed by seeded synthetic events on a virtual clock.
 *
 * One seed fixes everything: the process table (realistic names, pids,
 * threads, a Zipf-like share of activity), every record, every pick, so the
 * same seed gives byte-identical events and maps, however the time is cut
 * into polls. `poll(ms)` advances the virtual clock by exactly `ms`, runs
 * every event due in that window in timestamp order across probes, then
 * drains the ring buffer.
 *
 * Sources, one per attach point:
 * - tracepoints: records laid out exactly per their format (common header,
 *   `__data_loc` strings, char arrays); syscalls with plausible arguments
 *   (path pointers into readable synthetic user memory), return values with
 *   realistic errors; `raw_syscalls` with a server's syscall mix;
 *   `skb:kfree_skb` with real drop reasons, skewed, and matching drop
 *   sites; `sched:*` with current/next/woken tasks; others generically.
 *   `rate` events per second each, spread at random inside their slots.
 * - kprobe/kretprobe/uprobe/uretprobe: x86_64 `pt_regs` (168 bytes).
 * - rawtracepoint: an array of u64 arguments.
 * - profile/interval/software/hardware: `bpf_perf_event_data` at their
 *   period (profile per CPU, interval on one).
 * - Entries and returns traced together (sys_enter_X/sys_exit_X,
 *   kprobe/kretprobe, uprobe/uretprobe) are paired: each return follows
 *   its entry on the same thread after a plausible latency.
 *
 * Kernel and user stacks are synthetic call chains through real function
 * names; `symbols()` names them.
 *
 * @module
 */

import type { Engine, PollLimits, ProbeStats, RawMapEntry } from "./engine.ts";
import type { SymbolResolver } from "../output/types.ts";
import type { Program } from "../program.ts";
import { verifyProgram } from "../verify_program.ts";
import { VmProgram } from "../vm/interpreter.ts";
import { createMap, RingBufMap, type VmMap } from "../vm/maps.ts";
import { type EventSource, makeSource } from "../synthetic/sources.ts";
import { World } from "../synthetic/world.ts";
import { UsdtSource } from "../synthetic/usdt_source.ts";
import {
  pairDomain,
  returnKey,
  returnOf,
  ReturnQueue,
} from "../synthetic/pairing.ts";
import type { SyntheticThread } from "../synthetic/processes.ts";
import type { EventFeed } from "../synthetic/event_feed.ts";

/** Options of {@linkcode InterpEngine}; every field has a default. */
export interface InterpEngineOptions {
  /** Seed of every synthetic choice (default 1). Same seed, same output. */
  seed?: number;
  /** Events per second per attach point of rate-driven probes (default 1000). */
  rate?: number;
  /**
   * When true, `poll` also sleeps so virtual time tracks wall time (the
   * CLI); when false (default), a poll of N ms runs N ms of synthetic time
   * as fast as it can.
   */
  realtime?: boolean;
  /** CPUs of the synthetic machine (default 2). */
  numCpus?: number;
  /** Only this process makes events (`-p`). */
  pid?: number;
  /** Executed-instruction budget of one run (default: the kernel's 1M). */
  budget?: number;
  /**
   * Events from elsewhere (a recording) instead of the synthetic world:
   * the feed supplies each event's context, environment and helpers.
   */
  feed?: EventFeed;
}

/** Runtime errors of the probes' runs. */
export interface RuntimeErrors {
  /** Runs that faulted. */
  count: number;
  /** The first fault's message, prefixed with the probe name. */
  first?: string;
}

/** Interpreter statistics, beyond {@linkcode ProbeStats}. */
export interface InterpProbeStats extends ProbeStats {
  /** Instructions executed over every run. */
  insnsExecuted: number;
  /** Runs that faulted. */
  errors: number;
}

/**
 * Makes every return source whose entry is also traced (sys_enter_X and
 * sys_exit_X, kprobe and kretprobe of one function, uprobe and uretprobe)
 * follow its entry's events; a thread is in one call of a domain (one
 * function, or any syscall) at a time.
 */
function pairReturns(sources: EventSource[]): void {
  const byKey = new Map<string, EventSource>();
  for (const s of sources) {
    const k = returnKey(s.attach);
    if (k !== undefined && !byKey.has(k)) byKey.set(k, s);
  }
  const domains = new Map<string, Map<SyntheticThread, EventSource>>();
  for (const s of sources) {
    const k = returnOf(s.attach);
    const r = k === undefined ? undefined : byKey.get(k);
    if (r === undefined) continue;
    // Several starts of one object's life (either of a kernel's two
    // names for a function) feed one end.
    if (r.queue !== undefined) {
      if (k!.startsWith("kpair:")) s.returns = r;
      continue;
    }
    s.returns = r;
    const d = pairDomain(r.attach);
    r.queue = new ReturnQueue(d !== undefined);
    if (d !== undefined) {
      let flight = domains.get(d);
      if (flight === undefined) domains.set(d, flight = new Map());
      r.inFlight = flight;
    }
  }
}

/** Runs 1 in this many are timed; `runTimeNs` is extrapolated from them. */
const TIME_SAMPLE = 32;
/** Events run between two looks at the wall clock of a bounded poll. */
const CLOCK_CHECK = 256;

interface Loaded {
  name: string;
  kind: string;
  vm: VmProgram;
  insnCount: number;
  runs: number;
  timed: number;
  timedNs: number;
  executed: number;
  errors: number;
}

/**
 * The interpreter engine.
 *
 * @example Count raw syscalls per process for 100 virtual ms
 * ```ts
 * import { InterpEngine } from "./interp_engine.ts";
 * import { compile } from "../compiler/compile.ts";
 * const prog = compile("tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }");
 * const engine = new InterpEngine({ seed: 7, rate: 10000 });
 * await engine.load(prog);
 * await engine.attach();
 * await engine.poll(100, () => {});
 * console.assert(engine.readMap(0).length > 3);
 * console.assert(engine.clockMs() === 100);
 * engine.close();
 * ```
 */
export class InterpEngine implements Engine {
  /** Which engine this is. */
  readonly kind = "interp" as const;

  /** False when a feed (a recording) supplies the events. */
  get synthetic(): boolean {
    return this.#feed === undefined;
  }
  readonly #seed: number;
  readonly #rate: number;
  readonly #realtime: boolean;
  readonly #numCpus: number;
  readonly #pid?: number;
  readonly #budget?: number;
  readonly #feed?: EventFeed;
  #world?: World;
  #bootTimeNs?: bigint;
  #program?: Program;
  /** The program `verify()` last accepted: `load` need not check it again. */
  #verified?: Program;
  #maps: VmMap[] = [];
  #probes: Loaded[] = [];
  #sources: EventSource[] = [];
  #events?: RingBufMap;
  #nowNs = 0;
  /** Virtual ns of the last event run (of several sources). */
  #lastNs = 0;
  #wallStart = -1;
  #errors = 0;
  #firstError?: string;
  #closed = false;
  #attached = false;
  /**
   * True once a probe submitted an `exit()` record: no event runs after
   * the one that called it (BEGIN, END and `runProbe` still run).
   */
  #exited = false;

  /** True when `poll` paces virtual time with the wall clock. */
  get realtime(): boolean {
    return this.#realtime;
  }

  /** Makes an engine; nothing happens until `load()`. */
  constructor(options: InterpEngineOptions = {}) {
    this.#seed = options.seed ?? 1;
    this.#rate = options.rate ?? 1000;
    this.#realtime = options.realtime ?? false;
    this.#numCpus = options.numCpus ?? 2;
    this.#pid = options.pid;
    this.#budget = options.budget;
    this.#feed = options.feed;
    if (this.#feed !== undefined) this.#numCpus = this.#feed.numCpus;
    if (!(this.#rate > 0 && Number.isFinite(this.#rate))) {
      throw new RangeError(
        `Invalid event rate ${this.#rate}: it must be positive`,
      );
    }
    if (
      !Number.isInteger(this.#numCpus) || this.#numCpus < 1 ||
      this.#numCpus > 1024
    ) {
      throw new RangeError(`Invalid CPU count ${this.#numCpus}`);
    }
    if (!Number.isFinite(this.#seed)) {
      throw new RangeError(`Invalid seed ${this.#seed}`);
    }
  }

  /**
   * Runs tsbpf's verifier over every probe of `program`, as `load` does;
   * `load` of this same program then does not run it again.
   *
   * @throws {import("../verify_program.ts").ProgramRejectedError} for the
   *   first probe rejected, with its script line when known.
   */
  verify(program: Program): void {
    this.#checkOpen();
    verifyProgram(program);
    this.#verified = program;
  }

  /**
   * Creates every map, verifies every probe unless `verify()` accepted this
   * program (a rejection throws a `ProgramRejectedError`, with the script
   * line when known) and prepares it for the interpreter.
   */
  load(program: Program): Promise<void> {
    this.#checkOpen();
    if (this.#program !== undefined) {
      return Promise.reject(new TypeError("A program is already loaded"));
    }
    try {
      if (program !== this.#verified) verifyProgram(program);
      this.#verified = undefined;
      const world = new World(this.#seed, this.#numCpus, this.#pid);
      world.env.wallBootNs = this.#wallBootNs(world);
      const maps = program.maps.map((m) => createMap(m, this.#numCpus));
      const probes: Loaded[] = [];
      for (const p of program.probes) {
        probes.push({
          name: p.name,
          kind: p.attach[0]?.kind ?? "BEGIN",
          vm: new VmProgram(p.insns, maps, {
            budget: this.#budget,
            helpers: this.#feed?.helpers,
          }),
          insnCount: p.insns.length,
          runs: 0,
          timed: 0,
          timedNs: 0,
          executed: 0,
          errors: 0,
        });
      }
      this.#feed?.load(program);
      this.#world = world;
      this.#maps = maps;
      this.#probes = probes;
      this.#program = program;
      if (program.eventsMap !== undefined) {
        const ev = maps[program.eventsMap];
        if (ev instanceof RingBufMap) {
          this.#events = ev;
          this.#watchExit(program, ev);
        }
      }
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Starts the synthetic sources of every probe except BEGIN and END. */
  attach(): Promise<void> {
    this.#checkOpen();
    const program = this.#loaded();
    const world = this.#world!;
    if (this.#attached) return Promise.resolve();
    try {
      if (this.#feed !== undefined) {
        this.#attached = true;
        return Promise.resolve();
      }
      const sources: EventSource[] = [];
      program.probes.forEach((p, i) => {
        for (const ap of p.attach) {
          if (
            ap.kind === "BEGIN" || ap.kind === "END" || ap.kind === "test" ||
            ap.kind === "bench"
          ) continue;
          const s = ap.kind === "usdt" && ap.usdt !== undefined
            ? new UsdtSource(world, ap, i, this.#rate)
            : makeSource(world, ap, i, p.ctx, this.#rate);
          if (s === undefined) {
            throw new TypeError(
              `Cannot attach "${ap.text}": no synthetic events for this probe type`,
            );
          }
          sources.push(s);
        }
      });
      pairReturns(sources);
      sources.forEach((s, i) => (s.id = i));
      for (const s of sources) s.start(world, this.#nowNs);
      this.#sources = sources;
      this.#attached = true;
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Runs the BEGIN or END probe once (as the engine's own process). */
  runSpecial(kind: "BEGIN" | "END"): Promise<void> {
    this.#checkOpen();
    const program = this.#loaded();
    const world = this.#world!;
    const empty = new Uint8Array(0);
    program.probes.forEach((p, i) => {
      if (!p.attach.some((a) => a.kind === kind)) return;
      if (this.#feed !== undefined) {
        const ctx = this.#feed.special(i);
        if (ctx !== undefined) this.#run(i, ctx);
        return;
      }
      const env = world.env;
      env.set(world.procs.self, 0, world.baseNs + this.#nowNs);
      env.kstack = [];
      env.ustack = [];
      env.funcIp = 0n;
      this.#run(i, empty);
    });
    return Promise.resolve();
  }

  /**
   * Runs probe `index` (a `test:` or `bench:` probe) `repeat` times, as
   * the engine's own process, and returns the last r0 and the average
   * wall-clock nanoseconds one run took in the interpreter.
   */
  runProbe(
    index: number,
    repeat: number,
  ): Promise<{ retval: number; averageNs: number }> {
    this.#checkOpen();
    this.#loaded();
    const p = this.#probes[index];
    if (p === undefined) {
      return Promise.reject(new RangeError(`No probe ${index} is loaded`));
    }
    const world = this.#world!;
    const empty = new Uint8Array(0);
    const env = world.env;
    env.set(world.procs.self, 0, world.baseNs + this.#nowNs);
    env.kstack = [];
    env.ustack = [];
    env.funcIp = 0n;
    let retval = 0n;
    const t0 = performance.now();
    for (let i = 0; i < repeat; i++) {
      p.runs++;
      retval = p.vm.run(empty, env);
      p.executed += p.vm.executed;
    }
    const ns = (performance.now() - t0) * 1e6;
    return Promise.resolve({
      retval: Number(BigInt.asUintN(32, retval)),
      averageNs: repeat > 0 ? ns / repeat : 0,
    });
  }

  /**
   * Advances virtual time by exactly `timeoutMs`, runs every event due in
   * that window in timestamp order, then hands the ring buffer's records
   * to `onEvent`. With `realtime`, also waits so virtual time tracks wall
   * time. With `limits.sliceMs`, stops running events after about that
   * many wall milliseconds: the clock then stands at the last event run,
   * short of the window's end, and the next poll goes on from there (the
   * events are the same however polls cut the time).
   */
  async poll(
    timeoutMs: number,
    onEvent: (record: Uint8Array) => void,
    limits: PollLimits = {},
  ): Promise<number> {
    this.#checkOpen();
    if (!(timeoutMs >= 0)) throw new RangeError(`Invalid timeout ${timeoutMs}`);
    if (this.#realtime && this.#wallStart < 0) {
      this.#wallStart = performance.now() - this.#nowNs / 1e6;
    }
    if (this.#program !== undefined) {
      const slice = limits.sliceMs;
      this.#advance(
        this.#nowNs + timeoutMs * 1e6,
        slice === undefined ? Infinity : performance.now() + slice,
      );
    } else this.#nowNs += timeoutMs * 1e6;
    if (this.#realtime) {
      const wait = this.#wallStart + this.#nowNs / 1e6 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    return this.#drain(onEvent);
  }

  /**
   * Runs the events of every source due before `endNs`, or those due
   * before the wall clock passes `wallEnd` (then the clock stays at the
   * last event run).
   */
  #advance(endNs: number, wallEnd: number): void {
    // After exit() no event runs: the clock stays at the one that called it.
    if (this.#exited) return;
    if (this.#feed !== undefined) {
      // A recording: its events, in order; the wall-clock bound holds too
      // (the clock then stays at the last event run).
      const feed = this.#feed;
      if (!this.#attached) {
        this.#nowNs = endNs;
        return;
      }
      let seen = 0;
      for (;;) {
        if (
          wallEnd !== Infinity && ++seen % CLOCK_CHECK === 0 &&
          performance.now() >= wallEnd
        ) return;
        const e = feed.next(endNs);
        if (e === undefined) break;
        if (e.timeNs > this.#nowNs) this.#nowNs = e.timeNs;
        this.#run(e.probe, e.ctx);
        if (this.#exited) return;
      }
      this.#nowNs = endNs;
      return;
    }
    const sources = this.#sources;
    const world = this.#world!;
    const n = sources.length;
    const bounded = wallEnd !== Infinity;
    let count = 0;
    const late = () =>
      bounded && ++count % CLOCK_CHECK === 0 && performance.now() >= wallEnd;
    if (n === 1) {
      const s = sources[0];
      while (s.next < endNs) {
        if (late()) return;
        this.#nowNs = s.next;
        s.fire(world);
        this.#run(s.probe, s.ctx);
        s.advance(world);
        if (this.#exited) return;
      }
    } else if (n <= 8) {
      for (;;) {
        let best: EventSource | undefined;
        let t = endNs;
        for (let i = 0; i < n; i++) {
          const s = sources[i];
          if (s.next < t) {
            t = s.next;
            best = s;
          }
        }
        if (best === undefined) break;
        if (late()) return;
        const prev = this.#lastNs;
        this.#nowNs = this.#lastNs = t;
        best.fire(world);
        if (best.preempt !== undefined) this.#preempt(best, prev);
        if (this.#exited) return;
        this.#run(best.probe, best.ctx);
        best.advance(world);
        if (this.#exited) return;
      }
    } else {
      // Many sources (wildcards): a binary heap ordered by (next, id).
      const heap = sources.map((_, i) => i);
      const pos = new Int32Array(n);
      const less = (a: number, b: number) =>
        sources[a].next < sources[b].next ||
        (sources[a].next === sources[b].next && a < b);
      const swap = (i: number, j: number) => {
        const x = heap[i];
        heap[i] = heap[j];
        heap[j] = x;
        pos[heap[i]] = i;
        pos[heap[j]] = j;
      };
      const down = (i: number) => {
        for (;;) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          if (l < n && less(heap[l], heap[m])) m = l;
          if (r < n && less(heap[r], heap[m])) m = r;
          if (m === i) return;
          swap(i, m);
          i = m;
        }
      };
      const up = (i: number) => {
        while (i > 0) {
          const p = (i - 1) >> 1;
          if (!less(heap[i], heap[p])) return;
          swap(i, p);
          i = p;
        }
      };
      // Moves source `s` to its place after its `next` changed.
      const fix = (s: EventSource) => {
        up(pos[s.id]);
        down(pos[s.id]);
      };
      heap.forEach((s, i) => (pos[s] = i));
      for (let i = (n >> 1) - 1; i >= 0; i--) down(i);
      // Paired sources reschedule each other while firing.
      for (const s of sources) if (s.queue !== undefined) s.onMove = fix;
      try {
        for (;;) {
          const s = sources[heap[0]];
          if (!(s.next < endNs)) break;
          if (late()) return;
          const prev = this.#lastNs;
          this.#nowNs = this.#lastNs = s.next;
          s.fire(world);
          if (s.preempt !== undefined) fix(this.#preempt(s, prev));
          if (this.#exited) return;
          this.#run(s.probe, s.ctx);
          s.advance(world);
          fix(s);
          if (this.#exited) return;
        }
      } finally {
        for (const s of sources) s.onMove = undefined;
      }
    }
    this.#nowNs = endNs;
  }

  /**
   * Runs the return that `entry` preempted (its thread was still in a
   * call): at `entry.preemptNs`, not before `prevNs` (the previous event,
   * however polls cut the time), then makes the entry's context current
   * again. Returns the return source, whose `next` changed.
   */
  #preempt(entry: EventSource, prevNs: number): EventSource {
    const r = entry.preempt!;
    entry.preempt = undefined;
    const world = this.#world!;
    const env = world.env;
    const saved = env.save();
    const t = this.#nowNs;
    const at = Math.min(t, Math.max(prevNs, entry.preemptNs));
    r.next = at;
    this.#nowNs = at;
    r.fire(world);
    this.#run(r.probe, r.ctx);
    r.advance(world);
    this.#nowNs = t;
    env.restore(saved);
    return r;
  }

  /**
   * Notes an `exit()` as its record is submitted, so that `#advance` stops
   * right after the event that called it (only for programs that can).
   */
  #watchExit(program: Program, ring: RingBufMap): void {
    const ids = new Set(
      program.formats.filter((f) => f.action.kind === "exit").map((f) => f.id),
    );
    if (ids.size === 0) return;
    ring.onSubmit = (rec) => {
      if (rec.length < 8) return;
      const view = new DataView(rec.buffer, rec.byteOffset, 8);
      if (view.getUint32(4, true) === 0 && ids.has(view.getUint32(0, true))) {
        this.#exited = true;
      }
    };
  }

  #run(index: number, ctx: Uint8Array): void {
    const p = this.#probes[index];
    const env = this.#feed?.env ?? this.#world!.env;
    const n = ++p.runs;
    try {
      if (n % TIME_SAMPLE === 0) {
        const t0 = performance.now();
        p.vm.run(ctx, env);
        p.timedNs += (performance.now() - t0) * 1e6;
        p.timed++;
      } else {
        p.vm.run(ctx, env);
      }
    } catch (e) {
      p.errors++;
      this.#errors++;
      if (this.#firstError === undefined) {
        this.#firstError = `${p.name}: ${
          e instanceof Error ? e.message : String(e)
        }`;
      }
    }
    p.executed += p.vm.executed;
  }

  #drain(onEvent: (record: Uint8Array) => void): number {
    const ev = this.#events;
    if (ev === undefined) return 0;
    if (this.#feed?.drain !== undefined) return this.#feed.drain(ev, onEvent);
    return ev.drain(onEvent);
  }

  /** Records dropped because the ring buffer was full. */
  lostEvents(): number {
    return this.#events?.lost ?? 0;
  }

  /** Every entry of a map (per-CPU maps: one value per CPU). */
  readMap(mapIndex: number): RawMapEntry[] {
    return this.#map(mapIndex).entries();
  }

  /** Deletes every entry of a map (array maps: zeroes every value). */
  clearMap(mapIndex: number): void {
    this.#map(mapIndex).clear();
  }

  /** Stops every event source; maps and END stay usable. */
  detach(): void {
    for (const s of this.#sources) s.stop();
    this.#sources = [];
  }

  /** Sets every value to zero, keeping the keys (bpftrace's `zero()`). */
  zeroMap(mapIndex: number): void {
    const map = this.#map(mapIndex);
    for (const e of map.entries()) {
      map.update(e.key, e.values.map((v) => new Uint8Array(v.length)));
    }
  }

  /** Per-probe statistics; `runTimeNs` is extrapolated from sampled runs. */
  stats(): InterpProbeStats[] {
    return this.#probes.map((p) => ({
      name: p.name,
      runCount: p.runs,
      runTimeNs: p.timed === 0 ? 0 : Math.round((p.timedNs / p.timed) * p.runs),
      insnCount: p.insnCount,
      insnsExecuted: p.executed,
      errors: p.errors,
    }));
  }

  /** Runs that faulted so far, and the first fault's message. */
  runtimeErrors(): RuntimeErrors {
    return this.#firstError === undefined
      ? { count: this.#errors }
      : { count: this.#errors, first: this.#firstError };
  }

  /** Virtual milliseconds since the engine was made. */
  clockMs(): number {
    return this.#nowNs / 1e6;
  }

  /** The recorded wall-clock time of a replay; undefined otherwise. */
  wallClockNs(): bigint | undefined {
    return this.#feed?.wallClockNs?.(this.#nowNs);
  }

  /** Names the synthetic machine's addresses and stack ids. */
  symbols(): SymbolResolver {
    if (this.#feed !== undefined) return this.#feed.symbols(this.#maps);
    const world = this.#world ??
      new World(this.#seed, this.#numCpus, this.#pid);
    const bootTimeNs = this.#wallBootNs(world);
    return {
      ...world.symbols.resolver(this.#maps, (pid) => world.exeOf(pid)),
      bootTimeNs: () => bootTimeNs,
    };
  }

  /**
   * The wall-clock time the synthetic boot clock started at, fixed once:
   * virtual time 0 is now, so strftime() of a boot-clock nsecs shows
   * today and CLOCK_TAI (tseries(), nsecs(tai)) agrees with it.
   */
  #wallBootNs(world: World): bigint {
    this.#bootTimeNs ??= BigInt(Date.now()) * 1_000_000n -
      BigInt(Math.round(world.baseNs + world.env.bootOffsetNs));
    return this.#bootTimeNs;
  }

  /** Stops every source; maps stay readable. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sources) s.stop();
    this.#sources = [];
  }

  #map(i: number): VmMap {
    const m = this.#maps[i];
    if (m === undefined) throw new RangeError(`Unknown map index ${i}`);
    return m;
  }

  #loaded(): Program {
    if (this.#program === undefined) {
      throw new TypeError("No program is loaded: call load() first");
    }
    return this.#program;
  }

  #checkOpen(): void {
    if (this.#closed) throw new TypeError("The engine is closed");
  }
}
