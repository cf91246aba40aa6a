/**
 * The struct and union layouts of a script's preamble, for
 * `sizeof(struct foo)` and `offsetof(struct foo, c)`: x86-64 natural
 * alignment, fixed-size arrays, pointers of 8 bytes. `c_layout.ts` (loaded
 * on demand, for the scripts that define a struct or union) lays them out.
 *
 * @module
 */

/** One laid-out member. */
export interface CField {
  name: string;
  /** Byte offset in the enclosing struct. */
  offset: number;
  /** Byte size (arrays: the whole array). */
  size: number;
  /** The member's struct or union type (`struct foo`), if it is one. */
  record?: string;
}

/** A laid-out struct or union. */
export interface CRecord {
  /** `struct foo` or `union foo`. */
  name: string;
  size: number;
  align: number;
  fields: CField[];
}

/** A definition that could not be laid out (`CLayoutError`). */
export interface CLayoutFailure {
  /** Index of the definition in the list given to `parseCStructs`. */
  index: number;
  /** The type it defines (`struct foo`). */
  type: string;
  /** Why. */
  message: string;
}

/** Size and alignment of the scalar C types (x86-64). */
const SCALARS: Readonly<Record<string, number>> = {
  "char": 1,
  "signed char": 1,
  "unsigned char": 1,
  "bool": 1,
  "_Bool": 1,
  "short": 2,
  "short int": 2,
  "unsigned short": 2,
  "unsigned short int": 2,
  "int": 4,
  "signed": 4,
  "signed int": 4,
  "unsigned": 4,
  "unsigned int": 4,
  "long": 8,
  "long int": 8,
  "unsigned long": 8,
  "unsigned long int": 8,
  "long long": 8,
  "long long int": 8,
  "unsigned long long": 8,
  "unsigned long long int": 8,
  "float": 4,
  "double": 8,
  "size_t": 8,
  "ssize_t": 8,
  "pid_t": 4,
  "uid_t": 4,
  "gid_t": 4,
};

/**
 * Size of a scalar type name, or undefined.
 *
 * @example Usage
 * ```ts
 * import { scalarSize } from "./c_structs.ts";
 * console.assert(scalarSize("u32") === 4);
 * ```
 */
export function scalarSize(name: string): number | undefined {
  const s = SCALARS[name];
  if (s !== undefined) return s;
  // An enum of the script's (or the kernel's): an int, as C lays it out.
  if (/^enum \w+$/.test(name)) return 4;
  const m = /^(?:__)?[us](8|16|32|64)$/.exec(name) ??
    /^u?int(8|16|32|64)(?:_t)?$/.exec(name);
  return m === null ? undefined : Number(m[1]) / 8;
}

/**
 * The struct and union layouts of a preamble.
 *
 * @example Sizes and offsets
 * ```ts
 * import { parseCStructs } from "./c_layout.ts";
 * import assert from "node:assert/strict";
 *
 * const t = parseCStructs(["struct foo { int a; char b[16]; u64 c; };"]);
 * assert.equal(t.sizeOf("struct foo"), 32);
 * assert.equal(t.offsetOf("struct foo", ["c"]), 24);
 * ```
 */
export class CStructs {
  readonly #records = new Map<string, CRecord>();
  /** Definitions that could not be laid out. */
  readonly errors: CLayoutFailure[] = [];

  /** Adds a laid-out record. */
  add(r: CRecord): void {
    this.#records.set(r.name, r);
  }

  /** A record by name (`struct foo`), if defined. */
  get(name: string): CRecord | undefined {
    return this.#records.get(normalize(name));
  }

  /**
   * Size of a type: a defined struct or union, a scalar, `pointer` levels
   * of pointer (8 bytes), times `count` array elements.
   */
  sizeOf(name: string, pointer = 0, count = 1): number | undefined {
    if (pointer > 0) return 8 * count;
    const n = normalize(name);
    const size = this.#records.get(n)?.size ?? scalarSize(n);
    return size === undefined ? undefined : size * count;
  }

  /**
   * Offset of a member path (`["a", "b"]` for `a.b`) in a struct or union.
   *
   * @returns The offset, or an error message.
   */
  offsetOf(name: string, path: readonly string[]): number | string {
    const first = this.get(name);
    if (first === undefined) return `Unknown struct or union "${name}"`;
    let rec: CRecord = first;
    let off = 0;
    for (let i = 0; i < path.length; i++) {
      const f: CField | undefined = rec.fields.find((x) => x.name === path[i]);
      if (f === undefined) {
        return `'${rec.name}' has no field named '${path[i]}'`;
      }
      off += f.offset;
      if (i < path.length - 1) {
        const next = f.record === undefined
          ? undefined
          : this.#records.get(f.record);
        if (next === undefined) {
          return `'${rec.name}.${path[i]}' is not a struct or union`;
        }
        rec = next;
      }
    }
    return off;
  }
}

/**
 * A C type name with single spaces.
 *
 * @example Usage
 * ```ts
 * import { normalize } from "./c_structs.ts";
 * console.assert(normalize(" struct  a ") === "struct a");
 * ```
 */
export function normalize(name: string): string {
  return name.replace(/\s+/g, " ").trim();
}
