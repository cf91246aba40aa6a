/**
 * `percpu_kaddr(name[, cpu])` (bpftrace 0.26): the address of a CPU's copy
 * of the kernel's per-CPU variable `name`. Loaded on demand (a script
 * that calls it names a kernel variable, so the kernel's types are read).
 *
 * The variable is a `var` of the kernel's BTF in the `.data..percpu`
 * section; the program loads it by its BTF id (`ld_imm64` with
 * `BPF_PSEUDO_BTF_ID`: the kernel puts the variable's per-CPU address
 * there), then asks `bpf_per_cpu_ptr(ptr, cpu)` (NULL for a CPU that does
 * not exist, checked at once) or `bpf_this_cpu_ptr(ptr)` for the address.
 * The value is a kernel pointer to the variable's type, read through
 * `bpf_probe_read_kernel` like every other kernel pointer.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { Helper } from "../bpf/opcodes.ts";
import { nearestNames } from "../btf/nearest_names.ts";
import { type PercpuVar, percpuVars } from "../btf/percpu_vars.ts";
import type { KernelTypes } from "../btf/kernel_types.ts";
import { btfSType, kernelTypeSource, recordRef } from "./kernel_types.ts";
import type { InsnBuilder } from "../bpf/builder.ts";
import type { Ref, RegAlloc } from "./regs.ts";
import { type IntType, type SType, typeName, U64 } from "./types.ts";

/** What the check uses of the analysis (see `sema_funcs.ts`). */
export interface PercpuScope {
  /** Reports an error at `span`. */
  err(span: ast.Span, msg: string): void;
  /** Checks an expression; returns its type. */
  expr(e: ast.Expr): SType;
}

/**
 * What the code needs of the code generator: a part of `Emitter`, written
 * out here since emitter.ts's imports lead to the module that loads this
 * one.
 */
export interface PercpuEmitter {
  /** The instruction builder. */
  b: InsnBuilder;
  /** The register allocator. */
  ra: RegAlloc;
  /** An expression's value. */
  scalar(e: ast.Expr): Ref;
  /** A string literal's value. */
  strConst(e: ast.Expr): string | undefined;
  /** Calls a helper (see `Emitter.call`). */
  call(
    helper: number,
    args: (Ref | { btfVar: number })[],
    result: boolean,
  ): Ref | undefined;
}

/** bpftrace's type of the value: `uint64 *` in kernel memory. */
const U64_PTR: IntType = {
  k: "int",
  size: 8,
  signed: false,
  ptr: "kernel",
  deref: U64,
};

/**
 * The per-CPU variable `name` of the compiler's kernel types, with the
 * types; undefined when there is none.
 *
 * @example Usage
 * ```ts ignore
 * const found = percpuVar("runqueues"); // { v: { id, type, ... }, types }
 * ```
 *
 * @param name The variable's name.
 * @returns It and the types that describe it.
 */
export function percpuVar(
  name: string,
): { v: PercpuVar; types: KernelTypes } | undefined {
  const types = kernelTypeSource()?.types();
  const v = types === undefined ? undefined : percpuVars(types.btf).get(name);
  return v === undefined ? undefined : { v, types: types! };
}

/**
 * The type of a pointer to a variable of BTF type `id`: a struct or union
 * pointer reads its members (`->`, or `.` as 0.26 allows), an integer
 * pointer its integer (`*p`); anything else reads as bpftrace's `uint64 *`.
 *
 * @example Usage
 * ```ts ignore
 * const t = pointerTo(types, runqueuesTypeId); // { k: "int", ptr: "kernel", rec: struct rq }
 * ```
 *
 * @param types The types.
 * @param id The variable's type.
 * @returns The pointer's type.
 */
export function pointerTo(types: KernelTypes, id: number): IntType {
  const rec = recordRef(types, types.strip(id));
  if (rec !== undefined) return { ...U64_PTR, deref: undefined, rec };
  const t = btfSType(types, id, "kernel");
  if (t?.k === "int" && t.deref === undefined && t.rec === undefined) {
    return { ...U64_PTR, deref: t };
  }
  return U64_PTR;
}

/**
 * Checks `percpu_kaddr(name[, cpu])`: `name` a string literal naming a
 * per-CPU variable of the kernel's BTF (else an error with the nearest
 * names), `cpu` an integer.
 *
 * @example Usage
 * ```ts ignore
 * const t = checkPercpuKaddr(c, e); // a kernel pointer to the variable's type
 * ```
 *
 * @param c The analysis.
 * @param e The call.
 * @returns The type of its value.
 */
export function checkPercpuKaddr(c: PercpuScope, e: ast.CallExpr): SType {
  const n = e.args.length;
  if (n < 1 || n > 2) {
    c.err(e.span, `percpu_kaddr() takes 1 to 2 arguments (${n} given)`);
    for (const a of e.args) c.expr(a);
    return U64_PTR;
  }
  const a = e.args[0];
  const at = c.expr(a);
  if (n === 2) {
    const t = c.expr(e.args[1]);
    if (t.k !== "int") {
      c.err(
        e.args[1].span,
        `percpu_kaddr() expects an integer CPU as argument 2, got ${
          typeName(t)
        }`,
      );
    }
  }
  if (a.kind !== "str") {
    c.err(
      a.span,
      `percpu_kaddr() expects a string literal as argument 1, got ${
        typeName(at)
      }`,
    );
    return U64_PTR;
  }
  const found = percpuVar(a.value);
  if (found !== undefined) return pointerTo(found.types, found.v.type);
  const types = kernelTypeSource()?.types();
  let why = "";
  if (types === undefined || types.source !== "btf") {
    why = " (the kernel's BTF is not readable here)";
  } else {
    const near = nearestNames(a.value, percpuVars(types.btf).keys());
    if (near.length > 0) {
      why = `; did you mean ${near.map((x) => `"${x}"`).join(", ")}?`;
    }
  }
  c.err(e.span, `Could not resolve variable "${a.value}" from BTF${why}`);
  return U64_PTR;
}

/**
 * The code of `percpu_kaddr()`: the variable's address on CPU `cpu`
 * (`bpf_per_cpu_ptr`, 0 for a CPU that does not exist) or on this CPU
 * (`bpf_this_cpu_ptr`).
 *
 * @example Usage
 * ```ts ignore
 * const r = percpuAddress(cg, e); // a register holding the address
 * ```
 *
 * @param cg The code generator.
 * @param e The call, checked.
 * @returns The address.
 */
export function percpuAddress(
  cg: PercpuEmitter,
  e: ast.CallExpr,
): Ref {
  const name = cg.strConst(e.args[0]);
  const found = name === undefined ? undefined : percpuVar(name);
  // Reported by the check: nothing is emitted.
  if (found === undefined) return cg.ra.imm(0);
  const btfVar = found.v.id;
  if (e.args.length === 1) {
    return cg.call(Helper.this_cpu_ptr, [{ btfVar }], true)!;
  }
  const cpu = cg.scalar(e.args[1]);
  const r = cg.call(Helper.per_cpu_ptr, [{ btfVar }, cpu], true)!;
  // A pointer that may be NULL takes no offset: check it here, so that
  // `p->field` reads (and a CPU that does not exist reads 0).
  const ok = cg.b.newLabel("percpu");
  cg.b.jmpImm("JEQ", cg.ra.reg(r), 0, ok);
  cg.b.label(ok);
  return r;
}
