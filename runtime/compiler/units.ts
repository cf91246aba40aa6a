/**
 * Attach-point expansion: the probes of a script become compile units, one
 * per program to emit, each with its attach points, program type and
 * context layout. The only pass that reads the system (tracefs formats,
 * ELF files for uprobes and USDT, through the readers `on_demand.ts`
 * loads); type checking (`sema.ts`) works on its result.
 *
 * @module
 */

import type { ProgramOption } from "./getopt.ts";
import { PT_REGS_SIZE } from "../probes/pt_regs.ts";
import type * as ast from "../lang/ast.ts";
import type { Diagnostics } from "../lang/diagnostics.ts";
import type {
  AttachPoint,
  ContextLayout,
  FieldLayout,
  ProbeKind,
} from "../program.ts";
import { ProgType } from "../bpf/opcodes.ts";
import {
  expandTracepoints,
  listTracepoints,
  readBundledTracepointFormat,
  readTracepointFormat,
} from "../probes/tracepoint_format.ts";
import { bundledFormats } from "../probes/bundled_formats.ts";
import { didYouMean } from "../lang/suggest.ts";
import { hasWildcard } from "../probes/glob.ts";
import { walk } from "../lang/visit.ts";
import { onDemand } from "./on_demand.ts";
import type { MemberAccess } from "./kernel_types.ts";
import type { ElfInfo } from "../probes/elf.ts";
import type { SType } from "./types.ts";
import type { BtfSignature } from "./btf_units.ts";

/** A uprobe's binary as `uaddr()` needs it, or why it could not be read. */
export type UprobeBinary =
  | {
    /** The binary's ELF headers and symbols. */
    info: ElfInfo;
    /** The address the probe is attached at (what PIE `ip` is relative to). */
    probeAddr: bigint;
  }
  | {
    /** Why the binary could not be read. */
    error: string;
  };

/** One compiled probe program: a probe body for one context. */
export interface Unit {
  /** The probe whose body this is. */
  probe: ast.Probe;
  /** The probe type. */
  kind: ProbeKind;
  /** Attach points sharing this program. */
  attach: AttachPoint[];
  /** Kernel program type (`ProgType`). */
  progType: number;
  /** What r1 points at. */
  ctx: ContextLayout;
  /** Tracepoint fields by name (for `args->field`). */
  fields?: Map<string, FieldLayout>;
  /** fentry/fexit, rawtracepoint: typed arguments and return value. */
  btfSig?: BtfSignature;
  /** Whether `char *` fields point to user memory (syscalls). */
  userPtrs: boolean;
  /** The text `probe` evaluates to. */
  probeText: string;
  /** Kernel program name. */
  name: string;
  /** Expression types. */
  types: Map<ast.Expr, SType>;
  /** Scratch variable types. */
  vars: Map<string, SType>;
  /** Highest raw-tracepoint argument read. */
  maxArg: number;
  /**
   * `uaddr()` calls: the symbol's address in the binary, and for PIE
   * binaries the probed address the run-time `ip` is relative to.
   */
  uaddrs?: Map<ast.Expr, { value: bigint; relativeTo?: bigint }>;
  /** `getopt()` calls: the option each reads and its value in this run. */
  getopts?: Map<
    ast.Expr,
    { option: ProgramOption; value: bigint | string; at: number }
  >;
  /** Values of `sizeof(struct …)` and `offsetof()`, from the preamble. */
  consts?: Map<ast.Expr, bigint>;
  /**
   * An `index` (`$t[1]`, `$s[0]`) or `field` (`$r.a`) node that reads
   * element N of a tuple or record, or byte N of a string.
   */
  elems?: Map<ast.Expr, number>;
  /**
   * Reads of a `count()` or `sum()` map's value under a cast (0.26's
   * `(bool)@c`): summed over the CPUs in the program.
   */
  aggReads?: Set<ast.MapExpr>;
  /**
   * `$s[$i]` on a string or integer array with a run-time index: checked
   * against the size when it runs (0 when out of bounds).
   */
  varIndex?: Set<ast.IndexExpr>;
  /**
   * For a uprobe whose body calls `uaddr()`: its binary's ELF headers and
   * symbols with the probed address, or why they could not be read (read
   * here, so that type checking does no file I/O).
   */
  binary?: UprobeBinary;
  /** Struct and union members read by `->` and `.` (kernel types). */
  members?: Map<ast.Expr, MemberAccess>;
  /**
   * A tracepoint's `args` used whole (`print(args)`): per `args` node, the
   * field reads that fill its record (see `sema_args.ts`).
   */
  argsReads?: Map<ast.Expr, ast.FieldExpr[]>;
}

/** The probe kind of a provider, if supported. */
function kindOf(p: ast.ProviderName): ProbeKind | undefined {
  switch (p) {
    case "BEGIN":
    case "END":
    case "test":
    case "bench":
    case "tracepoint":
    case "rawtracepoint":
    case "kprobe":
    case "kretprobe":
    case "uprobe":
    case "uretprobe":
    case "usdt":
    case "profile":
    case "interval":
    case "software":
    case "hardware":
      return p;
    case "kfunc":
      return "fentry";
    case "kretfunc":
      return "fexit";
    default:
      return undefined;
  }
}

/** The kernel program type a probe kind compiles to. */
function progTypeOf(k: ProbeKind): number {
  switch (k) {
    case "tracepoint":
      return ProgType.TRACEPOINT;
    case "BEGIN":
    case "END":
    case "test":
    case "bench":
    case "rawtracepoint":
      return ProgType.RAW_TRACEPOINT;
    case "fentry":
    case "fexit":
      return ProgType.TRACING;
    case "profile":
    case "interval":
    case "software":
    case "hardware":
      return ProgType.PERF_EVENT;
    default:
      return ProgType.KPROBE;
  }
}

/** What r1 points at in a probe of kind `k` (tracepoints: set later). */
function ctxOf(k: ProbeKind): ContextLayout {
  switch (k) {
    case "BEGIN":
    case "END":
    case "test":
    case "bench":
      return { kind: "none", size: 0 };
    case "rawtracepoint":
    case "fentry":
    case "fexit":
      return { kind: "raw_tp", size: 0 };
    case "profile":
    case "interval":
    case "software":
    case "hardware":
      return { kind: "perf_event", size: PT_REGS_SIZE + 16 };
    default:
      return { kind: "pt_regs", size: PT_REGS_SIZE };
  }
}

/** Whether `probe`'s predicate or body reads one of the builtins `names`. */
function usesBuiltin(probe: ast.Probe, names: string[]): boolean {
  let found = false;
  for (const root of [probe.predicate, probe.body]) {
    if (root === undefined) continue;
    walk(root, (n) => {
      if (n.kind === "builtin" && names.includes(n.name)) found = true;
      return !found;
    });
  }
  return found;
}

/** The kernel program name of a unit (at most 15 characters). */
function progName(kind: ProbeKind, ap: AttachPoint): string {
  if (kind === "BEGIN" || kind === "END") return kind;
  if (kind === "test" || kind === "bench") {
    return `${kind}_${ap.target}`.slice(0, 15);
  }
  if (kind === "profile" || kind === "interval") {
    return `${kind}_${ap.unit}_${ap.period}`.slice(0, 15);
  }
  const base = kind === "tracepoint"
    ? ap.target.slice(ap.target.indexOf(":") + 1)
    : kind === "uprobe" || kind === "uretprobe"
    ? (ap.symbol ?? "uprobe")
    : kind === "usdt"
    ? (ap.usdt?.name ?? "usdt")
    : ap.target || kind;
  return base.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 15) || kind;
}

/**
 * Builds compile units from the probes: checks each probe's attach points
 * have one supported type, expands tracepoint wildcards and USDT probes,
 * reads tracepoint formats (tracefs, else the bundled capture) and splits
 * attach points that need programs of their own. Reports into `diag`.
 *
 * @example Usage
 * ```ts
 * import { parse } from "../lang/parser.ts";
 * import { Diagnostics } from "../lang/diagnostics.ts";
 * import { buildUnits } from "./units.ts";
 * const src = "BEGIN { exit(); } interval:s:1 { exit(); }";
 * const units = buildUnits(parse(src).ast, new Diagnostics("stdin", src), false);
 * console.assert(units.map((u) => u.name).join() === "BEGIN,interval_s_1");
 * ```
 *
 * @param prog The parsed program.
 * @param diag Where errors go.
 * @param tracefs Whether to read tracepoint formats from tracefs.
 * @param pid The `pid` option (USDT probes of one process).
 * @returns One unit per program to compile.
 */
export function buildUnits(
  prog: ast.Program,
  diag: Diagnostics,
  tracefs: boolean,
  pid?: number,
): Unit[] {
  const readFormat = tracefs
    ? readTracepointFormat
    : readBundledTracepointFormat;
  const expand = (p: string) =>
    tracefs
      ? expandTracepoints(p)
      : expandTracepoints(p, Object.keys(bundledFormats().events));
  const units: Unit[] = [];
  for (const probe of prog.probes) {
    const points: AttachPoint[] = [];
    let kind: ProbeKind | undefined;
    // A wildcard that matches nothing is left out, as bpftrace leaves it
    // out (dcsnoop's `lookup_fast.constprop.*`), unless the probe is left
    // with no attach point at all.
    let unmatched = false;
    let unmatchedKprobe: ast.AttachPointNode | undefined;
    for (const ap of probe.attachPoints) {
      const k = kindOf(ap.provider);
      if (k === undefined) {
        diag.error(
          ap.span,
          `Probe type "${ap.provider}" is not supported`,
        );
        continue;
      }
      if (kind !== undefined && kind !== k) {
        diag.error(
          ap.span,
          `Attach points of one probe must have one type: "${kind}" and "${k}"`,
        );
        continue;
      }
      kind = k;
      if (k === "tracepoint") {
        const names = hasWildcard(ap.target) ? expand(ap.target) : [ap.target];
        // As bpftrace 0.26 (src/ast/passes/ap_probe_expansion.cpp,
        // probe_prune.cpp): a wildcard matching nothing is dropped; a
        // probe left without attach points is the error.
        if (names.length === 0) unmatched = true;
        for (const n of names) {
          points.push({ kind: k, target: n, text: `tracepoint:${n}` });
        }
        continue;
      }
      if (k === "usdt") {
        points.push(...onDemand("usdt").usdtAttachPoints(ap, diag, pid));
        continue;
      }
      if (
        k === "fentry" || k === "fexit" ||
        (k === "rawtracepoint" && btfRawTracepoint(ap))
      ) {
        const found = onDemand("btf").btfAttachPoints(k, ap, diag);
        if (found !== undefined) points.push(...found);
        continue;
      }
      if ((k === "kprobe" || k === "kretprobe") && hasWildcard(ap.target)) {
        const found = kprobeAttachPoints(k, ap, diag);
        if (found === undefined) continue;
        if (found.length === 0) unmatchedKprobe ??= ap;
        points.push(...found);
        continue;
      }
      const pt: AttachPoint = { kind: k, target: ap.target, text: ap.raw };
      if (ap.symbol !== undefined) pt.symbol = ap.symbol;
      if (ap.offset !== undefined) pt.offset = ap.offset;
      if (ap.unit !== undefined) pt.unit = ap.unit;
      if (ap.period !== undefined) pt.period = ap.period;
      if (k === "BEGIN" || k === "END") pt.text = k;
      else if (k === "test" || k === "bench") pt.text = `${k}:${ap.target}`;
      else if (k === "profile" || k === "interval") {
        pt.text = `${k}:${ap.unit}:${ap.period}`;
      } else if (k === "uprobe" || k === "uretprobe") {
        pt.text = `${k}:${ap.target}:${ap.symbol ?? ap.address ?? ""}${
          ap.offset ? `+${ap.offset}` : ""
        }`;
        // As bpftrace 0.26 (ap_probe_expansion.cpp), before loading
        // anything; missing_probes = warn or ignore dropped it already
        // (missing_probes.ts).
        const missing = ap.symbol === undefined
          ? undefined
          : onDemand("uprobes").missingUprobeFunction(
            k,
            ap.target,
            ap.symbol,
            ap.offset ?? 0,
          );
        if (missing !== undefined) {
          diag.error(ap.span, `${missing}.`);
          continue;
        }
      } else pt.text = `${k}:${ap.target}${ap.offset ? `+${ap.offset}` : ""}`;
      points.push(pt);
    }
    if (unmatchedKprobe !== undefined && points.length === 0) {
      diag.error(
        unmatchedKprobe.span,
        `No kernel functions match "${unmatchedKprobe.provider}:${unmatchedKprobe.target}"`,
      );
    } else if (unmatched && points.length === 0) {
      diag.error(
        probe.span,
        "Probe has no valid attach points. If this is expected, set the 'missing_probes' config variable to 'warn'.",
      );
    }
    if (kind === undefined || points.length === 0) continue;
    // USDT locations differ in where their arguments are: one program
    // each, as bpftrace compiles them.
    // fentry/fexit: one program per function (its BTF id).
    const split = points.length > 1 &&
      (kind === "usdt" || kind === "fentry" || kind === "fexit" ||
        usesBuiltin(probe, ["args", "probe"]) ||
        (kind === "tracepoint" && usesBuiltin(probe, ["args"])));
    const groups = split ? points.map((p) => [p]) : [points];
    for (const group of groups) {
      const unit: Unit = {
        probe,
        kind,
        attach: group,
        progType: progTypeOf(kind),
        ctx: ctxOf(kind),
        userPtrs: false,
        probeText: group.length === 1
          ? group[0].text
          : probe.attachPoints[0].raw,
        name: progName(kind, group[0]),
        types: new Map(),
        vars: new Map(),
        maxArg: -1,
      };
      if (kind === "tracepoint") {
        const [cat, name] = group[0].target.split(":");
        try {
          const fmt = readFormat(cat, name ?? "");
          const fields = fmt.fields.map((f) => {
            const { common: _c, decl: _d, relLoc: _r, ...rest } = f;
            return rest as FieldLayout;
          });
          const size = fields.reduce(
            (m, f) => Math.max(m, f.offset + f.size),
            0,
          );
          unit.ctx = {
            kind: "tracepoint",
            size: Math.ceil(size / 8) * 8,
            fields,
          };
          unit.fields = new Map(fields.map((f) => [f.name, f]));
          unit.userPtrs = cat === "syscalls";
        } catch (e) {
          if (e instanceof TypeError) {
            // bpftrace 0.26's wording (0.17: "tracepoint not found: X").
            const hint = didYouMean(
              group[0].target,
              tracefs
                ? listTracepoints()
                : Object.keys(bundledFormats().events),
            );
            diag.error(
              probe.attachPoints[0].span,
              `No matches for tracepoint ${group[0].target}${hint || "."}`,
            );
            continue;
          }
          throw e;
        }
      }
      if (group[0].btf !== undefined) {
        onDemand("btf").typeUnit(unit);
      }
      if (
        (kind === "uprobe" || kind === "uretprobe") &&
        new Set(group.map((a) => a.target)).size === 1 &&
        usesCall(probe, "uaddr")
      ) unit.binary = uprobeBinary(group[0]);
      units.push(unit);
    }
  }
  return units;
}

/**
 * The attach points of a kprobe or kretprobe whose target has wildcards:
 * one per kernel function it matches (kernel_functions.ts, loaded on
 * demand), possibly none; undefined after an error naming the wildcard
 * (no list of the kernel's functions is readable).
 */
function kprobeAttachPoints(
  kind: "kprobe" | "kretprobe",
  ap: ast.AttachPointNode,
  diag: Diagnostics,
): AttachPoint[] | undefined {
  let names: string[];
  try {
    names = onDemand("kfuncs").expandKernelFunctions(ap.target);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    diag.error(ap.span, `Cannot expand "${kind}:${ap.target}": ${why}`);
    return undefined;
  }
  const off = ap.offset ? `+${ap.offset}` : "";
  return names.map((n) => {
    const pt: AttachPoint = { kind, target: n, text: `${kind}:${n}${off}` };
    if (ap.offset !== undefined) pt.offset = ap.offset;
    return pt;
  });
}

/** Whether a rawtracepoint is typed by BTF (plain names: when it is read). */
function btfRawTracepoint(ap: ast.AttachPointNode): boolean {
  return ap.target.includes(":") || hasWildcard(ap.target) ||
    onDemand("btf").liveBtf();
}

/** Whether `probe`'s predicate or body calls function `name`. */
function usesCall(probe: ast.Probe, name: string): boolean {
  let found = false;
  for (const root of [probe.predicate, probe.body]) {
    if (root === undefined) continue;
    walk(root, (n) => {
      if (n.kind === "call" && n.name === name) found = true;
      return !found;
    });
  }
  return found;
}

/** Reads the binary of uprobe attach point `ap` for `uaddr()`. */
function uprobeBinary(ap: AttachPoint): UprobeBinary {
  const { readElf } = onDemand("elf");
  const { resolveUprobe } = onDemand("uprobes");
  try {
    const t = resolveUprobe(ap.target, ap.symbol ?? "0", ap.offset ?? 0);
    return { info: readElf(t.path), probeAddr: t.address };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}
