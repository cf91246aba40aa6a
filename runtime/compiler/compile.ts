/**
 * The compiler's entry points: bpftrace source text (or a parsed tree) in,
 * a `Program` both engines run out.
 *
 * Conventions fixed here (see also `runtime/program.ts`):
 * - Every event is one record in the `.events` ring buffer: a u64 format id,
 *   then the arguments at `EventFormat.layout` offsets (integers widened to
 *   8 bytes, strings at their full size, C alignment).
 * - Keyed aggregations live in PERCPU_HASH maps, plain values in HASH maps
 *   (without keys: one 8-byte zero key). hist/lhist keys end with a u64
 *   bucket index at `keySize - 8`.
 * - Keyless aggregations live in PERCPU_ARRAY maps (u32 key: the hist/lhist
 *   bucket, else 0; a `sum` value is the total then a u64 1 once written),
 *   whose lookup never misses and is inlined by the kernel, unless a probe
 *   passes them to `zero()` or `delete()`. User space treats a slot no CPU
 *   wrote as no entry (`decodeMap`).
 * - Within one program run, a stable helper's result (pid/tid, uid/gid,
 *   cpu, numaid, cgroup, curtask), a map key built from stable parts and a
 *   map value read under such a key are computed once when the probe uses
 *   them again and nothing in between can change them (`reuse.ts`);
 *   `nsecs`, `rand`, `jiffies` and `elapsed` are read afresh every time.
 * - BEGIN and END are RAW_TRACEPOINT programs with an empty context, run
 *   once with BPF_PROG_TEST_RUN (kernel) or directly (interpreter).
 * - Events the ring buffer has no room for are counted in the internal
 *   PERCPU_ARRAY map `.lost` (u32 key 0, u64 value; present whenever
 *   `.events` is): a failed `ringbuf_reserve` jumps to a cold block placed
 *   after the program's final `exit` that adds 1 in place and jumps back,
 *   so the success path is unchanged.
 * - Updates a full map refuses (`map_update_elem` failing: the map holds
 *   `maxMapKeys` keys) are counted in the internal ARRAY map `.full` (one
 *   entry; a u64 per user map, in the order of user maps in `maps`): a
 *   failed update jumps to a cold block after the final `exit` that adds 1
 *   through a direct value pointer and jumps back. Keyless maps (one key)
 *   get no such code; a probe whose 65th map would be `.full` goes without
 *   it. User space reports the counts (`output/map_full.ts`).
 * - Kernel limits are compile errors (`kernel_limits.ts`): at most 64 maps
 *   per probe program, at most 64 probes per tracepoint.
 * - `cpid` option: the value of the `cpid` builtin (a constant).
 * - Probe names are unique within a program and at most 15 characters of
 *   `[A-Za-z0-9_]` (shared or truncated names get `_1`, `_2`, …).
 * - `pid` option: every probe but BEGIN/END first tests
 *   `get_current_pid_tgid() >> 32 == pid` and exits when it differs.
 * - `nsecs` is `bpf_ktime_get_boot_ns()` (boot clock, suspend included), as
 *   in bpftrace 0.17; `strftime(fmt, ns)` sends those nanoseconds as a
 *   `timestamp` and user space adds the boot time before formatting.
 * - Conditions known at compile time (`1 || x`, `0 && x`, and `x && 0`
 *   whose `x` must still run) emit no dead side: the kernel verifier
 *   rejects unreachable instructions.
 * - `sizeof` is a constant: a variable measures its first assignment's
 *   width (`(uint16)1`: 2), builtins 8, tuple literals their own layout,
 *   although registers and stack slots hold every integer as 64 bits.
 * - `elapsed`: BEGIN stores `ktime_get_ns()` in the one-slot ARRAY map
 *   `.start` (a BEGIN program is synthesized when the script has none);
 *   `elapsed` is `ktime_get_ns()` minus that value.
 *
 * @module
 */

import type { ProgramOption } from "./getopt.ts";
import type * as ast from "../lang/ast.ts";
import { Diagnostics } from "../lang/diagnostics.ts";
import { parse } from "../lang/parser.ts";
import { lowerProgram } from "../lang/lowering.ts";
import type { ScriptConfig } from "../lang/config.ts";
import { CONFIG_ENV, onDemand } from "./on_demand.ts";
import type { ProbeProgram, Program } from "../program.ts";
import { checkBounds, checkExpansion, checkMacroDepth } from "./bounds.ts";
import { ProbeCompiler } from "./codegen.ts";
import { MAP_MAX_ENTRIES, ProgramTables } from "./tables.ts";
import { checkKernelLimits, onlyCounterOverLimit } from "./kernel_limits.ts";
import { analyze } from "./sema.ts";
import { resolveScopes } from "./scopes.ts";
import type { Unit } from "./units.ts";
import type { MapInfo } from "./sema_scope.ts";
import { MapType, ProgType } from "../bpf/opcodes.ts";
import { envVar } from "../probes/env.ts";
import { STRING_SIZE } from "./types.ts";

/** Options of {@linkcode compile}. */
export interface CompileOptions {
  /** Source name in messages (`stdin` for `-e`). */
  fileName?: string;
  /** Positional parameters: `$1` is `params[0]`. */
  params?: string[];
  /** Allow `system`, `cat` and `signal`. */
  unsafe?: boolean;
  /**
   * Whether to read tracepoint formats from tracefs (default true; it
   * falls back to the bundled capture when tracefs is not mounted).
   * `false` always uses the bundled capture, for reproducible programs.
   */
  tracefsAvailable?: boolean;
  /**
   * Trace only this process (`-p PID`): every probe but BEGIN and END
   * starts with an implicit `pid == N` test, ahead of its own predicate.
   */
  pid?: number;
  /**
   * The pid of the `-c` child: the value of the `cpid` builtin (using
   * `cpid` without it is a compile error).
   */
  cpid?: number;
  /**
   * Keys a map holds at most (bpftrace's `max_map_keys`); default: the
   * environment's `BPFTRACE_MAP_KEYS_MAX`, else 4096. Updates a full map
   * refuses are counted and reported (`runtime/output/map_full.ts`).
   */
  maxMapKeys?: number;
  /**
   * The kernel's `perf_event_max_sample_rate`, when the program is meant
   * for this host: a `profile:hz:N` above it is a compile error (the
   * kernel would refuse it at attach with EINVAL).
   */
  maxSampleRate?: number;
  /**
   * Compile for metrics export: every `hist()`/`lhist()` bucket also
   * keeps the sum of the values it counted (`Aggregation.sum`), so the
   * exported histograms have an exact `_sum`. Off by default: programs
   * without it are unchanged.
   */
  histSums?: boolean;
  /**
   * Sees the compiler's intermediate results (`-d STAGE`, internal): the
   * tree as parsed and after lowering (an `ast.Program` of
   * `runtime/lang/ast.ts`), and the type analysis (an `Analysis` of
   * `runtime/compiler/sema.ts`).
   */
  debug?: {
    parsed?: (tree: unknown) => void;
    lowered?: (tree: unknown) => void;
    types?: (analysis: unknown) => void;
  };
  /**
   * Named parameters (`-- --name=value`), the values `getopt()` reads;
   * the program's `options` say which it expects (`checkNamed()`).
   */
  named?: Map<string, string | undefined>;
}

/** Largest `max_map_keys` accepted (the kernel's max_entries is a u32). */
const MAX_MAP_KEYS = 0xffffffff;

/**
 * The `max_map_keys` a compile uses: the option, else the environment's
 * `BPFTRACE_MAP_KEYS_MAX` (when readable), else 4096.
 *
 * @throws {RangeError} when the value is not an integer from 1 to 2^32-1.
 * @example Default and explicit values
 * ```ts
 * import { resolveMaxMapKeys } from "./compile.ts";
 * console.assert(resolveMaxMapKeys(100) === 100);
 * ```
 */
export function resolveMaxMapKeys(option?: number): number {
  let value: number | undefined = option;
  let what = "max_map_keys";
  if (value === undefined) {
    const env = envVar("BPFTRACE_MAP_KEYS_MAX");
    if (env === undefined || env === "") return MAP_MAX_ENTRIES;
    what = "BPFTRACE_MAP_KEYS_MAX";
    value = /^\s*\d+\s*$/.test(env) ? Number(env) : NaN;
    if (Number.isNaN(value)) {
      throw new RangeError(
        `Invalid ${what} "${env}": expected an integer from 1 to ${MAX_MAP_KEYS}`,
      );
    }
  }
  if (!Number.isInteger(value) || value < 1 || value > MAX_MAP_KEYS) {
    throw new RangeError(
      `Invalid ${what} ${value}: expected an integer from 1 to ${MAX_MAP_KEYS}`,
    );
  }
  return value;
}

/**
 * Compiles bpftrace source text.
 *
 * @throws {import("../lang/diagnostics.ts").CompileErrors} every syntax
 *   and semantic error found.
 * @example Count syscalls by process name
 * ```ts
 * import { compile } from "./compile.ts";
 * const prog = compile("tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }");
 * console.assert(prog.probes.length === 1 && prog.maps[0].name === "@");
 * ```
 */
export function compile(source: string, opts: CompileOptions = {}): Program {
  const fileName = opts.fileName ?? "stdin";
  const { ast, diagnostics } = parse(source, fileName, opts.params);
  const tree = ast.imports?.length
    ? onDemand("imports").resolveImports(ast, diagnostics)
    : ast;
  if (opts.debug?.parsed !== undefined && diagnostics.errors.length === 0) {
    opts.debug.parsed(tree);
  }
  const prog = compileAst(tree, diagnostics, opts);
  prog.source = { name: fileName, text: source };
  return prog;
}

/** Reports a `test:` or `bench:` name used twice, as bpftrace does. */
function uniqueTestNames(tree: ast.Program, diag: Diagnostics): void {
  const seen = new Set<string>();
  for (const p of tree.probes) {
    for (const ap of p.attachPoints) {
      if (ap.provider !== "test" && ap.provider !== "bench") continue;
      const key = `${ap.provider}:${ap.target}`;
      if (seen.has(key)) {
        diag.error(
          ap.span,
          `"${ap.target}" was used as the name for more than one ${ap.provider.toUpperCase()} probe`,
        );
      }
      seen.add(key);
    }
  }
}

/**
 * Compiles a parsed program, reporting into `diag`.
 *
 * @throws {import("../lang/diagnostics.ts").CompileErrors} on errors.
 * @example Compile a tree
 * ```ts
 * import { parse } from "../lang/parser.ts";
 * import { compileAst } from "./compile.ts";
 * const { ast, diagnostics } = parse("BEGIN { printf(\"hi\\n\"); }");
 * console.assert(compileAst(ast, diagnostics).formats.length === 1);
 * ```
 */
export function compileAst(
  tree: ast.Program,
  diag: Diagnostics = new Diagnostics(),
  opts: CompileOptions = {},
): Program {
  // Macros, imports and config blocks: their passes load only for the
  // scripts that have them (on_demand.ts).
  if (tree.macros?.length) {
    if (!checkMacroDepth(tree.macros, diag)) diag.throwIfErrors();
    tree = onDemand("macros").expandMacros(tree, diag);
  }
  tree = lowerProgram(tree);
  uniqueTestNames(tree, diag);
  if (opts.debug?.lowered !== undefined && diag.errors.length === 0) {
    opts.debug.lowered(tree);
  }
  const params = opts.params ?? [];
  const configured = tree.config !== undefined || CONFIG_ENV.some(envVar);
  const config: ScriptConfig = configured
    ? onDemand("config").readConfig(tree.config, diag)
    : { warnings: [] };
  if (config.missingProbes !== undefined) {
    tree = onDemand("missing").dropMissingProbes(
      tree,
      diag,
      config.missingProbes,
      opts.tracefsAvailable ?? true,
      config.warnings,
    );
  }
  const maxMapKeys = resolveMaxMapKeys(opts.maxMapKeys ?? config.maxMapKeys);
  for (const [k, v] of [["pid", opts.pid], ["cpid", opts.cpid]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 0x7fffffff)) {
      throw new RangeError(
        `Invalid ${k} ${v}: expected an integer from 0 to 2147483647`,
      );
    }
  }
  // Before any recursive pass: depth and expanded size (see bounds.ts).
  if (!checkBounds(tree, diag, params)) diag.throwIfErrors();
  resolveScopes(tree, diag);
  const a = analyze(tree, diag, {
    params,
    unsafe: opts.unsafe,
    tracefsAvailable: opts.tracefsAvailable,
    cpid: opts.cpid,
    pid: opts.pid,
    named: opts.named,
    stackMode: config.stackMode,
    maxStrlen: config.maxStrlen,
  });
  if (tree.mapDecls !== undefined) applyMapDecls(tree.mapDecls, a.maps, diag);
  diag.throwIfErrors();
  opts.debug?.types?.(a);
  // Wildcards are expanded now: the total work of codegen is known.
  if (!checkExpansion(a.units, diag, params)) diag.throwIfErrors();
  if (a.usesElapsed && !a.units.some((u) => u.kind === "BEGIN")) {
    a.units.unshift(syntheticBegin(tree.span));
  }
  const tables = new ProgramTables(a, maxMapKeys, { histSums: opts.histSums });
  const probes: ProbeProgram[] = [];
  let startStored = false;
  for (const u of a.units) {
    let prologue: ((c: ProbeCompiler) => void) | undefined;
    if (a.usesElapsed && u.kind === "BEGIN" && !startStored) {
      startStored = true;
      prologue = (c) => c.storeStartTime();
    }
    const pid = u.kind === "BEGIN" || u.kind === "END" || u.kind === "test" ||
        u.kind === "bench"
      ? undefined
      : opts.pid;
    const mark = tables.mark();
    const errors = diag.errors.length;
    const warnings = diag.warnings.length;
    const unit = (countFull: boolean) =>
      new ProbeCompiler(u, tables, diag, params, prologue, {
        pid,
        cpid: opts.cpid,
        countFull,
      }).compile();
    let probe = unit(true);
    if (onlyCounterOverLimit(probe, tables.maps)) {
      // The full-map counter would be the 65th map: this probe goes
      // without it (its refused updates are not counted) rather than
      // fail to load.
      tables.reset(mark);
      diag.errors.length = errors;
      diag.warnings.length = warnings;
      probe = unit(false);
    }
    probes.push(probe);
  }
  checkKernelLimits(a.units, probes, tables.maps, diag, opts.maxSampleRate);
  if (config.maxStrlen !== undefined && diag.errors.length > 0) {
    onDemand("config").explainStackLimit(diag, config.maxStrlen);
  }
  diag.throwIfErrors();
  uniqueNames(probes);
  const prog: Program = {
    probes,
    maps: tables.maps,
    formats: tables.formats,
  };
  if (tables.eventsMap !== undefined) prog.eventsMap = tables.eventsMap;
  if (configured) {
    prog.config = onDemand("config").sessionConfig(config, diag, STRING_SIZE);
  }
  if (diag.warnings.length > 0) {
    // Compile warnings (scoping hints) print with the config's.
    prog.config ??= { warnings: [] };
    for (const w of diag.warnings) {
      prog.config.warnings.push(w.format(diag.source, diag.file));
    }
  }
  const options = programOptions(a.units);
  if (options.length > 0) prog.options = options;
  return prog;
}

/** BPF map types of `let @m = type(n);`, plain then per-CPU. */
const DECL_TYPES: Record<ast.MapDeclType, [number, boolean]> = {
  hash: [MapType.HASH, false],
  lruhash: [MapType.LRU_HASH, false],
  percpuhash: [MapType.PERCPU_HASH, true],
  percpulruhash: [MapType.LRU_PERCPU_HASH, true],
};

/**
 * Gives declared maps their type and size: a value map takes `hash` or
 * `lruhash`, an aggregation (per-CPU values) `percpuhash` or
 * `percpulruhash`, as in bpftrace; a declared map no probe uses is warned
 * about.
 */
function applyMapDecls(
  decls: ast.MapDecl[],
  maps: Map<string, MapInfo>,
  diag: Diagnostics,
): void {
  const seen = new Set<string>();
  for (const d of decls) {
    const name = `@${d.name}`;
    if (seen.has(name)) {
      diag.error(d.span, `Map ${name} is declared more than once`);
      continue;
    }
    seen.add(name);
    const m = maps.get(name);
    if (m === undefined || m.kind === undefined) {
      diag.warning(d.span, `Unused map: ${name}`);
      continue;
    }
    const [type, perCpu] = DECL_TYPES[d.type];
    const want = m.kind === "value" ? false : true;
    if (perCpu !== want) {
      diag.error(
        m.span,
        `Incompatible map types. Type from declaration: ${d.type}. Type from value/key type: ${
          want ? "percpuhash" : "hash"
        }`,
      );
      continue;
    }
    m.decl = { type, maxEntries: d.maxEntries };
  }
}

/** The named parameters the units read with `getopt()`, first use first. */
function programOptions(units: Unit[]): ProgramOption[] {
  const seen = new Map<string, ProgramOption>();
  const calls = units.flatMap((u) => [...(u.getopts?.values() ?? [])]);
  calls.sort((a, b) => a.at - b.at);
  for (const { option } of calls) {
    if (!seen.has(option.name)) seen.set(option.name, option);
  }
  return [...seen.values()];
}

/** Longest kernel program name (BPF_OBJ_NAME_LEN - 1). */
const NAME_MAX = 15;

/**
 * Makes every probe name unique: names shared by several programs (one
 * probe with several attach points, or targets equal after truncation)
 * get `_1`, `_2`, … in place of their last characters.
 */
function uniqueNames(probes: ProbeProgram[]): void {
  const count = new Map<string, number>();
  for (const p of probes) count.set(p.name, (count.get(p.name) ?? 0) + 1);
  const taken = new Set(probes.map((p) => p.name));
  const next = new Map<string, number>();
  for (const p of probes) {
    if (count.get(p.name)! < 2) continue;
    const base = p.name;
    let name: string;
    do {
      const n = (next.get(base) ?? 0) + 1;
      next.set(base, n);
      const suffix = `_${n}`;
      name = base.slice(0, NAME_MAX - suffix.length) + suffix;
    } while (taken.has(name));
    taken.add(name);
    p.name = name;
  }
}

function syntheticBegin(span: ast.Span): Unit {
  const probe: ast.Probe = {
    kind: "probe",
    attachPoints: [],
    body: { kind: "block", stmts: [], span },
    span,
  };
  return {
    probe,
    kind: "BEGIN",
    attach: [{ kind: "BEGIN", target: "", text: "BEGIN" }],
    progType: ProgType.RAW_TRACEPOINT,
    ctx: { kind: "none", size: 0 },
    userPtrs: false,
    probeText: "BEGIN",
    name: "BEGIN",
    types: new Map(),
    vars: new Map(),
    maxArg: -1,
  };
}
