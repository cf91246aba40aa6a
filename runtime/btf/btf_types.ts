/**
 * BTF type records as plain data, and the constants of the BTF binary
 * format (the kernel's `include/uapi/linux/btf.h`, described in
 * `Documentation/bpf/btf.rst`).
 *
 * Every type is a tagged object with its type id; references to other types
 * are type ids, resolved through the reader that produced them. Consumers
 * (the type queries, the printer, the compiler's semantic pass) switch on
 * `kind` and never look at bytes.
 *
 * @module
 */

/** Magic number at the start of every BTF blob. */
export const BTF_MAGIC = 0xeb9f;

/** Size in bytes of the BTF header this reader understands. */
export const BTF_HEADER_SIZE = 24;

/** Size in bytes of the fixed part of every type record. */
export const BTF_TYPE_SIZE = 12;

/**
 * BTF kind numbers, indexed by their name, as `info` bits 24-28 encode
 * them.
 */
export const BTF_KIND = {
  unknown: 0,
  int: 1,
  ptr: 2,
  array: 3,
  struct: 4,
  union: 5,
  enum: 6,
  fwd: 7,
  typedef: 8,
  volatile: 9,
  const: 10,
  restrict: 11,
  func: 12,
  func_proto: 13,
  var: 14,
  datasec: 15,
  float: 16,
  decl_tag: 17,
  type_tag: 18,
  enum64: 19,
} as const;

/** A BTF kind name. */
export type BtfKindName = Exclude<keyof typeof BTF_KIND, "unknown">;

/** Kind names by kind number (index 0 is unused). */
export const BTF_KIND_NAMES: readonly (BtfKindName | undefined)[] = (() => {
  const names: (BtfKindName | undefined)[] = [];
  for (const [name, n] of Object.entries(BTF_KIND)) {
    if (n !== 0) names[n] = name as BtfKindName;
  }
  return names;
})();

/** Fields every type has. */
export interface TypeBase {
  /** The type id (0 is `void`). */
  id: number;
  /** The type's name, or "" when anonymous. */
  name: string;
}

/** `void`: type id 0, never stored in a blob. */
export interface VoidType extends TypeBase {
  /** The kind, which says the other fields. */
  kind: "void";
}

/** An integer type (`int`, `long unsigned int`, `_Bool`, `char`, …). */
export interface IntType extends TypeBase {
  /** The kind, which says the other fields. */
  kind: "int";
  /** Storage size in bytes. */
  size: number;
  /** Signed (`BTF_INT_SIGNED`). */
  signed: boolean;
  /** Declared as a character type (`BTF_INT_CHAR`). */
  char: boolean;
  /** Declared as a boolean (`BTF_INT_BOOL`). */
  bool: boolean;
  /** Number of value bits (less than `size * 8` for old-style bit-fields). */
  bits: number;
  /** Bit offset of the value inside its storage (old-style bit-fields). */
  bitOffset: number;
}

/** A floating-point type. */
export interface FloatType extends TypeBase {
  /** The kind, which says the other fields. */
  kind: "float";
  /** Size in bytes. */
  size: number;
}

/** A pointer. */
export interface PtrType extends TypeBase {
  /** The kind, which says the other fields. */
  kind: "ptr";
  /** The pointee's type id. */
  target: number;
}

/** An array. */
export interface ArrayType extends TypeBase {
  /** The kind, which says the other fields. */
  kind: "array";
  /** The element's type id. */
  element: number;
  /** The index type's id (usually an `int`). */
  index: number;
  /** The number of elements (0 for flexible arrays). */
  count: number;
}

/** A member of a struct or union. */
export interface BtfMember {
  /** The member's name, or "" for an anonymous struct/union member. */
  name: string;
  /** The member's type id. */
  type: number;
  /** Offset of the member from the start of its parent, in bits. */
  bitOffset: number;
  /** Width in bits for a bit-field, 0 otherwise. */
  bitSize: number;
}

/** A struct or union. */
export interface CompositeType extends TypeBase {
  /** The kind, which says the other fields. */
  kind: "struct" | "union";
  /** Size in bytes. */
  size: number;
  /** The members in declaration order. */
  members: BtfMember[];
}

/** One enumerator. */
export interface EnumValue {
  /** The enumerator's name. */
  name: string;
  /** Its value (sign per the enum's `signed`). */
  value: bigint;
}

/** An enum (`enum` holds 32-bit values, `enum64` 64-bit ones). */
export interface EnumType extends TypeBase {
  /** The kind, which says the other fields. */
  kind: "enum" | "enum64";
  /** Size in bytes of the enum's storage. */
  size: number;
  /** Values are signed (the `kind_flag` bit). */
  signed: boolean;
  /** The enumerators in declaration order. */
  values: EnumValue[];
}

/** A forward declaration of a struct or union. */
export interface FwdType extends TypeBase {
  /** The kind, which says the other fields. */
  kind: "fwd";
  /** Declares a union rather than a struct. */
  union: boolean;
}

/** A typedef, or a `volatile`/`const`/`restrict` qualifier, or a type tag. */
export interface RefType extends TypeBase {
  /** The kind, which says the other fields. */
  kind: "typedef" | "volatile" | "const" | "restrict" | "type_tag";
  /** The referred type's id. */
  target: number;
}

/** A function parameter. */
export interface BtfParam {
  /** The parameter's name, often "" in function prototypes of members. */
  name: string;
  /** The parameter's type id; 0 with an empty name marks `...`. */
  type: number;
}

/** A function prototype. */
export interface FuncProtoType extends TypeBase {
  /** The kind, which says the other fields. */
  kind: "func_proto";
  /** The return type's id (0 for `void`). */
  returns: number;
  /** The parameters (without the `...` marker). */
  params: BtfParam[];
  /** Ends with `...`. */
  variadic: boolean;
}

/** A function: a name bound to a prototype. */
export interface FuncType extends TypeBase {
  /** The kind, which says the other fields. */
  kind: "func";
  /** The prototype's type id. */
  proto: number;
  /** 0 static, 1 global, 2 extern. */
  linkage: number;
}

/** A variable. */
export interface VarType extends TypeBase {
  /** The kind, which says the other fields. */
  kind: "var";
  /** The variable's type id. */
  target: number;
  /** 0 static, 1 global, 2 extern. */
  linkage: number;
}

/** A variable placed in a data section. */
export interface DatasecEntry {
  /** The `var` (or `func`) type id. */
  type: number;
  /** Byte offset in the section. */
  offset: number;
  /** Size in bytes. */
  size: number;
}

/** A data section (`.data`, `.bss`, `.data..percpu`, …). */
export interface DatasecType extends TypeBase {
  /** The kind, which says the other fields. */
  kind: "datasec";
  /** Size of the section in bytes. */
  size: number;
  /** The variables placed in it. */
  vars: DatasecEntry[];
}

/** A declaration tag (`__attribute__((btf_decl_tag("…")))`). */
export interface DeclTagType extends TypeBase {
  /** The kind, which says the other fields. */
  kind: "decl_tag";
  /** The tagged type's id. */
  target: number;
  /** Member or parameter index tagged, or -1 for the type itself. */
  component: number;
}

/** Any BTF type. */
export type BtfType =
  | VoidType
  | IntType
  | FloatType
  | PtrType
  | ArrayType
  | CompositeType
  | EnumType
  | FwdType
  | RefType
  | FuncProtoType
  | FuncType
  | VarType
  | DatasecType
  | DeclTagType;

/** The `void` type, id 0. */
export const VOID_TYPE: VoidType = Object.freeze({
  id: 0,
  name: "",
  kind: "void",
});

/**
 * A BTF blob that cannot be read: wrong magic, truncated, or a record that
 * points outside its sections. The message says where.
 *
 * @example Catching a malformed blob
 * ```ts
 * import assert from "node:assert/strict";
 * import { BtfFormatError } from "./btf_types.ts";
 * import { parseBtf } from "./btf_reader.ts";
 *
 * assert.throws(() => parseBtf(new Uint8Array(3), "x"), BtfFormatError);
 * ```
 */
export class BtfFormatError extends SyntaxError {
  /** Where the blob came from (a path or a label). */
  readonly source: string;

  /** Make an error about the blob from `source`. */
  constructor(source: string, message: string) {
    super(`Cannot read BTF from "${source}": ${message}`);
    this.name = "BtfFormatError";
    this.source = source;
  }
}
