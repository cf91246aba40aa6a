/**
 * Byte layouts of the kernel and libbpf structs the kernel engine passes
 * through FFI, all in one place. x86_64 / LP64 only.
 *
 * Offsets were checked against `/usr/include/bpf/bpf.h` (libbpf 1.1.2),
 * `/usr/include/linux/bpf.h` and `/usr/include/linux/perf_event.h` with a C
 * program printing `offsetof`/`sizeof` (see tests/ffi/structs_test.ts,
 * which repeats the check with gcc when it is installed).
 *
 * libbpf option structs start with `size_t sz`; the sizes here are the
 * libbpf 1.1 ones, which every later libbpf accepts.
 *
 * @module
 */

import { PT_REGS, PT_REGS_SIZE } from "../runtime/probes/pt_regs.ts";
import { PerfType } from "../runtime/probes/perf_events.ts";

/** Offsets and size of `struct bpf_map_create_opts` (libbpf). */
export const MapCreateOpts = {
  size: 48,
  sz: 0,
  btf_fd: 8,
  inner_map_fd: 24,
  map_flags: 28,
  map_extra: 32,
  numa_node: 40,
  map_ifindex: 44,
} as const;

/** Offsets and size of `struct bpf_prog_load_opts` (libbpf). */
export const ProgLoadOpts = {
  size: 104,
  sz: 0,
  attempts: 8,
  expected_attach_type: 12,
  prog_btf_fd: 16,
  prog_flags: 20,
  prog_ifindex: 24,
  kern_version: 28,
  attach_btf_id: 32,
  attach_prog_fd: 36,
  attach_btf_obj_fd: 40,
  fd_array: 48,
  func_info: 56,
  func_info_cnt: 64,
  func_info_rec_size: 68,
  log_level: 88,
  log_size: 92,
  log_buf: 96,
} as const;

/** Offsets and size of `struct bpf_link_create_opts` (libbpf). */
export const LinkCreateOpts = {
  size: 64,
  sz: 0,
  flags: 8,
  bpf_cookie: 32,
} as const;

/** Offsets and size of `struct bpf_test_run_opts` (libbpf). */
export const TestRunOpts = {
  size: 80,
  sz: 0,
  data_in: 8,
  data_out: 16,
  data_size_in: 24,
  data_size_out: 28,
  ctx_in: 32,
  ctx_out: 40,
  ctx_size_in: 48,
  ctx_size_out: 52,
  retval: 56,
  repeat: 60,
  duration: 64,
  flags: 68,
  cpu: 72,
  batch_size: 76,
} as const;

/** Offsets and size of the kernel's `struct bpf_prog_info`. */
export const ProgInfo = {
  size: 232,
  type: 0,
  id: 4,
  tag: 8,
  jited_prog_len: 16,
  xlated_prog_len: 20,
  load_time: 40,
  created_by_uid: 48,
  nr_map_ids: 52,
  map_ids: 56,
  name: 64,
  nameLen: 16,
  run_time_ns: 192,
  run_cnt: 200,
  recursion_misses: 208,
  verified_insns: 216,
} as const;

/** Offsets and size of the kernel's `struct perf_event_attr` (VER7). */
export const PerfEventAttr = {
  size: 128,
  type: 0,
  attrSize: 4,
  config: 8,
  /** Union with `sample_freq`. */
  sample_period: 16,
  sample_type: 24,
  read_format: 32,
  /** The bitfield word (`disabled`, `inherit`, …). */
  flags: 40,
  /** Union with `wakeup_watermark`. */
  wakeup_events: 48,
  bp_type: 52,
  /** Union with `bp_addr`, `kprobe_func`, `uprobe_path`. */
  config1: 56,
  /** Union with `bp_len`, `kprobe_addr`, `probe_offset`. */
  config2: 64,
} as const;

/** Bits of `perf_event_attr`'s flag word (offset 40). */
export const PerfFlag = {
  disabled: 1n << 0n,
  inherit: 1n << 1n,
  pinned: 1n << 2n,
  exclusive: 1n << 3n,
  exclude_user: 1n << 4n,
  exclude_kernel: 1n << 5n,
  exclude_hv: 1n << 6n,
  exclude_idle: 1n << 7n,
  mmap: 1n << 8n,
  comm: 1n << 9n,
  freq: 1n << 10n,
  enable_on_exec: 1n << 12n,
  watermark: 1n << 14n,
} as const;

/** `perf_event_attr.type` values (one table: runtime/probes). */
export { PerfType };

/** perf ioctl request numbers (x86_64 `_IO`/`_IOW`/`_IOWR` encodings). */
export const PerfIoctl = {
  ENABLE: 0x2400,
  DISABLE: 0x2401,
  SET_BPF: 0x40042408,
  /**
   * `PERF_EVENT_IOC_QUERY_BPF`: the ids of the programs a tracepoint,
   * kprobe or uprobe event runs (`struct perf_event_query_bpf`: u32
   * `ids_len`, u32 `prog_cnt`, then the ids).
   */
  QUERY_BPF: 0xc008240a,
} as const;

/** `PERF_FLAG_FD_CLOEXEC` for perf_event_open's flags. */
export const PERF_FLAG_FD_CLOEXEC = 8;

/** `__NR_perf_event_open` on x86_64. */
export const SYS_perf_event_open = 298;

/** `enum bpf_attach_type` values used here. */
export const AttachType = {
  TRACE_RAW_TP: 23,
  TRACE_FENTRY: 24,
  TRACE_FEXIT: 25,
  PERF_EVENT: 41,
} as const;

/** `BPF_STATS_RUN_TIME` for `bpf_enable_stats`. */
export const BPF_STATS_RUN_TIME = 0;

/** Offsets into x86_64 `struct pt_regs` (uprobe/kprobe context). */
export const PtRegs = { size: PT_REGS_SIZE, ...PT_REGS } as const;

/** A zeroed struct buffer plus a little-endian view over it. */
export interface StructBuf {
  bytes: Uint8Array<ArrayBuffer>;
  view: DataView;
}

/**
 * Allocates a zeroed struct of `size` bytes.
 *
 * @example Allocate a perf_event_attr
 * ```ts
 * import { alloc, PerfEventAttr } from "./structs.ts";
 * const { bytes } = alloc(PerfEventAttr.size);
 * console.assert(bytes.length === 128);
 * ```
 */
export function alloc(size: number): StructBuf {
  const bytes = new Uint8Array(size);
  return { bytes, view: new DataView(bytes.buffer) };
}

/** Fields of a perf event this project opens. */
export interface PerfAttrInit {
  type: number;
  config: bigint;
  /** sample_period, or sample_freq when `freq` is set. */
  period?: bigint;
  freq?: boolean;
  disabled?: boolean;
  wakeupEvents?: number;
  config1?: bigint;
  config2?: bigint;
}

/**
 * Encodes a `perf_event_attr`.
 *
 * @example A 99 Hz cpu-clock sampler
 * ```ts
 * import { perfEventAttr, PerfEventAttr, PerfType } from "./structs.ts";
 * const a = perfEventAttr({ type: PerfType.SOFTWARE, config: 0n, period: 99n, freq: true });
 * const v = new DataView(a.buffer);
 * console.assert(v.getUint32(PerfEventAttr.attrSize, true) === 128);
 * console.assert(v.getBigUint64(PerfEventAttr.sample_period, true) === 99n);
 * ```
 */
export function perfEventAttr(init: PerfAttrInit): Uint8Array<ArrayBuffer> {
  const { bytes, view } = alloc(PerfEventAttr.size);
  view.setUint32(PerfEventAttr.type, init.type, true);
  view.setUint32(PerfEventAttr.attrSize, PerfEventAttr.size, true);
  view.setBigUint64(PerfEventAttr.config, init.config, true);
  view.setBigUint64(PerfEventAttr.sample_period, init.period ?? 1n, true);
  let flags = 0n;
  if (init.freq) flags |= PerfFlag.freq;
  if (init.disabled) flags |= PerfFlag.disabled;
  view.setBigUint64(PerfEventAttr.flags, flags, true);
  view.setUint32(PerfEventAttr.wakeup_events, init.wakeupEvents ?? 1, true);
  view.setBigUint64(PerfEventAttr.config1, init.config1 ?? 0n, true);
  view.setBigUint64(PerfEventAttr.config2, init.config2 ?? 0n, true);
  return bytes;
}

/** The fields of `bpf_prog_info` the engine reads. */
export interface ProgInfoFields {
  type: number;
  id: number;
  name: string;
  xlatedProgLen: number;
  runTimeNs: bigint;
  runCnt: bigint;
  verifiedInsns: number;
}

/**
 * Decodes the interesting fields of a `bpf_prog_info` buffer.
 *
 * @example Decode a zeroed buffer
 * ```ts
 * import { decodeProgInfo, ProgInfo } from "./structs.ts";
 * const info = decodeProgInfo(new Uint8Array(ProgInfo.size));
 * console.assert(info.name === "" && info.runCnt === 0n);
 * ```
 */
export function decodeProgInfo(bytes: Uint8Array): ProgInfoFields {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nameBytes = bytes.subarray(
    ProgInfo.name,
    ProgInfo.name + ProgInfo.nameLen,
  );
  const nul = nameBytes.indexOf(0);
  return {
    type: view.getUint32(ProgInfo.type, true),
    id: view.getUint32(ProgInfo.id, true),
    name: new TextDecoder().decode(
      nul < 0 ? nameBytes : nameBytes.subarray(0, nul),
    ),
    xlatedProgLen: view.getUint32(ProgInfo.xlated_prog_len, true),
    runTimeNs: view.getBigUint64(ProgInfo.run_time_ns, true),
    runCnt: view.getBigUint64(ProgInfo.run_cnt, true),
    verifiedInsns: view.getUint32(ProgInfo.verified_insns, true),
  };
}

/**
 * A NUL-terminated C string.
 *
 * @example Encode a name
 * ```ts
 * import { cstr } from "./structs.ts";
 * console.assert(cstr("ab").length === 3);
 * ```
 */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder().encode(s);
  const out = new Uint8Array(enc.length + 1);
  out.set(enc);
  return out;
}
