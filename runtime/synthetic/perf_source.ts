/**
 * The synthetic source of perf events (`software:`, `hardware:`,
 * `profile:`, `interval:`): samples at the event's rate or period on the
 * virtual clock, with the `bpf_perf_event_data` context.
 *
 * @module
 */

import type { AttachPoint } from "../program.ts";
import { PT_REGS, PT_REGS_SIZE } from "../probes/pt_regs.ts";
import { perfEvent } from "../probes/perf_events.ts";
import type { SyntheticThread } from "./processes.ts";
import { KERNEL_CHAINS } from "./kernel_chains.ts";
import type { World } from "./world.ts";
import { EventSource, writeU64 } from "./event_source.ts";

const R = PT_REGS;
const EMPTY: bigint[] = [];

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
