/**
 * Capture the bundled kernel type table from this machine's BTF: the
 * structures of {@link BUNDLE_SPEC} with the members it names, everything
 * those members' types need, and the enums of {@link BUNDLE_ENUMS}, encoded
 * as a small BTF blob (`data/kernel_types.btf`) with a description
 * (`data/kernel_types.json`). The type table is read by the same reader as
 * the kernel's BTF.
 *
 * Run `deno task btf:capture` (`deno run -A tools/capture_types.ts
 * [--from FILE [--kernel RELEASE]] [--out DIR]`). Kernel builds differ: a table captured
 * elsewhere is not wrong, and no test compares it with the running kernel.
 *
 * @module
 */

import { readBtfFile } from "../runtime/btf/btf_reader.ts";
import { BtfFormatError } from "../runtime/btf/btf_types.ts";
import { encodeBtf } from "../runtime/btf/btf_writer.ts";
import type { BtfTypeSpec } from "../runtime/btf/btf_writer.ts";
import { KernelTypes } from "../runtime/btf/kernel_types.ts";
import type { BundledTypesInfo } from "../runtime/btf/bundled_types.ts";
import { BUNDLE_ENUMS, BUNDLE_SPEC } from "./bundle_spec.ts";
import type { BundleSpec } from "./bundle_spec.ts";

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
 * import { encodeBtf } from "../runtime/btf/btf_writer.ts";
 * import { parseBtf } from "../runtime/btf/btf_reader.ts";
 * import { KernelTypes } from "../runtime/btf/kernel_types.ts";
 * import { captureTypes } from "./capture_types.ts";
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
  spec: BundleSpec,
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

async function main(args: string[]): Promise<number> {
  let from = "/sys/kernel/btf/vmlinux";
  let kernel: string | undefined;
  let outDir = new URL("../runtime/btf/data/", import.meta.url);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--from") from = args[++i];
    else if (args[i] === "--kernel") kernel = args[++i];
    else if (args[i] === "--out") {
      outDir = new URL(`file://${Deno.realPathSync(args[++i])}/`);
    } else {
      console.error(`Unknown argument "${args[i]}"`);
      console.error(
        "Usage: capture_types.ts [--from BTF_FILE [--kernel RELEASE]] [--out DIR]",
      );
      return 2;
    }
  }
  let types: KernelTypes;
  try {
    types = new KernelTypes(readBtfFile(from), "btf");
  } catch (e) {
    if (!(e instanceof BtfFormatError)) throw e;
    console.error(`ERROR: ${e.message}`);
    return 1;
  }
  const capture = captureTypes(types, BUNDLE_SPEC, BUNDLE_ENUMS);
  const info: BundledTypesInfo = {
    version: 1,
    // A file given by --from may come from another kernel.
    kernel: kernel ??
      (from === "/sys/kernel/btf/vmlinux" ? Deno.osRelease() : "unknown"),
    source: from,
    bytes: capture.btf.byteLength,
    structs: capture.structs,
    enums: capture.enums,
  };
  await Deno.writeFile(new URL("kernel_types.btf", outDir), capture.btf);
  await Deno.writeTextFile(
    new URL("kernel_types.json", outDir),
    JSON.stringify(info, null, 2) + "\n",
  );
  for (const m of capture.missing) console.error(`Not in ${from}: ${m}`);
  console.log(
    `Captured ${
      Object.keys(capture.structs).length
    } structs and unions, ${capture.enums.length} enums: ${capture.btf.byteLength} bytes of BTF`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
