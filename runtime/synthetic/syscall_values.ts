/**
 * Plausible syscall traffic: the mix of syscalls a busy server makes,
 * argument values by argument name, and return values by syscall.
 *
 * @module
 */

import type { Prng } from "./prng.ts";
import type { World } from "./world.ts";

/** Relative frequency of syscalls on a busy server. */
export const SYSCALL_MIX: Readonly<Record<string, number>> = {
  read: 20,
  write: 12,
  futex: 10,
  epoll_wait: 8,
  recvfrom: 6,
  sendto: 5,
  openat: 5,
  close: 5,
  newfstatat: 4,
  fstat: 2,
  mmap: 3,
  poll: 3,
  ppoll: 2,
  ioctl: 3,
  lseek: 2,
  pread64: 2,
  pwrite64: 1,
  getpid: 1,
  nanosleep: 1,
  clock_nanosleep: 2,
  writev: 2,
  readv: 1,
  accept4: 1,
  connect: 1,
  rt_sigprocmask: 2,
  rt_sigaction: 1,
  brk: 1,
  munmap: 1,
  mprotect: 1,
  madvise: 0.5,
  getrandom: 1,
  sched_yield: 1,
  fcntl: 1,
  statx: 1,
  epoll_ctl: 2,
  recvmsg: 2,
  sendmsg: 2,
  gettid: 0.5,
  getdents64: 0.5,
  clone3: 0.2,
  execve: 0.1,
  exit_group: 0.1,
  wait4: 0.2,
  kill: 0.1,
  socket: 0.3,
  bind: 0.1,
  listen: 0.05,
  select: 0.5,
  access: 0.5,
  unlink: 0.2,
  rename: 0.1,
  mkdir: 0.05,
};

const SIZES = [
  1,
  8,
  16,
  64,
  128,
  512,
  832,
  1024,
  4096,
  4096,
  4096,
  8192,
  8192,
  16384,
  65536,
  131072,
];

function fd(rng: Prng): number {
  const r = rng.float();
  if (r < 0.1) return rng.below(3);
  if (r < 0.6) return 3 + rng.below(8);
  if (r < 0.95) return 11 + rng.below(54);
  return 100 + rng.below(924);
}

function userPtr(rng: Prng): number {
  return 0x7f3a1c000000 + rng.below(0x1000000) * 16;
}

function heapPtr(rng: Prng): number {
  return 0x55d4e8a00000 + rng.below(0x100000) * 16;
}

const OPEN_FLAGS = [
  0x80000,
  0x80000,
  0x80000,
  0,
  0x80241,
  0x80002,
  0x98800,
  0x441,
];
const PATH_ARGS = new Set([
  "filename",
  "pathname",
  "path",
  "oldname",
  "newname",
  "oldpath",
  "newpath",
  "name",
  "library",
  "specialfile",
  "dir_name",
  "dev_name",
  "linkpath",
  "target",
]);

/**
 * Whether a syscall argument is a path string pointer.
 *
 * @example Usage
 * ```ts
 * import { isPathArg } from "./syscall_values.ts";
 * console.assert(isPathArg("filename", "const char *"));
 * console.assert(!isPathArg("count", "size_t"));
 * ```
 */
export function isPathArg(name: string, ctype: string): boolean {
  return PATH_ARGS.has(name) && ctype.includes("char");
}

/**
 * A plausible value for syscall `sys`'s argument `name` (C type `ctype`).
 * Path arguments get a user address of a real path string.
 *
 * @example Usage
 * ```ts
 * import { syscallArg } from "./syscall_values.ts";
 * import { World } from "./world.ts";
 * const w = new World(1, 2);
 * console.assert(syscallArg("openat", "dfd", "int", w.rng, w) <= 1023);
 * ```
 */
export function syscallArg(
  sys: string,
  name: string,
  ctype: string,
  rng: Prng,
  world: World,
): number {
  if (isPathArg(name, ctype)) {
    const t = world.procs.eligible[rng.below(world.procs.eligible.length)];
    const list = world.pathAddrs[t.index] ?? world.bufferAddrs;
    return list[rng.below(list.length)];
  }
  switch (name) {
    case "fd":
    case "oldfd":
    case "newfd":
    case "epfd":
    case "sockfd":
    case "ufd":
      return fd(rng);
    case "dfd":
    case "olddfd":
    case "newdfd":
      return rng.float() < 0.85 ? -100 : fd(rng);
    case "buf":
    case "ubuf":
    case "msg":
      return rng.pick(world.bufferAddrs);
    case "count":
    case "len":
    case "size":
    case "nbytes":
    case "bufsiz":
    case "vlen":
    case "addrlen":
      return sys === "writev" || sys === "readv" || name === "vlen"
        ? 1 + rng.below(4)
        : name === "addrlen"
        ? rng.pick([16, 28, 110])
        : rng.pick(SIZES);
    case "flags":
      if (sys === "openat" || sys === "open") return rng.pick(OPEN_FLAGS);
      if (sys === "accept4") return 0x80800;
      if (sys === "mmap") return rng.pick([0x22, 0x2, 0x1, 0x812]);
      if (sys === "recvfrom" || sys === "sendto" || sys.endsWith("msg")) {
        return rng.pick([0, 0, 0x40, 0x4000]);
      }
      return rng.float() < 0.7 ? 0 : rng.pick([0x800, 0x80000, 1, 0x100]);
    case "mode":
      return rng.pick([0, 0, 0, 0o644, 0o666, 0o600, 0o755]);
    case "pid":
    case "upid":
    case "tgid":
      return rng.float() < 0.1 ? -1 : rng.pick(world.procs.threads).pid;
    case "sig":
      return rng.pick([0, 9, 15, 17, 2, 10, 1]);
    case "rqtp": {
      // A timespec in readable user memory (the draw kept as before).
      const r = userPtr(rng);
      const [sec, nsec] = SLEEPS[Number(BigInt(r) % BigInt(SLEEPS.length))];
      return world.memory.pointers([sec, nsec]);
    }
    case "addr":
    case "start":
    case "brk":
    case "uaddr":
    case "uaddr2":
    case "umyaddr":
    case "usockaddr":
    case "upeer_sockaddr":
    case "utime":
    case "rmtp":
    case "tsp":
    case "tvp":
    case "set":
    case "oset":
    case "act":
    case "oact":
    case "statbuf":
    case "buffer":
    case "dirent":
    case "vec":
    case "events":
    case "ufds":
    case "event":
      return name === "addr" && sys === "mmap" && rng.float() < 0.7
        ? 0
        : userPtr(rng);
    case "prot":
      return rng.pick([3, 5, 1, 0]);
    case "off":
    case "offset":
    case "pos":
    case "pgoff":
      return rng.float() < 0.4 ? 0 : rng.below(1 << 18) * 4096;
    case "timeout":
    case "timeout_msecs":
      return rng.pick([-1, 0, 1000, 5000, 100, 10, -1]);
    case "maxevents":
      return rng.pick([64, 128, 512, 1024]);
    case "cmd":
      return sys === "ioctl"
        ? rng.pick([0x5401, 0x541b, 0x5413, 0x8933])
        : rng.pick([1, 2, 3, 4]);
    case "op":
      return rng.pick([128, 129, 137, 393]);
    case "val":
      return rng.pick([0, 1, 2, 2147483647]);
    case "family":
    case "domain":
      return rng.pick([2, 2, 10, 1, 16]);
    case "type":
      return rng.pick([1, 0x80801, 2, 0x80802]);
    case "protocol":
      return rng.pick([0, 6, 17]);
    case "how":
    case "whence":
      return rng.below(3);
    case "which_clock":
      return rng.pick([0, 1, 1, 7]);
    case "backlog":
      return rng.pick([128, 511, 4096]);
    case "nr":
    case "n":
    case "nfds":
      return 1 + rng.below(32);
    case "sigsetsize":
      return 8;
    case "argv":
    case "envp":
      return heapPtr(rng);
  }
  if (ctype.includes("*")) return heapPtr(rng);
  return rng.below(17);
}

const E = {
  EPERM: -1,
  ENOENT: -2,
  EINTR: -4,
  EBADF: -9,
  ECHILD: -10,
  EAGAIN: -11,
  ENOMEM: -12,
  EACCES: -13,
  EEXIST: -17,
  ENOTDIR: -20,
  EINVAL: -22,
  EPIPE: -32,
  ENOTTY: -25,
  ECONNRESET: -104,
  ETIMEDOUT: -110,
  EINPROGRESS: -115,
} as const;

function size(rng: Prng): number {
  const r = rng.float();
  if (r < 0.3) return rng.pick([4096, 8192, 16384, 65536]);
  // Log-uniform 1 .. 64 KiB.
  return Math.max(1, Math.floor(Math.exp(rng.float() * Math.log(65536))));
}

/**
 * A plausible return value of syscall `sys` (negative: -errno).
 *
 * @example Usage
 * ```ts
 * import { syscallRet } from "./syscall_values.ts";
 * import { World } from "./world.ts";
 * const w = new World(1, 2);
 * const r = syscallRet("close", w.rng, w);
 * console.assert(r === 0 || r < 0);
 * ```
 */
export function syscallRet(sys: string, rng: Prng, world: World): number {
  const r = rng.float();
  switch (sys) {
    case "read":
    case "pread64":
    case "readv":
    case "recvfrom":
    case "recvmsg":
      if (r < 0.7) return size(rng);
      if (r < 0.78) return 0;
      if (r < 0.93) return E.EAGAIN;
      if (r < 0.97) return E.EINTR;
      if (r < 0.99) return E.ECONNRESET;
      return E.EBADF;
    case "write":
    case "pwrite64":
    case "writev":
    case "sendto":
    case "sendmsg":
      if (r < 0.9) return size(rng);
      if (r < 0.95) return E.EAGAIN;
      if (r < 0.98) return E.EPIPE;
      return E.EINTR;
    case "openat":
    case "open":
    case "socket":
    case "accept4":
      if (r < 0.75) return 3 + rng.below(60);
      if (r < 0.95) return sys === "accept4" ? E.EAGAIN : E.ENOENT;
      if (r < 0.99) return E.EACCES;
      return E.ENOTDIR;
    case "execve":
    case "execveat":
      return r < 0.9 ? 0 : r < 0.97 ? E.ENOENT : E.EACCES;
    case "newfstatat":
    case "statx":
    case "access":
    case "unlink":
      return r < 0.8 ? 0 : r < 0.98 ? E.ENOENT : E.EACCES;
    case "epoll_wait":
    case "poll":
    case "ppoll":
    case "select":
      return r < 0.3 ? 0 : 1 + Math.floor(Math.pow(rng.float(), 3) * 16);
    case "futex":
      return r < 0.7 ? (r < 0.35 ? 0 : 1) : r < 0.9 ? E.EAGAIN : E.ETIMEDOUT;
    case "mmap":
      return r < 0.98 ? 0x7f3a1c000000 + rng.below(0x10000) * 4096 : E.ENOMEM;
    case "brk":
      return 0x55d4e8a00000 + rng.below(0x1000) * 4096;
    case "getpid":
    case "gettid":
    case "clone3":
    case "wait4":
      return sys === "wait4" && r < 0.3
        ? E.ECHILD
        : rng.pick(world.procs.threads).pid;
    case "connect":
      return r < 0.6 ? E.EINPROGRESS : r < 0.95 ? 0 : E.ECONNRESET;
    case "ioctl":
      return r < 0.7 ? 0 : E.ENOTTY;
    case "lseek":
      return rng.below(1 << 20) * 512;
    case "getrandom":
      return rng.pick([16, 32, 8]);
    case "getdents64":
      return r < 0.5 ? 0 : 24 * (1 + rng.below(100));
    case "nanosleep":
    case "clock_nanosleep":
      return r < 0.95 ? 0 : E.EINTR;
  }
  if (r < 0.92) return 0;
  return r < 0.96 ? E.EINVAL : E.EAGAIN;
}

/** Sleeps `rqtp` asks for: [tv_sec, tv_nsec]. */
const SLEEPS: readonly [number, number][] = [
  [0, 12_300_000],
  [1, 0],
  [0, 1_000_000],
  [0, 50_000_000],
  [5, 0],
];
