/**
 * The questions a compiler asks about kernel types, answered from one BTF
 * blob (the running kernel's, a module's split BTF, or the bundled table):
 * look a type up by its C name, see through typedefs and qualifiers, size
 * and alignment, members with their offsets (also those reached through
 * anonymous structs and unions), arrays, pointers, enum constants, C
 * spellings of types, and the nearest names for error messages.
 *
 * Every answer is data: type ids and plain objects. Nothing here knows a
 * particular kernel structure.
 *
 * @module
 */

import { BtfIndex } from "./btf_index.ts";
import type { IndexedKind } from "./btf_index.ts";
import type { Btf } from "./btf_reader.ts";
import type {
  ArrayType,
  BtfMember,
  BtfType,
  CompositeType,
  EnumType,
} from "./btf_types.ts";
import { BtfFormatError } from "./btf_types.ts";
import { nearestNames } from "./nearest_names.ts";

/** Where a set of types comes from. */
export type TypeSource = "btf" | "bundled";

/** A member found by name, with its position in the outer type. */
export interface FieldInfo {
  /** The member's name. */
  name: string;
  /** The member's type id, as declared (typedefs kept). */
  type: number;
  /** Byte offset from the start of the outer type (bit-fields: floor). */
  offset: number;
  /** Bit offset from the start of the outer type. */
  bitOffset: number;
  /** Width in bits for a bit-field, 0 otherwise. */
  bitSize: number;
  /** Size in bytes of the member's type. */
  size: number;
  /**
   * Indices of the members crossed from the outer type: anonymous
   * struct/union members first, the member itself last.
   */
  path: number[];
}

/**
 * How to read a bit-field on a little-endian machine: load `size` bytes at
 * byte `offset`, shift right by `shift`, keep `bits` bits (then
 * sign-extend if the type is signed).
 */
export interface BitfieldLoad {
  /** Byte offset of the load. */
  offset: number;
  /** 1, 2, 4 or 8. */
  size: number;
  /** Right shift after the load. */
  shift: number;
  /** Bits to keep after the shift. */
  bits: number;
}

/**
 * The load that reads bit-field `field` (a {@link FieldInfo} with a
 * `bitSize`): the smallest power-of-two load from the byte holding its
 * first bit that covers all its bits.
 *
 * @example A 3-bit field at bit 1027
 * ```ts
 * import assert from "node:assert/strict";
 * import { bitfieldLoad } from "./kernel_types.ts";
 *
 * assert.deepEqual(
 *   bitfieldLoad({ bitOffset: 1027, bitSize: 3 }),
 *   { offset: 128, size: 1, shift: 3, bits: 3 },
 * );
 * ```
 *
 * @throws {RangeError} When the field spans more than 8 bytes.
 */
export function bitfieldLoad(
  field: Pick<FieldInfo, "bitOffset" | "bitSize">,
): BitfieldLoad {
  const offset = Math.floor(field.bitOffset / 8);
  const shift = field.bitOffset % 8;
  const bytes = Math.ceil((shift + field.bitSize) / 8);
  const size = bytes <= 1 ? 1 : bytes <= 2 ? 2 : bytes <= 4 ? 4 : 8;
  if (bytes > 8) {
    throw new RangeError(
      `A bit-field of ${field.bitSize} bits at bit ${field.bitOffset} spans ${bytes} bytes`,
    );
  }
  return { offset, size, shift, bits: field.bitSize };
}

/** An enumerator found by name. */
export interface EnumConstant {
  /** The enumerator's name. */
  name: string;
  /** Its value. */
  value: bigint;
  /** The enum's type id. */
  type: number;
}

/** Deeper nesting than this is a loop in a corrupt blob. */
export const MAX_TYPE_DEPTH = 64;

/**
 * Throw a {@link BtfFormatError} if `depth` says that type `id` is part of
 * a reference loop (only a corrupt blob has one).
 *
 * @example Guarding a recursive walk
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBtf } from "./btf_writer.ts";
 * import { parseBtf } from "./btf_reader.ts";
 * import { checkDepth, MAX_TYPE_DEPTH } from "./kernel_types.ts";
 *
 * const btf = parseBtf(encodeBtf([]), "empty");
 * checkDepth(btf, 1, MAX_TYPE_DEPTH);
 * assert.throws(() => checkDepth(btf, 1, MAX_TYPE_DEPTH + 1), /loop/);
 * ```
 */
export function checkDepth(btf: Btf, id: number, depth: number): void {
  if (depth > MAX_TYPE_DEPTH) {
    throw new BtfFormatError(
      btf.source,
      `type ${id} nests more than ${MAX_TYPE_DEPTH} levels deep: a reference loop?`,
    );
  }
}

const QUALIFIERS = new Set([
  "typedef",
  "const",
  "volatile",
  "restrict",
  "type_tag",
]);

/**
 * Kernel types from one BTF blob, with the queries sema needs.
 *
 * @example Members of a struct, through an anonymous union
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBtf } from "./btf_writer.ts";
 * import { parseBtf } from "./btf_reader.ts";
 * import { KernelTypes } from "./kernel_types.ts";
 *
 * const btf = parseBtf(encodeBtf([
 *   { kind: "int", name: "int", size: 4, signed: true }, // 1
 *   { kind: "union", size: 4, members: [ // 2
 *     { name: "a", type: 1, bitOffset: 0 },
 *     { name: "b", type: 1, bitOffset: 0 },
 *   ] },
 *   { kind: "struct", name: "s", size: 8, members: [ // 3
 *     { name: "x", type: 1, bitOffset: 0 },
 *     { name: "", type: 2, bitOffset: 32 },
 *   ] },
 * ]), "example");
 * const types = new KernelTypes(btf, "btf");
 * const s = types.lookup("struct s")!;
 * assert.equal(types.sizeOf(s), 8);
 * assert.equal(types.field(s, "b")?.offset, 4);
 * ```
 */
export class KernelTypes {
  /** The blob answering. */
  readonly btf: Btf;
  /** Whether the answers come from live BTF or the bundled table. */
  readonly source: TypeSource;
  /** A human description of where the types come from. */
  readonly origin: string;

  /** Types from `btf`; `origin` defaults to the blob's source. */
  constructor(btf: Btf, source: TypeSource, origin = btf.source) {
    this.btf = btf;
    this.source = source;
    this.origin = origin;
  }

  /** The name index (built on first use). */
  get index(): BtfIndex {
    return BtfIndex.of(this.btf);
  }

  /** The type with id `id`. */
  type(id: number): BtfType {
    return this.btf.type(id);
  }

  /**
   * The id of the type a C type name names: `struct sock`, `union
   * bpf_attr`, `enum tcp_state`, a typedef (`u32`, `pid_t`) or a base type
   * (`unsigned int`, `char`), or a bare struct/union/enum tag (`sock`,
   * which bpftrace accepts too). A complete definition is preferred to a
   * forward declaration. Undefined when nothing has that name.
   */
  lookup(cname: string): number | undefined {
    const m = /^\s*(struct|union|enum)\s+([A-Za-z_]\w*)\s*$/.exec(cname);
    if (m !== null) {
      const [, tag, name] = m;
      if (tag === "enum") return this.#first(["enum", "enum64"], name);
      return this.#first([tag as "struct" | "union"], name) ??
        this.#fwd(name, tag === "union");
    }
    const name = cname.trim().replace(/\s+/g, " ");
    return this.#first(["typedef", "int", "float"], name) ??
      this.#first(["struct", "union", "enum", "enum64"], name);
  }

  #first(kinds: IndexedKind[], name: string): number | undefined {
    let fallback: number | undefined;
    for (const k of kinds) {
      for (const id of this.index.ids(k, name)) {
        const t = this.btf.type(id);
        // Prefer a struct that has members to an empty one of that name.
        if (
          (t.kind === "struct" || t.kind === "union") && t.members.length === 0
        ) {
          fallback ??= id;
          continue;
        }
        return id;
      }
    }
    return fallback;
  }

  #fwd(name: string, union: boolean): number | undefined {
    return this.index.ids("fwd", name).find((id) => {
      const t = this.btf.type(id);
      return t.kind === "fwd" && t.union === union;
    });
  }

  /** `id` with typedefs, qualifiers and type tags skipped. */
  strip(id: number): number {
    for (let hops = 0; hops < 64; hops++) {
      const t = this.btf.type(id);
      if (!QUALIFIERS.has(t.kind)) return id;
      id = (t as { target: number }).target;
    }
    throw new BtfFormatError(
      this.btf.source,
      `type ${id} is part of a typedef loop`,
    );
  }

  /** The type `id` names, typedefs and qualifiers skipped. */
  resolve(id: number): BtfType {
    return this.btf.type(this.strip(id));
  }

  /**
   * Size in bytes of type `id` (pointers are 8 bytes; `void`, functions
   * and forward declarations 0).
   */
  sizeOf(id: number, depth = 0): number {
    checkDepth(this.btf, id, depth);
    const t = this.resolve(id);
    switch (t.kind) {
      case "int":
      case "float":
      case "struct":
      case "union":
      case "enum":
      case "enum64":
      case "datasec":
        return t.size;
      case "ptr":
        return 8;
      case "array":
        return t.count * this.sizeOf(t.element, depth + 1);
      case "var":
        return this.sizeOf(t.target, depth + 1);
      default:
        return 0;
    }
  }

  /**
   * Alignment in bytes of type `id`, as the compiler laid it out: 1 for a
   * struct whose members sit at unaligned offsets (packed).
   */
  alignOf(id: number, depth = 0): number {
    checkDepth(this.btf, id, depth);
    const t = this.resolve(id);
    switch (t.kind) {
      case "int":
      case "float":
      case "enum":
      case "enum64":
        return Math.min(8, Math.max(1, t.size));
      case "ptr":
        return 8;
      case "array":
        return this.alignOf(t.element, depth + 1);
      case "struct":
      case "union": {
        let align = 1;
        for (const m of t.members) {
          const a = this.alignOf(m.type, depth + 1);
          if (m.bitSize === 0 && m.bitOffset % (a * 8) !== 0) return 1;
          align = Math.max(align, a);
        }
        return t.size % align === 0 ? align : 1;
      }
      default:
        return 1;
    }
  }

  /** The struct or union `id` names (typedefs skipped), or undefined. */
  composite(id: number): CompositeType | undefined {
    const t = this.resolve(id);
    return t.kind === "struct" || t.kind === "union" ? t : undefined;
  }

  /** The array `id` names, or undefined. */
  array(id: number): ArrayType | undefined {
    const t = this.resolve(id);
    return t.kind === "array" ? t : undefined;
  }

  /** The type id a pointer `id` points to, or undefined if not a pointer. */
  pointee(id: number): number | undefined {
    const t = this.resolve(id);
    return t.kind === "ptr" ? t.target : undefined;
  }

  /**
   * The member `name` of the struct or union `id`, searching anonymous
   * struct/union members as C does (`skb->len`, `sk_buff`'s `dev` inside
   * two anonymous unions). Undefined if there is none, or if `id` is not a
   * struct or union.
   */
  field(id: number, name: string): FieldInfo | undefined {
    const c = this.composite(id);
    if (c === undefined) return undefined;
    return this.#find(c, name, 0, []);
  }

  #find(
    c: CompositeType,
    name: string,
    base: number,
    path: number[],
  ): FieldInfo | undefined {
    checkDepth(this.btf, c.id, path.length);
    for (let i = 0; i < c.members.length; i++) {
      const m = c.members[i];
      if (m.name === name) return this.#info(m, base, [...path, i]);
    }
    for (let i = 0; i < c.members.length; i++) {
      const m = c.members[i];
      if (m.name !== "") continue;
      const inner = this.composite(m.type);
      if (inner === undefined) continue;
      const found = this.#find(inner, name, base + m.bitOffset, [...path, i]);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  #info(m: BtfMember, base: number, path: number[]): FieldInfo {
    let bitOffset = base + m.bitOffset;
    let bitSize = m.bitSize;
    const t = this.resolve(m.type);
    // Old-style bit-fields: the int type itself says which bits.
    if (
      bitSize === 0 && t.kind === "int" &&
      (t.bitOffset !== 0 || t.bits !== t.size * 8)
    ) {
      bitOffset += t.bitOffset;
      bitSize = t.bits;
    }
    return {
      name: m.name,
      type: m.type,
      offset: Math.floor(bitOffset / 8),
      bitOffset,
      bitSize,
      size: this.sizeOf(m.type),
      path,
    };
  }

  /**
   * A member reached by a dotted path (`__sk_common.skc_family`), each
   * step within the previous member's struct or union (no pointer hop).
   * Offsets add up from the outer type.
   */
  fieldPath(id: number, path: string): FieldInfo | undefined {
    let found: FieldInfo | undefined;
    let type = id;
    let bits = 0;
    const crossed: number[] = [];
    for (const part of path.split(".")) {
      const f = this.field(type, part);
      if (f === undefined) return undefined;
      bits += f.bitOffset;
      crossed.push(...f.path);
      found = {
        ...f,
        bitOffset: bits,
        offset: Math.floor(bits / 8),
        path: [...crossed],
      };
      type = f.type;
    }
    return found;
  }

  /** The named members of struct/union `id`, anonymous members flattened. */
  fieldNames(id: number): string[] {
    const out: string[] = [];
    const walk = (c: CompositeType, depth: number) => {
      checkDepth(this.btf, c.id, depth);
      for (const m of c.members) {
        if (m.name !== "") out.push(m.name);
        else {
          const inner = this.composite(m.type);
          if (inner !== undefined) walk(inner, depth + 1);
        }
      }
    };
    const c = this.composite(id);
    if (c !== undefined) walk(c, 0);
    return out;
  }

  /**
   * The enumerator `name` (`TCP_FIN_WAIT1`), or undefined. When several
   * enums define it, the first one's value.
   */
  enumConstant(name: string): EnumConstant | undefined {
    for (const id of this.index.enumsDefining(name)) {
      const t = this.btf.type(id) as EnumType;
      const v = t.values.find((e) => e.name === name);
      if (v !== undefined) return { name, value: v.value, type: id };
    }
    return undefined;
  }

  /** The name of value `value` in enum `id`, or undefined. */
  enumName(id: number, value: bigint | number): string | undefined {
    const t = this.resolve(id);
    if (t.kind !== "enum" && t.kind !== "enum64") return undefined;
    const v = BigInt(value);
    return t.values.find((e) => e.value === v)?.name;
  }

  /**
   * The C spelling of type `id`: `struct sock *`, `char[16]`, `u32`,
   * `void (*)(struct sk_buff *)`.
   */
  typeName(id: number): string {
    return declare(this, id, "").trim();
  }

  /**
   * Struct, union, enum and typedef names close to `cname`'s name, written
   * as `cname` writes its kind: `struct task_struct` for `struct task_strct`.
   */
  suggestTypes(cname: string, limit = 3): string[] {
    const m = /^\s*(?:(struct|union|enum)\s+)?([A-Za-z_]\w*)\s*$/.exec(cname);
    const tag = m?.[1];
    const name = m?.[2] ?? cname.trim();
    const kinds: IndexedKind[] = tag === "struct"
      ? ["struct"]
      : tag === "union"
      ? ["union"]
      : tag === "enum"
      ? ["enum", "enum64"]
      : ["typedef", "struct", "union"];
    return nearestNames(name, this.index.names(kinds), limit).map((n) =>
      tag === undefined ? n : `${tag} ${n}`
    );
  }

  /** Member names of struct/union `id` close to `name`. */
  suggestFields(id: number, name: string, limit = 3): string[] {
    return nearestNames(name, this.fieldNames(id), limit);
  }

  /** Enumerator names close to `name`. */
  suggestEnumConstants(name: string, limit = 3): string[] {
    return nearestNames(name, this.index.enumeratorNames(), limit);
  }
}

/**
 * A C declaration of `inner` (a name, or "" for an abstract declarator)
 * with type `id`: `declare(types, charArray, "comm")` is `char comm[16]`.
 * Anonymous structs, unions and enums are spelt `struct {...}`, or as
 * `anonymous` spells them (the printer writes their bodies).
 *
 * @example Declaring a pointer to a function
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBtf } from "./btf_writer.ts";
 * import { parseBtf } from "./btf_reader.ts";
 * import { declare, KernelTypes } from "./kernel_types.ts";
 *
 * const types = new KernelTypes(parseBtf(encodeBtf([
 *   { kind: "struct", name: "sk_buff", size: 0, members: [] }, // 1
 *   { kind: "ptr", target: 1 }, // 2
 *   { kind: "func_proto", returns: 0, params: [{ type: 2 }] }, // 3
 *   { kind: "ptr", target: 3 }, // 4
 * ]), "example"), "btf");
 * assert.equal(declare(types, 4, "destructor"), "void (*destructor)(struct sk_buff *)");
 * ```
 */
export function declare(
  types: KernelTypes,
  id: number,
  inner: string,
  anonymous?: (t: CompositeType | EnumType) => string,
  depth = 0,
): string {
  checkDepth(types.btf, id, depth);
  const t = types.type(id);
  const named = (spelling: string) =>
    inner === ""
      ? spelling
      : inner[0] === "["
      ? spelling + inner
      : `${spelling} ${inner}`;
  const again = (target: number, innerAgain: string) =>
    declare(types, target, innerAgain, anonymous, depth + 1);
  switch (t.kind) {
    case "void":
      return named("void");
    case "int":
    case "float":
    case "typedef":
    case "func":
    case "var":
    case "datasec":
      return named(t.name);
    case "struct":
    case "union":
      if (t.name === "" && anonymous !== undefined) return named(anonymous(t));
      return named(t.name === "" ? `${t.kind} {...}` : `${t.kind} ${t.name}`);
    case "enum":
    case "enum64":
      if (t.name === "" && anonymous !== undefined) return named(anonymous(t));
      return named(t.name === "" ? "enum {...}" : `enum ${t.name}`);
    case "fwd":
      return named(`${t.union ? "union" : "struct"} ${t.name}`);
    case "ptr":
      // `* (*f)(void)` for a function returning a pointer, as libbpf's
      // dumper (and so bpftrace -lv) spaces it.
      return again(
        t.target,
        inner.startsWith("(") ? `* ${inner}` : `*${inner}`,
      );
    case "const":
    case "volatile":
    case "restrict": {
      // On a pointer the qualifier follows the star (`char * const p`);
      // on anything else it leads (`const char *p`).
      if (types.type(t.target).kind === "ptr") {
        return again(
          t.target,
          inner === "" ? ` ${t.kind}` : ` ${t.kind} ${inner}`,
        );
      }
      return `${t.kind} ${again(t.target, inner)}`;
    }
    case "type_tag":
    case "decl_tag":
      return again(t.target, inner);
    case "array": {
      const wrapped = inner.startsWith("*") ? `(${inner})` : inner;
      return again(t.element, `${wrapped}[${t.count}]`);
    }
    case "func_proto": {
      const wrapped = inner.startsWith("*") ? `(${inner})` : inner;
      const params = t.params.map((p) => again(p.type, ""));
      if (t.variadic) params.push("...");
      if (params.length === 0) params.push("void");
      return again(t.returns, `${wrapped}(${params.join(", ")})`);
    }
  }
}
