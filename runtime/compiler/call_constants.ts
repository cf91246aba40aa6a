/**
 * Constants calls name: kernel symbol addresses (`kaddr`, `ksym`), signal
 * names (`signal`), registers (`reg`, `argN`), shared by call checking and
 * codegen.
 *
 * @module
 */

import { PT_REGS as X86_PT_REGS, PT_REGS_SIZE } from "../probes/pt_regs.ts";
import type { Kallsyms } from "../probes/kallsyms.ts";
import { onDemand } from "./on_demand.ts";

/** pt_regs offsets on x86_64, by register name (runtime/probes' table). */
export const PT_REGS: Readonly<Record<string, number>> = X86_PT_REGS;
export { PT_REGS_SIZE };

/** Registers carrying arguments 0-5 on x86_64. */
export const ARG_REGS = ["di", "si", "dx", "cx", "r8", "r9"];

let kallsyms: Kallsyms | undefined | null;

/**
 * A kernel symbol's address from `/proc/kallsyms`, if readable and known.
 *
 * @example Usage
 * ```ts
 * import { kernelAddress } from "./call_constants.ts";
 * console.assert(kernelAddress("no_such_symbol_xyz") === undefined);
 * ```
 */
export function kernelAddress(name: string): bigint | undefined {
  if (kallsyms === undefined) {
    const { Kallsyms } = onDemand("kallsyms");
    try {
      const k = Kallsyms.load();
      kallsyms = k.hasAddresses ? k : null;
    } catch {
      kallsyms = null;
    }
  }
  return kallsyms?.address(name);
}

const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
};

/** The number of a signal name (`SIGKILL`, `KILL`), if known. */
export function signalNumber(name: string): number | undefined {
  return SIGNALS[name] ?? SIGNALS[`SIG${name}`];
}
