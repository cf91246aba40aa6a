/**
 * Helper prototypes: what kind of value each argument register must hold
 * and what the helper returns, after the kernel's `bpf_func_proto` tables.
 *
 * @module
 */

import { Helper, MapType } from "../bpf/opcodes.ts";

/**
 * What an argument register must hold.
 *
 * - `anything`: any initialized value.
 * - `dontcare`: not checked at all (trace_printk's format arguments).
 * - `map`: a map pointer (`ld_imm64` of a map), of one of `mapTypes`.
 * - `key` / `value`: pointer to `keySize` / `valueSize` readable,
 *   initialized bytes (stack, map value or ringbuf record).
 * - `mem`: pointer to readable initialized bytes; the size is the next arg.
 * - `uninit_mem`: pointer to writable bytes the helper fills; size is next.
 * - `size` / `size_or_zero`: bounded scalar byte count of the previous arg.
 * - `alloc_size`: a known constant byte count (ringbuf_reserve).
 * - `ctx`: the unmodified context pointer.
 * - `alloc_mem`: a non-NULL ringbuf record from ringbuf_reserve, unmodified;
 *   the call releases it.
 * - `percpu_var`: a per-CPU kernel variable (`ld_imm64` with
 *   `BPF_PSEUDO_BTF_ID`).
 * - `func`: a callback function (`ld_imm64` with `BPF_PSEUDO_FUNC`); the
 *   helper calls it (see `calls.ts`).
 */
export type ArgKind =
  | "anything"
  | "dontcare"
  | "map"
  | "key"
  | "value"
  | "mem"
  | "uninit_mem"
  | "size"
  | "size_or_zero"
  | "alloc_size"
  | "ctx"
  | "alloc_mem"
  | "percpu_var"
  | "func";

/** What a helper leaves in r0. */
export type RetKind =
  | "integer"
  | "void"
  | "map_value_or_null"
  | "mem_or_null"
  | "kptr"
  | "kptr_or_null";

/** One helper's prototype. */
export interface HelperProto {
  /** The helper's name, as in `Helper`. */
  name: string;
  /** What r1, r2, … must hold. */
  args: readonly ArgKind[];
  /** What r0 holds after the call. */
  ret: RetKind;
  /** Map types accepted by the `map` argument. */
  mapTypes?: readonly number[];
  /** r0's upper bound is the size argument (probe_read_str, get_stack). */
  retBoundedBySize?: boolean;
}

const LOOKUP_MAPS = [
  MapType.HASH,
  MapType.ARRAY,
  MapType.PERCPU_HASH,
  MapType.PERCPU_ARRAY,
  MapType.LRU_HASH,
  MapType.LRU_PERCPU_HASH,
];
const PERCPU_MAPS = [
  MapType.PERCPU_HASH,
  MapType.PERCPU_ARRAY,
  MapType.LRU_PERCPU_HASH,
];
/** `BPF_MAP_TYPE_PROG_ARRAY`, the only map tail_call takes. */
const PROG_ARRAY = 3;

const probeRead: HelperProto = {
  name: "",
  args: ["uninit_mem", "size_or_zero", "anything"],
  ret: "integer",
};
const probeReadStr: HelperProto = { ...probeRead, retBoundedBySize: true };
const noArgs: HelperProto = { name: "", args: [], ret: "integer" };

const table: [number, HelperProto][] = [
  [Helper.loop, {
    name: "",
    args: ["anything", "func", "anything", "anything"],
    ret: "integer",
  }],
  [Helper.for_each_map_elem, {
    name: "",
    args: ["map", "func", "anything", "anything"],
    ret: "integer",
    mapTypes: LOOKUP_MAPS,
  }],
  [Helper.map_lookup_elem, {
    name: "",
    args: ["map", "key"],
    ret: "map_value_or_null",
    mapTypes: LOOKUP_MAPS,
  }],
  [Helper.map_update_elem, {
    name: "",
    args: ["map", "key", "value", "anything"],
    ret: "integer",
    mapTypes: LOOKUP_MAPS,
  }],
  [Helper.map_delete_elem, {
    name: "",
    args: ["map", "key"],
    ret: "integer",
    mapTypes: LOOKUP_MAPS,
  }],
  [Helper.map_lookup_percpu_elem, {
    name: "",
    args: ["map", "key", "anything"],
    ret: "map_value_or_null",
    mapTypes: PERCPU_MAPS,
  }],
  [Helper.probe_read, probeRead],
  [Helper.probe_read_user, probeRead],
  [Helper.probe_read_kernel, probeRead],
  [Helper.probe_read_str, probeReadStr],
  [Helper.probe_read_user_str, probeReadStr],
  [Helper.probe_read_kernel_str, probeReadStr],
  [Helper.ktime_get_ns, noArgs],
  [Helper.ktime_get_boot_ns, noArgs],
  [Helper.ktime_get_tai_ns, noArgs],
  [Helper.jiffies64, noArgs],
  [Helper.get_prandom_u32, noArgs],
  [Helper.get_smp_processor_id, noArgs],
  [Helper.get_numa_node_id, noArgs],
  [Helper.get_current_pid_tgid, noArgs],
  [Helper.get_current_uid_gid, noArgs],
  [Helper.get_current_task, noArgs],
  [Helper.get_current_cgroup_id, noArgs],
  [Helper.trace_printk, {
    name: "",
    args: ["mem", "size", "dontcare", "dontcare", "dontcare"],
    ret: "integer",
  }],
  [Helper.get_current_comm, {
    name: "",
    args: ["uninit_mem", "size"],
    ret: "integer",
  }],
  [Helper.perf_event_output, {
    name: "",
    args: ["ctx", "map", "anything", "mem", "size_or_zero"],
    ret: "integer",
    mapTypes: [MapType.PERF_EVENT_ARRAY],
  }],
  [Helper.get_stackid, {
    name: "",
    args: ["ctx", "map", "anything"],
    ret: "integer",
    mapTypes: [MapType.STACK_TRACE],
  }],
  [Helper.get_stack, {
    name: "",
    args: ["ctx", "uninit_mem", "size_or_zero", "anything"],
    ret: "integer",
    retBoundedBySize: true,
  }],
  [Helper.send_signal, { name: "", args: ["anything"], ret: "integer" }],
  [Helper.send_signal_thread, {
    name: "",
    args: ["anything"],
    ret: "integer",
  }],
  [Helper.override_return, {
    name: "",
    args: ["ctx", "anything"],
    ret: "integer",
  }],
  [Helper.get_func_ip, { name: "", args: ["ctx"], ret: "integer" }],
  [Helper.tail_call, {
    name: "",
    args: ["ctx", "map", "anything"],
    ret: "integer",
    mapTypes: [PROG_ARRAY],
  }],
  [Helper.per_cpu_ptr, {
    name: "",
    args: ["percpu_var", "anything"],
    ret: "kptr_or_null",
  }],
  [Helper.this_cpu_ptr, { name: "", args: ["percpu_var"], ret: "kptr" }],
  [Helper.ringbuf_output, {
    name: "",
    args: ["map", "mem", "size_or_zero", "anything"],
    ret: "integer",
    mapTypes: [MapType.RINGBUF],
  }],
  [Helper.ringbuf_reserve, {
    name: "",
    args: ["map", "alloc_size", "anything"],
    ret: "mem_or_null",
    mapTypes: [MapType.RINGBUF],
  }],
  [Helper.ringbuf_submit, {
    name: "",
    args: ["alloc_mem", "anything"],
    ret: "void",
  }],
  [Helper.ringbuf_discard, {
    name: "",
    args: ["alloc_mem", "anything"],
    ret: "void",
  }],
];

const names = new Map<number, string>(
  Object.entries(Helper).map(([name, id]) => [id, name]),
);

/** Prototypes by helper id, for every helper in `Helper`. */
export const HELPER_PROTOS: ReadonlyMap<number, HelperProto> = new Map(
  table.map(([id, p]) => [id, { ...p, name: names.get(id) ?? `#${id}` }]),
);
