/**
 * The synthetic kernel heap: kernel objects that synthetic events point
 * at (the current `task_struct`, a tracepoint's `sk_buff` with its
 * `net_device` and `sock`), laid out by the same kernel types the compiler
 * read (`kernelTypeSource()`: live BTF, else the bundle). Objects are
 * registered by address with what they hold, and their bytes are built
 * on the first read. Without kernel types (a script that names none) no
 * kernel memory is readable, as before.
 *
 * @module
 */

import type { KernelTypes } from "../btf/kernel_types.ts";
import { kernelTypeSource } from "../compiler/kernel_types.ts";
import type { SyntheticThread } from "./processes.ts";

/** Writes the fields of one object by member path. */
export interface ObjectWriter {
  /** An integer (or pointer) member, by dotted path (`__sk_common.skc_family`). */
  int(path: string, value: number | bigint): void;
  /** A `char[N]` member: the text, NUL-terminated within N. */
  str(path: string, text: string): void;
  /** Bytes at a member. */
  bytes(path: string, bytes: Uint8Array): void;
}

interface HeapObject {
  addr: bigint;
  /** Its C type's name, or its type id in the kernel's types. */
  cname: string | number;
  fill: (w: ObjectWriter, types: KernelTypes) => void;
  bytes?: Uint8Array | null;
}

/**
 * The C names of the struct pointed at by each parameter of kernel
 * function `fn` (undefined for other parameters), from its BTF prototype.
 */
function functionParams(
  types: KernelTypes,
  fn: string,
): (string | undefined)[] {
  const id = types.index.ids("func", fn)[0];
  if (id === undefined) return [];
  const f = types.type(id);
  if (f.kind !== "func") return [];
  const proto = types.type(f.proto);
  if (proto.kind !== "func_proto") return [];
  return proto.params.map((p) => {
    const target = types.pointee(p.type);
    if (target === undefined) return undefined;
    const t = types.resolve(target);
    return t.kind === "struct" || t.kind === "union"
      ? `${t.kind} ${t.name}`
      : undefined;
  });
}

/** The C name of the struct kernel function `fn` returns a pointer to. */
function functionReturn(
  types: KernelTypes,
  fn: string,
): string | undefined {
  const id = types.index.ids("func", fn)[0];
  if (id === undefined) return undefined;
  const f = types.type(id);
  if (f.kind !== "func") return undefined;
  const proto = types.type(f.proto);
  if (proto.kind !== "func_proto" || proto.returns === 0) return undefined;
  const target = types.pointee(proto.returns);
  if (target === undefined) return undefined;
  const t = types.resolve(target);
  return t.kind === "struct" ? `struct ${t.name}` : undefined;
}

/** First address of objects the heap allocates itself. */
const ALLOC_BASE = 0xffff88a000000000n;
const encoder = new TextEncoder();

/**
 * Struct parameters of kernel functions tools probe that a kernel's BTF
 * may lack (in a module not loaded: md's md_flush_request).
 */
const KNOWN_PARAMS: Readonly<Record<string, readonly (string | undefined)[]>> =
  {
    md_flush_request: [undefined, "struct bio"],
  };

/** Names a path walk looks up, one component at a time. */
const PATH_COMPONENTS = [
  "usr",
  "lib",
  "x86_64-linux-gnu",
  "libc.so.6",
  "etc",
  "passwd",
  "localtime",
  "ld.so.cache",
  "proc",
  "self",
  "status",
  "var",
  "log",
  "syslog",
  "nginx",
  "access.log",
  "tmp",
  "python3.11",
  "site-packages",
  "node_modules",
];

/** Messages local processes send each other over unix sockets. */
const UNIX_MESSAGES = [
  "l\x01\x00\x01\x18\x00\x00\x00\x02\x00\x00\x00org.freedesktop.DBus",
  '{"level":"info","msg":"container started","id":"3f2a9c1"}\n',
  "PRIORITY=6\nSYSLOG_IDENTIFIER=sshd\nMESSAGE=Accepted publickey for dev\n",
  "GET /containers/json HTTP/1.1\r\nHost: docker\r\n\r\n",
  "Q\x00\x00\x00\x1eSELECT 1 FROM pg_stat_activity\x00",
];

/**
 * The heap.
 *
 * @example A task whose pid the compiled program can read
 * ```ts
 * import { KernelHeap } from "./kernel_heap.ts";
 * const heap = new KernelHeap();
 * heap.add(0xffff888000100000n, "struct task_struct", (w) => w.int("pid", 42));
 * // heap.read(0xffff888000100000n + BigInt(pidOffset), 4) reads 42 once
 * // kernel types are loaded.
 * ```
 */
export class KernelHeap {
  readonly #objects = new Map<bigint, HeapObject>();
  #sorted: bigint[] | undefined;
  #next = ALLOC_BASE;
  readonly #tasks = new Map<bigint, SyntheticThread>();
  #parent: SyntheticThread | undefined;
  readonly #devices = new Map<string, bigint>();
  readonly #percpu = new Map<string, bigint | undefined>();
  /**
   * What CPU `cpu` runs (the world sets it): the processes it counts in
   * `process_counts`, and the tasks runnable there.
   */
  cpuLoad:
    | ((cpu: number) => { processes: number; running: number })
    | undefined;

  /**
   * Registers an object of C type `cname` (or type id) at `addr`, filled by `fill`
   * when first read.
   */
  add(
    addr: bigint,
    cname: string | number,
    fill: (w: ObjectWriter, types: KernelTypes) => void,
  ): void {
    this.#objects.set(addr, { addr, cname, fill });
    this.#sorted = undefined;
  }

  /** A fresh address for an object of `size` bytes. */
  alloc(size: number): bigint {
    const addr = this.#next;
    this.#next += BigInt(Math.ceil((size + 64) / 256) * 256);
    return addr;
  }

  /**
   * Makes thread `t`'s task readable at `t.task`: pid, tgid, comm,
   * real_parent/parent (the `parent` thread's task), group_leader.
   */
  addTask(t: SyntheticThread): void {
    if (this.#tasks.has(t.task)) return;
    this.#tasks.set(t.task, t);
    this.add(t.task, "struct task_struct", (w) => {
      w.int("pid", t.tid);
      w.int("tgid", t.pid);
      w.str("comm", t.comm);
      const parent = this.#parent !== undefined && this.#parent !== t
        ? this.#parent
        : undefined;
      if (parent !== undefined) this.addTask(parent);
      const p = parent?.task ?? t.task;
      w.int("real_parent", p);
      w.int("parent", p);
      w.int("group_leader", t.task);
      w.int("prio", 120);
      w.int("static_prio", 120);
      w.int("normal_prio", 120);
      if (t.kind === "kernel") w.int("flags", 0x00200000); // PF_KTHREAD
    });
  }

  /**
   * CPU `cpu`'s copy of the per-CPU kernel variable with `var` id `varId`
   * of the kernel's types, at one address per CPU: `process_counts` the
   * processes the CPU counts, `runqueues` (`struct rq`) its number, the
   * tasks runnable there and its clock; other variables read as zeros.
   * Undefined without kernel types or for an id that is no variable.
   */
  percpu(varId: number, cpu: number): bigint | undefined {
    const key = `${varId}:${cpu}`;
    if (this.#percpu.has(key)) return this.#percpu.get(key);
    const types = kernelTypeSource()?.types();
    const v = types?.type(varId);
    let addr: bigint | undefined;
    if (types !== undefined && v?.kind === "var") {
      const size = types.sizeOf(v.target);
      addr = size === 0 ? undefined : this.alloc(size);
      const load = this.cpuLoad?.(cpu) ?? { processes: 0, running: 0 };
      if (addr !== undefined) {
        this.add(addr, v.target, (w) => {
          if (v.name === "process_counts") w.int("", load.processes);
          if (v.name !== "runqueues") return;
          w.int("cpu", cpu);
          w.int("nr_running", load.running);
          w.int("cfs.nr_queued", load.running);
          w.int("clock", 3_600_000_000_000n + BigInt(cpu) * 7_919n);
        });
      }
    }
    this.#percpu.set(key, addr);
    return addr;
  }

  /** The thread whose task is every other task's parent (init). */
  setParent(t: SyntheticThread): void {
    this.#parent = t;
  }

  /**
   * An `sk_buff` at `addr` as a tracepoint describes it: `protocol` in host
   * order (stored big-endian, as the kernel's `__be16`), `len`, and the
   * device it passes.
   */
  addSkb(
    addr: bigint,
    info: { protocol: number; len: number; device: string; udp?: boolean },
  ): void {
    if (this.#objects.has(addr)) return;
    const dev = this.#device(info.device);
    const sk = info.udp ? this.#sock(info.device === "lo") : 0n;
    this.add(addr, "struct sk_buff", (w) => {
      w.int("len", info.len);
      w.int("data_len", 0);
      w.int("protocol", ((info.protocol & 0xff) << 8) | (info.protocol >> 8));
      w.int("dev", dev);
      w.int("sk", sk);
      w.int("truesize", info.len > 1500 ? 2304 : 768);
    });
  }

  #device(name: string): bigint {
    let addr = this.#devices.get(name);
    if (addr !== undefined) return addr;
    addr = this.alloc(4096);
    this.#devices.set(name, addr);
    const ifindex = this.#devices.size;
    this.add(addr, "struct net_device", (w) => {
      w.str("name", name);
      w.int("ifindex", name === "lo" ? 1 : ifindex + 1);
      w.int("mtu", name === "lo" ? 65536 : 1500);
    });
    return addr;
  }

  /**
   * Makes the struct arguments of kernel function `fn` readable where a
   * kprobe's argument registers point (`args`, unchanged): a `sock` with
   * family, addresses and ports, an `sk_buff` with its device, a
   * `request` with its disk. Needs the kernel's types (their prototype of
   * `fn`, else `fallback`: the struct name of each parameter); without
   * them nothing is added.
   */
  addArgs(
    fn: string,
    args: readonly (number | bigint)[],
    fallback: readonly (string | undefined)[] = [],
  ): void {
    const types = kernelTypeSource()?.types();
    if (types === undefined) return;
    let params = functionParams(types, fn);
    if (params.length === 0) params = [...(KNOWN_PARAMS[fn] ?? fallback)];
    params.forEach((cname, i) => {
      const a = args[i];
      if (cname === undefined || a === undefined) return;
      const addr = BigInt.asUintN(64, BigInt(a));
      if (addr < 0xffff800000000000n || this.#objects.has(addr)) return;
      const pick = Number((addr >> 6n) % 1000n);
      if (cname === "struct sock") this.#sockAt(addr, pick % 5 !== 0, pick);
      else if (cname === "struct sk_buff") {
        this.addSkb(addr, {
          protocol: pick % 4 === 0 ? 0x86dd : 0x0800,
          len: [54, 60, 66, 1514, 576][pick % 5],
          device: ["eth0", "lo", "eth0"][pick % 3],
          udp: pick % 2 === 0,
        });
      } else if (cname === "struct request") this.#requestAt(addr, pick);
      else if (cname === "struct oom_control") this.#oomAt(addr, pick);
      else if (cname === "struct nameidata") {
        // A path walk's last component (dcsnoop's lookup_fast).
        const name = PATH_COMPONENTS[pick % PATH_COMPONENTS.length];
        const text = this.#kstring(name);
        this.add(addr, cname, (w) => {
          w.int("last.name", text);
          w.int("last.len", name.length);
        });
      } else if (cname === "struct qstr") {
        const name = PATH_COMPONENTS[(pick * 7) % PATH_COMPONENTS.length];
        const text = this.#kstring(name);
        this.add(addr, cname, (w) => {
          w.int("name", text);
          w.int("len", name.length);
        });
      } else if (cname === "struct bio") {
        // A flush of a software RAID device (mdflush's md_flush_request).
        const disk = this.#disk(["md0", "md127", "md1"][pick % 3]);
        const bdev = this.alloc(1024);
        this.add(bdev, "struct block_device", (w) => w.int("bd_disk", disk));
        this.add(addr, cname, (w) => {
          w.int("bi_bdev", bdev);
          w.int("bi_opf", 0x800 | 1); // REQ_PREFLUSH | REQ_OP_WRITE
        });
      }
    });
  }

  /** A NUL-terminated kernel string at a fresh address. */
  #kstring(text: string): bigint {
    const bytes = new TextEncoder().encode(text + "\0");
    const addr = this.alloc(bytes.length);
    this.#objects.set(addr, { addr, cname: "char[]", fill: () => {}, bytes });
    this.#sorted = undefined;
    return addr;
  }

  /**
   * A unix-socket `sk_buff` at `addr` whose data is a message between
   * local processes (undump's unix_stream_read_actor).
   */
  addUnixSkb(addr: bigint, pick: number): void {
    if (this.#objects.has(addr)) return;
    const text = UNIX_MESSAGES[pick % UNIX_MESSAGES.length];
    const bytes = new TextEncoder().encode(text);
    const data = this.alloc(bytes.length);
    this.#objects.set(data, {
      addr: data,
      cname: "char[]",
      fill: () => {},
      bytes,
    });
    this.#sorted = undefined;
    this.add(addr, "struct sk_buff", (w) => {
      w.int("len", bytes.length);
      w.int("data_len", 0);
      w.int("data", data);
      w.int("truesize", 768);
    });
  }

  /**
   * An object for a kretprobe of kernel function `fn` to return (a
   * `struct sock *` of `inet_csk_accept`), or undefined when `fn` returns
   * no struct this heap fills.
   */
  returnObject(fn: string, pick: number): bigint | undefined {
    const types = kernelTypeSource()?.types();
    if (types === undefined) return undefined;
    const cname = functionReturn(types, fn);
    if (cname !== "struct sock" && cname !== "struct request") {
      return undefined;
    }
    const addr = this.alloc(4096);
    // An accepted connection: the local port is the service's.
    const server = fn === "inet_csk_accept";
    if (cname === "struct sock") {
      this.add(
        addr,
        "struct sock",
        this.#sockFields(pick % 5 !== 0, pick, server),
      );
    } else this.#requestAt(addr, pick);
    return addr;
  }

  /**
   * An OOM kill: the victim is a process (a thread group's leader, as the
   * OOM killer chooses) of the tasks registered (addTask).
   */
  #oomAt(addr: bigint, pick: number): void {
    this.add(addr, "struct oom_control", (w) => {
      const tasks = [...this.#tasks]
        .filter(([, t]) =>
          t.kind !== "kernel" && t.pid !== 1 && t.comm !== "tsbpf" &&
          t.tid === t.pid
        )
        .map(([addr]) => addr);
      if (tasks.length > 0) w.int("chosen", tasks[pick % tasks.length]);
      w.int("totalpages", 2_031_616); // 7.75 GiB of 4 KiB pages
      w.int("chosen_points", 1000 + pick * 37);
      w.int("order", 0);
    });
  }

  /** The `gendisk` named `name`, made once. */
  #disk(name: string): bigint {
    let disk = this.#devices.get(`disk:${name}`);
    if (disk === undefined) {
      disk = this.alloc(2048);
      this.#devices.set(`disk:${name}`, disk);
      const d = disk;
      this.add(d, "struct gendisk", (w) => w.str("disk_name", name));
    }
    return disk;
  }

  #requestAt(addr: bigint, pick: number): void {
    const name = ["sda", "nvme0n1", "sda", "dm-0"][pick % 4];
    const disk = this.#disk(name);
    const q = this.alloc(1024);
    const diskAddr = disk;
    this.add(q, "struct request_queue", (w) => w.int("disk", diskAddr));
    this.add(addr, "struct request", (w) => {
      w.int("q", q);
      w.int("__data_len", [4096, 8192, 512, 131072][pick % 4]);
      w.int("__sector", pick * 2048);
    });
  }

  /**
   * A TCP socket at a fresh address, as `struct tcp_sock` (a `struct
   * sock *` to it reads the same members; a cast to `struct tcp_sock *`
   * reads its byte counts).
   */
  addTcpSock(pick: number): bigint {
    const addr = this.alloc(4096);
    const sock = this.#sockFields(pick % 5 !== 0, pick);
    const sk = "inet_conn.icsk_inet.sk.";
    this.add(addr, "struct tcp_sock", (w) => {
      sock({
        int: (p, v) => w.int(sk + p, v),
        str: (p, t) => w.str(sk + p, t),
        bytes: (p, b) => w.bytes(sk + p, b),
      });
      w.int("bytes_acked", [1200, 53_000, 2_400_000, 310][pick % 4]);
      w.int("bytes_received", [88_000, 4_100, 1_300_000, 640][pick % 4]);
    });
    return addr;
  }

  #sockAt(addr: bigint, v4: boolean, pick: number): void {
    this.add(addr, "struct sock", this.#sockFields(v4, pick));
  }

  #sockFields(
    v4: boolean,
    pick: number,
    server = false,
  ): (w: ObjectWriter) => void {
    const service = [443, 80, 22, 53, 5432][pick % 5];
    const ephemeral = 32768 + pick * 17 % 28000;
    const dport = server ? ephemeral : service;
    return (w) => {
      w.int("__sk_common.skc_family", v4 ? 2 : 10);
      w.int("__sk_common.skc_rcv_saddr", 0x0f02000a); // 10.0.2.15
      w.int("__sk_common.skc_daddr", 0x22d8b85d + (pick << 24)); // 93.184.216.x
      const v6 = new Uint8Array(16);
      v6.set([0x20, 0x01, 0x0d, 0xb8]);
      v6[15] = pick & 0xff;
      w.bytes("__sk_common.skc_v6_daddr", v6);
      v6[15] = 1;
      w.bytes("__sk_common.skc_v6_rcv_saddr", v6);
      w.int("__sk_common.skc_num", server ? service : ephemeral);
      w.int("__sk_common.skc_dport", ((dport & 0xff) << 8) | (dport >> 8));
      w.int("__sk_common.skc_state", 1); // TCP_ESTABLISHED
      w.int("sk_protocol", 6); // IPPROTO_TCP
      w.int("sk_type", 1); // SOCK_STREAM
      w.int("sk_ack_backlog", pick % 3);
      w.int("sk_max_ack_backlog", 4096);
    };
  }

  #sock(loopback: boolean): bigint {
    const addr = this.alloc(2048);
    const n = Number(addr >> 8n) & 0xffff;
    const saddr = loopback ? 0x0100007f : 0x0f02000a; // 127.0.0.1, 10.0.2.15
    const daddr = loopback ? 0x0100007f : 0x08080808;
    const dport = 53;
    this.add(addr, "struct sock", (w) => {
      w.int("__sk_common.skc_family", 2); // AF_INET
      w.int("__sk_common.skc_rcv_saddr", saddr);
      w.int("__sk_common.skc_daddr", daddr);
      w.int("__sk_common.skc_num", 32768 + (n % 28000));
      w.int("__sk_common.skc_dport", ((dport & 0xff) << 8) | (dport >> 8));
      w.int("__sk_common.skc_state", 1); // connected: TCP_ESTABLISHED
      w.int("sk_protocol", 17); // IPPROTO_UDP
      w.int("sk_type", 2); // SOCK_DGRAM
    });
    return addr;
  }

  /**
   * `len` bytes at kernel address `addr`, or null where no object is (or
   * no kernel types are loaded).
   */
  read(addr: bigint, len: number): Uint8Array | null {
    const source = kernelTypeSource();
    if (source === undefined || this.#objects.size === 0) return null;
    const sorted = this.#sorted ??= [...this.#objects.keys()].sort((a, b) =>
      a < b ? -1 : a > b ? 1 : 0
    );
    // The object with the greatest start at or below addr.
    let lo = 0;
    let hi = sorted.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] <= addr) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return null;
    const obj = this.#objects.get(sorted[found])!;
    const bytes = this.#build(obj, source.types());
    if (bytes === null) return null;
    const at = Number(addr - obj.addr);
    if (at + len > bytes.length) return null;
    return bytes.slice(at, at + len);
  }

  #build(obj: HeapObject, types: KernelTypes): Uint8Array | null {
    if (obj.bytes !== undefined) return obj.bytes;
    const id = typeof obj.cname === "number"
      ? obj.cname
      : types.lookup(obj.cname);
    const size = id === undefined ? 0 : types.sizeOf(id);
    if (id === undefined || size === 0) {
      obj.bytes = null;
      return null;
    }
    const bytes = new Uint8Array(size);
    obj.bytes = bytes;
    const view = new DataView(bytes.buffer);
    const at = (path: string) => {
      // "": the whole object (an integer variable).
      const f = path === ""
        ? { offset: 0, size, bitOffset: 0, bitSize: 0 }
        : types.fieldPath(id, path);
      return f === undefined || f.offset + f.size > size ? undefined : f;
    };
    obj.fill({
      int(path, value) {
        const f = at(path);
        if (f === undefined) return;
        const v = BigInt.asUintN(64, BigInt(value));
        if (f.bitSize > 0) {
          for (let i = 0; i < f.bitSize; i++) {
            const bit = f.bitOffset + i;
            const mask = 1 << (bit % 8);
            const on = ((v >> BigInt(i)) & 1n) === 1n;
            const b = Math.floor(bit / 8);
            bytes[b] = on ? bytes[b] | mask : bytes[b] & ~mask;
          }
          return;
        }
        switch (f.size) {
          case 1:
            view.setUint8(f.offset, Number(v & 0xffn));
            break;
          case 2:
            view.setUint16(f.offset, Number(v & 0xffffn), true);
            break;
          case 4:
            view.setUint32(f.offset, Number(v & 0xffffffffn), true);
            break;
          case 8:
            view.setBigUint64(f.offset, v, true);
            break;
        }
      },
      str(path, text) {
        const f = at(path);
        if (f === undefined) return;
        const b = encoder.encode(text).subarray(0, f.size - 1);
        bytes.set(b, f.offset);
      },
      bytes(path, data) {
        const f = at(path);
        if (f === undefined) return;
        bytes.set(data.subarray(0, f.size), f.offset);
      },
    }, types);
    return bytes;
  }
}
