/**
 * How user space decodes a struct or union copied out of memory: its
 * members from the types that define it, laid out as bpftrace prints
 * them (anonymous members flattened into their parent, pointers as
 * signed 64-bit integers, `char` arrays as strings).
 *
 * @module
 */

import type { KernelTypes } from "../btf/kernel_types.ts";
import type { TypeDesc } from "../program.ts";

/** Nesting beyond which members are not described (a corrupt table). */
const MAX_DEPTH = 16;

/**
 * The `TypeDesc` of BTF type `id` of `types` (a struct, union, array or
 * integer).
 *
 * @example struct load_weight
 * ```ts
 * import { recordDesc } from "./record_desc.ts";
 * import { kernelTypes } from "../btf/load_types.ts";
 * const t = kernelTypes();
 * const d = recordDesc(t, t.lookup("struct load_weight")!);
 * console.assert(d.kind === "record" && d.fields[0].name === "weight");
 * ```
 */
export function recordDesc(
  types: KernelTypes,
  id: number,
  depth = 0,
): TypeDesc {
  const t = types.resolve(id);
  const size = types.sizeOf(id);
  if (depth > MAX_DEPTH) return { kind: "none", size: 0 };
  switch (t.kind) {
    case "int":
      return intDesc(size, t.signed);
    case "enum":
    case "enum64": {
      // Printed as its enumerator's name (0.26 formats enum members so).
      const d = intDesc(size, t.signed) as TypeDesc & { kind: "int" };
      d.show = "enum";
      d.enumerators = t.values.map((v) => [String(v.value), v.name]);
      return d;
    }
    case "ptr":
      return { kind: "int", size: 8, signed: true };
    case "array": {
      const elem = types.resolve(t.element);
      if (elem.kind === "int" && elem.size === 1 && /char/.test(elem.name)) {
        return { kind: "string", size: t.count };
      }
      return {
        kind: "array",
        size,
        elem: recordDesc(types, t.element, depth + 1),
        count: t.count,
      };
    }
    case "struct":
    case "union": {
      const fields: (TypeDesc & { kind: "record" })["fields"] = [];
      const walk = (cid: number, base: number, d: number) => {
        const c = types.composite(cid);
        if (c === undefined || d > MAX_DEPTH) return;
        for (const m of c.members) {
          const bit = base + m.bitOffset;
          if (m.name === "") {
            walk(m.type, bit, d + 1);
            continue;
          }
          const offset = Math.floor(bit / 8);
          if (m.bitSize > 0) {
            fields.push({
              name: m.name,
              offset,
              type: intDesc(types.sizeOf(m.type), isSigned(types, m.type)),
              bits: { shift: bit % 8, width: m.bitSize },
            });
          } else {
            fields.push({
              name: m.name,
              offset,
              type: recordDesc(types, m.type, depth + d + 1),
            });
          }
        }
      };
      walk(t.id, 0, 0);
      return { kind: "record", size, fields };
    }
    default:
      // Floats and the like: their bytes as an unsigned integer.
      return size === 1 || size === 2 || size === 4 || size === 8
        ? { kind: "int", size, signed: false }
        : { kind: "none", size: 0 };
  }
}

function intDesc(size: number, signed: boolean): TypeDesc {
  return size === 1 || size === 2 || size === 4 || size === 8
    ? { kind: "int", size, signed }
    : { kind: "int", size: 8, signed };
}

function isSigned(types: KernelTypes, id: number): boolean {
  const t = types.resolve(id);
  return (t.kind === "int" || t.kind === "enum" || t.kind === "enum64") &&
    t.signed;
}
