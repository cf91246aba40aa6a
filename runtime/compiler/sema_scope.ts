/**
 * What sema's passes share: the analysis options, what a map holds, and
 * {@linkcode SemaScope}, the part of the unit type checker (`sema.ts`)
 * that the statement, call and member checks (`sema_stmts.ts`,
 * `sema_calls.ts`, `sema_members.ts`, …) use, so that those files need not
 * import the checker.
 *
 * @module
 */

import type { TseriesParams } from "../program.ts";
import type { NamedParams } from "./getopt.ts";
import type * as ast from "../lang/ast.ts";
import type { Diagnostics } from "../lang/diagnostics.ts";
import type { CStructs } from "./c_structs.ts";
import type { Preamble } from "./c_preamble.ts";
import type { LocalTypes } from "./c_types.ts";
import type { ScriptEnums } from "./c_enums.ts";
import type { SType } from "./types.ts";
import type { Unit } from "./units.ts";

/** Options of the analysis. */
export interface SemaOptions {
  /** Positional parameters `$1`... */
  params?: string[];
  /** Allow `system`, `cat`, `signal`. */
  unsafe?: boolean;
  /**
   * Read tracepoint formats and names from tracefs (default: when it is
   * mounted); `false` uses only the bundled capture.
   */
  tracefsAvailable?: boolean;
  /** The pid of the `-c` child, the value of `cpid`. */
  cpid?: number;
  /** The `-p` process: usdt binaries are looked up in its mappings. */
  pid?: number;
  /** Named parameters (`-- --name=value`), read by `getopt()`. */
  named?: NamedParams;
  /** `stack_mode`: how `kstack`/`ustack` without a mode print. */
  stackMode?: "perf" | "raw";
  /** `max_strlen`: bytes of a string read at run time (default 64). */
  maxStrlen?: number;
}

/** The aggregation functions. */
export type AggName =
  | "count"
  | "sum"
  | "avg"
  | "min"
  | "max"
  | "stats"
  | "hist"
  | "lhist"
  | "tseries";

/** The names of the aggregation functions ({@linkcode AggName}). */
export const AGGS: ReadonlySet<string> = new Set<AggName>([
  "count",
  "sum",
  "avg",
  "min",
  "max",
  "stats",
  "hist",
  "lhist",
  "tseries",
]);

/** What a map holds, as analysis found it. */
export interface MapInfo {
  /** "@name" or "@". */
  name: string;
  /** Number of keys, fixed at first use. */
  nkeys: number;
  /** Key type: a single type or a tuple for several keys; none for 0. */
  key?: SType;
  /** The aggregation, or "value" for `@m = expr`. */
  kind?: AggName | "value";
  /** Value type for "value" maps. */
  value?: SType;
  /** lhist parameters. */
  lhist?: { min: number; max: number; step: number };
  /** tseries(n, interval, num[, agg]) parameters (0.26). */
  tseries?: TseriesParams;
  /** hist(n, k): sub-buckets per power of 2 are 2^k (0.26; 0 when absent). */
  histBits?: number;
  /** sum: whether the summed expression is signed. */
  sumSigned?: boolean;
  /** Names of the keys, from the key expressions of the first use. */
  keyNames?: string[];
  /** Where first used. */
  span: ast.Span;
  /** Its `let @m = type(n);` declaration: BPF map type and max entries. */
  decl?: { type: number; maxEntries: number };
}

/** A script's preamble: active definitions, constants, its own types. */
export interface ScriptPreamble extends Preamble {
  /** Its structs and unions as types (when kernel types are loaded). */
  local?: LocalTypes;
  /** Its enums (`enum Foo { ONE = 1 };`), when it defines any. */
  enums?: ScriptEnums;
}

/**
 * The unit type checker as the statement, call and member checks see it.
 */
export interface SemaScope {
  /** The unit being checked. */
  readonly u: Unit;
  /** User maps by name ("@x"), shared by all units. */
  readonly maps: Map<string, MapInfo>;
  /** Where errors go; undefined on the silent first pass. */
  readonly diag: Diagnostics | undefined;
  /** The analysis options. */
  readonly opts: SemaOptions;
  /** Program-wide facts found while checking. */
  readonly state: { usesElapsed: boolean };
  /** Per variable, the type its first assignment gave it (for `sizeof`). */
  readonly declared: Map<string, SType>;
  /** The script's own structs (C definitions). */
  readonly structs: CStructs;
  /** The script's preamble. */
  readonly pre: ScriptPreamble;
  /** How many loops the statement being checked is inside (0: none). */
  loopDepth: number;
  /** Variables declared by `let $x;` with no type and no value yet. */
  readonly untyped: Set<string>;
  /** Reports an error (on the final pass), once per expression. */
  err(span: ast.Span, msg: string): void;
  /** Checks an expression and records its type. */
  expr(e: ast.Expr, stmt?: boolean): SType;
  /** `; did you mean "@x"?` for a map used but never assigned. */
  mapHint(name: string): string;
  /** `; did you mean "$x"?` for a variable read before any assignment. */
  varHint(name: string): string;
  /** The value of a literal where the language wants one. */
  constInt(e: ast.Expr): bigint | undefined;
  /** The text of positional parameter `e`, if given. */
  param(e: ast.PositionalExpr): string | undefined;
  /** Checks a map's keys and returns what the map holds. */
  mapKeys(e: ast.MapExpr): MapInfo | undefined;
}
