/**
 * What one program run may compute once and reuse: helper results that
 * cannot change while a program runs (the current task's pid/tgid and
 * uid/gid, the CPU, the NUMA node, the cgroup, the task pointer), map keys
 * built from such values, and map values read under such keys. This module
 * finds the candidates in a probe body (used more than once); the code
 * generator decides where each reuse is valid.
 *
 * Every read of `nsecs`, `rand`, `jiffies`, `elapsed` and every helper
 * with effects stays fresh, as in bpftrace.
 *
 * @module
 */

import { keyedMap } from "./sugar.ts";
import type * as ast from "../lang/ast.ts";
import { walk } from "../lang/visit.ts";
import { Helper } from "../bpf/opcodes.ts";
import { AGGS } from "./sema.ts";

/**
 * Builtins whose value comes from a helper whose result cannot change
 * within one program run, by helper id. The program runs on one CPU
 * (migration is disabled) for one task.
 */
export const STABLE_HELPER: Readonly<Record<string, number>> = {
  pid: Helper.get_current_pid_tgid,
  tid: Helper.get_current_pid_tgid,
  uid: Helper.get_current_uid_gid,
  gid: Helper.get_current_uid_gid,
  username: Helper.get_current_uid_gid,
  cpu: Helper.get_smp_processor_id,
  numaid: Helper.get_numa_node_id,
  cgroup: Helper.get_current_cgroup_id,
  curtask: Helper.get_current_task,
};

/** Builtins that read the same value every time within one run. */
const STABLE_BUILTINS = new Set([
  ...Object.keys(STABLE_HELPER),
  "comm",
  "probe",
  "cpid",
  "retval",
  "func",
]);

/**
 * A text identifying `e` by structure when evaluating it twice in one
 * program run gives the same value (constants, stable builtins, context
 * fields, and operators over them); undefined otherwise.
 *
 * @example Stable and fresh expressions
 * ```ts
 * import { stableId } from "./reuse.ts";
 * const span = { start: 0, end: 0, line: 1, col: 1 };
 * console.assert(stableId({ kind: "builtin", name: "tid", span }) === "tid");
 * console.assert(stableId({ kind: "builtin", name: "nsecs", span }) === undefined);
 * ```
 */
export function stableId(e: ast.Expr): string | undefined {
  switch (e.kind) {
    case "int":
      return `${e.value}`;
    case "bool":
      return e.value ? "1" : "0";
    case "str":
      return JSON.stringify(e.value);
    case "positional":
      return `$${e.index}`;
    case "positional_count":
      return "$#";
    case "builtin":
      return STABLE_BUILTINS.has(e.name) || /^arg\d+$/.test(e.name)
        ? e.name
        : undefined;
    case "field":
      return e.expr.kind === "builtin" && e.expr.name === "args"
        ? `args->${e.field}`
        : undefined;
    case "cast": {
      const x = stableId(e.expr);
      const t = `${e.type.name}${"*".repeat(e.type.pointer)}`;
      return x === undefined ? undefined : `((${t})${x})`;
    }
    case "unary": {
      if (e.op !== "-" && e.op !== "~" && e.op !== "!") return undefined;
      const x = stableId(e.expr);
      return x === undefined ? undefined : `(${e.op}${x})`;
    }
    case "binary": {
      const l = stableId(e.left);
      const r = l === undefined ? undefined : stableId(e.right);
      return r === undefined ? undefined : `(${l}${e.op}${r})`;
    }
    case "ternary": {
      const ids = [e.cond, e.then, e.else].map(stableId);
      return ids.includes(undefined)
        ? undefined
        : `(${ids[0]}?${ids[1]}:${ids[2]})`;
    }
    case "tuple": {
      const ids = e.elems.map(stableId);
      if (ids.includes(undefined)) return undefined;
      const names = e.names;
      return `(${ids.map((x, i) => names ? `${names[i]}=${x}` : x).join(",")})`;
    }
    default:
      return undefined;
  }
}

/**
 * A text identifying a map access (`@s[tid]`) whose key is the same every
 * time it is built within one run; undefined when a key part may change.
 *
 * @example Keys
 * ```ts
 * import { mapAccessId } from "./reuse.ts";
 * const span = { start: 0, end: 0, line: 1, col: 1 };
 * const tid = { kind: "builtin" as const, name: "tid", span };
 * console.assert(mapAccessId({ kind: "map", name: "s", keys: [tid], span }) === "@s[tid]");
 * ```
 */
export function mapAccessId(m: ast.MapExpr): string | undefined {
  const ids = m.keys.map(stableId);
  return ids.includes(undefined) ? undefined : `@${m.name}[${ids.join(",")}]`;
}

/** How often a probe body uses each reusable thing. */
export interface ReuseCounts {
  /** Evaluations of a stable helper's value, by helper id. */
  helpers: Map<number, number>;
  /** Builds of a stable map key, by {@linkcode mapAccessId}. */
  keys: Map<string, number>;
  /** Reads of a map value under a stable key, by {@linkcode mapAccessId}. */
  reads: Map<string, number>;
}

/**
 * Counts the reusable things a probe body (and its predicate) uses. A
 * stable key's helper uses count once per distinct key: the key is built
 * once and reused. `pidFilter` adds the `-p PID` test's pid read.
 *
 * @example Count the latency pair's exit probe
 * ```ts
 * import { parse } from "../lang/parser.ts";
 * import { countReuse } from "./reuse.ts";
 * const { ast } = parse("tracepoint:a:b /@s[tid]/ { @h = hist(nsecs - @s[tid]); delete(@s[tid]); }");
 * const c = countReuse(ast.probes[0], false);
 * console.assert(c.reads.get("@s[tid]") === 2 && c.keys.get("@s[tid]") === 3);
 * ```
 */
export function countReuse(p: ast.Probe, pidFilter: boolean): ReuseCounts {
  const out: ReuseCounts = {
    helpers: new Map(),
    keys: new Map(),
    reads: new Map(),
  };
  const bump = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
  const seenKeys = new Set<string>();
  if (pidFilter) bump(out.helpers, Helper.get_current_pid_tgid);

  const access = (m: ast.MapExpr, read: boolean): void => {
    const id = mapAccessId(m);
    if (id === undefined) {
      for (const k of m.keys) expr(k);
      return;
    }
    if (read) bump(out.reads, id);
    bump(out.keys, id);
    if (!seenKeys.has(id)) {
      seenKeys.add(id);
      for (const k of m.keys) expr(k);
    }
  };

  const expr = (e: ast.Expr | undefined): void => {
    if (e === undefined) return;
    switch (e.kind) {
      case "builtin": {
        const h = STABLE_HELPER[e.name];
        if (h !== undefined) bump(out.helpers, h);
        else if (e.name === "ustack" || e.name === "func") {
          bump(out.helpers, Helper.get_current_pid_tgid);
        }
        return;
      }
      case "map":
        access(e, true);
        return;
      case "incdec":
        // Read-modify-write in place: a key build, not a value read.
        if (e.target.kind === "map") access(e.target, false);
        return;
      case "call":
        if (e.name === "ustack" || e.name === "usym") {
          bump(out.helpers, Helper.get_current_pid_tgid);
        }
        if (e.name === "clear" || e.name === "zero") return;
        if (
          (e.name === "has_key" || e.name === "delete") &&
          e.args.length === 2
        ) {
          const el = keyedMap(e);
          if (el !== undefined) access(el, false);
          return;
        }
        if (
          e.name === "find" && e.args.length === 3 &&
          e.args[0].kind === "map" && e.args[2].kind === "var"
        ) {
          // One lookup of @m[k] (codegen_find.ts).
          const [m, k] = e.args;
          const keys = k.kind === "tuple" ? k.elems : [k];
          access({ kind: "map", name: m.name, keys, span: m.span }, false);
          return;
        }
        if (e.name === "delete" && e.args[0]?.kind === "map") {
          access(e.args[0], false);
          return;
        }
        if (
          e.name === "print" && e.args[0]?.kind === "map" &&
          e.args[0].keys.length === 0
        ) {
          for (const a of e.args.slice(1)) expr(a);
          return;
        }
        for (const a of e.args) expr(a);
        return;
      case "unary":
        expr(e.expr);
        return;
      case "binary":
        expr(e.left);
        expr(e.right);
        return;
      case "ternary":
        expr(e.cond);
        expr(e.then);
        expr(e.else);
        return;
      case "field":
      case "tuple_index":
      case "cast":
        expr(e.expr);
        return;
      case "index":
        expr(e.expr);
        expr(e.index);
        return;
      case "tuple":
        for (const x of e.elems) expr(x);
        return;
      case "sizeof":
        if (e.arg.kind !== "type") expr(e.arg);
        return;
      default:
        return;
    }
  };

  const stmt = (s: ast.Stmt): void => {
    switch (s.kind) {
      case "block":
        for (const x of s.stmts) stmt(x);
        return;
      case "expr":
        expr(s.expr);
        return;
      case "assign":
        if (s.target.kind === "map") {
          const v = s.value;
          if (v.kind === "call" && AGGS.has(v.name)) {
            for (const a of v.args) expr(a);
            // hist/lhist keys carry a bucket: never one stable key.
            if (v.name === "hist" || v.name === "lhist") {
              for (const k of s.target.keys) expr(k);
            } else access(s.target, false);
            return;
          }
          expr(v);
          access(s.target, false);
          return;
        }
        expr(s.value);
        return;
      case "if":
        expr(s.cond);
        stmt(s.then);
        if (s.else !== undefined) stmt(s.else);
        return;
      case "unroll":
        for (const x of s.body.stmts) stmt(x);
        return;
      case "while":
        expr(s.cond);
        stmt(s.body);
        return;
      default:
        return;
    }
  };

  expr(p.predicate);
  stmt(p.body);
  return out;
}

/**
 * User maps some probe passes to `zero()` or `delete()`: their entries can
 * exist with a zero value or disappear one by one, so they keep a hash
 * map even without keys.
 *
 * @example
 * ```ts
 * import { parse } from "../lang/parser.ts";
 * import { mapsZeroedOrDeleted } from "./reuse.ts";
 * const { ast } = parse("BEGIN { @a = count(); @b = count(); zero(@b); }");
 * console.assert([...mapsZeroedOrDeleted(ast.probes)].join() === "@b");
 * ```
 */
export function mapsZeroedOrDeleted(probes: ast.Probe[]): Set<string> {
  const out = new Set<string>();
  for (const probe of probes) {
    walk(probe, (node) => {
      if (
        node.kind === "call" &&
        (node.name === "zero" || node.name === "delete")
      ) {
        const a = node.args[0];
        if (a?.kind === "map") out.add(`@${a.name}`);
      }
    });
  }
  return out;
}
