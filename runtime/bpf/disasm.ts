/**
 * The eBPF disassembler, in two syntaxes.
 *
 * The kernel syntax follows `kernel/bpf/disasm.c` (what the verifier log and
 * `bpftool prog dump xlated` print), without the `(b7)` opcode column:
 *
 * ```text
 *    0: r1 = *(u64 *)(r10 -8)
 *    1: *(u32 *)(r10 -4) = r1
 *    2: if r1 != 0x0 goto pc+2
 *    3: r1 = map[0] ll
 *    5: call bpf_map_lookup_elem#1
 *    6: exit
 * ```
 *
 * Lines are numbered by slot, right-aligned to four columns and followed by
 * `: ` (bpftool's `% 4d: `); the second slot of an `ld_imm64` gets no line.
 * Every `ld_imm64` ends in ` ll` (as LLVM prints it) so that it reads back
 * as the two-slot load. Its pseudo sources print as (N is the imm, unsigned):
 * `map[N]` (`MAP_FD`: in tsbpf an index into `Program.maps`),
 * `map[N][0]+OFF` (`MAP_VALUE`), `btf_id[N]`, `subprog[+N]` (`FUNC`, a
 * slot-relative offset), `map[idx:N]` and `map[idx:N][0]+OFF`.
 * Helper calls print `call bpf_NAME#ID` when the project knows the name
 * (`HELPER_NAMES`), else `call #ID`; kfunc calls `call kernel-function#ID`.
 * A slot that is not a valid instruction (unknown opcode, or reserved
 * fields set) prints `invalid insn code 0xNN`; formatting never throws.
 *
 * The mnemonic syntax is the one of ubpf / rbpf / bpf_conformance test
 * suites (`mov r0, 1`, `ldxdw r1, [r10-8]`, `jeq r1, 0, +2`,
 * `lock fetch add [r10-8], r1`); instructions it has no spelling for (load
 * acquire, store release, may_goto, addr_space_cast) print in the kernel
 * syntax, which the assembler reads on any line too.
 *
 * @module
 */

import type { Insn } from "./insn.ts";
import { checkInsns } from "./validate.ts";
import {
  decodeForm,
  helperName,
  type InsnForm,
  type Operand,
} from "./insn_form.ts";

const ALU_KERNEL: Record<string, string> = {
  ADD: "+=",
  SUB: "-=",
  MUL: "*=",
  DIV: "/=",
  OR: "|=",
  AND: "&=",
  LSH: "<<=",
  RSH: ">>=",
  MOD: "%=",
  XOR: "^=",
  MOV: "=",
  ARSH: "s>>=",
};

const JMP_KERNEL: Record<string, string> = {
  JEQ: "==",
  JGT: ">",
  JGE: ">=",
  JSET: "&",
  JNE: "!=",
  JSGT: "s>",
  JSGE: "s>=",
  JLT: "<",
  JLE: "<=",
  JSLT: "s<",
  JSLE: "s<=",
};

const ATOMIC_KERNEL: Record<string, string> = {
  add: "+=",
  or: "|=",
  and: "&=",
  xor: "^=",
};

const SIZE_SUFFIX: Record<number, string> = { 1: "b", 2: "h", 4: "w", 8: "dw" };

/** `%+d`, as the kernel prints offsets. */
function signed(n: number): string {
  return n < 0 ? `${n}` : `+${n}`;
}

function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

function mem(size: number, reg: number, off: number): string {
  return `(u${size * 8} *)(r${reg} ${signed(off)})`;
}

/** The operand of an `ld_imm64` in kernel syntax, without ` ll`. */
function ldImm64Operand(f: Extract<InsnForm, { kind: "ldImm64" }>): string {
  const n = f.lo >>> 0;
  switch (f.pseudo) {
    case 1:
      return `map[${n}]`;
    case 2:
      return `map[${n}][0]+${f.hi >>> 0}`;
    case 3:
      return `btf_id[${n}]`;
    case 4:
      return `subprog[${signed(f.lo)}]`;
    case 5:
      return `map[idx:${n}]`;
    case 6:
      return `map[idx:${n}][0]+${f.hi >>> 0}`;
    default:
      return hex((BigInt(f.hi >>> 0) << 32n) | BigInt(n));
  }
}

function invalid(insns: readonly Insn[], pc: number): string {
  const code = insns[pc]?.code ?? 0;
  return `invalid insn code 0x${(code & 0xff).toString(16).padStart(2, "0")}`;
}

function kernelForm(f: InsnForm): string {
  switch (f.kind) {
    case "alu": {
      const r = f.bits === 32 ? "w" : "r";
      const op = f.signed ? `s${ALU_KERNEL[f.op]}` : ALU_KERNEL[f.op];
      const rhs = "reg" in f.src ? `${r}${f.src.reg}` : `${f.src.imm}`;
      return `${r}${f.dst} ${op} ${rhs}`;
    }
    case "neg": {
      const r = f.bits === 32 ? "w" : "r";
      return `${r}${f.dst} = -${r}${f.dst}`;
    }
    case "movsx": {
      const r = f.bits === 32 ? "w" : "r";
      return `${r}${f.dst} = (s${f.from})${r}${f.src}`;
    }
    case "addrSpaceCast":
      return `r${f.dst} = addr_space_cast(r${f.src}, ${f.imm >>> 16}, ${
        f.imm & 0xffff
      })`;
    case "end":
      return `r${f.dst} = ${f.type}${f.width} r${f.dst}`;
    case "ldImm64":
      return `r${f.dst} = ${ldImm64Operand(f)} ll`;
    case "ldAbs":
      return `r0 = *(u${f.size * 8} *)skb[${f.imm}]`;
    case "ldInd":
      return `r0 = *(u${f.size * 8} *)skb[r${f.src} + ${f.imm}]`;
    case "ldx":
      return `r${f.dst} = *(${f.signExtend ? "s" : "u"}${
        f.size * 8
      } *)(r${f.src} ${signed(f.off)})`;
    case "st":
      return `*${mem(f.size, f.dst, f.off)} = ${f.imm}`;
    case "stx":
      return `*${mem(f.size, f.dst, f.off)} = r${f.src}`;
    case "atomic": {
      const m = mem(f.size, f.dst, f.off);
      const w = f.size === 8 ? "64" : "";
      if (f.op === "cmpxchg") {
        return `r0 = atomic${w}_cmpxchg(${m}, r0, r${f.src})`;
      }
      if (f.op === "xchg") {
        return `r${f.src} = atomic${w}_xchg(${m}, r${f.src})`;
      }
      if (f.fetch) {
        return `r${f.src} = atomic${w}_fetch_${f.op}(${m}, r${f.src})`;
      }
      return `lock *${m} ${ATOMIC_KERNEL[f.op]} r${f.src}`;
    }
    case "loadAcquire":
      return `r${f.dst} = load_acquire(${mem(f.size, f.src, f.off)})`;
    case "storeRelease":
      return `store_release(${mem(f.size, f.dst, f.off)}, r${f.src})`;
    case "ja":
      return `goto pc${signed(f.off)}`;
    case "gotol":
      return `gotol pc${signed(f.imm)}`;
    case "mayGoto":
      return `may_goto pc${signed(f.off)}`;
    case "jcond": {
      const r = f.bits === 32 ? "w" : "r";
      const rhs = "reg" in f.src ? `${r}${f.src.reg}` : hex(f.src.imm >>> 0);
      return `if ${r}${f.dst} ${JMP_KERNEL[f.op]} ${rhs} goto pc${
        signed(f.off)
      }`;
    }
    case "call":
      if (f.src === 1) return `call pc${signed(f.imm)}`;
      if (f.src === 2) return `call kernel-function#${f.imm}`;
      return `call ${helperName(f.imm) ?? ""}#${f.imm}`;
    case "exit":
      return "exit";
  }
}

/**
 * The kernel-syntax text of slot `pc` (reading `pc + 1` for `ld_imm64`),
 * without the index. Never throws: a slot that is no valid instruction
 * gives `invalid insn code 0xNN`.
 *
 * @example Format a stack load
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatInsn } from "./disasm.ts";
 * const text = formatInsn([{ code: 0x79, dst: 1, src: 10, off: -8, imm: 0 }], 0);
 * assert.equal(text, "r1 = *(u64 *)(r10 -8)");
 * ```
 */
export function formatInsn(insns: readonly Insn[], pc: number): string {
  const f = decodeForm(insns, pc);
  return f === undefined ? invalid(insns, pc) : kernelForm(f);
}

function mnemonicMem(reg: number, off: number): string {
  return off === 0 ? `[r${reg}]` : `[r${reg}${signed(off)}]`;
}

function mnemonicOperand(src: Operand): string {
  return "reg" in src ? `r${src.reg}` : `${src.imm}`;
}

function mnemonicForm(f: InsnForm): string {
  switch (f.kind) {
    case "alu": {
      let name = f.op.toLowerCase();
      if (f.signed) name = `s${name}`;
      if (f.bits === 32) name += "32";
      return `${name} r${f.dst}, ${mnemonicOperand(f.src)}`;
    }
    case "neg":
      return `neg${f.bits === 32 ? "32" : ""} r${f.dst}`;
    case "movsx":
      return `movsx${f.from}${f.bits} r${f.dst}, r${f.src}`;
    case "end":
      return `${f.type}${f.width} r${f.dst}`;
    case "ldImm64":
      if (f.pseudo === 1) return `lddw r${f.dst}, map:${f.lo >>> 0}`;
      return `lddw r${f.dst}, ${ldImm64Operand(f)}`;
    case "ldAbs":
      return `ldabs${SIZE_SUFFIX[f.size]} ${f.imm}`;
    case "ldInd":
      return `ldind${SIZE_SUFFIX[f.size]} r${f.src}, ${f.imm}`;
    case "ldx":
      return `ldx${f.signExtend ? "s" : ""}${SIZE_SUFFIX[f.size]} r${f.dst}, ${
        mnemonicMem(f.src, f.off)
      }`;
    case "st":
      return `st${SIZE_SUFFIX[f.size]} ${mnemonicMem(f.dst, f.off)}, ${f.imm}`;
    case "stx":
      return `stx${SIZE_SUFFIX[f.size]} ${
        mnemonicMem(f.dst, f.off)
      }, r${f.src}`;
    case "atomic": {
      const w = f.size === 4 ? "32" : "";
      const fetch = f.fetch && f.op !== "xchg" && f.op !== "cmpxchg"
        ? "fetch "
        : "";
      return `lock ${fetch}${f.op}${w} ${mnemonicMem(f.dst, f.off)}, r${f.src}`;
    }
    case "ja":
      return `ja ${signed(f.off)}`;
    case "gotol":
      return `ja32 ${signed(f.imm)}`;
    case "jcond": {
      const name = f.op.toLowerCase() + (f.bits === 32 ? "32" : "");
      return `${name} r${f.dst}, ${mnemonicOperand(f.src)}, ${signed(f.off)}`;
    }
    case "call":
      if (f.src === 1) return `call local ${signed(f.imm)}`;
      if (f.src === 2) return `call runtime ${f.imm}`;
      return `call ${f.imm}`;
    case "exit":
      return "exit";
    default:
      // loadAcquire, storeRelease, mayGoto, addrSpaceCast: kernel syntax.
      return kernelForm(f);
  }
}

/**
 * The mnemonic-syntax (ubpf / rbpf) text of slot `pc`, without the index.
 * Forms the mnemonic syntax cannot spell print in the kernel syntax.
 *
 * @example Format a stack store
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatMnemonic } from "./disasm.ts";
 * const text = formatMnemonic([{ code: 0x7b, dst: 10, src: 1, off: -8, imm: 0 }], 0);
 * assert.equal(text, "stxdw [r10-8], r1");
 * ```
 */
export function formatMnemonic(insns: readonly Insn[], pc: number): string {
  const f = decodeForm(insns, pc);
  return f === undefined ? invalid(insns, pc) : mnemonicForm(f);
}

function listing(
  insns: readonly Insn[],
  format: (f: InsnForm) => string,
): string[] {
  const lines: string[] = [];
  for (let pc = 0; pc < insns.length; pc++) {
    const f = decodeForm(insns, pc);
    const text = f === undefined ? invalid(insns, pc) : format(f);
    lines.push(`${String(pc).padStart(4)}: ${text}`);
    if (f?.kind === "ldImm64") pc++;
  }
  return lines;
}

/**
 * Disassembles a program in the kernel syntax: one line per instruction,
 * `INDEX: text`, the index counting slots and right-aligned to width 4.
 *
 * @throws {import("./validate.ts").InvalidInsnError} for a slot that is
 *   not an instruction (an unknown opcode is listed, not thrown).
 * @example Disassemble `r0 = 0; exit`
 * ```ts
 * import assert from "node:assert/strict";
 * import { disassemble } from "./disasm.ts";
 * const lines = disassemble([
 *   { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 },
 *   { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
 * ]);
 * assert.equal(lines.join("\n"), "   0: r0 = 0\n   1: exit");
 * ```
 */
export function disassemble(insns: readonly Insn[]): string[] {
  checkInsns(insns, "disassemble()");
  return listing(insns, kernelForm);
}

/**
 * Disassembles a program in the mnemonic syntax, numbered like
 * {@linkcode disassemble}.
 *
 * @example Disassemble `mov r0, 0; exit`
 * ```ts
 * import assert from "node:assert/strict";
 * import { disassembleMnemonic } from "./disasm.ts";
 * const lines = disassembleMnemonic([
 *   { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 },
 *   { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
 * ]);
 * assert.equal(lines.join("\n"), "   0: mov r0, 0\n   1: exit");
 * ```
 */
export function disassembleMnemonic(insns: readonly Insn[]): string[] {
  checkInsns(insns, "disassembleMnemonic()");
  return listing(insns, mnemonicForm);
}
