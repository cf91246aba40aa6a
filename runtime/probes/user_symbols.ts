/**
 * User-space addresses to symbols: address → mapping in `/proc/PID/maps`
 * → file offset → ELF virtual address → symbol, as `usym`, `ustack` and
 * `func` in uprobes print. Symbol tables are cached per binary.
 *
 * @module
 */

import { type ElfInfo, type ElfSymbol, readElf } from "./elf.ts";

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** One line of `/proc/PID/maps` backed by a file. */
interface MapEntry {
  start: bigint;
  end: bigint;
  pgoff: bigint;
  path: string;
}

/** A symbol table sorted for address lookup. */
interface SortedSymbols {
  info: ElfInfo;
  values: bigint[];
  syms: ElfSymbol[];
}

const sortedCache = new Map<string, SortedSymbols | null>();

/**
 * Among aliases at one address, lower is preferred: sized, exported
 * (`.dynsym`), fewer leading underscores, global over weak over local.
 */
function preference(s: ElfSymbol): number {
  const underscores = /^_*/.exec(s.name)![0].length;
  const bind = s.bind === "global" ? 0 : s.bind === "weak" ? 1 : 2;
  return (s.size === 0 ? 1000 : 0) + (s.dynamic ? 0 : 100) +
    Math.min(underscores, 9) * 10 + bind;
}

function sortedSymbols(path: string): SortedSymbols | undefined {
  let s = sortedCache.get(path);
  if (s === undefined) {
    try {
      const info = readElf(path);
      const seen = new Set<string>();
      const syms = info.symbols.filter((x) => {
        if (x.section === 0 || x.value === 0n) return false;
        // Functions only, as bpftrace's symbolizers: a stack's stray
        // frame pointing into data prints as an address, not a variable.
        if (x.type !== "func" && x.type !== "ifunc") return false;
        const key = `${x.name}@${x.value}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      }).sort((a, b) =>
        a.value < b.value
          ? -1
          : a.value > b.value
          ? 1
          : preference(a) - preference(b) ||
            (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
      );
      s = { info, values: syms.map((x) => x.value), syms };
    } catch {
      s = null;
    }
    sortedCache.set(path, s);
  }
  return s ?? undefined;
}

/** A user address resolved to a symbol. */
export interface UserSymbol {
  name: string;
  /** Bytes past the symbol's start. */
  offset: number;
  /** The binary holding it. */
  path: string;
}

/**
 * Symbolizes user-space addresses of one process: address → mapping in
 * `/proc/PID/maps` → file offset → ELF virtual address → symbol. Symbol
 * tables are cached per binary across symbolizers.
 *
 * @example Symbolizing an address of a fake mapping
 * ```ts
 * import assert from "node:assert/strict";
 * import { ElfSymbolizer } from "./user_symbols.ts";
 * import { resolveUprobe } from "./uprobe_target.ts";
 *
 * const t = resolveUprobe("libc", "getpid");
 * // Pretend libc's file offset 0 is mapped at 0x7f0000000000.
 * const base = 0x7f0000000000n;
 * const s = ElfSymbolizer.fromMaps(
 *   `7f0000000000-7f0000400000 r-xp 00000000 08:01 42 ${t.path}\n`,
 * );
 * assert.equal(s.symbolize(base + t.fileOffset + 2n), "getpid+2");
 * ```
 */
export class ElfSymbolizer {
  #pid: number | undefined;
  #maps: MapEntry[] = [];

  /**
   * @param pid The process whose `/proc/PID/maps` to read (default: this
   * process).
   * @param maps Maps text to use instead of reading `/proc/PID/maps`.
   */
  constructor(pid?: number, maps?: string) {
    this.#pid = pid;
    if (maps === undefined) this.refresh();
    else this.#maps = parseMaps(maps);
  }

  /**
   * A symbolizer over given maps text instead of a live process.
   *
   * @example From maps text
   * ```ts
   * import assert from "node:assert/strict";
   * import { ElfSymbolizer } from "./user_symbols.ts";
   *
   * const s = ElfSymbolizer.fromMaps("");
   * assert.equal(s.symbolize(0x1234n), "0x1234");
   * ```
   */
  static fromMaps(text: string): ElfSymbolizer {
    return new ElfSymbolizer(undefined, text);
  }

  /** Re-read the process's maps (after it loaded libraries). */
  refresh(): void {
    const file = `/proc/${this.#pid ?? "self"}/maps`;
    let text = "";
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      // gone or not readable: nothing resolves
    }
    this.#maps = parseMaps(text);
  }

  /**
   * Resolve an address to symbol, offset and binary, or undefined.
   *
   * @example Resolving inside this process
   * ```ts
   * import { ElfSymbolizer } from "./user_symbols.ts";
   *
   * console.log(new ElfSymbolizer().resolve(0n)); // undefined
   * ```
   */
  resolve(addr: bigint): UserSymbol | undefined {
    const maps = this.#maps;
    let a = 0;
    let b = maps.length - 1;
    let m: MapEntry | undefined;
    while (a <= b) {
      const mid = (a + b) >>> 1;
      if (maps[mid].end <= addr) a = mid + 1;
      else if (maps[mid].start > addr) b = mid - 1;
      else {
        m = maps[mid];
        break;
      }
    }
    if (m === undefined) return undefined;
    let path = m.path;
    if (this.#pid !== undefined && !isFile(path)) {
      path = `/proc/${this.#pid}/root${m.path}`;
    }
    const table = sortedSymbols(path);
    if (table === undefined) return undefined;
    const fileOff = addr - m.start + m.pgoff;
    let vaddr: bigint | undefined;
    for (const s of table.info.loads) {
      if (fileOff >= s.offset && fileOff < s.offset + s.filesz) {
        vaddr = fileOff - s.offset + s.vaddr;
        break;
      }
    }
    if (vaddr === undefined) return undefined;
    const values = table.values;
    let lo = 0;
    let hi = values.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (values[mid] <= vaddr) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Walk back over aliases at the same address to the preferred one.
    while (found > 0 && values[found - 1] === values[found]) found--;
    if (found < 0) return undefined;
    const sym = table.syms[found];
    const offset = Number(vaddr - sym.value);
    if (sym.size > 0 && offset >= sym.size) return undefined;
    return { name: sym.name, offset, path: m.path };
  }

  /**
   * bpftrace-style text for a stack frame: `name+offset` (decimal, `+0`
   * included, as bpftrace prints frames), or the hex address when unknown.
   *
   * @example Unknown addresses print as hex
   * ```ts
   * import assert from "node:assert/strict";
   * import { ElfSymbolizer } from "./user_symbols.ts";
   *
   * assert.equal(ElfSymbolizer.fromMaps("").symbolize(0xdeadn), "0xdead");
   * ```
   */
  symbolize(addr: bigint): string {
    const s = this.resolve(addr);
    if (s === undefined) return `0x${addr.toString(16)}`;
    return `${s.name}+${s.offset}`;
  }
}

function parseMaps(text: string): MapEntry[] {
  const out: MapEntry[] = [];
  for (const line of text.split("\n")) {
    const m =
      /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+([0-9a-f]+)\s+\S+\s+\d+\s+(\/.*?)(?: \(deleted\))?$/
        .exec(line);
    if (m === null) continue;
    out.push({
      start: BigInt("0x" + m[1]),
      end: BigInt("0x" + m[2]),
      pgoff: BigInt("0x" + m[4]),
      path: m[5],
    });
  }
  return out.sort((
    a,
    b,
  ) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}
