/**
 * `strcontains()` and `strstr()` (bpftrace 0.26): a literal needle
 * unrolled over every start of the haystack; a needle known only at run
 * time in two bounded loops, whose cost sema bounds
 * ({@linkcode needleCost}). Loaded on demand (`on_demand.ts`): a script
 * that calls either.
 *
 * @module
 */

import type { InsnBuilder } from "../bpf/builder.ts";
import { R10 } from "../bpf/opcodes.ts";
import type { Ref, RegAlloc } from "./regs.ts";

/**
 * Most haystack × needle bytes of a needle known only at run time: two
 * strings of the default 64 characters. Measured on Linux 6.18: the
 * kernel's verifier walks 30,023 instructions for 33 × 33 bytes, 67,977
 * for 65 × 65 and 85,603 for 73 × 73, but gives up (a million) at 69 × 69
 * and 77 × 77, where its state pruning fails; tsbpf's verifier stops at
 * 8,192 pending branches (about 90 × 90).
 */
export const STRSTR_LOOP_MAX = 65 * 65;

/**
 * Why a search of a `hay`-byte string for a needle of `needle` bytes
 * known only at run time is refused, or undefined when it is not.
 *
 * @example Usage
 * ```ts
 * import { needleCost } from "./codegen_strstr.ts";
 * import assert from "node:assert/strict";
 * assert.equal(needleCost(64, 64), undefined);
 * assert.match(needleCost(100, 100)!, /too costly/);
 * ```
 */
export function needleCost(hay: number, needle: number): string | undefined {
  if (hay * needle <= STRSTR_LOOP_MAX) return undefined;
  return `of a ${hay}-byte string and a ${needle}-byte needle known only at run time is too costly for the kernel's verifier (at most ${STRSTR_LOOP_MAX} byte pairs): shorten them with str(s, n)`;
}

/** A string on the stack: its offset from `R10` and its size. */
export interface StackString {
  /** Offset from the frame pointer. */
  off: number;
  /** Size in bytes (the last is the NUL's place). */
  size: number;
}

/**
 * `strcontains(haystack, needle)`: 1 when the needle occurs in the
 * haystack (both up to their NUL), else 0; with `index` (`strstr()`) the
 * first place it starts, else -1. A literal needle is unrolled over every
 * start; one on the stack runs in loops.
 *
 * @example Usage
 * ```ts
 * import { compile } from "./compile.ts";
 * import assert from "node:assert/strict";
 * // The compiler calls it for both functions, whatever the needle.
 * const p = compile('begin { $n = "lo"; print((strcontains("hello", $n), strstr("hello", "l"))); }');
 * assert.equal(p.probes.length, 1);
 * ```
 */
export function strContains(
  b: InsnBuilder,
  ra: RegAlloc,
  hay: StackString,
  needle: string | StackString,
  index: boolean,
): Ref {
  if (typeof needle !== "string") {
    return strContainsLoop(b, ra, hay, needle, index);
  }
  const r = ra.newReg();
  ra.evictCallerSaved();
  const found = b.newLabel("sfound");
  const end = b.newLabel("send");
  if (needle.length === 0) {
    // An empty needle is found at once (0.26's strstr: index 0).
    b.movImm(ra.reg(r), index ? 0 : 1);
    return r;
  }
  const t = ra.holding([r], () => ra.newReg());
  const tr = ra.reg(t);
  const rr = ra.reg(r);
  b.movImm(rr, index ? -1 : 0);
  // Starts whose match fits before the last byte (the NUL's place).
  const starts = hay.size - needle.length;
  for (let i = 0; i < starts; i++) {
    const next = b.newLabel("snext");
    for (let j = 0; j < needle.length; j++) {
      b.ldx(1, tr, R10, hay.off + i + j);
      b.jmpImm("JNE", tr, needle.charCodeAt(j) & 0xff, next);
    }
    if (index) {
      b.movImm(rr, i);
      b.ja(end);
    } else b.ja(found);
    b.label(next);
    // The haystack ends here: no later start can match.
    b.ldx(1, tr, R10, hay.off + i);
    b.jmpImm("JEQ", tr, 0, end);
  }
  if (starts > 0 && !index) {
    b.ja(end);
    b.label(found);
    b.movImm(rr, 1);
  }
  b.label(end);
  ra.free(t);
  return r;
}

/**
 * A needle on the stack: two bounded loops over the bytes, each start of
 * the haystack (up to its NUL) against the needle (up to its NUL), so the
 * code is the same size whatever the strings' sizes; the verifier walks
 * every pair of bytes.
 */
function strContainsLoop(
  b: InsnBuilder,
  ra: RegAlloc,
  hay: StackString,
  needle: StackString,
  index: boolean,
): Ref {
  ra.evictCallerSaved();
  const r = ra.newReg();
  const [i, j, p, c, t] = ra.holding([r], () => {
    const got: Ref[] = [];
    for (let k = 0; k < 5; k++) got.push(ra.holding(got, () => ra.newReg()));
    return got;
  });
  const [rr, ir, jr, pr, cr, tr] = ra.regs(r, i, j, p, c, t);
  const outer = b.newLabel("ssouter");
  const inner = b.newLabel("ssinner");
  const next = b.newLabel("ssnext");
  const found = b.newLabel("ssfound");
  const end = b.newLabel("ssend");
  b.movImm(rr, index ? -1 : 0);
  b.movImm(ir, 0);
  b.label(outer);
  b.movImm(jr, 0);
  b.label(inner);
  // The needle's byte j; its NUL (or its end) means a match at i.
  b.jmpImm("JGE", jr, needle.size, found);
  b.movReg(pr, R10);
  b.alu64Reg("ADD", pr, jr);
  b.ldx(1, cr, pr, needle.off);
  b.jmpImm("JEQ", cr, 0, found);
  // The haystack's byte i + j (a NUL there differs from c).
  b.movReg(tr, ir);
  b.alu64Reg("ADD", tr, jr);
  b.jmpImm("JGE", tr, hay.size, end);
  b.movReg(pr, R10);
  b.alu64Reg("ADD", pr, tr);
  b.ldx(1, tr, pr, hay.off);
  b.jmpReg("JNE", tr, cr, next);
  b.alu64Imm("ADD", jr, 1);
  b.ja(inner);
  b.label(next);
  // No start after the haystack's NUL.
  b.movReg(pr, R10);
  b.alu64Reg("ADD", pr, ir);
  b.ldx(1, tr, pr, hay.off);
  b.jmpImm("JEQ", tr, 0, end);
  b.alu64Imm("ADD", ir, 1);
  b.jmpImm("JLT", ir, hay.size, outer);
  b.ja(end);
  b.label(found);
  if (index) b.movReg(rr, ir);
  else b.movImm(rr, 1);
  b.label(end);
  for (const x of [i, j, p, c, t]) ra.free(x);
  return r;
}
