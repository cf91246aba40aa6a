/**
 * A script's struct and union definitions as BTF on top of the kernel's
 * types: members may name kernel types (`struct load_weight load;`), and
 * casts and field access read the script's layout, which takes precedence
 * over the kernel's for the names it defines (as in bpftrace). Imported
 * lazily, with the BTF reader.
 *
 * @module
 */

import { parseBtf } from "../btf/btf_reader.ts";
import { type BtfTypeSpec, encodeBtf } from "../btf/btf_writer.ts";
import { KernelTypes } from "../btf/kernel_types.ts";
import { memberDeclarations, splitDefinition } from "./c_layout.ts";
import { parseCEnums } from "./c_enums.ts";
import type { EnumRef } from "./types.ts";

/** Scalar C type names: [size, signed, char]. */
const SCALARS: Readonly<Record<string, [number, boolean, boolean?]>> = {
  "char": [1, true, true],
  "signed char": [1, true, true],
  "unsigned char": [1, false, true],
  "bool": [1, false],
  "_Bool": [1, false],
  "short": [2, true],
  "short int": [2, true],
  "unsigned short": [2, false],
  "unsigned short int": [2, false],
  "int": [4, true],
  "signed": [4, true],
  "signed int": [4, true],
  "unsigned": [4, false],
  "unsigned int": [4, false],
  "long": [8, true],
  "long int": [8, true],
  "unsigned long": [8, false],
  "unsigned long int": [8, false],
  "long long": [8, true],
  "long long int": [8, true],
  "unsigned long long": [8, false],
  "unsigned long long int": [8, false],
};

/**
 * A preamble definition that could not be turned into a type.
 *
 * @example Usage
 * ```ts
 * import { CTypeError } from "./c_types.ts";
 * const e = new CTypeError(0, 'In struct a: cannot read "int x:3"');
 * console.assert(e.index === 0 && e instanceof SyntaxError);
 * ```
 */
export class CTypeError extends SyntaxError {
  /** The definition's index. */
  index: number;

  /** Builds the error for definition `index`. */
  constructor(index: number, message: string) {
    super(message);
    this.name = "CTypeError";
    this.index = index;
  }
}

/**
 * The struct and union definitions among `defs` as types split on top of
 * `kernel`; definitions that cannot be read are skipped (`c_layout.ts`
 * reports them for `sizeof`).
 *
 * @example A script's own struct with a kernel member
 * ```ts
 * import assert from "node:assert/strict";
 * import { preambleTypes } from "./c_types.ts";
 * import { kernelTypes } from "../btf/load_types.ts";
 * const t = preambleTypes(
 *   ["struct q { struct list_head l; unsigned int n; };"],
 *   kernelTypes(),
 * );
 * const q = t.names.get("struct q")!;
 * assert.equal(t.types.field(q, "n")?.offset, 16);
 * ```
 */
export function preambleTypes(
  defs: readonly string[],
  kernel: KernelTypes,
): LocalTypes {
  const base = kernel.btf;
  const specs: BtfTypeSpec[] = [];
  const first = base.endId;
  const add = (s: BtfTypeSpec) => specs.push(s) - 1 + first;
  const ints = new Map<string, number>();
  const records = new Map<
    string,
    { id: number; size: number; align: number }
  >();
  const intId = (name: string) => {
    let id = ints.get(name);
    if (id === undefined) {
      const [size, signed, char] = SCALARS[name];
      id = add({ kind: "int", name, size, signed, char: char === true });
      ints.set(name, id);
    }
    return id;
  };
  const u32 = () => intId("unsigned int");
  // The script's named enums, for members of their type (`enum Foo f;`).
  const enums = defs.some((d) => /^\s*enum\b/.test(d))
    ? parseCEnums(defs).types
    : new Map<string, EnumRef>();
  /** Type id, size, alignment of a base type name. */
  const baseType = (
    name: string,
    pointer: boolean,
  ): { id: number; size: number; align: number } | undefined => {
    const own = records.get(name);
    if (own !== undefined) return own;
    const e = enums.get(name);
    if (e !== undefined) {
      // As C lays it out: an int, unless a value needs 64 bits.
      const values = e.values.map(([v, n]) => ({ name: n, value: BigInt(v) }));
      const wide = values.some((v) =>
        v.value < -(1n << 31n) || v.value >= (1n << 32n)
      );
      const size = wide ? 8 : 4;
      const id = add({
        kind: wide ? "enum64" : "enum",
        name: name.replace(/^enum /, ""),
        size,
        signed: values.some((v) => v.value < 0n),
        values,
      });
      const r = { id, size, align: size };
      records.set(name, r);
      return r;
    }
    if (SCALARS[name] !== undefined) {
      const size = SCALARS[name][0];
      return { id: intId(name), size, align: size };
    }
    const k = kernel.lookup(name);
    if (k !== undefined && (pointer || kernel.sizeOf(k) > 0)) {
      return { id: k, size: kernel.sizeOf(k), align: kernel.alignOf(k) };
    }
    if (pointer) {
      const m = /^(struct|union) (\w+)$/.exec(name);
      if (m !== null) {
        return {
          id: add({ kind: "fwd", name: m[2], union: m[1] === "union" }),
          size: 0,
          align: 1,
        };
      }
    }
    return undefined;
  };
  /**
   * Lays out one record of definition `index` (its nested ones first) and
   * returns its id; `tag` is empty for an anonymous one.
   */
  const record = (
    index: number,
    kind: string,
    tag: string,
    name: string,
    body: string,
    packed: boolean,
  ): { id: number; size: number; align: number } => {
    {
      let anon = 0;
      const define = (k: string, t: string | undefined, b: string): string => {
        const inner = t === undefined
          ? `${k} ${name.replace(/^(struct|union) /, "")}.anon${anon++}`
          : `${k} ${t}`;
        // A nested definition is not packed by its parent's attribute.
        records.set(inner, record(index, k, t ?? "", inner, b, false));
        return inner;
      };
      const members: {
        name: string;
        type: number;
        bitOffset: number;
        bitSize?: number;
      }[] = [];
      // Bits used so far (a struct's members follow each other).
      let bitPos = 0;
      let size = 0;
      let align = 1;
      for (const raw of memberDeclarations(body, define)) {
        const own = records.get(raw);
        if (own !== undefined && /\.anon\d+$/.test(raw)) {
          // An anonymous member: its members are the record's own.
          const a = packed ? 1 : own.align;
          const offset = kind === "union"
            ? 0
            : Math.ceil(Math.ceil(bitPos / 8) / a) * a;
          members.push({ name: "", type: own.id, bitOffset: offset * 8 });
          size = kind === "union"
            ? Math.max(size, own.size)
            : offset + own.size;
          if (kind !== "union") bitPos = size * 8;
          align = Math.max(align, a);
          continue;
        }
        const decl = raw.replace(
          /\b(const|volatile|restrict|__user|__rcu)\b/g,
          " ",
        ).replace(/\*/g, " * ").replace(/\s+/g, " ").trim();
        if (decl === "") continue;
        if (decl.includes("{")) {
          throw new CTypeError(index, `In ${name}: cannot read "${decl}"`);
        }
        if (decl.includes(":")) {
          // Bit-fields (`unsigned int a:3, b:7, :0`): each in the unit of
          // its type that holds its first bit, or the next one when it
          // would straddle (the SysV x86-64 rule).
          const [first, ...more] = decl.split(",").map((x) => x.trim());
          const fm = /^(.*?)\s*([A-Za-z_]\w*)?\s*:\s*(\d+)$/.exec(first);
          const baseName = fm?.[1].trim() ?? "";
          const bt = SCALARS[baseName] !== undefined ||
              /^(enum|u|s|__u|__s)/.test(baseName)
            ? baseType(baseName, false)
            : undefined;
          if (fm === null || bt === undefined || bt.size > 8) {
            throw new CTypeError(index, `In ${name}: cannot read "${decl}"`);
          }
          const unit = bt.size * 8;
          align = Math.max(align, bt.align);
          const parts = [
            [fm[2], fm[3]],
            ...more.map((x) => {
              const pm = /^([A-Za-z_]\w*)?\s*:\s*(\d+)$/.exec(x);
              if (pm === null) {
                throw new CTypeError(index, `In ${name}: cannot read "${x}"`);
              }
              return [pm[1], pm[2]];
            }),
          ];
          for (const [member, w] of parts) {
            const width = Number(w);
            if (width > unit) {
              throw new CTypeError(
                index,
                `In ${name}: bit-field "${member}" is wider than its type`,
              );
            }
            if (kind === "union") {
              if (member !== undefined) {
                members.push({
                  name: member,
                  type: bt.id,
                  bitOffset: 0,
                  bitSize: width,
                });
              }
              size = Math.max(size, bt.size);
              continue;
            }
            if (
              width === 0 ||
              Math.floor(bitPos / unit) !==
                Math.floor((bitPos + width - 1) / unit)
            ) bitPos = Math.ceil(bitPos / unit) * unit;
            if (member !== undefined) {
              members.push({
                name: member,
                type: bt.id,
                bitOffset: bitPos,
                bitSize: width,
              });
            }
            bitPos += width;
            size = Math.ceil(bitPos / 8);
          }
          continue;
        }
        const [head, ...rest] = decl.split(",");
        const dm = /^(.*?)\s*((?:\*\s*)*[A-Za-z_]\w*\s*(?:\[[^\]]*\]\s*)*)$/
          .exec(head.trim());
        if (dm === null || dm[1].trim() === "") {
          throw new CTypeError(index, `In ${name}: cannot read "${decl}"`);
        }
        const baseName = dm[1].trim();
        for (const d of [dm[2], ...rest].map((x) => x.replace(/\s+/g, ""))) {
          const x = /^(\**)([A-Za-z_]\w*)((?:\[\w+\])*)$/.exec(d);
          if (x === null) {
            throw new CTypeError(index, `In ${name}: cannot read "${d}"`);
          }
          const [, stars, member, dims] = x;
          const bt = baseType(baseName, stars.length > 0);
          if (bt === undefined) {
            throw new CTypeError(
              index,
              `In ${name}: unknown type "${baseName}" of member "${member}"`,
            );
          }
          let t = bt;
          for (let i = 0; i < stars.length; i++) {
            t = { id: add({ kind: "ptr", target: t.id }), size: 8, align: 8 };
          }
          const counts = [...dims.matchAll(/\[(\w+)\]/g)].map((n) =>
            Number(n[1])
          );
          for (const c of counts.reverse()) {
            if (!Number.isInteger(c)) {
              throw new CTypeError(
                index,
                `In ${name}: array "${member}" needs a constant size`,
              );
            }
            t = {
              id: add({ kind: "array", element: t.id, index: u32(), count: c }),
              size: t.size * c,
              align: t.align,
            };
          }
          const a = packed ? 1 : t.align;
          const offset = kind === "union"
            ? 0
            : Math.ceil(Math.ceil(bitPos / 8) / a) * a;
          members.push({ name: member, type: t.id, bitOffset: offset * 8 });
          size = kind === "union" ? Math.max(size, t.size) : offset + t.size;
          if (kind !== "union") bitPos = size * 8;
          align = Math.max(align, a);
        }
      }
      size = Math.ceil(size / align) * align;
      const id = add({
        kind: kind as "struct" | "union",
        name: tag,
        size,
        members,
      });
      return { id, size, align };
    }
  };
  defs.forEach((text, index) => {
    const d = splitDefinition(text);
    if (d === undefined) return;
    const name = `${d.kind} ${d.tag}`;
    try {
      records.set(name, record(index, d.kind, d.tag, name, d.body, d.packed));
    } catch (e) {
      if (!(e instanceof CTypeError)) throw e;
    }
  });
  const blob = encodeBtf(specs, { base });
  const types = new KernelTypes(
    parseBtf(blob, "script preamble", base),
    kernel.source,
    "script preamble",
  );
  return {
    types,
    names: new Map([...records].map(([n, r]) => [n, r.id])),
  };
}

/** A preamble's types and the ids of the records it defines. */
export interface LocalTypes {
  /** The preamble's types on top of the kernel's. */
  types: KernelTypes;
  /** Ids of the script's structs and unions by C name (`struct q`). */
  names: Map<string, number>;
}
