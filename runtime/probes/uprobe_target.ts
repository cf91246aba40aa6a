/**
 * Where a uprobe attaches: `binary:symbol+offset` (or an address) resolved
 * to the file offset the kernel wants, and the function symbols of a
 * binary for `-l 'uprobe:BIN:PATTERN'`.
 *
 * @module
 */

import {
  type ElfInfo,
  type ElfSymbol,
  readElf,
  UnknownSymbolError,
} from "./elf.ts";
import { findBinary } from "./find_binary.ts";
import { globToRegExp, hasWildcard } from "./glob.ts";

/** The file offset of a virtual address, via the PT_LOAD containing it. */
function fileOffsetOf(info: ElfInfo, address: bigint): bigint | undefined {
  for (const s of info.loads) {
    if (address >= s.vaddr && address < s.vaddr + s.filesz) {
      return address - s.vaddr + s.offset;
    }
  }
  return undefined;
}

/** Where a uprobe goes. */
export interface UprobeTarget {
  /** The binary's absolute path. */
  path: string;
  /** Offset in the file: what the kernel's uprobe attach wants. */
  fileOffset: bigint;
  /** The virtual address (symbol value + offset). */
  address: bigint;
  /** The symbol resolved, when attached by name. */
  symbol?: ElfSymbol;
}

/**
 * Resolve `binary:symbol+offset` to the file offset a uprobe attaches at.
 * `binary` goes through `findBinary`; `symbol` may also be an address
 * (`0x4f2a0`). The file offset is `vaddr - p_vaddr + p_offset` of the
 * `PT_LOAD` segment holding the address.
 *
 * @throws {UnknownSymbolError} When the symbol is not defined in the binary.
 * @throws {RangeError} When the offset lies outside the symbol or no
 * segment holds the address.
 *
 * @example Resolving getpid in libc
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveUprobe } from "./uprobe_target.ts";
 *
 * const t = resolveUprobe("libc", "getpid");
 * assert.ok(t.path.startsWith("/"));
 * assert.ok(t.fileOffset > 0n);
 * ```
 */
export function resolveUprobe(
  binary: string,
  symbol: string,
  offset = 0,
): UprobeTarget {
  const path = findBinary(binary);
  const info = readElf(path);
  let address: bigint;
  let sym: ElfSymbol | undefined;
  if (/^(?:0x[0-9a-fA-F]+|\d+)$/.test(symbol)) {
    address = BigInt(symbol) + BigInt(offset);
  } else {
    sym = findSymbol(info, symbol);
    if (sym === undefined) throw new UnknownSymbolError(path, symbol);
    if (offset < 0 || (sym.size > 0 && offset >= sym.size)) {
      throw new RangeError(
        `Offset ${offset} is outside "${symbol}" (size ${sym.size}) in "${path}"`,
      );
    }
    address = sym.value + BigInt(offset);
  }
  const fileOffset = fileOffsetOf(info, address);
  if (fileOffset === undefined) {
    throw new RangeError(
      `Address 0x${
        address.toString(16)
      } is in no loadable segment of "${path}"`,
    );
  }
  const out: UprobeTarget = { path, fileOffset, address };
  if (sym !== undefined) out.symbol = sym;
  return out;
}

/**
 * bpftrace 0.26's complaint about a uprobe on a function its binary does
 * not define (`No matches for uprobe PATH:FUNC`, without the final `.`:
 * the caller ends it with `.` or `. Skipping.`), checked before loading
 * anything; undefined when the function is there, and when the binary
 * cannot be found or read as ELF (the interpreter runs such a probe on
 * synthetic events, e.g. on macOS; the kernel engine reports it when
 * attaching). The binary is named as 0.26 names it: as written when it
 * has a `/`, else the path it was found at.
 *
 * @example A function sh does not define
 * ```ts
 * import { missingUprobeFunction } from "./uprobe_target.ts";
 * const m = missingUprobeFunction("uprobe", "/bin/sh", "tsbpf_no_such_function");
 * console.assert(m === "No matches for uprobe /bin/sh:tsbpf_no_such_function");
 * ```
 *
 * @param kind `uprobe` or `uretprobe`.
 * @param binary The binary as the attach point names it.
 * @param symbol The function (or an address).
 * @param offset The offset into the function.
 * @returns The message, or undefined.
 */
export function missingUprobeFunction(
  kind: "uprobe" | "uretprobe",
  binary: string,
  symbol: string,
  offset = 0,
): string | undefined {
  // A wildcard is for listing (-l); the attach reports it.
  if (hasWildcard(symbol)) return undefined;
  try {
    resolveUprobe(binary, symbol, offset);
    return undefined;
  } catch (e) {
    if (!(e instanceof UnknownSymbolError)) return undefined;
    const shown = binary.includes("/") ? binary : e.path;
    return `No matches for ${kind} ${shown}:${symbol}`;
  }
}

function findSymbol(info: ElfInfo, name: string): ElfSymbol | undefined {
  let best: ElfSymbol | undefined;
  for (const s of info.symbols) {
    if (s.name !== name || s.section === 0 || s.value === 0n) continue;
    if (s.type === "func" || s.type === "ifunc") return s;
    best ??= s;
  }
  return best;
}

/**
 * The defined function symbols of a binary matching a wildcard pattern,
 * unique and sorted, for `-l 'uprobe:BIN:PATTERN'` (the same set bpftrace
 * lists: debug-file symbols included, `f.part.0` clones left out).
 *
 * @example Listing getpid-like functions of libc
 * ```ts
 * import assert from "node:assert/strict";
 * import { listUprobeSymbols } from "./uprobe_target.ts";
 *
 * assert.ok(listUprobeSymbols("libc", "getp*").includes("getpid"));
 * ```
 */
export function listUprobeSymbols(binary: string, pattern = "*"): string[] {
  const info = readElf(findBinary(binary));
  const wild = hasWildcard(pattern);
  const re = wild ? globToRegExp(pattern) : undefined;
  const names = new Set<string>();
  for (const s of info.symbols) {
    if (s.section === 0 || s.value === 0n) continue;
    if (s.type !== "func" && s.type !== "ifunc") continue;
    // Partial-inlining clones (`f.part.0`) are left out, as bpftrace does.
    if (/\.part\.\d/.test(s.name)) continue;
    if (re ? re.test(s.name) : s.name === pattern) names.add(s.name);
  }
  return [...names].sort();
}
