/**
 * Choosing where kernel types come from: the running kernel's BTF
 * (`/sys/kernel/btf/vmlinux`, and module BTF split on top of it) when it
 * can be read, the bundled table otherwise. The answer says which
 * (`KernelTypes.source`), so that callers can tell the user.
 *
 * @module
 */

import { readBtfFile } from "./btf_reader.ts";
import { BtfFormatError } from "./btf_types.ts";
import { bundledTypes } from "./bundled_types.ts";
import { KernelTypes } from "./kernel_types.ts";

/** Where the kernel publishes its BTF. */
export const SYS_BTF_DIR = "/sys/kernel/btf";

/** Options of {@link kernelTypes}. */
export interface KernelTypesOptions {
  /**
   * The vmlinux BTF file to prefer to the running kernel's; when it cannot
   * be read, the bundled table answers.
   */
  vmlinux?: string;
  /** Use the bundled table even if the kernel's BTF is readable. */
  bundled?: boolean;
}

/** The running kernel's types, or the reason they could not be read. */
let live: KernelTypes | string | undefined;
const modules = new Map<string, KernelTypes>();

/**
 * Why the last {@link kernelTypes} call fell back to the bundled table
 * (for the start-up notice), or undefined when it did not.
 */
export let liveBtfProblem: string | undefined;

function readLive(path: string): KernelTypes | string {
  try {
    return new KernelTypes(readBtfFile(path), "btf");
  } catch (e) {
    if (!(e instanceof BtfFormatError)) throw e;
    return e.message;
  }
}

/**
 * The kernel's types: live BTF when readable, else the bundled table
 * (`source` says which, {@link liveBtfProblem} why). Nothing is read
 * before the first call; the running kernel's BTF is read once.
 *
 * @example Types from wherever they are
 * ```ts
 * import assert from "node:assert/strict";
 * import { kernelTypes } from "./load_types.ts";
 *
 * const types = kernelTypes();
 * const task = types.lookup("struct task_struct")!;
 * assert.equal(types.field(task, "pid")?.size, 4);
 * console.log(`types from ${types.origin} (${types.source})`);
 * ```
 */
export function kernelTypes(options: KernelTypesOptions = {}): KernelTypes {
  liveBtfProblem = undefined;
  if (options.bundled) return bundledTypes();
  const found = options.vmlinux !== undefined
    ? readLive(options.vmlinux)
    : (live ??= readLive(`${SYS_BTF_DIR}/vmlinux`));
  if (typeof found !== "string") return found;
  liveBtfProblem = found;
  return bundledTypes();
}

/**
 * Names of the kernel modules that publish BTF (files of
 * `/sys/kernel/btf` besides `vmlinux`); empty where there are none.
 *
 * @example Listing modules with BTF
 * ```ts
 * import { btfModules } from "./load_types.ts";
 *
 * console.log(btfModules().slice(0, 5));
 * ```
 */
export function btfModules(): string[] {
  const names: string[] = [];
  try {
    for (const e of Deno.readDirSync(SYS_BTF_DIR)) {
      if (e.name !== "vmlinux") names.push(e.name);
    }
  } catch {
    // No BTF directory: no modules.
  }
  return names.sort();
}

/**
 * The types of module `name`: its split BTF on top of the kernel's, so
 * that its ids continue vmlinux's and its types may refer to vmlinux
 * types. Read once per module.
 *
 * @example A module's types see vmlinux's
 * ```ts ignore
 * import { moduleTypes } from "./load_types.ts";
 *
 * const nf = moduleTypes("nf_conntrack");
 * console.log(nf.lookup("struct sk_buff") !== undefined);
 * ```
 *
 * @throws {BtfFormatError} When the kernel's or the module's BTF cannot
 * be read.
 */
export function moduleTypes(name: string): KernelTypes {
  const known = modules.get(name);
  if (known !== undefined) return known;
  if (name.includes("/") || name === "vmlinux" || name.startsWith(".")) {
    throw new TypeError(`Invalid module name "${name}"`);
  }
  const base = kernelTypes();
  if (base.source !== "btf") {
    throw new BtfFormatError(
      `${SYS_BTF_DIR}/${name}`,
      `module BTF needs the kernel's BTF: ${liveBtfProblem}`,
    );
  }
  const types = new KernelTypes(
    readBtfFile(`${SYS_BTF_DIR}/${name}`, base.btf),
    "btf",
  );
  modules.set(name, types);
  return types;
}

/** A type found by {@link findKernelType}, with the types that define it. */
export interface FoundType {
  /** The types that define it (a module's include vmlinux's). */
  types: KernelTypes;
  /** Its id in `types`. */
  id: number;
  /** The module defining it, or undefined for vmlinux (or the bundle). */
  module?: string;
}

/**
 * Look `cname` up in the kernel's types, then in each module's BTF (read
 * only when vmlinux does not have it), as bpftrace does for types of
 * module functions.
 *
 * @example Finding a struct
 * ```ts
 * import assert from "node:assert/strict";
 * import { findKernelType } from "./load_types.ts";
 *
 * const found = findKernelType("struct sk_buff")!;
 * assert.equal(found.module, undefined);
 * assert.ok(found.types.sizeOf(found.id) > 0);
 * ```
 */
export function findKernelType(cname: string): FoundType | undefined {
  const types = kernelTypes();
  const id = types.lookup(cname);
  if (id !== undefined) return { types, id };
  if (types.source !== "btf") return undefined;
  for (const module of btfModules()) {
    let m: KernelTypes;
    try {
      m = moduleTypes(module);
    } catch (e) {
      if (e instanceof BtfFormatError) continue;
      throw e;
    }
    const mid = m.lookup(cname);
    if (mid !== undefined && mid >= m.btf.firstId) {
      return { types: m, id: mid, module };
    }
  }
  return undefined;
}
