/**
 * The eBPF toolkit under tsbpf: build, encode, decode, assemble,
 * disassemble, verify and interpret eBPF instructions.
 *
 * `mod.ts` is the tracing surface and the command-line tool; this module is
 * for working with bytecode directly, and stays out of the tool's start-up.
 *
 * @example Assemble, verify, run in the interpreter, disassemble
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   assemble,
 *   createEnvironment,
 *   disassemble,
 *   verify,
 *   VmProgram,
 * } from "./bpf.ts";
 *
 * const insns = assemble("r0 = 7\nr0 += 35\nexit");
 * verify(insns, { maps: [], ctxSize: 0 });
 * const r0 = new VmProgram(insns, []).run(new Uint8Array(0), createEnvironment());
 * assert.equal(r0, 42n);
 * assert.deepEqual(disassemble(insns).map((l) => l.trim()), [
 *   "0: r0 = 7",
 *   "1: r0 += 35",
 *   "2: exit",
 * ]);
 * ```
 *
 * @module
 */

export { AsmError, assemble } from "./runtime/bpf/assembler.ts";
export {
  type AluName,
  type Built,
  type CondName,
  InsnBuilder,
  type Reg,
  type SourceLoc,
  type Width,
} from "./runtime/bpf/builder.ts";
export { AluOp, AtomicOp, JmpOp } from "./runtime/bpf/opcodes.ts";
export { disassemble } from "./runtime/bpf/disasm.ts";
export { decode, encode, type Insn } from "./runtime/bpf/insn.ts";
export {
  verify,
  type VerifyMap,
  type VerifyOptions,
  type VerifyResult,
} from "./runtime/verifier/verifier.ts";
export { VerifierError } from "./runtime/verifier/error.ts";
export { type RunOptions, VmProgram } from "./runtime/vm/interpreter.ts";
export {
  createEnvironment,
  type EnvironmentOptions,
  type MemorySegment,
  type VmEnvironment,
} from "./runtime/vm/environment.ts";
export { createMap, type MapShape, type VmMap } from "./runtime/vm/maps.ts";
export type { VmOutput } from "./runtime/vm/memory.ts";
export type { RawMapEntry } from "./runtime/engines/engine.ts";
export { InvalidInsnError } from "./runtime/bpf/validate.ts";
