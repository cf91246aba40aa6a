/**
 * Whether the kernel engine can run on this machine, and if not, why, in
 * one sentence: Linux, a usable libbpf, and the capabilities tracing needs.
 *
 * @module
 */

import { FfiUnavailableError, KernelError } from "../../ffi/errors.ts";
import { native, type NativeLibs } from "../../ffi/libbpf.ts";
import { cstr } from "../../ffi/structs.ts";
import { MapType } from "../bpf/opcodes.ts";

/**
 * Whether the kernel engine can run here, and if not, why. `absent` is set
 * when the kernel path cannot exist on this machine at all (not Linux, or
 * no usable libbpf): only then may `auto` stand in the interpreter.
 */
export type KernelProbe = { ok: true } | {
  ok: false;
  reason: string;
  absent?: true;
};

const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

/**
 * The capabilities tracing needs that this process lacks (CAP_BPF and
 * CAP_PERFMON; CAP_SYS_ADMIN stands for both), from `/proc/self/status`.
 * Empty when they are all there or the file cannot be read.
 */
function missingCapabilities(): string[] {
  let eff: bigint;
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
    if (m === null) return [];
    eff = BigInt(`0x${m[1]}`);
  } catch {
    return [];
  }
  const has = (cap: number) => (eff >> BigInt(cap) & 1n) === 1n;
  if (has(CAP_SYS_ADMIN)) return [];
  const missing: string[] = [];
  if (!has(CAP_BPF)) missing.push("CAP_BPF");
  if (!has(CAP_PERFMON)) missing.push("CAP_PERFMON");
  return missing;
}

function permissionReason(uid: number, missing: string[]): string {
  const caps = missing.length > 0 ? missing : ["CAP_BPF", "CAP_PERFMON"];
  const them = caps.length > 1 ? "them" : "it";
  const how = uid === 0
    ? `which this process lacks although it runs as root (a container or ` +
      `a reduced capability set?): grant ${them} to the process`
    : `which this process (uid ${uid}) lacks: run as root (sudo) or grant ` +
      `${them} (setcap ${
        caps.map((c) => c.toLowerCase()).join(",")
      }+ep on the deno binary)`;
  return `tracing in the kernel needs ${caps.join(" and ")}, ${how}; ` +
    `--backend interp runs the program on synthetic events instead`;
}

/**
 * Tells whether the kernel engine can be used on this machine, and if not,
 * why, in one sentence. Creates (and closes) one tiny map to be sure, and
 * checks the capabilities attaching needs.
 *
 * @example Check the machine
 * ```ts
 * import { probeKernel } from "./kernel_probe.ts";
 * const r = probeKernel();
 * console.log(r.ok ? "kernel engine available" : r.reason);
 * ```
 */
export function probeKernel(): KernelProbe {
  if (Deno.build.os !== "linux") {
    return {
      ok: false,
      reason: `the kernel engine needs Linux, this is ${Deno.build.os}`,
      absent: true,
    };
  }
  let n: NativeLibs;
  try {
    n = native();
  } catch (e) {
    if (e instanceof FfiUnavailableError) {
      // Denied FFI is the user's choice, not a missing kernel path.
      return e.cause instanceof Deno.errors.NotCapable
        ? { ok: false, reason: e.reason }
        : { ok: false, reason: e.reason, absent: true };
    }
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
  const fd = n.bpf.bpf_map_create(
    MapType.ARRAY,
    cstr("tsb_probe"),
    4,
    8,
    1,
    null,
  );
  if (fd >= 0) {
    n.closeFd(fd);
    // Maps may be allowed (CAP_BPF) while attaching is not (CAP_PERFMON).
    const missing = missingCapabilities();
    if (missing.length > 0) {
      return { ok: false, reason: permissionReason(n.libc.geteuid(), missing) };
    }
    return { ok: true };
  }
  const errno = -fd;
  if (errno === 1 || errno === 13) {
    return {
      ok: false,
      reason: permissionReason(n.libc.geteuid(), missingCapabilities()),
    };
  }
  if (errno === 38) {
    return {
      ok: false,
      reason: "this kernel was built without BPF (CONFIG_BPF_SYSCALL)",
    };
  }
  return {
    ok: false,
    reason: new KernelError("create a BPF map", errno, n.strerror(errno))
      .message,
  };
}
