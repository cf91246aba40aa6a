/**
 * The error the verifier throws when it rejects a program.
 *
 * @module
 */

/**
 * A rejected program: which instruction, its disassembly, and why.
 *
 * The message reads
 * `Instruction 7 (r1 = *(u64 *)(r2 +0)): R2 is a map value that may be NULL; check it against 0 first`.
 *
 * @example Inspect a rejection
 * ```ts
 * import { VerifierError } from "./error.ts";
 * const e = new VerifierError(3, "exit", "R0 is not initialized");
 * console.assert(e.message === "Instruction 3 (exit): R0 is not initialized");
 * console.assert(e.pc === 3);
 * ```
 */
export class VerifierError extends Error {
  /** Index of the offending instruction slot. */
  pc: number;
  /** Its disassembly. */
  insnText: string;
  /** Why it was rejected, in plain words. */
  reason: string;

  /** Builds the error; the message is derived from the three fields. */
  constructor(pc: number, insnText: string, reason: string) {
    super(`Instruction ${pc} (${insnText}): ${reason}`);
    this.name = "VerifierError";
    this.pc = pc;
    this.insnText = insnText;
    this.reason = reason;
  }
}
