/**
 * Event sources of the synthetic machine, one per attach point: when each
 * fires (a rate or a period on the virtual clock) and the context (record,
 * `pt_regs`, raw tracepoint args, perf sample) and task it fires with.
 * This module has the tracepoint and raw tracepoint sources and
 * `makeSource`, which picks the source of an attach point; the base class
 * and the other providers' sources live in their own modules and are
 * exported here too.
 *
 * @module
 */

import type { AttachPoint, ContextLayout, FieldLayout } from "../program.ts";
import { PT_REGS_SIZE } from "../probes/pt_regs.ts";
import { readTracepointFormat } from "../probes/tracepoint_format.ts";
import type { SyntheticThread } from "./processes.ts";
import { KERNEL_CHAINS } from "./kernel_chains.ts";
import {
  planRecords,
  POOL_SIZE,
  type RecordPlan,
  writeInt,
} from "./tracepoint_records.ts";
import type { World } from "./world.ts";
import { syscallRet } from "./syscall_values.ts";
import { type ReturnQueue, TRACEPOINT_PAIRS } from "./pairing.ts";
import { syscallNumber } from "../probes/syscalls.ts";
import { EventSource, writeU64 } from "./event_source.ts";
import { RegsSource } from "./regs_source.ts";
import { PerfSource } from "./perf_source.ts";
import { BtfArgsSource } from "./btf_args_source.ts";

export { EventSource } from "./event_source.ts";
export { RegsSource } from "./regs_source.ts";
export { PerfSource } from "./perf_source.ts";

/** Byte size of x86_64 `struct pt_regs`. */
export { PT_REGS_SIZE };

/**
 * Tracepoints that fire rarely on a healthy machine, with the events per
 * second at most (a bdi's writeback runs a few times a second, a busy
 * machine starts tens of processes a second and signals a hundred, not a
 * thousand).
 */
const RARE_TRACEPOINTS: Readonly<Record<string, number>> = {
  "writeback:writeback_start": 10,
  "writeback:writeback_written": 10,
  "sched:sched_process_fork": 30,
  "sched:sched_process_exec": 30,
  "syscalls:sys_enter_execve": 30,
  "syscalls:sys_enter_execveat": 3,
  "syscalls:sys_enter_kill": 100,
  "syscalls:sys_enter_tkill": 3,
  "syscalls:sys_enter_tgkill": 100,
};

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
    const most = RARE_TRACEPOINTS[attach.target];
    super(
      attach,
      probe,
      Math.max(plan.size, ctxSize),
      1e9 / (most === undefined ? rate : Math.min(rate, most)),
      true,
    );
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
      if (ctx.args !== undefined) {
        return new BtfArgsSource(world, attach, probe, ctx, rate);
      }
      return new RawTracepointSource(world, attach, probe, ctx.size, rate);
    case "fentry":
    case "fexit":
      return new BtfArgsSource(world, attach, probe, ctx, rate);
    case "profile":
    case "interval":
    case "software":
    case "hardware":
      return new PerfSource(world, attach, probe, ctx.size);
  }
  return undefined;
}
