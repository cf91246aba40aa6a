/**
 * Checking `-p PID` and `-c CMD` before anything is compiled: as in
 * bpftrace, a pid that names no process and a command that cannot run
 * are errors.
 *
 * @module
 */

import { envVar } from "./probes/env.ts";
import { pidProblem } from "./api/trace_pid.ts";

function isExecutableFile(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && (st.mode === null || (st.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

/**
 * The path `program` runs as: itself when it holds a slash, else the
 * first executable file of that name in `PATH`; undefined when none.
 *
 * @example Find sh
 * ```ts
 * import assert from "node:assert/strict";
 * import { findExecutable } from "./cli_targets.ts";
 *
 * if (Deno.build.os === "linux") assert.ok(findExecutable("sh")?.endsWith("/sh"));
 * assert.equal(findExecutable("/nonexistent/tsbpf-cmd"), undefined);
 * ```
 */
export function findExecutable(program: string): string | undefined {
  if (program.includes("/")) {
    return isExecutableFile(program) ? program : undefined;
  }
  const path = envVar("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
  for (const dir of path.split(":")) {
    const candidate = `${dir === "" ? "." : dir}/${program}`;
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** What {@linkcode checkTargets} looks at. */
export interface Targets {
  /** `-p PID`. */
  pid?: number;
  /** `-c CMD`. */
  command?: string;
  /** The engine asked for: the interpreter's processes are synthetic. */
  backend: "auto" | "kernel" | "interp";
  /** `--replay FILE`: the processes are the recording's, not this machine's. */
  replay?: string;
}

/**
 * Why `-p PID` or `-c CMD` cannot be traced, or undefined. A pid must
 * name a live process (on Linux, where /proc tells; not checked for the
 * interpreter, whose processes are synthetic, nor for a replay, whose
 * processes are the recording's). A simple command's program
 * must be an executable file, as a path or in PATH; shell lines (`a; b`,
 * pipes, redirections) and quoted words are left to the shell.
 *
 * @example A command that cannot run
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkTargets } from "./cli_targets.ts";
 *
 * assert.equal(
 *   checkTargets({ command: "/nonexistent/cmd -x", backend: "auto" }),
 *   'Cannot run "/nonexistent/cmd" (-c): no such executable file',
 * );
 * assert.equal(checkTargets({ command: "a | b", backend: "auto" }), undefined);
 * ```
 */
export function checkTargets(t: Targets): string | undefined {
  if (t.pid !== undefined && t.replay === undefined) {
    const problem = pidProblem(t.pid, t.backend);
    if (problem !== undefined) return problem;
  }
  if (t.command === undefined || /[;&|<>()`\n]/.test(t.command)) {
    return undefined;
  }
  const words = t.command.trim().split(/\s+/);
  const program = words.find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
  if (program === undefined || /["'$\\]/.test(program)) return undefined;
  if (findExecutable(program) !== undefined) return undefined;
  return `Cannot run "${program}" (-c): no such executable file${
    program.includes("/") ? "" : " in PATH"
  }`;
}
