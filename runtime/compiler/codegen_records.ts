/**
 * Records whose fields come in another order than the slot's (0.26:
 * `$a = (a=1, b=2); $a = (b=3, a=4);` keeps `a` first): each field is
 * written where the slot's type has it, in the order written.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { sizeOf, type SType } from "./types.ts";
import type { Dst, Emitter } from "./emitter.ts";

/**
 * Whether a value of type `et` goes into a slot of type `st` field by
 * field: both records, their names in another order.
 *
 * @example Usage
 * ```ts ignore
 * if (reordered(slotType, valueType)) recordInto(cg, e, d, slotType, true);
 * ```
 */
export function reordered(st: SType, et: SType): boolean {
  if (st.k !== "tuple" || et.k !== "tuple") return false;
  if (st.names === undefined || et.names === undefined) return false;
  return st.names.some((n, i) => et.names![i] !== n);
}

/**
 * Writes record `e` (a literal, or any record value) into `d` as a value
 * of record type `st` whose fields are the same in another order.
 *
 * @example Usage
 * ```ts ignore
 * recordInto(cg, recordLiteral, { base: R10, off: -32 }, slotType, true);
 * ```
 */
export function recordInto(
  cg: Emitter,
  e: ast.Expr,
  d: Dst,
  st: SType & { k: "tuple" },
  clean: boolean,
): void {
  const et = cg.type(e) as SType & { k: "tuple" };
  const at = (i: number) => {
    const j = st.names!.indexOf(et.names![i]);
    return { off: d.off + st.offsets[j], t: st.elems[j] };
  };
  if (clean) cg.zero(d, 0, st.size);
  if (e.kind === "tuple") {
    // Evaluated in the order written.
    e.elems.forEach((el, i) => {
      const { off, t } = at(i);
      cg.into(el, { base: d.base, off }, t, clean);
    });
    return;
  }
  const src = cg.mem(e);
  copyByName(cg, { base: d.base, off: d.off }, st, src, et);
}

/** Copies record `et` at `src` into `d` laid out as `st`, field by name. */
function copyByName(
  cg: Emitter,
  d: Dst,
  st: SType & { k: "tuple" },
  src: { base: number; off: number },
  et: SType & { k: "tuple" },
): void {
  et.elems.forEach((el, i) => {
    const j = st.names!.indexOf(et.names![i]);
    const t = st.elems[j];
    const to = { base: d.base, off: d.off + st.offsets[j] };
    const from = { base: src.base, off: src.off + et.offsets[i] };
    if (t.k === "tuple" && el.k === "tuple" && reordered(t, el)) {
      copyByName(cg, to, t, from, el);
    } else cg.copy(to, from, Math.min(sizeOf(el), sizeOf(t)));
  });
}
