/**
 * Kernel limits a compiled program can be checked against before loading,
 * so that `--dry-run` refuses what the kernel would refuse, with the
 * script location:
 *
 * - a program uses at most 64 maps (`MAX_USED_MAPS`: the verifier says
 *   "The total number of maps per program has reached the limit of 64");
 * - a tracepoint runs at most 64 programs (`BPF_TRACE_MAX_PROGS`: the
 *   attach fails with E2BIG). Other tools' programs on the same tracepoint
 *   count too; only the kernel knows those, so the attach error explains
 *   itself as well (`ffi/attach.ts`);
 * - with `maxSampleRate` (the host's `kernel.perf_event_max_sample_rate`,
 *   which the caller reads: compiling stays pure), a `profile:hz:N` or
 *   `interval:hz:N` above it (perf_event_open fails with EINVAL).
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import type { Diagnostics } from "../lang/diagnostics.ts";
import { LD_IMM64 } from "../bpf/insn.ts";
import { PseudoSrc } from "../bpf/opcodes.ts";
import type { MapSpec, ProbeProgram } from "../program.ts";
import type { Unit } from "./units.ts";

/** Maps one program may use (the kernel's `MAX_USED_MAPS`). */
export const MAX_MAPS_PER_PROGRAM = 64;
/** Programs one tracepoint may run (the kernel's `BPF_TRACE_MAX_PROGS`). */
export const MAX_PROGRAMS_PER_TRACEPOINT = 64;

/**
 * Reports every probe that uses more maps than the kernel allows one
 * program, at the first reference to the map over the limit, and every
 * tracepoint more probes attach to than the kernel allows. `units[i]` is
 * the unit `probes[i]` was compiled from.
 *
 * @example A program within the limits reports nothing
 * ```ts
 * import { checkKernelLimits } from "./kernel_limits.ts";
 * import { Diagnostics } from "../lang/diagnostics.ts";
 * const diag = new Diagnostics();
 * checkKernelLimits([], [], [], diag);
 * console.assert(!diag.hasErrors);
 * ```
 */
export function checkKernelLimits(
  units: readonly Unit[],
  probes: readonly ProbeProgram[],
  maps: readonly MapSpec[],
  diag: Diagnostics,
  maxSampleRate?: number,
): void {
  probes.forEach((p, i) => checkMaps(units[i], p, maps, diag));
  checkTracepoints(units, diag);
  if (maxSampleRate !== undefined) checkRates(units, maxSampleRate, diag);
}

function checkRates(
  units: readonly Unit[],
  max: number,
  diag: Diagnostics,
): void {
  for (const u of units) {
    for (const a of u.attach) {
      if (a.kind !== "profile" && a.kind !== "interval") continue;
      if ((a.unit ?? "hz") !== "hz" || (a.period ?? 0) <= max) continue;
      const node = u.probe.attachPoints.find((x) =>
        x.provider === a.kind && (x.unit ?? "hz") === "hz" &&
        x.period === a.period
      );
      diag.error(
        node?.span ?? u.probe.span,
        `${a.period} Hz is above this kernel's limit of ${max} samples per second (sysctl kernel.perf_event_max_sample_rate)`,
      );
    }
  }
}

/**
 * The maps a program uses (indices into `Program.maps`), in order of first
 * reference; `firstUse` gets each one's first instruction slot.
 *
 * @example No instructions, no maps
 * ```ts
 * import { mapsUsed } from "./kernel_limits.ts";
 * console.assert(mapsUsed({ insns: [] }).length === 0);
 * ```
 */
export function mapsUsed(
  p: Pick<ProbeProgram, "insns">,
  firstUse?: number[],
): number[] {
  const used: number[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < p.insns.length; i++) {
    const insn = p.insns[i];
    if (insn.code !== LD_IMM64) continue;
    const map = insn.src === PseudoSrc.MAP_FD ||
      insn.src === PseudoSrc.MAP_VALUE;
    if (map && !seen.has(insn.imm)) {
      seen.add(insn.imm);
      used.push(insn.imm);
      firstUse?.push(i);
    }
    i++; // the second slot of ld_imm64
  }
  return used;
}

/**
 * Whether a program is over the maps limit only because of the internal
 * counter of updates full maps refuse (`.full`).
 *
 * @example No maps
 * ```ts
 * import { onlyCounterOverLimit } from "./kernel_limits.ts";
 * console.assert(!onlyCounterOverLimit({ insns: [] }, []));
 * ```
 */
export function onlyCounterOverLimit(
  p: Pick<ProbeProgram, "insns">,
  maps: readonly MapSpec[],
): boolean {
  const used = mapsUsed(p);
  return used.length === MAX_MAPS_PER_PROGRAM + 1 &&
    used.some((m) => maps[m]?.name === ".full" && maps[m].internal);
}

function checkMaps(
  unit: Unit,
  p: ProbeProgram,
  maps: readonly MapSpec[],
  diag: Diagnostics,
): void {
  const firstUse: number[] = [];
  const used = mapsUsed(p, firstUse);
  if (used.length <= MAX_MAPS_PER_PROGRAM) return;
  // Name the first user map over the limit (internal maps come last).
  let k = used.findIndex((m, j) =>
    j >= MAX_MAPS_PER_PROGRAM && maps[m] !== undefined && !maps[m].internal
  );
  if (k < 0) k = MAX_MAPS_PER_PROGRAM;
  const internal = used.filter((m) => maps[m]?.internal).length;
  diag.error(
    spanOf(p.locs?.[firstUse[k]]) ?? unit.probe.span,
    `This probe uses ${used.length} maps${
      internal > 0 ? ` (${internal} of them internal)` : ""
    }, over the kernel's limit of ${MAX_MAPS_PER_PROGRAM} per program: ${
      maps[used[k]]?.internal ? "the internal map " : ""
    }${maps[used[k]]?.name ?? "this map"} is one too many`,
  );
}

function spanOf(loc: unknown): ast.Span | undefined {
  if (loc === null || typeof loc !== "object") return undefined;
  const s = loc as Partial<ast.Span>;
  return typeof s.start === "number" && typeof s.end === "number"
    ? s as ast.Span
    : undefined;
}

function checkTracepoints(units: readonly Unit[], diag: Diagnostics): void {
  const count = new Map<string, number>();
  for (const u of units) {
    for (const a of u.attach) {
      if (a.kind !== "tracepoint") continue;
      const n = (count.get(a.target) ?? 0) + 1;
      count.set(a.target, n);
      if (n !== MAX_PROGRAMS_PER_TRACEPOINT + 1) continue;
      const nodes = u.probe.attachPoints.filter((x) =>
        x.provider === "tracepoint"
      );
      const node = nodes.find((x) => !x.wildcard && x.target === a.target) ??
        nodes.find((x) => x.wildcard);
      diag.error(
        node?.span ?? u.probe.span,
        `More than ${MAX_PROGRAMS_PER_TRACEPOINT} probes attach to "${a.text}"; the kernel runs at most ${MAX_PROGRAMS_PER_TRACEPOINT} BPF programs on one tracepoint`,
      );
    }
  }
}
