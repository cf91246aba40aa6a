/**
 * The eBPF instruction set's numeric constants, as the kernel's
 * `include/uapi/linux/bpf.h` and `bpf_common.h` define them.
 *
 * An opcode byte is `class | (op or size|mode) | source`.
 *
 * @module
 */

/** Instruction classes: the low three bits of the opcode. */
export const Class = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;

/** Memory access sizes (bits 3-4 of load and store opcodes). */
export const Size = {
  W: 0x00,
  H: 0x08,
  B: 0x10,
  DW: 0x18,
} as const;

/** Memory access modes (bits 5-7 of load and store opcodes). */
export const Mode = {
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  MEMSX: 0x80,
  ATOMIC: 0xc0,
} as const;

/** Operand source (bit 3 of ALU and JMP opcodes). */
export const Source = {
  K: 0x00,
  X: 0x08,
} as const;

/** ALU operations (bits 4-7 of ALU and ALU64 opcodes). */
export const AluOp = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  MOV: 0xb0,
  ARSH: 0xc0,
  END: 0xd0,
} as const;

/** Jump operations (bits 4-7 of JMP and JMP32 opcodes). */
export const JmpOp = {
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  CALL: 0x80,
  EXIT: 0x90,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
} as const;

/** Byte-swap direction for `ALU | END`: to little or to big endian. */
export const Endian = {
  TO_LE: 0x00,
  TO_BE: 0x08,
} as const;

/** Atomic operations, carried in the `imm` field of `STX | ATOMIC`. */
export const AtomicOp = {
  ADD: 0x00,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  FETCH: 0x01,
  XCHG: 0xe0 | 0x01,
  CMPXCHG: 0xf0 | 0x01,
  LOAD_ACQ: 0x100,
  STORE_REL: 0x110,
} as const;

/** Source-register values of `ld_imm64` that give the immediate a meaning. */
export const PseudoSrc = {
  /** imm is a map file descriptor (tsbpf: an index into `Program.maps`). */
  MAP_FD: 1,
  /** imm is a map fd, the second half's imm an offset into its value. */
  MAP_VALUE: 2,
  BTF_ID: 3,
  FUNC: 4,
  MAP_IDX: 5,
  MAP_IDX_VALUE: 6,
} as const;

/** Source-register values of `call` that say what is called. */
export const CallSrc = {
  HELPER: 0,
  /** bpf-to-bpf call: imm is the pc-relative offset of the callee. */
  PSEUDO_CALL: 1,
  KFUNC: 2,
} as const;

/** The frame pointer register, read-only. */
export const R10 = 10;

/** Size of one program's stack frame in bytes. */
export const STACK_SIZE = 512;

/** The kernel's verifier budget in processed instructions. */
export const MAX_INSNS_PROCESSED = 1_000_000;

/** Helper function ids this project knows by name. */
export const Helper = {
  map_lookup_elem: 1,
  map_update_elem: 2,
  map_delete_elem: 3,
  probe_read: 4,
  ktime_get_ns: 5,
  trace_printk: 6,
  get_prandom_u32: 7,
  get_smp_processor_id: 8,
  tail_call: 12,
  get_current_pid_tgid: 14,
  get_current_uid_gid: 15,
  get_current_comm: 16,
  perf_event_output: 25,
  get_stackid: 27,
  get_current_task: 35,
  get_numa_node_id: 42,
  override_return: 58,
  probe_read_str: 45,
  get_stack: 67,
  get_current_cgroup_id: 80,
  send_signal: 109,
  probe_read_user: 112,
  probe_read_kernel: 113,
  probe_read_user_str: 114,
  probe_read_kernel_str: 115,
  send_signal_thread: 117,
  per_cpu_ptr: 153,
  this_cpu_ptr: 154,
  jiffies64: 118,
  ktime_get_boot_ns: 125,
  ringbuf_output: 130,
  ringbuf_reserve: 131,
  ringbuf_submit: 132,
  ringbuf_discard: 133,
  for_each_map_elem: 164,
  get_func_ip: 173,
  loop: 181,
  map_lookup_percpu_elem: 195,
  ktime_get_tai_ns: 208,
} as const;

/** Helper names by id, for the disassembler and error messages. */
export const HELPER_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(Helper).map(([name, id]) => [id, name]),
);

/** Map types (`enum bpf_map_type`) this project creates. */
export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  RINGBUF: 27,
} as const;

/** Program types (`enum bpf_prog_type`) this project loads. */
export const ProgType = {
  SOCKET_FILTER: 1,
  KPROBE: 2,
  TRACEPOINT: 5,
  PERF_EVENT: 7,
  RAW_TRACEPOINT: 17,
  TRACING: 26,
} as const;

/** One instruction slot, fields as in the kernel's `struct bpf_insn`. */
export interface Insn {
  /** The opcode byte. */
  code: number;
  /** Destination register, 0-10. */
  dst: number;
  /** Source register, 0-10 (or a pseudo source for ld_imm64 and call). */
  src: number;
  /** Signed 16-bit offset. */
  off: number;
  /** Signed 32-bit immediate. */
  imm: number;
}
