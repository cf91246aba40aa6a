/**
 * The eBPF text assembler. It reads two syntaxes, mixed freely line by line:
 *
 * - the kernel syntax that `formatInsn` (disasm.ts) prints (the verifier log's
 *   `r1 = *(u64 *)(r10 -8)`, `if r1 != 0x0 goto pc+2`, `r1 = map[0] ll`,
 *   `call bpf_map_lookup_elem#1`, `lock *(u64 *)(r1 +0) += r2`, ...), with
 *   `goto LABEL` allowed wherever `goto pc+N` is;
 * - the mnemonic syntax of ubpf / rbpf / bpf_conformance test suites
 *   (`mov r0, 1`, `ldxdw r1, [r10-8]`, `stw [r10-4], 1`, `jeq r1, 0, +2`,
 *   `lddw r1, map:0`, `call 1`, `call local NAME`, `lock fetch add [r1], r2`,
 *   `xadddw [r1+0], r2`, ...).
 *
 * Registers are `r0`-`r10` (or `%r0`), `w0`-`w10` in kernel syntax for
 * 32-bit operations. Comments start with `#`, `//` or `;` (a `#` glued to a
 * helper name or following `call` is the helper id, as in `call #5`).
 * `NAME:` at the start of a line defines a label; jump offsets to labels are
 * counted in slots. Lines may carry the `N:` index (and `(b7)` opcode
 * column) that `disassemble` and bpftool print: they are skipped.
 * As in bpf_conformance, a jump to the undefined label `exit` goes to the
 * first `exit` instruction. 32-bit immediates accept -2^31 to 2^32-1 and
 * keep the low 32 bits.
 *
 * Lexing is `asm_lexer.ts`, the opcode tables `asm_opcodes.ts`.
 *
 * @module
 */

import { type Insn, insn, LD_IMM64 } from "./insn.ts";
import { describeValue } from "./validate.ts";
import {
  AsmError,
  checkWidth,
  commentStart,
  Cursor,
  INT32_MIN,
  type Reg,
  UINT32_MAX,
} from "./asm_lexer.ts";
import {
  ALU_KERNEL,
  ALU_OPS,
  ATOMIC_OPS,
  HELPERS,
  JMP_KERNEL,
  JMP_OPS,
  SIZE_BITS,
  SIZE_OF_BYTES,
} from "./asm_opcodes.ts";

export { AsmError } from "./asm_lexer.ts";

interface Fixup {
  slot: number;
  label: string;
  field: "off" | "imm";
  /** `call NAME` that named no helper: resolves as a bpf-to-bpf call. */
  helperOrLabel?: boolean;
  line: number;
  col: number;
}

type Target = { rel: number } | { label: string; col: number };

/** Assembler state for one text. */
class Asm {
  out: Insn[] = [];
  fixups: Fixup[] = [];
  labels = new Map<string, { slot: number; line: number }>();
  firstExit: number | undefined;

  constructor(readonly file: string) {}

  emit(i: Insn): void {
    this.out.push(i);
  }

  /** Emits a jump-like slot whose `field` holds the target offset. */
  emitTarget(c: Cursor, i: Insn, t: Target, field: "off" | "imm"): void {
    if ("rel" in t) {
      this.emit(field === "off" ? { ...i, off: t.rel } : { ...i, imm: t.rel });
    } else {
      this.fixups.push({
        slot: this.out.length,
        label: t.label,
        field,
        line: c.line,
        col: t.col,
      });
      this.emit(i);
    }
  }

  ldImm64(dst: number, pseudo: number, lo: number, hi: number): void {
    this.emit(insn(LD_IMM64, dst, pseudo, 0, lo));
    this.emit(insn(0, 0, 0, 0, hi));
  }

  // ---------------------------------------------------------------- operands

  /** `pc+N`, `+N`, `-N`, `N` or a label. */
  target(c: Cursor, field: "off" | "imm"): Target {
    c.ws();
    const col = c.p + 1;
    c.re(/pc(?=\s*[+-])/);
    if (c.re(/(?=[+\-\d])/) !== undefined) {
      const { v, text, col: ncol } = c.num("a jump offset");
      if (field === "off") return { rel: c.off16(v, text, ncol) };
      if (v < INT32_MIN || v > 2n ** 31n - 1n) {
        c.fail(`Offset ${text} does not fit 32 bits`, ncol);
      }
      return { rel: Number(v) };
    }
    const m = c.re(/[A-Za-z_.][\w.]*/);
    if (m === undefined) c.fail(`Expected a jump target, found ${c.found()}`);
    return { label: m[0], col };
  }

  /** Kernel `(u64 *)`; returns the size in bytes and signedness. */
  sizeType(c: Cursor): { size: number; signed: boolean; col: number } {
    c.ws();
    const col = c.p + 1;
    const m = c.re(/\(\s*([us])(8|16|32|64)\s*\*\s*\)/);
    if (m === undefined) {
      c.fail(`Expected a type like "(u64 *)", found ${c.found()}`);
    }
    return { size: Number(m[2]) / 8, signed: m[1] === "s", col };
  }

  /** Kernel `(r10 -8)`. */
  kAddr(c: Cursor): { reg: number; off: number } {
    c.expect("(");
    const r = c.reg();
    let off = 0;
    if (!c.lit(")")) {
      const { v, text, col } = c.num("an offset");
      off = c.off16(v, text, col);
      c.expect(")");
    }
    return { reg: r.n, off };
  }

  /** Mnemonic `[r10-8]`. */
  mAddr(c: Cursor): { reg: number; off: number } {
    c.expect("[");
    const r = c.reg();
    let off = 0;
    if (!c.lit("]")) {
      const { v, text, col } = c.num("an offset");
      off = c.off16(v, text, col);
      c.expect("]");
    }
    return { reg: r.n, off };
  }

  /** `map[N]`, `map[N][0]+OFF`, `map[idx:N]...`, `btf_id[N]`, `subprog[T]`. */
  pseudo(c: Cursor, dst: number): boolean {
    if (c.lit("map")) {
      if (c.lit(":")) {
        this.ldImm64(dst, 1, c.imm32("a map index"), 0);
        return true;
      }
      c.expect("[");
      const idx = c.lit("idx") ? (c.expect(":"), true) : false;
      const n = c.imm32("a map index");
      c.expect("]");
      if (c.lit("[")) {
        c.expect("0");
        c.expect("]");
        c.expect("+");
        this.ldImm64(dst, idx ? 6 : 2, n, c.imm32("a value offset"));
      } else {
        this.ldImm64(dst, idx ? 5 : 1, n, 0);
      }
      return true;
    }
    if (c.lit("btf_id")) {
      c.expect("[");
      const n = c.imm32("a BTF id");
      c.expect("]");
      this.ldImm64(dst, 3, n, 0);
      return true;
    }
    if (c.lit("subprog")) {
      c.expect("[");
      const t = this.target(c, "imm");
      c.expect("]");
      this.emitTarget(c, insn(LD_IMM64, dst, 4, 0, 0), t, "imm");
      this.emit(insn(0, 0, 0, 0, 0));
      return true;
    }
    return false;
  }

  imm64(c: Cursor, dst: number): void {
    const { v, text, col } = c.num("a 64-bit immediate");
    if (v < -(2n ** 63n) || v > 2n ** 64n - 1n) {
      c.fail(`Immediate ${text} does not fit 64 bits`, col);
    }
    const u = BigInt.asUintN(64, v);
    this.ldImm64(
      dst,
      0,
      Number(BigInt.asIntN(32, u)),
      Number(BigInt.asIntN(32, u >> 32n)),
    );
  }

  // ------------------------------------------------------------- statements

  statement(c: Cursor): void {
    c.ws();
    if (c.s[c.p] === "*") {
      c.p++;
      return this.kStore(c);
    }
    if (c.isReg()) return this.kRegister(c);
    const col = c.p + 1;
    const w = c.word();
    if (w === undefined) c.fail(`Unknown instruction ${c.found()}`);
    switch (w) {
      case "if":
        return this.kIf(c);
      case "goto":
        return this.emitTarget(
          c,
          insn(0x05, 0, 0, 0, 0),
          this.target(c, "off"),
          "off",
        );
      case "gotol":
      case "ja32":
        return this.emitTarget(
          c,
          insn(0x06, 0, 0, 0, 0),
          this.target(c, "imm"),
          "imm",
        );
      case "ja":
        return this.emitTarget(
          c,
          insn(0x05, 0, 0, 0, 0),
          this.target(c, "off"),
          "off",
        );
      case "may_goto":
        return this.emitTarget(
          c,
          insn(0xe5, 0, 0, 0, 0),
          this.target(c, "off"),
          "off",
        );
      case "exit":
        this.firstExit ??= this.out.length;
        return this.emit(insn(0x95, 0, 0, 0, 0));
      case "call":
        return this.call(c);
      case "lock":
        return this.lock(c);
      case "store_release": {
        c.expect("(");
        const { size } = this.unsignedType(c);
        const a = this.kAddr(c);
        c.expect(",");
        const s = c.reg();
        c.expect(")");
        return this.emit(
          insn(0xc3 | SIZE_OF_BYTES[size], a.reg, s.n, a.off, 0x110),
        );
      }
      case "lddw": {
        const d = c.reg();
        c.expect(",");
        if (!this.pseudo(c, d.n)) this.imm64(c, d.n);
        return;
      }
    }
    this.mnemonic(c, w, col);
  }

  unsignedType(c: Cursor): { size: number; col: number } {
    const t = this.sizeType(c);
    if (t.signed) c.fail(`Expected an unsigned type here`, t.col);
    return t;
  }

  /** `*(u32 *)(r10 -4) = r1` or `= 5`. */
  kStore(c: Cursor): void {
    const { size } = this.unsignedType(c);
    const a = this.kAddr(c);
    c.expect("=");
    if (c.isReg()) {
      const s = c.reg();
      return this.emit(insn(0x63 | SIZE_OF_BYTES[size], a.reg, s.n, a.off, 0));
    }
    this.emit(insn(0x62 | SIZE_OF_BYTES[size], a.reg, 0, a.off, c.imm32()));
  }

  /** Statements that start with a register. */
  kRegister(c: Cursor): void {
    const d = c.reg(true);
    const cls = d.w ? 0x04 : 0x07;
    const opm = c.re(
      /(s>>=|<<=|>>=|s\/=|s%=|\+=|-=|\*=|\/=|\|=|&=|%=|\^=|=(?!=))/,
    );
    if (opm === undefined) {
      c.fail(
        `Expected an assignment operator after "${
          c.s.slice(d.col - 1, c.p).trim()
        }", found ${c.found()}`,
      );
    }
    const [op, off] = ALU_KERNEL[opm[0]];
    if (opm[0] !== "=") return this.aluOperand(c, cls | op, d, off);
    // `=`: the many forms of an assignment.
    const sameReg = (what: string) => {
      const r = c.reg(true);
      if (r.n !== d.n || r.w !== d.w) {
        c.fail(`${what} must name its destination register`, r.col);
      }
    };
    if (c.re(/-(?=\s*%?[rw]\d)/)) {
      sameReg("Negation");
      return this.emit(insn(cls | 0x80, d.n, 0, 0, 0));
    }
    const sx = c.re(/\(\s*s(8|16|32)\s*\)/);
    if (sx) {
      const s = c.reg(true);
      checkWidth(c, d, s);
      if (d.w && sx[1] === "32") {
        c.fail(`Cannot sign-extend 32 bits into a 32-bit register`, s.col);
      }
      return this.emit(insn(cls | 0xb8, d.n, s.n, Number(sx[1]), 0));
    }
    if (c.lit("*")) {
      if (d.w) c.fail(`Loads write a 64-bit register, found "w${d.n}"`, d.col);
      const t = this.sizeType(c);
      if (c.lit("skb")) {
        if (t.signed || t.size === 8) {
          c.fail(`Packet loads are u8, u16 or u32`, t.col);
        }
        if (d.n !== 0) c.fail(`Packet loads write r0`, d.col);
        const sz = SIZE_OF_BYTES[t.size];
        c.expect("[");
        if (c.isReg()) {
          const s = c.reg();
          c.expect("+");
          const imm = c.imm32();
          c.expect("]");
          return this.emit(insn(0x40 | sz, 0, s.n, 0, imm));
        }
        const imm = c.imm32();
        c.expect("]");
        return this.emit(insn(0x20 | sz, 0, 0, 0, imm));
      }
      const a = this.kAddr(c);
      if (t.signed && t.size === 8) {
        c.fail(`Sign-extending loads are s8, s16 or s32`, t.col);
      }
      const mode = t.signed ? 0x81 : 0x61;
      return this.emit(
        insn(mode | SIZE_OF_BYTES[t.size], d.n, a.reg, a.off, 0),
      );
    }
    const end = c.re(/(be|le|bswap)(16|32|64)(?!\w)/);
    if (end) {
      if (d.w) {
        c.fail(`Byte swaps write a 64-bit register, found "w${d.n}"`, d.col);
      }
      sameReg("A byte swap");
      const code = end[1] === "bswap" ? 0xd7 : end[1] === "be" ? 0xdc : 0xd4;
      return this.emit(insn(code, d.n, 0, 0, Number(end[2])));
    }
    const atom = c.re(
      /atomic(64)?_(fetch_(add|and|or|xor)|xchg|cmpxchg)(?!\w)/,
    );
    if (atom) return this.kAtomic(c, d, atom);
    if (c.lit("load_acquire")) {
      c.expect("(");
      const { size } = this.unsignedType(c);
      const a = this.kAddr(c);
      c.expect(")");
      return this.emit(
        insn(0xc3 | SIZE_OF_BYTES[size], d.n, a.reg, a.off, 0x100),
      );
    }
    if (c.lit("addr_space_cast")) {
      c.expect("(");
      const s = c.reg();
      c.expect(",");
      const to = c.imm32();
      c.expect(",");
      const from = c.imm32();
      c.expect(")");
      return this.emit(
        insn(0xbf, d.n, s.n, 1, ((to & 0xffff) << 16) | (from & 0xffff)),
      );
    }
    if (!d.w && this.pseudo(c, d.n)) {
      c.lit("ll");
      return;
    }
    if (c.isReg()) return this.aluOperand(c, cls | 0xb0, d, 0);
    const save = c.p;
    const { v, text, col } = c.num("a register or an immediate");
    if (c.lit("ll")) {
      if (d.w) {
        c.fail(`A 64-bit load needs a 64-bit register, found "w${d.n}"`, d.col);
      }
      c.p = save;
      this.imm64(c, d.n);
      c.expect("ll");
      return;
    }
    if (v < INT32_MIN || v > UINT32_MAX) {
      c.fail(
        `Immediate ${text} does not fit 32 bits (write "${text} ll" for a 64-bit load)`,
        col,
      );
    }
    this.emit(insn(cls | 0xb0, d.n, 0, 0, Number(BigInt.asIntN(32, v))));
  }

  /** `REG` or `IMM` as the right operand of an ALU operation. */
  aluOperand(c: Cursor, code: number, d: Reg, off: number): void {
    if (c.isReg()) {
      const s = c.reg(true);
      checkWidth(c, d, s);
      return this.emit(insn(code | 0x08, d.n, s.n, off, 0));
    }
    this.emit(insn(code, d.n, 0, off, c.imm32("a register or an immediate")));
  }

  kAtomic(c: Cursor, d: Reg, m: RegExpExecArray): void {
    const is64 = m[1] === "64";
    c.expect("(");
    const t = this.unsignedType(c);
    if (t.size !== (is64 ? 8 : 4)) {
      c.fail(
        `atomic${is64 ? "64" : ""} operations take ${
          is64 ? "(u64 *)" : "(u32 *)"
        }`,
        t.col,
      );
    }
    const a = this.kAddr(c);
    c.expect(",");
    let imm: number;
    if (m[2] === "cmpxchg") {
      if (d.n !== 0) c.fail(`cmpxchg writes r0, found "r${d.n}"`, d.col);
      const r0 = c.reg(true);
      if (r0.n !== 0) {
        c.fail(`cmpxchg compares with r0, found "r${r0.n}"`, r0.col);
      }
      c.expect(",");
      imm = 0xf1;
    } else {
      imm = m[2] === "xchg" ? 0xe1 : ATOMIC_OPS[m[3]] | 0x01;
    }
    const s = c.reg(true);
    if (m[2] !== "cmpxchg" && s.n !== d.n) {
      c.fail(
        `The fetched value goes back to the source register "r${s.n}"`,
        d.col,
      );
    }
    c.expect(")");
    this.emit(insn(0xc3 | SIZE_OF_BYTES[t.size], a.reg, s.n, a.off, imm));
  }

  kIf(c: Cursor): void {
    const d = c.reg(true);
    const m = c.re(/(s>=|s<=|s>|s<|==|!=|>=|<=|>|<|&)/);
    if (m === undefined) c.fail(`Expected a comparison, found ${c.found()}`);
    let i: Insn;
    const cls = d.w ? 0x06 : 0x05;
    if (c.isReg()) {
      const s = c.reg(true);
      checkWidth(c, d, s);
      i = insn(cls | JMP_KERNEL[m[0]] | 0x08, d.n, s.n, 0, 0);
    } else {
      i = insn(
        cls | JMP_KERNEL[m[0]],
        d.n,
        0,
        0,
        c.imm32("a register or an immediate"),
      );
    }
    c.expect("goto");
    this.emitTarget(c, i, this.target(c, "off"), "off");
  }

  call(c: Cursor): void {
    const helper = (id: number) => this.emit(insn(0x85, 0, 0, 0, id));
    if (c.lit("local") || c.peek(/pc\s*[+-]/)) {
      return this.emitTarget(
        c,
        insn(0x85, 0, 1, 0, 0),
        this.target(c, "imm"),
        "imm",
      );
    }
    if (c.lit("helper")) return helper(c.imm32("a helper id"));
    if (c.lit("runtime") || c.re(/kernel-function#/)) {
      return this.emit(insn(0x85, 0, 2, 0, c.imm32("a kfunc id")));
    }
    if (c.lit("#")) return helper(c.imm32("a helper id"));
    c.ws();
    const col = c.p + 1;
    const name = c.word();
    if (name !== undefined) {
      if (c.s[c.p] === "#") {
        c.p++;
        return helper(c.imm32("a helper id"));
      }
      const id = HELPERS.get(name);
      if (id !== undefined) return helper(id);
      this.fixups.push({
        slot: this.out.length,
        label: name,
        field: "imm",
        helperOrLabel: true,
        line: c.line,
        col,
      });
      return this.emit(insn(0x85, 0, 1, 0, 0));
    }
    helper(c.imm32("a helper id or name"));
  }

  lock(c: Cursor): void {
    if (c.lit("*")) {
      const { size } = this.unsignedType(c);
      if (size !== 4 && size !== 8) c.fail(`Atomic operations are u32 or u64`);
      const a = this.kAddr(c);
      const m = c.re(/(\+=|\|=|&=|\^=)/);
      if (m === undefined) {
        c.fail(`Expected "+=", "|=", "&=" or "^=", found ${c.found()}`);
      }
      const s = c.reg(true);
      const imm = { "+=": 0x00, "|=": 0x40, "&=": 0x50, "^=": 0xa0 }[m[0]]!;
      return this.emit(
        insn(0xc3 | SIZE_OF_BYTES[size], a.reg, s.n, a.off, imm),
      );
    }
    const fetch = c.lit("fetch");
    c.ws();
    const col = c.p + 1;
    const m = c.re(/(add|or|and|xor|xchg|cmpxchg)(32|64)?(?!\w)/);
    if (m === undefined) c.fail(`Unknown atomic operation ${c.found()}`, col);
    const a = this.mAddr(c);
    c.expect(",");
    const s = c.reg();
    const imm = ATOMIC_OPS[m[1]] | (fetch ? 0x01 : 0);
    this.emit(insn(m[2] === "32" ? 0xc3 : 0xdb, a.reg, s.n, a.off, imm));
  }

  mnemonic(c: Cursor, w: string, col: number): void {
    let m: RegExpExecArray | null;
    if (
      (m =
        /^(add|sub|mul|div|sdiv|or|and|lsh|rsh|mod|smod|xor|mov|arsh)(32|64)?$/
          .exec(w))
    ) {
      const d = c.reg();
      c.expect(",");
      const cls = m[2] === "32" ? 0x04 : 0x07;
      const off = m[1] === "sdiv" || m[1] === "smod" ? 1 : 0;
      return this.aluOperand(c, cls | ALU_OPS[m[1]], d, off);
    }
    if ((m = /^neg(32|64)?$/.exec(w))) {
      return this.emit(
        insn((m[1] === "32" ? 0x04 : 0x07) | 0x80, c.reg().n, 0, 0, 0),
      );
    }
    if (
      (m = /^movsx(8|16|32)(32|64)?$/.exec(w)) &&
      !(m[1] === "32" && m[2] === "32")
    ) {
      const d = c.reg();
      c.expect(",");
      const s = c.reg();
      return this.emit(
        insn(m[2] === "32" ? 0xbc : 0xbf, d.n, s.n, Number(m[1]), 0),
      );
    }
    if ((m = /^(le|be|bswap|swap)(16|32|64)$/.exec(w))) {
      const code = m[1] === "le" ? 0xd4 : m[1] === "be" ? 0xdc : 0xd7;
      return this.emit(insn(code, c.reg().n, 0, 0, Number(m[2])));
    }
    if ((m = /^ldx(s?)(b|h|w|dw)$/.exec(w)) && !(m[1] && m[2] === "dw")) {
      const d = c.reg();
      c.expect(",");
      const a = this.mAddr(c);
      return this.emit(
        insn((m[1] ? 0x81 : 0x61) | SIZE_BITS[m[2]], d.n, a.reg, a.off, 0),
      );
    }
    if ((m = /^st(x?)(b|h|w|dw)$/.exec(w))) {
      const a = this.mAddr(c);
      c.expect(",");
      if (m[1]) {
        return this.emit(
          insn(0x63 | SIZE_BITS[m[2]], a.reg, c.reg().n, a.off, 0),
        );
      }
      return this.emit(
        insn(0x62 | SIZE_BITS[m[2]], a.reg, 0, a.off, c.imm32()),
      );
    }
    if ((m = /^xadd(w|dw)$/.exec(w))) {
      const a = this.mAddr(c);
      c.expect(",");
      return this.emit(
        insn(0xc3 | SIZE_BITS[m[1]], a.reg, c.reg().n, a.off, 0),
      );
    }
    if ((m = /^ld(abs|ind)(b|h|w)$/.exec(w))) {
      if (m[1] === "abs") {
        return this.emit(insn(0x20 | SIZE_BITS[m[2]], 0, 0, 0, c.imm32()));
      }
      const s = c.reg();
      c.expect(",");
      return this.emit(insn(0x40 | SIZE_BITS[m[2]], 0, s.n, 0, c.imm32()));
    }
    if ((m = /^(j(?:eq|gt|ge|set|ne|sgt|sge|lt|le|slt|sle))(32)?$/.exec(w))) {
      const d = c.reg();
      c.expect(",");
      const cls = m[2] ? 0x06 : 0x05;
      let i: Insn;
      if (c.isReg()) i = insn(cls | JMP_OPS[m[1]] | 0x08, d.n, c.reg().n, 0, 0);
      else {i = insn(
          cls | JMP_OPS[m[1]],
          d.n,
          0,
          0,
          c.imm32("a register or an immediate"),
        );}
      c.expect(",");
      return this.emitTarget(c, i, this.target(c, "off"), "off");
    }
    c.fail(`Unknown mnemonic "${w}"`, col);
  }

  // ---------------------------------------------------------------- labels

  resolve(): Insn[] {
    for (const f of this.fixups) {
      let at = this.labels.get(f.label)?.slot;
      if (at === undefined && f.label === "exit") at = this.firstExit;
      if (at === undefined) {
        const what = f.helperOrLabel ? "helper or label" : "label";
        throw new AsmError(
          `Unknown ${what} "${f.label}"`,
          this.file,
          f.line,
          f.col,
        );
      }
      const rel = at - (f.slot + 1);
      const i = this.out[f.slot];
      if (f.field === "off") {
        if (rel < -32768 || rel > 32767) {
          throw new AsmError(
            `Jump to "${f.label}" does not fit 16 bits: offset ${rel}`,
            this.file,
            f.line,
            f.col,
          );
        }
        this.out[f.slot] = { ...i, off: rel };
      } else {
        this.out[f.slot] = { ...i, imm: rel };
      }
    }
    return this.out;
  }
}

/**
 * Assembles text in the kernel syntax, the mnemonic syntax, or both mixed
 * line by line, into instruction slots.
 *
 * @param text The program text.
 * @param fileName Named in error messages; `<asm>` by default.
 * @throws {AsmError} for an unknown mnemonic, a bad register, an immediate
 * or offset out of range, an unknown or duplicate label.
 * @throws {TypeError} when `text` is not a string.
 *
 * @example Both syntaxes in one program
 * ```ts
 * import assert from "node:assert/strict";
 * import { assemble } from "./assembler.ts";
 * const insns = assemble(`
 *   mov r0, 0          # mnemonic
 *   if r1 == 0x0 goto out
 *   r0 = 1             // kernel
 * out:
 *   exit
 * `);
 * assert.equal(insns.length, 4);
 * assert.equal(insns[1].off, 1);
 * ```
 */
export function assemble(text: string, fileName = "<asm>"): Insn[] {
  if (typeof text !== "string" || typeof fileName !== "string") {
    throw new TypeError(
      `assemble() expects text and a file name as strings, got ${
        describeValue(typeof text !== "string" ? text : fileName)
      }`,
    );
  }
  const asm = new Asm(fileName);
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n];
    const c = new Cursor(raw.slice(0, commentStart(raw)), n + 1, fileName);
    // The `  12: (b7) ` columns of a listing.
    if (c.re(/\d+:(?=\s|$)/)) c.re(/\([0-9a-fA-F]{2}\)(?=\s|$)/);
    for (;;) {
      c.ws();
      const col = c.p + 1;
      const m = c.re(/([A-Za-z_.][\w.]*):(?=\s|$)/);
      if (m === undefined) break;
      const prev = asm.labels.get(m[1]);
      if (prev !== undefined) {
        c.fail(
          `Label "${m[1]}" is defined twice (first on line ${prev.line})`,
          col,
        );
      }
      asm.labels.set(m[1], { slot: asm.out.length, line: c.line });
    }
    if (c.eof()) continue;
    asm.statement(c);
    if (!c.eof()) c.fail(`Unexpected ${c.found()} after the instruction`);
  }
  return asm.resolve();
}
