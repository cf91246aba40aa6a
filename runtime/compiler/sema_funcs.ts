/**
 * Checks of functions of bpftrace few scripts call, loaded on demand:
 * `macaddr()`, `cgroup_path()`, `override()`, and those tsbpf refuses with the reason
 * (`path()` and `skboutput()`, helpers of fentry programs). Only type
 * imports and leaf modules here: `on_demand.ts` loads this module while
 * it is itself being loaded.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { NONE, type SType, typeName, U64 } from "./types.ts";
import type { SemaScope } from "./sema_scope.ts";

/** The bytes of a MAC address. */
export const MAC_SIZE = 6;

/**
 * The type of `macaddr()`: six bytes printed `XX:XX:XX:XX:XX:XX` (an
 * `inet` of six bytes; see `decode_value.ts`).
 */
export const MACADDR: SType = { k: "inet", size: MAC_SIZE };

/**
 * The type of call `e` to one of this module's functions, after its
 * checks; undefined when `name` is none of them.
 *
 * @example Usage
 * ```ts ignore
 * const t = checkFuncCall(c, e, "macaddr", false); // { k: "inet", size: 6 }
 * ```
 */
export function checkFuncCall(
  c: SemaScope,
  e: ast.CallExpr,
  name: string,
  stmt: boolean,
): SType | undefined {
  switch (name) {
    case "macaddr":
      return checkMacaddr(c, e);
    case "cgroup_path":
      return checkCgroupPath(c, e);
    case "override":
      return checkOverride(c, e, stmt);
    case "path":
      // bpf_d_path is allowed only in BTF tracing programs (fentry,
      // fexit, iterators), which tsbpf does not load.
      for (const a of e.args) c.expr(a);
      c.err(
        e.span,
        "The path function can only be used with 'fentry', 'fexit', 'iter' " +
          "probes (bpf_d_path), which tsbpf does not support",
      );
      return { k: "str", size: 64 };
    case "skboutput":
      // bpf_skb_output is a helper of BTF tracing programs (fentry,
      // fexit, tp_btf) only.
      for (const a of e.args) c.expr(a);
      c.err(
        e.span,
        "skboutput() needs an fentry or fexit probe (bpf_skb_output), " +
          "which tsbpf does not support",
      );
      return U64;
    default:
      return undefined;
  }
}

/** `macaddr(p)`: six bytes read from a pointer or an array of six or more. */
function checkMacaddr(c: SemaScope, e: ast.CallExpr): SType {
  if (!oneArg(c, e)) return MACADDR;
  const a = e.args[0];
  const t = c.expr(a);
  if (a.kind === "str") {
    c.err(e.span, "macaddr() does not support literal string arguments");
    return MACADDR;
  }
  if (t.k === "int") return MACADDR;
  const array = t.k === "array" || t.k === "intarray" ||
    (t.k === "str" && (a.kind === "field" || a.kind === "index"));
  if (!array) {
    c.err(
      a.span,
      `macaddr() only supports array or pointer arguments (${
        typeName(t)
      } provided)`,
    );
  } else if (t.size < MAC_SIZE) {
    c.err(a.span, "macaddr() argument must be at least 6 bytes in size");
  }
  return MACADDR;
}

/**
 * `cgroup_path(id[, "filter"])`: the id, named in user space where it is
 * printed (the hierarchies then mounted; `filter` matches their names).
 */
function checkCgroupPath(c: SemaScope, e: ast.CallExpr): SType {
  const t: SType = { k: "intname", table: "cgroup" };
  if (e.args.length < 1 || e.args.length > 2) {
    c.err(
      e.span,
      `cgroup_path() takes 1 to 2 arguments (${e.args.length} given)`,
    );
    for (const a of e.args) c.expr(a);
    return t;
  }
  const id = c.expr(e.args[0]);
  if (id.k !== "int") {
    c.err(
      e.args[0].span,
      `cgroup_path() expects an integer argument 1, got ${typeName(id)}`,
    );
  }
  if (e.args.length === 1) return t;
  const f = e.args[1];
  c.expr(f);
  if (f.kind !== "str") {
    c.err(f.span, "cgroup_path() only supports a string literal as filter");
    return t;
  }
  return { ...t, filter: f.value };
}

/** `override(rc)`: kprobes only (`bpf_override_return`), with `--unsafe`. */
function checkOverride(c: SemaScope, e: ast.CallExpr, stmt: boolean): SType {
  if (!stmt) c.err(e.span, "override() cannot be used as a value");
  if (c.u.kind !== "kprobe") {
    c.err(e.span, "override can only be used with kprobes.");
  } else if (!c.opts.unsafe) {
    c.err(e.span, "override() is an unsafe function: use --unsafe");
  }
  if (oneArg(c, e)) {
    const t = c.expr(e.args[0]);
    if (t.k !== "int") {
      c.err(
        e.args[0].span,
        `override() expects an integer argument 1, got ${typeName(t)}`,
      );
    }
  }
  return NONE;
}

/** Whether call `e` has one argument; reports otherwise. */
function oneArg(c: SemaScope, e: ast.CallExpr): boolean {
  if (e.args.length === 1) return true;
  c.err(
    e.span,
    `${e.name}() takes 1 argument (${e.args.length} given)`,
  );
  for (const a of e.args) c.expr(a);
  return false;
}
