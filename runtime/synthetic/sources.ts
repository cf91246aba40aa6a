/**
 * Event sources of the synthetic machine, one per attach point: when each
 * fires (a rate or a period on the virtual clock) and the context (record,
 * `pt_regs`, raw tracepoint args, perf sample) and task it fires with.
 *
 * @module
 */

import type { AttachPoint, ContextLayout, FieldLayout } from "../program.ts";
import { PT_REGS, PT_REGS_ARGS, PT_REGS_SIZE } from "../probes/pt_regs.ts";
import { readTracepointFormat } from "../probes/tracepoint_format.ts";
import { perfEvent } from "../probes/perf_events.ts";
import type { SyntheticThread } from "./processes.ts";
import { KERNEL_CHAINS, kernelCallers } from "./kernel_chains.ts";
import { userCallers } from "./user_chains.ts";
import {
  planRecords,
  POOL_SIZE,
  type RecordPlan,
  writeInt,
} from "./tracepoint_records.ts";
import type { World } from "./world.ts";
import { syscallRet } from "./syscall_values.ts";
import { TcpLives } from "./tcp_lives.ts";
import {
  kprobePair,
  latencyNs,
  type ReturnQueue,
  TRACEPOINT_PAIRS,
} from "./pairing.ts";
import { syscallNumber } from "../probes/syscalls.ts";

/** Byte size of x86_64 `struct pt_regs`. */
export { PT_REGS_SIZE };
const R = PT_REGS;
const ARG_OFFSETS = PT_REGS_ARGS;
const EMPTY: bigint[] = [];

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

/**
 * A tracepoint: records laid out per its format.
 *
 * @example Usage
 * ```ts
 * import { TracepointSource } from "./sources.ts";
 * import { World } from "./world.ts";
 * const w = new World(1, 2);
 * const ap = { kind: "tracepoint" as const, target: "skb:kfree_skb", text: "tracepoint:skb:kfree_skb" };
 * const s = new TracepointSource(w, ap, 0, [], 40, 1000);
 * s.start(w, 0);
 * s.fire(w);
 * console.assert(w.env.kstack.length > 3);
 * ```
 */
export class TracepointSource extends EventSource {
  readonly #plan: RecordPlan;
  readonly #userOnly: boolean;
  readonly #what: string;
  readonly #idOffset: number;
  readonly #retOffset: number;
  /** Pairing as an entry or return of TRACEPOINT_PAIRS, if any. */
  readonly #pair?: (typeof TRACEPOINT_PAIRS)[number];
  /** Offsets and sizes of the fields the pair copies. */
  readonly #copy: { off: number; size: number }[] = [];
  #lastOther?: SyntheticThread;
  /** Whether the "other" task may be the idle task (sched_switch's next). */
  readonly #idleOther: boolean;

  constructor(
    world: World,
    attach: AttachPoint,
    probe: number,
    fields: readonly FieldLayout[],
    ctxSize: number,
    rate: number,
  ) {
    const [cat, name] = splitTarget(attach.target);
    const plan = planRecords(world, cat, name, fields);
    super(attach, probe, Math.max(plan.size, ctxSize), 1e9 / rate, true);
    this.#plan = plan;
    this.#what = /^sys_(?:enter|exit)_(.+)$/.exec(name)?.[1] ?? name;
    this.#idOffset = cat === "raw_syscalls"
      ? (fields.find((f) => f.name === "id")?.offset ?? -1)
      : -1;
    this.#retOffset = fields.find((f) => f.name === "ret")?.offset ?? -1;
    this.#idleOther = /switch/.test(name);
    this.#pair = TRACEPOINT_PAIRS.find((p) =>
      p.ret === attach.target || p.entries.includes(attach.target)
    );
    for (const name of this.#pair?.copy ?? []) {
      const f = fields.find((x) => x.name === name);
      this.#copy.push(
        f === undefined
          ? { off: -1, size: 0 }
          : { off: f.offset, size: f.size },
      );
    }
    this.#userOnly = cat === "syscalls" || cat === "raw_syscalls" ||
      (cat === "sched" && /process_(exec|fork)/.test(name));
  }

  fire(world: World): void {
    if (this.queue !== undefined) return this.#fireReturn(world, this.queue);
    const plan = this.#plan;
    const rng = world.rng;
    const r = rng.next();
    const idx = r & (POOL_SIZE - 1);
    const forced = plan.threads[idx];
    const t = forced ??
      (this.#userOnly ? world.pickUserThread() : world.pickThread());
    const cpu = world.cpuFor(t, r >>> 8);
    const ctx = this.ctx;
    ctx.set(plan.templates[idx]);
    if (plan.pidOffset >= 0) this.view.setInt32(plan.pidOffset, t.tid, true);
    const ws = plan.writers;
    if (ws.length > 0) {
      const r2 = rng.next();
      const o = plan.needsOther
        ? otherThread(world, t, cpu, r2, this.#idleOther)
        : t;
      this.#lastOther = o;
      for (let i = 0; i < ws.length; i++) ws[i](this.view, ctx, t, o, r2);
    }
    const env = world.env;
    env.set(t, cpu, world.baseNs + this.next);
    env.kstack = plan.stackFor !== undefined
      ? plan.stackFor(t, r >>> 16)
      : plan.kstacks[idx];
    env.ustack = world.userStackFor(t, r >>> 20);
    env.funcIp = 0n;
    if (this.returns !== undefined) {
      const pair = this.#pair;
      if (pair === undefined) {
        this.owe(world, t, plan.syscalls?.[idx] ?? this.#what, false);
      } else {
        const vals = this.#copy.map((c) =>
          c.off < 0 ? 0 : readUint(this.view, c.off, c.size)
        );
        const who = pair.mode === "handoff" ? (this.#lastOther ?? t) : t;
        this.owe(world, who, pair.latency, false, vals);
      }
    }
  }

  #fireReturn(world: World, queue: ReturnQueue): void {
    const p = queue.peek()!;
    const plan = this.#plan;
    const rng = world.rng;
    const r = rng.next();
    const idx = r & (POOL_SIZE - 1);
    const pair = this.#pair;
    // The entry's task returns; a completion or a switch runs in whatever
    // task is current (the woken task becomes `next`).
    const t = pair === undefined ? p.thread : world.pickThread();
    this.ctx.set(plan.templates[idx]);
    const v = this.view;
    if (plan.pidOffset >= 0) v.setInt32(plan.pidOffset, t.tid, true);
    const ws = plan.writers;
    if (ws.length > 0) {
      const r2 = rng.next();
      const o = pair?.mode === "handoff" ? p.thread : t;
      for (let i = 0; i < ws.length; i++) ws[i](v, this.ctx, t, o, r2);
    }
    if (p.values !== undefined) {
      const copy = this.#copy;
      for (let i = 0; i < copy.length; i++) {
        if (copy[i].off >= 0) {
          writeInt(v, copy[i].off, copy[i].size, p.values[i]);
        }
      }
    }
    if (this.#idOffset >= 0) {
      writeInt(v, this.#idOffset, 8, syscallNumber(p.what) ?? 0);
      if (this.#retOffset >= 0) {
        writeInt(v, this.#retOffset, 8, syscallRet(p.what, rng, world));
      }
    }
    const env = world.env;
    env.set(
      t,
      pair === undefined ? p.cpu : world.cpuFor(t, r >>> 8),
      world.baseNs + this.next,
    );
    env.kstack = plan.stackFor !== undefined
      ? plan.stackFor(t, r >>> 16)
      : plan.kstacks[idx];
    env.ustack = world.userStackFor(t, r >>> 20);
    env.funcIp = 0n;
  }
}

function readUint(v: DataView, off: number, size: number): number {
  switch (size) {
    case 1:
      return v.getUint8(off);
    case 2:
      return v.getUint16(off, true);
    case 4:
      return v.getUint32(off, true);
  }
  return v.getUint32(off, true) + v.getUint32(off + 4, true) * 4294967296;
}

function otherThread(
  world: World,
  t: SyntheticThread,
  cpu: number,
  r: number,
  idle: boolean,
): SyntheticThread {
  if (idle && !world.pidFilter && (r & 0xff) < 60) return world.procs.idle[cpu];
  return world.procs.other(r, t);
}

function splitTarget(target: string): [string, string] {
  const i = target.indexOf(":");
  return i < 0 ? ["", target] : [target.slice(0, i), target.slice(i + 1)];
}

/**
 * kprobe/kretprobe/uprobe/uretprobe: x86_64 `pt_regs` with arguments.
 *
 * @example Usage
 * ```ts
 * import { RegsSource } from "./sources.ts";
 * import { World } from "./world.ts";
 * const w = new World(1, 2);
 * const ap = { kind: "uprobe" as const, target: "/usr/bin/bash", symbol: "readline", text: "uprobe:/usr/bin/bash:readline" };
 * const s = new RegsSource(w, ap, 0, 168, 1000);
 * s.start(w, 0);
 * s.fire(w);
 * console.assert(w.env.comm === "bash");
 * ```
 */
export class RegsSource extends EventSource {
  readonly #templates: Uint8Array[] = [];
  readonly #kernel: boolean;
  readonly #ret: boolean;
  /**
   * `ip` of the context and `bpf_get_func_ip`: the probed address at an
   * entry, the return address (inside the caller) at a return.
   */
  readonly #ip: bigint;
  readonly #kstack: bigint[];
  readonly #ustacks: bigint[][];
  readonly #threads: SyntheticThread[];
  readonly #sym: string;
  /** Connections changing state, for `tcp_set_state`. */
  readonly #tcp?: TcpLives;
  /** The object-life pair (start/end kprobes) this function is in. */
  readonly #pair?: ReturnType<typeof kprobePair>;

  constructor(
    world: World,
    attach: AttachPoint,
    probe: number,
    ctxSize: number,
    rate: number,
  ) {
    super(attach, probe, Math.max(ctxSize, PT_REGS_SIZE), 1e9 / rate, true);
    const kind = attach.kind;
    this.#kernel = kind === "kprobe" || kind === "kretprobe";
    this.#ret = kind === "kretprobe" || kind === "uretprobe";
    const sym = this.#kernel ? attach.target : (attach.symbol ?? "main");
    this.#sym = sym;
    this.#pair = kprobePair(attach);
    if (kind === "kprobe" && sym === "tcp_set_state") {
      this.#tcp = new TcpLives(world.heap);
    }
    const rng = world.rng;
    const off = attach.offset ?? 0;
    // The stack at an entry starts at the probed address; at a return, at
    // the return address in the caller.
    let stack: bigint[];
    let entry: bigint;
    if (this.#kernel) {
      entry = world.symbols.kernelAddress(sym) + BigInt(off);
      const callers = world.symbols.kernelChain([sym, ...kernelCallers(sym)])
        .slice(1);
      stack = this.#ret ? callers : [entry, ...callers];
      this.#kstack = stack;
      this.#ustacks = [];
    } else {
      entry = BigInt(world.symbols.userAddress(sym) + off);
      const callers = world.symbols.userChain([sym, ...userCallers(sym)])
        .slice(1);
      stack = this.#ret ? callers : [entry, ...callers];
      this.#kstack = EMPTY;
      this.#ustacks = [stack];
      // Every program has a main: the process's executable names it.
      if (sym !== "main" && sym !== "_start") {
        world.symbols.setUserModule(sym, attach.target);
      }
    }
    this.#ip = stack[0] ?? entry;
    // Threads that run this code.
    const base = attach.target.split("/").pop() ?? "";
    let threads = world.procs.eligible.filter((t) =>
      t.exe === attach.target ||
      (base !== "" && (t.comm === base || t.exe.endsWith("/" + base)))
    );
    if (threads.length === 0) {
      threads = world.procs.eligible.filter((t) =>
        this.#kernel || t.kind !== "kernel"
      );
      if (threads.length === 0) threads = [...world.procs.eligible];
      // The one traced process (-p) runs the probed program.
      if (!this.#kernel && world.pidFilter && !/\.so(\.|$)/.test(base)) {
        for (const t of threads) world.setExe(t.pid, attach.target);
      }
    }
    this.#threads = threads;
    for (let k = 0; k < POOL_SIZE; k++) {
      const b = new Uint8Array(this.ctx.length);
      const v = new DataView(b.buffer);
      const args = this.#kernel
        ? kernelArgs(world, sym)
        : genericArgs(world, false);
      // Struct arguments (a kprobe's `struct sock *`) point at objects.
      if (this.#kernel) {
        const fallback: (string | undefined)[] = [];
        this.#pair?.args.forEach((
          a,
          j,
        ) => (fallback[a] = this.#pair!.types[j]));
        world.heap.addArgs(sym, args, fallback);
      }
      args.forEach((a, i) =>
        typeof a === "bigint"
          ? v.setBigUint64(ARG_OFFSETS[i], a, true)
          : writeU64(v, ARG_OFFSETS[i], a)
      );
      writeU64(
        v,
        R.bp,
        this.#kernel ? 0 : 0x7ffce0f00000 + rng.below(0x10000) * 16,
      );
      writeU64(v, R.bx, rng.below(1 << 20));
      const obj = this.#ret && this.#kernel
        ? world.heap.returnObject(sym, rng.below(1000))
        : undefined;
      const ret = obj !== undefined
        ? obj
        : this.#ret
        ? (this.#kernel
          ? syscallRet(retLike(sym), rng, world)
          : rng.float() < 0.5
          ? rng.pick(world.bufferAddrs)
          : rng.below(4096))
        : rng.below(1 << 16);
      if (typeof ret === "bigint") v.setBigUint64(R.ax, ret, true);
      else writeU64(v, R.ax, ret);
      writeU64(v, R.orig_ax, this.#kernel ? 0 : -1);
      v.setBigUint64(R.ip, this.#ip, true);
      writeU64(v, R.cs, this.#kernel ? 0x10 : 0x33);
      writeU64(v, R.flags, 0x246);
      if (this.#kernel) {
        v.setBigUint64(
          R.sp,
          0xffffc90000a3fd80n - BigInt(rng.below(64) * 8),
          true,
        );
      } else writeU64(v, R.sp, 0x7ffce0f00000 + rng.below(0x10000) * 16);
      writeU64(v, R.ss, this.#kernel ? 0x18 : 0x2b);
      this.#templates.push(b);
    }
  }

  fire(world: World): void {
    const rng = world.rng;
    const r = rng.next();
    if (this.queue !== undefined) {
      const p = this.queue.peek()!;
      this.ctx.set(this.#templates[r & (POOL_SIZE - 1)]);
      if (p.args === undefined) {
        this.#setEnv(world, p.thread, p.cpu, r);
        return;
      }
      // The end of an object's life: its pointer, in the current task.
      const pair = this.#pair!;
      this.queue.objects.delete(p.args[0]);
      p.args.forEach((a, i) =>
        this.view.setBigUint64(ARG_OFFSETS[pair.args[i]], a, true)
      );
      const t = world.pickThread();
      this.#setEnv(world, t, world.cpuFor(t, r >>> 16), r);
      return;
    }
    const ts = this.#threads;
    let t = ts.length === world.procs.eligible.length
      ? world.pickThread()
      : ts[(r >>> 8) % ts.length];
    this.ctx.set(this.#templates[r & (POOL_SIZE - 1)]);
    if (this.#tcp !== undefined) {
      const step = this.#tcp.step(t, rng.next());
      this.view.setBigUint64(ARG_OFFSETS[0], step.sk, true);
      this.view.setBigUint64(ARG_OFFSETS[1], BigInt(step.state), true);
      t = step.thread;
    }
    const cpu = world.cpuFor(t, r >>> 16);
    this.#setEnv(world, t, cpu, r);
    if (this.returns === undefined) return;
    const pair = this.#pair;
    if (pair === undefined) this.owe(world, t, this.#sym, !this.#kernel);
    else {
      // An object not in flight already (templates repeat).
      const v = this.view;
      const busy = this.returns.queue!.objects;
      const first = ARG_OFFSETS[pair.args[0]];
      for (let k = 1; k < POOL_SIZE; k++) {
        if (!busy.has(v.getBigUint64(first, true))) break;
        this.ctx.set(this.#templates[(r + k) & (POOL_SIZE - 1)]);
      }
      busy.add(v.getBigUint64(first, true));
      const args = pair.args.map((i) => v.getBigUint64(ARG_OFFSETS[i], true));
      this.owe(world, t, pair.latency, false, undefined, args);
    }
  }

  #setEnv(world: World, t: SyntheticThread, cpu: number, r: number): void {
    const env = world.env;
    env.set(t, cpu, world.baseNs + this.next);
    env.kstack = this.#kstack;
    env.ustack = this.#kernel
      ? world.userStackFor(t, r >>> 20)
      : this.#ustacks[0];
    env.funcIp = this.#ip;
  }
}

function kheapPtr(world: World): bigint {
  return 0xffff888100000000n + BigInt(world.rng.below(0x4000000)) * 64n;
}

/** The syscall whose return values a kernel function's look like. */
function retLike(fn: string): string {
  if (/read|recv/.test(fn)) return "read";
  if (/write|send/.test(fn)) return "write";
  if (/open/.test(fn)) return "openat";
  return "close";
}

/** Arguments of well-known kernel functions, else generic ones. */
function kernelArgs(world: World, fn: string): (number | bigint)[] {
  const rng = world.rng;
  const buf = () => rng.pick(world.bufferAddrs);
  const size = () => rng.pick([1, 64, 512, 4096, 4096, 8192, 65536]);
  const path = () => {
    const t = rng.pick(world.procs.eligible);
    const list = world.pathAddrs[t.index] ?? world.bufferAddrs;
    return rng.pick(list.length > 0 ? list : world.bufferAddrs);
  };
  switch (fn) {
    case "vfs_read":
    case "vfs_write":
      return [kheapPtr(world), buf(), size(), kheapPtr(world)];
    case "ksys_read":
    case "ksys_write":
      return [3 + rng.below(60), buf(), size()];
    case "do_sys_openat2":
    case "do_sys_open":
      return [-100, path(), kheapPtr(world), 0];
    case "tcp_sendmsg":
    case "udp_sendmsg":
      return [kheapPtr(world), kheapPtr(world), size()];
    case "tcp_recvmsg":
      return [kheapPtr(world), kheapPtr(world), size(), 0, kheapPtr(world)];
    case "tcp_v4_connect":
      return [kheapPtr(world), kheapPtr(world), 16];
    case "kfree_skb_reason":
      return [kheapPtr(world), rng.pick([2, 3, 3, 4, 12])];
  }
  if (fn.startsWith("__x64_sys_")) return [kheapPtr(world)];
  return genericArgs(world, true);
}

function genericArgs(world: World, kernel: boolean): (number | bigint)[] {
  const rng = world.rng;
  return [
    kernel
      ? 0xffff888100000000n + BigInt(rng.below(0x4000000)) * 64n
      : rng.pick(world.bufferAddrs),
    rng.float() < 0.5 ? rng.pick(world.bufferAddrs) : rng.below(64),
    rng.pick([0, 1, 16, 64, 512, 4096, 8192]),
    rng.below(16),
    0,
    0,
  ];
}

function writeU64(v: DataView, off: number, x: number): void {
  v.setUint32(off, x >>> 0, true);
  v.setUint32(off + 4, Math.floor(x / 4294967296) >>> 0, true);
}

/**
 * rawtracepoint: an array of u64 arguments.
 *
 * @example Usage
 * ```ts
 * import { RawTracepointSource } from "./sources.ts";
 * import { World } from "./world.ts";
 * const w = new World(1, 2);
 * const ap = { kind: "rawtracepoint" as const, target: "sched_switch", text: "rawtracepoint:sched_switch" };
 * const s = new RawTracepointSource(w, ap, 0, 24, 1000);
 * console.assert(s.ctx.length >= 64);
 * ```
 */
export class RawTracepointSource extends EventSource {
  readonly #templates: Uint8Array[] = [];
  readonly #kstack: bigint[];

  constructor(
    world: World,
    attach: AttachPoint,
    probe: number,
    ctxSize: number,
    rate: number,
  ) {
    super(attach, probe, Math.max(ctxSize, 64), 1e9 / rate, true);
    const rng = world.rng;
    const name = attach.target;
    this.#kstack = world.symbols.kernelChain(
      name.startsWith("sys_")
        ? KERNEL_CHAINS.sysEnter
        : name.startsWith("sched")
        ? KERNEL_CHAINS.schedEpoll
        : KERNEL_CHAINS.kworker,
    );
    for (let k = 0; k < POOL_SIZE; k++) {
      const b = new Uint8Array(this.ctx.length);
      const v = new DataView(b.buffer);
      for (let i = 0; i + 8 <= b.length; i += 8) {
        if (name === "sys_enter" && i === 8) {
          writeU64(v, i, rng.pick([0, 1, 202, 232, 45, 44, 257, 3]));
        } else if (name === "sys_exit" && i === 8) {
          writeU64(v, i, rng.below(4096));
        } else if (i === 0 || rng.float() < 0.5) {
          v.setBigUint64(
            i,
            0xffff888100000000n + BigInt(rng.below(0x4000000)) * 64n,
            true,
          );
        } else writeU64(v, i, rng.below(4096));
      }
      this.#templates.push(b);
    }
  }

  fire(world: World): void {
    const r = world.rng.next();
    const t = world.pickThread();
    this.ctx.set(this.#templates[r & (POOL_SIZE - 1)]);
    const env = world.env;
    env.set(t, world.cpuFor(t, r >>> 8), world.baseNs + this.next);
    env.kstack = this.#kstack;
    env.ustack = world.userStackFor(t, r >>> 16);
    env.funcIp = 0n;
  }
}

const SOFTWARE_RATES: Record<string, number> = {
  "cpu-clock": 1e9,
  "task-clock": 1e9,
  "page-faults": 2000,
  "minor-faults": 2000,
  "major-faults": 5,
  "context-switches": 5000,
  "cpu-migrations": 50,
  "alignment-faults": 0,
  "emulation-faults": 0,
  "dummy": 0,
  "bpf-output": 0,
};
const HARDWARE_RATES: Record<string, number> = {
  "cpu-cycles": 2.5e9,
  "ref-cycles": 2.5e9,
  "bus-cycles": 1e8,
  "instructions": 3e9,
  "cache-references": 5e7,
  "cache-misses": 5e6,
  "branch-instructions": 5e8,
  "branch-misses": 1e7,
  "frontend-stalls": 5e8,
  "backend-stalls": 5e8,
};
const UNIT_NS = { s: 1e9, ms: 1e6, us: 1e3, hz: 0 } as const;
/** Most samples per second per CPU a perf source makes. */
const MAX_PERF_RATE = 100_000;

/**
 * profile / interval / software / hardware: `bpf_perf_event_data`
 * (`pt_regs`, then sample_period and addr). profile and software/hardware
 * fire on every CPU, interval on one.
 *
 * @example Usage
 * ```ts
 * import { PerfSource } from "./sources.ts";
 * import { World } from "./world.ts";
 * const w = new World(1, 2);
 * const ap = { kind: "profile" as const, target: "hz", unit: "hz" as const, period: 99, text: "profile:hz:99" };
 * const s = new PerfSource(w, ap, 0, 184);
 * console.assert(Math.round(1e9 / s.periodNs) === 198);
 * ```
 */
export class PerfSource extends EventSource {
  readonly #perCpu: boolean;
  readonly #samplePeriod: number;
  readonly #chains: bigint[][];
  readonly #idle: bigint[];
  readonly #count = { n: 0 };

  constructor(
    world: World,
    attach: AttachPoint,
    probe: number,
    ctxSize: number,
  ) {
    const n = world.numCpus;
    let perCpuPeriod: number;
    let samplePeriod = 0;
    if (attach.kind === "profile" || attach.kind === "interval") {
      const unit = attach.unit ?? "hz";
      const p = attach.period ?? 99;
      perCpuPeriod = unit === "hz" ? 1e9 / p : p * UNIT_NS[unit];
      samplePeriod = Math.round(perCpuPeriod);
    } else {
      const info = perfEvent(
        attach.kind as "software" | "hardware",
        attach.target,
      );
      const name = info?.name ?? attach.target;
      const count = attach.period ?? info?.defaultPeriod ?? 1;
      const base =
        (attach.kind === "software" ? SOFTWARE_RATES : HARDWARE_RATES)[name] ??
          1000;
      const rate = Math.min(base / count, MAX_PERF_RATE);
      perCpuPeriod = rate > 0 ? 1e9 / rate : Infinity;
      samplePeriod = count;
    }
    const perCpu = attach.kind !== "interval";
    super(
      attach,
      probe,
      Math.max(ctxSize, PT_REGS_SIZE + 16),
      perCpu ? perCpuPeriod / n : perCpuPeriod,
      attach.kind === "software" || attach.kind === "hardware",
      attach.kind === "interval" ? 1 : 0.5,
    );
    this.#perCpu = perCpu;
    this.#samplePeriod = samplePeriod;
    const s = world.symbols;
    this.#chains = [
      s.kernelChain(KERNEL_CHAINS.read),
      s.kernelChain(KERNEL_CHAINS.write),
      s.kernelChain(KERNEL_CHAINS.openat),
      s.kernelChain(KERNEL_CHAINS.sendto),
      s.kernelChain(KERNEL_CHAINS.pageFault),
      s.kernelChain(KERNEL_CHAINS.schedFutex),
    ];
    this.#idle = s.kernelChain(KERNEL_CHAINS.idle);
    this.#kworker = s.kernelChain(KERNEL_CHAINS.kworker);
    this.#softirq = s.kernelChain(KERNEL_CHAINS.softirq);
  }

  readonly #kworker: bigint[];
  readonly #softirq: bigint[];

  fire(world: World): void {
    const rng = world.rng;
    const r = rng.next();
    const k = this.#count.n++;
    const cpu = this.#perCpu ? k % world.numCpus : 0;
    const env = world.env;
    const v = this.view;
    let t: SyntheticThread;
    let kstack: bigint[];
    let ustack: bigint[] = EMPTY;
    const idle = !world.pidFilter && (r & 0xff) < 90;
    if (idle) {
      t = world.procs.idle[cpu];
      kstack = this.#idle;
    } else {
      t = world.pickThread();
      if (t.kind === "kernel") {
        kstack = t.comm.startsWith("ksoftirqd") ? this.#softirq : this.#kworker;
      } else {
        ustack = world.userStackFor(t, r >>> 20);
        // A third of user-task samples land in user mode: no kernel stack.
        kstack = ((r >>> 8) & 3) === 0
          ? EMPTY
          : this.#chains[(r >>> 10) % this.#chains.length];
      }
    }
    this.ctx.fill(0);
    const ip = kstack.length > 0
      ? kstack[0]
      : ustack.length > 0
      ? ustack[0]
      : 0n;
    v.setBigUint64(R.ip, ip, true);
    writeU64(v, R.cs, kstack.length > 0 ? 0x10 : 0x33);
    writeU64(v, R.flags, 0x246);
    writeU64(v, PT_REGS_SIZE, this.#samplePeriod);
    env.set(t, cpu, world.baseNs + this.next);
    env.kstack = kstack;
    env.ustack = ustack;
    env.funcIp = 0n;
  }
}

/** The record layout of tracepoint "cat:name", as the compiler reads it. */
function fieldsOf(target: string): FieldLayout[] | undefined {
  const [cat, name] = splitTarget(target);
  try {
    return readTracepointFormat(cat, name).fields.map((f) => {
      const { common: _c, decl: _d, relLoc: _r, ...rest } = f;
      return rest as FieldLayout;
    });
  } catch {
    return undefined;
  }
}

/**
 * Makes the source for one attach point of a probe; undefined for BEGIN
 * and END.
 *
 * @example Usage
 * ```ts
 * import { makeSource } from "./sources.ts";
 * import { World } from "./world.ts";
 * const w = new World(1, 2);
 * const ap = { kind: "interval" as const, target: "ms", unit: "ms" as const, period: 100, text: "interval:ms:100" };
 * console.assert(makeSource(w, ap, 0, { kind: "perf_event", size: 184 }, 1000)?.periodNs === 1e8);
 * ```
 */
export function makeSource(
  world: World,
  attach: AttachPoint,
  probe: number,
  ctx: ContextLayout,
  rate: number,
): EventSource | undefined {
  switch (attach.kind) {
    case "tracepoint":
      return new TracepointSource(
        world,
        attach,
        probe,
        fieldsOf(attach.target) ?? ctx.fields ?? [],
        ctx.size,
        rate,
      );
    case "kprobe":
    case "kretprobe":
    case "uprobe":
    case "uretprobe":
      return new RegsSource(world, attach, probe, ctx.size, rate);
    case "rawtracepoint":
      return new RawTracepointSource(world, attach, probe, ctx.size, rate);
    case "profile":
    case "interval":
    case "software":
    case "hardware":
      return new PerfSource(world, attach, probe, ctx.size);
  }
  return undefined;
}
