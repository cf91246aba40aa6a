/**
 * The one error type the eBPF interpreter throws for a faulting run.
 *
 * @module
 */

/**
 * A run of an eBPF program stopped: an out-of-bounds, wrongly typed or
 * unknown-pointer access, an invalid instruction, an exceeded instruction
 * budget, or a helper misuse the kernel verifier would have rejected. The
 * host is never affected; maps keep what earlier instructions wrote.
 *
 * @example Catch a fault
 * ```ts
 * import { VmError } from "./vm_error.ts";
 * const e = new VmError("Division by zero", 3, "r0 /= r1");
 * console.assert(e.message === 'Division by zero at pc 3: "r0 /= r1"');
 * console.assert(e.pc === 3 && e.reason === "Division by zero");
 * ```
 */
export class VmError extends Error {
  /** Index of the faulting instruction slot. */
  readonly pc: number;
  /** Kernel-syntax text of the faulting instruction. */
  readonly insnText: string;
  /** What went wrong, without the location. */
  readonly reason: string;

  /** Builds the error; the message is `reason at pc N: "insn"`. */
  constructor(reason: string, pc: number, insnText: string) {
    super(`${reason} at pc ${pc}: "${insnText}"`);
    this.name = "VmError";
    this.pc = pc;
    this.insnText = insnText;
    this.reason = reason;
  }
}
