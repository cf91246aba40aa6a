/**
 * The one reader of environment variables: a variable a process may not
 * read (run without `--allow-env`) counts as unset, so that every setting
 * falls back to its default and a run allowed to read only its input
 * still runs.
 *
 * @module
 */

/**
 * The value of environment variable `name`, or undefined when it is unset
 * or the environment may not be read.
 *
 * @example A variable that is not set
 * ```ts
 * import { envVar } from "./env.ts";
 * console.assert(envVar("TSBPF_SURELY_UNSET_VARIABLE") === undefined);
 * ```
 *
 * @param name The variable.
 * @returns Its value, or undefined.
 */
export function envVar(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: unset
  }
}
