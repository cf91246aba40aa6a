/**
 * The synthetic machine's processes: realistic names, pids, threads, users
 * and the files they touch, with a skewed (Zipf-like) share of activity — a
 * few busy processes and a long tail — fixed by the seed.
 *
 * @module
 */

import { type Prng, weightedTable, zipfWeights } from "./prng.ts";

/** What a process is, for its files and call chains. */
export type ProcessKind =
  | "kernel"
  | "daemon"
  | "web"
  | "db"
  | "jvm"
  | "node"
  | "python"
  | "browser"
  | "shell"
  | "tool";

/** One thread of the synthetic machine, as an event sees it. */
export interface SyntheticThread {
  /** Index in {@linkcode ProcessTable.threads}. */
  index: number;
  /** Thread group id. */
  pid: number;
  tid: number;
  uid: number;
  gid: number;
  /** Thread name (≤ 15 bytes). */
  comm: string;
  /** `comm` as 16 NUL-padded bytes. */
  commBytes: Uint8Array;
  kind: ProcessKind;
  /** Executable path. */
  exe: string;
  cgroupId: bigint;
  /** task_struct address. */
  task: bigint;
  /** Preferred CPU. */
  cpu: number;
  /** Files this process opens. */
  paths: readonly string[];
}

interface Spec {
  comm: string;
  kind: ProcessKind;
  exe: string;
  uid: number;
  activity: number;
  /** Number of processes with this name. */
  procs?: number;
  /** Extra thread names. */
  threads?: string[];
  fixedPid?: number;
}

const SPECS: Spec[] = [
  {
    comm: "systemd",
    kind: "daemon",
    exe: "/usr/lib/systemd/systemd",
    uid: 0,
    activity: 0.6,
    fixedPid: 1,
  },
  {
    comm: "kthreadd",
    kind: "kernel",
    exe: "",
    uid: 0,
    activity: 0.05,
    fixedPid: 2,
  },
  { comm: "ksoftirqd/0", kind: "kernel", exe: "", uid: 0, activity: 1.2 },
  { comm: "ksoftirqd/1", kind: "kernel", exe: "", uid: 0, activity: 1.0 },
  { comm: "rcu_preempt", kind: "kernel", exe: "", uid: 0, activity: 0.4 },
  { comm: "migration/0", kind: "kernel", exe: "", uid: 0, activity: 0.1 },
  { comm: "kworker/0:1", kind: "kernel", exe: "", uid: 0, activity: 0.9 },
  { comm: "kworker/1:2", kind: "kernel", exe: "", uid: 0, activity: 0.8 },
  { comm: "kworker/u4:3", kind: "kernel", exe: "", uid: 0, activity: 0.7 },
  { comm: "kswapd0", kind: "kernel", exe: "", uid: 0, activity: 0.2 },
  { comm: "jbd2/sda1-8", kind: "kernel", exe: "", uid: 0, activity: 0.3 },
  {
    comm: "systemd-journal",
    kind: "daemon",
    exe: "/usr/lib/systemd/systemd-journald",
    uid: 0,
    activity: 0.8,
  },
  {
    comm: "systemd-udevd",
    kind: "daemon",
    exe: "/usr/lib/systemd/systemd-udevd",
    uid: 0,
    activity: 0.1,
  },
  {
    comm: "systemd-resolve",
    kind: "daemon",
    exe: "/usr/lib/systemd/systemd-resolved",
    uid: 101,
    activity: 0.5,
  },
  {
    comm: "systemd-logind",
    kind: "daemon",
    exe: "/usr/lib/systemd/systemd-logind",
    uid: 0,
    activity: 0.1,
  },
  {
    comm: "dbus-daemon",
    kind: "daemon",
    exe: "/usr/bin/dbus-daemon",
    uid: 102,
    activity: 0.3,
  },
  {
    comm: "cron",
    kind: "daemon",
    exe: "/usr/sbin/cron",
    uid: 0,
    activity: 0.05,
  },
  {
    comm: "rsyslogd",
    kind: "daemon",
    exe: "/usr/sbin/rsyslogd",
    uid: 104,
    activity: 0.3,
    threads: ["in:imuxsock", "rs:main Q:Reg"],
  },
  {
    comm: "chronyd",
    kind: "daemon",
    exe: "/usr/sbin/chronyd",
    uid: 105,
    activity: 0.1,
  },
  {
    comm: "irqbalance",
    kind: "daemon",
    exe: "/usr/sbin/irqbalance",
    uid: 0,
    activity: 0.1,
  },
  {
    comm: "sshd",
    kind: "daemon",
    exe: "/usr/sbin/sshd",
    uid: 0,
    activity: 0.7,
    procs: 3,
  },
  {
    comm: "containerd",
    kind: "daemon",
    exe: "/usr/bin/containerd",
    uid: 0,
    activity: 1.2,
    threads: ["containerd", "containerd"],
  },
  {
    comm: "dockerd",
    kind: "daemon",
    exe: "/usr/bin/dockerd",
    uid: 0,
    activity: 1.0,
    threads: ["dockerd", "dockerd"],
  },
  {
    comm: "containerd-shim",
    kind: "daemon",
    exe: "/usr/bin/containerd-shim-runc-v2",
    uid: 0,
    activity: 0.3,
    procs: 2,
  },
  {
    comm: "nginx",
    kind: "web",
    exe: "/usr/sbin/nginx",
    uid: 33,
    activity: 3.5,
    procs: 3,
  },
  {
    comm: "postgres",
    kind: "db",
    exe: "/usr/lib/postgresql/15/bin/postgres",
    uid: 106,
    activity: 3.0,
    procs: 5,
  },
  {
    comm: "redis-server",
    kind: "db",
    exe: "/usr/bin/redis-server",
    uid: 107,
    activity: 1.5,
    threads: ["bio_close_file", "io_thd_1"],
  },
  {
    comm: "java",
    kind: "jvm",
    exe: "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
    uid: 1001,
    activity: 4.0,
    threads: [
      "C2 CompilerThre",
      "C1 CompilerThre",
      "GC Thread#0",
      "VM Thread",
      "http-nio-8080-e",
    ],
  },
  {
    comm: "node",
    kind: "node",
    exe: "/usr/bin/node",
    uid: 1000,
    activity: 2.5,
    threads: ["node", "libuv-worker"],
  },
  {
    comm: "python3",
    kind: "python",
    exe: "/usr/bin/python3.11",
    uid: 1000,
    activity: 2.0,
    procs: 2,
  },
  {
    comm: "chrome",
    kind: "browser",
    exe: "/opt/google/chrome/chrome",
    uid: 1000,
    activity: 2.5,
    procs: 3,
    threads: ["ThreadPoolForeg", "Chrome_IOThread"],
  },
  {
    comm: "bash",
    kind: "shell",
    exe: "/usr/bin/bash",
    uid: 1000,
    activity: 0.4,
    procs: 3,
  },
  {
    comm: "tmux: server",
    kind: "shell",
    exe: "/usr/bin/tmux",
    uid: 1000,
    activity: 0.3,
  },
  {
    comm: "vim",
    kind: "shell",
    exe: "/usr/bin/vim.basic",
    uid: 1000,
    activity: 0.2,
  },
  {
    comm: "curl",
    kind: "tool",
    exe: "/usr/bin/curl",
    uid: 1000,
    activity: 0.6,
  },
  { comm: "git", kind: "tool", exe: "/usr/bin/git", uid: 1000, activity: 0.4 },
  {
    comm: "make",
    kind: "tool",
    exe: "/usr/bin/make",
    uid: 1000,
    activity: 0.2,
  },
  {
    comm: "cc1",
    kind: "tool",
    exe: "/usr/libexec/gcc/x86_64-linux-gnu/12/cc1",
    uid: 1000,
    activity: 0.8,
  },
  { comm: "top", kind: "tool", exe: "/usr/bin/top", uid: 1000, activity: 0.3 },
];

const COMMON_PATHS = [
  "/etc/ld.so.cache",
  "/lib/x86_64-linux-gnu/libc.so.6",
  "/etc/localtime",
  "/proc/self/stat",
  "/dev/null",
];

/** Files each kind of process opens (before the common ones). */
export const PATHS: Readonly<Record<ProcessKind, readonly string[]>> = {
  kernel: [
    "/sys/kernel/mm/transparent_hugepage/enabled",
    "/proc/sys/kernel/random/boot_id",
  ],
  daemon: [
    "/proc/meminfo",
    "/sys/fs/cgroup/system.slice/cpu.stat",
    "/run/systemd/journal/socket",
    "/var/log/syslog",
    "/etc/passwd",
    "/etc/nsswitch.conf",
    "/proc/1/cgroup",
    "/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db",
    "/var/lib/docker/containers/3f2a9c1e/config.v2.json",
    "/etc/resolv.conf",
  ],
  web: [
    "/var/www/html/index.html",
    "/var/log/nginx/access.log",
    "/etc/nginx/nginx.conf",
    "/usr/share/nginx/html/favicon.ico",
    "/var/www/html/static/app.js",
    "/var/www/html/static/style.css",
    "/etc/ssl/certs/ca-certificates.crt",
  ],
  db: [
    "/var/lib/postgresql/15/main/base/16384/2619",
    "/var/lib/postgresql/15/main/base/16384/16397",
    "/var/lib/postgresql/15/main/pg_wal/000000010000000000000003",
    "/var/lib/postgresql/15/main/global/pg_control",
    "/run/postgresql/.s.PGSQL.5432.lock",
    "/var/lib/redis/dump.rdb",
  ],
  jvm: [
    "/usr/lib/jvm/java-17-openjdk-amd64/lib/modules",
    "/opt/app/lib/app.jar",
    "/sys/fs/cgroup/cpu.max",
    "/tmp/hsperfdata_app/4242",
    "/opt/app/config/application.yml",
  ],
  node: [
    "/opt/app/node_modules/express/index.js",
    "/opt/app/package.json",
    "/etc/hosts",
    "/opt/app/dist/server.js",
  ],
  python: [
    "/usr/lib/python3.11/__pycache__/os.cpython-311.pyc",
    "/usr/lib/python3.11/encodings/__init__.py",
    "/home/dev/project/app.py",
    "/home/dev/project/data/input.csv",
  ],
  browser: [
    "/home/dev/.config/google-chrome/Default/Cookies",
    "/dev/shm/.org.chromium.Chromium.Xk3bQ2",
    "/proc/self/status",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  ],
  shell: [
    "/home/dev/.bashrc",
    "/usr/bin/ls",
    "/etc/passwd",
    "/dev/tty",
    "/home/dev/.bash_history",
  ],
  tool: [
    "/lib/x86_64-linux-gnu/libssl.so.3",
    "/etc/ssl/openssl.cnf",
    "/etc/resolv.conf",
    "/usr/lib/locale/locale-archive",
    "/home/dev/src/main.c",
    "/usr/include/stdio.h",
  ],
};

/**
 * Every path any process may open.
 *
 * @example Usage
 * ```ts
 * import { allPaths } from "./processes.ts";
 * console.assert(allPaths().includes("/etc/ld.so.cache"));
 * ```
 */
export function allPaths(): string[] {
  const set = new Set<string>(COMMON_PATHS);
  for (const list of Object.values(PATHS)) for (const p of list) set.add(p);
  return [...set];
}

const encoder = new TextEncoder();

/**
 * 16 NUL-padded bytes of a comm (truncated to 15 bytes).
 *
 * @example Usage
 * ```ts
 * import { commBytes } from "./processes.ts";
 * console.assert(commBytes("bash")[4] === 0 && commBytes("bash").length === 16);
 * ```
 */
export function commBytes(comm: string): Uint8Array {
  const out = new Uint8Array(16);
  out.set(encoder.encode(comm).subarray(0, 15));
  return out;
}

/**
 * The seeded process table and a fast skewed picker over its threads.
 *
 * @example Pick threads
 * ```ts
 * import { ProcessTable } from "./processes.ts";
 * import { Prng } from "./prng.ts";
 * const table = new ProcessTable(new Prng(1), 2);
 * const t = table.pick(new Prng(2).next());
 * console.assert(t.comm.length > 0 && t.pid >= 0);
 * ```
 */
export class ProcessTable {
  /** Every thread. */
  readonly threads: SyntheticThread[] = [];
  /** The engine's own thread (BEGIN/END run as it). */
  readonly self: SyntheticThread;
  /** The idle task of each CPU (`swapper/N`, pid 0). */
  readonly idle: SyntheticThread[] = [];
  #table: Uint16Array;
  #pool: SyntheticThread[];
  #userTable: Uint16Array;
  #userPool: SyntheticThread[];

  /**
   * @param rng The seeded generator (consumed only here, at build time).
   * @param numCpus CPUs of the machine.
   * @param onlyPid When set, events come only from this process.
   */
  constructor(rng: Prng, numCpus: number, onlyPid?: number) {
    const used = new Set<number>([0]);
    const newPid = (lo: number, hi: number): number => {
      for (;;) {
        const p = rng.range(lo, hi);
        if (!used.has(p)) {
          used.add(p);
          return p;
        }
      }
    };
    const cgroups = new Map<string, bigint>();
    let nextCg = 2000n + BigInt(rng.below(5000));
    const cgroupOf = (s: Spec): bigint => {
      if (s.kind === "kernel") return 1n;
      const key = s.comm;
      let id = cgroups.get(key);
      if (id === undefined) {
        id = nextCg;
        nextCg += 1n + BigInt(rng.below(40));
        cgroups.set(key, id);
      }
      return id;
    };
    const procWeights: number[] = [];
    const ranks = rng.shuffle(SPECS.map((_, i) => i));
    const zipf = zipfWeights(SPECS.length, 1.0);
    const threadWeights: number[] = [];
    SPECS.forEach((s, si) => {
      const rankWeight = zipf[ranks.indexOf(si)];
      const nprocs = s.procs ?? 1;
      for (let p = 0; p < nprocs; p++) {
        const pid = s.fixedPid ??
          (s.kind === "kernel"
            ? newPid(3, 400)
            : s.kind === "daemon"
            ? newPid(300, 2500)
            : newPid(2500, 65000));
        used.add(pid);
        const names = [s.comm, ...(s.threads ?? [])];
        const procWeight = s.activity * rankWeight * (p === 0 ? 1 : 0.5 / p);
        procWeights.push(procWeight);
        const tz = zipfWeights(names.length, 1.3);
        names.forEach((name, ti) => {
          const tid = ti === 0 ? pid : newPid(pid + 1, pid + 3000);
          const gid = s.uid === 1000 || s.uid === 1001 ? s.uid : s.uid;
          this.threads.push({
            index: this.threads.length,
            pid,
            tid,
            uid: s.uid,
            gid,
            comm: name,
            commBytes: commBytes(name),
            kind: s.kind,
            exe: s.exe,
            cgroupId: cgroupOf(s),
            task: 0xffff888100000000n + BigInt(tid) * 0x2a40n,
            cpu: rng.below(numCpus),
            paths: [...PATHS[s.kind], ...COMMON_PATHS],
          });
          threadWeights.push(procWeight * tz[ti]);
        });
      }
    });
    const selfPid = newPid(2500, 65000);
    this.self = {
      index: -1,
      pid: selfPid,
      tid: selfPid,
      uid: 0,
      gid: 0,
      comm: "tsbpf",
      commBytes: commBytes("tsbpf"),
      kind: "tool",
      exe: "/usr/bin/deno",
      cgroupId: 3000n,
      task: 0xffff888100000000n + BigInt(selfPid) * 0x2a40n,
      cpu: 0,
      paths: COMMON_PATHS,
    };
    for (let c = 0; c < numCpus; c++) {
      const name = `swapper/${c}`;
      this.idle.push({
        index: -1,
        pid: 0,
        tid: 0,
        uid: 0,
        gid: 0,
        comm: name,
        commBytes: commBytes(name),
        kind: "kernel",
        exe: "",
        cgroupId: 1n,
        task: 0xffffffff82a0c940n + BigInt(c) * 0x2a40n,
        cpu: c,
        paths: [],
      });
    }
    let pool = this.threads;
    let weights = threadWeights;
    if (onlyPid !== undefined) {
      pool = this.threads.filter((t) => t.pid === onlyPid);
      if (pool.length === 0) {
        const t: SyntheticThread = {
          ...this.self,
          index: this.threads.length,
          pid: onlyPid,
          tid: onlyPid,
          uid: 1000,
          gid: 1000,
          comm: "target",
          commBytes: commBytes("target"),
          kind: "tool",
          task: 0xffff888100000000n + BigInt(onlyPid) * 0x2a40n,
          paths: [...PATHS.tool, ...COMMON_PATHS],
        };
        this.threads.push(t);
        pool = [t];
      }
      weights = pool.map((t) => threadWeights[t.index] ?? 1);
    }
    this.#pool = pool;
    this.#table = weightedTable(weights);
    const user = pool.map((t, i) => [t, weights[i]] as const).filter(([t]) =>
      t.kind !== "kernel"
    );
    this.#userPool = user.length > 0 ? user.map(([t]) => t) : pool;
    this.#userTable = weightedTable(
      user.length > 0 ? user.map(([, w]) => w) : weights,
    );
  }

  /** A user-space thread (no kernel threads) for a random 32-bit number. */
  pickUser(r: number): SyntheticThread {
    return this.#userPool[this.#userTable[r & 0xffff]];
  }

  /** The thread for a uniform random 32-bit number (skewed by activity). */
  pick(r: number): SyntheticThread {
    return this.#pool[this.#table[r & 0xffff]];
  }

  /** Threads events can come from (all, or those of the `-p` process). */
  get eligible(): readonly SyntheticThread[] {
    return this.#pool;
  }

  /** A thread other than `t` (for sched_switch's next task and wakeups). */
  other(r: number, t: SyntheticThread): SyntheticThread {
    const o = this.#pool[this.#table[(r >>> 16) & 0xffff]];
    return o === t
      ? this.threads[(t.index + 1 + (r & 7)) % this.threads.length]
      : o;
  }
}
