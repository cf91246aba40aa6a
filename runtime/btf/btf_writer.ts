/**
 * Encoding type descriptions into a BTF blob: the bundled type table is
 * stored this way (so the reader that reads the kernel's BTF reads it too),
 * and tests build blobs with every kind from it.
 *
 * @module
 */

import { BTF_HEADER_SIZE, BTF_KIND, BTF_MAGIC } from "./btf_types.ts";
import type { Btf } from "./btf_reader.ts";

/** A type to encode; references are type ids, names plain strings. */
export type BtfTypeSpec =
  | {
    kind: "int";
    name: string;
    size: number;
    signed?: boolean;
    char?: boolean;
    bool?: boolean;
    /** Value bits; defaults to `size * 8`. */
    bits?: number;
    bitOffset?: number;
  }
  | { kind: "float"; name: string; size: number }
  | { kind: "ptr"; target: number }
  | { kind: "array"; element: number; index: number; count: number }
  | {
    kind: "struct" | "union";
    name?: string;
    size: number;
    members: {
      name?: string;
      type: number;
      bitOffset: number;
      bitSize?: number;
    }[];
  }
  | {
    kind: "enum" | "enum64";
    name?: string;
    /** Defaults to 4 for `enum`, 8 for `enum64`. */
    size?: number;
    signed?: boolean;
    values: { name: string; value: bigint | number }[];
  }
  | { kind: "fwd"; name: string; union?: boolean }
  | {
    kind: "typedef" | "volatile" | "const" | "restrict" | "type_tag";
    name?: string;
    target: number;
  }
  | {
    kind: "func_proto";
    returns: number;
    params: { name?: string; type: number }[];
    variadic?: boolean;
  }
  | { kind: "func"; name: string; proto: number; linkage?: number }
  | { kind: "var"; name: string; target: number; linkage?: number }
  | {
    kind: "datasec";
    name: string;
    size: number;
    vars: { type: number; offset: number; size: number }[];
  }
  | { kind: "decl_tag"; name: string; target: number; component: number };

/** Options of {@link encodeBtf}. */
export interface EncodeOptions {
  /** Encode split BTF on top of this blob (ids and strings continue it). */
  base?: Btf;
  /** Write big-endian words (the magic reads 0x9feb little-endian). */
  bigEndian?: boolean;
}

/**
 * Encode types as a BTF blob. The first type gets id 1 (or the base's
 * `endId` for split BTF), the next id 2, and so on.
 *
 * @example A blob with a struct
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBtf } from "./btf_writer.ts";
 * import { parseBtf } from "./btf_reader.ts";
 *
 * const blob = encodeBtf([
 *   { kind: "int", name: "int", size: 4, signed: true },
 *   {
 *     kind: "struct", name: "point", size: 8,
 *     members: [
 *       { name: "x", type: 1, bitOffset: 0 },
 *       { name: "y", type: 1, bitOffset: 32 },
 *     ],
 *   },
 * ]);
 * const point = parseBtf(blob, "example").type(2);
 * assert.equal(point.kind === "struct" && point.members[1].name, "y");
 * ```
 */
export function encodeBtf(
  types: readonly BtfTypeSpec[],
  options: EncodeOptions = {},
): Uint8Array {
  const le = options.bigEndian !== true;
  const base = options.base;
  const strBase = base?.endStringOffset ?? 0;
  const encoder = new TextEncoder();
  const strChunks: Uint8Array[] = [];
  const strOffsets = new Map<string, number>();
  let strLen = 0;
  const str = (s: string | undefined): number => {
    if (s === undefined || s === "") return 0;
    const known = strOffsets.get(s);
    if (known !== undefined) return known;
    const bytes = encoder.encode(s + "\0");
    const off = strBase + strLen;
    strChunks.push(bytes);
    strLen += bytes.length;
    strOffsets.set(s, off);
    return off;
  };
  if (base === undefined) {
    // A base blob's string section starts with the empty string.
    strChunks.push(new Uint8Array(1));
    strLen = 1;
  }

  const words: number[] = [];
  const rec = (
    name: string | undefined,
    kind: number,
    vlen: number,
    kindFlag: boolean,
    sizeOrType: number,
  ) => {
    words.push(
      str(name),
      ((kindFlag ? 1 : 0) << 31 | kind << 24 | vlen) >>> 0,
      sizeOrType >>> 0,
    );
  };
  for (const t of types) {
    switch (t.kind) {
      case "int": {
        rec(t.name, BTF_KIND.int, 0, false, t.size);
        const flags = (t.signed ? 1 : 0) | (t.char ? 2 : 0) | (t.bool ? 4 : 0);
        words.push(
          (flags << 24 | (t.bitOffset ?? 0) << 16 | (t.bits ?? t.size * 8)) >>>
            0,
        );
        break;
      }
      case "float":
        rec(t.name, BTF_KIND.float, 0, false, t.size);
        break;
      case "ptr":
        rec("", BTF_KIND.ptr, 0, false, t.target);
        break;
      case "array":
        rec("", BTF_KIND.array, 0, false, 0);
        words.push(t.element, t.index, t.count);
        break;
      case "struct":
      case "union": {
        const bitfields = t.members.some((m) => (m.bitSize ?? 0) > 0);
        rec(t.name, BTF_KIND[t.kind], t.members.length, bitfields, t.size);
        for (const m of t.members) {
          words.push(
            str(m.name),
            m.type,
            bitfields
              ? ((m.bitSize ?? 0) << 24 | m.bitOffset) >>> 0
              : m.bitOffset,
          );
        }
        break;
      }
      case "enum":
      case "enum64": {
        const size = t.size ?? (t.kind === "enum" ? 4 : 8);
        rec(t.name, BTF_KIND[t.kind], t.values.length, t.signed ?? false, size);
        for (const v of t.values) {
          const value = BigInt.asUintN(64, BigInt(v.value));
          words.push(str(v.name), Number(value & 0xffffffffn));
          if (t.kind === "enum64") words.push(Number(value >> 32n));
        }
        break;
      }
      case "fwd":
        rec(t.name, BTF_KIND.fwd, 0, t.union ?? false, 0);
        break;
      case "typedef":
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag":
        rec(t.name, BTF_KIND[t.kind], 0, false, t.target);
        break;
      case "func_proto": {
        const n = t.params.length + (t.variadic ? 1 : 0);
        rec("", BTF_KIND.func_proto, n, false, t.returns);
        for (const p of t.params) words.push(str(p.name), p.type);
        if (t.variadic) words.push(0, 0);
        break;
      }
      case "func":
        rec(t.name, BTF_KIND.func, t.linkage ?? 0, false, t.proto);
        break;
      case "var":
        rec(t.name, BTF_KIND.var, 0, false, t.target);
        words.push(t.linkage ?? 0);
        break;
      case "datasec":
        rec(t.name, BTF_KIND.datasec, t.vars.length, false, t.size);
        for (const v of t.vars) words.push(v.type, v.offset, v.size);
        break;
      case "decl_tag":
        rec(t.name, BTF_KIND.decl_tag, 0, false, t.target);
        words.push(t.component >>> 0);
        break;
    }
  }

  const typeLen = words.length * 4;
  const out = new Uint8Array(BTF_HEADER_SIZE + typeLen + strLen);
  const view = new DataView(out.buffer);
  view.setUint16(0, BTF_MAGIC, le);
  out[2] = 1; // version
  out[3] = 0; // flags
  view.setUint32(4, BTF_HEADER_SIZE, le);
  view.setUint32(8, 0, le);
  view.setUint32(12, typeLen, le);
  view.setUint32(16, typeLen, le);
  view.setUint32(20, strLen, le);
  for (let i = 0; i < words.length; i++) {
    view.setUint32(BTF_HEADER_SIZE + 4 * i, words[i], le);
  }
  let at = BTF_HEADER_SIZE + typeLen;
  for (const chunk of strChunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
