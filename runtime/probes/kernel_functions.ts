/**
 * The kernel functions a kprobe wildcard (`kprobe:vfs_*`) expands to, and
 * what `-l 'kprobe:PATTERN'` lists: the text symbols of `/proc/kallsyms`,
 * else (kallsyms unreadable, or without text symbols) tracefs's
 * `available_filter_functions`. Left out, as bpftrace leaves them out:
 * `.part.N` pieces of split functions, the functions the kernel's kprobe
 * blocklist names (when readable) and those known to hang the machine
 * when traced (`arch_cpu_idle`, `default_idle`, `bpf_dispatcher_xdp_func`,
 * `rcu_*`, `__ftrace_invalid_address__*`). kallsyms also names code that
 * is no function entry or is gone: `.cold` parts, `__pfx_`/`__cfi_`
 * padding, section bounds (`_stext`, `__entry_text_start`) and boot-time
 * functions (between `_sinittext` and `_einittext`, freed after boot);
 * these are left out too.
 *
 * @module
 */

import { globToRegExp, hasWildcard } from "./glob.ts";

/** A traceable kernel function. */
export interface KernelFunction {
  /** The function's name. */
  name: string;
  /** Its loadable module, undefined for the kernel image (vmlinux). */
  module?: string;
}

/** The traceable functions and where they were read. */
export interface KernelFunctionList {
  /** The functions, in the order of the file they were read from. */
  functions: KernelFunction[];
  /** The file read. */
  source: string;
}

/** Where the lists are read (tests pass others). */
export interface KernelFunctionPaths {
  /** `/proc/kallsyms`. */
  kallsyms?: string;
  /** tracefs's `available_filter_functions`. */
  filterFunctions?: string[];
  /** debugfs's kprobe blocklist. */
  blocklist?: string;
}

const DEFAULT_PATHS: Required<KernelFunctionPaths> = {
  kallsyms: "/proc/kallsyms",
  filterFunctions: [
    "/sys/kernel/tracing/available_filter_functions",
    "/sys/kernel/debug/tracing/available_filter_functions",
  ],
  blocklist: "/sys/kernel/debug/kprobes/blacklist",
};

/** Functions that hang the machine when traced (bpftrace's list). */
const BAD = new Set([
  "arch_cpu_idle",
  "default_idle",
  "bpf_dispatcher_xdp_func",
]);
const BAD_PREFIXES = ["__ftrace_invalid_address__", "rcu_"];

/** Whether `name` is left out of every list (see the module's text). */
function leftOut(name: string): boolean {
  if (BAD.has(name) || BAD_PREFIXES.some((p) => name.startsWith(p))) {
    return true;
  }
  if (name.includes(".part.") || name.endsWith(".cold")) return true;
  if (name.startsWith("__pfx_") || name.startsWith("__cfi_")) return true;
  return /^(?:_stext|_etext|_sinittext|_einittext|__.*_text_(?:start|end))$/
    .test(name);
}

/**
 * Parses `/proc/kallsyms` text: its text symbols (`t`, `T`), with their
 * modules. Names are listed whether or not the reader sees addresses.
 *
 * @example Text symbols only, `.part.` and padding left out
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseKallsymsFunctions } from "./kernel_functions.ts";
 *
 * const text = "0000000000000000 T vfs_read\n" +
 *   "0000000000000000 t vfs_kern_mount.part.0\n" +
 *   "0000000000000000 t __pfx_vfs_read\n" +
 *   "0000000000000000 D vfs_data\n" +
 *   "0000000000000000 t ext4_read\t[ext4]\n";
 * assert.deepEqual(parseKallsymsFunctions(text), [
 *   { name: "vfs_read" },
 *   { name: "ext4_read", module: "ext4" },
 * ]);
 * ```
 *
 * @param text The file's text.
 * @returns The functions, in file order.
 */
export function parseKallsymsFunctions(text: string): KernelFunction[] {
  const out: KernelFunction[] = [];
  // Boot-time code (between _sinittext and _einittext) is freed after
  // boot: nothing to trace. Addresses have one width: compare as text.
  const init = /^(\w+) T _sinittext$/m.exec(text)?.[1];
  const initEnd = /^(\w+) T _einittext$/m.exec(text)?.[1];
  const bounded = init !== undefined && initEnd !== undefined &&
    init.length === initEnd.length && /[1-9a-f]/.test(init);
  for (const line of text.split("\n")) {
    const sp = line.indexOf(" ");
    if (sp < 0) continue;
    const type = line.charCodeAt(sp + 1);
    if (type !== 0x74 && type !== 0x54) continue; // t, T
    if (bounded && sp === init.length) {
      const addr = line.slice(0, sp);
      if (addr >= init && addr < initEnd) continue;
    }
    const rest = line.slice(sp + 3);
    const tab = rest.indexOf("\t");
    const name = (tab < 0 ? rest : rest.slice(0, tab)).trim();
    if (name === "" || leftOut(name)) continue;
    const f: KernelFunction = { name };
    if (tab >= 0) {
      const mod = rest.slice(tab + 1).trim().replace(/^\[|\]$/g, "");
      if (mod !== "") f.module = mod;
    }
    out.push(f);
  }
  return out;
}

/**
 * Parses tracefs's `available_filter_functions`: one `name [module]` a
 * line.
 *
 * @example A kernel function and a module's
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFilterFunctions } from "./kernel_functions.ts";
 *
 * assert.deepEqual(parseFilterFunctions("vfs_read\next4_read [ext4]\n"), [
 *   { name: "vfs_read" },
 *   { name: "ext4_read", module: "ext4" },
 * ]);
 * ```
 *
 * @param text The file's text.
 * @returns The functions, in file order.
 */
export function parseFilterFunctions(text: string): KernelFunction[] {
  const out: KernelFunction[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\S+)(?:\s+\[([^\]]+)\])?/.exec(line.trim());
    if (m === null || leftOut(m[1])) continue;
    const f: KernelFunction = { name: m[1] };
    if (m[2] !== undefined) f.module = m[2];
    out.push(f);
  }
  return out;
}

function readText(path: string): string | Error {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** The kprobe blocklist's names (`0xA-0xB\tname [mod]` lines), if readable. */
function readBlocklist(path: string): Set<string> {
  const text = readText(path);
  const out = new Set<string>();
  if (typeof text !== "string") return out;
  for (const line of text.split("\n")) {
    const name = line.split(/\s+/)[1];
    if (name) out.add(name);
  }
  return out;
}

/**
 * Reads the traceable kernel functions: kallsyms's text symbols, else
 * `available_filter_functions`, less the kprobe blocklist.
 *
 * @example Reading this machine's functions
 * ```ts ignore
 * import { readKernelFunctions } from "./kernel_functions.ts";
 *
 * const { functions, source } = readKernelFunctions();
 * console.log(`${functions.length} functions from ${source}`);
 * ```
 *
 * @param paths Where the lists are (default: the kernel's files).
 * @returns The functions and the file they came from.
 * @throws {Error} When no list is readable: the message says what each
 *   file gave (unreadable, or no functions).
 */
export function readKernelFunctions(
  paths: KernelFunctionPaths = {},
): KernelFunctionList {
  const p = { ...DEFAULT_PATHS, ...paths };
  const tried: string[] = [];
  let list: KernelFunctionList | undefined;
  const kallsyms = readText(p.kallsyms);
  if (typeof kallsyms === "string") {
    const functions = parseKallsymsFunctions(kallsyms);
    if (functions.length > 0) list = { functions, source: p.kallsyms };
    else tried.push(`${p.kallsyms} lists no functions`);
  } else tried.push(`${p.kallsyms}: ${reason(kallsyms)}`);
  for (const path of p.filterFunctions) {
    if (list !== undefined) break;
    const text = readText(path);
    if (typeof text !== "string") {
      tried.push(`${path}: ${reason(text)}`);
      continue;
    }
    const functions = parseFilterFunctions(text);
    if (functions.length > 0) list = { functions, source: path };
    else tried.push(`${path} lists no functions`);
  }
  if (list === undefined) {
    throw new Error(
      `No list of kernel functions is readable (${tried.join("; ")})`,
    );
  }
  const blocked = readBlocklist(p.blocklist);
  if (blocked.size > 0) {
    list.functions = list.functions.filter((f) => !blocked.has(f.name));
  }
  return list;
}

function reason(e: Error): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (
    e instanceof Deno.errors.PermissionDenied ||
    e instanceof Deno.errors.NotCapable
  ) return "permission denied";
  return e.message;
}

/**
 * The kernel functions a kprobe target pattern matches: `FUNC` (every
 * module's functions, each name once) or `MODULE:FUNC` (the kernel image
 * is module `vmlinux`), each part possibly with `*` and `?`. Names come
 * back sorted, as bpftrace sorts them; with a module pattern each is
 * `MODULE:FUNC`.
 *
 * @example Matching a function pattern, and one of a module
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchKernelFunctions } from "./kernel_functions.ts";
 *
 * const fns = [
 *   { name: "vfs_write" }, { name: "vfs_read" }, { name: "ksys_read" },
 *   { name: "ext4_read", module: "ext4" }, { name: "vfs_read", module: "m" },
 * ];
 * assert.deepEqual(matchKernelFunctions("vfs_*", fns), ["vfs_read", "vfs_write"]);
 * assert.deepEqual(matchKernelFunctions("ext4:*", fns), ["ext4:ext4_read"]);
 * assert.deepEqual(matchKernelFunctions("vmlinux:*read", fns), [
 *   "vmlinux:ksys_read",
 *   "vmlinux:vfs_read",
 * ]);
 * ```
 *
 * @param pattern The target: `FUNC` or `MODULE:FUNC`.
 * @param functions The functions to match.
 * @returns The matching names, sorted, without duplicates.
 */
export function matchKernelFunctions(
  pattern: string,
  functions: readonly KernelFunction[],
): string[] {
  const colon = pattern.indexOf(":");
  const fnPattern = colon < 0 ? pattern : pattern.slice(colon + 1);
  const modPattern = colon < 0 ? undefined : pattern.slice(0, colon);
  const fnRe = hasWildcard(fnPattern) ? globToRegExp(fnPattern) : undefined;
  const modRe = modPattern !== undefined && hasWildcard(modPattern)
    ? globToRegExp(modPattern)
    : undefined;
  const out = new Set<string>();
  for (const f of functions) {
    if (fnRe ? !fnRe.test(f.name) : f.name !== fnPattern) continue;
    if (modPattern === undefined) {
      out.add(f.name);
      continue;
    }
    const mod = f.module ?? "vmlinux";
    if (modRe ? !modRe.test(mod) : mod !== modPattern) continue;
    out.add(`${mod}:${f.name}`);
  }
  return [...out].sort();
}

let cached: KernelFunctionList | undefined;

/**
 * Expands a kprobe or kretprobe target with wildcards to the kernel
 * functions it names (this machine's list, read once per process).
 *
 * @example Expanding `vfs_*` where the kernel's functions are readable
 * ```ts ignore
 * import { expandKernelFunctions } from "./kernel_functions.ts";
 *
 * console.log(expandKernelFunctions("vfs_*").includes("vfs_read"));
 * ```
 *
 * @param pattern The target (`vfs_*`, `ext4:*`).
 * @returns The matching functions, sorted (possibly none).
 * @throws {Error} When no list of kernel functions is readable.
 */
export function expandKernelFunctions(pattern: string): string[] {
  cached ??= readKernelFunctions();
  return matchKernelFunctions(pattern, cached.functions);
}
