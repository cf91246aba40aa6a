/**
 * `fentry`/`fexit` (`kfunc`/`kretfunc`) and `rawtracepoint` attach points
 * from BTF: expansion of `[MODULE:]NAME` with wildcards into the kernel's
 * functions and raw tracepoints, and the typed arguments of each
 * (`args.NAME`, `args` whole, `retval` of fexit) from the prototype BTF
 * gives them. Loaded on demand (a script naming one of these probes):
 * it reads the kernel's BTF.
 *
 * Both kinds get their arguments as an array of u64 slots (r1 points at
 * it): argument N in slot N, fexit's return value in the slot after the
 * last argument.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import type { Diagnostics } from "../lang/diagnostics.ts";
import type { AttachPoint, ContextLayout } from "../program.ts";
import {
  type BtfProbe,
  btfProbe,
  type BtfProbeKind,
  matchBtfProbes,
  nearestBtfProbes,
} from "../btf/btf_probes.ts";
import { hasWildcard } from "../probes/glob.ts";
import { kernelTypes } from "../btf/load_types.ts";
import { btfSType } from "./kernel_types.ts";
import { S64, type SType } from "./types.ts";
import { didYouMean } from "../lang/suggest.ts";

/** One argument of a BTF-typed probe. */
export interface BtfArg {
  /** Its name (`arg0`, … when BTF has none). */
  name: string;
  /** Its u64 slot in the context. */
  index: number;
  /** Its value type, or undefined when the language cannot hold it. */
  type?: SType;
  /** Its C type, for messages and listings. */
  ctype: string;
}

/** The arguments (and return value) of a BTF-typed attach point. */
export interface BtfSignature {
  /** The arguments in order. */
  args: BtfArg[];
  /** fexit: the return value (slot `args.length`); undefined for void. */
  ret?: BtfArg;
}

type BtfKind = "fentry" | "fexit" | "rawtracepoint";

/** What is read and set here of a compile unit (`Unit` of `units.ts`). */
export interface BtfUnit {
  /** The probe type. */
  kind: string;
  /** Its attach points (one, for a typed unit). */
  attach: AttachPoint[];
  /** What r1 points at. */
  ctx: ContextLayout;
  /** The typed arguments, once known. */
  btfSig?: BtfSignature;
}

/**
 * What the checks here use of the analysis (`SemaScope`, which satisfies
 * it; named here so that this module loaded on demand closes no import
 * cycle).
 */
export interface BtfScope {
  /** The unit being checked. */
  readonly u: BtfUnit;
  /** Reports an error (on the final pass), once per expression. */
  err(span: ast.Span, msg: string): void;
}

function btfKind(kind: BtfKind): BtfProbeKind {
  return kind === "rawtracepoint" ? "rawtracepoint" : "function";
}

/**
 * The attach points of one `fentry`/`fexit`/`rawtracepoint` attach point:
 * one per function or event it names (wildcards expanded over vmlinux and
 * the modules); none, with a located error, when nothing matches.
 *
 * @example Usage
 * ```ts ignore
 * const aps = btfAttachPoints("fentry", node, diag);
 * // [{ kind: "fentry", target: "vfs_read", text: "fentry:vmlinux:vfs_read", btf: { id: 119125 } }]
 * ```
 */
export function btfAttachPoints(
  kind: BtfKind,
  ap: ast.AttachPointNode,
  diag: Diagnostics,
): AttachPoint[] | undefined {
  const colon = ap.target.indexOf(":");
  const module = colon < 0 ? undefined : ap.target.slice(0, colon);
  const name = colon < 0 ? ap.target : ap.target.slice(colon + 1);
  const bk = btfKind(kind);
  const found: BtfProbe[] = [];
  if (module === undefined && !hasWildcard(name)) {
    const p = btfProbe(bk, name);
    if (p !== undefined) found.push(p);
  } else {
    for (const m of matchBtfProbes(bk, module ?? "*", name)) {
      const p = btfProbe(bk, m.name, m.module);
      if (p !== undefined) found.push(p);
    }
  }
  if (found.length === 0) {
    const hint = hasWildcard(name) ? [] : nearestBtfProbes(bk, name);
    diag.error(
      ap.span,
      `No matches for ${kind} ${ap.target}${
        hint.length > 0 ? `; did you mean "${hint[0]}"?` : "."
      }`,
    );
    return undefined;
  }
  return found.map((p) => {
    const pt: AttachPoint = {
      kind,
      target: p.name,
      text: kind === "rawtracepoint" && module === undefined &&
          !hasWildcard(name)
        ? `rawtracepoint:${p.name}`
        : `${kind}:${p.module}:${p.name}`,
      btf: p.module === "vmlinux"
        ? { id: p.btfId }
        : { id: p.btfId, module: p.module },
    };
    return pt;
  });
}

/** Whether the pointer `id` points at user memory (a `__user` tag). */
function userPointer(p: BtfProbe, id: number): boolean {
  const t = p.types.resolve(id);
  if (t.kind !== "ptr") return false;
  let target = t.target;
  for (let hops = 0; hops < 16; hops++) {
    const tt = p.types.type(target);
    if (tt.kind === "type_tag" && tt.name === "user") return true;
    if (
      tt.kind !== "typedef" && tt.kind !== "const" && tt.kind !== "volatile" &&
      tt.kind !== "restrict" && tt.kind !== "type_tag"
    ) return false;
    target = tt.target;
  }
  return false;
}

function argOf(p: BtfProbe, name: string, index: number, id: number): BtfArg {
  const origin = userPointer(p, id) ? "user" : "kernel";
  const type = btfSType(p.types, id, origin);
  const a: BtfArg = { name, index, ctype: p.types.typeName(id) };
  // Only what fits a u64 slot: integers, enums and pointers.
  if (type !== undefined && type.k === "int") a.type = type;
  return a;
}

/**
 * The typed arguments of attach point `ap` (from `btfAttachPoints`), and
 * for fexit the return value; undefined when its BTF is gone.
 *
 * @example Usage
 * ```ts ignore
 * const sig = btfSignature(ap); // { args: [{ name: "file", index: 0, … }, …] }
 * ```
 */
export function btfSignature(ap: AttachPoint): BtfSignature | undefined {
  if (
    ap.kind !== "fentry" && ap.kind !== "fexit" && ap.kind !== "rawtracepoint"
  ) return undefined;
  const p = btfProbe(btfKind(ap.kind), ap.target, ap.btf?.module);
  if (p === undefined) return undefined;
  const args = p.params.map((x, i) => argOf(p, x.name || `arg${i}`, i, x.type));
  const sig: BtfSignature = { args };
  if (ap.kind === "fexit") {
    sig.ret = p.returns === 0
      ? { name: "retval", index: args.length, ctype: "void" }
      : argOf(p, "retval", args.length, p.returns);
  }
  return sig;
}

/**
 * Whether the kernel's own BTF is readable (not the bundled subset).
 *
 * @example Usage
 * ```ts ignore
 * console.log(liveBtf()); // true where /sys/kernel/btf/vmlinux is readable
 * ```
 */
export function liveBtf(): boolean {
  return kernelTypes().source === "btf";
}
/**
 * fexit's `retval`: typed by the function's return type; reports a void
 * function, or a type the language cannot hold.
 *
 * @example Usage
 * ```ts ignore
 * const t = btfRetval(c, e); // int64 for vfs_read's ssize_t
 * ```
 */
export function btfRetval(c: BtfScope, e: ast.BuiltinExpr): SType {
  const ret = c.u.btfSig?.ret;
  if (ret === undefined) return S64;
  if (ret.type === undefined) {
    c.err(
      e.span,
      ret.ctype === "void"
        ? `Function "${c.u.attach[0].target}" returns void: fexit has no retval`
        : `The retval of "${
          c.u.attach[0].target
        }" has type "${ret.ctype}", which cannot be read`,
    );
    return S64;
  }
  return ret.type;
}

/**
 * `args.NAME` of fentry/fexit or a rawtracepoint: the argument's type
 * from the BTF prototype; reports an unknown name (with the nearest) or
 * an argument the language cannot hold.
 *
 * @example Usage
 * ```ts ignore
 * const t = btfArgType(c, e); // uint64 for vfs_read's args.count
 * ```
 */
export function btfArgType(c: BtfScope, e: ast.FieldExpr): SType {
  const sig = c.u.btfSig!;
  const a = sig.args.find((x) => x.name === e.field);
  const what = `${
    c.u.kind === "rawtracepoint" ? "Raw tracepoint" : "Function"
  } "${c.u.attach[0].target}"`;
  if (a === undefined) {
    c.err(
      e.span,
      `${what} has no argument "${e.field}"${
        didYouMean(e.field, sig.args.map((x) => x.name))
      }`,
    );
    return S64;
  }
  if (a.type === undefined) {
    c.err(
      e.span,
      `Argument "${a.name}" of ${what} has type "${a.ctype}", which cannot be read`,
    );
    return S64;
  }
  return a.type;
}

/**
 * Types unit `u` of a BTF-typed attach point: its arguments (and fexit's
 * return value) in `u.btfSig`, and its context as u64 slots with the
 * types synthetic events fill them by.
 *
 * @example Usage
 * ```ts ignore
 * typeUnit(unit); // unit.ctx.size === 8 * number of arguments
 * ```
 */
export function typeUnit(u: BtfUnit): void {
  const sig = btfSignature(u.attach[0]);
  if (sig === undefined) return;
  u.btfSig = sig;
  const all = sig.ret === undefined ? sig.args : [...sig.args, sig.ret];
  u.ctx = {
    kind: "raw_tp",
    size: all.length * 8,
    args: all.map((a) => ({
      name: a.name,
      size: a.type?.k === "int" ? a.type.size : 8,
      signed: a.type?.k === "int" ? a.type.signed : false,
      pointer: a.type?.k === "int" && a.type.ptr !== undefined,
    })),
  };
}
