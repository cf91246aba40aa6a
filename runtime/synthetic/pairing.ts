/**
 * Entry/return pairing: when both the entry and the return of the same
 * thing are traced (`sys_enter_read` and `sys_exit_read`, `kprobe:f` and
 * `kretprobe:f`, `uprobe` and `uretprobe`), every return event follows an
 * entry event of the same thread after a plausible latency, so latency
 * scripts (`@start[tid] = nsecs` … `nsecs - @start[tid]`) see real
 * distributions.
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
  /** Tie-breaker: order of the entries. */
  seq: number;
  thread: SyntheticThread;
  cpu: number;
  /** What was entered: a syscall name, or the probed function. */
  what: string;
  /** Field values the return record repeats (block dev, sector, ...). */
  values?: number[];
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

  /** Queues a return. */
  push(
    time: number,
    thread: SyntheticThread,
    cpu: number,
    what: string,
    values?: number[],
  ): void {
    const h = this.#heap;
    const item: PendingReturn = { time, seq: this.#seq++, thread, cpu, what };
    if (values !== undefined) item.values = values;
    let i = h.length;
    h.push(item);
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
];

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
    case "kprobe":
      return `kretprobe:${ap.target}`;
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
    case "uretprobe":
      return `uretprobe:${ap.target}:${ap.symbol ?? ""}`;
  }
  return undefined;
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
