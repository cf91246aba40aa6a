/**
 * A hand-built ELF64 executable holding only what USDT needs: two
 * `PT_LOAD` segments, `.stapsdt.base`, a `.probes` semaphore, a symbol,
 * and a `.note.stapsdt` section with the notes given. Its notes were
 * written for a `.stapsdt.base` 0x100 below where the section now is (a
 * prelinked binary), so every address moves by 0x100.
 *
 * Layout: text at 0x400000 (file 0), `.stapsdt.base` at 0x400800, data at
 * 0x601000 (file 0x1000) with the semaphore at 0x601010 and the 8-byte
 * symbol `value` at 0x601020.
 *
 * @module
 */

import {
  buildStapsdtNote,
  type StapsdtNote,
} from "../../runtime/probes/usdt.ts";

/** Where the notes think `.stapsdt.base` is (0x100 below where it is). */
export const NOTE_BASE = 0x400700n;
/** A semaphore address as the notes write it (0x601010 after the move). */
export const NOTE_SEMAPHORE = 0x600f10n;
/** The address of the symbol `value`. */
export const VALUE_ADDRESS = 0x601020n;

/** A note for the fixture: `pc` as the notes write it (0x100 low). */
export function note(
  name: string,
  pc: bigint,
  args: string,
  semaphore = 0n,
): StapsdtNote {
  return { pc, base: NOTE_BASE, semaphore, provider: "fix", name, args };
}

/**
 * The bytes of the fixture ELF file with `notes` in `.note.stapsdt`.
 */
export function buildUsdtElf(notes: readonly StapsdtNote[]): Uint8Array {
  const enc = new TextEncoder();
  const noteData = concat(notes.map(buildStapsdtNote));
  const strtab = enc.encode("\0value\0");
  const symtab = new Uint8Array(48);
  const sv = new DataView(symtab.buffer);
  sv.setUint32(24, 1, true); // name "value"
  symtab[24 + 4] = (1 << 4) | 1; // GLOBAL OBJECT
  sv.setUint16(24 + 6, 3, true); // .probes
  sv.setBigUint64(24 + 8, VALUE_ADDRESS, true);
  sv.setBigUint64(24 + 16, 8n, true);
  const names = [
    "",
    ".text",
    ".stapsdt.base",
    ".probes",
    ".note.stapsdt",
    ".symtab",
    ".strtab",
    ".shstrtab",
  ];
  const nameOff: number[] = [];
  let shstr = "";
  for (const n of names) {
    nameOff.push(shstr.length);
    shstr += n + "\0";
  }
  const shstrtab = enc.encode(shstr);
  // File: [0, 0x1000) text, [0x1000, 0x1100) data, then the rest.
  const noteOff = 0x1100;
  const symOff = align(noteOff + noteData.length, 8);
  const strOff = symOff + symtab.length;
  const shstrOff = strOff + strtab.length;
  const shOff = align(shstrOff + shstrtab.length, 8);
  const file = new Uint8Array(shOff + 64 * names.length);
  const v = new DataView(file.buffer);
  file.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 62, true); // x86-64
  v.setUint32(20, 1, true);
  v.setBigUint64(32, 64n, true); // phoff
  v.setBigUint64(40, BigInt(shOff), true);
  v.setUint16(52, 64, true);
  v.setUint16(54, 56, true);
  v.setUint16(56, 2, true);
  v.setUint16(58, 64, true);
  v.setUint16(60, names.length, true);
  v.setUint16(62, names.length - 1, true);
  const ph = (
    i: number,
    flags: number,
    off: number,
    vaddr: number,
    sz: number,
  ) => {
    const o = 64 + i * 56;
    v.setUint32(o, 1, true); // PT_LOAD
    v.setUint32(o + 4, flags, true);
    v.setBigUint64(o + 8, BigInt(off), true);
    v.setBigUint64(o + 16, BigInt(vaddr), true);
    v.setBigUint64(o + 24, BigInt(vaddr), true);
    v.setBigUint64(o + 32, BigInt(sz), true);
    v.setBigUint64(o + 40, BigInt(sz), true);
    v.setBigUint64(o + 48, 0x1000n, true);
  };
  ph(0, 5, 0, 0x400000, 0x1000);
  ph(1, 6, 0x1000, 0x601000, 0x100);
  file.fill(0x90, 0x200, 0x400); // nops where the probes are
  file.set(noteData, noteOff);
  file.set(symtab, symOff);
  file.set(strtab, strOff);
  file.set(shstrtab, shstrOff);
  const sh = (
    i: number,
    type: number,
    addr: number,
    off: number,
    size: number,
    link = 0,
    entsize = 0,
  ) => {
    const o = shOff + i * 64;
    v.setUint32(o, nameOff[i], true);
    v.setUint32(o + 4, type, true);
    v.setBigUint64(o + 16, BigInt(addr), true);
    v.setBigUint64(o + 24, BigInt(off), true);
    v.setBigUint64(o + 32, BigInt(size), true);
    v.setUint32(o + 40, link, true);
    v.setBigUint64(o + 56, BigInt(entsize), true);
  };
  sh(1, 1, 0x400000, 0, 0x800);
  sh(2, 1, 0x400800, 0x800, 1);
  sh(3, 1, 0x601000, 0x1000, 0x100);
  sh(4, 7, 0, noteOff, noteData.length);
  sh(5, 2, 0, symOff, symtab.length, 6, 24);
  sh(6, 3, 0, strOff, strtab.length);
  sh(7, 3, 0, shstrOff, shstrtab.length);
  return file;
}

/** Writes the fixture to a fresh temporary file and returns its path. */
export function writeUsdtElf(notes: readonly StapsdtNote[]): string {
  const path = Deno.makeTempFileSync({ prefix: "tsbpf_usdt_fixture_" });
  Deno.writeFileSync(path, buildUsdtElf(notes), { mode: 0o755 });
  return path;
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
