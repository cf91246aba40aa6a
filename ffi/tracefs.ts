/**
 * tracefs: find (or, as root, mount) it and read tracepoint ids.
 *
 * @module
 */

import { AttachError } from "./errors.ts";
import { native } from "./libbpf.ts";
import { cstr } from "./structs.ts";
import { findTracefs, TRACEFS_DIRS } from "../runtime/probes/tracefs.ts";

let mounted: string | undefined;

function hasEvents(dir: string): boolean {
  try {
    return Deno.statSync(`${dir}/events`).isDirectory;
  } catch {
    return false;
  }
}

/**
 * The tracefs mount point: `$TSBPF_TRACEFS` when that is set and is a
 * tracefs, else `/sys/kernel/tracing` or `/sys/kernel/debug/tracing` (see
 * `findTracefs`). When tracefs is not mounted and the process is root,
 * mounts it at `/sys/kernel/tracing` with mount(2).
 *
 * @throws {Error} when tracefs is missing and cannot be mounted.
 * @example Find tracefs
 * ```ts
 * import { tracefsDir } from "./tracefs.ts";
 * if (Deno.build.os === "linux") {
 *   try { console.log(tracefsDir()); } catch (e) { console.log((e as Error).message); }
 * }
 * ```
 */
export function tracefsDir(): string {
  if (mounted !== undefined && hasEvents(mounted)) return mounted;
  // A $TSBPF_TRACEFS that is not a tracefs never leads to mounting over
  // the usual place: the usual places are tried next.
  const found = findTracefs() ?? findTracefs(TRACEFS_DIRS);
  if (found !== undefined) return mounted = found;
  const target = TRACEFS_DIRS[0];
  const libs = native();
  if (libs.libc.geteuid() !== 0) {
    throw new Error(
      `Cannot find tracefs: it is not mounted and only root can mount it (mount -t tracefs nodev ${target})`,
    );
  }
  const ret = libs.libc.mount(
    cstr("nodev"),
    cstr(target),
    cstr("tracefs"),
    0n,
    null,
  );
  if (ret !== 0) {
    const errno = libs.errno();
    throw libs.error(`mount tracefs at "${target}"`, errno);
  }
  if (!hasEvents(target)) {
    throw new Error(`Cannot find tracefs events after mounting "${target}"`);
  }
  return mounted = target;
}

/**
 * The numeric id of tracepoint `category:name` (tracefs
 * `events/CATEGORY/NAME/id`).
 *
 * @throws {AttachError} when the tracepoint does not exist.
 * @example Id of sys_enter_getppid
 * ```ts
 * import { tracepointId } from "./tracefs.ts";
 * if (Deno.build.os === "linux" && Deno.uid() === 0) {
 *   try { console.log(tracepointId("syscalls", "sys_enter_getppid")); } catch (e) { console.log((e as Error).message); }
 * }
 * ```
 */
export function tracepointId(category: string, name: string): number {
  if (!/^[\w.-]+$/.test(category) || !/^[\w.-]+$/.test(name)) {
    throw new AttachError(
      `tracepoint:${category}:${name}`,
      "a tracepoint name has only letters, digits, '_', '.' and '-'",
    );
  }
  const path = `${tracefsDir()}/events/${category}/${name}/id`;
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new AttachError(
        `tracepoint:${category}:${name}`,
        "no such tracepoint on this kernel (see tsbpf -l 'tracepoint:*')",
      );
    }
    throw e;
  }
  return Number(text.trim());
}

/**
 * Every tracepoint the kernel has, as `category:name`, from tracefs
 * `available_events`.
 *
 * @example Count tracepoints
 * ```ts
 * import { availableTracepoints } from "./tracefs.ts";
 * if (Deno.build.os === "linux" && Deno.uid() === 0) {
 *   try { console.log(availableTracepoints().length); } catch (e) { console.log((e as Error).message); }
 * }
 * ```
 */
export function availableTracepoints(): string[] {
  const text = Deno.readTextFileSync(`${tracefsDir()}/available_events`);
  return text.split("\n").filter((l) => l.length > 0);
}
