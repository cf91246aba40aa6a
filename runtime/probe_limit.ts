/**
 * The limit on attach points per session. Attaching is fast, but the
 * kernel releases each tracepoint's perf event in turn, waiting for an RCU
 * grace period each time: 720 syscall tracepoints took 53 s to detach on
 * this project's test machine. As in bpftrace, a program above the limit
 * is refused before anything is loaded, unless the limit is raised.
 *
 * @module
 */

import type { Program } from "./program.ts";
import { envVar } from "./probes/env.ts";

/** The default limit, bpftrace's. */
export const DEFAULT_MAX_PROBES = 512;

/** Environment variables that raise the limit, ours first. */
export const MAX_PROBES_VARS = ["TSBPF_MAX_PROBES", "BPFTRACE_MAX_PROBES"];

/**
 * A program with more attach points than the limit allows.
 *
 * @example Catch the refusal
 * ```ts
 * import { TooManyProbesError } from "./probe_limit.ts";
 * const e = new TooManyProbesError(600, 512, []);
 * console.assert(e.count === 600 && e.limit === 512);
 * ```
 */
export class TooManyProbesError extends RangeError {
  /** Attach points of the program. */
  readonly count: number;
  /** The limit in force. */
  readonly limit: number;

  /** Creates the error; `hints` are extra sentences. */
  constructor(count: number, limit: number, hints: string[]) {
    super(
      [
        `Cannot attach ${count} probes: the limit is ${limit}, since the kernel takes tens of milliseconds to detach each tracepoint (720 took about a minute)`,
        ...hints,
        `To attach them anyway, raise the limit with ${
          MAX_PROBES_VARS.join(" or ")
        }=${count}`,
      ].join(".\n") + ".",
    );
    this.name = "TooManyProbesError";
    this.count = count;
    this.limit = limit;
  }
}

/**
 * The limit in force: `TSBPF_MAX_PROBES`, else `BPFTRACE_MAX_PROBES`, else
 * {@linkcode DEFAULT_MAX_PROBES}.
 *
 * @throws {RangeError} when the variable is not a positive integer.
 * @example Read the limit
 * ```ts
 * import { maxProbes } from "./probe_limit.ts";
 * console.assert(maxProbes(() => "1000") === 1000);
 * console.assert(maxProbes(() => undefined) === 512);
 * ```
 */
export function maxProbes(
  getEnv: (name: string) => string | undefined = envVar,
): number {
  for (const name of MAX_PROBES_VARS) {
    const text = getEnv(name);
    if (text === undefined || text === "") continue;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new RangeError(
        `Invalid ${name} "${text}": it must be a positive integer`,
      );
    }
    return n;
  }
  return DEFAULT_MAX_PROBES;
}

/**
 * Attach points of a program, BEGIN and END excepted.
 *
 * @example Count attach points
 * ```ts
 * import { attachCount } from "./probe_limit.ts";
 * import { compile } from "./compiler/compile.ts";
 * const p = compile("BEGIN { } tracepoint:syscalls:sys_enter_read { }");
 * console.assert(attachCount(p) === 1);
 * ```
 */
export function attachCount(program: Program): number {
  let n = 0;
  for (const p of program.probes) {
    for (const a of p.attach) if (a.kind !== "BEGIN" && a.kind !== "END") n++;
  }
  return n;
}

/**
 * Refuses a program with more attach points than the limit, suggesting
 * `raw_syscalls` when every point is a syscall tracepoint.
 *
 * @throws {TooManyProbesError} above the limit.
 * @example A small program passes
 * ```ts
 * import { checkProbeLimit } from "./probe_limit.ts";
 * import { compile } from "./compiler/compile.ts";
 * checkProbeLimit(compile("tracepoint:syscalls:sys_enter_read { }"));
 * ```
 */
export function checkProbeLimit(
  program: Program,
  limit: number = maxProbes(),
): void {
  const count = attachCount(program);
  if (count <= limit) return;
  const texts = program.probes.flatMap((p) => p.attach)
    .filter((a) => a.kind !== "BEGIN" && a.kind !== "END")
    .map((a) => a.text);
  const hints: string[] = [];
  const syscall = /^tracepoint:syscalls:sys_(enter|exit)_/;
  if (texts.every((t) => syscall.test(t))) {
    const kinds = new Set(texts.map((t) => syscall.exec(t)![1]));
    const raw = [...kinds].map((k) => `tracepoint:raw_syscalls:sys_${k}`)
      .join(" and ");
    hints.push(
      `${raw} answers the same question for every syscall with one probe each (args->id is the syscall number), e.g. tracepoint:raw_syscalls:sys_enter { @[args->id] = count(); }`,
    );
  }
  throw new TooManyProbesError(count, limit, hints);
}
