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
import {
  BOOL,
  NONE,
  S64,
  sizeOf,
  STRING_SIZE,
  type SType,
  typeName,
  U64,
} from "./types.ts";
import { findOf, strlenOf } from "./sugar.ts";
import { readBtfFile } from "../btf/btf_reader.ts";
import { checkPercpuKaddr } from "./percpu_kaddr.ts";

/**
 * What these checks use of the analysis (`SemaScope` of `sema_scope.ts`,
 * which this module does not import: that would close a cycle through
 * `on_demand.ts`).
 */
export interface SemaScope {
  /** The probe: its kind, and the calls with compile-time values. */
  readonly u: { kind: string; consts?: Map<ast.Expr, bigint> };
  /** User maps by name (`@x`): the number of keys each takes. */
  readonly maps: Map<string, { nkeys: number }>;
  /** The compile options these checks read. */
  readonly opts: { unsafe?: boolean; maxStrlen?: number };
  /** Reports an error at `span`. */
  err(span: ast.Span, msg: string): void;
  /** Checks an expression; returns its type. */
  expr(e: ast.Expr, stmt?: boolean): SType;
  /** The value of a constant integer expression. */
  constInt(e: ast.Expr): bigint | undefined;
}

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
    case "assert_str":
      if (oneArg(c, e)) checkStringLike(c, e.args[0]);
      return NONE;
    case "default_str_length":
      // stdlib/strings.bt: the size of str() of a pointer.
      if (noArgs(c, e)) constant(c, e, c.opts.maxStrlen ?? STRING_SIZE);
      return S64;
    case "strcap":
      return checkStrcap(c, e);
    case "memcmp":
      return checkMemcmp(c, e);
    case "kfunc_exist":
    case "kfunc_allowed": {
      const name = kfuncName(c, e);
      if (name === undefined) return BOOL;
      // tsbpf calls no kfuncs: none is allowed in its programs.
      constant(c, e, e.name === "kfunc_exist" && kernelHasFunc(name) ? 1 : 0);
      return BOOL;
    }
    case "socket_cookie":
      // bpf_get_socket_cookie takes a socket pointer in BTF tracing
      // programs (fentry, fexit) only.
      for (const a of e.args) c.expr(a);
      c.err(
        e.span,
        "socket_cookie() needs an fentry or fexit probe " +
          "(bpf_get_socket_cookie), which tsbpf does not support",
      );
      return U64;
    case "percpu_kaddr":
      return checkPercpuKaddr(c, e);
    case "find":
      return checkFind(c, e);
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

/** Records the compile-time value of call `e`. */
function constant(c: SemaScope, e: ast.CallExpr, v: number): void {
  (c.u.consts ??= new Map()).set(e, BigInt(v));
}

/** Whether call `e` has no arguments; reports otherwise. */
function noArgs(c: SemaScope, e: ast.CallExpr): boolean {
  if (e.args.length === 0) return true;
  c.err(e.span, `${e.name}() takes 0 arguments (${e.args.length} given)`);
  for (const a of e.args) c.expr(a);
  return false;
}

/**
 * stdlib/strings.bt's assert_str(): a string, an array of `int8` or a
 * pointer to `int8`; returns its type.
 */
function checkStringLike(c: SemaScope, a: ast.Expr): SType {
  const t = c.expr(a);
  if (t.k === "str") return t;
  const elem = t.k === "intarray" || t.k === "array"
    ? t.elem
    : t.k === "int" && (t.deref !== undefined || t.pointee !== undefined)
    ? t.deref ?? t.pointee
    : undefined;
  if (elem === undefined) {
    c.err(
      a.span,
      "string-like values must be either strings, arrays or pointers",
    );
  } else if (elem.k !== "int" || elem.size !== 1) {
    const what = t.k === "int"
      ? "pointers must point to"
      : "arrays must contain";
    c.err(a.span, `string-like ${what} a char-like type`);
  }
  return t;
}

/**
 * `strcap(s)` (stdlib/strings.bt): a string's size, an array's length,
 * and for a pointer the string it points at's length (strlen()).
 */
function checkStrcap(c: SemaScope, e: ast.CallExpr): SType {
  if (!oneArg(c, e)) return S64;
  const t = checkStringLike(c, e.args[0]);
  if (t.k === "str") constant(c, e, t.size);
  else if (t.k === "intarray" || t.k === "array") constant(c, e, t.count);
  else if (t.k === "int") c.expr(strlenOf(e, true));
  return S64;
}

/**
 * `memcmp(a, b, n)` (stdlib/internal.bt): the first `n` bytes of two
 * values compared, `n` a literal within both.
 */
function checkMemcmp(c: SemaScope, e: ast.CallExpr): SType {
  const r: SType = { k: "int", size: 4, signed: true };
  if (e.args.length !== 3) {
    c.err(e.span, `memcmp() takes 3 arguments (${e.args.length} given)`);
    for (const a of e.args) c.expr(a);
    return r;
  }
  const sizes: number[] = [];
  for (const a of e.args.slice(0, 2)) {
    const t = c.expr(a);
    const ok = t.k === "str" || t.k === "buf" || t.k === "intarray" ||
      t.k === "tuple" || t.k === "int";
    if (!ok) {
      c.err(a.span, `memcmp() cannot compare a value of type ${typeName(t)}`);
    }
    sizes.push(ok ? sizeOf(t) : Infinity);
  }
  c.expr(e.args[2]);
  const n = c.constInt(e.args[2]);
  if (n === undefined || n < 0n) {
    c.err(
      e.args[2].span,
      "memcmp() expects a non-negative integer literal as argument 3",
    );
  } else if (n > BigInt(Math.min(...sizes))) {
    c.err(
      e.args[2].span,
      `memcmp() compares at most ${Math.min(...sizes)} bytes of these values`,
    );
  }
  return r;
}

/**
 * `find(@m, k, $v)`: a keyed map, a key, a scratch variable; checked as
 * the block it stands for (`sugar.ts`), with `has_key()`'s checks.
 */
function checkFind(c: SemaScope, e: ast.CallExpr): SType {
  if (e.args.length !== 3) {
    c.err(e.span, `find() takes 3 arguments (${e.args.length} given)`);
    return BOOL;
  }
  const [m, , v] = e.args;
  if (m.kind !== "map" || m.keys.length > 0) {
    c.err(m.span, "find() expects a map as argument 1");
    return BOOL;
  }
  if (v.kind !== "var") {
    c.err(v.span, "find() expects a scratch variable as argument 3");
    return BOOL;
  }
  if (c.maps.get(`@${m.name}`)?.nkeys === 0) {
    // stdlib/meta.bt's check_key().
    c.err(
      m.span,
      "call to find() expects a map with explicit keys (non-scalar map)",
    );
    return BOOL;
  }
  c.expr(findOf(e));
  return BOOL;
}

/** The string literal argument of `kfunc_exist()`/`kfunc_allowed()`. */
function kfuncName(c: SemaScope, e: ast.CallExpr): string | undefined {
  if (!oneArg(c, e)) return undefined;
  const a = e.args[0];
  c.expr(a);
  if (a.kind === "str") return a.value;
  c.err(a.span, `${e.name}() expects a string literal`);
  return undefined;
}

let vmlinuxFuncs: Set<string> | undefined;

/** Whether the kernel's BTF has a function `name` (bpftrace's test). */
function kernelHasFunc(name: string): boolean {
  if (vmlinuxFuncs === undefined) {
    vmlinuxFuncs = new Set();
    try {
      const btf = readBtfFile("/sys/kernel/btf/vmlinux");
      for (let id = 1; id < btf.endId; id++) {
        if (btf.kind(id) === "func") vmlinuxFuncs.add(btf.name(id));
      }
    } catch {
      // No BTF: no kfunc is known.
    }
  }
  return vmlinuxFuncs.has(name);
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
