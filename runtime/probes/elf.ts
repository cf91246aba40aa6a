/**
 * A minimal ELF64 little-endian reader for uprobes: symbols from `.symtab`
 * and `.dynsym`, the `PT_LOAD` segments that turn a symbol's virtual
 * address into the file offset the kernel's uprobe wants, binary lookup by
 * bare name (`libc`, `bash`), symbol listing for `-l`, and a user-stack
 * symbolizer over `/proc/PID/maps`.
 *
 * Only the headers and the symbol and string tables are read, never the
 * whole file.
 *
 * @module
 */

import { envVar } from "./env.ts";
import { globToRegExp, hasWildcard } from "./glob.ts";

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
 * import { findBinary, readElf } from "./elf.ts";
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
 * import { findBinary, readElfSymbols } from "./elf.ts";
 *
 * const getpid = readElfSymbols(findBinary("libc")).find((s) => s.name === "getpid");
 * assert.equal(getpid?.type, "func");
 * ```
 */
export function readElfSymbols(path: string): ElfSymbol[] {
  return readElf(path).symbols;
}

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
 * import { resolveUprobe } from "./elf.ts";
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
 * import { listUprobeSymbols } from "./elf.ts";
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

const LIB_DIRS = [
  "/lib/x86_64-linux-gnu",
  "/usr/lib/x86_64-linux-gnu",
  "/lib64",
  "/usr/lib64",
  "/lib",
  "/usr/lib",
  "/usr/local/lib",
];
const binaryCache = new Map<string, string>();
let ldconfigCache: [string, string][] | undefined;

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function isElf(path: string): boolean {
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

/** `ldconfig -p` as [soname, path] pairs (64-bit x86 entries only). */
function ldconfig(): [string, string][] {
  if (ldconfigCache !== undefined) return ldconfigCache;
  ldconfigCache = [];
  for (const exe of ["/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"]) {
    try {
      const out = new Deno.Command(exe, {
        args: ["-p"],
        stdout: "piped",
        stderr: "null",
      })
        .outputSync();
      if (!out.success) continue;
      for (const line of utf8.decode(out.stdout).split("\n")) {
        const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)\s*$/.exec(line);
        if (m && (m[2].includes("x86-64") || !m[2].includes(","))) {
          ldconfigCache.push([m[1], m[3]]);
        }
      }
      break;
    } catch {
      // not installed or --allow-run missing: standard directories only
    }
  }
  return ldconfigCache;
}

/** Rank library file names for a bare name: exact, then `name.so.N`, then `name.so`. */
function libRank(file: string, name: string): number {
  if (file === name) return 0;
  const base = name.endsWith(".so") ? name : `${name}.so`;
  if (
    file.startsWith(base + ".") && /^\.[\d.]+$/.test(file.slice(base.length))
  ) {
    return 1 + (file.length - base.length) / 100;
  }
  if (file === base) return 3;
  return -1;
}

function findLibrary(name: string): string | undefined {
  let best: [number, string] | undefined;
  const consider = (file: string, path: string) => {
    const r = libRank(file, name);
    if (r < 0 || (best && best[0] <= r) || !isElf(path)) return;
    best = [r, path];
  };
  for (const dir of LIB_DIRS) {
    let entries: Iterable<Deno.DirEntry>;
    try {
      entries = Deno.readDirSync(dir);
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.name.startsWith(name)) consider(e.name, `${dir}/${e.name}`);
    }
    if (best) return best[1];
  }
  for (const [so, path] of ldconfig()) consider(so, path);
  return best?.[1];
}

function findInPath(name: string): string | undefined {
  for (
    const dir of (envVar("PATH") ?? "/usr/local/bin:/usr/bin:/bin").split(":")
  ) {
    if (dir === "") continue;
    const p = `${dir}/${name}`;
    try {
      const st = Deno.statSync(p);
      // Scripts (a pyenv shim, a wrapper) are passed over: only an ELF
      // file can be probed.
      if (st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0 && isElf(p)) {
        return p;
      }
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The absolute path of a binary named in a uprobe: an absolute path as
 * is; a relative path against the working directory; a library name
 * (`libc`, `libc.so.6`, `libbpf`) from the standard library directories
 * then `ldconfig -p`; a program name from `PATH` (the first ELF file of
 * that name: scripts such as version-manager shims are passed over).
 *
 * @throws {ElfError} When nothing matches.
 *
 * @example Finding libc and bash
 * ```ts
 * import assert from "node:assert/strict";
 * import { findBinary } from "./elf.ts";
 *
 * assert.match(findBinary("libc"), /\/libc\.so\.6$/);
 * assert.equal(findBinary("/bin/true"), "/bin/true");
 * ```
 */
export function findBinary(name: string): string {
  if (name.startsWith("/")) return name;
  const cached = binaryCache.get(name);
  if (cached !== undefined) return cached;
  let found: string | undefined;
  if (name.includes("/")) {
    const cwd = Deno.cwd();
    found = `${cwd === "/" ? "" : cwd}/${name.replace(/^\.\//, "")}`;
    if (!isFile(found)) found = undefined;
  } else if (name.startsWith("lib") || name.includes(".so")) {
    found = findLibrary(name) ?? findInPath(name);
  } else {
    found = findInPath(name) ?? findLibrary(name);
  }
  if (found === undefined) {
    throw new ElfError(name, `Cannot find binary "${name}"`);
  }
  binaryCache.set(name, found);
  return found;
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
        if (x.type !== "func" && x.type !== "ifunc" && x.type !== "object") {
          return false;
        }
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
 * import { ElfSymbolizer, resolveUprobe } from "./elf.ts";
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
   * import { ElfSymbolizer } from "./elf.ts";
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
   * import { ElfSymbolizer } from "./elf.ts";
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
   * bpftrace-style text for an address: `name+offset` (decimal; `name` at
   * offset 0), or the hex address when unknown.
   *
   * @example Unknown addresses print as hex
   * ```ts
   * import assert from "node:assert/strict";
   * import { ElfSymbolizer } from "./elf.ts";
   *
   * assert.equal(ElfSymbolizer.fromMaps("").symbolize(0xdeadn), "0xdead");
   * ```
   */
  symbolize(addr: bigint): string {
    const s = this.resolve(addr);
    if (s === undefined) return `0x${addr.toString(16)}`;
    return s.offset === 0 ? s.name : `${s.name}+${s.offset}`;
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
