/**
 * The kernel's per-CPU variables (`DEFINE_PER_CPU`), as BTF describes them:
 * each a `var` placed in the `.data..percpu` data section. `percpu_kaddr()`
 * loads one by its `var` id (`ld_imm64` with `BPF_PSEUDO_BTF_ID`), which
 * the kernel resolves to the variable's per-CPU address.
 *
 * @module
 */

import { BTF_KIND } from "./btf_types.ts";
import type { Btf } from "./btf_reader.ts";

/** The data section of per-CPU variables. */
export const PERCPU_SECTION = ".data..percpu";

/** A per-CPU variable. */
export interface PercpuVar {
  /** Its name (`runqueues`). */
  name: string;
  /** Its `var` type id (the `imm` of the `ld_imm64`). */
  id: number;
  /** The id of its type (`struct rq`). */
  type: number;
  /** Its size in bytes (one CPU's copy). */
  size: number;
}

const cache = new WeakMap<Btf, Map<string, PercpuVar>>();

/**
 * The per-CPU variables of `btf` (and of its base, for split BTF) by name;
 * empty when it has no `.data..percpu` section (the bundled table, a
 * module without per-CPU data).
 *
 * @example A variable's id and type
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBtf } from "./btf_writer.ts";
 * import { parseBtf } from "./btf_reader.ts";
 * import { percpuVars } from "./percpu_vars.ts";
 *
 * const btf = parseBtf(encodeBtf([
 *   { kind: "int", name: "unsigned long", size: 8, signed: false },
 *   { kind: "var", name: "process_counts", target: 1, linkage: 1 },
 *   {
 *     kind: "datasec",
 *     name: ".data..percpu",
 *     size: 8,
 *     vars: [{ type: 2, offset: 0, size: 8 }],
 *   },
 * ]), "example");
 * assert.deepEqual(percpuVars(btf).get("process_counts"), {
 *   name: "process_counts",
 *   id: 2,
 *   type: 1,
 *   size: 8,
 * });
 * ```
 *
 * @param btf The types.
 * @returns The variables, by name.
 */
export function percpuVars(btf: Btf): ReadonlyMap<string, PercpuVar> {
  let found = cache.get(btf);
  if (found !== undefined) return found;
  found = new Map(btf.base === undefined ? [] : percpuVars(btf.base));
  // The kernel's BTF ends with its data sections: search from the end.
  for (let id = btf.endId - 1; id >= btf.firstId; id--) {
    if (btf.recordKind(id) !== BTF_KIND.datasec) continue;
    if (btf.name(id) !== PERCPU_SECTION) continue;
    const sec = btf.type(id);
    if (sec.kind !== "datasec") continue;
    for (const v of sec.vars) {
      const t = btf.type(v.type);
      if (t.kind !== "var") continue;
      found.set(t.name, {
        name: t.name,
        id: v.type,
        type: t.target,
        size: v.size,
      });
    }
    break;
  }
  cache.set(btf, found);
  return found;
}
