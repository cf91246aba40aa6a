/**
 * A {@linkcode SymbolResolver} for engines that bring none (the kernel
 * engine today): kernel addresses through `/proc/kallsyms`, user addresses
 * through the process's ELF symbols, stack ids through the engine's own
 * stack-trace maps. The kallsyms and ELF readers are the ones
 * `compiler/on_demand.ts` loaded for the program.
 *
 * @module
 */

import type { Engine } from "./engines/engine.ts";
import type { SymbolResolver } from "./output/types.ts";
import type { Kallsyms } from "./probes/kallsyms.ts";
import type { ElfSymbolizer } from "./probes/user_symbols.ts";
import { onDemand } from "./compiler/on_demand.ts";

function hex(addr: bigint): string {
  return "0x" + addr.toString(16);
}

/**
 * Builds a resolver that reads stack-trace maps from `engine` on demand
 * (one read per map per lookup miss) and symbolizes every frame the way
 * bpftrace prints them: `name+offset`, or the address in hex when unknown.
 *
 * @example A resolver over an engine that has no maps
 * ```ts
 * import assert from "node:assert/strict";
 * import { engineSymbols } from "./host_symbols.ts";
 * import type { Engine } from "./engines/engine.ts";
 *
 * const none = { readMap: () => [] } as unknown as Engine;
 * const r = engineSymbols(none, { kallsyms: "ffffffff81000100 T do_one\n" });
 * assert.equal(r.ksym(0xffffffff81000104n), "do_one");
 * assert.deepEqual(r.stack(0, 7, true), []);
 * ```
 */
export function engineSymbols(
  engine: Engine,
  options: { kallsyms?: string } = {},
): SymbolResolver {
  let kallsyms: Kallsyms | null | undefined;
  const kernel = (): Kallsyms | null => {
    if (kallsyms === undefined) {
      const { Kallsyms } = onDemand("kallsyms");
      try {
        kallsyms = Kallsyms.load(options.kallsyms);
      } catch {
        kallsyms = null;
      }
    }
    return kallsyms;
  };
  const users = new Map<number | undefined, ElfSymbolizer>();
  const user = (pid?: number): ElfSymbolizer => {
    let s = users.get(pid);
    if (s === undefined) {
      s = new (onDemand("symbolizer").ElfSymbolizer)(pid);
      users.set(pid, s);
    }
    return s;
  };
  // stack map index -> (stack id -> instruction pointers)
  const stacks = new Map<number, Map<number, bigint[]>>();
  // When each stack map was last read: a miss re-reads it at most every
  // 20 ms, so decoding a big map with many new ids stays linear.
  const readAt = new Map<number, number>();
  const readStacks = (mapIndex: number): Map<number, bigint[]> => {
    const last = readAt.get(mapIndex);
    const now = performance.now();
    if (last !== undefined && now - last < 20) {
      return stacks.get(mapIndex) ?? new Map();
    }
    readAt.set(mapIndex, now);
    const out = new Map<number, bigint[]>();
    let raw;
    try {
      raw = engine.readMap(mapIndex);
    } catch {
      return out;
    }
    for (const e of raw) {
      const id = new DataView(e.key.buffer, e.key.byteOffset).getUint32(
        0,
        true,
      );
      const v = e.values[0];
      const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
      const ips: bigint[] = [];
      for (let o = 0; o + 8 <= v.byteLength; o += 8) {
        const ip = dv.getBigUint64(o, true);
        if (ip === 0n) break;
        ips.push(ip);
      }
      out.set(id, ips);
    }
    stacks.set(mapIndex, out);
    return out;
  };
  const ksymOffset = (addr: bigint): string => {
    const s = kernel()?.lookup(addr);
    return s === undefined ? hex(addr) : `${s.name}+${s.offset}`;
  };
  return {
    ksym(addr: bigint): string {
      return kernel()?.lookup(addr)?.name ?? hex(addr);
    },
    usym(addr: bigint, pid?: number): string {
      return user(pid).resolve(addr)?.name ?? hex(addr);
    },
    stackAddresses(mapIndex: number, id: number): bigint[] {
      return stacks.get(mapIndex)?.get(id) ?? readStacks(mapIndex).get(id) ??
        [];
    },
    userModule(addr: bigint, pid?: number): string | undefined {
      return user(pid).resolve(addr)?.path;
    },
    stack(mapIndex, id, isKernel, pid) {
      let ips = stacks.get(mapIndex)?.get(id);
      if (ips === undefined) ips = readStacks(mapIndex).get(id);
      if (ips === undefined) return [];
      if (isKernel) return ips.map(ksymOffset);
      const s = user(pid);
      return ips.map((ip) => s.symbolize(ip));
    },
  };
}
