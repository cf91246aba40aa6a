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
export { AsmError, assemble } from "./runtime/bpf/assembler.ts";
export { disassemble } from "./runtime/bpf/disasm.ts";
export { verify } from "./runtime/verifier/verifier.ts";
export { VerifierError } from "./runtime/verifier/error.ts";
export { VmProgram } from "./runtime/vm/interpreter.ts";
export { compile } from "./runtime/compiler/compile.ts";
export type { Program } from "./runtime/program.ts";
export { main } from "./runtime/cli.ts";

// The TypeScript scripting API.
export {
  type ExitReason,
  type Tick,
  trace,
  type TraceEvent,
  type TraceOptions,
  TraceSession,
} from "./runtime/api/trace.ts";
export {
  apiKey,
  type KeyParts,
  type MapKey,
  MapSnapshot,
  type MapValue,
  snapshotOf,
  type TraceMap,
} from "./runtime/api/map_view.ts";
export {
  COMMON_HELP,
  COMMON_OPTIONS,
  type CommonOptions,
  commonOptions,
  numberOption,
  out,
  parseTool,
  runTool,
  ToolUsageError,
  traceOptions,
} from "./runtime/api/tool.ts";
export type {
  DecodedEvent,
  HistBucket,
  Int,
  MapData,
  Stats,
  Value,
} from "./runtime/output/types.ts";

// User-space aggregation and rendering helpers.
export { keyText } from "./runtime/aggregate/key.ts";
export { type Count, rate } from "./runtime/aggregate/rate.ts";
export { topK } from "./runtime/aggregate/top_k.ts";
export {
  histPercentiles,
  histQuantile,
  percentiles,
  quantile,
} from "./runtime/aggregate/quantile.ts";
export { SlidingWindow } from "./runtime/aggregate/window.ts";
export { groupBy } from "./runtime/aggregate/group_by.ts";
export { type Column, formatTable } from "./runtime/aggregate/table.ts";
export {
  bucketize,
  formatHistogram,
  histIndex,
  type HistShape,
} from "./runtime/aggregate/histogram.ts";
export { sparkline } from "./runtime/aggregate/sparkline.ts";

if (import.meta.main) {
  const { main } = await import("./runtime/cli.ts");
  Deno.exit(await main(Deno.args));
}
