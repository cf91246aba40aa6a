/**
 * Replay: a recording as the interpreter engine's event source. Each
 * recorded run becomes an event of the same probe with the recorded
 * context and task facts; helpers return what they returned in the kernel
 * (times, random numbers, stack ids, the bytes reads found), so the program
 * that made the recording prints exactly what it printed live.
 *
 * Another program may replay the file when it reads only what was
 * recorded: the context, task facts, the event's time, strings captured at
 * entry, and reads of the same addresses. Anything else stops the replay
 * with one line naming the probe and the read.
 *
 * @module
 */

import type { SymbolResolver } from "../output/types.ts";
import type { Program } from "../program.ts";
import type { EventFeed, FedEvent } from "../synthetic/event_feed.ts";
import { fromBigInt, hi, toBigU } from "../vm/alu64.ts";
import type { VmEnvironment } from "../vm/environment.ts";
import { type HelperFn, HELPERS } from "../vm/helpers.ts";
import type { Machine } from "../vm/memory.ts";
import type { RingBufMap } from "../vm/maps.ts";
import { TAG } from "../vm/memory.ts";
import { HELPER_NAMES } from "../bpf/opcodes.ts";
import {
  MARK_PROBE,
  type RecordedCall,
  type RecordedEvent,
  RESULT_HELPERS,
  RING_POSITION,
  TICK_WALL,
  WRITING_HELPERS,
} from "./format.ts";
import type { Recording } from "./reader.ts";

const decoder = new TextDecoder();

/** A read or result the recording does not hold. */
export class ReplayError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ReplayError";
  }
}

class ReplayEnv implements VmEnvironment {
  pid = 0;
  tid = 0;
  uid = 0;
  gid = 0;
  cpu = 0;
  numCpus: number;
  cgroupId = 0n;
  task = 0n;
  funcIp = 0n;
  commBytes: Uint8Array = new Uint8Array(16);
  /** The event's monotonic time, ns. */
  time = 0;
  constructor(numCpus: number) {
    this.numCpus = numCpus;
  }
  get comm(): string {
    const b = this.commBytes;
    const n = b.indexOf(0);
    return decoder.decode(n < 0 ? b : b.subarray(0, n));
  }
  nowNs(): bigint {
    return BigInt(this.time);
  }
  bootNs(): bigint {
    return BigInt(this.time);
  }
  random32(): number {
    return 0;
  }
  kernelStack(): bigint[] {
    return [];
  }
  userStack(): bigint[] {
    return [];
  }
  readMemory(): Uint8Array | null {
    return null;
  }
}

function ret(v: number): number {
  hi.v = v < 0 ? -1 : 0;
  return v | 0;
}

/** An output of the replayed program: when and where it entered the ring. */
interface Output {
  time: number;
  pos?: number;
  dropped: boolean;
}

const EMPTY = new Uint8Array(0);
const NONE: number[] = [];
const NO_CALLS: RecordedCall[] = [];

/**
 * The recording's events for the interpreter engine.
 *
 * @example Replay a recording in the interpreter
 * ```ts ignore
 * import { openRecording } from "./reader.ts";
 * import { ReplayFeed } from "./replay_feed.ts";
 * import { InterpEngine } from "../engines/interp_engine.ts";
 * const feed = new ReplayFeed(openRecording("trace.tsrec"));
 * const engine = new InterpEngine({ feed });
 * ```
 */
export class ReplayFeed implements EventFeed {
  /** The environment of the current event. */
  readonly env: ReplayEnv;
  /** Helpers serving recorded values. */
  readonly helpers: ReadonlyMap<number, HelperFn>;
  /** CPUs of the recorded machine. */
  readonly numCpus: number;
  /** The first replay error, once one stopped the replay. */
  error?: ReplayError;
  /**
   * Whether runs stop at a tick mark until {@linkcode releaseMark}: set
   * while a `trace()` session ticks, so that each tick reads the maps
   * after the runs the live tick's read saw. Otherwise marks are skipped.
   */
  holdAtMarks = false;
  /** Whether the recording has tick marks (a recorded session ticked). */
  readonly marked: boolean;
  readonly #rec: Recording;
  readonly #iter: { next(): RecordedEvent | undefined };
  #head?: RecordedEvent;
  #done = false;
  #firstNs: number;
  /** Recorded probe index → the program probes its events run. */
  #map: number[][] = [];
  #fan: number[] = NONE;
  #fanAt = 0;
  #fanNs = 0;
  #special: boolean[] = [];
  #ctxSize: number[] = [];
  #names: string[] = [];
  #cur?: RecordedEvent;
  /** Outputs made, in ring order, with their live ring time. */
  #outputs: Output[] = [];
  #reserved = new WeakMap<Uint8Array, Output>();
  #held: { time: number; pos?: number; seq: number; bytes: Uint8Array }[] = [];
  /** The ring position of the last output handed on. */
  #lastPos?: number;
  readonly #ringSize: number;
  #seq = 0;
  #handing?: number;
  #ended = false;
  #curProbe = 0;
  #pos = 0;
  #events = 0;

  /** Feeds `recording`'s events. */
  constructor(recording: Recording) {
    this.#rec = recording;
    this.numCpus = Math.max(1, recording.header.numCpus | 0);
    this.env = new ReplayEnv(this.numCpus);
    this.#iter = recording.stream();
    const first = recording.trailer?.firstNs;
    this.#firstNs = first === undefined ? NaN : Number(first);
    this.helpers = this.#makeHelpers();
    this.marked = (recording.trailer?.marks ?? 0) > 0;
    const ring = recording.header.ringSize ?? 0;
    this.#ringSize = ring > 0 && (ring & (ring - 1)) === 0 ? ring : 0;
  }

  /** Events run so far. */
  get events(): number {
    return this.#events;
  }

  /** Nanoseconds between the first and the last recorded event. */
  durationNs(): number {
    const t = this.#rec.trailer;
    if (t?.firstNs === undefined || t.lastNs === undefined) return 0;
    return Number(t.lastNs) - Number(t.firstNs);
  }

  /** Matches the program's probes with the recorded ones. */
  load(program: Program): void {
    this.#matchProbes(program);
  }

  #matchProbes(program: Program): void {
    if (this.#names.length > 0) return;
    const recorded = this.#rec.header.probes;
    program.probes.forEach((p, i) => {
      this.#ctxSize[i] = p.ctx.size;
      this.#names[i] = p.attach.map((a) => a.text).join(",") || p.name;
      const kind = p.attach[0]?.kind;
      this.#special[i] = kind === "BEGIN" || kind === "END";
    });
    const same = recorded.length === program.probes.length &&
      recorded.every((r, i) =>
        r.name === program.probes[i].name &&
        r.attach.join(",") === this.#names[i]
      );
    const have = new Set<number>();
    if (same) {
      // The program that made the recording: each probe its own events.
      this.#map = recorded.map((_, i) => [i]);
      recorded.forEach((_, i) => have.add(i));
    } else {
      // Another program: every probe on a recorded attach point runs.
      this.#map = recorded.map((rp) => {
        const texts = new Set(rp.attach);
        const out: number[] = [];
        program.probes.forEach((p, i) => {
          if (p.attach.some((a) => texts.has(a.text))) {
            out.push(i);
            have.add(i);
          }
        });
        return out;
      });
    }
    program.probes.forEach((_, i) => {
      if (
        !have.has(i) && !this.#special[i] &&
        this.#rec.header.complete !== false
      ) {
        const list = recorded.flatMap((r) => r.attach).join(", ");
        throw new ReplayError(
          `Cannot replay probe "${
            this.#names[i]
          }": the recording holds no events for it (it recorded ${
            list || "nothing"
          })`,
        );
      }
    });
  }

  #peek(): RecordedEvent | undefined {
    if (this.#head !== undefined) return this.#head;
    if (this.#done) return undefined;
    const e = this.#iter.next();
    if (e === undefined) {
      this.#done = true;
      return undefined;
    }
    this.#head = e;
    if (Number.isNaN(this.#firstNs) && e.probe !== MARK_PROBE) {
      this.#firstNs = e.timeNs;
    }
    return e;
  }

  /** The next recorded run due before `endNs` (engine ns). */
  next(endNs: number): FedEvent | undefined {
    if (this.error !== undefined) return undefined;
    if (this.#fanAt < this.#fan.length) {
      const e = this.#cur!;
      const probe = this.#fan[this.#fanAt++];
      this.#set(e, probe);
      return { probe, ctx: this.#ctx(e, probe), timeNs: this.#fanNs };
    }
    for (;;) {
      const e = this.#peek();
      if (e === undefined) return undefined;
      if (e.probe === MARK_PROBE) {
        if (this.holdAtMarks && this.marked) return undefined;
        this.#head = undefined;
        continue;
      }
      const probes = this.#map[e.probe] ?? NONE;
      const probe = probes.length === 0 ? -1 : probes[0];
      if (probe < 0 || this.#special[probe]) {
        // END waits for runSpecial; BEGIN ran already; others are skipped.
        if (probe >= 0 && this.#names[probe] === "END") return undefined;
        this.#head = undefined;
        continue;
      }
      const t = e.timeNs - this.#firstNs;
      if (t >= endNs) return undefined;
      this.#head = undefined;
      this.#set(e, probe);
      this.#events++;
      this.#fan = probes;
      this.#fanAt = 1;
      this.#fanNs = t;
      return { probe, ctx: this.#ctx(e, probe), timeNs: t };
    }
  }

  /**
   * The wall-clock ns of the tick mark the runs stopped at, if they did
   * (see {@linkcode holdAtMarks}).
   */
  atMark(): bigint | undefined {
    if (!this.holdAtMarks || !this.marked) return undefined;
    const e = this.#peek();
    return e?.probe === MARK_PROBE
      ? e.calls.find((c) => c.helper === TICK_WALL)?.r0 ?? 0n
      : undefined;
  }

  /** Goes past the tick mark the runs stopped at. */
  releaseMark(): void {
    if (this.#peek()?.probe === MARK_PROBE) this.#head = undefined;
  }

  /** Whether every recorded run has been fed. */
  get exhausted(): boolean {
    return this.#peek() === undefined;
  }

  /** Makes BEGIN/END probe `probe`'s recorded run current. */
  special(probe: number): Uint8Array | undefined {
    if (this.#names[probe] === "END") this.#ended = true;
    for (;;) {
      const e = this.#peek();
      if (e === undefined) break;
      this.#head = undefined;
      if (this.#map[e.probe]?.includes(probe)) {
        this.#set(e, probe);
        this.#events++;
        return this.#ctx(e, probe);
      }
      if (this.#names[probe] === "BEGIN") {
        this.#head = e; // BEGIN comes first or not at all
        break;
      }
    }
    const blank: RecordedEvent = {
      probe: -1,
      cpu: 0,
      timeNs: Number.isNaN(this.#firstNs) ? 0 : this.#firstNs,
      pid: 0,
      tid: 0,
      uid: 0,
      gid: 0,
      cgroupId: 0n,
      comm: new Uint8Array(16),
      flags: 0,
      ctx: EMPTY,
      calls: [],
    };
    this.#set(blank, probe);
    return EMPTY;
  }

  #ctx(e: RecordedEvent, probe: number): Uint8Array {
    const need = this.#ctxSize[probe] ?? 0;
    if (e.ctx.length >= need) return e.ctx;
    const out = new Uint8Array(need);
    out.set(e.ctx);
    return out;
  }

  #set(e: RecordedEvent, probe: number): void {
    const env = this.env;
    env.pid = e.pid;
    env.tid = e.tid;
    env.uid = e.uid;
    env.gid = e.gid;
    env.cpu = e.cpu < this.numCpus ? e.cpu : 0;
    env.cgroupId = e.cgroupId;
    env.commBytes = e.comm;
    env.time = e.timeNs;
    this.#cur = e;
    this.#curProbe = probe;
    this.#pos = 0;
  }

  /** The next recorded call of `helper` in this run. */
  #take(helper: number): RecordedCall | undefined {
    const calls = this.#cur?.calls;
    if (calls === undefined) return undefined;
    for (let k = this.#pos; k < calls.length; k++) {
      const c = calls[k];
      if (!c.capture && c.helper === helper) {
        this.#pos = k + 1;
        return c;
      }
    }
    return undefined;
  }

  /** The id of the event's given stack of a kind; undefined: none given. */
  #givenStack(user: boolean): bigint | undefined {
    let any = false;
    for (const c of this.#cur?.calls ?? NO_CALLS) {
      if (!c.capture || c.helper !== 27) continue;
      any = true;
      if ((c.r0 & 1n) === (user ? 1n : 0n)) return c.r0;
    }
    return any ? -14n : undefined;
  }

  #miss(m: Machine, what: string): never {
    const probe = this.#names[this.#curProbe] ?? "?";
    const err = new ReplayError(
      `Cannot replay probe "${probe}": it ${what}, which the recording does not hold; record with this program (--record FILE) to replay it`,
    );
    if (this.error === undefined) {
      this.error = err;
      this.#rec.onReplayError?.(err);
    }
    throw m.fault(err.message);
  }

  #makeHelpers(): Map<number, HelperFn> {
    const h = new Map<number, HelperFn>();
    for (const id of RESULT_HELPERS) {
      const name = HELPER_NAMES.get(id) ?? `helper ${id}`;
      h.set(id, (m, _1l, _1h, _2l, _2h, a3l) => {
        const c = this.#take(id);
        if (c !== undefined) return fromBigInt(c.r0);
        // Events written with their stacks (the testing API): the stack
        // of the kind asked (BPF_F_USER_STACK), or -EFAULT without one.
        if (id === 27) {
          const got = this.#givenStack((a3l & 0x100) !== 0);
          if (got !== undefined) return fromBigInt(got);
        }
        // Clocks read the run's time when no reading was recorded.
        if (id === 5 || id === 125) return fromBigInt(BigInt(this.env.time));
        // CLOCK_TAI: the recorded boot time plus the run's time.
        if (id === 208) {
          return fromBigInt(
            BigInt(this.#rec.header.bootTimeNs) + BigInt(this.env.time),
          );
        }
        return this.#miss(m, `calls ${name}`);
      });
    }
    // Task facts a file lacks (perf.data has no uid, gid or cgroup).
    const facts = this.#rec.header.facts;
    if (facts !== undefined) {
      if (!facts.includes("uid")) {
        h.set(15, (m) => this.#miss(m, "calls get_current_uid_gid (uid, gid)"));
      }
      if (!facts.includes("cgroup")) {
        h.set(80, (m) => this.#miss(m, "calls get_current_cgroup_id"));
      }
    }
    // Outputs: note when each entered the live ring (see drain()).
    const reserve = HELPERS.get(131)!;
    h.set(131, (m, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h) => {
      const lo = reserve(m, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h);
      const high = hi.v;
      const c = this.#take(131);
      const at = this.#take(RING_POSITION);
      if (high !== 0) {
        const out = {
          time: this.#outputTime(c),
          pos: at === undefined ? undefined : Number(at.r0),
          dropped: false,
        };
        this.#outputs.push(out);
        const rec = m.objs[(high - TAG) >>> 0] as { bytes: Uint8Array };
        this.#reserved.set(rec.bytes, out);
      }
      hi.v = high;
      return lo;
    });
    const output = HELPERS.get(130)!;
    h.set(130, (m, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h) => {
      const lo = output(m, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h);
      const high = hi.v;
      const c = this.#take(130);
      if (lo === 0) {
        this.#outputs.push({ time: this.#outputTime(c), dropped: false });
      }
      hi.v = high;
      return lo;
    });
    const discard = HELPERS.get(133)!;
    h.set(133, (m, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h) => {
      const id = (a1h - TAG) >>> 0;
      const rec = id < m.n ? m.objs[id] as { bytes?: Uint8Array } : undefined;
      const out = rec?.bytes === undefined
        ? undefined
        : this.#reserved.get(rec.bytes);
      if (out !== undefined) out.dropped = true;
      return discard(m, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h);
    });
    h.set(16, (m, bl, bh, nl, nh) => {
      const n = nh === 0 && nl >= 0 ? nl : 0x7fffffff;
      const d = m.region(bl, bh, n, true);
      const src = this.env.commBytes;
      const buf = m.bufs[d];
      const k = Math.min(n, 16);
      for (let i = 0; i < k; i++) buf[bl + i] = src[i];
      if (n > 16) buf.fill(0, bl + 16, bl + n);
      else if (n > 0) buf[bl + n - 1] = 0;
      return ret(0);
    });
    for (const [id, w] of WRITING_HELPERS) {
      if (id === 16) continue;
      const name = HELPER_NAMES.get(id) ?? `helper ${id}`;
      const builtin = HELPERS.get(id)!;
      h.set(id, (m, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h) => {
        const regs = [0, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h];
        const dl = regs[w.dst * 2 - 1], dh = regs[w.dst * 2];
        const nl = regs[w.size * 2 - 1], nh = regs[w.size * 2];
        const n = nh === 0 && nl >= 0 ? nl : 0x7fffffff;
        const c = this.#take(id);
        if (c !== undefined && c.bytes !== undefined && c.bytes.length === n) {
          const d = m.region(dl, dh, n, true);
          m.bufs[d].set(c.bytes, dl);
          return fromBigInt(c.r0);
        }
        if (w.src === undefined) return this.#miss(m, `calls ${name}`);
        const sl = regs[w.src * 2 - 1], sh = regs[w.src * 2];
        // Reads of the context (or any region) need no recording.
        if (((sh - TAG) >>> 0) < m.n) {
          return builtin(m, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h);
        }
        const addr = toBigU(sl, sh);
        const got = this.#lookup(addr, n, w.str === true);
        if (got === undefined) {
          return this.#miss(
            m,
            `reads ${n} bytes at 0x${addr.toString(16)} (${name})`,
          );
        }
        const d = m.region(dl, dh, n, true);
        m.bufs[d].fill(0, dl, dl + n);
        m.bufs[d].set(got.subarray(0, n), dl);
        return ret(w.str ? got.length : 0);
      });
    }
    return h;
  }

  /** When an output entered the live ring: recorded, else the run's time. */
  #outputTime(c: RecordedCall | undefined): number {
    return c === undefined ? this.env.time : Number(c.r0);
  }

  /**
   * Hands the ring's records on in the order they reached the live ring:
   * by the time the tap noted for each output. Runs replay in the order
   * their records arrived (at exit), so two CPUs' outputs may need
   * swapping: outputs wait until every run that could precede them has
   * run (runs entered 1 ms before the next recorded run), and all go once
   * the recording is over or END ran.
   */
  drain(ring: RingBufMap, onEvent: (record: Uint8Array) => void): number {
    ring.drain((bytes) => {
      let out = this.#outputs.shift();
      while (out?.dropped) out = this.#outputs.shift();
      this.#held.push({
        time: out?.time ?? this.env.time,
        pos: out?.pos,
        seq: this.#seq++,
        bytes,
      });
    });
    const held = this.#held;
    if (held.length === 0) return 0;
    const size = this.#ringSize;
    if (size > 0 && held.every((h) => h.pos !== undefined)) {
      // Ring order: by the distance from the last output handed on (or
      // the earliest held), modulo the ring's size, as a signed number.
      const ref = this.#lastPos ??
        held.reduce((a, b) => (b.time < a.time ? b : a)).pos!;
      const dist = (p: number) => {
        const d = (p - ref) % size;
        const u = d < 0 ? d + size : d;
        return u >= size / 2 ? u - size : u;
      };
      held.sort((a, b) => dist(a.pos!) - dist(b.pos!) || a.seq - b.seq);
    } else held.sort((a, b) => a.time - b.time || a.seq - b.seq);
    const head = this.#ended || this.#names.length === 0
      ? undefined
      : this.#peek();
    const limit = head === undefined ? Infinity : head.timeNs - 1e6;
    let n = 0;
    try {
      while (n < held.length && held[n].time < limit) {
        this.#handing = held[n].time;
        if (held[n].pos !== undefined) this.#lastPos = held[n].pos;
        onEvent(held[n++].bytes);
      }
    } finally {
      this.#handing = undefined;
    }
    held.splice(0, n);
    return n;
  }

  /**
   * The recorded machine's wall clock at engine time `engineNs`: its boot
   * time plus the recorded monotonic time (while an output is handed on,
   * the time it entered the live ring), so that interval headers, `time()`
   * and the like print the recorded time.
   */
  wallClockNs(engineNs: number): bigint {
    const mark = this.atMark();
    if (mark !== undefined) return mark;
    const first = Number.isNaN(this.#firstNs) ? 0 : this.#firstNs;
    const t = this.#handing ?? first + engineNs;
    return BigInt(this.#rec.header.bootTimeNs) + BigInt(Math.round(t));
  }

  /** Recorded bytes at `addr`: a whole read, or a string (with its NUL). */
  #lookup(addr: bigint, n: number, str: boolean): Uint8Array | undefined {
    for (const c of this.#cur?.calls ?? []) {
      const b = c.bytes;
      if (b === undefined || c.addr === 0n || addr < c.addr) continue;
      const off = Number(addr - c.addr);
      const isStr = WRITING_HELPERS.get(c.helper)?.str === true;
      const r0 = Number(BigInt.asIntN(64, c.r0));
      if (isStr) {
        if (r0 <= 0) continue;
        // A string read holds r0 bytes of memory, its NUL last.
        if (off >= r0) continue;
        const s = b.subarray(off, r0);
        if (str) {
          const out = s.slice(0, Math.min(s.length, n));
          if (out.length > 0) out[out.length - 1] = 0;
          return out;
        }
        if (s.length >= n) return s.subarray(0, n);
        continue;
      }
      if (r0 !== 0) continue;
      if (off + n <= b.length) {
        if (!str) return b.subarray(off, off + n);
        const s = b.subarray(off);
        const nul = s.indexOf(0);
        if (nul >= 0 && nul < n) return s.subarray(0, nul + 1);
      }
    }
    return undefined;
  }

  /** Names from the recording's symbol table; hex for unknown addresses. */
  symbols(): SymbolResolver {
    const s = this.#rec.symbols;
    const hex = (a: bigint) => a.toString(16);
    const boot = BigInt(this.#rec.header.bootTimeNs);
    return {
      ksym: (a) => s.ksym[hex(a)] ?? `0x${hex(a)}`,
      usym: (a, pid) => s.usym[`${pid ?? ""}:${hex(a)}`] ?? `0x${hex(a)}`,
      // Keys with map "*": stacks given with events (the testing API).
      stack: (map, id, kernel, pid) =>
        s.stack[`${map}:${id}:${kernel ? 1 : 0}:${pid ?? ""}`] ??
          s.stack[`*:${id}:${kernel ? 1 : 0}:${pid ?? ""}`] ?? [],
      stackAddresses: (map, id) =>
        (s.stackAddresses[`${map}:${id}`] ?? s.stackAddresses[`*:${id}`] ??
          []).map((x) => BigInt(`0x${x}`)),
      userModule: (a, pid) =>
        s.userModule[`${pid ?? ""}:${hex(a)}`] ?? undefined,
      username: (uid) => s.username[String(uid)] ?? "",
      bootTimeNs: () => boot,
    };
  }
}
