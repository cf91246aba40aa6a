/**
 * A minimal ELF64 little-endian reader: symbols from `.symtab` and
 * `.dynsym` (and from the separate debug file a `.gnu_debuglink` or build
 * id names), the `PT_LOAD` segments that turn a symbol's virtual address
 * into a file offset, and the `.note.*` sections. Only the headers and the
 * symbol and string tables are read, never the whole file.
 *
 * Its users: `uprobe_target.ts` (where a uprobe attaches, `-l` listing),
 * `find_binary.ts` (a binary by bare name), `user_symbols.ts` (user-stack
 * symbolization), `usdt.ts` (USDT notes).
 *
 * @module
 */

/** ELF symbol type (`STT_*`). */
export type ElfSymbolType =
  | "notype"
  | "object"
  | "func"
  | "section"
  | "file"
  | "common"
  | "tls"
  | "ifunc"
  | "other";

/** ELF symbol binding (`STB_*`). */
export type ElfSymbolBind = "local" | "global" | "weak" | "unique" | "other";

/** One symbol table entry. */
export interface ElfSymbol {
  name: string;
  /** `st_value`: the virtual address for defined symbols. */
  value: bigint;
  size: number;
  type: ElfSymbolType;
  bind: ElfSymbolBind;
  /** `st_shndx`: 0 for undefined (imported) symbols. */
  section: number;
  /** From `.dynsym` (true) or `.symtab` (false). */
  dynamic: boolean;
}

/** One program header. */
export interface ElfSegment {
  /** `p_type` (1 = PT_LOAD). */
  type: number;
  /** `p_flags` (1 = X, 2 = W, 4 = R). */
  flags: number;
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
  memsz: bigint;
}

/** What `readElf` extracts. */
export interface ElfInfo {
  path: string;
  /** `e_type`: 2 = ET_EXEC, 3 = ET_DYN (PIE or shared object). */
  type: number;
  /** `e_machine` (62 = x86-64). */
  machine: number;
  /** `PT_LOAD` segments. */
  loads: ElfSegment[];
  /**
   * `.symtab` then `.dynsym` entries, named ones only. A binary without
   * `.symtab` gets the `.symtab` of its separate debug file (by build ID or
   * `.gnu_debuglink`) appended, when one is installed.
   */
  symbols: ElfSymbol[];
  /** Whether the file itself has a `.symtab`. */
  hasSymtab: boolean;
  /** The GNU build ID, hex. */
  buildId?: string;
  /** The `.gnu_debuglink` file name. */
  debugLink?: string;
  /** The separate debug file whose symbols were added. */
  debugFile?: string;
}

/** A file that cannot be read as ELF, or a binary that cannot be found. */
export class ElfError extends TypeError {
  /** The path or name concerned. */
  readonly path: string;

  /**
   * @param path The file or name.
   * @param message The full message.
   */
  constructor(path: string, message: string) {
    super(message);
    this.name = "ElfError";
    this.path = path;
  }
}

/** A symbol missing from a binary. */
export class UnknownSymbolError extends TypeError {
  /** The binary searched. */
  readonly path: string;
  /** The symbol asked for. */
  readonly symbol: string;

  /**
   * @param path The binary searched.
   * @param symbol The symbol asked for.
   */
  constructor(path: string, symbol: string) {
    super(`Unknown symbol "${symbol}" in "${path}"`);
    this.name = "UnknownSymbolError";
    this.path = path;
    this.symbol = symbol;
  }
}

const TYPES: ElfSymbolType[] = [
  "notype",
  "object",
  "func",
  "section",
  "file",
  "common",
  "tls",
];
const BINDS: ElfSymbolBind[] = ["local", "global", "weak"];
const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const SHT_NOTE = 7;

function readAt(file: Deno.FsFile, offset: bigint, length: number): Uint8Array {
  const buf = new Uint8Array(length);
  file.seekSync(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = file.readSync(buf.subarray(got));
    if (n === null || n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

const utf8 = new TextDecoder();
const elfCache = new Map<
  string,
  { mtime: number; size: number; info: ElfInfo }
>();

/**
 * Read the load segments and symbols of an ELF64 little-endian file.
 * Cached per path while the file's size and mtime stay the same.
 *
 * @throws {ElfError} When the file is missing or not a 64-bit LE ELF.
 *
 * @example Reading a shared library
 * ```ts
 * import assert from "node:assert/strict";
 * import { readElf } from "./elf.ts";
 * import { findBinary } from "./find_binary.ts";
 *
 * const info = readElf(findBinary("libc.so.6"));
 * assert.ok(info.loads.length > 0);
 * assert.ok(info.symbols.some((s) => s.name === "getpid"));
 * ```
 */
export function readElf(path: string): ElfInfo {
  let stat: Deno.FileInfo;
  try {
    stat = Deno.statSync(path);
  } catch (e) {
    throw new ElfError(path, `Cannot read ELF "${path}": ${reason(e)}`);
  }
  const mtime = stat.mtime?.getTime() ?? 0;
  const cached = elfCache.get(path);
  if (cached && cached.mtime === mtime && cached.size === stat.size) {
    return cached.info;
  }
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    throw new ElfError(path, `Cannot read ELF "${path}": ${reason(e)}`);
  }
  try {
    const info = parse(file, path, stat.size);
    if (!info.hasSymtab) addDebugSymbols(info);
    elfCache.set(path, { mtime, size: stat.size, info });
    return info;
  } finally {
    file.close();
  }
}

function addDebugSymbols(info: ElfInfo): void {
  const debug = debugFileFor(info);
  if (debug === undefined) return;
  let d: ElfInfo;
  try {
    const f = Deno.openSync(debug, { read: true });
    try {
      d = parse(f, debug, Deno.statSync(debug).size);
    } finally {
      f.close();
    }
  } catch {
    return; // unreadable or corrupt debug file: the binary's own symbols only
  }
  if (
    info.buildId !== undefined && d.buildId !== undefined &&
    d.buildId !== info.buildId
  ) {
    return;
  }
  const seen = new Set(info.symbols.map((s) => `${s.name}@${s.value}`));
  for (const s of d.symbols) {
    if (s.dynamic || seen.has(`${s.name}@${s.value}`)) continue;
    info.symbols.push(s);
  }
  info.debugFile = debug;
}

function reason(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory";
  return e instanceof Error ? e.message : String(e);
}

function parse(file: Deno.FsFile, path: string, fileSize: number): ElfInfo {
  const bad = (why: string) =>
    new ElfError(path, `Cannot read ELF "${path}": ${why}`);
  const eh = readAt(file, 0n, 64);
  if (
    eh.length < 16 || eh[0] !== 0x7f || eh[1] !== 0x45 || eh[2] !== 0x4c ||
    eh[3] !== 0x46
  ) throw bad("not an ELF file");
  if (eh[4] !== 2) throw bad("not a 64-bit ELF file");
  if (eh[5] !== 1) throw bad("not a little-endian ELF file");
  if (eh.length < 64) throw bad("truncated header");
  const h = new DataView(eh.buffer, eh.byteOffset, eh.byteLength);
  const type = h.getUint16(16, true);
  const machine = h.getUint16(18, true);
  const phoff = h.getBigUint64(32, true);
  const shoff = h.getBigUint64(40, true);
  const phentsize = h.getUint16(54, true);
  const phnum = h.getUint16(56, true);
  const shentsize = h.getUint16(58, true);
  const shnum = h.getUint16(60, true);
  const shstrndx = h.getUint16(62, true);
  const size = BigInt(fileSize);

  const loads: ElfSegment[] = [];
  if (phnum > 0) {
    if (phentsize < 56 || phoff + BigInt(phentsize * phnum) > size) {
      throw bad("bad program headers");
    }
    const ph = readAt(file, phoff, phentsize * phnum);
    const v = new DataView(ph.buffer, ph.byteOffset, ph.byteLength);
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      if (v.getUint32(o, true) !== PT_LOAD) continue;
      loads.push({
        type: PT_LOAD,
        flags: v.getUint32(o + 4, true),
        offset: v.getBigUint64(o + 8, true),
        vaddr: v.getBigUint64(o + 16, true),
        filesz: v.getBigUint64(o + 32, true),
        memsz: v.getBigUint64(o + 40, true),
      });
    }
  }

  const symbols: ElfSymbol[] = [];
  let hasSymtab = false;
  let buildId: string | undefined;
  let debugLink: string | undefined;
  if (shnum > 0 && shoff > 0n) {
    if (shentsize < 64 || shoff + BigInt(shentsize * shnum) > size) {
      throw bad("bad section headers");
    }
    const sh = readAt(file, shoff, shentsize * shnum);
    const v = new DataView(sh.buffer, sh.byteOffset, sh.byteLength);
    const section = (i: number) => {
      const o = i * shentsize;
      return {
        name: v.getUint32(o, true),
        type: v.getUint32(o + 4, true),
        offset: v.getBigUint64(o + 24, true),
        size: v.getBigUint64(o + 32, true),
        link: v.getUint32(o + 40, true),
        entsize: v.getBigUint64(o + 56, true),
      };
    };
    // .symtab first (richer), then .dynsym.
    for (const want of [SHT_SYMTAB, SHT_DYNSYM]) {
      for (let i = 0; i < shnum; i++) {
        const s = section(i);
        if (s.type !== want || s.link >= shnum) continue;
        const str = section(s.link);
        if (s.offset + s.size > size || str.offset + str.size > size) {
          throw bad("symbol table past end of file");
        }
        const symData = readAt(file, s.offset, Number(s.size));
        const strData = readAt(file, str.offset, Number(str.size));
        readSymbols(
          symData,
          strData,
          Number(s.entsize) || 24,
          want === SHT_DYNSYM,
          symbols,
        );
        if (want === SHT_SYMTAB) hasSymtab = true;
      }
    }
    // Build ID note and .gnu_debuglink, for finding separate debug files.
    const shstr = shstrndx < shnum ? section(shstrndx) : undefined;
    const names = shstr && shstr.offset + shstr.size <= size
      ? readAt(file, shstr.offset, Number(shstr.size))
      : undefined;
    for (let i = 0; i < shnum; i++) {
      const s = section(i);
      if (s.type === SHT_NOTE && s.size <= 4096n && s.offset + s.size <= size) {
        buildId ??= noteBuildId(readAt(file, s.offset, Number(s.size)));
      } else if (names && s.size < 4096n && s.offset + s.size <= size) {
        let end = s.name;
        while (end < names.length && names[end] !== 0) end++;
        if (utf8.decode(names.subarray(s.name, end)) === ".gnu_debuglink") {
          const d = readAt(file, s.offset, Number(s.size));
          const nul = d.indexOf(0);
          debugLink = utf8.decode(d.subarray(0, nul < 0 ? d.length : nul));
        }
      }
    }
  }
  const info: ElfInfo = { path, type, machine, loads, symbols, hasSymtab };
  if (buildId !== undefined) info.buildId = buildId;
  if (debugLink !== undefined) info.debugLink = debugLink;
  return info;
}

/** The hex GNU build ID in a notes section, if any. */
function noteBuildId(d: Uint8Array): string | undefined {
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  let o = 0;
  while (o + 12 <= d.length) {
    const namesz = v.getUint32(o, true);
    const descsz = v.getUint32(o + 4, true);
    const type = v.getUint32(o + 8, true);
    const nameOff = o + 12;
    const descOff = nameOff + ((namesz + 3) & ~3);
    if (descOff + descsz > d.length) break;
    if (
      type === 3 && namesz === 4 && d[nameOff] === 0x47 &&
      d[nameOff + 1] === 0x4e &&
      d[nameOff + 2] === 0x55
    ) {
      return Array.from(
        d.subarray(descOff, descOff + descsz),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("");
    }
    o = descOff + ((descsz + 3) & ~3);
  }
  return undefined;
}

/**
 * The separate debug file of a binary without `.symtab`: by build ID under
 * `/usr/lib/debug/.build-id/`, else by `.gnu_debuglink` next to the binary,
 * in its `.debug/` folder, or under `/usr/lib/debug/`.
 */
function debugFileFor(info: ElfInfo): string | undefined {
  const candidates: string[] = [];
  if (info.buildId !== undefined && info.buildId.length > 2) {
    candidates.push(
      `/usr/lib/debug/.build-id/${info.buildId.slice(0, 2)}/${
        info.buildId.slice(2)
      }.debug`,
    );
  }
  if (info.debugLink !== undefined && info.debugLink !== "") {
    const dir = info.path.slice(0, info.path.lastIndexOf("/"));
    candidates.push(
      `${dir}/${info.debugLink}`,
      `${dir}/.debug/${info.debugLink}`,
      `/usr/lib/debug${dir}/${info.debugLink}`,
    );
  }
  return candidates.find((c) => c !== info.path && isFile(c));
}

function readSymbols(
  symData: Uint8Array,
  strData: Uint8Array,
  entsize: number,
  dynamic: boolean,
  out: ElfSymbol[],
): void {
  const v = new DataView(
    symData.buffer,
    symData.byteOffset,
    symData.byteLength,
  );
  const n = Math.floor(symData.length / entsize);
  for (let i = 1; i < n; i++) {
    const o = i * entsize;
    const nameOff = v.getUint32(o, true);
    if (nameOff === 0 || nameOff >= strData.length) continue;
    let end = nameOff;
    while (end < strData.length && strData[end] !== 0) end++;
    const info = symData[o + 4];
    const t = info & 0xf;
    const b = info >> 4;
    out.push({
      name: utf8.decode(strData.subarray(nameOff, end)),
      value: v.getBigUint64(o + 8, true),
      size: Number(v.getBigUint64(o + 16, true)),
      type: t < TYPES.length ? TYPES[t] : t === 10 ? "ifunc" : "other",
      bind: b < BINDS.length ? BINDS[b] : b === 10 ? "unique" : "other",
      section: v.getUint16(o + 6, true),
      dynamic,
    });
  }
}

/**
 * The symbols of an ELF file: `.symtab` entries, then `.dynsym` entries
 * (a stripped binary has only the latter). Unnamed entries are left out.
 *
 * @example Symbols of libc
 * ```ts
 * import assert from "node:assert/strict";
 * import { readElfSymbols } from "./elf.ts";
 * import { findBinary } from "./find_binary.ts";
 *
 * const getpid = readElfSymbols(findBinary("libc")).find((s) => s.name === "getpid");
 * assert.equal(getpid?.type, "func");
 * ```
 */
export function readElfSymbols(path: string): ElfSymbol[] {
  return readElf(path).symbols;
}

/**
 * Whether `path` is a readable file that starts with the ELF magic.
 *
 * @example A script is not an ELF file, a program is
 * ```ts
 * import { isElfFile } from "./elf.ts";
 * console.assert(isElfFile("/bin/sh") && !isElfFile("/etc/hostname"));
 * ```
 */
export function isElfFile(path: string): boolean {
  try {
    const f = Deno.openSync(path, { read: true });
    try {
      const b = readAt(f, 0n, 4);
      return b.length === 4 && b[0] === 0x7f && b[1] === 0x45 &&
        b[2] === 0x4c &&
        b[3] === 0x46;
    } finally {
      f.close();
    }
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
