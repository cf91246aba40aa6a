/**
 * The synthetic source of probes whose context is `pt_regs`: kprobes,
 * kretprobes, uprobes, uretprobes (and USDT's base): arguments of well-known
 * kernel functions, return values like the syscalls', user and kernel
 * stacks.
 *
 * @module
 */

import type { AttachPoint } from "../program.ts";
import { PT_REGS, PT_REGS_ARGS, PT_REGS_SIZE } from "../probes/pt_regs.ts";
import type { SyntheticThread } from "./processes.ts";
import { kernelCallers } from "./kernel_chains.ts";
import { userCallers } from "./user_chains.ts";
import { POOL_SIZE } from "./tracepoint_records.ts";
import type { World } from "./world.ts";
import { syscallRet } from "./syscall_values.ts";
import { TcpLives } from "./tcp_lives.ts";
import { kprobePair } from "./pairing.ts";
import { EventSource, writeU64 } from "./event_source.ts";

/**
 * Kernel functions that run rarely on a healthy machine, with the events
 * per second at most their kprobes see (an OOM kill is news, not a
 * stream).
 */
const RARE_KERNEL_FUNCTIONS: Readonly<Record<string, number>> = {
  oom_kill_process: 1,
};

/**
 * User functions that run rarely, with the events per second at most
 * their uprobes see: a name resolved, a thread started.
 */
const RARE_USER_FUNCTIONS: Readonly<Record<string, number>> = {
  getaddrinfo: 20,
  gethostbyname: 5,
  gethostbyname2: 5,
  pthread_create: 20,
};

/**
 * How often the VFS functions run, relative to `vfs_read`: reads and
 * writes most, then opens and stats; the other `vfs_*` functions (mknod,
 * rename, setxattr, …) a two-hundredth as often, so that a `kprobe:vfs_*`
 * count looks like a machine's.
 */
const VFS_SHARES: Readonly<Record<string, number>> = {
  vfs_read: 1,
  vfs_write: 0.8,
  vfs_open: 0.3,
  vfs_getattr: 0.3,
  vfs_getattr_nosec: 0.3,
  vfs_statx: 0.25,
  vfs_fstat: 0.2,
  vfs_fstatat: 0.2,
  vfs_llseek: 0.15,
  vfs_writev: 0.1,
  vfs_iocb_iter_read: 0.1,
  vfs_iocb_iter_write: 0.1,
  vfs_readv: 0.05,
  vfs_iter_read: 0.05,
  vfs_iter_write: 0.05,
  vfs_splice_read: 0.02,
  vfs_fsync: 0.01,
  vfs_fsync_range: 0.01,
};
const OTHER_VFS_SHARE = 0.005;

/** Events per second of a kprobe on kernel function `fn`. */
function kernelRate(fn: string, rate: number): number {
  const rare = RARE_KERNEL_FUNCTIONS[fn];
  if (rare !== undefined) return Math.min(rate, rare);
  if (fn.startsWith("vfs_")) {
    return rate * (VFS_SHARES[fn] ?? OTHER_VFS_SHARE);
  }
  return rate;
}

const R = PT_REGS;
const ARG_OFFSETS = PT_REGS_ARGS;
const EMPTY: bigint[] = [];

/**
 * kprobe/kretprobe/uprobe/uretprobe: x86_64 `pt_regs` with arguments.
 *
 * @example Usage
 * ```ts
 * import { RegsSource } from "./sources.ts";
 * import { World } from "./world.ts";
 * const w = new World(1, 2);
 * const ap = { kind: "uprobe" as const, target: "/usr/bin/bash", symbol: "readline", text: "uprobe:/usr/bin/bash:readline" };
 * const s = new RegsSource(w, ap, 0, 168, 1000);
 * s.start(w, 0);
 * s.fire(w);
 * console.assert(w.env.comm === "bash");
 * ```
 */
export class RegsSource extends EventSource {
  readonly #templates: Uint8Array[] = [];
  readonly #kernel: boolean;
  readonly #ret: boolean;
  /**
   * `ip` of the context and `bpf_get_func_ip`: the probed address at an
   * entry, the return address (inside the caller) at a return.
   */
  readonly #ip: bigint;
  readonly #kstack: bigint[];
  readonly #ustacks: bigint[][];
  readonly #threads: SyntheticThread[];
  readonly #sym: string;
  /** Connections changing state, for `tcp_set_state`. */
  readonly #tcp?: TcpLives;
  /** The object-life pair (start/end kprobes) this function is in. */
  readonly #pair?: ReturnType<typeof kprobePair>;
  /** A kernel function on a system call's path: runs in user tasks. */
  #inSyscall = false;
  /** Events come from any user task (weighted by activity). */
  readonly #anyUser: boolean = false;

  constructor(
    world: World,
    attach: AttachPoint,
    probe: number,
    ctxSize: number,
    rate: number,
  ) {
    const kind = attach.kind;
    const kernel = kind === "kprobe" || kind === "kretprobe";
    super(
      attach,
      probe,
      Math.max(ctxSize, PT_REGS_SIZE),
      1e9 /
        (kernel
          ? kernelRate(attach.target, rate)
          : Math.min(rate, RARE_USER_FUNCTIONS[attach.symbol ?? ""] ?? rate)),
      true,
    );
    this.#kernel = kind === "kprobe" || kind === "kretprobe";
    this.#ret = kind === "kretprobe" || kind === "uretprobe";
    const sym = this.#kernel ? attach.target : (attach.symbol ?? "main");
    this.#sym = sym;
    this.#pair = kprobePair(attach);
    if (kind === "kprobe" && sym === "tcp_set_state") {
      this.#tcp = new TcpLives(world.heap);
    }
    // The OOM killer chooses among all processes, not those seen so far.
    if (this.#kernel && sym === "oom_kill_process") {
      for (const t of world.procs.eligible) world.heap.addTask(t);
    }
    const rng = world.rng;
    const off = attach.offset ?? 0;
    // The stack at an entry starts at the probed address; at a return, at
    // the return address in the caller.
    let stack: bigint[];
    let entry: bigint;
    if (this.#kernel) {
      entry = world.symbols.kernelAddress(sym) + BigInt(off);
      const names = kernelCallers(sym);
      const callers = world.symbols.kernelChain([sym, ...names]).slice(1);
      stack = this.#ret ? callers : [entry, ...callers];
      this.#kstack = stack;
      this.#inSyscall = names.includes("do_syscall_64");
      this.#ustacks = [];
    } else {
      entry = BigInt(world.symbols.userAddress(sym) + off);
      const callers = world.symbols.userChain([sym, ...userCallers(sym)])
        .slice(1);
      stack = this.#ret ? callers : [entry, ...callers];
      this.#kstack = EMPTY;
      this.#ustacks = [stack];
      // Every program has a main: the process's executable names it.
      if (sym !== "main" && sym !== "_start") {
        world.symbols.setUserModule(sym, attach.target);
      }
    }
    this.#ip = stack[0] ?? entry;
    // Threads that run this code.
    const base = attach.target.split("/").pop() ?? "";
    let threads = world.procs.eligible.filter((t) =>
      t.exe === attach.target ||
      (base !== "" && (t.comm === base || t.exe.endsWith("/" + base)))
    );
    // Servers accept connections.
    if (this.#kernel && sym === "inet_csk_accept") {
      threads = world.procs.eligible.filter((t) => SERVERS.has(t.comm));
    }
    if (threads.length === 0) {
      threads = world.procs.eligible.filter((t) =>
        (this.#kernel && !this.#inSyscall) || t.kind !== "kernel"
      );
      if (threads.length === 0) threads = [...world.procs.eligible];
      else this.#anyUser = this.#inSyscall;
      // The one traced process (-p) runs the probed program.
      if (!this.#kernel && world.pidFilter && !/\.so(\.|$)/.test(base)) {
        for (const t of threads) world.setExe(t.pid, attach.target);
      }
    }
    this.#threads = threads;
    for (let k = 0; k < POOL_SIZE; k++) {
      const b = new Uint8Array(this.ctx.length);
      const v = new DataView(b.buffer);
      const args = this.#kernel ? kernelArgs(world, sym) : userArgs(world, sym);
      // Struct arguments (a kprobe's `struct sock *`) point at objects.
      if (this.#kernel) {
        const fallback: (string | undefined)[] = [];
        this.#pair?.args.forEach((
          a,
          j,
        ) => (fallback[a] = this.#pair!.types[j]));
        if (sym === "unix_stream_read_actor") {
          // The sk_buff's data is a message (undump).
          world.heap.addUnixSkb(BigInt(args[0]), rng.below(1000));
        }
        world.heap.addArgs(sym, args, fallback);
      }
      args.forEach((a, i) =>
        typeof a === "bigint"
          ? v.setBigUint64(ARG_OFFSETS[i], a, true)
          : writeU64(v, ARG_OFFSETS[i], a)
      );
      writeU64(
        v,
        R.bp,
        this.#kernel ? 0 : 0x7ffce0f00000 + rng.below(0x10000) * 16,
      );
      writeU64(v, R.bx, rng.below(1 << 20));
      const obj = this.#ret && this.#kernel
        ? world.heap.returnObject(sym, rng.below(1000))
        : undefined;
      const ret = obj !== undefined
        ? obj
        : this.#ret
        ? (this.#kernel
          ? syscallRet(retLike(sym), rng, world)
          : userRet(world, sym))
        : rng.below(1 << 16);
      if (typeof ret === "bigint") v.setBigUint64(R.ax, ret, true);
      else writeU64(v, R.ax, ret);
      writeU64(v, R.orig_ax, this.#kernel ? 0 : -1);
      v.setBigUint64(R.ip, this.#ip, true);
      writeU64(v, R.cs, this.#kernel ? 0x10 : 0x33);
      writeU64(v, R.flags, 0x246);
      if (this.#kernel) {
        v.setBigUint64(
          R.sp,
          0xffffc90000a3fd80n - BigInt(rng.below(64) * 8),
          true,
        );
      } else writeU64(v, R.sp, 0x7ffce0f00000 + rng.below(0x10000) * 16);
      writeU64(v, R.ss, this.#kernel ? 0x18 : 0x2b);
      this.#templates.push(b);
    }
  }

  fire(world: World): void {
    const rng = world.rng;
    const r = rng.next();
    if (this.queue !== undefined) {
      const p = this.queue.peek()!;
      this.ctx.set(this.#templates[r & (POOL_SIZE - 1)]);
      if (p.args === undefined) {
        this.#setEnv(world, p.thread, p.cpu, r);
        return;
      }
      // The end of an object's life: its pointer, in the current task.
      const pair = this.#pair!;
      this.queue.objects.delete(p.args[0]);
      p.args.forEach((a, i) =>
        this.view.setBigUint64(ARG_OFFSETS[pair.args[i]], a, true)
      );
      const t = world.pickThread();
      this.#setEnv(world, t, world.cpuFor(t, r >>> 16), r);
      return;
    }
    const ts = this.#threads;
    let t = this.#anyUser
      ? world.pickUserThread()
      : ts.length === world.procs.eligible.length
      ? world.pickThread()
      : ts[(r >>> 8) % ts.length];
    this.ctx.set(this.#templates[r & (POOL_SIZE - 1)]);
    if (this.#tcp !== undefined) {
      const step = this.#tcp.step(t, rng.next());
      this.view.setBigUint64(ARG_OFFSETS[0], step.sk, true);
      this.view.setBigUint64(ARG_OFFSETS[1], BigInt(step.state), true);
      t = step.thread;
    }
    const cpu = world.cpuFor(t, r >>> 16);
    this.#setEnv(world, t, cpu, r);
    if (this.returns === undefined) return;
    const pair = this.#pair;
    if (pair === undefined) this.owe(world, t, this.#sym, !this.#kernel);
    else {
      // An object not in flight already (templates repeat).
      const v = this.view;
      const busy = this.returns.queue!.objects;
      const first = ARG_OFFSETS[pair.args[0]];
      for (let k = 1; k < POOL_SIZE; k++) {
        if (!busy.has(v.getBigUint64(first, true))) break;
        this.ctx.set(this.#templates[(r + k) & (POOL_SIZE - 1)]);
      }
      busy.add(v.getBigUint64(first, true));
      const args = pair.args.map((i) => v.getBigUint64(ARG_OFFSETS[i], true));
      this.owe(world, t, pair.latency, false, undefined, args);
    }
  }

  #setEnv(world: World, t: SyntheticThread, cpu: number, r: number): void {
    const env = world.env;
    env.set(t, cpu, world.baseNs + this.next);
    env.kstack = this.#kstack;
    env.ustack = this.#kernel
      ? world.userStackFor(t, r >>> 20)
      : this.#ustacks[0];
    env.funcIp = this.#ip;
  }
}

function kheapPtr(world: World): bigint {
  return 0xffff888100000000n + BigInt(world.rng.below(0x4000000)) * 64n;
}

/** The syscall whose return values a kernel function's look like. */
function retLike(fn: string): string {
  if (/read|recv/.test(fn)) return "read";
  if (/write|send/.test(fn)) return "write";
  if (/open/.test(fn)) return "openat";
  return "close";
}

/** Arguments of well-known kernel functions, else generic ones. */
function kernelArgs(world: World, fn: string): (number | bigint)[] {
  const rng = world.rng;
  const buf = () => rng.pick(world.bufferAddrs);
  const size = () => rng.pick([1, 64, 512, 4096, 4096, 8192, 65536]);
  const path = () => {
    const t = rng.pick(world.procs.eligible);
    const list = world.pathAddrs[t.index] ?? world.bufferAddrs;
    return rng.pick(list.length > 0 ? list : world.bufferAddrs);
  };
  switch (fn) {
    case "vfs_read":
    case "vfs_write":
      return [kheapPtr(world), buf(), size(), kheapPtr(world)];
    case "ksys_read":
    case "ksys_write":
      return [3 + rng.below(60), buf(), size()];
    case "do_sys_openat2":
    case "do_sys_open":
      return [-100, path(), kheapPtr(world), 0];
    case "tcp_sendmsg":
    case "udp_sendmsg":
      return [kheapPtr(world), kheapPtr(world), size()];
    case "tcp_recvmsg":
      return [kheapPtr(world), kheapPtr(world), size(), 0, kheapPtr(world)];
    case "tcp_v4_connect":
      return [kheapPtr(world), kheapPtr(world), 16];
    case "d_lookup":
    case "md_flush_request":
      return [kheapPtr(world), kheapPtr(world)];
    case "cap_capable":
      // cred, user namespace, the capability, CAP_OPT_* (NOAUDIT = 2).
      return [
        kheapPtr(world),
        kheapPtr(world),
        rng.pick([21, 21, 12, 19, 1, 7, 6, 10, 24, 0, 3, 5, 14, 2]),
        rng.pick([0, 0, 2]),
      ];
    case "kfree_skb_reason":
      return [kheapPtr(world), rng.pick([2, 3, 3, 4, 12])];
  }
  if (fn.startsWith("__x64_sys_")) return [kheapPtr(world)];
  return genericArgs(world, true);
}

/** Programs that accept TCP connections. */
const SERVERS = new Set([
  "nginx",
  "sshd",
  "postgres",
  "java",
  "node",
  "redis-server",
  "dockerd",
]);

/** Lines typed at a shell prompt (what bash's `readline()` returns). */
const READLINE_LINES = [
  "ls -la",
  "git status",
  "cd /var/log",
  "tail -f syslog",
  "sudo systemctl restart nginx",
  "vim /etc/hosts",
  "make -j4",
  "ps aux | grep java",
  "df -h",
  "docker ps",
];

/** Host names programs resolve. */
const HOST_NAMES = [
  "shop.internal",
  "db-1.internal",
  "api.github.com",
  "deb.debian.org",
  "localhost",
  "redis",
];

/** Functions new threads start in (`pthread_create`'s routine). */
const THREAD_ROUTINES = [
  "worker_main",
  "thread_start",
  "g_thread_proxy",
  "event_loop",
  "uv__thread_start",
];

/** Arguments of well-known user functions, else generic ones. */
function userArgs(world: World, fn: string): (number | bigint)[] {
  const rng = world.rng;
  switch (fn) {
    case "getaddrinfo":
    case "gethostbyname":
    case "gethostbyname2":
      return [
        world.memory.string(rng.pick(HOST_NAMES)),
        0,
        rng.pick(world.bufferAddrs),
        rng.pick(world.bufferAddrs),
      ];
    case "pthread_create":
      return [
        rng.pick(world.bufferAddrs),
        0,
        BigInt(world.symbols.userAddress(rng.pick(THREAD_ROUTINES))),
        rng.pick(world.bufferAddrs),
      ];
  }
  return genericArgs(world, false);
}

/** The return value of a user function, at a uretprobe. */
function userRet(world: World, fn: string): number {
  const rng = world.rng;
  if (fn === "readline") {
    return world.memory.string(rng.pick(READLINE_LINES));
  }
  return rng.float() < 0.5 ? rng.pick(world.bufferAddrs) : rng.below(4096);
}

function genericArgs(world: World, kernel: boolean): (number | bigint)[] {
  const rng = world.rng;
  return [
    kernel
      ? 0xffff888100000000n + BigInt(rng.below(0x4000000)) * 64n
      : rng.pick(world.bufferAddrs),
    rng.float() < 0.5 ? rng.pick(world.bufferAddrs) : rng.below(64),
    rng.pick([0, 1, 16, 64, 512, 4096, 8192]),
    rng.below(16),
    0,
    0,
  ];
}
