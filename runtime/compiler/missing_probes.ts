/**
 * `missing_probes = warn` or `ignore`: attach points that do not exist
 * (a tracepoint this kernel does not have, a wildcard matching nothing,
 * a uprobe on a symbol its binary does not define, a binary that is not
 * there) are dropped before compiling, as bpftrace 0.26 does, instead of
 * failing the run. A probe left without attach points is dropped too.
 * With `error` (the default) this pass does not run: such attach points
 * are errors where they are found.
 *
 * Loaded on demand (a script that sets `missing_probes`, or
 * `BPFTRACE_MISSING_PROBES` in the environment).
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { CompileError, type Diagnostics } from "../lang/diagnostics.ts";
import { bundledFormats } from "../probes/bundled_formats.ts";
import { expandTracepoints } from "../probes/tracepoint_format.ts";
import { resolveUprobe } from "../probes/uprobe_target.ts";
import { UnknownSymbolError } from "../probes/elf.ts";
import { matchBtfProbes } from "../btf/btf_probes.ts";
import { liveBtf } from "./btf_units.ts";

/** Why attach point `ap` cannot be attached, or undefined when it can. */
function missing(
  ap: ast.AttachPointNode,
  tracefs: boolean,
): string | undefined {
  switch (ap.provider) {
    case "tracepoint": {
      const names = tracefs
        ? expandTracepoints(ap.target)
        : expandTracepoints(ap.target, Object.keys(bundledFormats().events));
      return names.length === 0 ? `tracepoint ${ap.target}` : undefined;
    }
    case "uprobe":
    case "uretprobe": {
      if (ap.symbol === undefined) return undefined;
      try {
        resolveUprobe(ap.target, ap.symbol, ap.offset ?? 0);
        return undefined;
      } catch (e) {
        // The binary as 0.26 names it: the path it was found at when
        // written without a `/` (uprobeProblem()).
        const shown =
          e instanceof UnknownSymbolError && !ap.target.includes("/")
            ? e.path
            : ap.target;
        return `${ap.provider} ${shown}:${ap.symbol}`;
      }
    }
    case "kfunc":
    case "kretfunc":
    case "rawtracepoint": {
      // Looked up in BTF as the compiler will (btf_units.ts); a plain
      // raw tracepoint without the kernel's BTF attaches by name.
      const kind = ap.provider === "kfunc"
        ? "fentry"
        : ap.provider === "kretfunc"
        ? "fexit"
        : "rawtracepoint";
      if (kind === "rawtracepoint" && !ap.target.includes(":") && !liveBtf()) {
        return undefined;
      }
      const colon = ap.target.indexOf(":");
      const module = colon < 0 ? "*" : ap.target.slice(0, colon);
      const name = colon < 0 ? ap.target : ap.target.slice(colon + 1);
      const found = matchBtfProbes(
        kind === "rawtracepoint" ? "rawtracepoint" : "function",
        module,
        name,
      );
      return found.length === 0 ? `${kind} ${ap.target}` : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Drops the attach points of `tree` that cannot be attached, and the
 * probes left without any: with `warn` one warning each, in bpftrace's
 * words (`No matches for tracepoint syscalls:nonsense. Skipping.`); with
 * `ignore` silently. A program left without probes is an error (`No
 * probes to attach`).
 *
 * @example A tracepoint this kernel does not have
 * ```ts
 * import { dropMissingProbes } from "./missing_probes.ts";
 * import { Diagnostics } from "../lang/diagnostics.ts";
 * import { parse } from "../lang/parser.ts";
 * import assert from "node:assert/strict";
 * const src = "tracepoint:syscalls:sys_enter_getppid,tracepoint:syscalls:nonsense { }";
 * const diag = new Diagnostics("stdin", src);
 * const warnings: unknown[] = [];
 * const tree = dropMissingProbes(parse(src).ast, diag, "warn", false, warnings as never);
 * assert.equal(tree.probes[0].attachPoints.length, 1);
 * assert.equal(warnings.length, 1);
 * ```
 *
 * @param tree The program.
 * @param diag Where the error goes (its file names the warnings).
 * @param mode `warn` or `ignore`.
 * @param tracefs Whether tracepoints are looked up in tracefs (else in
 * the bundled formats).
 * @param warnings Where the warnings go.
 * @returns The program without them.
 */
export function dropMissingProbes(
  tree: ast.Program,
  diag: Diagnostics,
  mode: "warn" | "ignore",
  tracefs: boolean,
  warnings: CompileError[],
): ast.Program {
  const warn = (span: ast.Span, message: string) => {
    if (mode === "warn") {
      warnings.push(new CompileError(message, span, diag.file, "warning"));
    }
  };
  const probes: ast.Probe[] = [];
  let changed = false;
  for (const probe of tree.probes) {
    const kept = probe.attachPoints.filter((ap) => {
      const what = missing(ap, tracefs);
      if (what === undefined) return true;
      warn(ap.span, `No matches for ${what}. Skipping.`);
      return false;
    });
    if (kept.length === probe.attachPoints.length) {
      probes.push(probe);
      continue;
    }
    changed = true;
    if (kept.length === 0) {
      warn(
        probe.span,
        "Probe has no valid attach points. It is being removed which may cause issues with program behavior.",
      );
      continue;
    }
    probes.push({ ...probe, attachPoints: kept });
  }
  if (!changed) return tree;
  if (probes.length === 0) diag.fail(tree.span, "No probes to attach");
  return { ...tree, probes };
}
