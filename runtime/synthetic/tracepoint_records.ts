/**
 * Synthetic tracepoint records, laid out exactly as the tracepoint's format
 * says: a pool of pre-laid-out records (values drawn once, coherent across
 * fields) plus per-event writers for what depends on the current task
 * (pids, comms, paths).
 *
 * @module
 */

import type { FieldLayout } from "../program.ts";
import { syscallNumber } from "../probes/syscalls.ts";
import {
  readTracepointFormat,
  symbolicValues,
  type TracepointFormat,
} from "../probes/tracepoint_format.ts";
import type { Prng } from "./prng.ts";
import { weightedTable } from "./prng.ts";
import type { SyntheticThread } from "./processes.ts";
import { DROP_CHAINS, KERNEL_CHAINS } from "./kernel_chains.ts";
import {
  isPathArg,
  SYSCALL_MIX,
  syscallArg,
  syscallRet,
} from "./syscall_values.ts";
import { KERNEL_HEAP, type World } from "./world.ts";

/** Templates per record pool (a power of two). */
export const POOL_SIZE = 256;

/**
 * Writes what depends on the event's task: `t` the current thread, `o`
 * another one (woken, next, child), `r` a random 32-bit number.
 */
export type RecordWriter = (
  view: DataView,
  bytes: Uint8Array,
  t: SyntheticThread,
  o: SyntheticThread,
  r: number,
) => void;

/** How to make one tracepoint's records. */
export interface RecordPlan {
  /** Bytes of a record (fixed part, then room for `__data_loc` data). */
  size: number;
  /** Pre-laid-out records, `POOL_SIZE` of them. */
  templates: Uint8Array[];
  /** Kernel stack per template. */
  kstacks: bigint[][];
  /** Per template, the thread that must be current (softirq work), if any. */
  threads: (SyntheticThread | undefined)[];
  /** Per-event writers. */
  writers: RecordWriter[];
  /** Offset of `common_pid`, or -1. */
  pidOffset: number;
  /** Whether the writers use the "other" thread. */
  needsOther: boolean;
  /** Kernel stack chosen per event from the current thread, if any. */
  stackFor?: (t: SyntheticThread, r: number) => bigint[];
  /** Per template, the syscall it is about (raw_syscalls), if any. */
  syscalls?: string[];
}

const encoder = new TextEncoder();

/** C types of 32-bit syscall arguments. */
const INT32_ARG =
  /^(?:const\s+)?(?:(?:unsigned|signed)\s+)?int$|^unsigned$|^(?:pid|uid|gid|qid|clockid|key_serial|mqd|rwf|timer)_t$/;

/**
 * Writes an integer field of 1, 2, 4 or 8 bytes (numbers or bigints).
 *
 * @example Usage
 * ```ts
 * import { writeInt } from "./tracepoint_records.ts";
 * const v = new DataView(new ArrayBuffer(8));
 * writeInt(v, 0, 8, -2);
 * console.assert(v.getBigInt64(0, true) === -2n);
 * ```
 */
export function writeInt(
  view: DataView,
  off: number,
  size: number,
  v: number | bigint,
): void {
  if (typeof v === "bigint") {
    if (size === 8) view.setBigUint64(off, BigInt.asUintN(64, v), true);
    else writeInt(view, off, size, Number(BigInt.asIntN(32, v)));
    return;
  }
  switch (size) {
    case 1:
      view.setUint8(off, v & 0xff);
      return;
    case 2:
      view.setUint16(off, v & 0xffff, true);
      return;
    case 4:
      view.setUint32(off, v >>> 0, true);
      return;
    case 8: {
      const lo = v >>> 0;
      const hi = Math.floor(v / 4294967296);
      view.setUint32(off, lo, true);
      view.setUint32(off + 4, hi >>> 0, true);
      return;
    }
  }
}

/**
 * A record that names an skb (`skbaddr`) and its protocol: the skb is made
 * readable in the kernel heap, agreeing with the record (protocol, len),
 * on a device and with a socket chosen by its address (no random draw, so
 * records stay what they were).
 */
function skbObject(
  fields: readonly FieldLayout[],
  view: DataView,
  world: World,
): void {
  const skb = fields.find((f) => f.name === "skbaddr" && f.size === 8);
  const proto = fields.find((f) => f.name === "protocol" && f.size === 2);
  if (skb === undefined || proto === undefined) return;
  const addr = view.getBigUint64(skb.offset, true);
  if (addr === 0n) return;
  const lenField = fields.find((f) => f.name === "len" && f.size === 4);
  const pick = Number((addr >> 8n) % 1000n);
  world.heap.addSkb(addr, {
    protocol: view.getUint16(proto.offset, true),
    len: lenField === undefined
      ? PACKET_LENS[pick % PACKET_LENS.length]
      : view.getUint32(lenField.offset, true),
    device: DEVICES[pick % DEVICES.length],
    udp: pick % 2 === 0,
  });
}

function kheap(rng: Prng): bigint {
  return KERNEL_HEAP + BigInt(rng.below(0x4000000)) * 256n;
}

function formatOf(cat: string, name: string): TracepointFormat | undefined {
  try {
    return readTracepointFormat(cat, name);
  } catch {
    return undefined;
  }
}

/**
 * Tracepoint id (common_type) from the format, or a stable made-up one.
 *
 * @example Usage
 * ```ts
 * import { tracepointId } from "./tracepoint_records.ts";
 * console.assert(tracepointId("skb", "kfree_skb") > 0);
 * ```
 */
export function tracepointId(cat: string, name: string): number {
  const f = formatOf(cat, name);
  if (f !== undefined) return f.id;
  let h = 7;
  for (const c of `${cat}:${name}`) h = (h * 31 + c.charCodeAt(0)) & 0x7fff;
  return 1000 + h;
}

interface Scenario {
  sys?: string;
  values: Map<string, number | bigint>;
  kstack: bigint[];
  thread?: SyntheticThread;
  strings: Map<string, string>;
}

const DEVICES = ["eth0", "eth0", "eth0", "lo", "lo", "docker0", "veth3f2a9c1"];
const DISKS = ["sda", "nvme0n1", "sda", "dm-0"];
/** Backing devices by the names writeback events give them (MAJOR:MINOR). */
const BDIS = ["8:0", "259:0", "8:0", "253:0"];
const RWBS = ["R", "R", "W", "WS", "RA", "FWS", "WM", "RM", "N"];
const PACKET_LENS = [54, 60, 66, 74, 1514, 1514, 1448, 576, 118, 9014];

function pickWeighted<T>(rng: Prng, items: readonly [T, number][]): T {
  let total = 0;
  for (const [, w] of items) total += w;
  let r = rng.float() * total;
  for (const [v, w] of items) {
    r -= w;
    if (r < 0) return v;
  }
  return items[items.length - 1][0];
}

// Real drops are mostly a few reasons: sockets closed or never there, and
// packets not for this host; the long tail is rare.
const DROP_WEIGHTS: Record<string, number> = {
  NOT_SPECIFIED: 45,
  NO_SOCKET: 30,
  OTHERHOST: 8,
  NETFILTER_DROP: 5,
  UNIX_DISCONNECT: 2,
  SOCKET_CLOSE: 2,
  SOCKET_FILTER: 1.5,
  TCP_INVALID_SEQUENCE: 1,
  TCP_OLD_DATA: 1,
  SOCKET_RCVBUFF: 1,
  TCP_CSUM: 0.5,
  IP_NOPROTO: 0.5,
  TCP_RESET: 0.5,
  UDP_CSUM: 0.3,
  PKT_TOO_SMALL: 0.2,
};

function dropChain(reason: string): readonly string[] {
  if (reason === "NO_SOCKET") return DROP_CHAINS.tcpNoSocket;
  if (reason.endsWith("_CSUM")) return DROP_CHAINS.tcpCsum;
  if (reason === "NETFILTER_DROP" || reason === "OTHERHOST") {
    return DROP_CHAINS.netfilter;
  }
  if (reason.startsWith("UNIX_") || reason === "SOCKET_CLOSE") {
    return DROP_CHAINS.unixClose;
  }
  if (reason === "NOT_SPECIFIED") return DROP_CHAINS.tcpClose;
  return DROP_CHAINS.tcpCsum;
}

/**
 * Builds the record plan of tracepoint `cat:name` with `fields`.
 *
 * @example Usage
 * ```ts
 * import { planRecords } from "./tracepoint_records.ts";
 * import { World } from "./world.ts";
 * const fields = [
 *   { name: "common_pid", ctype: "int", offset: 4, size: 4, signed: true },
 *   { name: "ret", ctype: "long", offset: 16, size: 8, signed: true },
 * ];
 * const plan = planRecords(new World(1, 2), "syscalls", "sys_exit_read", fields);
 * console.assert(plan.templates.length === 256 && plan.size >= 24);
 * ```
 */
export function planRecords(
  world: World,
  cat: string,
  name: string,
  fields: readonly FieldLayout[],
): RecordPlan {
  const rng = world.rng;
  const id = tracepointId(cat, name);
  const format = formatOf(cat, name);
  const fixedEnd = fields.reduce((m, f) => Math.max(m, f.offset + f.size), 8);
  const dataStart = (fixedEnd + 3) & ~3;
  const dataLocs = fields.filter((f) => f.dataLoc);
  const size = Math.max(
    ((dataStart + dataLocs.length * 256) + 7) & ~7,
    (fixedEnd + 7) & ~7,
  );
  const writers: RecordWriter[] = [];
  let needsOther = false;
  let stackFor: RecordPlan["stackFor"];
  const pidField = fields.find((f) => f.name === "common_pid");
  const isSyscalls = cat === "syscalls";
  const sysMatch = /^sys_(enter|exit)_(.+)$/.exec(name);
  const wakeLike = /wak|migrate|kthread_stop|stat_|pi_setprio/.test(name);
  const symbolic = new Map<string, Map<number, string>>();
  if (format !== undefined) {
    for (const f of fields) {
      const table = symbolicValues(format, f.name);
      if (table.size > 0) symbolic.set(f.name, table);
    }
  }

  // Syscall mix for raw_syscalls.
  const mixNames = Object.keys(SYSCALL_MIX).filter((n) =>
    syscallNumber(n) !== undefined
  );
  const mixTable = weightedTable(mixNames.map((n) => SYSCALL_MIX[n]));
  const argNames = new Map<string, FieldLayout[]>();
  const argsOf = (sys: string): FieldLayout[] => {
    let a = argNames.get(sys);
    if (a === undefined) {
      const f = formatOf("syscalls", `sys_enter_${sys}`);
      a = f === undefined
        ? []
        : f.fields.filter((x) => !x.common && x.name !== "__syscall_nr");
      argNames.set(sys, a);
    }
    return a;
  };

  // Per-event writers for task-dependent fields.
  const roleOf = (fname: string): "cur" | "other" => {
    if (/^(next|child|target)_/.test(fname)) return "other";
    if (/^(prev|parent|old)_/.test(fname)) return "cur";
    return wakeLike ? "other" : "cur";
  };
  const dynamic = new Set<string>();
  for (const f of fields) {
    if (f.name.startsWith("common_")) continue;
    const off = f.offset;
    if (
      f.arrayLen !== undefined && f.ctype.includes("char") &&
      /comm$/.test(f.name)
    ) {
      const other = roleOf(f.name) === "other";
      needsOther ||= other;
      const n = Math.min(f.size, 16);
      writers.push(
        other
          ? (_v, b, _t, o) => b.set(o.commBytes.subarray(0, n), off)
          : (_v, b, t) => b.set(t.commBytes.subarray(0, n), off),
      );
      dynamic.add(f.name);
    } else if (
      f.arrayLen === undefined && !f.dataLoc && f.size === 4 &&
      /(^|_)(pid|tid|tgid)$/.test(f.name) && !isSyscalls
    ) {
      const role = /^child_/.test(f.name) ? "child" : roleOf(f.name);
      needsOther ||= role !== "cur";
      writers.push(
        role === "cur"
          ? (v, _b, t) =>
            v.setInt32(off, f.name === "tgid" ? t.pid : t.tid, true)
          : role === "child"
          ? (v, _b, t) => v.setInt32(off, t.pid + 1 + (t.tid & 0x3ff), true)
          : (v, _b, _t, o) => v.setInt32(off, o.tid, true),
      );
      dynamic.add(f.name);
    } else if (
      isSyscalls && sysMatch?.[1] === "enter" &&
      (sysMatch[2] === "execve" || sysMatch[2] === "execveat") &&
      (f.name === "filename" || f.name === "argv")
    ) {
      // The same draw picks the program and its arguments.
      writers.push((v, _b, _t, _o, r) => {
        const exec = world.execs[(r >>> 8) % world.execs.length];
        const a = f.name === "filename" ? exec.path : exec.argv;
        v.setUint32(off, a >>> 0, true);
        v.setUint32(off + 4, Math.floor(a / 4294967296), true);
      });
      dynamic.add(f.name);
    } else if (
      isSyscalls && sysMatch?.[1] === "enter" && isPathArg(f.name, f.ctype)
    ) {
      writers.push((v, _b, t, _o, r) => {
        const list = world.pathAddrs[t.index];
        if (list === undefined || list.length === 0) return;
        const a = list[(r >>> 8) % list.length];
        v.setUint32(off, a >>> 0, true);
        v.setUint32(off + 4, Math.floor(a / 4294967296), true);
      });
      dynamic.add(f.name);
    } else if (f.dataLoc && cat === "sched" && f.name === "filename") {
      // sched_process_exec: the new program's path.
      const slot = dataLocs.indexOf(f);
      const at = dataStart + slot * 256;
      writers.push((v, b, t) => {
        const exe = world.exeBytes[t.index] ?? world.exeBytes[0];
        const n = Math.min(exe.length, 255);
        b.set(exe.subarray(0, n), at);
        b[at + n - 1] = 0;
        v.setUint32(off, ((n << 16) | at) >>> 0, true);
      });
      dynamic.add(f.name);
    }
  }

  if (cat === "sched" && /switch/.test(name)) {
    needsOther = true;
    const chains = [
      world.symbols.kernelChain(KERNEL_CHAINS.schedEpoll),
      world.symbols.kernelChain(KERNEL_CHAINS.schedFutex),
    ];
    const worker = world.symbols.kernelChain(KERNEL_CHAINS.schedWorker);
    stackFor = (t, r) => t.kind === "kernel" ? worker : chains[r & 1];
  } else if (cat === "sched" && wakeLike) {
    const chain = world.symbols.kernelChain(KERNEL_CHAINS.wakeup);
    stackFor = () => chain;
  } else if (cat === "sched" && /fork/.test(name)) {
    const c = world.symbols.kernelChain(KERNEL_CHAINS.fork);
    stackFor = () => c;
  } else if (cat === "sched" && /exec/.test(name)) {
    const c = world.symbols.kernelChain(KERNEL_CHAINS.exec);
    stackFor = () => c;
  } else if (cat === "sched" && /exit|free/.test(name)) {
    const c = world.symbols.kernelChain(KERNEL_CHAINS.exit);
    stackFor = () => c;
  }

  const softirqThreads = world.procs.threads.filter((t) =>
    t.comm.startsWith("ksoftirqd/")
  );
  const defaultStack = world.symbols.kernelChain(
    cat === "block"
      ? KERNEL_CHAINS.block
      : cat === "net" || cat === "qdisc"
      ? KERNEL_CHAINS.xmit
      : cat === "irq" || cat === "napi"
      ? KERNEL_CHAINS.softirq
      : cat === "raw_syscalls" || isSyscalls
      ? (name.includes("exit") ? KERNEL_CHAINS.sysExit : KERNEL_CHAINS.sysEnter)
      : KERNEL_CHAINS.kworker,
  );

  const templates: Uint8Array[] = [];
  const syscalls: string[] = [];
  const kstacks: bigint[][] = [];
  const threads: (SyntheticThread | undefined)[] = [];
  for (let k = 0; k < POOL_SIZE; k++) {
    const bytes = new Uint8Array(size);
    const view = new DataView(bytes.buffer);
    const sc: Scenario = {
      values: new Map(),
      kstack: defaultStack,
      strings: new Map(),
    };
    // Scenario first: which syscall, which drop reason, ...
    if (cat === "raw_syscalls") {
      sc.sys = mixNames[mixTable[rng.next() & 0xffff]];
    } else if (sysMatch !== null) {
      sc.sys = sysMatch[2];
    }
    if (cat === "skb" && name === "kfree_skb") {
      const reasons = symbolic.get("reason") ?? new Map([[2, "NOT_SPECIFIED"]]);
      const items: [number, number][] = [...reasons].map((
        [v, n],
      ) => [v, DROP_WEIGHTS[n] ?? 0.002]);
      const reason = pickWeighted(rng, items);
      const rname = reasons.get(reason) ?? "NOT_SPECIFIED";
      const chainNames = rname === "NO_SOCKET" && rng.float() < 0.4
        ? DROP_CHAINS.udpNoSocket
        : dropChain(rname);
      sc.kstack = world.symbols.kernelChain(chainNames);
      sc.values.set("reason", reason);
      sc.values.set("location", sc.kstack[1]);
      if (chainNames.includes("run_ksoftirqd") && softirqThreads.length > 0) {
        sc.thread = rng.pick(softirqThreads);
      }
    }
    let nrSector = 8;
    if (cat === "block") {
      nrSector = pickWeighted(rng, [
        [8, 50],
        [16, 10],
        [32, 8],
        [64, 6],
        [128, 8],
        [256, 10],
        [1024, 3],
      ]);
    }
    const packetLen = rng.pick(PACKET_LENS);

    let slot = 0;
    for (const f of fields) {
      const off = f.offset;
      if (f.name === "common_type") {
        writeInt(view, off, f.size, id);
        continue;
      }
      if (f.name === "common_flags") {
        writeInt(view, off, f.size, cat === "skb" || cat === "net" ? 0x10 : 0);
        continue;
      }
      if (f.name === "common_preempt_count") {
        writeInt(view, off, f.size, cat === "skb" ? 1 : 0);
        continue;
      }
      if (f.name === "common_pid") continue;
      if (f.dataLoc) {
        const at = dataStart + slot++ * 256;
        if (dynamic.has(f.name)) continue;
        const s = dataLocString(cat, name, f.name, rng, world);
        const b = encoder.encode(s);
        const n = Math.min(b.length, 254);
        bytes.set(b.subarray(0, n), at);
        bytes[at + n] = 0;
        view.setUint32(off, (((n + 1) << 16) | at) >>> 0, true);
        continue;
      }
      if (dynamic.has(f.name)) continue;
      if (f.arrayLen !== undefined && f.ctype.includes("char")) {
        const s = f.name === "rwbs"
          ? rng.pick(RWBS)
          : /name|dev/.test(f.name)
          ? rng.pick(
            cat === "block" ? DISKS : cat === "writeback" ? BDIS : DEVICES,
          )
          : rng.pick(world.procs.threads).comm;
        bytes.set(encoder.encode(s).subarray(0, f.size - 1), off);
        continue;
      }
      if (f.arrayLen !== undefined) {
        // Arrays of integers (raw_syscalls args).
        const el = f.size / f.arrayLen;
        const argList = f.name === "args" && sc.sys !== undefined
          ? argsOf(sc.sys)
          : [];
        for (let i = 0; i < f.arrayLen; i++) {
          const a = argList[i];
          const v = a !== undefined
            ? syscallArg(sc.sys!, a.name, a.ctype, rng, world)
            : argList.length > 0
            ? 0
            : rng.below(256);
          writeInt(view, off + i * el, el, v);
        }
        continue;
      }
      let v: number | bigint;
      if (sc.values.has(f.name)) v = sc.values.get(f.name)!;
      else if (
        f.name === "__syscall_nr" || (cat === "raw_syscalls" && f.name === "id")
      ) {
        v = syscallNumber(sc.sys ?? "read") ?? 0;
      } else if (f.name === "ret" && sc.sys !== undefined) {
        v = syscallRet(sc.sys, rng, world);
      } else if (isSyscalls && sc.sys !== undefined) {
        v = syscallArg(sc.sys, f.name, f.ctype, rng, world);
        // The kernel stores each argument register whole: a 32-bit C
        // argument (`int dfd`) arrives zero-extended in its 8-byte field,
        // AT_FDCWD as 4294967196, as bpftrace reads it on the kernel.
        if (f.size === 8 && INT32_ARG.test(f.ctype)) {
          v = BigInt.asUintN(32, BigInt(v));
        }
      } else {
        v = genericValue(
          f,
          rng,
          world,
          symbolic.get(f.name),
          nrSector,
          packetLen,
        );
      }
      writeInt(view, off, f.size, v);
    }
    skbObject(fields, view, world);
    templates.push(bytes);
    syscalls.push(sc.sys ?? "");
    kstacks.push(sc.kstack);
    threads.push(world.pidFilter ? undefined : sc.thread);
  }
  return {
    size,
    templates,
    kstacks,
    threads,
    writers,
    pidOffset: pidField?.offset ?? -1,
    needsOther,
    stackFor,
    syscalls: cat === "raw_syscalls" ? syscalls : undefined,
  };
}

function dataLocString(
  cat: string,
  _name: string,
  field: string,
  rng: Prng,
  world: World,
): string {
  if (/file|path/.test(field)) {
    const t = rng.pick(world.procs.threads);
    return rng.pick(t.paths.length > 0 ? t.paths : ["/etc/hosts"]);
  }
  if (/name|dev|driver|device|iface/.test(field)) {
    return rng.pick(cat === "block" ? DISKS : DEVICES);
  }
  if (field === "cmd") return "";
  return rng.pick(world.procs.threads).comm;
}

function genericValue(
  f: FieldLayout,
  rng: Prng,
  world: World,
  symbolic: Map<number, string> | undefined,
  nrSector: number,
  packetLen: number,
): number | bigint {
  const n = f.name;
  if (symbolic !== undefined && symbolic.size > 0) {
    const keys = [...symbolic.keys()];
    // Skewed: the first few values are the common ones.
    const i = Math.min(
      keys.length - 1,
      Math.floor(Math.pow(rng.float(), 3) * keys.length),
    );
    return keys[i];
  }
  if (n === "protocol" && f.size === 2) {
    return pickWeighted(rng, [[0x0800, 70], [0x86dd, 25], [0x0806, 5]]);
  }
  if (
    /addr$|^skb$|^sk$|^rx_sk$|^page$|^ptr$|^napi$/.test(n) ||
    f.ctype.includes("*")
  ) {
    if (n === "rx_sk") return rng.float() < 0.6 ? 0n : kheap(rng);
    if (
      n === "location" || n === "call_site" || n === "ip" || n === "function"
    ) {
      return world.symbols.kernelChain(KERNEL_CHAINS.kworker)[rng.below(3)];
    }
    return kheap(rng);
  }
  switch (n) {
    case "dev":
      return rng.pick([8 << 20, (8 << 20) | 1, 259 << 20, 253 << 20]);
    case "sector":
      return rng.below(0x7fffffff) & ~7;
    case "nr_sector":
      return nrSector;
    case "bytes":
      return nrSector * 512;
    case "ioprio":
      return rng.pick([0, 0x4000, 0x4004]);
    case "error":
    case "errors":
    case "rc":
    case "ret":
      return rng.float() < 0.97 ? 0 : -rng.pick([5, 11, 28]);
    case "len":
    case "skblen":
    case "data_len":
      return n === "data_len" ? 0 : packetLen;
    case "truesize":
      return packetLen > 1500 ? 2304 : 768;
    case "prio":
    case "prev_prio":
    case "next_prio":
    case "static_prio":
      return rng.float() < 0.9 ? 120 : rng.pick([100, 139, 98, 0]);
    case "prev_state":
    case "state":
      return pickWeighted(rng, [[1, 60], [0, 25], [2, 10], [0x80, 3], [
        0x100,
        2,
      ]]);
    case "cpu":
    case "target_cpu":
    case "orig_cpu":
    case "dest_cpu":
    case "cpu_id":
      return rng.below(world.numCpus);
    case "success":
    case "group_dead":
      return 1;
    case "runtime":
    case "delay":
      return 10_000 + rng.below(5_000_000);
    case "vruntime":
      return 1e12 + rng.below(1e9);
    case "irq":
      return rng.pick([0, 1, 8, 9, 12, 24, 25, 26, 27]);
    case "vec":
      return pickWeighted(rng, [[1, 20], [2, 5], [3, 30], [4, 5], [6, 15], [
        7,
        10,
      ], [9, 15]]);
    case "queue_mapping":
    case "napi_id":
      return rng.below(4);
    case "gfp_flags":
      return rng.pick([0xcc0, 0x400dc0, 0x820, 0x2800]);
    case "order":
      return rng.pick([0, 0, 0, 1, 2, 3]);
    case "pfn":
      return rng.below(0x600000);
    case "bytes_req":
    case "bytes_alloc":
      return rng.pick([32, 64, 128, 192, 256, 512, 1024, 4096]);
    case "sport":
    case "dport":
      return rng.pick([443, 80, 5432, 6379, 8080, 22, 53]);
    case "family":
      return rng.pick([2, 2, 10]);
  }
  if (f.size === 1) return rng.below(2);
  if (f.signed) return rng.below(1000);
  return rng.below(4096);
}
