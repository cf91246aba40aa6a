/**
 * `len(@map)`: the number of elements of a map, counted in the kernel by
 * `bpf_for_each_map_elem` with a callback that only goes on (the helper
 * returns the elements it visited), as bpftrace 0.26 does where the
 * kernel lacks `bpf_map_sum_elem_count`.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { Helper } from "../bpf/opcodes.ts";
import type { Emitter } from "./emitter.ts";
import type { Ref } from "./regs.ts";

/**
 * The element count of the map argument of `len(@m)`, in a register.
 *
 * @example Usage
 * ```ts ignore
 * const r = mapLen(cg, lenCall); // r0 of bpf_for_each_map_elem
 * ```
 */
export function mapLen(cg: Emitter, e: ast.CallExpr): Ref {
  const m = e.args[0] as ast.MapExpr;
  const fn = cg.subprog("lencb", () => {
    cg.b.movImm(0, 0);
    cg.b.exit();
  });
  return cg.call(Helper.for_each_map_elem, [
    { map: cg.t.userMap(`@${m.name}`) },
    { func: fn },
    cg.ra.imm(0),
    cg.ra.imm(0),
  ], true)!;
}
