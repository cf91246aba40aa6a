/**
 * USDT attach points for the compiler: a `usdt:BIN:[PROVIDER:]NAME`
 * attach point (wildcards allowed in provider and name) expanded to one
 * concrete attach point per probe location of the binary's notes (the
 * type of `argN` at a location is `usdt_args.ts`). Errors are worded as
 * bpftrace words them where it has an equivalent. Loaded on demand
 * (`on_demand.ts`): it brings the ELF and USDT readers.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import type { Diagnostics } from "../lang/diagnostics.ts";
import { didYouMean } from "../lang/suggest.ts";
import type { AttachPoint } from "../program.ts";
import { ElfError } from "../probes/elf.ts";
import { hasWildcard } from "../probes/glob.ts";
import {
  matchUsdtProbes,
  readUsdtProbesOf,
  usdtBinaries,
  type UsdtProbe,
} from "../probes/usdt.ts";

/**
 * The attach points of one `usdt:` attach point: one per matching probe
 * location, with its `usdt` site. Reports an error (and returns none)
 * when the binary is missing, has no notes, or nothing matches.
 *
 * @example An unknown binary
 * ```ts
 * import assert from "node:assert/strict";
 * import { parse } from "../lang/parser.ts";
 * import { Diagnostics } from "../lang/diagnostics.ts";
 * import { usdtAttachPoints } from "./usdt_units.ts";
 *
 * const src = "usdt:/nonexistent:p:n { }";
 * const { ast } = parse(src);
 * const diag = new Diagnostics("stdin", src);
 * assert.deepEqual(usdtAttachPoints(ast.probes[0].attachPoints[0], diag), []);
 * assert.equal(diag.errors.length, 1);
 * ```
 */
export function usdtAttachPoints(
  ap: ast.AttachPointNode,
  diag: Diagnostics,
  pid?: number,
): AttachPoint[] {
  const spec = ap.symbol ?? "*";
  let probes: UsdtProbe[];
  let path: string;
  try {
    const paths = usdtBinaries(ap.target, pid);
    path = paths.length === 1
      ? paths[0]
      : `the files of process ${pid} (${ap.target || "*"})`;
    probes = readUsdtProbesOf(paths);
  } catch (e) {
    if (e instanceof ElfError && /^Cannot find|no such file/.test(e.message)) {
      diag.error(
        ap.span,
        `usdt target file '${ap.target}' does not exist or is not executable`,
      );
    } else if (e instanceof Error) {
      diag.error(ap.span, e.message);
    } else throw e;
    return [];
  }
  if (probes.length === 0) {
    diag.error(
      ap.span,
      `No USDT probes in '${path}': it has no .note.stapsdt section`,
    );
    return [];
  }
  const found = matchUsdtProbes(probes, spec);
  if (found.length === 0) {
    if (hasWildcard(spec)) {
      diag.error(ap.span, `No USDT probes in '${path}' match "${spec}"`);
    } else {
      const names = spec.includes(":")
        ? probes.map((p) => `${p.provider}:${p.name}`)
        : probes.map((p) => p.name);
      diag.error(
        ap.span,
        `USDT probe "${spec}" not found in '${path}'${didYouMean(spec, names)}`,
      );
    }
    return [];
  }
  return found.map((p) => ({
    kind: "usdt",
    target: p.path,
    symbol: `${p.provider}:${p.name}`,
    text: `usdt:${p.path}:${p.provider}:${p.name}`,
    usdt: p,
  }));
}
