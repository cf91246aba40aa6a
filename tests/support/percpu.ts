/**
 * Whether this kernel loads programs that name a per-CPU variable by its
 * BTF id (`percpu_kaddr()`): `r1 = btf_id[process_counts]; call
 * bpf_this_cpu_ptr; r0 = 0; exit` is loaded once per process as each
 * program type tsbpf uses; the reason quotes the kernel's verifier. The
 * kernel resolves the id through its symbol table, which lists variables
 * only when it is built with `CONFIG_KALLSYMS_ALL`.
 *
 * @module
 */

import { kernelSkipReason } from "./skip.ts";
import { addressOf, native } from "../../ffi/libbpf.ts";
import { errnoName } from "../../ffi/errors.ts";
import { alloc, cstr, ProgLoadOpts } from "../../ffi/structs.ts";
import { Helper, ProgType } from "../../runtime/bpf/opcodes.ts";
import { kernelTypes } from "../../runtime/btf/load_types.ts";
import { percpuVars } from "../../runtime/btf/percpu_vars.ts";

/** The program types tried, by name. */
const TYPES: [string, number][] = [
  ["raw_tracepoint", ProgType.RAW_TRACEPOINT],
  ["tracepoint", ProgType.TRACEPOINT],
  ["perf_event", ProgType.PERF_EVENT],
  ["kprobe", ProgType.KPROBE],
];

/** What the probe found. */
export interface PercpuVerdict {
  /** Why no program type loads it, or undefined. */
  reason: string | undefined;
  /** Program type name → undefined (loaded) or the kernel's reason. */
  types: Map<string, string | undefined>;
}

let verdict: PercpuVerdict | undefined;

function program(varId: number): Uint8Array<ArrayBuffer> {
  const code = new Uint8Array(40);
  const v = new DataView(code.buffer);
  code[0] = 0x18; // ld_imm64 r1, BPF_PSEUDO_BTF_ID
  code[1] = (3 << 4) | 1;
  v.setInt32(4, varId, true);
  code[16] = 0x85; // call
  v.setInt32(20, Helper.this_cpu_ptr, true);
  code[24] = 0xb7; // r0 = 0
  code[32] = 0x95; // exit
  return code;
}

/**
 * Loads `code` (encoded instructions) as a program of `type`: undefined
 * when the kernel accepts it, else the errno's name and the verifier's
 * last message.
 *
 * @example Usage
 * ```ts ignore
 * import { loadInKernel } from "./percpu.ts";
 * console.log(loadInKernel(code, ProgType.RAW_TRACEPOINT));
 * ```
 */
export function loadInKernel(
  code: Uint8Array<ArrayBuffer>,
  type: number,
): string | undefined {
  const n = native();
  const log = new Uint8Array(65536);
  const { bytes: opts, view } = alloc(ProgLoadOpts.size);
  view.setBigUint64(ProgLoadOpts.sz, BigInt(ProgLoadOpts.size), true);
  view.setUint32(ProgLoadOpts.log_level, 1, true);
  view.setUint32(ProgLoadOpts.log_size, log.length, true);
  view.setBigUint64(ProgLoadOpts.log_buf, addressOf(log), true);
  const fd = n.bpf.bpf_prog_load(
    type,
    cstr("tsb_percpu_try"),
    cstr("GPL"),
    code,
    BigInt(code.length / 8),
    opts,
  );
  if (fd >= 0) {
    n.closeFd(fd);
    return undefined;
  }
  const text = new TextDecoder().decode(log.subarray(0, log.indexOf(0)));
  const line = text.split("\n").map((l) => l.trim()).filter((l) =>
    l !== "" && !l.startsWith("processed ") &&
    !l.startsWith("verification time")
  ).at(-1);
  return `${errnoName(-fd)}${line === undefined ? "" : `: ${line}`}`;
}

function probe(): PercpuVerdict {
  const types = new Map<string, string | undefined>();
  const kernel = kernelSkipReason();
  if (kernel !== undefined) return { reason: kernel, types };
  const kt = kernelTypes();
  if (kt.source !== "btf") {
    return {
      reason: "the kernel's BTF (/sys/kernel/btf/vmlinux) is not readable",
      types,
    };
  }
  const v = percpuVars(kt.btf).get("process_counts");
  if (v === undefined) {
    return {
      reason: "the kernel's BTF has no per-CPU variable process_counts",
      types,
    };
  }
  const code = program(v.id);
  for (const [name, type] of TYPES) types.set(name, loadInKernel(code, type));
  const raw = types.get("raw_tracepoint");
  return {
    reason: raw === undefined
      ? undefined
      : `this kernel does not load a per-CPU BTF variable (bpf_this_cpu_ptr of process_counts in a raw_tracepoint program: ${raw})`,
    types,
  };
}

/**
 * Why `percpu_kaddr()` cannot load here, or undefined when it can; and
 * the verdict of each program type.
 *
 * @example Skipping a kernel test
 * ```ts ignore
 * import { percpuVerdict } from "./percpu.ts";
 * Deno.test({ name: "percpu", ignore: percpuVerdict().reason !== undefined, fn() {} });
 * ```
 */
export function percpuVerdict(): PercpuVerdict {
  return verdict ??= probe();
}

/**
 * Why `percpu_kaddr()` cannot load here, or undefined when it can.
 *
 * @example Usage
 * ```ts ignore
 * import { percpuSkipReason } from "./percpu.ts";
 * console.log(percpuSkipReason());
 * ```
 */
export function percpuSkipReason(): string | undefined {
  return percpuVerdict().reason;
}
