/**
 * Synthetic events of `fentry`/`fexit` probes and of raw tracepoints
 * whose arguments BTF types: the context is an array of u64 slots, one
 * per argument (fexit: the return value after them), each filled as its
 * type says: a pointer with a kernel address, a `bool` with 0 or 1, an
 * integer with a small value of its size (negative now and then when it
 * is signed, as an error return is).
 *
 * @module
 */

import type { AttachPoint, ContextLayout } from "../program.ts";
import { KERNEL_CHAINS, kernelCallers } from "./kernel_chains.ts";
import { POOL_SIZE } from "./tracepoint_records.ts";
import type { World } from "./world.ts";
import { EventSource } from "./event_source.ts";

/** Error returns a signed value takes now and then. */
const ERRNOS = [-1n, -2n, -11n, -13n, -22n];

/**
 * The source of one fentry, fexit or BTF-typed rawtracepoint attach
 * point.
 *
 * @example Usage
 * ```ts
 * import { BtfArgsSource } from "./btf_args_source.ts";
 * import { World } from "./world.ts";
 * const w = new World(1, 2);
 * const ap = { kind: "fentry" as const, target: "vfs_read", text: "fentry:vmlinux:vfs_read" };
 * const ctx = { kind: "raw_tp" as const, size: 16, args: [
 *   { name: "file", size: 8, signed: false, pointer: true },
 *   { name: "count", size: 8, signed: false, pointer: false },
 * ] };
 * const s = new BtfArgsSource(w, ap, 0, ctx, 1000);
 * console.assert(s.ctx.length >= 16);
 * ```
 */
export class BtfArgsSource extends EventSource {
  readonly #templates: Uint8Array[] = [];
  readonly #kstack: bigint[];
  readonly #ip: bigint;

  constructor(
    world: World,
    attach: AttachPoint,
    probe: number,
    ctx: ContextLayout,
    rate: number,
  ) {
    super(attach, probe, Math.max(ctx.size, 64), 1e9 / rate, true);
    const rng = world.rng;
    const name = attach.target;
    if (attach.kind === "rawtracepoint") {
      this.#ip = 0n;
      this.#kstack = world.symbols.kernelChain(
        name.startsWith("sys_")
          ? KERNEL_CHAINS.sysEnter
          : name.startsWith("sched")
          ? KERNEL_CHAINS.schedEpoll
          : KERNEL_CHAINS.kworker,
      );
    } else {
      this.#ip = world.symbols.kernelAddress(name);
      this.#kstack = world.symbols.kernelChain([name, ...kernelCallers(name)]);
    }
    const args = ctx.args ?? [];
    for (let k = 0; k < POOL_SIZE; k++) {
      const b = new Uint8Array(this.ctx.length);
      const v = new DataView(b.buffer);
      args.forEach((a, i) => {
        let x: bigint;
        if (a.pointer) {
          x = 0xffff888100000000n + BigInt(rng.below(0x4000000)) * 64n;
        } else if (a.size === 1) {
          x = BigInt(rng.below(2));
        } else if (a.signed && rng.float() < 0.1) {
          x = ERRNOS[rng.below(ERRNOS.length)];
        } else {
          x = BigInt(rng.below(a.size === 2 ? 4096 : 65536));
        }
        v.setBigUint64(i * 8, BigInt.asUintN(64, x), true);
      });
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
    env.funcIp = this.#ip;
  }
}
