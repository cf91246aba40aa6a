/**
 * Names for a map's keys, derived from the key expressions of its first
 * use: `@x[pid, comm]` gives `pid`, `comm`; `args->id` gives `id`;
 * `str(args->filename)` gives `filename`; `$fd` gives `fd`. Exporters use
 * them as metric label names, so every name is a valid Prometheus label
 * name (`[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`, never `le` or
 * `quantile`), and duplicates are numbered (`pid`, `pid_2`).
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import type { SType } from "./types.ts";

/** The name one key expression suggests, before cleaning; "" if none. */
function rawName(e: ast.Expr): string {
  switch (e.kind) {
    case "builtin":
    case "ident":
    case "var":
      return e.name;
    case "map":
      return e.name === "" ? "map" : e.name;
    case "field":
      return e.field;
    case "positional":
      return `arg${e.index}`;
    case "call":
      // `str(args->filename)`, `ksym(arg0)`: the argument names the key;
      // `kstack()`, `cgroup_path(...)` without a name: the function.
      if (e.args.length > 0) {
        const inner = rawName(e.args[0]);
        if (inner !== "") return inner;
      }
      return e.name;
    case "cast":
    case "unary":
      return rawName(e.expr);
    case "tuple_index":
    case "index":
      return rawName(e.expr);
    default:
      return "";
  }
}

/** Makes `name` a valid label name that exporters do not reserve. */
function clean(name: string): string {
  let s = name.replace(/[^A-Za-z0-9_]/g, "_");
  if (s === "" || /^[0-9]/.test(s)) s = "key" + (s === "" ? "" : "_" + s);
  if (s.startsWith("__")) s = s.replace(/^_+/, "") || "key";
  // Reserved by histograms and summaries, and by the multi-program server.
  if (s === "le" || s === "quantile" || s === "program") s += "_";
  return s;
}

/**
 * Label names for the keys `keys` of one map access, one per key, unique.
 * Several keys are one tuple key; a single key of tuple type `key` (an
 * unnamed tuple: `@x[(pid, comm)]`, `@x[$t]`) gets one name per element
 * too, as its elements are printed and exported as the keys are.
 *
 * @example Keys of `@x[pid, comm, args->id, pid]`
 * ```ts
 * import assert from "node:assert/strict";
 * import { keyNames } from "./key_names.ts";
 * import type * as ast from "../lang/ast.ts";
 *
 * const span = { start: 0, end: 0, line: 1, col: 1 };
 * const b = (name: string): ast.Expr => ({ kind: "builtin", name, span });
 * const id: ast.Expr = {
 *   kind: "field", expr: b("args"), field: "id", arrow: true, span,
 * };
 * assert.deepEqual(
 *   keyNames([b("pid"), b("comm"), id, b("pid")]),
 *   ["pid", "comm", "id", "pid_2"],
 * );
 * ```
 */
export function keyNames(
  keys: readonly ast.Expr[],
  key?: SType,
): string[] {
  if (
    keys.length === 1 && key?.k === "tuple" && key.names === undefined
  ) {
    const k = keys[0];
    if (k.kind === "tuple" && k.elems.length === key.elems.length) {
      return keyNames(k.elems);
    }
    const raw = rawName(k);
    const base = raw === "" ? "key" : clean(raw);
    return key.elems.map((_, i) => `${base}_${i}`);
  }
  const names = keys.map((k, i) => {
    const raw = rawName(k);
    return raw === "" ? (keys.length === 1 ? "key" : `key${i}`) : clean(raw);
  });
  const seen = new Map<string, number>();
  const taken = new Set(names);
  return names.map((n) => {
    const count = (seen.get(n) ?? 0) + 1;
    seen.set(n, count);
    if (count === 1) return n;
    let k = count;
    let out = `${n}_${k}`;
    while (taken.has(out)) out = `${n}_${++k}`;
    taken.add(out);
    return out;
  });
}
