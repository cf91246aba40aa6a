/**
 * tsbpf: Linux tracing scripts compiled to eBPF in TypeScript, run in the
 * kernel through libbpf or in tsbpf's own eBPF interpreter.
 *
 * - {@linkcode trace} runs a program — bpftrace-language text or probe
 *   bodies written in TypeScript — and returns a {@linkcode TraceSession}:
 *   typed maps, typed emitted records, ticks on the engine's clock.
 * - {@linkcode Tracer} / {@linkcode stage} / {@linkcode compileStaged}
 *   stage TypeScript probe bodies into the same syntax tree the bpftrace
 *   parser makes; value types such as {@linkcode U32} and {@linkcode Str}
 *   type their maps and events.
 * - User-space aggregation and rendering: {@linkcode rate},
 *   {@linkcode topK}, {@linkcode quantile}, {@linkcode SlidingWindow},
 *   {@linkcode formatTable}, {@linkcode formatHistogram}, ...
 * - A script's command line like the bundled tools': {@linkcode runTool}
 *   (Ctrl-C, one-line errors, exit status), {@linkcode parseTool} and
 *   {@linkcode commonOptions} (`--duration`, `-p`, `--backend`, ...),
 *   {@linkcode tableOptions} (`-i`/`--interval`, `-T`/`--top`).
 * - The compiler: {@linkcode compile}, {@linkcode disassemble}. The eBPF
 *   toolkit (verifier, assembler, interpreter, instruction builder) is
 *   `bpf.ts`, kept out of this module so that the command-line tool starts
 *   without loading it.
 *
 * Run as a program, this module is the command-line tool:
 *
 * ```sh
 * deno run -A mod.ts -e 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }'
 * ```
 *
 * @example A TypeScript probe body with a typed map and a typed emit
 * ```ts
 * import { type Str, trace, Tracer, type U32 } from "./mod.ts";
 *
 * const t = new Tracer();
 * const calls = t.map<[U32, Str], "count">("calls");
 * const call = t.event<{ pid: U32; comm: Str }>("call");
 * t.probe("tracepoint:syscalls:sys_enter_getppid", (c) => {
 *   c.filter(c.pid.ne(0));
 *   calls.at(c.pid, c.comm).count();
 *   c.emit(call, { pid: c.pid, comm: c.comm });
 * });
 *
 * await using session = await trace(t, { backend: "interp", durationMs: 200 });
 * for await (const { pid, comm } of session.emits(call)) {
 *   console.log(pid, comm, session.map(calls).get(pid, comm)); // number, string, number
 *   break;
 * }
 * ```
 *
 * @example Compile a one-liner and look at its bytecode
 * ```ts
 * import { compile, disassemble } from "./mod.ts";
 *
 * const program = compile("tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }");
 * console.log(disassemble(program.probes[0].insns).join("\n"));
 * ```
 *
 * @module
 */

// The TypeScript scripting API.
export {
  type EmitRecord,
  type ExitReason,
  handOffProbes,
  type Tick,
  trace,
  type TraceEvent,
  type TraceMetricsOptions,
  type TraceOptions,
  type TraceRemoteWriteOptions,
  TraceSession,
  type TraceSource,
} from "./runtime/api/trace.ts";
export type {
  TracepointField,
  TracepointFormat,
} from "./runtime/probes/tracepoint_format.ts";
// An opened recording, as `trace({ replay })` also takes it (types only:
// nothing of record/ loads at start-up).
export type { Recording } from "./runtime/record/reader.ts";
export type {
  RecordedCall,
  RecordedEvent,
  RecordedProbe,
  RecordingError,
  RecordingHeader,
  SymbolTable,
  Trailer,
} from "./runtime/record/format.ts";
export type { BackendChoice } from "./runtime/engines/backend.ts";
export type { ProbeStats } from "./runtime/engines/engine.ts";
export {
  type KeyParts,
  type MapKey,
  MapSnapshot,
  type MapValue,
  type TraceMap,
} from "./runtime/api/map_view.ts";
export type {
  ApiKey,
  ApiMapValue,
  ApiRecord,
  ApiValue,
  KeyOf,
  RecordOf,
  ValueOf,
} from "./runtime/api/typed.ts";
export type {
  ArrayValue,
  BufValue,
  DecodedEvent,
  HistBucket,
  HistMapData,
  Int,
  LhistMapData,
  MapData,
  MapDataBase,
  MapEntry,
  MapKind,
  RecordValue,
  ScalarMapData,
  StackValue,
  Stats,
  StatsMapData,
  TseriesMapData,
  TseriesPoint,
  Value,
  ValueMapData,
} from "./runtime/output/types.ts";
export type { MapFull } from "./runtime/output/map_full.ts";

// TypeScript probe bodies, staged into the bpftrace syntax tree.
export {
  compileStaged,
  type MapMetrics,
  type ProbeBody,
  stage,
  type StagedProgram,
  Tracer,
} from "./runtime/staging/stage.ts";
export type {
  ArgsOf,
  ConvArg as PrintfConversionArg,
  Flag as PrintfFlag,
  FormatArgs,
  FuncOf,
  ProbeContext,
  ProgramScope,
  SpecArgs,
  StagedArgs,
  TracepointOf,
  UntypedArgs,
  Var,
} from "./runtime/staging/context.ts";
export type {
  AnyLike,
  CastName,
  CastType,
  Expr,
  IntLike,
  OperandOf,
  StrLike,
  TypeOf,
} from "./runtime/staging/expr.ts";
export type { KernelValue } from "./runtime/staging/kernel.ts";
export type {
  CompoundOp,
  IsAny,
  KeyArgs,
  MapRef,
  MapSlot,
  MapValueKind,
} from "./runtime/staging/maps.ts";
export type { EventDecl, EventInfo, Shape } from "./runtime/staging/events.ts";
export type {
  AggKind,
  Bits,
  Bool,
  Buf,
  Inet,
  Int as StagedInt,
  IntT,
  KeyType,
  KStack,
  Ksym,
  Ptr,
  S16,
  S32,
  S64,
  S8,
  Str,
  Timestamp,
  Tuple,
  U16,
  U32,
  U64,
  U8,
  Untyped,
  UStack,
  Usym,
  VType,
} from "./runtime/staging/types.ts";

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

// What the bundled scripts share: options, Ctrl-C, one-line errors.
export {
  COMMON_HELP,
  COMMON_OPTIONS,
  type CommonOptions,
  commonOptions,
  intervalHeader,
  numberOption,
  out,
  parseTool,
  runTool,
  TABLE_OPTIONS,
  tableHelp,
  type TableOptions,
  tableOptions,
  ToolUsageError,
  traceOptions,
} from "./runtime/api/tool.ts";
export type { FlagSpec, FlagValues } from "./runtime/args.ts";

// The compiler.
export { compile, type CompileOptions } from "./runtime/compiler/compile.ts";
export type {
  Aggregation,
  AttachPoint,
  ContextLayout,
  EventAction,
  EventFormat,
  FieldLayout,
  MapSpec,
  ProbeKind,
  ProbeProgram,
  Program,
  ProgramOption,
  TseriesParams,
  TypeDesc,
} from "./runtime/program.ts";
export type { AssignOp } from "./runtime/lang/ast.ts";
export type {
  UsdtArg,
  UsdtProbe,
  UsdtRegister,
} from "./runtime/probes/usdt.ts";
export { disassemble } from "./runtime/bpf/disasm.ts";
export { VerifierError } from "./runtime/verifier/error.ts";
// What `trace({ pid })` throws for a pid of no process.
export { NoSuchProcessError } from "./runtime/api/trace_pid.ts";

// The command-line tool.
export { main } from "./runtime/cli.ts";

if (import.meta.main) {
  const { main } = await import("./runtime/cli.ts");
  Deno.exit(await main(Deno.args));
}
