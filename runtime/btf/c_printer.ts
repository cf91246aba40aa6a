/**
 * C definitions of kernel types, as `-lv 'struct task_struct'` lists them.
 *
 * The layout follows what bpftrace 0.17 prints (libbpf's C dumper): one
 * member per line indented by tabs, anonymous structs and unions written
 * out in place, `type name: bits;` for bit-fields, and holes the compiler
 * would not leave by itself filled by unnamed bit-fields (`long: 64;`,
 * `int: 0;`), so that the definition compiles to the same layout. With
 * `offsets`, each member line ends with a comment giving its byte offset
 * from the start of the outer type and its size.
 *
 * @module
 */

import { checkDepth, declare } from "./kernel_types.ts";
import type { KernelTypes } from "./kernel_types.ts";
import type { CompositeType, EnumType } from "./btf_types.ts";

/** Options of {@link formatType}. */
export interface FormatOptions {
  /** End member lines with `// offset N, size M` comments. */
  offsets?: boolean;
  /**
   * Write each hole as one comment `/* N bytes LABEL *\/` instead of
   * unnamed bit-fields: for tables that leave members out, such as the
   * bundled one ("not in the bundled table").
   */
  holes?: string;
}

const PADS: readonly [string, number][] = [
  ["long", 64],
  ["int", 32],
  ["short", 16],
  ["char", 8],
];

/** Holes wider than this many `long: 64;` lines are summarised. */
const MAX_PADDING_LINES = 64;

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/**
 * The unnamed bit-field lines that move the layout from bit `from` to bit
 * `to` where the next member (alignment `align` bytes) sits; `inBitfields`
 * when that member continues a run of bit-fields.
 */
function padding(
  from: number,
  to: number,
  align: number,
  inBitfields: boolean,
  holes: string | undefined,
): string[] {
  const lines: string[] = [];
  if (from >= to) return lines;
  if (holes !== undefined) {
    // A hole alignment explains needs no comment.
    if (!inBitfields && roundUp(from, align * 8) === to) return lines;
    const gap = to - from;
    return [
      `/* ${gap % 8 === 0 ? `${gap / 8} bytes` : `${gap} bits`} ${holes} */`,
    ];
  }
  // The widest padding type with a boundary between here and there.
  let [type, width] = PADS[PADS.length - 1];
  let boundary = roundUp(from, width);
  for (const [t, w] of PADS) {
    if (roundUp(from, w) <= to) {
      [type, width, boundary] = [t, w, roundUp(from, w)];
      break;
    }
  }
  if (to - from > MAX_PADDING_LINES * 64) {
    // Not a hole a compiler leaves: members left out (a bundled subset).
    return [`/* ${(to - from) / 8} bytes not shown */`];
  }
  let at = from;
  if (boundary > at && boundary <= to) {
    // Reaching the boundary needs a marker unless the compiler would
    // align there anyway.
    const natural = boundary === to && roundUp(at, align * 8) === boundary;
    const filled = boundary !== to && to - boundary > boundary - at;
    if (inBitfields) lines.push(`${type}: ${boundary - at};`);
    else if (!natural && !filled) lines.push(`${type}: 0;`);
    at = boundary;
  }
  while (at < to) {
    const left = to - at;
    if (left >= width) {
      lines.push(`${type}: ${width};`);
      at += width;
      continue;
    }
    // The narrowest type that holds the rest.
    const [t] = [...PADS].reverse().find(([, w]) => w >= left)!;
    lines.push(`${t}: ${left};`);
    at += left;
  }
  return lines;
}

/** A struct whose members sit where natural alignment would not put them. */
function isPacked(types: KernelTypes, c: CompositeType): boolean {
  let align = 1;
  for (const m of c.members) {
    const a = types.alignOf(m.type);
    if (m.bitSize === 0 && m.bitOffset % (a * 8) !== 0) return true;
    align = Math.max(align, a);
  }
  return c.size % align !== 0;
}

function body(
  types: KernelTypes,
  t: CompositeType | EnumType,
  depth: number,
  base: number,
  options: FormatOptions,
): string {
  checkDepth(types.btf, t.id, depth);
  const indent = "\t".repeat(depth + 1);
  const lines: string[] = [];
  if (t.kind === "enum" || t.kind === "enum64") {
    for (const v of t.values) lines.push(`${indent}${v.name} = ${v.value},`);
    const head = t.name === "" ? "enum" : `enum ${t.name}`;
    return `${head} {\n${lines.join("\n")}\n${"\t".repeat(depth)}}`;
  }
  const c = t as CompositeType;
  const packed = c.kind === "struct" && isPacked(types, c);
  let at = 0;
  let prevBitfield = false;
  for (const m of c.members) {
    const align = packed ? 1 : types.alignOf(m.type);
    if (c.kind === "struct") {
      for (
        const pad of padding(
          at,
          m.bitOffset,
          align,
          prevBitfield && m.bitSize > 0,
          options.holes,
        )
      ) {
        lines.push(indent + pad);
      }
    }
    const size = types.sizeOf(m.type);
    const offset = base + m.bitOffset;
    let text = declare(
      types,
      m.type,
      m.name,
      (inner) => body(types, inner, depth + 1, offset, options),
    );
    if (m.bitSize > 0) text += `: ${m.bitSize}`;
    text += ";";
    if (options.offsets) {
      const where = m.bitSize > 0
        ? `offset ${Math.floor(offset / 8)}, bit ${
          offset % 8
        }, ${m.bitSize} bit${m.bitSize === 1 ? "" : "s"}`
        : `offset ${offset / 8}, size ${size}`;
      text += ` // ${where}`;
    }
    lines.push(indent + text);
    at = m.bitSize > 0 ? m.bitOffset + m.bitSize : m.bitOffset + size * 8;
    prevBitfield = m.bitSize > 0;
  }
  if (c.kind === "struct") {
    const align = packed ? 1 : types.alignOf(c.id);
    for (const pad of padding(at, c.size * 8, align, false, options.holes)) {
      lines.push(indent + pad);
    }
  }
  const head = c.name === "" ? c.kind : `${c.kind} ${c.name}`;
  const close = `${"\t".repeat(depth)}}${
    packed ? " __attribute__((packed))" : ""
  }`;
  return lines.length === 0
    ? `${head} {\n${close}`
    : `${head} {\n${lines.join("\n")}\n${close}`;
}

/**
 * The C definition of struct, union or enum `id` (typedefs skipped),
 * ending with `};` and a newline.
 *
 * @example Printing a struct with its offsets
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBtf } from "./btf_writer.ts";
 * import { parseBtf } from "./btf_reader.ts";
 * import { KernelTypes } from "./kernel_types.ts";
 * import { formatType } from "./c_printer.ts";
 *
 * const types = new KernelTypes(parseBtf(encodeBtf([
 *   { kind: "int", name: "int", size: 4, signed: true },
 *   { kind: "struct", name: "pair", size: 8, members: [
 *     { name: "a", type: 1, bitOffset: 0 },
 *     { name: "b", type: 1, bitOffset: 32 },
 *   ] },
 * ]), "example"), "btf");
 * assert.equal(
 *   formatType(types, 2, { offsets: true }),
 *   "struct pair {\n\tint a; // offset 0, size 4\n\tint b; // offset 4, size 4\n};\n",
 * );
 * ```
 *
 * @throws {TypeError} When `id` is not a struct, union or enum.
 */
export function formatType(
  types: KernelTypes,
  id: number,
  options: FormatOptions = {},
): string {
  const t = types.resolve(id);
  if (
    t.kind !== "struct" && t.kind !== "union" && t.kind !== "enum" &&
    t.kind !== "enum64"
  ) {
    throw new TypeError(
      `Cannot print "${types.typeName(id)}": not a struct, union or enum`,
    );
  }
  return `${body(types, t, 0, 0, options)};\n`;
}
