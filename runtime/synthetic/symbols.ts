/**
 * The synthetic machine's code: a kernel text with real function names at
 * made-up addresses, a user address space with the functions of common
 * programs, and the {@linkcode SymbolResolver} that names addresses and
 * stack ids for the interpreter engine. The call chains through those
 * functions are `kernel_chains.ts` and `user_chains.ts`.
 *
 * Addresses do not depend on the seed: a given name always sits at the same
 * address, so symbols stay stable across runs.
 *
 * @module
 */

import type { VmMap } from "../vm/maps.ts";
import type { SymbolResolver } from "../output/types.ts";
import { Kallsyms } from "../probes/kallsyms.ts";
import { KERNEL_FUNCTIONS } from "./kernel_chains.ts";
import { libraryOf, USER_FUNCTIONS } from "./user_chains.ts";

/** Start of the synthetic kernel text. */
export const KERNEL_TEXT: bigint = 0xffffffff81000000n;
/** Start of the synthetic user text (main binaries, then libraries). */
export const USER_TEXT = 0x555555554000;

/** The host's kallsyms, read once (null: not readable). */
let hostKernel: Kallsyms | null | undefined;

function hostKallsyms(): Kallsyms | null {
  if (hostKernel === undefined) {
    try {
      hostKernel = Kallsyms.load();
    } catch {
      hostKernel = null;
    }
  }
  return hostKernel;
}

function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  }
  return h >>> 0;
}

/**
 * A table of functions at increasing addresses, growing on demand.
 *
 * @example Usage
 * ```ts
 * import { SymbolTable } from "./symbols.ts";
 * const t = new SymbolTable();
 * const at = t.offsetOf("main");
 * console.assert(t.lookup(at + 1)?.[0] === "main");
 * ```
 */
export class SymbolTable {
  /** Base address (as a number offset origin). */
  readonly #starts: number[] = [];
  readonly #sizes: number[] = [];
  readonly #names: string[] = [];
  readonly #byName = new Map<string, number>();
  #next: number;

  /** @param gap Bytes between the origin and the first function. */
  constructor(gap = 0x1000) {
    this.#next = gap;
  }

  /** Offset of `name` from the table's origin, adding it when new. */
  offsetOf(name: string): number {
    const i = this.#byName.get(name);
    if (i !== undefined) return this.#starts[i];
    const size = 0x80 + (hash32(name) % 0x700 & ~0xf);
    const at = this.#next;
    this.#next = at + size + 0x10;
    this.#byName.set(name, this.#starts.length);
    this.#starts.push(at);
    this.#sizes.push(size);
    this.#names.push(name);
    return at;
  }

  /** Offset of a call site inside `name` (stable, within the function). */
  siteOf(name: string, salt = 0): number {
    const start = this.offsetOf(name);
    const size = this.#sizes[this.#byName.get(name)!];
    return start + 5 + (hash32(name + ":" + salt) % (size - 8));
  }

  /** Offset just past the last function (the table's extent). */
  get end(): number {
    return this.#next;
  }

  /** `[name, offset into it]` for an offset, or undefined. */
  lookup(off: number): [string, number] | undefined {
    const s = this.#starts;
    let lo = 0, hi = s.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid] <= off) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0 || off >= s[found] + this.#sizes[found]) return undefined;
    return [this.#names[found], off - s[found]];
  }
}

/**
 * Kernel and user symbols of the synthetic machine, and call chains
 * through them as address arrays (innermost frame first).
 *
 * @example Name a kernel address
 * ```ts
 * import { SyntheticSymbols } from "./symbols.ts";
 * const syms = new SyntheticSymbols();
 * const addr = syms.kernelAddress("vfs_read");
 * console.assert(syms.ksym(addr) === "vfs_read");
 * const chain = syms.kernelChain(["vfs_read", "ksys_read"]);
 * console.assert(syms.kframe(chain[0]).startsWith("vfs_read+"));
 * ```
 */
export class SyntheticSymbols {
  readonly #kernel = new SymbolTable();
  readonly #user = new SymbolTable();
  /** Objects of user functions probed in a given binary or library. */
  readonly #modules = new Map<string, string>();

  constructor() {
    for (const name of KERNEL_FUNCTIONS) this.#kernel.offsetOf(name);
    for (const name of USER_FUNCTIONS) this.#user.offsetOf(name);
  }

  /** Start address of kernel function `name` (added when unknown). */
  kernelAddress(name: string): bigint {
    return KERNEL_TEXT + BigInt(this.#kernel.offsetOf(name));
  }

  /** Start address of user function `name` (added when unknown). */
  userAddress(name: string): number {
    return USER_TEXT + this.#user.offsetOf(name);
  }

  /** Return addresses of a kernel call chain, innermost first. */
  kernelChain(names: readonly string[]): bigint[] {
    return names.map((n, i) =>
      KERNEL_TEXT +
      BigInt(i === 0 ? this.#kernel.siteOf(n, -1) : this.#kernel.siteOf(n, i))
    );
  }

  /** Return addresses of a user call chain, innermost first. */
  userChain(names: readonly string[]): bigint[] {
    return names.map((n, i) => BigInt(USER_TEXT + this.#user.siteOf(n, i)));
  }

  /**
   * Kernel symbol name for an address, else hexadecimal. Addresses outside
   * the synthetic kernel text (`kaddr()` values) are looked up in the
   * host's `/proc/kallsyms` when it is readable.
   */
  ksym(addr: bigint): string {
    const hit = this.#kernelLookup(addr);
    if (hit !== undefined) return hit[0];
    if (this.#inKernelText(addr)) return hex(addr);
    return hostKallsyms()?.lookup(addr)?.name ?? hex(addr);
  }

  /** User symbol name for an address, else hexadecimal. */
  usym(addr: bigint): string {
    const hit = this.#userLookup(addr);
    return hit === undefined ? hex(addr) : hit[0];
  }

  /** A kernel frame as bpftrace prints it: `name+offset`. */
  kframe(addr: bigint): string {
    const hit = this.#kernelLookup(addr);
    if (hit !== undefined) return `${hit[0]}+${hit[1]}`;
    if (this.#inKernelText(addr)) return hex(addr);
    const h = hostKallsyms()?.lookup(addr);
    return h === undefined ? hex(addr) : `${h.name}+${h.offset}`;
  }

  /**
   * A user frame as the kernel engine (and bpftrace) prints it:
   * `name+offset`, `+0` at a function's entry.
   */
  uframe(addr: bigint): string {
    const hit = this.#userLookup(addr);
    if (hit === undefined) return hex(addr);
    return `${hit[0]}+${hit[1]}`;
  }

  /** Records that user function `name` lives in object `path`. */
  setUserModule(name: string, path: string): void {
    this.#modules.set(name, path);
  }

  /**
   * The object (executable or library) a user address lies in: the C
   * library for libc functions, the probed binary for probed functions,
   * a few well-known libraries, else `exe` (the process's executable).
   */
  userModule(addr: bigint, exe?: string): string | undefined {
    const hit = this.#userLookup(addr);
    if (hit === undefined) return undefined;
    const name = hit[0];
    const probed = this.#modules.get(name);
    if (probed !== undefined) return probed;
    const library = libraryOf(name);
    if (library !== undefined) return library;
    if (exe !== undefined && exe.endsWith("/java")) {
      return exe.replace(/\/bin\/java$/, "/lib/server/libjvm.so");
    }
    return exe === "" ? undefined : exe;
  }

  #inKernelText(addr: bigint): boolean {
    return addr >= KERNEL_TEXT && addr < KERNEL_TEXT + BigInt(this.#kernel.end);
  }

  #kernelLookup(addr: bigint): [string, number] | undefined {
    const off = addr - KERNEL_TEXT;
    if (off < 0n || off > 0x40000000n) return undefined;
    return this.#kernel.lookup(Number(off));
  }

  #userLookup(addr: bigint): [string, number] | undefined {
    const off = addr - BigInt(USER_TEXT);
    if (off < 0n || off > 0x40000000n) return undefined;
    return this.#user.lookup(Number(off));
  }

  /**
   * A resolver for the engine's maps: `stack()` reads stack ids from the
   * interpreter's STACK_TRACE maps (`maps[mapIndex]`); `exeOf` names a
   * process's executable (for `userModule`).
   */
  resolver(
    maps: readonly VmMap[],
    exeOf: (pid: number) => string | undefined = () => undefined,
  ): SymbolResolver {
    const addresses = (mapIndex: number, id: number): bigint[] => {
      const map = maps[mapIndex];
      if (map === undefined || id < 0 || map.keySize !== 4) return [];
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, id, true);
      let vals: Uint8Array[] | undefined;
      try {
        vals = map.lookup(key);
      } catch {
        return [];
      }
      if (vals === undefined) return [];
      const v = vals[0];
      const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
      const out: bigint[] = [];
      for (let i = 0; i + 8 <= v.length; i += 8) {
        const ip = view.getBigUint64(i, true);
        if (ip === 0n) break;
        out.push(ip);
      }
      return out;
    };
    return {
      ksym: (addr) => this.ksym(addr),
      usym: (addr) => this.usym(addr),
      stackAddresses: addresses,
      userModule: (addr, pid) =>
        this.userModule(addr, pid === undefined ? undefined : exeOf(pid)),
      stack: (mapIndex, id, kernel) => {
        return addresses(mapIndex, id).map((ip) =>
          kernel ? this.kframe(ip) : this.uframe(ip)
        );
      },
    };
  }
}

function hex(addr: bigint): string {
  return "0x" + addr.toString(16);
}
