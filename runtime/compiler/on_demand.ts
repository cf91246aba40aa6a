/**
 * Modules a plain one-liner does not need, loaded on demand: the macro,
 * import and config passes, the ELF reader with the uprobe resolver and
 * the user symbolizer (uprobes, `uaddr()`, `usym`, `ustack`), the USDT
 * reader, `/proc/kallsyms` (`kaddr()`, kernel symbols) and the named
 * parameters of `getopt()`, the code of `for` loops. The compiler
 * and the symbol resolver are synchronous, so they take these modules
 * from here ({@linkcode onDemand}) once loaded.
 *
 * Who loads them:
 * - the command-line tool (`mod.ts` run as the main module, or the bundled command) calls
 *   {@linkcode loadOnDemand} with the script's text before compiling it,
 *   loading only what that text may use: `BEGIN { exit(); }` loads none;
 * - in any other process (`mod.ts` or a runtime module imported as a
 *   library, the tests, the tools) this module loads them all as it is
 *   imported, so that the synchronous `compile()` handles every script
 *   without a preparing step.
 *
 * @module
 */

import { envVar } from "../probes/env.ts";

/**
 * The environment variables that set what a config block sets (read by
 * lang/config.ts): when one is set the config checker is needed, even
 * for a script without a block.
 *
 * @example Usage
 * ```ts
 * import { CONFIG_ENV } from "./on_demand.ts";
 * console.assert(CONFIG_ENV.includes("BPFTRACE_STACK_MODE"));
 * ```
 */
export const CONFIG_ENV: readonly string[] = [
  "BPFTRACE_MAX_STRLEN",
  "BPFTRACE_STRLEN",
  "BPFTRACE_MISSING_PROBES",
  "BPFTRACE_STACK_MODE",
  "BPFTRACE_STR_TRUNC_TRAILER",
];

/** The modules, each imported by a literal specifier (bundlers see them). */
const LOADERS = {
  macros: () => import("../lang/macros.ts"),
  imports: () => import("../lang/imports.ts"),
  config: () => import("../lang/config.ts"),
  missing: () => import("./missing_probes.ts"),
  elf: () => import("../probes/elf.ts"),
  uprobes: () => import("../probes/uprobe_target.ts"),
  symbolizer: () => import("../probes/user_symbols.ts"),
  usdt: () => import("./usdt_units.ts"),
  kallsyms: () => import("../probes/kallsyms.ts"),
  kfuncs: () => import("../probes/kernel_functions.ts"),
  getopt: () => import("./getopt.ts"),
  funcs: () => import("./sema_funcs.ts"),
  find: () => import("./codegen_find.ts"),
  strlen: () => import("./codegen_strlen.ts"),
  strstr: () => import("./codegen_strstr.ts"),
  gfp: () => import("../lang/gfp_flags.ts"),
  args: () => import("./sema_args.ts"),
  btf: () => import("./btf_units.ts"),
  enums: () => import("./c_enums.ts"),
  layout: () => import("./c_layout.ts"),
  loops: () => import("./codegen_loops.ts"),
  percpu: () => import("./percpu_kaddr.ts"),
};

/** The name of a module loaded on demand. */
export type OnDemandName = keyof typeof LOADERS;

/** The modules loaded on demand, by name. */
export type OnDemandModules = {
  [K in OnDemandName]: Awaited<ReturnType<typeof LOADERS[K]>>;
};

const ALL = Object.keys(LOADERS) as OnDemandName[];

const loaded: Partial<OnDemandModules> = {};

/** What each module is, for the message when one was not loaded. */
const WHAT: Readonly<Record<OnDemandName, string>> = {
  macros: "the macro expander",
  imports: "the import resolver",
  config: "the config block checker",
  missing: "the missing_probes filter",
  elf: "the ELF reader",
  uprobes: "the uprobe resolver",
  symbolizer: "the user symbolizer",
  usdt: "the USDT attach-point expander",
  kallsyms: "the kernel symbol table",
  kfuncs: "the kprobe wildcard expander",
  getopt: "the getopt() parameter reader",
  funcs: "the checks of macaddr(), override() and others",
  find: "the code of find()",
  strlen: "the code of strlen()",
  strstr: "the code of strcontains() and strstr()",
  gfp: "the GFP flag names of printf's %gr",
  args: "the builder of a tracepoint's args record",
  btf: "the fentry, fexit and rawtracepoint reader of the kernel's BTF",
  enums: "the reader of a script's enum definitions",
  layout: "the layout of a script's struct definitions",
  loops: "the code of for loops",
  percpu: "the code of percpu_kaddr()",
};

/**
 * The functions `sema_funcs.ts` checks, loaded when a program names one.
 */
export const ON_DEMAND_FUNCS: ReadonlySet<string> = new Set([
  "macaddr",
  "cgroup_path",
  "assert_str",
  "default_str_length",
  "strcap",
  "memcmp",
  "kfunc_exist",
  "kfunc_allowed",
  "socket_cookie",
  "percpu_kaddr",
  "find",
  "override",
  "path",
  "skboutput",
]);

/** A call of one of {@linkcode ON_DEMAND_FUNCS} in a script's text. */
const FUNCS_CALLED = new RegExp(
  `\\b(?:${[...ON_DEMAND_FUNCS].join("|")})\\s*\\(`,
);

/**
 * The modules a script's text may need (a cheap look at the text, erring
 * on the side of loading): `$N` is replaced by `params[N-1]` first, since
 * a positional parameter may name an attach point's provider. A script
 * that imports files may need anything.
 *
 * @example A plain one-liner needs nothing, a uprobe the ELF reader
 * ```ts
 * import assert from "node:assert/strict";
 * import { onDemandNeeds } from "./on_demand.ts";
 * assert.deepEqual(onDemandNeeds("BEGIN { exit(); }"), []);
 * const elf = ["elf", "uprobes", "symbolizer"];
 * assert.deepEqual(onDemandNeeds("uprobe:/bin/sh:main { @[ustack] = count(); }"), elf);
 * assert.deepEqual(onDemandNeeds("$1:/bin/sh:main { }", ["u"]), elf);
 * ```
 *
 * @param text The script.
 * @param params Its positional parameters.
 * @returns The names of the modules to load.
 */
export function onDemandNeeds(
  text: string,
  params: readonly string[] = [],
): OnDemandName[] {
  const t = text.replace(/\$(\d+)/g, (m, n) => params[Number(n) - 1] ?? m);
  if (/\bimport\b/.test(t)) return [...ALL];
  const out: OnDemandName[] = [];
  if (/\bmacro\b/.test(t)) out.push("macros");
  if (/\bconfig\b/.test(t) || CONFIG_ENV.some(envVar)) out.push("config");
  if (/\bmissing_probes\b/i.test(t) || envVar("BPFTRACE_MISSING_PROBES")) {
    out.push("missing");
  }
  const usdt = /\b(?:usdt|U)\s*:/.test(t);
  if (
    usdt || /\b(?:uprobe|uretprobe|ur?)\s*:|\bu(?:sym|stack|addr)\b/.test(t)
  ) {
    out.push("elf", "uprobes", "symbolizer");
  }
  if (usdt) out.push("usdt");
  if (/\b(?:ksym|kstack|kaddr|func)\b/.test(t)) out.push("kallsyms");
  if (/\b(?:kprobe|kretprobe|kr?)\s*:[\w.:]*[*?]/.test(t)) out.push("kfuncs");
  if (/\bgetopt\b/.test(t)) out.push("getopt");
  if (FUNCS_CALLED.test(t)) out.push("funcs");
  if (/\bfind\s*\(/.test(t)) out.push("find");
  if (/\bpercpu_kaddr\s*\(/.test(t)) out.push("percpu");
  if (/\bstr(?:len|cap)\s*\(/.test(t)) out.push("strlen");
  if (/\bstr(?:contains|str)\s*\(/.test(t)) out.push("strstr");
  if (/%[-0-9.]*gr/.test(t)) out.push("gfp");
  // `args` used whole (`print(args)`), not `args.f` or `args->f`.
  if (/\bargs\b(?!\s*(?:\.|->))/.test(t)) out.push("args");
  if (/\b(?:fentry|fexit|kfunc|kretfunc|fr?|rawtracepoint|rt)\s*:/.test(t)) {
    out.push("btf");
  }
  if (/\benum\b/.test(t)) out.push("enums");
  // A struct or union definition (comments may sit before its brace).
  if (/\b(?:struct|union)\b[^;{}()]*\{/.test(t)) out.push("layout");
  if (/\bfor\b/.test(t)) out.push("loops");
  return out;
}

/**
 * Loads the modules `text` may need ({@linkcode onDemandNeeds}), or all
 * of them without a text.
 *
 * @example Before compiling a script
 * ```ts
 * import { loadOnDemand, onDemand } from "./on_demand.ts";
 * await loadOnDemand("macro one() { 1 } BEGIN { print(one()); exit(); }");
 * console.assert(typeof onDemand("macros").expandMacros === "function");
 * ```
 *
 * @param text The script, if known.
 * @param params Its positional parameters.
 */
export async function loadOnDemand(
  text?: string,
  params: readonly string[] = [],
): Promise<void> {
  const names = text === undefined ? ALL : onDemandNeeds(text, params);
  await Promise.all(names.map((name) => load(name)));
}

async function load<K extends OnDemandName>(name: K): Promise<void> {
  loaded[name] ??= await LOADERS[name]() as OnDemandModules[K];
}

/**
 * A module loaded on demand.
 *
 * @example The macro expander
 * ```ts
 * import { onDemand } from "./on_demand.ts";
 * const { expandMacros } = onDemand("macros");
 * console.assert(typeof expandMacros === "function");
 * ```
 *
 * @param name Which module.
 * @returns The module.
 * @throws {Error} when it was not loaded: {@linkcode loadOnDemand} was
 *   not called with a text that needs it (an internal error).
 */
export function onDemand<K extends OnDemandName>(name: K): OnDemandModules[K] {
  const m = loaded[name];
  if (m === undefined) {
    throw new Error(
      `Internal error: ${
        WHAT[name]
      } was used before it was loaded (loadOnDemand)`,
    );
  }
  return m;
}

// Anything but the command-line tool loads every module now (see above).
// The tool is `mod.ts` run as the main module, or the bundled command
// (`deno task bundle`), where every module is the one main file.
if (
  Deno.mainModule !== new URL("../../mod.ts", import.meta.url).href &&
  Deno.mainModule !== import.meta.url
) {
  await loadOnDemand();
}
