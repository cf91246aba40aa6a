/**
 * Kernel functions and raw tracepoints as BTF describes them, for
 * `fentry`/`fexit` and `rawtracepoint` probes: a function's prototype is
 * its `FUNC` type; a raw tracepoint's is the prototype the typedef
 * `btf_trace_NAME` points at, whose first parameter (`void *__data`) is
 * not an argument of the event. Names are looked up in vmlinux, then in
 * the BTF of each module (`/sys/kernel/btf/MODULE`), as bpftrace does.
 *
 * @module
 */

import type { KernelTypes } from "./kernel_types.ts";
import { btfModules, kernelTypes, moduleTypes } from "./load_types.ts";
import { BtfFormatError } from "./btf_types.ts";
import { BTF_KIND } from "./btf_types.ts";
import { globToRegExp, hasWildcard } from "../probes/glob.ts";
import { nearestNames } from "./nearest_names.ts";

/** What BTF describes a probe by. */
export type BtfProbeKind = "function" | "rawtracepoint";

/** A kernel function or raw tracepoint with its prototype. */
export interface BtfProbe {
  /** `vmlinux` or the module defining it. */
  module: string;
  /** The function or event name. */
  name: string;
  /** The types it is described in (a module's include vmlinux's). */
  types: KernelTypes;
  /**
   * The BTF id a program attaches by (`attach_btf_id`): the `FUNC` of a
   * function, the `btf_trace_NAME` typedef of a raw tracepoint.
   */
  btfId: number;
  /** The arguments, in order (names may be empty). */
  params: { name: string; type: number }[];
  /** The return type's id (0: `void`). */
  returns: number;
}

const PREFIX = "btf_trace_";
const STUB_PREFIXES = ["__probestub_", "__traceiter_", "__bpf_trace_"];

function moduleNames(): string[] {
  try {
    return btfModules();
  } catch {
    return [];
  }
}

function typesOf(module: string): KernelTypes | undefined {
  if (module === "vmlinux") return kernelTypes();
  try {
    return moduleTypes(module);
  } catch (e) {
    if (e instanceof BtfFormatError || e instanceof TypeError) return undefined;
    throw e;
  }
}

/** The probe `name` in `types` (its own types only for a module). */
function probeIn(
  module: string,
  types: KernelTypes,
  kind: BtfProbeKind,
  name: string,
): BtfProbe | undefined {
  const own = (id: number) => module === "vmlinux" || id >= types.btf.firstId;
  if (kind === "function") {
    const id = types.index.ids("func", name).find(own);
    if (id === undefined) return undefined;
    const f = types.type(id);
    if (f.kind !== "func") return undefined;
    const proto = types.type(f.proto);
    if (proto.kind !== "func_proto") return undefined;
    return {
      module,
      name,
      types,
      btfId: id,
      params: proto.params,
      returns: proto.returns,
    };
  }
  const id = types.index.ids("typedef", PREFIX + name).find(own);
  if (id === undefined) return undefined;
  const ptr = types.resolve(id);
  if (ptr.kind !== "ptr") return undefined;
  const proto = types.resolve(ptr.target);
  if (proto.kind !== "func_proto" || proto.params.length === 0) {
    return undefined;
  }
  return {
    module,
    name,
    types,
    btfId: id,
    params: namedParams(types, own, name, proto.params).slice(1),
    returns: 0,
  };
}

/**
 * A raw tracepoint's parameters with their names: the typedef's prototype
 * has none, the stub functions the kernel builds for the event have them
 * (`__probestub_NAME` since Linux 6.5, `__traceiter_NAME` before), as
 * bpftrace finds them.
 */
function namedParams(
  types: KernelTypes,
  own: (id: number) => boolean,
  name: string,
  params: { name: string; type: number }[],
): { name: string; type: number }[] {
  for (const prefix of STUB_PREFIXES) {
    const id = types.index.ids("func", prefix + name).find(own);
    if (id === undefined) continue;
    const f = types.type(id);
    const proto = f.kind === "func" ? types.type(f.proto) : undefined;
    if (proto?.kind !== "func_proto") continue;
    if (proto.params.length !== params.length) continue;
    return params.map((p, i) => ({ name: proto.params[i].name, type: p.type }));
  }
  return params;
}

/**
 * The function or raw tracepoint `name` of `module` (vmlinux, then every
 * module, when undefined), or undefined when BTF has none.
 *
 * @example A function's prototype
 * ```ts ignore
 * import { btfProbe } from "./btf_probes.ts";
 * const p = btfProbe("function", "vfs_read");
 * console.log(p?.params.map((x) => x.name)); // ["file", "buf", "count", "pos"]
 * ```
 */
export function btfProbe(
  kind: BtfProbeKind,
  name: string,
  module?: string,
): BtfProbe | undefined {
  if (module !== undefined) {
    const types = typesOf(module);
    return types === undefined ? undefined : probeIn(module, types, kind, name);
  }
  const found = probeIn("vmlinux", kernelTypes(), kind, name);
  if (found !== undefined || kernelTypes().source !== "btf") return found;
  for (const m of moduleNames()) {
    const types = typesOf(m);
    const p = types === undefined ? undefined : probeIn(m, types, kind, name);
    if (p !== undefined) return p;
  }
  return undefined;
}

/** The names of `kind` defined by `types` itself (not its base's). */
function ownNames(types: KernelTypes, kind: BtfProbeKind): string[] {
  const btf = types.btf;
  const want = kind === "function" ? BTF_KIND.func : BTF_KIND.typedef;
  const out: string[] = [];
  for (let id = btf.firstId; id < btf.endId; id++) {
    if (btf.recordKind(id) !== want) continue;
    const off = btf.recordNameOff(id);
    if (off === 0) continue;
    const n = btf.string(off);
    if (kind === "function") out.push(n);
    else if (n.startsWith(PREFIX)) out.push(n.slice(PREFIX.length));
  }
  return out;
}

/**
 * Every `MODULE:NAME` of `kind` matching the glob `modulePattern` and
 * `namePattern`, sorted; modules are read only when the module pattern
 * may match one.
 *
 * @example Raw tracepoints of vmlinux
 * ```ts ignore
 * import { matchBtfProbes } from "./btf_probes.ts";
 * console.log(matchBtfProbes("rawtracepoint", "vmlinux", "sys_e*"));
 * // [{ module: "vmlinux", name: "sys_enter" }, { module: "vmlinux", name: "sys_exit" }]
 * ```
 */
export function matchBtfProbes(
  kind: BtfProbeKind,
  modulePattern: string,
  namePattern: string,
): { module: string; name: string }[] {
  const mre = globToRegExp(modulePattern);
  const nre = globToRegExp(namePattern);
  const exact = !hasWildcard(namePattern);
  const out: { module: string; name: string }[] = [];
  const modules = ["vmlinux"];
  if (kernelTypes().source === "btf") {
    modules.push(
      ...(hasWildcard(modulePattern)
        ? moduleNames()
        : modulePattern === "vmlinux"
        ? []
        : [modulePattern]),
    );
  }
  for (const m of modules) {
    if (!mre.test(m)) continue;
    const types = typesOf(m);
    if (types === undefined) continue;
    if (exact) {
      if (probeIn(m, types, kind, namePattern) !== undefined) {
        out.push({ module: m, name: namePattern });
      }
      continue;
    }
    for (const n of new Set(ownNames(types, kind))) {
      if (nre.test(n)) out.push({ module: m, name: n });
    }
  }
  return out.sort((a, b) =>
    a.module === b.module
      ? a.name.localeCompare(b.name)
      : a.module === "vmlinux"
      ? -1
      : b.module === "vmlinux"
      ? 1
      : a.module.localeCompare(b.module)
  );
}

/**
 * Names of vmlinux's functions or raw tracepoints near `name`, for a
 * "did you mean".
 *
 * @example Usage
 * ```ts ignore
 * import { nearestBtfProbes } from "./btf_probes.ts";
 * console.log(nearestBtfProbes("function", "vfs_raed")); // ["vfs_read"]
 * ```
 */
export function nearestBtfProbes(kind: BtfProbeKind, name: string): string[] {
  return nearestNames(name, ownNames(kernelTypes(), kind), 1);
}
