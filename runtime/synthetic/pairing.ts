/**
 * Entry/return pairing: when both the entry and the return of the same
 * thing are traced (`sys_enter_read` and `sys_exit_read`, `kprobe:f` and
 * `kretprobe:f`, `uprobe` and `uretprobe`), every return event follows an
 * entry event of the same thread after a plausible latency, so latency
 * scripts (`@start[tid] = nsecs` … `nsecs - @start[tid]`) see real
 * distributions.
 *
 * A thread is in at most one call of a pair at a time (and in at most one
 * syscall at a time, over every traced syscall): an entry on a thread whose
 * return is still pending first delivers that return, just before the new
 * entry, as a thread that calls a function in a loop does.
 *
 * @module
 */

import type { AttachPoint } from "../program.ts";
import type { Prng } from "./prng.ts";
import type { SyntheticThread } from "./processes.ts";

/** A return event owed to a thread. */
export interface PendingReturn {
  /** Virtual ns when it fires. */
  time: number;
  /** Tie-breaker: order of the entries (a hurried return goes first). */
  seq: number;
  /** Virtual ns of the entry. */
  start: number;
  thread: SyntheticThread;
  cpu: number;
  /** What was entered: a syscall name, or the probed function. */
  what: string;
  /** Field values the return record repeats (block dev, sector, ...). */
  values?: number[];
  /** Arguments the return repeats (the object pointer of a kprobe pair). */
  args?: bigint[];
}

/**
 * Return events waiting to fire, earliest first (a binary heap).
 *
 * @example Usage
 * ```ts
 * import { ReturnQueue } from "./pairing.ts";
 * import { ProcessTable } from "./processes.ts";
 * import { Prng } from "./prng.ts";
 * const t = new ProcessTable(new Prng(1), 1).threads[0];
 * const q = new ReturnQueue();
 * q.push(20, t, 0, "read");
 * q.push(10, t, 0, "write");
 * console.assert(q.peekTime() === 10 && q.pop()?.what === "write");
 * ```
 */
export class ReturnQueue {
  readonly #heap: PendingReturn[] = [];
  #seq = 0;
  /** Objects of kprobe pairs between start and end (no two alike). */
  readonly objects: Set<bigint> = new Set();
  /** Per thread, its pending return (pairs where a thread is in one call). */
  readonly #byThread?: Map<SyntheticThread, PendingReturn>;

  /**
   * @param perThread Track each thread's pending return
   * ({@linkcode ReturnQueue.pendingOf}); a thread then has at most one.
   */
  constructor(perThread = false) {
    if (perThread) this.#byThread = new Map();
  }

  /** Number of returns waiting. */
  get size(): number {
    return this.#heap.length;
  }

  /** Time of the earliest return, or Infinity. */
  peekTime(): number {
    return this.#heap.length === 0 ? Infinity : this.#heap[0].time;
  }

  /** The earliest return, without removing it. */
  peek(): PendingReturn | undefined {
    return this.#heap[0];
  }

  /** The pending return of `thread` (per-thread queues only). */
  pendingOf(thread: SyntheticThread): PendingReturn | undefined {
    return this.#byThread?.get(thread);
  }

  /**
   * Queues a return of an entry at `start` (default: `time`); in a
   * per-thread queue it replaces the thread's pending one, if any, as the
   * thread's (hurry that one first).
   */
  push(
    time: number,
    thread: SyntheticThread,
    cpu: number,
    what: string,
    values?: number[],
    start: number = time,
  ): PendingReturn {
    const item: PendingReturn = {
      time,
      seq: this.#seq++,
      start,
      thread,
      cpu,
      what,
    };
    if (values !== undefined) item.values = values;
    this.#byThread?.set(thread, item);
    this.#up(this.#heap.length, item);
    return item;
  }

  /**
   * Moves `item` (pending here) to `time`, ahead of every return due at or
   * after it: the entry's thread returns now, before it enters again.
   */
  hurry(item: PendingReturn, time: number): void {
    const h = this.#heap;
    const i = h.indexOf(item);
    if (i < 0) return;
    item.time = time;
    // Ahead of ties; an earlier hurried return has fired already.
    item.seq = -1;
    this.#up(i, item);
  }

  #up(i: number, item: PendingReturn): void {
    const h = this.#heap;
    if (i === h.length) h.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(item, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = item;
  }

  /** Removes and returns the earliest return. */
  pop(): PendingReturn | undefined {
    const h = this.#heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const byThread = this.#byThread;
    if (byThread !== undefined && byThread.get(top.thread) === top) {
      byThread.delete(top.thread);
    }
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = -1;
        if (l < n && before(h[l], last)) m = l;
        if (r < n && before(h[r], m < 0 ? last : h[m])) m = r;
        if (m < 0) break;
        h[i] = h[m];
        i = m;
      }
      h[i] = last;
    }
    return top;
  }

  /** Drops every pending return. */
  clear(): void {
    this.#heap.length = 0;
    this.#byThread?.clear();
    this.objects.clear();
  }
}

/**
 * Tracepoint pairs besides syscalls: which entries feed which return, the
 * fields the return repeats, and whose context the return runs in
 * (`any`: whichever task is current; `handoff`: the entry's "other" task —
 * the woken one — becomes `next`).
 */
export const TRACEPOINT_PAIRS: readonly {
  entries: readonly string[];
  ret: string;
  copy: readonly string[];
  mode: "any" | "handoff";
  latency: string;
}[] = [
  {
    entries: ["block:block_rq_issue", "block:block_rq_insert"],
    ret: "block:block_rq_complete",
    copy: ["dev", "sector", "nr_sector"],
    mode: "any",
    latency: "block-io",
  },
  {
    entries: [
      "sched:sched_wakeup",
      "sched:sched_wakeup_new",
      "sched:sched_waking",
    ],
    ret: "sched:sched_switch",
    copy: [],
    mode: "handoff",
    latency: "run-queue",
  },
  {
    entries: ["writeback:writeback_start"],
    ret: "writeback:writeback_written",
    copy: ["name", "sb_dev", "reason"],
    mode: "any",
    latency: "writeback",
  },
];

/**
 * Kernel functions called at the start and at the end of the life of one
 * object (a block request): the end's kprobe sees the pointer a start's
 * kprobe saw, after a plausible latency, in whatever task is current.
 */
export const KPROBE_PAIRS: readonly {
  entries: readonly string[];
  ends: readonly string[];
  /** The arguments (by index) the end repeats. */
  args: readonly number[];
  /** Their struct types, for a kernel without the function's BTF. */
  types: readonly string[];
  latency: string;
}[] = [
  {
    entries: ["blk_account_io_start", "__blk_account_io_start"],
    // Accounted, then issued (biostacks) or completed (biosnoop).
    ends: [
      "blk_start_request",
      "blk_mq_start_request",
      "blk_account_io_done",
      "__blk_account_io_done",
      "blk_mq_end_request",
    ],
    args: [0],
    types: ["struct request"],
    latency: "block-io",
  },
];

/** The kprobe pair a kprobe's function starts or ends, if any. */
export function kprobePair(
  ap: AttachPoint,
): (typeof KPROBE_PAIRS)[number] | undefined {
  if (ap.kind !== "kprobe") return undefined;
  return KPROBE_PAIRS.find((p) =>
    p.entries.includes(ap.target) || p.ends.includes(ap.target)
  );
}

function before(a: PendingReturn, b: PendingReturn): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/**
 * The attach-point text of the return that pairs with entry `ap`, or
 * undefined when `ap` is not an entry.
 *
 * @example Usage
 * ```ts
 * import { returnOf } from "./pairing.ts";
 * console.assert(returnOf({ kind: "tracepoint", target: "syscalls:sys_enter_read", text: "" }) === "tracepoint:syscalls:sys_exit_read");
 * console.assert(returnOf({ kind: "kprobe", target: "vfs_read", text: "" }) === "kretprobe:vfs_read");
 * ```
 */
export function returnOf(ap: AttachPoint): string | undefined {
  switch (ap.kind) {
    case "tracepoint": {
      if (ap.target === "raw_syscalls:sys_enter") {
        return "tracepoint:raw_syscalls:sys_exit";
      }
      const m = /^syscalls:sys_enter_(.+)$/.exec(ap.target);
      if (m !== null) return `tracepoint:syscalls:sys_exit_${m[1]}`;
      for (const p of TRACEPOINT_PAIRS) {
        if (p.entries.includes(ap.target)) return `tracepoint:${p.ret}`;
      }
      return undefined;
    }
    case "kprobe": {
      const p = kprobePair(ap);
      if (p?.entries.includes(ap.target)) return `kpair:${p.latency}`;
      return p === undefined ? `kretprobe:${ap.target}` : undefined;
    }
    case "uprobe":
      return `uretprobe:${ap.target}:${ap.symbol ?? ""}`;
  }
  return undefined;
}

/** The pairing key of a return attach point (matches {@linkcode returnOf}). */
export function returnKey(ap: AttachPoint): string | undefined {
  switch (ap.kind) {
    case "tracepoint":
      return ap.target === "raw_syscalls:sys_exit" ||
          ap.target.startsWith("syscalls:sys_exit_") ||
          TRACEPOINT_PAIRS.some((p) => p.ret === ap.target)
        ? `tracepoint:${ap.target}`
        : undefined;
    case "kretprobe":
      return `kretprobe:${ap.target}`;
    case "kprobe": {
      const p = kprobePair(ap);
      return p?.ends.includes(ap.target) ? `kpair:${p.latency}` : undefined;
    }
    case "uretprobe":
      return `uretprobe:${ap.target}:${ap.symbol ?? ""}`;
  }
  return undefined;
}

/**
 * Where a thread can be in one call at a time, for return attach point
 * `ap`: every traced syscall shares one (`"syscalls"`), raw syscalls
 * another, each probed function its own; undefined for pairs whose
 * returns run in another task (block I/O completions, wakeups), which may
 * overlap.
 *
 * @example Usage
 * ```ts
 * import { pairDomain } from "./pairing.ts";
 * console.assert(pairDomain({ kind: "tracepoint", target: "syscalls:sys_exit_read", text: "" }) === "syscalls");
 * console.assert(pairDomain({ kind: "tracepoint", target: "block:block_rq_complete", text: "" }) === undefined);
 * ```
 */
export function pairDomain(ap: AttachPoint): string | undefined {
  if (ap.kind === "kprobe") return undefined;
  if (ap.kind === "tracepoint") {
    if (ap.target.startsWith("syscalls:sys_exit_")) return "syscalls";
    if (ap.target === "raw_syscalls:sys_exit") return "raw_syscalls";
    return undefined;
  }
  return returnKey(ap);
}

function logUniform(rng: Prng, lo: number, hi: number): number {
  return Math.round(lo * Math.exp(rng.float() * Math.log(hi / lo)));
}

/**
 * How long (virtual ns) `what` (a syscall or function name) takes:
 * blocking waits are long, file and socket I/O mostly short with a slow
 * tail.
 *
 * @example Usage
 * ```ts
 * import { latencyNs } from "./pairing.ts";
 * import { Prng } from "./prng.ts";
 * const ns = latencyNs("read", new Prng(1), false);
 * console.assert(ns >= 300 && ns <= 50_000_000);
 * ```
 */
export function latencyNs(what: string, rng: Prng, user: boolean): number {
  if (user) return logUniform(rng, 20_000, 2_000_000_000);
  if (what === "block-io") {
    return rng.float() < 0.7
      ? logUniform(rng, 40_000, 400_000)
      : logUniform(rng, 1_000_000, 30_000_000);
  }
  if (what === "writeback") return logUniform(rng, 200_000, 200_000_000);
  if (what === "run-queue") {
    return rng.float() < 0.9
      ? logUniform(rng, 1_000, 60_000)
      : logUniform(rng, 100_000, 8_000_000);
  }
  if (/epoll|poll|select|sleep|pause|wait4|accept/.test(what)) {
    return logUniform(rng, 50_000, 1_000_000_000);
  }
  if (/futex/.test(what)) {
    return rng.float() < 0.5
      ? logUniform(rng, 1_000, 10_000)
      : logUniform(rng, 100_000, 100_000_000);
  }
  if (/read|recv|write|send|sync/.test(what)) {
    return rng.float() < 0.9
      ? logUniform(rng, 300, 50_000)
      : logUniform(rng, 100_000, 50_000_000);
  }
  if (/open|stat|access|unlink|rename|mkdir|getdents/.test(what)) {
    return logUniform(rng, 1_000, 200_000);
  }
  return logUniform(rng, 300, 20_000);
}
