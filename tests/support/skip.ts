/**
 * Why a test cannot run here, in one place: whether the kernel engine can
 * load and attach programs (the verdict of `probeKernel()`, asked once per
 * process), whether a command is installed, and `skip()`, which prints the
 * reason of every test it skips.
 *
 * @module
 */

import { probeKernel } from "../../runtime/engines/kernel_engine.ts";

/**
 * The path of command `cmd` on `PATH` or in the system folders, or
 * undefined when it is not installed.
 *
 * @example Finding gcc
 * ```ts ignore
 * import { which } from "./skip.ts";
 * console.log(which("gcc") ?? "no gcc");
 * ```
 */
export function which(cmd: string): string | undefined {
  const dirs = [
    ...(Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":"),
    "/usr/sbin",
    "/sbin",
    "/usr/bin",
    "/usr/local/bin",
  ];
  for (const dir of dirs) {
    try {
      const path = `${dir}/${cmd}`;
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // next
    }
  }
  return undefined;
}

let kernelVerdict: { reason: string | undefined } | undefined;

/**
 * Why the kernel engine cannot load and attach programs here (not Linux,
 * no libbpf, no CAP_BPF/CAP_PERFMON, ...), or undefined when it can. The
 * kernel is asked once per process.
 *
 * @example Skipping a kernel test
 * ```ts ignore
 * import { kernelSkipReason, skip } from "./skip.ts";
 * Deno.test({
 *   name: "counts in the kernel",
 *   ignore: skip("the kernel count test", kernelSkipReason()),
 *   fn: () => {},
 * });
 * ```
 */
export function kernelSkipReason(): string | undefined {
  if (kernelVerdict === undefined) {
    const probe = probeKernel();
    kernelVerdict = { reason: probe.ok ? undefined : probe.reason };
  }
  return kernelVerdict.reason;
}

/**
 * Why command `cmd` (needed to `purpose`) cannot run here, or undefined.
 *
 * @example Needing bpftool
 * ```ts ignore
 * import { commandSkipReason } from "./skip.ts";
 * console.log(commandSkipReason("bpftool", "list programs"));
 * // "no bpftool to list programs" when it is missing
 * ```
 */
export function commandSkipReason(
  cmd: string,
  purpose: string,
): string | undefined {
  return which(cmd) === undefined ? `no ${cmd} to ${purpose}` : undefined;
}

/**
 * True when a test must be skipped: prints `Skipping WHAT: REASON` so that
 * every skip says why. Use it as the `ignore` of `Deno.test`.
 *
 * @example One reason, printed once per test
 * ```ts ignore
 * import { kernelSkipReason, skip } from "./skip.ts";
 * Deno.test({
 *   name: "attaches a tracepoint",
 *   ignore: skip("the tracepoint test", kernelSkipReason()),
 *   fn: () => {},
 * });
 * ```
 */
export function skip(what: string, reason: string | undefined): boolean {
  if (reason !== undefined) {
    console.log(`Skipping ${what}: ${reason}`);
    return true;
  }
  return false;
}
