/**
 * `--probe-filter REGEX`, as bpftrace 0.26: only the attach points whose
 * name (`interval:ms:200`, `tracepoint:syscalls:sys_enter_openat`,
 * `test:NAME`) the regular expression finds a match in are loaded and
 * attached; `begin` and `end` always are.
 *
 * @module
 */

import type { Program } from "./program.ts";

/** `--probe-filter` left nothing to attach. */
export class NoProbesError extends Error {
  /** Creates the error (bpftrace's words). */
  constructor() {
    super("No probes to attach");
    this.name = "NoProbesError";
  }
}

/**
 * The program with only the attach points `filter` matches (and every
 * `begin`/`end`); probes left without attach points are dropped.
 *
 * @throws {SyntaxError} for an invalid regular expression.
 * @throws {NoProbesError} when no attach point but `begin`/`end` is left.
 * @example Keep one interval
 * ```ts
 * import assert from "node:assert/strict";
 * import { compile } from "./compiler/compile.ts";
 * import { filterProbes } from "./probe_filter.ts";
 *
 * const p = compile("begin { } interval:ms:100 { } interval:ms:200 { }");
 * const kept = filterProbes(p, ":200");
 * assert.deepEqual(kept.probes.map((x) => x.attach[0].text), ["BEGIN", "interval:ms:200"]);
 * ```
 */
export function filterProbes(program: Program, filter: string): Program {
  let re: RegExp;
  try {
    re = new RegExp(filter);
  } catch (e) {
    throw new SyntaxError(
      `Invalid --probe-filter regex '${filter}': ${(e as Error).message}`,
    );
  }
  const special = (k: string) => k === "BEGIN" || k === "END";
  let left = 0;
  const probes = program.probes.flatMap((p) => {
    const attach = p.attach.filter((a) => special(a.kind) || re.test(a.text));
    left += attach.filter((a) => !special(a.kind)).length;
    if (attach.length === 0) return [];
    return [attach.length === p.attach.length ? p : { ...p, attach }];
  });
  if (left === 0) throw new NoProbesError();
  return { ...program, probes };
}
