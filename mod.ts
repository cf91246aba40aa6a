/**
 * tsbpf: tracing scripts compiled to eBPF in TypeScript, run in the kernel
 * through libbpf or in tsbpf's own eBPF interpreter.
 *
 * Run as a program, this module is the command-line tool:
 *
 * ```sh
 * deno run -A mod.ts -e 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }'
 * ```
 *
 * @example Compile a one-liner and look at its bytecode
 * ```ts
 * import { compile, disassemble } from "./mod.ts";
 * const program = compile("tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }");
 * console.log(disassemble(program.probes[0].insns).join("\n"));
 * ```
 *
 * @module
 */

export { InsnBuilder } from "./runtime/bpf/builder.ts";
export { decode, encode, type Insn } from "./runtime/bpf/insn.ts";
export { assemble, AsmError } from "./runtime/bpf/assembler.ts";
export { disassemble } from "./runtime/bpf/disasm.ts";
export { verify } from "./runtime/verifier/verifier.ts";
export { VerifierError } from "./runtime/verifier/error.ts";
export { VmProgram } from "./runtime/vm/interpreter.ts";
export { compile } from "./runtime/compiler/compile.ts";
export type { Program } from "./runtime/program.ts";
export { main } from "./runtime/cli.ts";

if (import.meta.main) {
  const { main } = await import("./runtime/cli.ts");
  Deno.exit(await main(Deno.args));
}
