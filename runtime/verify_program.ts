/**
 * Runs our static verifier over every probe of a `Program` before any
 * engine sees it, mapping a rejection back to the script line.
 *
 * @module
 */

import type { Program } from "./program.ts";
import { VerifierError } from "./verifier/error.ts";
import { verify } from "./verifier/verifier.ts";

/**
 * A probe our verifier rejected, with the script location of the failing
 * instruction when the compiler recorded it.
 */
export class ProgramRejectedError extends VerifierError {
  /** The probe's name. */
  probe: string;
  /** 1-based script line, if known. */
  line?: number;
  /** 1-based script column, if known. */
  col?: number;

  /** Wraps a verifier error for one probe. */
  constructor(
    probe: string,
    cause: VerifierError,
    loc?: { line: number; col: number },
    sourceLine?: string,
  ) {
    super(cause.pc, cause.insnText, cause.reason);
    const where = loc ? ` (script line ${loc.line}, column ${loc.col})` : "";
    this.message =
      `Probe "${probe}" rejected by tsbpf's verifier at instruction ${cause.pc}${where}: ${cause.reason}\n  ${cause.pc}: ${cause.insnText}` +
      (sourceLine !== undefined ? `\n  ${loc!.line} | ${sourceLine}` : "");
    this.name = "ProgramRejectedError";
    this.probe = probe;
    this.line = loc?.line;
    this.col = loc?.col;
  }
}

/**
 * Verifies every probe of a program; returns the total processed
 * instruction count.
 *
 * @throws {ProgramRejectedError} for the first rejected probe.
 * @example Verify a compiled one-liner
 * ```ts
 * import { compile } from "./compiler/compile.ts";
 * import { verifyProgram } from "./verify_program.ts";
 * verifyProgram(compile("BEGIN { @x = 1; }"));
 * ```
 */
export function verifyProgram(program: Program): number {
  let total = 0;
  for (const probe of program.probes) {
    try {
      total += verify(probe.insns, {
        maps: program.maps,
        ctxSize: probe.ctx.size,
        progType: probe.progType,
      }).insnsProcessed;
    } catch (e) {
      if (!(e instanceof VerifierError)) throw e;
      const loc = probe.locs?.[e.pc];
      const line = loc && program.source
        ? program.source.text.split("\n")[loc.line - 1]
        : undefined;
      // A frame's function, by the script line it was compiled from.
      const reason = e.reason.replace(
        /function at instruction (\d+)/g,
        (text, pc) => {
          const at = probe.locs?.[Number(pc)];
          return at ? `${text} (script line ${at.line})` : text;
        },
      );
      const cause = reason === e.reason
        ? e
        : new VerifierError(e.pc, e.insnText, reason);
      throw new ProgramRejectedError(probe.name, cause, loc, line);
    }
  }
  return total;
}
