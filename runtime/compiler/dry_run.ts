/**
 * The `--dry-run -d` listing: per probe, its attach points and its
 * disassembly.
 *
 * @module
 */

import { disassemble } from "../bpf/disasm.ts";
import type { Program } from "../program.ts";

const PROG_TYPES: Readonly<Record<number, string>> = {
  1: "socket_filter",
  2: "kprobe",
  5: "tracepoint",
  7: "perf_event",
  17: "raw_tracepoint",
};

/**
 * Renders every probe of a program: a header line with its name and type,
 * one `attach:` line per attach point, then `INDEX: text` lines.
 *
 * @example Listing a program
 * ```ts
 * import { compile } from "./compile.ts";
 * import { formatDryRun } from "./dry_run.ts";
 * const text = formatDryRun(compile("BEGIN { exit(); }"));
 * console.assert(text.startsWith("BEGIN (raw_tracepoint"));
 * ```
 */
export function formatDryRun(program: Program): string {
  const out: string[] = [];
  for (const p of program.probes) {
    const n = p.insns.length;
    out.push(
      `${p.name} (${PROG_TYPES[p.progType] ?? p.progType}, ${n} ${
        n === 1 ? "instruction" : "instructions"
      })`,
    );
    for (const a of p.attach) out.push(`  attach: ${a.text}`);
    out.push(...disassemble(p.insns));
    out.push("");
  }
  return out.join("\n");
}
