/**
 * The process context an eBPF program sees when it runs in the interpreter:
 * pid, comm, clocks, stacks, readable memory. The synthetic-event engine
 * implements {@linkcode VmEnvironment}; tests use
 * {@linkcode createEnvironment}.
 *
 * @module
 */

import { checkObject } from "../bpf/validate.ts";

/** Everything helpers ask about "the current task" and the machine. */
export interface VmEnvironment {
  /** Thread group id (user-space pid). */
  pid: number;
  /** Thread id. */
  tid: number;
  /** User id. */
  uid: number;
  /** Group id. */
  gid: number;
  /** Task name, at most 15 bytes are visible. */
  comm: string;
  /** The CPU the program runs on, `0 <= cpu < numCpus`. */
  cpu: number;
  /** Possible CPUs; per-CPU maps keep this many values. */
  numCpus: number;
  /** `bpf_ktime_get_ns`: monotonic nanoseconds. */
  nowNs(): bigint;
  /** `bpf_ktime_get_boot_ns`: nanoseconds since boot, suspend included. */
  bootNs(): bigint;
  /**
   * `bpf_ktime_get_tai_ns`: CLOCK_TAI nanoseconds; without it, the
   * host's wall clock (CLOCK_REALTIME, TAI less the leap seconds the
   * kernel was told of, usually none).
   */
  taiNs?(): bigint;
  /** `bpf_get_prandom_u32`: a random unsigned 32-bit number. */
  random32(): number;
  /** `bpf_get_current_cgroup_id`. */
  cgroupId: bigint;
  /** `bpf_get_current_task`: the task_struct address. */
  task: bigint;
  /** `bpf_get_func_ip`: the probed function's address. */
  funcIp: bigint;
  /** Kernel stack, innermost frame first. */
  kernelStack(): bigint[];
  /** User stack, innermost frame first. */
  userStack(): bigint[];
  /**
   * Memory readable by probe_read*: returns `len` bytes at `addr` or null
   * (the read fails with -EFAULT and a zeroed destination, as the kernel).
   */
  readMemory(addr: bigint, len: number, user: boolean): Uint8Array | null;
  /**
   * The address of CPU `cpu`'s copy of the per-CPU kernel variable with
   * BTF id `btfId` (`bpf_per_cpu_ptr`, `bpf_this_cpu_ptr`), readable by
   * `readMemory`; undefined (NULL) where there is none.
   */
  percpuAddress?(btfId: number, cpu: number): bigint | undefined;
}

/** A block of readable memory for {@linkcode createEnvironment}. */
export interface MemorySegment {
  /** Start address. */
  addr: bigint;
  /** The memory's contents. */
  bytes: Uint8Array;
  /** Kernel or user address space; both when omitted. */
  space?: "kernel" | "user";
}

/** Options of {@linkcode createEnvironment}; every field has a default. */
export interface EnvironmentOptions {
  /** Thread group id (default 1000). */
  pid?: number;
  /** Thread id (default: pid). */
  tid?: number;
  /** User id (default 0). */
  uid?: number;
  /** Group id (default 0). */
  gid?: number;
  /** Task name (default "tsbpf"). */
  comm?: string;
  /** Current CPU (default 0). */
  cpu?: number;
  /** Possible CPUs (default 1). */
  numCpus?: number;
  /** First value of the fake clock in nanoseconds (default 1e9). */
  startNs?: bigint;
  /** Nanoseconds the fake clock advances per reading (default 1000). */
  tickNs?: bigint;
  /** Seed of the xorshift random generator (default 1). */
  seed?: number;
  /** Cgroup id (default 1). */
  cgroupId?: bigint;
  /** task_struct address (default 0xffff888000100000). */
  task?: bigint;
  /** Probed function address (default 0). */
  funcIp?: bigint;
  /** Kernel stack, innermost first (default empty). */
  kernelStack?: bigint[];
  /** User stack, innermost first (default empty). */
  userStack?: bigint[];
  /** Memory probe_read* can read. */
  memory?: MemorySegment[];
}

/**
 * A deterministic environment: a fake clock advancing `tickNs` per reading,
 * a seeded random generator, fixed stacks, and reads served from `memory`.
 *
 * @example Read a segment
 * ```ts
 * import { createEnvironment } from "./environment.ts";
 * const env = createEnvironment({
 *   pid: 42,
 *   memory: [{ addr: 0x1000n, bytes: new Uint8Array([1, 2, 3]) }],
 * });
 * console.assert(env.pid === 42);
 * console.assert(env.readMemory(0x1001n, 2, false)?.[0] === 2);
 * console.assert(env.readMemory(0x1002n, 2, false) === null);
 * ```
 */
export function createEnvironment(
  options: EnvironmentOptions = {},
): VmEnvironment {
  checkObject(options, "options", "createEnvironment()");
  let clock = options.startNs ?? 1_000_000_000n;
  const tick = options.tickNs ?? 1000n;
  let state = (options.seed ?? 1) >>> 0 || 1;
  const kstack = options.kernelStack ?? [];
  const ustack = options.userStack ?? [];
  const memory = options.memory ?? [];
  const pid = options.pid ?? 1000;
  return {
    pid,
    tid: options.tid ?? pid,
    uid: options.uid ?? 0,
    gid: options.gid ?? 0,
    comm: options.comm ?? "tsbpf",
    cpu: options.cpu ?? 0,
    numCpus: options.numCpus ?? 1,
    nowNs() {
      const now = clock;
      clock += tick;
      return now;
    },
    bootNs() {
      const now = clock;
      clock += tick;
      return now;
    },
    random32() {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      return state;
    },
    cgroupId: options.cgroupId ?? 1n,
    task: options.task ?? 0xffff888000100000n,
    funcIp: options.funcIp ?? 0n,
    kernelStack: () => kstack.slice(),
    userStack: () => ustack.slice(),
    readMemory(addr, len, user) {
      for (const seg of memory) {
        if (seg.space === (user ? "kernel" : "user")) continue;
        const at = addr - seg.addr;
        if (at >= 0n && at + BigInt(len) <= BigInt(seg.bytes.length)) {
          const from = Number(at);
          return seg.bytes.slice(from, from + len);
        }
      }
      return null;
    },
  };
}
