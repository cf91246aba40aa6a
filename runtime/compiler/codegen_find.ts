/**
 * `find(@m, k, $v)` (bpftrace 0.26) with one map lookup, as 0.26's
 * `__lookup_elem`: the key built once (and evaluated once), the value
 * copied into `$v` on a hit; as a condition, a jump on the lookup's
 * result. Sema checks the block it stands for (`sugar.findOf`); this
 * emits it from the nodes that block holds. Loaded on demand
 * (`on_demand.ts`): a script that calls `find()`.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import type { InsnBuilder, Width } from "../bpf/builder.ts";
import { R10 } from "../bpf/opcodes.ts";
import type { Ref, RegAlloc } from "./regs.ts";
import { findOf } from "./sugar.ts";
import { isScalar, sizeOf, type SType } from "./types.ts";

/**
 * What this code needs of the code generator: a part of `Emitter`,
 * written out here since emitter.ts's imports lead to the module that
 * loads this one.
 */
export interface FindEmitter {
  /** The instruction builder. */
  b: InsnBuilder;
  /** The register allocator. */
  ra: RegAlloc;
  /** The compile unit: the variables' types, the aggregation reads. */
  u: { vars: Map<string, SType>; aggReads?: Set<ast.MapExpr> };
  /** Each variable's stack slot. */
  vars: Map<string, number>;
  /** An expression's type. */
  type(e: ast.Expr): SType;
  /** An expression's value. */
  scalar(e: ast.Expr): Ref;
  /** A value in a register of its own. */
  own(v: Ref): Ref;
  /** A pointer to the value of `@m[keys]`, or 0. */
  mapLookup(e: ast.MapExpr): Ref;
  /** Copies `n` bytes. */
  copy(
    d: { base: number | Ref; off: number },
    src: { base: number | Ref; off: number },
    n: number,
  ): void;
  /** Stores the low `width` bytes of a value. */
  storeScalar(
    d: { base: number | Ref; off: number },
    v: Ref,
    width: Width,
  ): void;
}

/** The `@m[k]` and the `$v` of the block `findOf(e)` gives (sema typed them). */
function findParts(
  e: ast.CallExpr,
): { elem: ast.MapExpr; target: ast.VarExpr } {
  const test = findOf(e).stmts[0] as ast.IfStmt;
  const assign = test.then.stmts[0] as ast.AssignStmt;
  return {
    elem: assign.value as ast.MapExpr,
    target: assign.target as ast.VarExpr,
  };
}

/**
 * The value of `find(@m, k, $v)`: 1 and `$v` set on a hit, 0 and `$v`
 * unchanged on a miss, with one lookup; the block it stands for when the
 * value needs a conversion on its way into `$v`.
 *
 * @example Usage
 * ```ts ignore
 * const r = findValue(cg, call); // a register holding 0 or 1
 * ```
 *
 * @param cg The code generator.
 * @param e The call.
 * @returns Its value.
 */
export function findValue(cg: FindEmitter, e: ast.CallExpr): Ref {
  const { elem, target } = findParts(e);
  const miss = cg.b.newLabel("fmiss");
  const floor = cg.ra.floor;
  const p = findCore(cg, elem, target, miss);
  if (p === undefined) return cg.scalar(findOf(e));
  cg.b.movImm(cg.ra.reg(p), 1);
  cg.b.label(miss);
  cg.ra.floor = floor;
  return p;
}

/**
 * `find(@m, k, $v)` as a condition: jumps to `to` when its result is
 * `when`, without making the 0 or 1. False (nothing emitted) where
 * {@linkcode findValue} takes the general way.
 *
 * @example Usage
 * ```ts ignore
 * if (!findJump(cg, call, elseLabel, false)) { ... }
 * ```
 *
 * @param cg The code generator.
 * @param e The call.
 * @param to Where to jump.
 * @param when The result that jumps.
 * @returns Whether it was emitted.
 */
export function findJump(
  cg: FindEmitter,
  e: ast.CallExpr,
  to: string,
  when: boolean,
): boolean {
  const { elem, target } = findParts(e);
  const b = cg.b;
  const floor = cg.ra.floor;
  const skip = when ? b.newLabel("fmiss") : to;
  const p = findCore(cg, elem, target, skip);
  if (p === undefined) return false;
  cg.ra.free(p);
  if (when) {
    b.ja(to);
    b.label(skip);
  }
  cg.ra.floor = floor;
  return true;
}

/**
 * Looks `elem` up, jumps to `miss` on a miss, else copies the value into
 * `target`'s slot; returns the value's pointer, live, with the split
 * floor raised (the callers restore it at their join).
 */
function findCore(
  cg: FindEmitter,
  elem: ast.MapExpr,
  target: ast.VarExpr,
  miss: string,
): Ref | undefined {
  const vt = cg.u.vars.get(target.name);
  const et = cg.type(elem);
  if (vt === undefined || cg.u.aggReads?.has(elem)) return undefined;
  const scalar = isScalar(vt) || vt.k === "int";
  if (!scalar && sizeOf(vt) !== sizeOf(et)) return undefined;
  const b = cg.b;
  const ra = cg.ra;
  const off = cg.vars.get(target.name)!;
  const p = cg.own(cg.mapLookup(elem));
  b.jmpImm("JEQ", ra.reg(p), 0, miss);
  ra.split();
  if (scalar) {
    const v = ra.holding([p], () => ra.newReg());
    const [pr, vr] = ra.regs(p, v);
    b.ldx(8, vr, pr, 0);
    cg.storeScalar({ base: R10, off }, v, sizeOf(vt) as Width);
    ra.free(v);
  } else cg.copy({ base: R10, off }, { base: p, off: 0 }, sizeOf(vt));
  return p;
}
