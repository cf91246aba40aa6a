/**
 * The synthetic machine as a whole: its seeded generator, process table,
 * symbols, readable user memory (paths and buffers that pointers in
 * synthetic records point at), and the {@linkcode SyntheticEnv} the
 * interpreter's helpers read.
 *
 * @module
 */

import { KernelHeap } from "./kernel_heap.ts";
import type { VmEnvironment } from "../vm/environment.ts";
import { Prng } from "./prng.ts";
import {
  allPaths,
  commBytes,
  ProcessTable,
  type SyntheticThread,
} from "./processes.ts";
import { SyntheticSymbols } from "./symbols.ts";
import { USER_CHAINS } from "./user_chains.ts";

/** Start of the readable synthetic user memory (strings and buffers). */
export const USER_DATA = 0x7ffce0001000;
/** Start of the synthetic kernel heap (skb, sock, file addresses). */
export const KERNEL_HEAP: bigint = 0xffff888100000000n;

const encoder = new TextEncoder();

/** Command lines synthetic `execve()` calls run: programs, not data files. */
const EXEC_COMMANDS = [
  ["/usr/bin/ls", "-la", "/var/log"],
  ["/bin/sh", "-c", "uptime"],
  ["/usr/bin/git", "status", "--short"],
  ["/usr/bin/cat", "/etc/hostname"],
  ["/usr/bin/grep", "-q", "root", "/etc/passwd"],
  ["/usr/bin/python3", "manage.py", "check"],
  ["/usr/bin/curl", "-s", "http://127.0.0.1:8080/healthz"],
  ["/usr/sbin/logrotate", "/etc/logrotate.conf"],
  ["/usr/bin/ps", "-eo", "pid,comm"],
  ["/usr/bin/sleep", "1"],
  ["/usr/bin/uname", "-r"],
  ["/usr/lib/postgresql/15/bin/pg_ctl", "status"],
];

const BUFFER_TEXT = [
  "GET /api/v1/orders?limit=50 HTTP/1.1\r\nHost: shop.internal\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
  'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: application/json\r\nContent-Length: 1289\r\n\r\n{"orders":[{"id":4412,"status":"shipped"}]}',
  '{"level":"info","ts":1732585200.123,"msg":"request served","path":"/healthz","status":200,"duration_ms":1.7}\n',
  "2024-11-26 01:12:09.417 UTC [4242] LOG:  checkpoint complete: wrote 117 buffers (0.7%)\n",
  "SELECT id, name, price FROM products WHERE category_id = $1 ORDER BY price LIMIT 20",
  "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
  "Nov 26 01:12:09 web-1 systemd[1]: Started session-42.scope - Session 42 of User dev.\n",
];

/**
 * Readable synthetic user memory: NUL-terminated strings at fixed
 * addresses from {@linkcode USER_DATA}, followed by zero padding so string
 * reads never run off the end.
 *
 * @example Usage
 * ```ts
 * import { UserMemory } from "./world.ts";
 * const m = new UserMemory();
 * const at = m.string("/etc/hosts");
 * console.assert(m.read(BigInt(at), 4)?.[1] === 0x65);
 * console.assert(m.read(0x1000n, 4) === null);
 * ```
 */
export class UserMemory {
  #bytes = new Uint8Array(1 << 16);
  #used = 0;
  readonly #strings = new Map<string, number>();
  readonly #fixed: { addr: bigint; bytes: Uint8Array }[] = [];

  /** Address of `text` (NUL-terminated) in user memory, storing it once. */
  string(text: string): number {
    const known = this.#strings.get(text);
    if (known !== undefined) return known;
    const b = encoder.encode(text);
    const need = this.#used + b.length + 1;
    if (need + 4096 > this.#bytes.length) {
      const bigger = new Uint8Array(
        Math.max(this.#bytes.length * 2, need + 8192),
      );
      bigger.set(this.#bytes);
      this.#bytes = bigger;
    }
    const at = USER_DATA + this.#used;
    this.#bytes.set(b, this.#used);
    this.#used = (need + 7) & ~7;
    this.#strings.set(text, at);
    return at;
  }

  /**
   * Address of a NULL-terminated array of pointers (8 bytes each, little
   * endian), as `argv` is; stored anew on every call.
   */
  pointers(addrs: readonly number[]): number {
    const bytes = new Uint8Array((addrs.length + 1) * 8);
    const view = new DataView(bytes.buffer);
    addrs.forEach((a, i) => view.setBigUint64(i * 8, BigInt(a), true));
    const need = this.#used + bytes.length;
    if (need + 4096 > this.#bytes.length) {
      const bigger = new Uint8Array(
        Math.max(this.#bytes.length * 2, need + 8192),
      );
      bigger.set(this.#bytes);
      this.#bytes = bigger;
    }
    const at = USER_DATA + this.#used;
    this.#bytes.set(bytes, this.#used);
    this.#used = (need + 7) & ~7;
    return at;
  }

  /**
   * Address of `len` fresh zero bytes (8-byte aligned) in user memory,
   * for values a probe's arguments point at.
   */
  reserve(len: number): number {
    return this.pointers(
      new Array(Math.max(0, Math.ceil(len / 8) - 1)).fill(0),
    );
  }

  /**
   * Makes `len` zero bytes readable at the fixed address `addr` (outside
   * the string area: a binary's data, such as a variable a USDT argument
   * names).
   */
  map(addr: bigint, len: number): void {
    if (this.#fixed.some((f) => f.addr === addr && f.bytes.length >= len)) {
      return;
    }
    this.#fixed.push({ addr, bytes: new Uint8Array(len) });
  }

  /** Writes `bytes` at `addr`; false when that is not synthetic memory. */
  write(addr: bigint, bytes: Uint8Array): boolean {
    const at = this.read(addr, bytes.length);
    if (at === null) return false;
    at.set(bytes);
    return true;
  }

  /** `len` bytes at `addr`, or null outside the synthetic memory. */
  read(addr: bigint, len: number): Uint8Array | null {
    for (const f of this.#fixed) {
      if (
        addr >= f.addr && addr + BigInt(len) <= f.addr + BigInt(f.bytes.length)
      ) {
        const o = Number(addr - f.addr);
        return f.bytes.subarray(o, o + len);
      }
    }
    if (addr < BigInt(USER_DATA)) return null;
    const off = Number(addr - BigInt(USER_DATA));
    if (off + len > this.#bytes.length || len < 0) return null;
    return this.#bytes.subarray(off, off + len);
  }
}

const EMPTY: bigint[] = [];

/** What {@linkcode SyntheticEnv.save} keeps of the current event. */
export interface EnvState {
  thread: SyntheticThread;
  cpu: number;
  timeNs: number;
  funcIp: bigint;
  kstack: bigint[];
  ustack: bigint[];
}

/**
 * The process context of the event being run, as the interpreter's
 * helpers see it. One mutable object, updated per event.
 *
 * @example Usage
 * ```ts
 * import { World } from "./world.ts";
 * const w = new World(1, 2);
 * w.env.set(w.procs.self, 1, 5000);
 * console.assert(w.env.comm === "tsbpf" && w.env.nowNs() === 5000n);
 * ```
 */
export class SyntheticEnv implements VmEnvironment {
  pid = 0;
  tid = 0;
  uid = 0;
  gid = 0;
  comm = "";
  /** `comm` as 16 NUL-padded bytes (for helpers that can use it). */
  commBytes: Uint8Array = commBytes("");
  cpu = 0;
  readonly numCpus: number;
  cgroupId = 1n;
  task = 0n;
  funcIp = 0n;
  /** Kernel stack of the current event, innermost first. */
  kstack: bigint[] = EMPTY;
  /** User stack of the current event, innermost first. */
  ustack: bigint[] = EMPTY;
  /** Monotonic nanoseconds of the current event. */
  timeNs = 0;
  /** The current event's thread (undefined before the first). */
  thread?: SyntheticThread;
  /** Nanoseconds between boot and the monotonic clock (suspend time). */
  readonly bootOffsetNs: number;
  /**
   * The wall-clock time (ns since the Unix epoch) at which the boot clock
   * read zero: `taiNs()` adds it, so that CLOCK_TAI follows the synthetic
   * clock (no leap seconds told to the kernel, TAI = UTC).
   */
  wallBootNs = 0n;
  #reads = 0;
  readonly #rng: Prng;
  readonly #memory: UserMemory;
  readonly #heap: KernelHeap | undefined;

  /** @param rng Generator for `bpf_get_prandom_u32` only. */
  constructor(
    numCpus: number,
    rng: Prng,
    memory: UserMemory,
    bootOffsetNs = 0,
    heap?: KernelHeap,
  ) {
    this.#heap = heap;
    this.numCpus = numCpus;
    this.#rng = rng;
    this.#memory = memory;
    this.bootOffsetNs = bootOffsetNs;
  }

  /** Makes `t` on `cpu` at `timeNs` the current context. */
  set(t: SyntheticThread, cpu: number, timeNs: number): void {
    this.thread = t;
    this.pid = t.pid;
    this.tid = t.tid;
    this.uid = t.uid;
    this.gid = t.gid;
    this.comm = t.comm;
    this.commBytes = t.commBytes;
    this.cgroupId = t.cgroupId;
    this.task = t.task;
    this.#heap?.addTask(t);
    this.cpu = cpu;
    this.timeNs = timeNs;
    this.#reads = 0;
  }

  /** The current event's context, to {@linkcode restore} it later. */
  save(): EnvState | undefined {
    const t = this.thread;
    if (t === undefined) return undefined;
    return {
      thread: t,
      cpu: this.cpu,
      timeNs: this.timeNs,
      funcIp: this.funcIp,
      kstack: this.kstack,
      ustack: this.ustack,
    };
  }

  /** Makes a saved context current again. */
  restore(s: EnvState | undefined): void {
    if (s === undefined) return;
    this.set(s.thread, s.cpu, s.timeNs);
    this.funcIp = s.funcIp;
    this.kstack = s.kstack;
    this.ustack = s.ustack;
  }

  nowNs(): bigint {
    // The clock moves on a little while the program runs.
    return BigInt(this.timeNs + 150 * this.#reads++);
  }

  bootNs(): bigint {
    return BigInt(this.timeNs + this.bootOffsetNs + 150 * this.#reads++);
  }

  taiNs(): bigint {
    return this.wallBootNs + this.bootNs();
  }

  random32(): number {
    return this.#rng.next();
  }

  kernelStack(): bigint[] {
    return this.kstack;
  }

  userStack(): bigint[] {
    return this.ustack;
  }

  readMemory(addr: bigint, len: number, user: boolean): Uint8Array | null {
    return user
      ? this.#memory.read(addr, len)
      : this.#heap?.read(addr, len) ?? null;
  }

  percpuAddress(btfId: number, cpu: number): bigint | undefined {
    return this.#heap?.percpu(btfId, cpu);
  }
}

/**
 * Everything sources need to make events.
 *
 * @example Usage
 * ```ts
 * import { World } from "./world.ts";
 * const w = new World(3, 2);
 * console.assert(w.pickThread().comm.length > 0);
 * ```
 */
export class World {
  /** Event generator (seeded). */
  readonly rng: Prng;
  readonly numCpus: number;
  readonly procs: ProcessTable;
  readonly symbols: SyntheticSymbols;
  readonly memory: UserMemory = new UserMemory();
  /** Kernel objects synthetic pointers point at (tasks, skbs). */
  readonly heap: KernelHeap = new KernelHeap();
  readonly env: SyntheticEnv;
  /** Per thread index, the user addresses of its paths. */
  readonly pathAddrs: number[][] = [];
  /** Per thread index, its user call chains. */
  readonly userStacks: bigint[][][] = [];
  /** Per thread index, the executable path as bytes (with NUL). */
  readonly exeBytes: Uint8Array[] = [];
  /** Whether events are restricted to one process (`-p`). */
  readonly pidFilter: boolean;
  /** Monotonic nanoseconds at virtual time 0 (the machine's uptime). */
  readonly baseNs: number;
  /** Buffers with realistic text, as user addresses. */
  readonly bufferAddrs: number[];
  /** Programs `execve()` runs: the path's and the `argv` array's addresses. */
  readonly execs: { path: number; argv: number }[];
  /** Executable per pid. */
  readonly #exes = new Map<number, string>();

  constructor(seed: number, numCpus: number, pid?: number) {
    this.rng = new Prng(seed);
    this.numCpus = numCpus;
    this.procs = new ProcessTable(this.rng, numCpus, pid);
    this.pidFilter = pid !== undefined;
    this.symbols = new SyntheticSymbols();
    this.baseNs = (3600 + this.rng.below(86400 * 3)) * 1e9 +
      this.rng.below(1e9);
    this.env = new SyntheticEnv(
      numCpus,
      new Prng(seed ^ 0x5bd1e995),
      this.memory,
      this.rng.below(600) * 1e9,
      this.heap,
    );
    const init = this.procs.threads.find((t) => t.pid === 1) ??
      this.procs.idle[0];
    if (init !== undefined) this.heap.setParent(init);
    this.heap.cpuLoad = (cpu) => {
      // Processes (thread group leaders) and threads placed on `cpu`; at
      // least the one running there is runnable, a few more may wait.
      let processes = 0, threads = 0;
      for (const t of this.procs.threads) {
        if (t.cpu % numCpus !== cpu) continue;
        threads++;
        if (t.pid === t.tid) processes++;
      }
      return { processes, running: 1 + threads % 3 };
    };
    for (const p of allPaths()) this.memory.string(p);
    this.bufferAddrs = BUFFER_TEXT.map((t) => this.memory.string(t));
    this.execs = EXEC_COMMANDS.map((argv) => ({
      path: this.memory.string(argv[0]),
      argv: this.memory.pointers(argv.map((a) => this.memory.string(a))),
    }));
    const chainCache = new Map<string, bigint[][]>();
    for (const t of this.procs.threads) {
      if (t.exe !== "" && !this.#exes.has(t.pid)) this.#exes.set(t.pid, t.exe);
      this.pathAddrs[t.index] = t.paths.map((p) => this.memory.string(p));
      let chains = chainCache.get(t.kind);
      if (chains === undefined) {
        chains = (USER_CHAINS[t.kind] ?? []).map((c) =>
          this.symbols.userChain(c)
        );
        chainCache.set(t.kind, chains);
      }
      this.userStacks[t.index] = chains;
      this.exeBytes[t.index] = encoder.encode(
        (t.exe || `/usr/bin/${t.comm}`) + "\0",
      );
    }
  }

  /** The executable process `pid` runs, if it is known and not a kernel thread. */
  exeOf(pid: number): string | undefined {
    return this.#exes.get(pid);
  }

  /** Makes process `pid` run `path` (a uprobe's binary under `-p`). */
  setExe(pid: number, path: string): void {
    this.#exes.set(pid, path);
  }

  /** Picks the thread of the next event. */
  pickThread(): SyntheticThread {
    return this.procs.pick(this.rng.next());
  }

  /** Picks the thread of the next event among user-space threads. */
  pickUserThread(): SyntheticThread {
    return this.procs.pickUser(this.rng.next());
  }

  /** A CPU for `t`: mostly its preferred one. */
  cpuFor(t: SyntheticThread, r: number): number {
    const n = this.numCpus;
    if (n === 1) return 0;
    return (r & 7) < 6 ? t.cpu % n : (r >>> 3) % n;
  }

  /** Sets the env's user stack for `t` from a random number. */
  userStackFor(t: SyntheticThread, r: number): bigint[] {
    if (t.index < 0) return EMPTY;
    const chains = this.userStacks[t.index];
    if (chains === undefined || chains.length === 0) return EMPTY;
    return chains[r % chains.length];
  }
}
