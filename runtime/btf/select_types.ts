/**
 * Selecting kernel types into a small BTF blob: named structures with the
 * members asked for, everything those members' types need, and whole enums.
 * The bundled table (`tools/capture_types.ts`) and recordings (the types a
 * recorded program read, runtime/record/) are made this way.
 *
 * @module
 */

import { encodeBtf } from "./btf_writer.ts";
import type { BtfTypeSpec } from "./btf_writer.ts";
import type { KernelTypes } from "./kernel_types.ts";

/**
 * What to keep: structure or union names (without `struct `) to the
 * members kept, `"*"` for all.
 */
export type TypeSpec = Record<string, "*" | readonly string[]>;

/** A captured table. */
export interface Capture {
  /** The BTF blob. */
  btf: Uint8Array;
  /** Its description, without `kernel` and `source`. */
  structs: Record<string, string[]>;
  /** The enums kept whole. */
  enums: string[];
  /** Names or members asked for that the source does not have. */
  missing: string[];
}

/**
 * Select types from `from` into a new blob as `spec` and `enums` say.
 *
 * @example Keeping one member of a struct
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBtf } from "./btf_writer.ts";
 * import { parseBtf } from "./btf_reader.ts";
 * import { KernelTypes } from "./kernel_types.ts";
 * import { captureTypes } from "./select_types.ts";
 *
 * const from = new KernelTypes(parseBtf(encodeBtf([
 *   { kind: "int", name: "int", size: 4, signed: true },
 *   { kind: "struct", name: "s", size: 8, members: [
 *     { name: "a", type: 1, bitOffset: 0 },
 *     { name: "b", type: 1, bitOffset: 32 },
 *   ] },
 * ]), "example"), "btf");
 * const capture = captureTypes(from, { s: ["b"] }, []);
 * const bundled = new KernelTypes(parseBtf(capture.btf, "bundle"), "bundled");
 * const s = bundled.lookup("struct s")!;
 * assert.equal(bundled.sizeOf(s), 8);
 * assert.equal(bundled.field(s, "b")?.offset, 4);
 * assert.equal(bundled.field(s, "a"), undefined);
 * ```
 */
export function captureTypes(
  from: KernelTypes,
  spec: TypeSpec,
  enums: readonly string[],
): Capture {
  const out: BtfTypeSpec[] = [];
  const ids = new Map<string, number>();
  const missing: string[] = [];
  const structs: Record<string, string[]> = {};

  /** Reserve the next id for `key`, fill it with `make()`'s result. */
  const emit = (key: string, make: () => BtfTypeSpec): number => {
    const known = ids.get(key);
    if (known !== undefined) return known;
    out.push({ kind: "ptr", target: 0 }); // placeholder until made
    const id = out.length;
    ids.set(key, id);
    out[id - 1] = make();
    return id;
  };

  const wanted = (name: string) => Object.hasOwn(spec, name);

  const containsAny = (id: number, names: ReadonlySet<string>): boolean =>
    from.fieldNames(id).some((n) => names.has(n));

  /** Copy type `id` (as referred to by a member or pointer). */
  const copy = (id: number, viaPointer: boolean): number => {
    if (id === 0) return 0;
    const t = from.type(id);
    switch (t.kind) {
      case "int":
        return emit(`t${id}`, () => ({
          kind: "int",
          name: t.name,
          size: t.size,
          signed: t.signed,
          char: t.char,
          bool: t.bool,
          bits: t.bits,
          bitOffset: t.bitOffset,
        }));
      case "float":
        return emit(
          `t${id}`,
          () => ({ kind: "float", name: t.name, size: t.size }),
        );
      case "enum":
      case "enum64":
        return emit(`t${id}`, () => ({
          kind: t.kind,
          name: t.name,
          size: t.size,
          signed: t.signed,
          values: t.values,
        }));
      case "ptr":
        return emit(
          `t${id}`,
          () => ({ kind: "ptr", target: copy(t.target, true) }),
        );
      case "typedef":
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
        return emit(`t${id}`, () => ({
          kind: t.kind,
          name: t.name,
          target: copy(t.target, viaPointer),
        }));
      case "array":
        return emit(`t${id}`, () => ({
          kind: "array",
          element: copy(t.element, false),
          index: copy(t.index, false),
          count: t.count,
        }));
      case "func_proto":
        return emit(`t${id}`, () => ({
          kind: "func_proto",
          returns: copy(t.returns, true),
          params: t.params.map((p) => ({
            name: p.name,
            type: copy(p.type, true),
          })),
          variadic: t.variadic,
        }));
      case "fwd":
        return emit(`fwd ${t.union ? "union" : "struct"} ${t.name}`, () => ({
          kind: "fwd",
          name: t.name,
          union: t.union,
        }));
      case "struct":
      case "union": {
        if (t.name === "") return composite(id, undefined);
        if (wanted(t.name)) return composite(id, spec[t.name]);
        if (viaPointer) {
          return emit(`fwd ${t.kind} ${t.name}`, () => ({
            kind: "fwd",
            name: t.name,
            union: t.kind === "union",
          }));
        }
        // Embedded but not asked for: its size, no members.
        return emit(`opaque ${id}`, () => ({
          kind: t.kind,
          name: t.name,
          size: t.size,
          members: [],
        }));
      }
      default:
        // Functions, variables, sections and tags are not member types.
        return 0;
    }
  };

  /** Copy struct/union `id` with the members `keep` names (all if "*"). */
  const composite = (id: number, keep: "*" | readonly string[] | undefined) =>
    emit(`t${id}`, () => {
      const t = from.type(id);
      if (t.kind !== "struct" && t.kind !== "union") {
        throw new TypeError("not a composite");
      }
      const names = keep === undefined || keep === "*"
        ? undefined
        : new Set(keep);
      if (names !== undefined) {
        const have = new Set(from.fieldNames(id));
        for (const n of names) {
          if (!have.has(n)) missing.push(`${t.kind} ${t.name}.${n}`);
        }
      }
      const members = t.members
        .filter((m) =>
          names === undefined || names.has(m.name) ||
          (m.name === "" && containsAny(m.type, names))
        )
        .map((m) => ({
          name: m.name,
          type: copy(m.type, false),
          bitOffset: m.bitOffset,
          bitSize: m.bitSize,
        }));
      if (t.name !== "") {
        structs[`${t.kind} ${t.name}`] = members.map((m) => m.name).filter((
          n,
        ) => n !== "");
      }
      return { kind: t.kind, name: t.name, size: t.size, members };
    });

  for (const name of Object.keys(spec).sort()) {
    const id = from.lookup(`struct ${name}`) ?? from.lookup(`union ${name}`);
    const t = id === undefined ? undefined : from.type(id);
    if (t === undefined || (t.kind !== "struct" && t.kind !== "union")) {
      missing.push(name);
      continue;
    }
    composite(id!, spec[name]);
  }
  const keptEnums: string[] = [];
  for (const name of enums) {
    const id = from.lookup(`enum ${name}`) ?? from.enumConstant(name)?.type;
    if (id === undefined) missing.push(`enum ${name}`);
    else {
      copy(id, false);
      keptEnums.push(name);
    }
  }
  return { btf: encodeBtf(out), structs, enums: keptEnums, missing };
}
