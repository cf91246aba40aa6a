/**
 * Probe listing and wildcard expansion across providers: what `-l
 * [PATTERN]` prints and what the compiler attaches for a wildcard attach
 * point.
 *
 * Listed: tracepoints (tracefs or bundled), raw tracepoints (one per
 * tracepoint event name), software and hardware events, and uprobes of a
 * named binary, kernel functions for kprobes (kernel_functions.ts:
 * kallsyms, else tracefs's `available_filter_functions`).
 *
 * @module
 */

import type { AttachPoint } from "../program.ts";
import { isWildcard, parseAttachPoint, providerKind } from "./attach_spec.ts";
import { findBinary } from "./find_binary.ts";
import { listUprobeSymbols } from "./uprobe_target.ts";
import { globToRegExp, hasWildcard, matchGlob } from "./glob.ts";
import { expandKernelFunctions } from "./kernel_functions.ts";
import { btfProbe, matchBtfProbes } from "../btf/btf_probes.ts";
import { kernelTypes } from "../btf/load_types.ts";
import { HARDWARE_EVENTS, SOFTWARE_EVENTS } from "./perf_events.ts";
import { listUsdtProbes, matchUsdtProbes, readUsdtProbes } from "./usdt.ts";
import {
  expandTracepoints,
  listTracepoints,
  readTracepointFormat,
} from "./tracepoint_format.ts";

function perfNames(kind: "software" | "hardware", pattern: string): string[] {
  const table = kind === "software" ? SOFTWARE_EVENTS : HARDWARE_EVENTS;
  const re = globToRegExp(pattern);
  return table.filter((e) =>
    re.test(e.name) || (e.alias !== undefined && re.test(e.alias))
  )
    .map((e) => e.name).sort();
}

/**
 * `MODULE:NAME` of the functions (fentry/fexit) or raw tracepoints BTF
 * describes matching `pattern` (`NAME` or `MODULE:NAME`, globs), as
 * bpftrace 0.26 lists them; a name alone matches in every module.
 */
function btfNames(
  kind: "fentry" | "fexit" | "rawtracepoint",
  pattern: string,
): string[] {
  const colon = pattern.indexOf(":");
  const mod = colon < 0 ? "*" : pattern.slice(0, colon) || "*";
  const name = colon < 0 ? pattern || "*" : pattern.slice(colon + 1) || "*";
  return matchBtfProbes(
    kind === "rawtracepoint" ? "rawtracepoint" : "function",
    mod,
    name,
  ).map((m) => `${kind}:${m.module}:${m.name}`);
}

function rawTracepoints(pattern: string): string[] {
  const re = globToRegExp(pattern);
  const names = new Set<string>();
  for (const tp of listTracepoints()) {
    const n = tp.slice(tp.indexOf(":") + 1);
    if (re.test(n)) names.add(n);
  }
  return [...names].sort();
}

/**
 * The probes `-l [PATTERN]` prints, one "provider:target" string each.
 * Without a pattern: every tracepoint, software and hardware event, and
 * the units of interval and profile probes (`interval:s:`). A
 * pattern's provider may be an alias; a pattern without a known provider
 * is matched against tracepoints ("skb:*", or an event-name pattern like
 * "*kfree_skb*") and software/hardware event names.
 *
 * With `opts.pid` (`-p`), `usdt:*` patterns list the USDT probes of every
 * file that process maps.
 *
 * @throws {SyntaxError} For a malformed uprobe pattern.
 * @throws {import("./elf.ts").ElfError} When a uprobe binary is missing.
 *
 * @example Listing skb tracepoints and libc functions
 * ```ts
 * import assert from "node:assert/strict";
 * import { listProbes } from "./list_probes.ts";
 *
 * assert.ok(listProbes("t:skb:*").includes("tracepoint:skb:kfree_skb"));
 * assert.ok(listProbes("software:cs").includes("software:context-switches:"));
 * assert.ok(listProbes("uprobe:libc:getpid").some((p) => p.endsWith(":getpid")));
 * ```
 */
export function listProbes(
  pattern?: string,
  opts: { pid?: number } = {},
): string[] {
  const p = pattern?.trim() ?? "";
  if (p === "" || p === "*") {
    return [
      ...listTracepoints().map((t) => `tracepoint:${t}`),
      ...perfNames("software", "*").map((n) => `software:${n}:`),
      ...perfNames("hardware", "*").map((n) => `hardware:${n}:`),
      ...timeUnits("interval", "*"),
      ...timeUnits("profile", "*"),
    ].sort();
  }
  const colon = p.indexOf(":");
  const kind = colon < 0 ? undefined : providerKind(p.slice(0, colon));
  const rest = colon < 0 ? p : p.slice(colon + 1);
  switch (kind) {
    case undefined: {
      // No provider: tracepoints by "cat:name" or by event name, plus
      // software/hardware events by name.
      const tps = colon < 0
        ? expandTracepoints(`*:${p}`)
        : expandTracepoints(p);
      const out = tps.map((t) => `tracepoint:${t}`);
      if (colon < 0) {
        for (const n of perfNames("software", p)) out.push(`software:${n}:`);
        for (const n of perfNames("hardware", p)) out.push(`hardware:${n}:`);
      }
      return out.sort();
    }
    case "tracepoint":
      return expandTracepoints(rest.includes(":") ? rest : `${rest}:*`)
        .map((t) => `tracepoint:${t}`);
    case "rawtracepoint":
    case "fentry":
    case "fexit":
      // From the kernel's BTF; without it (no /sys/kernel/btf/vmlinux),
      // raw tracepoints by tracepoint event name.
      if (kernelTypes().source === "btf") return btfNames(kind, rest);
      return kind === "rawtracepoint"
        ? rawTracepoints(rest).map((n) => `rawtracepoint:${n}`)
        : [];
    case "software":
    case "hardware":
      return perfNames(kind, rest.split(":")[0]).map((n) => `${kind}:${n}:`);
    case "uprobe":
    case "uretprobe": {
      const last = rest.lastIndexOf(":");
      const bin = last < 0 ? rest : rest.slice(0, last);
      const sym = last < 0 ? "*" : rest.slice(last + 1) || "*";
      if (bin === "") {
        throw new SyntaxError(`Invalid probe pattern "${p}": missing binary`);
      }
      const path = findBinary(bin);
      return listUprobeSymbols(path, sym).map((s) => `${kind}:${path}:${s}`);
    }
    case "usdt": {
      // usdt:BIN[:PATTERN], the pattern `NAME` or `PROVIDER:NAME`.
      const colon = rest.indexOf(":");
      const bin = colon < 0 ? rest : rest.slice(0, colon);
      const pat = colon < 0 ? "*" : rest.slice(colon + 1) || "*";
      if (bin === "" && opts.pid === undefined) {
        throw new SyntaxError(`Invalid probe pattern "${p}": missing binary`);
      }
      return listUsdtProbes(bin, pat, opts.pid);
    }
    case "kprobe":
    case "kretprobe":
      return expandKernelFunctions(rest === "" ? "*" : rest)
        .map((n) => `${kind}:${n}`);
    case "profile":
    case "interval":
      return timeUnits(kind, rest);
    case "BEGIN":
    case "END":
    case "test":
    case "bench":
      return [];
  }
}

/** The units of profile and interval probes, as bpftrace 0.26 lists them. */
const TIME_UNITS = ["hz", "ms", "s", "us"];

/**
 * `-l interval:PATTERN`: each matching unit as `interval:UNIT:`, like
 * bpftrace 0.26. The pattern is a unit glob (`*`, `s`, `s:1`) or a period
 * (`1s` lists `interval:us:`, the unit it is counted in).
 */
function timeUnits(kind: "profile" | "interval", rest: string): string[] {
  const parts = rest.split(":");
  let unit = parts[0] === "" ? "*" : parts[0];
  if (parts.length === 1 && !hasWildcard(unit)) {
    unit = parseAttachPoint(`${kind}:${rest}`).unit ?? unit;
  }
  return TIME_UNITS.filter((u) => matchGlob(unit, u))
    .map((u) => `${kind}:${u}:`);
}

/**
 * What `-l` prints for `probes`, one a line; with `verbose` (`-lv`), each
 * tracepoint's arguments follow it, indented, as its format declares them
 * (the `common_*` header fields left out), as `bpftrace -lv` prints them.
 *
 * @example A tracepoint and its arguments
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatProbeList } from "./list_probes.ts";
 *
 * const text = formatProbeList(["tracepoint:skb:kfree_skb"], true);
 * assert.match(text, /^tracepoint:skb:kfree_skb\n    void \* skbaddr\n/);
 * ```
 */
export function formatProbeList(
  probes: readonly string[],
  verbose = false,
): string {
  const lines: string[] = [];
  for (const probe of probes) {
    lines.push(probe + "\n");
    if (verbose && /^(?:fentry|fexit|rawtracepoint):[^:]+:/.test(probe)) {
      lines.push(...btfParams(probe));
      continue;
    }
    if (!verbose || !probe.startsWith("tracepoint:")) continue;
    const [, category, name] = probe.split(":");
    let fields;
    try {
      fields = readTracepointFormat(category, name).fields;
    } catch {
      continue; // listed but its format is unreadable: the name alone
    }
    for (const f of fields) if (!f.common) lines.push(`    ${f.decl}\n`);
  }
  return lines.join("");
}

/**
 * The arguments `-lv` prints under `fentry:MODULE:NAME` (fexit: and
 * `retval`) or `rawtracepoint:MODULE:NAME`, from the BTF prototype.
 */
function btfParams(probe: string): string[] {
  const [kind, module, name] = probe.split(":");
  const p = btfProbe(
    kind === "rawtracepoint" ? "rawtracepoint" : "function",
    name,
    module,
  );
  if (p === undefined) return [];
  const out = p.params.map((x, i) =>
    `    ${p.types.typeName(x.type)} ${x.name || `arg${i}`}\n`
  );
  if (kind === "fexit") {
    const ret = p.returns === 0 ? "void" : p.types.typeName(p.returns);
    out.push(`    ${ret} retval\n`);
  }
  return out;
}

/**
 * Expand one attach point's wildcards into concrete attach points:
 * tracepoints via tracefs or the bundle, uprobe symbols via the binary's
 * ELF symbols, kprobe functions via the kernel's list, software/hardware event names via the event tables. An
 * attach point without wildcards comes back alone. Uprobe binaries named
 * bare (`libc`) are resolved to absolute paths.
 *
 * @example Expanding a syscall wildcard
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAttachPoint } from "./attach_spec.ts";
 * import { expandAttachPoint } from "./list_probes.ts";
 *
 * const aps = expandAttachPoint(parseAttachPoint("t:syscalls:sys_enter_getp*"));
 * assert.ok(aps.some((a) => a.target === "syscalls:sys_enter_getppid"));
 * ```
 */
export function expandAttachPoint(ap: AttachPoint): AttachPoint[] {
  if (
    (ap.kind === "uprobe" || ap.kind === "uretprobe") &&
    !ap.target.startsWith("/")
  ) {
    ap = { ...ap, target: findBinary(ap.target) };
    ap.text = `${ap.kind}:${ap.target}:${ap.symbol}${
      ap.offset !== undefined ? `+${ap.offset}` : ""
    }`;
  }
  if (ap.kind === "usdt") {
    return matchUsdtProbes(readUsdtProbes(ap.target), ap.symbol ?? "*")
      .map((u) => ({
        kind: "usdt",
        target: u.path,
        symbol: `${u.provider}:${u.name}`,
        text: `usdt:${u.path}:${u.provider}:${u.name}`,
        usdt: u,
      }));
  }
  if (!isWildcard(ap)) return [ap];
  switch (ap.kind) {
    case "tracepoint":
      return expandTracepoints(ap.target).map((t) => ({
        kind: "tracepoint",
        target: t,
        text: `tracepoint:${t}`,
      }));
    case "rawtracepoint":
      return rawTracepoints(ap.target).map((n) => ({
        kind: "rawtracepoint",
        target: n,
        text: `rawtracepoint:${n}`,
      }));
    case "uprobe":
    case "uretprobe": {
      if (hasWildcard(ap.target)) {
        throw new SyntaxError(
          `Invalid attach point "${ap.text}": wildcard in binary path`,
        );
      }
      return listUprobeSymbols(ap.target, ap.symbol ?? "*").map((s) => ({
        kind: ap.kind,
        target: ap.target,
        symbol: s,
        text: `${ap.kind}:${ap.target}:${s}`,
      }));
    }
    case "kprobe":
    case "kretprobe": {
      const kind = ap.kind;
      return expandKernelFunctions(ap.target).map((n) => ({
        kind,
        target: n,
        text: `${kind}:${n}`,
      }));
    }
    case "software":
    case "hardware": {
      const kind = ap.kind;
      return perfNames(kind, ap.target).map((n) =>
        parseAttachPoint(
          `${kind}:${n}${ap.period !== undefined ? `:${ap.period}` : ""}`,
        )
      );
    }
    default:
      throw new SyntaxError(
        `Invalid attach point "${ap.text}": wildcards are not supported here`,
      );
  }
}
