/**
 * The eBPF playground behind `mod.ts --asm FILE`: assemble, verify, run
 * once in the interpreter, print r0.
 *
 * @module
 */

import { assemble } from "./bpf/assembler.ts";
import { disassemble } from "./bpf/disasm.ts";
import type { Insn } from "./bpf/insn.ts";
import { verify } from "./verifier/verifier.ts";
import { createEnvironment } from "./vm/environment.ts";
import { VmProgram } from "./vm/interpreter.ts";

/** Options of {@linkcode runPlayground}. */
export interface PlaygroundOptions {
  /** Bytes r1 points at; r2 holds their length. */
  mem?: Uint8Array;
  /** Skip our verifier. */
  noVerify?: boolean;
  /** Include the disassembly in the result's lines. */
  disasm?: boolean;
  /** Source name for assembler errors. */
  fileName?: string;
}

/** What a playground run printed and returned. */
export interface PlaygroundResult {
  /** Lines to print, the last being r0 as `0x…`. */
  lines: string[];
  /** r0 at exit, unsigned. */
  r0: bigint;
  /** The assembled slots. */
  insns: Insn[];
}

/**
 * Parses hex bytes, spaces allowed: `"01 02 ff"` or `"0102ff"`.
 *
 * @throws {SyntaxError} for anything but pairs of hex digits.
 * @example Parse bytes
 * ```ts
 * import { parseHexBytes } from "./playground.ts";
 * console.assert(parseHexBytes("01 0a ff").join() === "1,10,255");
 * ```
 */
export function parseHexBytes(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "").replace(/^0x/i, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) {
    throw new SyntaxError(
      `Invalid --mem "${text}": expected pairs of hex digits, spaces allowed`,
    );
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  }
  return out;
}

/**
 * Assembles `source`, verifies it (unless `noVerify`) and runs it once with
 * r1 pointing at a copy of `mem` and r2 holding its length.
 *
 * @throws {SyntaxError} (AsmError) for assembly errors, `VerifierError` for
 *   rejections, `VmError` for run-time faults.
 * @example Add two numbers
 * ```ts
 * import { runPlayground } from "./playground.ts";
 * const r = runPlayground("mov r0, 2\nadd r0, 40\nexit\n");
 * console.assert(r.lines.at(-1) === "0x2a");
 * ```
 */
export function runPlayground(
  source: string,
  options: PlaygroundOptions = {},
): PlaygroundResult {
  const insns = assemble(source, options.fileName);
  const mem = new Uint8Array(options.mem ?? new Uint8Array(0));
  const lines: string[] = [];
  if (options.disasm) lines.push(...disassemble(insns));
  if (!options.noVerify) {
    verify(insns, {
      maps: [],
      ctxSize: mem.length,
      ctxWritable: true,
      r2Scalar: true,
    });
  }
  const prog = new VmProgram(insns, []);
  const r0 = BigInt.asUintN(
    64,
    prog.run(mem, createEnvironment(), {
      r2: BigInt(mem.length),
      writableCtx: true,
    }),
  );
  lines.push(`0x${r0.toString(16)}`);
  return { lines, r0, insns };
}
