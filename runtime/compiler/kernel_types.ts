/**
 * Kernel types as compiler types: BTF (or the bundled table, or a script's
 * preamble) to `SType`. The BTF reader itself is not imported here: the
 * CLI and `trace()` hand it over (`useKernelTypes`) before compiling a
 * script that may name kernel types, so a script that names none loads
 * nothing.
 *
 * @module
 */

import type { KernelTypes } from "../btf/kernel_types.ts";
import type { LocalTypes } from "./c_types.ts";
import type { HeaderDefines, HeaderInclude } from "./c_headers.ts";
import type { IntType, RecordRef, SType } from "./types.ts";

/** Where the compiler finds types by C name. */
export interface KernelTypeSource {
  /** The kernel's types (live BTF or the bundle). */
  types(): KernelTypes;
  /** A type by C name in vmlinux, then module BTF. */
  find(cname: string): { types: KernelTypes; id: number } | undefined;
  /** A script's struct definitions as types on top of the kernel's. */
  preamble(defs: readonly string[]): LocalTypes;
  /** The `#define`s of a script's `#include`d system headers. */
  headers?(includes: readonly HeaderInclude[]): HeaderDefines;
}

let source: KernelTypeSource | undefined;

/** Kernel records programs read (name → members), and enum constants. */
const used = new Map<string, Set<string>>();
const usedEnums = new Set<string>();

function use(rec: RecordRef, member?: string): void {
  if (rec.name.endsWith("(anonymous)")) return;
  const name = rec.name.replace(/^(struct|union) /, "");
  let m = used.get(name);
  if (m === undefined) used.set(name, m = new Set());
  if (member !== undefined) m.add(member);
}

/**
 * The kernel types the programs compiled in this process read: records by
 * name with the members read (an empty list: only the record's size, for a
 * cast or `sizeof`), and enum constants. A recording carries them, so that
 * a replay compiles with no BTF to read.
 *
 * @example After compiling a struct-reading program
 * ```ts
 * import { prepareKernelTypes, usedKernelTypes } from "./kernel_types.ts";
 * import { compile } from "./compile.ts";
 * const text = "tracepoint:sched:sched_switch { @[curtask->pid] = count(); }";
 * await prepareKernelTypes(text);
 * compile(text);
 * console.assert(usedKernelTypes().records.task_struct?.includes("pid"));
 * ```
 */
export function usedKernelTypes(): {
  records: Record<string, string[]>;
  enums: string[];
} {
  const records: Record<string, string[]> = {};
  for (const [name, members] of used) records[name] = [...members].sort();
  return { records, enums: [...usedEnums].sort() };
}

/**
 * Hands the compiler its kernel types (done by the CLI and `trace()`
 * after importing the BTF reader lazily).
 *
 * @example Dropping and restoring the registered types
 * ```ts
 * import { kernelTypeSource, useKernelTypes } from "./kernel_types.ts";
 * const saved = kernelTypeSource();
 * useKernelTypes(undefined); // names no kernel type from now on
 * useKernelTypes(saved);
 * ```
 */
export function useKernelTypes(s: KernelTypeSource | undefined): void {
  source = s;
}

/**
 * The registered kernel types, or undefined when none were handed over.
 *
 * @example Usage
 * ```ts
 * import { kernelTypeSource } from "./kernel_types.ts";
 * console.log(kernelTypeSource() === undefined ? "none" : "loaded");
 * ```
 */
export function kernelTypeSource(): KernelTypeSource | undefined {
  return source;
}

/**
 * Whether a script may need kernel types (a cheap look at its text:
 * `struct`, `curtask`, `->`, an upper-case constant ...), so that its
 * compiler gets them.
 *
 * @example Usage
 * ```ts
 * import { mayNeedKernelTypes } from "./kernel_types.ts";
 * console.assert(mayNeedKernelTypes("kprobe:f { @ = ((struct sock *)arg0)->sk_mark; }"));
 * console.assert(mayNeedKernelTypes("tracepoint:syscalls:sys_enter_nanosleep { @ = args.rqtp.tv_sec; }"));
 * console.assert(!mayNeedKernelTypes("BEGIN { exit(); }"));
 * ```
 */
export function mayNeedKernelTypes(text: string): boolean {
  return /\b(struct|union|enum|curtask|ppid|sizeof|offsetof|percpu_kaddr)\b|\b(?:fentry|fexit|kfunc|kretfunc|rawtracepoint)\s*:|->|\bargs\b|\.kernel\(|^\s*#\s*include\b|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\(\s*[a-z_]\w*_t\s*\*?\s*\)|\blet\s+\$\w+\s*:\s*[a-z_]\w*_t\b/
    .test(text);
}

/** Memory a value lives in. */
export type Origin = "user" | "kernel" | undefined;

/** A member found in a record, as the code generator reads it. */
export interface MemberAccess {
  /** Byte offset from the start of the record. */
  offset: number;
  /** The member's value type. */
  type: SType;
  /** For a bit-field: the load size, right shift and width. */
  bits?: { size: 1 | 2 | 4 | 8; shift: number; width: number };
  /**
   * How many pointers are read to reach the record (`p.f` or `p->f` on a
   * `struct sock *`: 1; on a `struct sock **`: 2); absent for a record
   * read where it lives (`s.f`).
   */
  reads?: number;
}

/**
 * The record `id` of `types` as a reference.
 *
 * @example Usage
 * ```ts
 * import { recordRef } from "./kernel_types.ts";
 * import { kernelTypes } from "../btf/load_types.ts";
 * const t = kernelTypes();
 * console.assert(recordRef(t, t.lookup("struct sock")!)?.name === "struct sock");
 * ```
 */
export function recordRef(
  types: KernelTypes,
  id: number,
): RecordRef | undefined {
  const c = types.composite(id);
  if (c === undefined) return undefined;
  return {
    types,
    id: c.id,
    name: c.name === "" ? `${c.kind} (anonymous)` : `${c.kind} ${c.name}`,
    size: c.size,
  };
}

/**
 * The value type of a BTF type read from `origin` memory: integers and
 * enums as integers, pointers with what they point at, `char` arrays as
 * strings, other arrays as arrays, structs and unions as records.
 * Undefined for what the language cannot hold (floats, functions, void).
 *
 * @example A pointer to a struct
 * ```ts
 * import { btfSType } from "./kernel_types.ts";
 * import { kernelTypes } from "../btf/load_types.ts";
 * const t = kernelTypes();
 * const task = t.lookup("struct task_struct")!;
 * const parent = t.field(task, "real_parent")!;
 * const st = btfSType(t, parent.type, "kernel");
 * console.assert(st?.k === "int" && st.rec?.name === "struct task_struct");
 * ```
 */
export function btfSType(
  types: KernelTypes,
  id: number,
  origin: Origin,
  depth = 0,
): SType | undefined {
  const t = types.resolve(id);
  switch (t.kind) {
    case "int":
    case "enum":
    case "enum64": {
      const size = t.size;
      if (size !== 1 && size !== 2 && size !== 4 && size !== 8) {
        return { k: "buf", size };
      }
      const signed = t.kind === "int" ? t.signed && !t.bool : t.signed;
      if (t.kind === "int") return { k: "int", size, signed };
      // An enum prints as its enumerator's name (0.26).
      return {
        k: "int",
        size,
        signed,
        enumType: {
          name: t.name === "" ? "enum (anonymous)" : `enum ${t.name}`,
          values: t.values.map((v) => [String(v.value), v.name]),
        },
      };
    }
    case "ptr": {
      const p: IntType = { k: "int", size: 8, signed: false };
      if (origin !== undefined) p.ptr = origin;
      const target = types.strip(t.target);
      const tt = types.type(target);
      if (tt.kind === "struct" || tt.kind === "union") {
        const r = recordRef(types, target);
        if (r !== undefined) p.rec = r;
      } else if (tt.kind === "fwd") {
        // A declared-only struct: look for its definition elsewhere.
        const full = types.lookup(
          `${tt.union ? "union" : "struct"} ${tt.name}`,
        );
        const r = full === undefined ? undefined : recordRef(types, full);
        if (r !== undefined) p.rec = r;
      } else if (depth < 8) {
        const inner = btfSType(types, target, origin, depth + 1);
        if (inner?.k === "int") p.deref = inner;
      }
      return p;
    }
    case "array": {
      const elem = types.resolve(t.element);
      if (elem.kind === "int" && elem.size === 1 && elem.char) {
        return { k: "str", size: t.count };
      }
      if (elem.kind === "int" && elem.size === 1 && /char/.test(elem.name)) {
        return { k: "str", size: t.count };
      }
      const es = btfSType(types, t.element, origin, depth + 1);
      if (es === undefined) return undefined;
      const size = types.sizeOf(id);
      const a: SType = { k: "array", elem: es, count: t.count, size };
      if (origin !== undefined) a.ptr = origin;
      return a;
    }
    case "struct":
    case "union": {
      const r = recordRef(types, t.id)!;
      const st: SType = { k: "record", rec: r, size: r.size };
      if (origin !== undefined) st.ptr = origin;
      return st;
    }
    default:
      return undefined;
  }
}

/**
 * The member `name` of record `rec` read from `origin` memory, or an error
 * message with the nearest names.
 *
 * @example Through anonymous unions
 * ```ts
 * import { member, recordRef } from "./kernel_types.ts";
 * import { kernelTypes } from "../btf/load_types.ts";
 * const t = kernelTypes();
 * const skb = recordRef(t, t.lookup("struct sk_buff")!)!;
 * const len = member(skb, "len", "kernel");
 * console.assert(typeof len !== "string" && len.type.k === "int");
 * ```
 */
export function member(
  rec: RecordRef,
  name: string,
  origin: Origin,
): MemberAccess | string {
  const types = rec.types;
  const f = types.field(rec.id, name);
  if (f !== undefined) use(rec, name);
  if (f === undefined) {
    const near = types.suggestFields(rec.id, name);
    return `${rec.name} has no field named "${name}"${
      near.length > 0
        ? `; did you mean ${near.map((n) => `"${n}"`).join(", ")}?`
        : ""
    }`;
  }
  const type = btfSType(types, f.type, origin);
  if (type === undefined) {
    return `Field "${name}" of ${rec.name} has type "${
      types.typeName(f.type)
    }", which cannot be read`;
  }
  if (f.bitSize > 0 && type.k === "int") {
    const offset = Math.floor(f.bitOffset / 8);
    const shift = f.bitOffset % 8;
    const bytes = Math.ceil((shift + f.bitSize) / 8);
    const size = bytes <= 1 ? 1 : bytes <= 2 ? 2 : bytes <= 4 ? 4 : 8;
    return {
      offset,
      type,
      bits: { size, shift, width: f.bitSize },
    };
  }
  return { offset: f.offset, type };
}

/**
 * The type a C name names, for casts, `sizeof` and `offsetof`: a record
 * reference, an integer, or an error message.
 *
 * @example Usage
 * ```ts
 * import { namedType, prepareKernelTypes } from "./kernel_types.ts";
 * await prepareKernelTypes("struct");
 * const t = namedType("struct sock");
 * console.assert(typeof t !== "string" && t.rec?.name === "struct sock");
 * ```
 */
export function namedType(
  cname: string,
  local?: LocalTypes,
): { rec?: RecordRef; type?: SType; types: KernelTypes; id: number } | string {
  const own = local?.names.get(cname.replace(/\s+/g, " ").trim());
  if (own !== undefined) {
    return { rec: recordRef(local!.types, own), types: local!.types, id: own };
  }
  const s = source;
  if (s === undefined) {
    return `Kernel types are not loaded, so "${cname}" is unknown`;
  }
  const found = s.find(cname);
  if (found === undefined) {
    const near = s.types().suggestTypes(cname);
    return `Unknown type "${cname}"${
      near.length > 0
        ? `; did you mean ${near.map((n) => `"${n}"`).join(", ")}?`
        : ""
    }`;
  }
  const rec = recordRef(found.types, found.id);
  if (rec !== undefined) use(rec);
  if (rec !== undefined) return { rec, types: found.types, id: found.id };
  const type = btfSType(found.types, found.id, undefined);
  // A recording keeps an enum's enumerators for replay (`select_types.ts`
  // looks its name up as "enum NAME").
  const m = /^enum (\w+)$/.exec(cname.replace(/\s+/g, " ").trim());
  if (m !== null) usedEnums.add(m[1]);
  return { type, types: found.types, id: found.id };
}

/**
 * The value of an enumerator of the kernel's types (`TCP_FIN_WAIT1`), or
 * undefined.
 *
 * @example Usage
 * ```ts
 * import { enumValue, prepareKernelTypes } from "./kernel_types.ts";
 * await prepareKernelTypes("struct");
 * console.assert(enumValue("TCP_ESTABLISHED") === 1n);
 * ```
 */
export function enumValue(name: string): bigint | undefined {
  const v = source?.types().enumConstant(name)?.value;
  if (v !== undefined) usedEnums.add(name);
  return v;
}

/**
 * Loads the BTF reader (lazily: only for a script that may name kernel
 * types) and hands it to the compiler.
 *
 * @example Before compiling a script
 * ```ts
 * import { prepareKernelTypes } from "./kernel_types.ts";
 * await prepareKernelTypes("kprobe:f { @ = curtask->pid; }");
 * ```
 */
export async function prepareKernelTypes(text: string): Promise<void> {
  if (source !== undefined || !mayNeedKernelTypes(text)) return;
  const [
    { findKernelType, kernelTypes },
    { preambleTypes },
    { headerDefines },
  ] = await Promise.all([
    import("../btf/load_types.ts"),
    import("./c_types.ts"),
    import("./c_headers.ts"),
  ]);
  source = {
    types: () => kernelTypes(),
    find: findKernelType,
    preamble: (defs) => preambleTypes(defs, kernelTypes()),
    headers: headerDefines,
  };
}
