/**
 * The base of every synthetic event source: where it stands on the virtual
 * clock, when it fires next, the task it fires with, and its entry/return
 * pairing. The sources per provider extend it (`sources.ts`,
 * `regs_source.ts`, `perf_source.ts`, `usdt_source.ts`).
 *
 * @module
 */

import type { AttachPoint } from "../program.ts";
import type { SyntheticThread } from "./processes.ts";
import type { World } from "./world.ts";
import { latencyNs, type ReturnQueue } from "./pairing.ts";

/**
 * Where an event source stands on the virtual clock. Subclasses fill the
 * context and the world's env in `fire()`.
 */
export abstract class EventSource {
  /** The attach point it serves. */
  readonly attach: AttachPoint;
  /** Index of the probe program to run. */
  readonly probe: number;
  /** The context buffer handed to the program. */
  readonly ctx: Uint8Array;
  /** A view of `ctx`. */
  readonly view: DataView;
  /** Virtual ns between slots. */
  readonly periodNs: number;
  /** Whether events fall at random inside their slot. */
  readonly jitter: boolean;
  /**
   * Without jitter, where in its slot an event falls, as a fraction of the
   * period: 1 for `interval` (first event one period after attach), 0.5
   * for per-CPU timers.
   */
  readonly phase: number;
  /** Virtual ns of the next event (Infinity: never). */
  next = Infinity;
  /** Position among the engine's sources. */
  id = -1;
  /** The paired return source this entry feeds, if any. */
  returns?: EventSource;
  /** Pending returns, when this source is the return of a pair. */
  queue?: ReturnQueue;
  /**
   * For a return source whose threads are in one call at a time: per
   * thread in a call, the return source it will return through (shared by
   * the pairs of one domain, e.g. every traced syscall).
   */
  inFlight?: Map<SyntheticThread, EventSource>;
  /**
   * Set by `fire()` of an entry whose thread was still in a call: the
   * return source that must deliver that return first, at `preemptNs`
   * (or the previous event's time, if later).
   */
  preempt?: EventSource;
  /** When the preempted return fires (see {@linkcode preempt}). */
  preemptNs = 0;
  /** Called when `next` of this source changed outside `advance()`. */
  onMove?: (s: EventSource) => void;
  #start = 0;
  #slot = 0;

  constructor(
    attach: AttachPoint,
    probe: number,
    ctxSize: number,
    periodNs: number,
    jitter: boolean,
    phase = 0,
  ) {
    this.attach = attach;
    this.probe = probe;
    this.ctx = new Uint8Array(Math.max(ctxSize, 8));
    this.view = new DataView(this.ctx.buffer);
    this.periodNs = periodNs;
    this.jitter = jitter;
    this.phase = phase;
  }

  /** Starts firing at virtual time `nowNs`. */
  start(world: World, nowNs: number): void {
    if (this.queue !== undefined) {
      this.next = this.queue.peekTime();
      return;
    }
    this.#start = nowNs;
    this.#slot = 0;
    if (!(this.periodNs > 0 && Number.isFinite(this.periodNs))) {
      this.next = Infinity;
      return;
    }
    this.#schedule(world);
  }

  /** Stops the source. */
  stop(): void {
    this.next = Infinity;
  }

  /** Moves to the next slot. */
  advance(world: World): void {
    const q = this.queue;
    if (q !== undefined) {
      const p = q.pop();
      const f = this.inFlight;
      if (
        f !== undefined && p !== undefined && f.get(p.thread) === this &&
        q.pendingOf(p.thread) === undefined
      ) f.delete(p.thread);
      this.next = q.peekTime();
      return;
    }
    this.#slot++;
    this.#schedule(world);
  }

  #schedule(world: World): void {
    const base = this.#start + this.#slot * this.periodNs;
    this.next = this.jitter
      ? base + Math.floor(world.rng.float() * this.periodNs)
      : base + Math.round(this.phase * this.periodNs);
  }

  /**
   * Prepares the context and the world's env for the event at the current
   * `next` time.
   */
  abstract fire(world: World): void;

  /**
   * Owes the paired return source a return of `what` by task `t`. When
   * `t` is still in a call of the same domain, that call returns first:
   * its return is hurried to just before now and `preempt` set, for the
   * engine to run it before this entry.
   */
  protected owe(
    world: World,
    t: SyntheticThread,
    what: string,
    user: boolean,
    values?: number[],
    args?: bigint[],
  ): void {
    const r = this.returns;
    const q = r?.queue;
    if (r === undefined || q === undefined) return;
    const now = this.next;
    const flight = r.inFlight;
    if (flight !== undefined) {
      const busy = flight.get(t);
      const item = busy?.queue?.pendingOf(t);
      if (busy !== undefined && item !== undefined) {
        // The return comes a moment (the caller's loop) before the entry.
        const gap = Math.min(
          200 + world.rng.below(1800),
          (now - item.start) / 2,
        );
        busy.queue!.hurry(item, now);
        busy.next = now;
        busy.onMove?.(busy);
        this.preempt = busy;
        this.preemptNs = Math.ceil(now - gap);
      }
      flight.set(t, r);
    }
    const item = q.push(
      now + latencyNs(what, world.rng, user),
      t,
      world.env.cpu,
      what,
      values,
      now,
    );
    if (args !== undefined) item.args = args;
    r.next = q.peekTime();
    r.onMove?.(r);
  }
}

/** Writes `x` (below 2^53) as a little-endian u64 at `off`. */
export function writeU64(v: DataView, off: number, x: number): void {
  v.setUint32(off, x >>> 0, true);
  v.setUint32(off + 4, Math.floor(x / 4294967296) >>> 0, true);
}
