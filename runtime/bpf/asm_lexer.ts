/**
 * The assembler's lexing: one line at a time through a {@linkcode Cursor}
 * (registers, numbers, literals, words), comments told apart from helper
 * ids, and {@linkcode AsmError}, the error every assembly mistake is.
 *
 * @module
 */

/**
 * An assembly error at a source position. The message starts with
 * `FILE:LINE:COL: `.
 *
 * @example Catch an unknown mnemonic
 * ```ts
 * import assert from "node:assert/strict";
 * import { AsmError } from "./asm_lexer.ts";
 * import { assemble } from "./assembler.ts";
 * assert.throws(() => assemble("exit\nfrob r1", "prog.s"), (e) => {
 *   assert.ok(e instanceof AsmError);
 *   assert.equal(e.message, 'prog.s:2:1: Unknown mnemonic "frob"');
 *   assert.equal(e.line, 2);
 *   return true;
 * });
 * ```
 */
export class AsmError extends SyntaxError {
  /** 1-based line number. */
  readonly line: number;
  /** 1-based column number. */
  readonly col: number;
  /** The file name given to {@linkcode assemble}, or `<asm>`. */
  readonly fileName: string;
  /** The message without the position. */
  readonly reason: string;

  /** Makes an error at `fileName:line:col`. */
  constructor(reason: string, fileName: string, line: number, col: number) {
    super(`${fileName}:${line}:${col}: ${reason}`);
    this.name = "AsmError";
    this.line = line;
    this.col = col;
    this.fileName = fileName;
    this.reason = reason;
  }
}

/** A register operand: its number, whether written `wN`, and its column. */
export interface Reg {
  n: number;
  w: boolean;
  col: number;
}

/** The smallest 32-bit immediate. */
export const INT32_MIN = -(2n ** 31n);
/** The largest 32-bit immediate (immediates keep their low 32 bits). */
export const UINT32_MAX = 2n ** 32n - 1n;

/** Where a `#` starts a comment rather than a helper id. */
export function commentStart(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === ";" || (ch === "/" && s[i + 1] === "/")) return i;
    if (ch === "#") {
      const glued = i > 0 && /[\w]/.test(s[i - 1]);
      const afterCall = /(^|\s)call\s+$/.test(s.slice(0, i)) &&
        /[-\d]/.test(s[i + 1] ?? "");
      if (!glued && !afterCall) return i;
    }
  }
  return s.length;
}

/**
 * A scanner over one line of assembly: blanks skipped before every token,
 * errors thrown as {@linkcode AsmError} at the current column.
 *
 * @example Reading a register and a number
 * ```ts
 * import { Cursor } from "./asm_lexer.ts";
 * const c = new Cursor("r1, 42", 1, "<asm>");
 * console.assert(c.reg().n === 1 && c.lit(",") && c.num().v === 42n && c.eof());
 * ```
 */
export class Cursor {
  p = 0;
  constructor(
    readonly s: string,
    readonly line: number,
    readonly file: string,
  ) {}

  /** Throws an {@linkcode AsmError} at column `col` of this line. */
  fail(reason: string, col = this.p + 1): never {
    throw new AsmError(reason, this.file, this.line, col);
  }

  /** Skips blanks (spaces and tabs). */
  ws(): void {
    while (
      this.p < this.s.length &&
      (this.s[this.p] === " " || this.s[this.p] === "\t")
    ) {
      this.p++;
    }
  }

  /** Whether only blanks are left. */
  eof(): boolean {
    this.ws();
    return this.p >= this.s.length;
  }

  /** The next token, for error messages. */
  token(): string {
    this.ws();
    const m = /[+-]?[%\w.]+|[^\s\w%.+-]+|\S/y;
    m.lastIndex = this.p;
    return m.exec(this.s)?.[0] ?? "end of line";
  }

  /** The next token quoted, or `end of line`, for error messages. */
  found(): string {
    const t = this.token();
    return t === "end of line" ? t : `"${t}"`;
  }

  /** Matches a sticky regex after blanks; advances on success. */
  re(re: RegExp): RegExpExecArray | undefined {
    this.ws();
    const r = new RegExp(re.source, "y" + re.flags.replace("y", ""));
    r.lastIndex = this.p;
    const m = r.exec(this.s);
    if (m === null) return undefined;
    this.p = r.lastIndex;
    return m;
  }

  /** Whether a sticky regex matches after blanks, without advancing. */
  peek(re: RegExp): boolean {
    this.ws();
    const r = new RegExp(re.source, "y");
    r.lastIndex = this.p;
    return r.test(this.s);
  }

  /** Consumes `text` if it comes next (a word only as a whole word). */
  lit(text: string): boolean {
    this.ws();
    if (!this.s.startsWith(text, this.p)) return false;
    const end = this.p + text.length;
    if (/\w$/.test(text) && /\w/.test(this.s[end] ?? "")) return false;
    this.p = end;
    return true;
  }

  /** Consumes `text`, or fails naming what was found instead. */
  expect(text: string): void {
    if (!this.lit(text)) this.fail(`Expected "${text}", found ${this.found()}`);
  }

  /** The identifier that comes next, without consuming it. */
  peekWord(): string | undefined {
    this.ws();
    const r = /[A-Za-z_][\w]*/y;
    r.lastIndex = this.p;
    return r.exec(this.s)?.[0];
  }

  /** Consumes and returns the identifier that comes next. */
  word(): string | undefined {
    const w = this.peekWord();
    if (w !== undefined) this.p += w.length;
    return w;
  }

  /** Whether a register (`rN`, `wN`, `%rN`) comes next. */
  isReg(): boolean {
    this.ws();
    const r = /%?[rw]\d+(?!\w)/y;
    r.lastIndex = this.p;
    return r.test(this.s);
  }

  /** Consumes a register (`wN` only when `allowW`). */
  reg(allowW = false): Reg {
    this.ws();
    const col = this.p + 1;
    const m = this.re(/%?([rw])(\d+)(?!\w)/);
    if (m === undefined) {
      this.fail(`Expected a register, found ${this.found()}`);
    }
    const n = Number(m[2]);
    const w = m[1] === "w";
    if (n > 10 || m[2].length > 2) {
      this.fail(`Invalid register "${m[0]}": registers are r0 to r10`, col);
    }
    if (w && !allowW) {
      this.fail(`Expected a 64-bit register, found "${m[0]}"`, col);
    }
    return { n, w, col };
  }

  /** A number with optional sign; returns value, text and column. */
  num(what = "a number"): { v: bigint; text: string; col: number } {
    this.ws();
    const col = this.p + 1;
    const m = this.re(/([+-]?)\s*(0[xX][0-9a-fA-F]+|\d+)(?![\w.])/);
    if (m === undefined) this.fail(`Expected ${what}, found ${this.found()}`);
    const mag = BigInt(m[2]);
    return {
      v: m[1] === "-" ? -mag : mag,
      text: m[0].replace(/\s+/g, ""),
      col,
    };
  }

  /** Consumes a 32-bit immediate (-2^31 to 2^32-1, kept as its low 32 bits). */
  imm32(what = "an immediate"): number {
    const { v, text, col } = this.num(what);
    if (v < INT32_MIN || v > UINT32_MAX) {
      this.fail(`Immediate ${text} does not fit 32 bits`, col);
    }
    return Number(BigInt.asIntN(32, v));
  }

  /** `v` as a 16-bit offset, or fails at `col`. */
  off16(v: bigint, text: string, col: number): number {
    if (v < -32768n || v > 32767n) {
      this.fail(`Offset ${text} does not fit 16 bits`, col);
    }
    return Number(v);
  }
}

/** Fails unless `a` and `b` are both 32-bit or both 64-bit registers. */
export function checkWidth(c: Cursor, a: Reg, b: Reg): void {
  if (a.w !== b.w) {
    c.fail(`Cannot mix 32-bit and 64-bit registers in one instruction`, b.col);
  }
}
