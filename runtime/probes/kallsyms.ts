/**
 * Kernel symbol lookup from `/proc/kallsyms`, for `ksym()`, `kstack` and
 * kernel addresses in output. Lookup is a binary search over the sorted
 * addresses.
 *
 * Only root (or `kernel.kptr_restrict=0` with CAP_SYSLOG) sees real
 * addresses; everyone else reads zeros, and then every lookup answers
 * undefined (`hasAddresses` is false).
 *
 * @module
 */

/** How far past the last symbol's start an address still resolves to it. */
const LAST_SYMBOL_SPAN = 0x10000;

/** A kernel address resolved to a symbol. */
export interface KernelSymbol {
  name: string;
  /** Bytes past the symbol's start. */
  offset: number;
  /** The module for symbols of loadable modules. */
  module?: string;
}

/** A loaded kernel symbol table. */
export class Kallsyms {
  /** The text parsed; names are sliced from it on demand. */
  #src: string;
  /** High 32 bits of each address, sorted by address. */
  #hi: Uint32Array;
  /** Low 32 bits of each address. */
  #lo: Uint32Array;
  /** Name start and end offsets in #src. */
  #ns: Int32Array;
  #ne: Int32Array;
  /** Type letter char codes. */
  #types: Uint8Array;
  /** Module per entry (undefined for vmlinux symbols). */
  #modules: (string | undefined)[];
  #byName: Map<string, number> | undefined;

  private constructor(
    src: string,
    hi: Uint32Array,
    lo: Uint32Array,
    ns: Int32Array,
    ne: Int32Array,
    types: Uint8Array,
    modules: (string | undefined)[],
  ) {
    this.#src = src;
    this.#hi = hi;
    this.#lo = lo;
    this.#ns = ns;
    this.#ne = ne;
    this.#types = types;
    this.#modules = modules;
  }

  /**
   * Parse kallsyms text (default: read `/proc/kallsyms`). Entries with a
   * zero address (unprivileged readers) are dropped.
   *
   * @example Loading a symbol table from text
   * ```ts
   * import assert from "node:assert/strict";
   * import { Kallsyms } from "./kallsyms.ts";
   *
   * const k = Kallsyms.load(
   *   "ffffffff81000100 T do_one\nffffffff81000180 t helper\nffffffffc0001000 t mod_fn\t[mymod]\n",
   * );
   * assert.deepEqual(k.lookup(0xffffffff81000190n), { name: "helper", offset: 0x10 });
   * assert.equal(k.address("do_one"), 0xffffffff81000100n);
   * assert.equal(k.lookup(0xffffffffc0001004n)?.module, "mymod");
   * ```
   */
  static load(text?: string): Kallsyms {
    const src = text ?? Deno.readTextFileSync("/proc/kallsyms");
    let cap = (src.length / 30 | 0) + 16;
    let hi = new Uint32Array(cap);
    let lo = new Uint32Array(cap);
    let ns = new Int32Array(cap);
    let ne = new Int32Array(cap);
    let types = new Uint8Array(cap);
    const modules: (string | undefined)[] = [];
    let count = 0;
    let sorted = true;
    let pos = 0;
    const len = src.length;
    while (pos < len) {
      // Address: hex digits up to the first space.
      let h = 0;
      let l = 0;
      let i = pos;
      let digits = 0;
      for (; i < len; i++) {
        const c = src.charCodeAt(i);
        const d = c >= 48 && c <= 57
          ? c - 48
          : c >= 97 && c <= 102
          ? c - 87
          : c >= 65 && c <= 70
          ? c - 55
          : -1;
        if (d < 0) break;
        // (h, l) = (h, l) * 16 + d, keeping 32 bits in l.
        h = ((h * 16) + Math.floor(l / 0x10000000)) >>> 0;
        l = (((l & 0x0fffffff) * 16) + d) >>> 0;
        digits++;
      }
      let end = src.indexOf("\n", i);
      if (end < 0) end = len;
      if (digits > 0 && src.charCodeAt(i) === 32 && (h !== 0 || l !== 0)) {
        const type = src.charCodeAt(i + 1);
        let nameStart = i + 3;
        while (src.charCodeAt(nameStart) === 32) nameStart++;
        let tab = nameStart;
        while (tab < end && src.charCodeAt(tab) !== 9) tab++;
        let nameEnd = tab;
        let module: string | undefined;
        if (tab < end) {
          const m = src.slice(tab + 1, end).trim();
          module = m.startsWith("[") ? m.slice(1, -1) : m;
        }
        if (src.charCodeAt(nameEnd - 1) === 13) nameEnd--;
        if (count === cap) {
          cap *= 2;
          const grow = <T extends Uint32Array | Int32Array | Uint8Array>(
            a: T,
            b: T,
          ) => {
            b.set(a);
            return b;
          };
          hi = grow(hi, new Uint32Array(cap));
          lo = grow(lo, new Uint32Array(cap));
          ns = grow(ns, new Int32Array(cap));
          ne = grow(ne, new Int32Array(cap));
          types = grow(types, new Uint8Array(cap));
        }
        if (
          count > 0 &&
          (h < hi[count - 1] || (h === hi[count - 1] && l < lo[count - 1]))
        ) sorted = false;
        hi[count] = h;
        lo[count] = l;
        ns[count] = nameStart;
        ne[count] = nameEnd;
        types[count] = type;
        modules[count] = module;
        count++;
      }
      pos = end + 1;
    }
    if (!sorted) {
      const order = Array.from({ length: count }, (_, i) => i);
      order.sort((a, b) => hi[a] - hi[b] || lo[a] - lo[b] || a - b);
      const pick = <T extends Uint32Array | Int32Array | Uint8Array>(
        a: T,
        b: T,
      ) => {
        for (let i = 0; i < count; i++) b[i] = a[order[i]];
        return b;
      };
      return new Kallsyms(
        src,
        pick(hi, new Uint32Array(count)),
        pick(lo, new Uint32Array(count)),
        pick(ns, new Int32Array(count)),
        pick(ne, new Int32Array(count)),
        pick(types, new Uint8Array(count)),
        order.map((o) => modules[o]),
      );
    }
    return new Kallsyms(
      src,
      hi.slice(0, count),
      lo.slice(0, count),
      ns.slice(0, count),
      ne.slice(0, count),
      types.slice(0, count),
      modules,
    );
  }

  #name(i: number): string {
    return this.#src.slice(this.#ns[i], this.#ne[i]);
  }

  /** Number of symbols with an address. */
  get size(): number {
    return this.#hi.length;
  }

  /** Whether real addresses were readable (false for unprivileged users). */
  get hasAddresses(): boolean {
    return this.#hi.length > 0;
  }

  /**
   * The symbol containing `addr`: the one with the greatest start address
   * not above it. Undefined below the first symbol or more than 64 KiB
   * past the last.
   *
   * @example Resolving an address
   * ```ts
   * import assert from "node:assert/strict";
   * import { Kallsyms } from "./kallsyms.ts";
   *
   * const k = Kallsyms.load("ffffffff81000000 T _text\nffffffff81000040 T start\n");
   * assert.equal(k.lookup(0xffffffff81000041n)?.name, "start");
   * assert.equal(k.lookup(0x1000n), undefined);
   * ```
   */
  lookup(addr: bigint): KernelSymbol | undefined {
    const n = this.#hi.length;
    if (n === 0 || addr < 0n || addr > 0xffffffffffffffffn) return undefined;
    const h = Number(addr >> 32n);
    const l = Number(addr & 0xffffffffn);
    const hi = this.#hi;
    const lo = this.#lo;
    // Last index whose address <= addr.
    let a = 0;
    let b = n - 1;
    let found = -1;
    while (a <= b) {
      const m = (a + b) >>> 1;
      if (hi[m] < h || (hi[m] === h && lo[m] <= l)) {
        found = m;
        a = m + 1;
      } else {
        b = m - 1;
      }
    }
    if (found < 0) return undefined;
    if (
      found === n - 1 &&
      (h !== hi[found] || l - lo[found] >= LAST_SYMBOL_SPAN)
    ) {
      // Far past the last symbol: nothing known covers it.
      return undefined;
    }
    // Several names may share one address: report the first listed.
    while (
      found > 0 && hi[found - 1] === hi[found] && lo[found - 1] === lo[found]
    ) {
      found--;
    }
    const offset = (h - hi[found]) * 0x1_0000_0000 + (l - lo[found]);
    const out: KernelSymbol = { name: this.#name(found), offset };
    const mod = this.#modules[found];
    if (mod !== undefined) out.module = mod;
    return out;
  }

  /**
   * The address of a symbol by name (the first one listed), or undefined.
   *
   * @example Finding an address
   * ```ts
   * import assert from "node:assert/strict";
   * import { Kallsyms } from "./kallsyms.ts";
   *
   * const k = Kallsyms.load("ffffffff81000040 T start\n");
   * assert.equal(k.address("start"), 0xffffffff81000040n);
   * assert.equal(k.address("nope"), undefined);
   * ```
   */
  address(name: string): bigint | undefined {
    if (this.#byName === undefined) {
      const m = new Map<string, number>();
      for (let i = 0; i < this.#hi.length; i++) {
        const n = this.#name(i);
        if (!m.has(n)) m.set(n, i);
      }
      this.#byName = m;
    }
    const i = this.#byName.get(name);
    if (i === undefined) return undefined;
    return (BigInt(this.#hi[i]) << 32n) | BigInt(this.#lo[i]);
  }

  /**
   * The kallsyms type letter of a symbol (`T`, `t`, `D`, …), or undefined.
   *
   * @example Asking a symbol's type
   * ```ts
   * import assert from "node:assert/strict";
   * import { Kallsyms } from "./kallsyms.ts";
   *
   * assert.equal(Kallsyms.load("ffffffff81000040 t local_fn\n").type("local_fn"), "t");
   * ```
   */
  type(name: string): string | undefined {
    if (this.address(name) === undefined) return undefined;
    return String.fromCharCode(this.#types[this.#byName!.get(name)!]);
  }

  /**
   * Format an address as bpftrace's `kstack` frames: `name+offset`
   * (decimal, `+0` included), or the hex address when unknown (`ksym()`
   * prints the name alone).
   *
   * @example Formatting addresses
   * ```ts
   * import assert from "node:assert/strict";
   * import { Kallsyms } from "./kallsyms.ts";
   *
   * const k = Kallsyms.load("ffffffff81000040 T start\nffffffff81000080 T next\n");
   * assert.equal(k.format(0xffffffff81000050n), "start+16");
   * assert.equal(k.format(0xffffffff81000040n), "start+0");
   * assert.equal(k.format(0x10n), "0x10");
   * ```
   */
  format(addr: bigint): string {
    const s = this.lookup(addr);
    if (s === undefined) return `0x${addr.toString(16)}`;
    return `${s.name}+${s.offset}`;
  }
}
