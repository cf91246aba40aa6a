/**
 * `-d STAGE`: bpftrace 0.26's debug stages, mapped to tsbpf's own
 * pipeline (no LLVM: the compiler emits eBPF directly).
 *
 * | stage                       | tsbpf prints                                      |
 * | --------------------------- | ------------------------------------------------- |
 * | `parse`                     | the program as parsed (imports merged)           |
 * | `ast`                       | the program after macro expansion and lowering   |
 * | `types`                     | every map's key and value types, every variable's |
 * | `codegen`, `codegen-opt`, `dis` | the eBPF bytecode of every probe (one listing) |
 * | `verifier`                  | the kernel verifier's log of every probe          |
 * | `libbpf`                    | nothing: tsbpf calls no libbpf function that logs |
 * | `all`                       | all of the above                                  |
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { printProgram } from "../staging/print.ts";
import type { Analysis } from "./sema.ts";
import { typeName } from "./types.ts";

/**
 * A program tree as bpftrace-language text, under a title line.
 *
 * @example Usage
 * ```ts
 * import { parse } from "../lang/parser.ts";
 * import { formatAstStage } from "./debug_stages.ts";
 * const text = formatAstStage("AST", parse("BEGIN { exit(); }").ast);
 * console.assert(text.startsWith("AST\n---\n"));
 * ```
 */
export function formatAstStage(title: string, tree: ast.Program): string {
  // The printer gives each node the span of its printed text: print a copy,
  // so later errors still point into the script.
  const text = printProgram(structuredClone(tree));
  return `${title}\n${"-".repeat(title.length)}\n${text}\n`;
}

/**
 * The `types` stage: each map's key and value types, then each probe's
 * variables.
 *
 * @example Usage
 * ```ts ignore
 * import { formatTypesStage } from "./debug_stages.ts";
 * console.log(formatTypesStage(analysis));
 * ```
 */
export function formatTypesStage(a: Analysis): string {
  const lines = ["Types", "-----"];
  for (const m of a.maps.values()) {
    const key = m.key === undefined ? "" : `[${typeName(m.key)}]`;
    const value = m.kind === "value" || m.kind === undefined
      ? (m.value === undefined ? "none" : typeName(m.value))
      : `${m.kind}()`;
    lines.push(`${m.name}${key}: ${value}`);
  }
  for (const u of a.units) {
    for (const [name, t] of u.vars) {
      lines.push(`${u.probeText}: $${name}: ${typeName(t)}`);
    }
  }
  return lines.join("\n") + "\n\n";
}
