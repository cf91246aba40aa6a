/**
 * The synthetic machine's code: a kernel text with real function names at
 * made-up addresses, a user address space with the functions of common
 * programs, call chains through them, and the {@linkcode SymbolResolver}
 * that names addresses and stack ids for the interpreter engine.
 *
 * Addresses do not depend on the seed: a given name always sits at the same
 * address, so symbols stay stable across runs.
 *
 * @module
 */

import type { VmMap } from "../vm/maps.ts";
import type { SymbolResolver } from "../output/types.ts";
import { Kallsyms } from "../probes/kallsyms.ts";

/** Start of the synthetic kernel text. */
export const KERNEL_TEXT: bigint = 0xffffffff81000000n;
/** Start of the synthetic user text (main binaries, then libraries). */
export const USER_TEXT = 0x555555554000;
/** Where the synthetic machine's C library lives. */
export const LIBC_PATH = "/usr/lib/x86_64-linux-gnu/libc.so.6";

/** The host's kallsyms, read once (null: not readable). */
let hostKernel: Kallsyms | null | undefined;

function hostKallsyms(): Kallsyms | null {
  if (hostKernel === undefined) {
    try {
      hostKernel = Kallsyms.load();
    } catch {
      hostKernel = null;
    }
  }
  return hostKernel;
}

function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  }
  return h >>> 0;
}

/**
 * A table of functions at increasing addresses, growing on demand.
 *
 * @example Usage
 * ```ts
 * import { SymbolTable } from "./symbols.ts";
 * const t = new SymbolTable();
 * const at = t.offsetOf("main");
 * console.assert(t.lookup(at + 1)?.[0] === "main");
 * ```
 */
export class SymbolTable {
  /** Base address (as a number offset origin). */
  readonly #starts: number[] = [];
  readonly #sizes: number[] = [];
  readonly #names: string[] = [];
  readonly #byName = new Map<string, number>();
  #next: number;

  /** @param gap Bytes between the origin and the first function. */
  constructor(gap = 0x1000) {
    this.#next = gap;
  }

  /** Offset of `name` from the table's origin, adding it when new. */
  offsetOf(name: string): number {
    const i = this.#byName.get(name);
    if (i !== undefined) return this.#starts[i];
    const size = 0x80 + (hash32(name) % 0x700 & ~0xf);
    const at = this.#next;
    this.#next = at + size + 0x10;
    this.#byName.set(name, this.#starts.length);
    this.#starts.push(at);
    this.#sizes.push(size);
    this.#names.push(name);
    return at;
  }

  /** Offset of a call site inside `name` (stable, within the function). */
  siteOf(name: string, salt = 0): number {
    const start = this.offsetOf(name);
    const size = this.#sizes[this.#byName.get(name)!];
    return start + 5 + (hash32(name + ":" + salt) % (size - 8));
  }

  /** Offset just past the last function (the table's extent). */
  get end(): number {
    return this.#next;
  }

  /** `[name, offset into it]` for an offset, or undefined. */
  lookup(off: number): [string, number] | undefined {
    const s = this.#starts;
    let lo = 0, hi = s.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid] <= off) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0 || off >= s[found] + this.#sizes[found]) return undefined;
    return [this.#names[found], off - s[found]];
  }
}

/**
 * Kernel and user symbols of the synthetic machine, and call chains
 * through them as address arrays (innermost frame first).
 *
 * @example Name a kernel address
 * ```ts
 * import { SyntheticSymbols } from "./symbols.ts";
 * const syms = new SyntheticSymbols();
 * const addr = syms.kernelAddress("vfs_read");
 * console.assert(syms.ksym(addr) === "vfs_read");
 * const chain = syms.kernelChain(["vfs_read", "ksys_read"]);
 * console.assert(syms.kframe(chain[0]).startsWith("vfs_read+"));
 * ```
 */
export class SyntheticSymbols {
  readonly #kernel = new SymbolTable();
  readonly #user = new SymbolTable();
  /** Objects of user functions probed in a given binary or library. */
  readonly #modules = new Map<string, string>();

  constructor() {
    for (const name of KERNEL_FUNCTIONS) this.#kernel.offsetOf(name);
    for (const name of USER_FUNCTIONS) this.#user.offsetOf(name);
  }

  /** Start address of kernel function `name` (added when unknown). */
  kernelAddress(name: string): bigint {
    return KERNEL_TEXT + BigInt(this.#kernel.offsetOf(name));
  }

  /** Start address of user function `name` (added when unknown). */
  userAddress(name: string): number {
    return USER_TEXT + this.#user.offsetOf(name);
  }

  /** Return addresses of a kernel call chain, innermost first. */
  kernelChain(names: readonly string[]): bigint[] {
    return names.map((n, i) =>
      KERNEL_TEXT +
      BigInt(i === 0 ? this.#kernel.siteOf(n, -1) : this.#kernel.siteOf(n, i))
    );
  }

  /** Return addresses of a user call chain, innermost first. */
  userChain(names: readonly string[]): bigint[] {
    return names.map((n, i) => BigInt(USER_TEXT + this.#user.siteOf(n, i)));
  }

  /**
   * Kernel symbol name for an address, else hexadecimal. Addresses outside
   * the synthetic kernel text (`kaddr()` values) are looked up in the
   * host's `/proc/kallsyms` when it is readable.
   */
  ksym(addr: bigint): string {
    const hit = this.#kernelLookup(addr);
    if (hit !== undefined) return hit[0];
    if (this.#inKernelText(addr)) return hex(addr);
    return hostKallsyms()?.lookup(addr)?.name ?? hex(addr);
  }

  /** User symbol name for an address, else hexadecimal. */
  usym(addr: bigint): string {
    const hit = this.#userLookup(addr);
    return hit === undefined ? hex(addr) : hit[0];
  }

  /** A kernel frame as bpftrace prints it: `name+offset`. */
  kframe(addr: bigint): string {
    const hit = this.#kernelLookup(addr);
    if (hit !== undefined) return `${hit[0]}+${hit[1]}`;
    if (this.#inKernelText(addr)) return hex(addr);
    const h = hostKallsyms()?.lookup(addr);
    return h === undefined ? hex(addr) : `${h.name}+${h.offset}`;
  }

  /**
   * A user frame as the kernel engine prints it: `name+offset`, just
   * `name` at a function's entry.
   */
  uframe(addr: bigint): string {
    const hit = this.#userLookup(addr);
    if (hit === undefined) return hex(addr);
    return hit[1] === 0 ? hit[0] : `${hit[0]}+${hit[1]}`;
  }

  /** Records that user function `name` lives in object `path`. */
  setUserModule(name: string, path: string): void {
    this.#modules.set(name, path);
  }

  /**
   * The object (executable or library) a user address lies in: the C
   * library for libc functions, the probed binary for probed functions,
   * a few well-known libraries, else `exe` (the process's executable).
   */
  userModule(addr: bigint, exe?: string): string | undefined {
    const hit = this.#userLookup(addr);
    if (hit === undefined) return undefined;
    const name = hit[0];
    const probed = this.#modules.get(name);
    if (probed !== undefined) return probed;
    if (LIBC_FUNCTIONS.has(name)) return LIBC_PATH;
    for (const [re, path] of LIBRARIES) if (re.test(name)) return path;
    if (exe !== undefined && exe.endsWith("/java")) {
      return exe.replace(/\/bin\/java$/, "/lib/server/libjvm.so");
    }
    return exe === "" ? undefined : exe;
  }

  #inKernelText(addr: bigint): boolean {
    return addr >= KERNEL_TEXT && addr < KERNEL_TEXT + BigInt(this.#kernel.end);
  }

  #kernelLookup(addr: bigint): [string, number] | undefined {
    const off = addr - KERNEL_TEXT;
    if (off < 0n || off > 0x40000000n) return undefined;
    return this.#kernel.lookup(Number(off));
  }

  #userLookup(addr: bigint): [string, number] | undefined {
    const off = addr - BigInt(USER_TEXT);
    if (off < 0n || off > 0x40000000n) return undefined;
    return this.#user.lookup(Number(off));
  }

  /**
   * A resolver for the engine's maps: `stack()` reads stack ids from the
   * interpreter's STACK_TRACE maps (`maps[mapIndex]`); `exeOf` names a
   * process's executable (for `userModule`).
   */
  resolver(
    maps: readonly VmMap[],
    exeOf: (pid: number) => string | undefined = () => undefined,
  ): SymbolResolver {
    const addresses = (mapIndex: number, id: number): bigint[] => {
      const map = maps[mapIndex];
      if (map === undefined || id < 0 || map.keySize !== 4) return [];
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, id, true);
      let vals: Uint8Array[] | undefined;
      try {
        vals = map.lookup(key);
      } catch {
        return [];
      }
      if (vals === undefined) return [];
      const v = vals[0];
      const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
      const out: bigint[] = [];
      for (let i = 0; i + 8 <= v.length; i += 8) {
        const ip = view.getBigUint64(i, true);
        if (ip === 0n) break;
        out.push(ip);
      }
      return out;
    };
    return {
      ksym: (addr) => this.ksym(addr),
      usym: (addr) => this.usym(addr),
      stackAddresses: addresses,
      userModule: (addr, pid) =>
        this.userModule(addr, pid === undefined ? undefined : exeOf(pid)),
      stack: (mapIndex, id, kernel) => {
        return addresses(mapIndex, id).map((ip) =>
          kernel ? this.kframe(ip) : this.uframe(ip)
        );
      },
    };
  }
}

function hex(addr: bigint): string {
  return "0x" + addr.toString(16);
}

const ENTRY = ["do_syscall_64", "entry_SYSCALL_64_after_hwframe"];

/** Kernel functions laid out first (in this order). */
const KERNEL_FUNCTIONS = [
  "_stext",
  "startup_64",
  "secondary_startup_64_no_verify",
  "common_startup_64",
  "start_secondary",
  "cpu_startup_entry",
  "do_idle",
  "default_idle_call",
  "default_idle",
  "pv_native_safe_halt",
  "schedule_idle",
  "__schedule",
  "schedule",
  "schedule_hrtimeout_range_clock",
  "schedule_timeout",
  "do_epoll_wait",
  "__x64_sys_epoll_wait",
  "futex_wait_queue",
  "futex_wait",
  "do_futex",
  "__x64_sys_futex",
  "worker_thread",
  "process_one_work",
  "kthread",
  "ret_from_fork",
  "ret_from_fork_asm",
  "smpboot_thread_fn",
  "run_ksoftirqd",
  "syscall_trace_enter",
  "syscall_exit_work",
  "syscall_exit_to_user_mode",
  ...ENTRY,
  "vfs_read",
  "ksys_read",
  "vfs_write",
  "ksys_write",
  "_copy_to_user",
  "rep_movs_alternative",
  "filemap_read",
  "ext4_file_read_iter",
  "ext4_file_write_iter",
  "new_sync_read",
  "do_filp_open",
  "path_openat",
  "link_path_walk",
  "do_sys_openat2",
  "tcp_sendmsg",
  "tcp_sendmsg_locked",
  "tcp_recvmsg",
  "sock_sendmsg",
  "sock_recvmsg",
  "__sys_sendto",
  "__sys_recvfrom",
  "__tcp_push_pending_frames",
  "tcp_write_xmit",
  "__tcp_transmit_skb",
  "__ip_queue_xmit",
  "ip_finish_output2",
  "__dev_queue_xmit",
  "dev_hard_start_xmit",
  "__local_bh_enable_ip",
  "do_softirq",
  "__do_softirq",
  "handle_softirqs",
  "irq_exit_rcu",
  "net_rx_action",
  "__napi_poll",
  "process_backlog",
  "virtnet_poll",
  "napi_gro_receive",
  "netif_receive_skb",
  "__netif_receive_skb",
  "__netif_receive_skb_one_core",
  "__netif_receive_skb_core",
  "ip_rcv",
  "ip_rcv_finish",
  "ip_local_deliver",
  "ip_local_deliver_finish",
  "ip_protocol_deliver_rcu",
  "nf_hook_slow",
  "tcp_v4_rcv",
  "tcp_v4_do_rcv",
  "tcp_rcv_state_process",
  "tcp_rcv_established",
  "tcp_validate_incoming",
  "__udp4_lib_rcv",
  "udp_queue_rcv_one_skb",
  "ipv6_rcv",
  "ip6_protocol_deliver_rcu",
  "tcp_v6_rcv",
  "kfree_skb_reason",
  "sk_skb_reason_drop",
  "skb_queue_purge_reason",
  "unix_release_sock",
  "unix_release",
  "__sock_release",
  "sock_close",
  "__fput",
  "task_work_run",
  "tcp_close",
  "inet_release",
  "__release_sock",
  "release_sock",
  "handle_mm_fault",
  "__handle_mm_fault",
  "do_user_addr_fault",
  "exc_page_fault",
  "asm_exc_page_fault",
  "clear_page_erms",
  "do_anonymous_page",
  "asm_sysvec_apic_timer_interrupt",
  "sysvec_apic_timer_interrupt",
  "hrtimer_interrupt",
  "blk_mq_start_request",
  "blk_mq_dispatch_rq_list",
  "__blk_mq_sched_dispatch_requests",
  "blk_mq_run_work_fn",
  "submit_bio_noacct",
  "ext4_writepages",
  "do_writepages",
  "wb_workfn",
  "try_to_wake_up",
  "wake_up_process",
  "ep_poll_callback",
  "__wake_up_common",
  "sock_def_readable",
  "kernel_clone",
  "__do_sys_clone3",
  "copy_process",
  "bprm_execve",
  "do_execveat_common",
  "__x64_sys_execve",
  "do_exit",
  "do_group_exit",
  "__x64_sys_exit_group",
  "memcpy_orig",
  "copy_page",
];

/** User functions laid out first (in this order). */
const USER_FUNCTIONS = [
  "_start",
  "__libc_start_main_impl",
  "__libc_start_call_main",
  "main",
  "start_thread",
  "clone3",
  "__libc_read",
  "__libc_write",
  "__libc_open64",
  "__libc_recv",
  "__libc_send",
  "__libc_pread64",
  "__poll",
  "epoll_wait",
  "epoll_pwait",
  "__futex_abstimed_wait_common",
  "__pthread_cond_timedwait",
  "malloc",
  "free",
  "memcpy",
];

/** Kernel call chains, by situation, innermost first. */
export const KERNEL_CHAINS = {
  idle: [
    "pv_native_safe_halt",
    "default_idle",
    "default_idle_call",
    "do_idle",
    "cpu_startup_entry",
    "start_secondary",
    "common_startup_64",
  ],
  sysEnter: ["syscall_trace_enter", ...ENTRY],
  sysExit: ["syscall_exit_work", "syscall_exit_to_user_mode", ...ENTRY],
  read: [
    "rep_movs_alternative",
    "_copy_to_user",
    "filemap_read",
    "ext4_file_read_iter",
    "vfs_read",
    "ksys_read",
    "__x64_sys_read",
    ...ENTRY,
  ],
  write: [
    "ext4_file_write_iter",
    "vfs_write",
    "ksys_write",
    "__x64_sys_write",
    ...ENTRY,
  ],
  openat: [
    "link_path_walk",
    "path_openat",
    "do_filp_open",
    "do_sys_openat2",
    "__x64_sys_openat",
    ...ENTRY,
  ],
  sendto: [
    "tcp_write_xmit",
    "__tcp_push_pending_frames",
    "tcp_sendmsg_locked",
    "tcp_sendmsg",
    "sock_sendmsg",
    "__sys_sendto",
    "__x64_sys_sendto",
    ...ENTRY,
  ],
  pageFault: [
    "clear_page_erms",
    "do_anonymous_page",
    "__handle_mm_fault",
    "handle_mm_fault",
    "do_user_addr_fault",
    "exc_page_fault",
    "asm_exc_page_fault",
  ],
  kworker: [
    "memcpy_orig",
    "process_one_work",
    "worker_thread",
    "kthread",
    "ret_from_fork",
    "ret_from_fork_asm",
  ],
  softirq: [
    "tcp_v4_rcv",
    "ip_protocol_deliver_rcu",
    "ip_local_deliver_finish",
    "__netif_receive_skb_one_core",
    "process_backlog",
    "__napi_poll",
    "net_rx_action",
    "handle_softirqs",
    "run_ksoftirqd",
    "smpboot_thread_fn",
    "kthread",
    "ret_from_fork",
    "ret_from_fork_asm",
  ],
  schedEpoll: [
    "__schedule",
    "schedule",
    "schedule_hrtimeout_range_clock",
    "do_epoll_wait",
    "__x64_sys_epoll_wait",
    ...ENTRY,
  ],
  schedFutex: [
    "__schedule",
    "schedule",
    "futex_wait_queue",
    "futex_wait",
    "do_futex",
    "__x64_sys_futex",
    ...ENTRY,
  ],
  schedWorker: [
    "__schedule",
    "schedule",
    "worker_thread",
    "kthread",
    "ret_from_fork",
    "ret_from_fork_asm",
  ],
  schedIdle: [
    "__schedule",
    "schedule_idle",
    "do_idle",
    "cpu_startup_entry",
    "start_secondary",
    "common_startup_64",
  ],
  wakeup: [
    "try_to_wake_up",
    "ep_poll_callback",
    "__wake_up_common",
    "sock_def_readable",
    "tcp_rcv_established",
    "tcp_v4_do_rcv",
    "tcp_v4_rcv",
    "ip_protocol_deliver_rcu",
    "ip_local_deliver_finish",
    "__netif_receive_skb_one_core",
    "process_backlog",
    "__napi_poll",
    "net_rx_action",
    "handle_softirqs",
    "irq_exit_rcu",
    "sysvec_apic_timer_interrupt",
    "asm_sysvec_apic_timer_interrupt",
  ],
  block: [
    "blk_mq_start_request",
    "blk_mq_dispatch_rq_list",
    "__blk_mq_sched_dispatch_requests",
    "blk_mq_run_work_fn",
    "process_one_work",
    "worker_thread",
    "kthread",
    "ret_from_fork",
    "ret_from_fork_asm",
  ],
  xmit: [
    "dev_hard_start_xmit",
    "__dev_queue_xmit",
    "ip_finish_output2",
    "__ip_queue_xmit",
    "__tcp_transmit_skb",
    "tcp_write_xmit",
    "__tcp_push_pending_frames",
    "tcp_sendmsg_locked",
    "tcp_sendmsg",
    "sock_sendmsg",
    "__sys_sendto",
    "__x64_sys_sendto",
    ...ENTRY,
  ],
  fork: [
    "copy_process",
    "kernel_clone",
    "__do_sys_clone3",
    ...ENTRY,
  ],
  exec: [
    "bprm_execve",
    "do_execveat_common",
    "__x64_sys_execve",
    ...ENTRY,
  ],
  exit: [
    "do_exit",
    "do_group_exit",
    "__x64_sys_exit_group",
    ...ENTRY,
  ],
} as const;

/**
 * `kfree_skb` call chains by drop situation: the second frame is the
 * function that dropped (the tracepoint's `location`).
 */
export const DROP_CHAINS = {
  tcpNoSocket: [
    "kfree_skb_reason",
    "tcp_v4_rcv",
    "ip_protocol_deliver_rcu",
    "ip_local_deliver_finish",
    "__netif_receive_skb_one_core",
    "process_backlog",
    "__napi_poll",
    "net_rx_action",
    "handle_softirqs",
    "do_softirq",
    "__local_bh_enable_ip",
    "ip_finish_output2",
    "__ip_queue_xmit",
    "__tcp_transmit_skb",
    "tcp_write_xmit",
    "__tcp_push_pending_frames",
    "tcp_sendmsg_locked",
    "tcp_sendmsg",
    "sock_sendmsg",
    "__sys_sendto",
    "__x64_sys_sendto",
    ...ENTRY,
  ],
  udpNoSocket: [
    "kfree_skb_reason",
    "__udp4_lib_rcv",
    "ip_protocol_deliver_rcu",
    "ip_local_deliver_finish",
    "__netif_receive_skb_one_core",
    "__netif_receive_skb",
    "netif_receive_skb",
    "napi_gro_receive",
    "virtnet_poll",
    "__napi_poll",
    "net_rx_action",
    "handle_softirqs",
    "run_ksoftirqd",
    "smpboot_thread_fn",
    "kthread",
    "ret_from_fork",
    "ret_from_fork_asm",
  ],
  unixClose: [
    "kfree_skb_reason",
    "skb_queue_purge_reason",
    "unix_release_sock",
    "unix_release",
    "__sock_release",
    "sock_close",
    "__fput",
    "task_work_run",
    "syscall_exit_to_user_mode",
    ...ENTRY,
  ],
  tcpClose: [
    "kfree_skb_reason",
    "tcp_rcv_state_process",
    "tcp_v4_do_rcv",
    "__release_sock",
    "release_sock",
    "tcp_close",
    "inet_release",
    "__sock_release",
    "sock_close",
    "__fput",
    "task_work_run",
    "syscall_exit_to_user_mode",
    ...ENTRY,
  ],
  tcpCsum: [
    "kfree_skb_reason",
    "tcp_v4_rcv",
    "ip_protocol_deliver_rcu",
    "ip_local_deliver_finish",
    "__netif_receive_skb_one_core",
    "__netif_receive_skb",
    "netif_receive_skb",
    "napi_gro_receive",
    "virtnet_poll",
    "__napi_poll",
    "net_rx_action",
    "handle_softirqs",
    "irq_exit_rcu",
    "sysvec_apic_timer_interrupt",
    "asm_sysvec_apic_timer_interrupt",
  ],
  netfilter: [
    "kfree_skb_reason",
    "nf_hook_slow",
    "ip_local_deliver",
    "ip_rcv",
    "__netif_receive_skb_one_core",
    "process_backlog",
    "__napi_poll",
    "net_rx_action",
    "handle_softirqs",
    "run_ksoftirqd",
    "smpboot_thread_fn",
    "kthread",
    "ret_from_fork",
    "ret_from_fork_asm",
  ],
} as const;

/**
 * User functions of the C library: those laid out first, but the
 * program's own `_start` and `main`, and a few more.
 */
const LIBC_FUNCTIONS = new Set([
  ...USER_FUNCTIONS.filter((f) => f !== "_start" && f !== "main"),
  "read",
  "write",
  "open",
  "close",
  "strlen",
]);

/** Shared libraries by function name. */
const LIBRARIES: [RegExp, string][] = [
  [/^g_/, "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0.7400.6"],
  [/^(SSL_|ssl3_)/, "/usr/lib/x86_64-linux-gnu/libssl.so.3"],
  [/^curl_/, "/usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0"],
  [/^sd_event_/, "/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so"],
];

const LIBC_MAIN = [
  "main",
  "__libc_start_call_main",
  "__libc_start_main_impl",
  "_start",
];
const THREAD = ["start_thread", "clone3"];

/** User call chains by process kind, innermost first. */
export const USER_CHAINS: Readonly<Record<string, readonly string[][]>> = {
  kernel: [],
  web: [
    [
      "epoll_wait",
      "ngx_epoll_process_events",
      "ngx_process_events_and_timers",
      "ngx_worker_process_cycle",
      "ngx_spawn_process",
      "ngx_start_worker_processes",
      "ngx_master_process_cycle",
      ...LIBC_MAIN,
    ],
    [
      "__libc_write",
      "ngx_linux_sendfile_chain",
      "ngx_http_write_filter",
      "ngx_http_output_filter",
      "ngx_http_static_handler",
      "ngx_http_core_content_phase",
      "ngx_http_core_run_phases",
      "ngx_http_process_request",
      "ngx_epoll_process_events",
      "ngx_process_events_and_timers",
      "ngx_worker_process_cycle",
      ...LIBC_MAIN,
    ],
  ],
  db: [
    [
      "__libc_pread64",
      "FileRead",
      "mdread",
      "ReadBuffer_common",
      "ReadBufferExtended",
      "heapgetpage",
      "heapgettup_pagemode",
      "SeqNext",
      "ExecScan",
      "ExecutePlan",
      "standard_ExecutorRun",
      "PortalRunSelect",
      "PortalRun",
      "exec_simple_query",
      "PostgresMain",
      "BackendRun",
      "ServerLoop",
      "PostmasterMain",
      ...LIBC_MAIN,
    ],
    [
      "__libc_recv",
      "secure_read",
      "pq_recvbuf",
      "pq_getbyte",
      "SocketBackend",
      "PostgresMain",
      "BackendRun",
      "ServerLoop",
      "PostmasterMain",
      ...LIBC_MAIN,
    ],
  ],
  jvm: [
    [
      "__futex_abstimed_wait_common",
      "__pthread_cond_timedwait",
      "os::PlatformEvent::park",
      "Monitor::wait",
      "VMThread::loop",
      "Thread::call_run",
      "thread_native_entry",
      ...THREAD,
    ],
    [
      "__libc_read",
      "readBytes",
      "Java_java_io_FileInputStream_readBytes",
      "Interpreter",
      "call_stub",
      "JavaCalls::call_helper",
      "jni_CallStaticVoidMethod",
      "JavaMain",
      "ThreadJavaMain",
      ...THREAD,
    ],
  ],
  node: [
    [
      "epoll_pwait",
      "uv__io_poll",
      "uv_run",
      "node::SpinEventLoop",
      "node::NodeMainInstance::Run",
      "node::Start",
      ...LIBC_MAIN,
    ],
    ["__libc_write", "uv__fs_write", "uv__fs_work", "worker", ...THREAD],
  ],
  python: [
    [
      "__libc_read",
      "_Py_read",
      "_io_FileIO_read",
      "method_vectorcall_VARARGS",
      "_PyEval_EvalFrameDefault",
      "PyEval_EvalCode",
      "run_mod",
      "_PyRun_SimpleFileObject",
      "Py_RunMain",
      "Py_BytesMain",
      ...LIBC_MAIN,
    ],
    [
      "__poll",
      "select_poll_poll",
      "_PyEval_EvalFrameDefault",
      "_PyFunction_Vectorcall",
      "PyObject_Call",
      "thread_run",
      "pythread_wrapper",
      ...THREAD,
    ],
  ],
  browser: [
    [
      "__poll",
      "g_main_context_iterate",
      "g_main_context_iteration",
      "base::MessagePumpGlib::Run",
      "base::RunLoop::Run",
      "content::BrowserMainLoop::RunMainMessageLoop",
      "content::BrowserMain",
      "content::ContentMainRunnerImpl::Run",
      "content::ContentMain",
      "ChromeMain",
      ...LIBC_MAIN,
    ],
    [
      "__libc_send",
      "mojo::core::ChannelPosix::WriteNoLock",
      "mojo::core::NodeChannel::SendChannelMessage",
      "base::TaskAnnotator::RunTaskImpl",
      "base::internal::WorkerThread::RunWorker",
      "base::PlatformThread::ThreadFunc",
      ...THREAD,
    ],
  ],
  shell: [
    [
      "__libc_read",
      "rl_getc",
      "rl_read_key",
      "readline_internal_char",
      "readline",
      "yy_readline_get",
      "shell_getc",
      "read_command",
      "reader_loop",
      ...LIBC_MAIN,
    ],
  ],
  daemon: [
    [
      "epoll_wait",
      "sd_event_wait",
      "sd_event_run",
      "manager_loop",
      ...LIBC_MAIN,
    ],
    [
      "__libc_write",
      "write_to_journal",
      "server_dispatch_message",
      "stdout_stream_process",
      "sd_event_run",
      ...LIBC_MAIN,
    ],
    [
      "epoll_pwait",
      "runtime.epollwait",
      "runtime.netpoll",
      "runtime.findRunnable",
      "runtime.schedule",
      "runtime.park_m",
      "runtime.mcall",
    ],
  ],
  tool: [
    [
      "__libc_read",
      "ssl3_read_bytes",
      "SSL_read",
      "curl_easy_perform",
      "operate",
      ...LIBC_MAIN,
    ],
    ["__libc_open64", "open_file", "cc1_main", "toplev::main", ...LIBC_MAIN],
  ],
};

/**
 * A plausible chain of callers of user function `name`, innermost first:
 * the frames after it in a known call chain, else `main` and the C
 * library's start-up.
 *
 * @example Usage
 * ```ts
 * import { userCallers } from "./symbols.ts";
 * console.assert(userCallers("parity_target")[0] === "main");
 * console.assert(userCallers("readline")[0] === "yy_readline_get");
 * ```
 */
export function userCallers(name: string): readonly string[] {
  for (const chains of Object.values(USER_CHAINS)) {
    for (const c of chains) {
      const i = c.indexOf(name);
      if (i >= 0) return c.slice(i + 1);
    }
  }
  const i = LIBC_MAIN.indexOf(name);
  return i >= 0 ? LIBC_MAIN.slice(i + 1) : LIBC_MAIN;
}

/**
 * A plausible chain of callers of kernel function `name`, innermost
 * first: the frames after it in a known call chain, else the read path
 * (`vfs_read`, `ksys_read`, ...).
 *
 * @example Usage
 * ```ts
 * import { kernelCallers } from "./symbols.ts";
 * console.assert(kernelCallers("vfs_read")[0] === "ksys_read");
 * console.assert(kernelCallers("no_such_function")[0] === "vfs_read");
 * ```
 */
export function kernelCallers(name: string): readonly string[] {
  for (
    const c of [
      ...Object.values(KERNEL_CHAINS),
      ...Object.values(DROP_CHAINS),
    ] as readonly (readonly string[])[]
  ) {
    const i = c.indexOf(name);
    if (i >= 0) return c.slice(i + 1);
  }
  return KERNEL_CHAINS.read.slice(4);
}
