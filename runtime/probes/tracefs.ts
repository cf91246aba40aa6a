/**
 * Where tracefs is: the one locator for the tracepoint formats
 * (`tracepoint_format.ts`) and for tracepoint ids when attaching
 * (`ffi/tracefs.ts`, which also mounts tracefs when it is missing).
 *
 * @module
 */

import { envVar } from "./env.ts";

/** The usual tracefs mount points, in the order they are tried. */
export const TRACEFS_DIRS: readonly string[] = [
  "/sys/kernel/tracing",
  "/sys/kernel/debug/tracing",
];

/**
 * The directories to look for tracefs in: only `$TSBPF_TRACEFS` when that
 * is set (tracefs mounted elsewhere; a nonexistent path means "no
 * tracefs"), else {@linkcode TRACEFS_DIRS}.
 *
 * @example The places tsbpf looks in
 * ```ts
 * import { tracefsCandidates } from "./tracefs.ts";
 *
 * console.log(tracefsCandidates().join(" or "));
 * ```
 */
export function tracefsCandidates(): readonly string[] {
  const only = envVar("TSBPF_TRACEFS");
  return only !== undefined ? [only] : TRACEFS_DIRS;
}

/**
 * The first of `dirs` that is a readable tracefs (an `events` directory
 * and a readable `events/header_page`), or undefined. Not cached: callers
 * keep what they found.
 *
 * @example Find tracefs, or learn there is none
 * ```ts
 * import { findTracefs } from "./tracefs.ts";
 *
 * console.log(findTracefs() ?? "no readable tracefs");
 * console.log(findTracefs(["/nonexistent"])); // undefined
 * ```
 */
export function findTracefs(
  dirs: readonly string[] = tracefsCandidates(),
): string | undefined {
  for (const dir of dirs) {
    try {
      if (!Deno.statSync(`${dir}/events`).isDirectory) continue;
      Deno.readTextFileSync(`${dir}/events/header_page`);
      return dir;
    } catch {
      // not mounted, not readable or no permission: try the next one
    }
  }
  return undefined;
}
