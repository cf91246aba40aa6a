/**
 * USDT probes (SystemTap SDT notes): the `.note.stapsdt` notes of an ELF
 * file, with the `.stapsdt.base` address adjustment, the file offsets a
 * uprobe and its semaphore (`ref_ctr_offset`) attach at, and the x86_64
 * argument specs (`-4@%edi`, `8@-16(%rbp)`, `-4@$5`, `8@sym(%rip)`,
 * `8@(%rax,%rdx,8)`) parsed into operands the compiler reads.
 *
 * Only the ELF headers, the notes and (for symbol operands) the symbol
 * tables are read.
 *
 * @module
 */

import { type ElfInfo, readElf } from "./elf.ts";
import { findBinary } from "./find_binary.ts";
import { globToRegExp, hasWildcard } from "./glob.ts";

// The data a USDT attach point carries lives with the Program contract.
export type { UsdtArg, UsdtProbe, UsdtRegister } from "../program.ts";
import type { UsdtArg, UsdtProbe, UsdtRegister } from "../program.ts";

/** A note as it is in `.note.stapsdt`, addresses not yet adjusted. */
export interface StapsdtNote {
  /** The probe's address (`pc`). */
  pc: bigint;
  /** The `.stapsdt.base` address the note was linked with. */
  base: bigint;
  /** The semaphore's address (0: none). */
  semaphore: bigint;
  provider: string;
  name: string;
  /** The argument specs, space separated. */
  args: string;
}

/** A malformed USDT argument spec. */
export class UsdtArgError extends SyntaxError {
  /** The spec that failed. */
  readonly spec: string;

  /**
   * @param spec The spec text.
   * @param why What is wrong with it.
   */
  constructor(spec: string, why: string) {
    super(`Cannot parse USDT argument "${spec}": ${why}`);
    this.name = "UsdtArgError";
    this.spec = spec;
  }
}

const NT_STAPSDT = 3;
const utf8 = new TextDecoder();

/**
 * Parses the contents of a `.note.stapsdt` section (ELF64 little endian):
 * every note of owner `stapsdt` and type 3, in order.
 *
 * @example A hand-built note
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildStapsdtNote, parseStapsdtNotes } from "./usdt.ts";
 *
 * const data = buildStapsdtNote({
 *   pc: 0x1000n, base: 0x2000n, semaphore: 0n,
 *   provider: "app", name: "tick", args: "-4@%edi",
 * });
 * assert.equal(parseStapsdtNotes(data)[0].args, "-4@%edi");
 * ```
 */
export function parseStapsdtNotes(data: Uint8Array): StapsdtNote[] {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: StapsdtNote[] = [];
  let o = 0;
  while (o + 12 <= data.length) {
    const namesz = v.getUint32(o, true);
    const descsz = v.getUint32(o + 4, true);
    const type = v.getUint32(o + 8, true);
    const nameOff = o + 12;
    const descOff = nameOff + ((namesz + 3) & ~3);
    const next = descOff + ((descsz + 3) & ~3);
    if (descOff + descsz > data.length) break;
    const owner = utf8.decode(
      data.subarray(nameOff, nameOff + Math.max(0, namesz - 1)),
    );
    if (type === NT_STAPSDT && owner === "stapsdt" && descsz >= 24) {
      const strings: string[] = [];
      let p = descOff + 24;
      const end = descOff + descsz;
      while (strings.length < 3 && p < end) {
        let q = p;
        while (q < end && data[q] !== 0) q++;
        strings.push(utf8.decode(data.subarray(p, q)));
        p = q + 1;
      }
      out.push({
        pc: v.getBigUint64(descOff, true),
        base: v.getBigUint64(descOff + 8, true),
        semaphore: v.getBigUint64(descOff + 16, true),
        provider: strings[0] ?? "",
        name: strings[1] ?? "",
        args: strings[2] ?? "",
      });
    }
    o = next;
  }
  return out;
}

/**
 * Encodes one note as it appears in `.note.stapsdt` (for tests and for
 * building synthetic binaries): the inverse of {@linkcode parseStapsdtNotes}.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildStapsdtNote, parseStapsdtNotes } from "./usdt.ts";
 *
 * const n = { pc: 1n, base: 2n, semaphore: 3n, provider: "p", name: "n", args: "" };
 * assert.deepEqual(parseStapsdtNotes(buildStapsdtNote(n)), [n]);
 * ```
 */
export function buildStapsdtNote(note: StapsdtNote): Uint8Array {
  const enc = new TextEncoder();
  const owner = enc.encode("stapsdt\0");
  const strs = enc.encode(`${note.provider}\0${note.name}\0${note.args}\0`);
  const descsz = 24 + strs.length;
  const size = 12 + ((owner.length + 3) & ~3) + ((descsz + 3) & ~3);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, owner.length, true);
  v.setUint32(4, descsz, true);
  v.setUint32(8, NT_STAPSDT, true);
  out.set(owner, 12);
  const d = 12 + ((owner.length + 3) & ~3);
  v.setBigUint64(d, note.pc, true);
  v.setBigUint64(d + 8, note.base, true);
  v.setBigUint64(d + 16, note.semaphore, true);
  out.set(strs, d + 24);
  return out;
}

const REG64 = ["ax", "bx", "cx", "dx", "si", "di", "bp", "sp"];

/**
 * The `pt_regs` slot of an x86_64 register name (without `%`), or
 * undefined.
 *
 * @example Register names
 * ```ts
 * import assert from "node:assert/strict";
 * import { usdtRegister } from "./usdt.ts";
 *
 * assert.deepEqual(usdtRegister("edi"), { reg: "di", byte: 0, width: 4 });
 * assert.deepEqual(usdtRegister("r12b"), { reg: "r12", byte: 0, width: 1 });
 * assert.deepEqual(usdtRegister("ah"), { reg: "ax", byte: 1, width: 1 });
 * assert.equal(usdtRegister("xmm0"), undefined);
 * ```
 */
export function usdtRegister(name: string): UsdtRegister | undefined {
  const n = name.toLowerCase();
  if (n === "rip" || n === "eip") {
    return { reg: "ip", byte: 0, width: n === "rip" ? 8 : 4 };
  }
  let m = /^r(8|9|1[0-5])([dwb]?)$/.exec(n);
  if (m) {
    const width = m[2] === "d" ? 4 : m[2] === "w" ? 2 : m[2] === "b" ? 1 : 8;
    return { reg: `r${m[1]}`, byte: 0, width };
  }
  m = /^([re]?)(ax|bx|cx|dx|si|di|bp|sp)$/.exec(n);
  if (m) {
    const width = m[1] === "r" ? 8 : m[1] === "e" ? 4 : 2;
    return { reg: m[2], byte: 0, width };
  }
  m = /^([abcd])([lh])$/.exec(n);
  if (m) return { reg: `${m[1]}x`, byte: m[2] === "h" ? 1 : 0, width: 1 };
  m = /^(si|di|bp|sp)l$/.exec(n);
  if (m && REG64.includes(m[1])) return { reg: m[1], byte: 0, width: 1 };
  return undefined;
}

function parseInteger(text: string): bigint | undefined {
  const t = text.trim();
  const m = /^([+-]?)(0x[0-9a-f]+|[0-9]+)$/i.exec(t);
  if (!m) return undefined;
  const v = BigInt(m[2]);
  return m[1] === "-" ? -v : v;
}

/**
 * Parses one argument spec of a USDT note (x86_64, AT&T syntax):
 * `[-]SIZE@OPERAND` where the operand is a register (`%edi`), a constant
 * (`$5`, `$-1`, `$0x10`), or memory (`-16(%rbp)`, `(%rax,%rdx,8)`,
 * `sym(%rip)`, `sym+8(%rip)`, `sym`). A spec without `SIZE@` is 8 bytes,
 * unsigned.
 *
 * @throws {UsdtArgError} When the spec is not understood.
 *
 * @example Every operand form
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseUsdtArg } from "./usdt.ts";
 *
 * assert.equal(parseUsdtArg("-4@%edi").kind, "reg");
 * assert.equal(parseUsdtArg("-4@$5").kind, "const");
 * const m = parseUsdtArg("8@-16(%rbp)");
 * assert.equal(m.kind === "mem" && m.disp, -16);
 * ```
 */
export function parseUsdtArg(spec: string): UsdtArg {
  const fail = (why: string): never => {
    throw new UsdtArgError(spec, why);
  };
  let size: 1 | 2 | 4 | 8 = 8;
  let signed = false;
  let op = spec;
  const at = /^([+-]?)(\d+)@(.*)$/.exec(spec);
  if (at) {
    const n = Number(at[2]);
    if (n !== 1 && n !== 2 && n !== 4 && n !== 8) {
      fail(`size ${n} is not 1, 2, 4 or 8`);
    }
    size = n as 1 | 2 | 4 | 8;
    signed = at[1] === "-";
    op = at[3];
  }
  const base = { size, signed, text: spec };
  if (op.startsWith("%")) {
    const reg = usdtRegister(op.slice(1));
    if (reg === undefined) fail(`unknown register "${op}"`);
    return { ...base, kind: "reg", reg: reg! };
  }
  if (op.startsWith("$")) {
    const v = parseInteger(op.slice(1));
    if (v === undefined) fail(`bad constant "${op}"`);
    return { ...base, kind: "const", value: v!.toString() };
  }
  const mem = /^([^(]*)(?:\((.*)\))?$/.exec(op);
  if (!mem || (mem[1] === "" && mem[2] === undefined)) {
    return fail("unknown operand");
  }
  let disp = 0;
  let symbol: string | undefined;
  const d = mem[1].trim();
  if (d !== "") {
    const n = parseInteger(d);
    if (n !== undefined) disp = Number(n);
    else {
      const s = /^([A-Za-z_.$][\w.$@]*)\s*(?:([+-])\s*(0x[0-9a-f]+|\d+))?$/i
        .exec(d);
      if (!s) fail(`bad displacement "${d}"`);
      symbol = s![1];
      if (s![3] !== undefined) {
        disp = Number(BigInt(s![3])) * (s![2] === "-" ? -1 : 1);
      }
    }
  }
  const out: UsdtArg = { ...base, kind: "mem", scale: 1, disp };
  if (symbol !== undefined) out.symbol = symbol;
  if (mem[2] !== undefined) {
    const parts = mem[2].split(",").map((p) => p.trim());
    if (parts.length > 3) fail("too many parts in the memory operand");
    const reg = (text: string, what: string) => {
      if (!text.startsWith("%")) fail(`bad ${what} "${text}"`);
      const r = usdtRegister(text.slice(1));
      if (r === undefined) fail(`unknown register "${text}"`);
      return r!;
    };
    if (parts[0] !== "") out.base = reg(parts[0], "base register");
    if (parts.length >= 2 && parts[1] !== "") {
      out.index = reg(parts[1], "index register");
    }
    if (parts.length === 3 && parts[2] !== "") {
      const sc = Number(parts[2]);
      if (![1, 2, 4, 8].includes(sc)) {
        fail(`scale ${parts[2]} is not 1, 2, 4 or 8`);
      }
      out.scale = sc;
    }
    if (out.base === undefined && out.index === undefined) {
      fail("a memory operand without registers");
    }
  } else if (symbol === undefined) {
    fail("unknown operand");
  }
  return out;
}

/**
 * Parses a note's argument text: specs separated by spaces.
 *
 * @example Python's line probe
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseUsdtArgs } from "./usdt.ts";
 *
 * assert.equal(parseUsdtArgs("8@%r14 8@%rax -4@%ebp").length, 3);
 * assert.equal(parseUsdtArgs("").length, 0);
 * ```
 */
export function parseUsdtArgs(text: string): UsdtArg[] {
  // Memory operands may hold spaces after commas ("(%rax, %rdx, 8)"):
  // split on spaces outside parentheses.
  const specs: string[] = [];
  let depth = 0;
  let cur = "";
  for (const c of text) {
    if (c === "(") depth++;
    else if (c === ")") depth = Math.max(0, depth - 1);
    if (/\s/.test(c) && depth === 0) {
      if (cur !== "") specs.push(cur);
      cur = "";
    } else cur += c;
  }
  if (cur !== "") specs.push(cur);
  return specs.map(parseUsdtArg);
}

interface Section {
  name: string;
  type: number;
  addr: bigint;
  offset: bigint;
  size: bigint;
}

function readAt(file: Deno.FsFile, offset: bigint, length: number): Uint8Array {
  const buf = new Uint8Array(length);
  file.seekSync(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = file.readSync(buf.subarray(got));
    if (n === null || n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** The sections named `.note.stapsdt` and `.stapsdt.base`, with data of the first. */
function readStapsdtSections(
  path: string,
): { notes?: Uint8Array; base?: bigint } {
  const file = Deno.openSync(path, { read: true });
  try {
    const eh = readAt(file, 0n, 64);
    if (eh.length < 64 || eh[4] !== 2 || eh[5] !== 1) return {};
    const h = new DataView(eh.buffer, eh.byteOffset, eh.byteLength);
    const shoff = h.getBigUint64(40, true);
    const shentsize = h.getUint16(58, true);
    const shnum = h.getUint16(60, true);
    const shstrndx = h.getUint16(62, true);
    if (shoff === 0n || shnum === 0 || shentsize < 64) return {};
    const sh = readAt(file, shoff, shentsize * shnum);
    if (sh.length < shentsize * shnum) return {};
    const v = new DataView(sh.buffer, sh.byteOffset, sh.byteLength);
    const raw = (i: number) => ({
      nameOff: v.getUint32(i * shentsize, true),
      type: v.getUint32(i * shentsize + 4, true),
      addr: v.getBigUint64(i * shentsize + 16, true),
      offset: v.getBigUint64(i * shentsize + 24, true),
      size: v.getBigUint64(i * shentsize + 32, true),
    });
    if (shstrndx >= shnum) return {};
    const strs = raw(shstrndx);
    if (strs.size > 1n << 24n) return {};
    const names = readAt(file, strs.offset, Number(strs.size));
    const sections: Section[] = [];
    for (let i = 0; i < shnum; i++) {
      const s = raw(i);
      let end = s.nameOff;
      while (end < names.length && names[end] !== 0) end++;
      sections.push({
        name: utf8.decode(names.subarray(s.nameOff, end)),
        type: s.type,
        addr: s.addr,
        offset: s.offset,
        size: s.size,
      });
    }
    const out: { notes?: Uint8Array; base?: bigint } = {};
    const note = sections.find((s) => s.name === ".note.stapsdt");
    if (note !== undefined && note.type === 7 && note.size < 1n << 26n) {
      out.notes = readAt(file, note.offset, Number(note.size));
    }
    const base = sections.find((s) => s.name === ".stapsdt.base");
    if (base !== undefined) out.base = base.addr;
    return out;
  } finally {
    file.close();
  }
}

function fileOffsetOf(info: ElfInfo, address: bigint): bigint | undefined {
  for (const s of info.loads) {
    if (address >= s.vaddr && address < s.vaddr + s.filesz) {
      return address - s.vaddr + s.offset;
    }
  }
  return undefined;
}

/**
 * Turns a binary's notes into probe locations: addresses adjusted by
 * `.stapsdt.base` (the binary may have been prelinked after the notes
 * were written: each address moves by the section's address minus the
 * note's base), file offsets from the `PT_LOAD` segments, argument specs
 * parsed and symbol operands resolved.
 *
 * A probe whose argument specs are not understood (or name a symbol the
 * binary does not define) gets no arguments and says why in `argError`.
 *
 * @throws {RangeError} When a probe or semaphore address is in no segment.
 *
 * @example A hand-built note
 * ```ts
 * import assert from "node:assert/strict";
 * import { locateUsdtProbes } from "./usdt.ts";
 *
 * const info = {
 *   path: "/x", type: 2, machine: 62, symbols: [], hasSymtab: false,
 *   loads: [{ type: 1, flags: 5, offset: 0n, vaddr: 0x400000n, filesz: 0x1000n, memsz: 0x1000n }],
 * };
 * const [p] = locateUsdtProbes(info, [{
 *   pc: 0x400010n, base: 0x400800n, semaphore: 0n, provider: "a", name: "b", args: "8@%rdi",
 * }], 0x400900n);
 * assert.equal(p.address, 0x400110);
 * assert.equal(p.fileOffset, 0x110);
 * ```
 */
export function locateUsdtProbes(
  info: ElfInfo,
  notes: readonly StapsdtNote[],
  stapsdtBase?: bigint,
): UsdtProbe[] {
  const out: UsdtProbe[] = [];
  for (const n of notes) {
    const shift = stapsdtBase !== undefined && n.base !== 0n
      ? stapsdtBase - n.base
      : 0n;
    const address = n.pc + shift;
    const sema = n.semaphore === 0n ? 0n : n.semaphore + shift;
    const off = fileOffsetOf(info, address);
    if (off === undefined) {
      throw new RangeError(
        `USDT probe "${n.provider}:${n.name}" of "${info.path}" is at 0x${
          address.toString(16)
        }, in no loadable segment`,
      );
    }
    let semaOff = 0n;
    if (sema !== 0n) {
      const so = fileOffsetOf(info, sema);
      if (so === undefined) {
        throw new RangeError(
          `The semaphore of USDT probe "${n.provider}:${n.name}" of "${info.path}" is at 0x${
            sema.toString(16)
          }, in no loadable segment`,
        );
      }
      semaOff = so;
    }
    let args: UsdtArg[] = [];
    let argError: string | undefined;
    try {
      args = parseUsdtArgs(n.args);
    } catch (e) {
      if (!(e instanceof UsdtArgError)) throw e;
      argError = e.message;
    }
    for (const a of args) {
      if (a.kind !== "mem" || a.symbol === undefined) continue;
      const s = info.symbols.find((x) =>
        x.name === a.symbol && x.section !== 0
      );
      if (s === undefined) {
        argError =
          `Argument "${a.text}" names symbol "${a.symbol}", which "${info.path}" does not define`;
        break;
      }
      a.symbolAddress = Number(s.value);
    }
    if (argError !== undefined) args = [];
    out.push({
      path: info.path,
      provider: n.provider,
      name: n.name,
      address: Number(address),
      fileOffset: Number(off),
      semaphore: Number(sema),
      semaphoreOffset: Number(semaOff),
      args,
      argText: n.args,
      pie: info.type === 3,
      ...(argError !== undefined ? { argError } : {}),
    });
  }
  return out;
}

const cache = new Map<string, { mtime: number; probes: UsdtProbe[] }>();

/**
 * The USDT probe locations of a binary (resolved by `findBinary`), in note
 * order; empty when it has no `.note.stapsdt`. Cached per path while the
 * file's mtime stays the same.
 *
 * @throws {import("./elf.ts").ElfError} When the binary cannot be found or
 * read as ELF.
 *
 * @example Python's probes
 * ```ts
 * import { readUsdtProbes } from "./usdt.ts";
 *
 * try {
 *   console.log(readUsdtProbes("/usr/bin/python3.11").map((p) => p.name));
 * } catch {
 *   // no python3.11 here
 * }
 * ```
 */
export function readUsdtProbes(binary: string): UsdtProbe[] {
  const path = findBinary(binary);
  const info = readElf(path);
  const mtime = Deno.statSync(path).mtime?.getTime() ?? 0;
  const hit = cache.get(path);
  if (hit !== undefined && hit.mtime === mtime) return hit.probes;
  const { notes, base } = readStapsdtSections(path);
  const probes = notes === undefined
    ? []
    : locateUsdtProbes(info, parseStapsdtNotes(notes), base);
  cache.set(path, { mtime, probes });
  return probes;
}

/**
 * The probes matching `spec`: `PROVIDER:NAME` or `NAME` (any provider),
 * either part with wildcards (`*`, `?`). `*` alone matches every probe.
 *
 * @example Matching
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchUsdtProbes, type UsdtProbe } from "./usdt.ts";
 *
 * const p = (provider: string, name: string) => ({ provider, name }) as UsdtProbe;
 * const all = [p("python", "gc__start"), p("python", "gc__done"), p("libc", "setjmp")];
 * assert.equal(matchUsdtProbes(all, "gc*").length, 2);
 * assert.equal(matchUsdtProbes(all, "*:setjmp").length, 1);
 * assert.equal(matchUsdtProbes(all, "*").length, 3);
 * ```
 */
export function matchUsdtProbes(
  probes: readonly UsdtProbe[],
  spec: string,
): UsdtProbe[] {
  const colon = spec.indexOf(":");
  const prov = colon < 0 ? "*" : spec.slice(0, colon);
  const name = colon < 0 ? spec : spec.slice(colon + 1);
  const test = (pattern: string) => {
    if (!hasWildcard(pattern)) return (s: string) => s === pattern;
    const re = globToRegExp(pattern);
    return (s: string) => re.test(s);
  };
  const tp = test(prov);
  const tn = test(name);
  return probes.filter((p) => tp(p.provider) && tn(p.name));
}

/**
 * What `-l 'usdt:BIN:PATTERN'` prints: `usdt:BIN:PROVIDER:NAME` for every
 * matching probe, unique and sorted, as bpftrace lists them: `BIN` as
 * written when it is a path (holds a `/`), else the path it resolves to.
 * `pattern` is `*`, `NAME` or `PROVIDER:NAME`, with wildcards. With a
 * `pid`, `BIN` `*` (or empty) lists the probes of every file the process
 * maps, and a bare name is looked up among them first.
 *
 * @example Python's gc probes
 * ```ts
 * import { listUsdtProbes } from "./usdt.ts";
 *
 * try {
 *   console.log(listUsdtProbes("/usr/bin/python3.11", "gc*"));
 * } catch {
 *   // no python3.11 here
 * }
 * ```
 */
export function listUsdtProbes(
  binary: string,
  pattern = "*",
  pid?: number,
): string[] {
  const paths = usdtBinaries(binary, pid);
  const probes = readUsdtProbesOf(paths);
  const shown = paths.length === 1 && binary.includes("/") ? binary : "";
  const names = new Set(
    matchUsdtProbes(probes, pattern).map((p) =>
      `usdt:${shown || p.path}:${p.provider}:${p.name}`
    ),
  );
  return [...names].sort();
}

/** Whether `path` names an existing regular file. */
function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * The files process `pid` maps (`/proc/PID/maps`), in order, unique; its
 * executable first.
 *
 * @example This process maps its own executable
 * ```ts
 * import assert from "node:assert/strict";
 * import { mappedFiles } from "./usdt.ts";
 *
 * if (Deno.build.os === "linux") assert.ok(mappedFiles(Deno.pid).length > 0);
 * ```
 */
export function mappedFiles(pid: number): string[] {
  const out = new Set<string>();
  try {
    out.add(Deno.readLinkSync(`/proc/${pid}/exe`));
  } catch {
    // gone, or not ours to read
  }
  let text = "";
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/maps`);
  } catch {
    return [...out];
  }
  for (const line of text.split("\n")) {
    const m = /^\S+\s+\S+\s+\S+\s+\S+\s+\d+\s+(\/.*?)(?: \(deleted\))?$/
      .exec(line);
    if (m) out.add(m[1]);
  }
  return [...out];
}

/**
 * The binaries a usdt attach point's `BIN` stands for: with `-p`, `*` or
 * nothing means every file the process maps (as `/proc/PID/root/PATH`,
 * as bpftrace names them); otherwise the one binary
 * {@linkcode resolveUsdtBinary} finds.
 *
 * @throws {RangeError} For `*` or an empty `BIN` without a pid.
 * @throws {import("./elf.ts").ElfError} When the binary is not found.
 *
 * @example One binary
 * ```ts
 * import assert from "node:assert/strict";
 * import { usdtBinaries } from "./usdt.ts";
 *
 * assert.deepEqual(usdtBinaries("/bin/true"), ["/bin/true"]);
 * assert.throws(() => usdtBinaries("*"), RangeError);
 * ```
 */
export function usdtBinaries(target: string, pid?: number): string[] {
  if (target !== "" && target !== "*") {
    return [resolveUsdtBinary(target, pid)];
  }
  if (pid === undefined) {
    throw new RangeError(
      `A usdt probe on every binary ("${target}") needs -p PID: the files of that process`,
    );
  }
  return mappedFiles(pid).map((f) => `/proc/${pid}/root${f}`);
}

/**
 * The probes of every file in `paths` that can be read as ELF (others,
 * such as data files a process maps, are passed over).
 *
 * @example No files
 * ```ts
 * import assert from "node:assert/strict";
 * import { readUsdtProbesOf } from "./usdt.ts";
 *
 * assert.deepEqual(readUsdtProbesOf([]), []);
 * ```
 */
export function readUsdtProbesOf(paths: readonly string[]): UsdtProbe[] {
  if (paths.length === 1) return readUsdtProbes(paths[0]);
  const out: UsdtProbe[] = [];
  for (const p of paths) {
    try {
      out.push(...readUsdtProbes(p));
    } catch {
      // not ELF, unreadable, or gone: no probes
    }
  }
  return out;
}

/**
 * The binary a usdt attach point names: a bare name (`libc`, `python3.11`)
 * or relative path is looked up first among the files process `pid` maps
 * (with `-p`), then as `findBinary` does; an absolute path missing here
 * is looked up in the process's root (`/proc/PID/root/...`).
 *
 * @throws {import("./elf.ts").ElfError} When nothing is found.
 *
 * @example Without a process
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveUsdtBinary } from "./usdt.ts";
 *
 * assert.equal(resolveUsdtBinary("/bin/true"), "/bin/true");
 * ```
 */
export function resolveUsdtBinary(target: string, pid?: number): string {
  if (pid !== undefined) {
    if (target.startsWith("/")) {
      if (!isFile(target) && isFile(`/proc/${pid}/root${target}`)) {
        return `/proc/${pid}/root${target}`;
      }
    } else {
      const base = target.replace(/^.*\//, "");
      const found = mappedFiles(pid).find((f) => {
        const b = f.slice(f.lastIndexOf("/") + 1);
        return b === base || b.startsWith(`${base}.so`) ||
          b.startsWith(`${base}.`) || f.endsWith(`/${target}`);
      });
      if (found !== undefined) return found;
    }
  }
  return findBinary(target);
}
