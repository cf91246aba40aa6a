/**
 * Whether this kernel runs fentry/fexit programs: a two-instruction
 * BPF_PROG_TYPE_TRACING program with expected attach type
 * BPF_TRACE_FENTRY for `vfs_read` (its BTF id) is loaded and attached
 * once per process; the reason names the step that failed and its errno.
 *
 * @module
 */

import { kernelSkipReason } from "./skip.ts";
import { native } from "../../ffi/libbpf.ts";
import { errnoName } from "../../ffi/errors.ts";
import { alloc, AttachType, cstr, ProgLoadOpts } from "../../ffi/structs.ts";
import { ProgType } from "../../runtime/bpf/opcodes.ts";
import { btfProbe } from "../../runtime/btf/btf_probes.ts";
import { kernelTypes } from "../../runtime/btf/load_types.ts";

let verdict: { reason: string | undefined } | undefined;

function probe(): string | undefined {
  const kernel = kernelSkipReason();
  if (kernel !== undefined) return kernel;
  if (kernelTypes().source !== "btf") {
    return "the kernel's BTF (/sys/kernel/btf/vmlinux) is not readable";
  }
  const fn = btfProbe("function", "vfs_read");
  if (fn === undefined) return "the kernel's BTF has no function vfs_read";
  const n = native();
  // r0 = 0; exit
  const code = new Uint8Array([
    0xb7,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0x95,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  const { bytes: opts, view } = alloc(ProgLoadOpts.size);
  view.setBigUint64(ProgLoadOpts.sz, BigInt(ProgLoadOpts.size), true);
  view.setUint32(
    ProgLoadOpts.expected_attach_type,
    AttachType.TRACE_FENTRY,
    true,
  );
  view.setUint32(ProgLoadOpts.attach_btf_id, fn.btfId, true);
  const fd = n.bpf.bpf_prog_load(
    ProgType.TRACING,
    cstr("tsb_fentry_try"),
    cstr("GPL"),
    code,
    2n,
    opts,
  );
  if (fd < 0) {
    return `this kernel does not load fentry programs (bpf_prog_load of BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY for vfs_read: ${
      errnoName(-fd)
    })`;
  }
  try {
    const link = n.bpf.bpf_link_create(fd, 0, AttachType.TRACE_FENTRY, null);
    if (link < 0) {
      return `this kernel does not attach fentry programs (bpf_link_create of BPF_TRACE_FENTRY for vfs_read: ${
        errnoName(-link)
      })`;
    }
    n.closeFd(link);
    return undefined;
  } finally {
    n.closeFd(fd);
  }
}

/**
 * Why fentry/fexit programs cannot run here, or undefined when they can.
 *
 * @example Skipping an fentry test
 * ```ts ignore
 * import { fentrySkipReason } from "./fentry.ts";
 * Deno.test({ name: "fentry", ignore: fentrySkipReason() !== undefined, fn() {} });
 * ```
 */
export function fentrySkipReason(): string | undefined {
  verdict ??= { reason: probe() };
  return verdict.reason;
}
