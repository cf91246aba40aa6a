/**
 * The kernel helper functions the interpreter emulates, by helper id.
 *
 * A helper takes the machine and r1-r5 as (low, high) int32 pairs and
 * returns r0's low half, leaving the high half in `hi.v` (see alu64.ts).
 * Pointer arguments are checked against the region table; a bad pointer,
 * a wrong map type or a bad record stops the run with a VmError, as the
 * kernel verifier would have refused the program. Failures the kernel
 * reports at run time (-EFAULT, -E2BIG, ...) are returned the same way.
 *
 * @module
 */

import { Helper } from "../bpf/opcodes.ts";
import { fromBigInt, hi, toBigU } from "./alu64.ts";
import {
  type BaseMap,
  BPF_F_CURRENT_CPU,
  BPF_F_FAST_STACK_CMP,
  BPF_F_REUSE_STACKID,
  BPF_F_USER_STACK,
  Errno,
  KvMap,
  PerfEventArrayMap,
  RingBufMap,
  type RingRecord,
  type Slot,
  slotView,
  StackTraceMap,
} from "./maps.ts";
import {
  FUNC_TAG,
  type Machine,
  PERCPU_TAG,
  RegionKind,
  TAG,
} from "./memory.ts";

/** A helper implementation: r1-r5 as pairs in, r0 low half out. */
export type HelperFn = (
  m: Machine,
  a1l: number,
  a1h: number,
  a2l: number,
  a2h: number,
  a3l: number,
  a3h: number,
  a4l: number,
  a4h: number,
  a5l: number,
  a5h: number,
) => number;

function ret(v: number): number {
  hi.v = v < 0 ? -1 : 0;
  return v | 0;
}

function retU32(v: number): number {
  hi.v = 0;
  return v | 0;
}

/** The host's wall clock in nanoseconds (CLOCK_REALTIME). */
function wallNs(): bigint {
  return BigInt(Math.floor(performance.timeOrigin * 1000)) * 1000n +
    BigInt(Math.round(performance.now() * 1e6));
}

function retBig(v: bigint): number {
  return fromBigInt(BigInt.asUintN(64, v));
}

/** A size argument: a u32 when the high half is 0, else an impossible size. */
function size(l: number, h: number): number {
  return h === 0 && l >= 0 ? l : 0x7fffffff;
}

function kvMap(m: Machine, l: number, h: number, name: string): KvMap {
  const map = m.handle(l, h) as BaseMap;
  if (!(map instanceof KvMap)) {
    throw m.fault(`${name} cannot be used on a map of type ${map.type}`);
  }
  return map;
}

/** Returns a pointer to a slot's value on `cpu`, made a region once per run. */
function valuePtr(m: Machine, s: Slot, cpu: number): number {
  if (s.epoch === m.epoch && s.ecpu === cpu) {
    hi.v = TAG + s.rid;
    return 0;
  }
  const rid = m.add(
    s.vals[cpu],
    slotView(s, cpu),
    RegionKind.MAP_VALUE,
    s,
    true,
  );
  s.epoch = m.epoch;
  s.ecpu = cpu;
  s.rid = rid;
  hi.v = TAG + rid;
  return 0;
}

function mapLookup(
  m: Machine,
  ml: number,
  mh: number,
  kl: number,
  kh: number,
): number {
  const map = kvMap(m, ml, mh, "map_lookup_elem");
  const k = m.region(kl, kh, map.keySize, false);
  const s = map.find(m.bufs[k], kl);
  if (s === undefined) return (hi.v = 0);
  return valuePtr(m, s, map.perCpu ? m.cpu : 0);
}

function mapUpdate(
  m: Machine,
  ml: number,
  mh: number,
  kl: number,
  kh: number,
  vl: number,
  vh: number,
  fl: number,
  fh: number,
): number {
  const map = kvMap(m, ml, mh, "map_update_elem");
  const k = m.region(kl, kh, map.keySize, false);
  const v = m.region(vl, vh, map.valueSize, false);
  if (fh !== 0) return ret(Errno.EINVAL);
  return ret(map.store(m.bufs[k], kl, m.bufs[v], vl, fl >>> 0, m.cpu));
}

function mapDelete(
  m: Machine,
  ml: number,
  mh: number,
  kl: number,
  kh: number,
): number {
  const map = kvMap(m, ml, mh, "map_delete_elem");
  const k = m.region(kl, kh, map.keySize, false);
  return ret(map.remove(m.bufs[k], kl));
}

function mapLookupPercpu(
  m: Machine,
  ml: number,
  mh: number,
  kl: number,
  kh: number,
  cl: number,
  ch: number,
): number {
  const map = kvMap(m, ml, mh, "map_lookup_percpu_elem");
  if (!map.perCpu) {
    throw m.fault("map_lookup_percpu_elem needs a per-CPU map");
  }
  const k = m.region(kl, kh, map.keySize, false);
  if (ch !== 0 || cl >>> 0 >= map.numCpus) return (hi.v = 0);
  const s = map.find(m.bufs[k], kl);
  if (s === undefined) return (hi.v = 0);
  return valuePtr(m, s, cl);
}

/**
 * Copies `n` bytes from (sl, sh) — a region pointer or an address the
 * environment can read — to dst; false when unreadable.
 */
function readBytes(
  m: Machine,
  dst: Uint8Array,
  dOff: number,
  n: number,
  sl: number,
  sh: number,
  user: boolean | undefined,
): boolean {
  if (n === 0) return true;
  const id = (sh - TAG) >>> 0;
  if (id < m.n) {
    if (sl < 0 || sl + n > m.rl[id]) return false;
    dst.set(m.bufs[id].subarray(sl, sl + n), dOff);
    return true;
  }
  const addr = toBigU(sl, sh);
  let got = user === true ? null : m.env.readMemory(addr, n, false);
  if (got === null && user !== false) got = m.env.readMemory(addr, n, true);
  if (got === null || got.length < n) return false;
  dst.set(got.subarray(0, n), dOff);
  return true;
}

/**
 * The error of a failed read: the kernel's `probe_read_kernel*` refuse an
 * address in the user half of the address space with -ERANGE before trying
 * it (x86-64: below 0x0000800000000000); every other failure is -EFAULT.
 */
function readError(user: boolean | undefined, sh: number): number {
  return user === false && (sh >>> 0) < 0x8000 ? Errno.ERANGE : Errno.EFAULT;
}

function probeRead(user: boolean | undefined): HelperFn {
  return (m, dl, dh, nl, nh, sl, sh) => {
    const n = size(nl, nh);
    const d = m.region(dl, dh, n, true);
    const dst = m.bufs[d];
    if (readBytes(m, dst, dl, n, sl, sh, user)) return ret(0);
    dst.fill(0, dl, dl + n);
    return ret(readError(user, sh));
  };
}

/** Reads a NUL-terminated string of at most `max` bytes; null on fault. */
function readString(
  m: Machine,
  max: number,
  sl: number,
  sh: number,
  user: boolean | undefined,
): Uint8Array | null {
  const id = (sh - TAG) >>> 0;
  let src: Uint8Array;
  if (id < m.n) {
    if (sl < 0 || sl >= m.rl[id]) return null;
    src = m.bufs[id].subarray(sl, Math.min(m.rl[id], sl + max));
  } else {
    const tmp = new Uint8Array(max);
    if (!readBytes(m, tmp, 0, max, sl, sh, user)) {
      const addr = toBigU(sl, sh);
      for (let n = 0; n < max; n++) {
        const a = BigInt.asUintN(64, addr + BigInt(n));
        const b = (user !== true ? m.env.readMemory(a, 1, false) : null) ??
          (user !== false ? m.env.readMemory(a, 1, true) : null);
        if (b === null || b.length < 1) return null;
        tmp[n] = b[0];
        if (b[0] === 0) return tmp.subarray(0, n + 1);
      }
    }
    src = tmp;
  }
  const nul = src.indexOf(0);
  if (nul >= 0) return src.subarray(0, nul + 1);
  if (src.length >= max) {
    const out = src.slice(0, max);
    out[max - 1] = 0;
    return out;
  }
  return null;
}

function probeReadStr(user: boolean | undefined): HelperFn {
  return (m, dl, dh, nl, nh, sl, sh) => {
    const n = size(nl, nh);
    const d = m.region(dl, dh, n, true);
    const dst = m.bufs[d];
    if (n === 0) return ret(0);
    const s = readString(m, n, sl, sh, user);
    if (s === null) {
      dst.fill(0, dl, dl + n);
      return ret(readError(user, sh));
    }
    dst.set(s, dl);
    return ret(s.length);
  };
}

function ringMap(m: Machine, l: number, h: number, name: string): RingBufMap {
  const map = m.handle(l, h);
  if (!(map instanceof RingBufMap)) {
    throw m.fault(`${name} needs a ring buffer map`);
  }
  return map;
}

function ringbufOutput(
  m: Machine,
  ml: number,
  mh: number,
  dl: number,
  dh: number,
  nl: number,
  nh: number,
  fl: number,
  fh: number,
): number {
  const map = ringMap(m, ml, mh, "ringbuf_output");
  const n = size(nl, nh);
  const d = m.region(dl, dh, n, false);
  if (fh !== 0 || (fl & ~3) !== 0) return ret(Errno.EINVAL);
  return ret(map.output(m.bufs[d].subarray(dl, dl + n)));
}

function ringbufReserve(
  m: Machine,
  ml: number,
  mh: number,
  nl: number,
  nh: number,
  fl: number,
  fh: number,
): number {
  const map = ringMap(m, ml, mh, "ringbuf_reserve");
  if (fl !== 0 || fh !== 0 || nh !== 0 || nl < 0) return (hi.v = 0);
  const rec = map.reserve(nl);
  if (rec === null) return (hi.v = 0);
  const rid = m.add(rec.bytes, rec.view, RegionKind.RINGBUF_RECORD, rec, true);
  m.pending.push(rid);
  m.pendingPc.push(m.pc);
  hi.v = TAG + rid;
  return 0;
}

function ringbufCommit(discard: boolean): HelperFn {
  const name = discard ? "ringbuf_discard" : "ringbuf_submit";
  return (m, dl, dh) => {
    const id = (dh - TAG) >>> 0;
    if (
      id >= m.n || m.kinds[id] !== RegionKind.RINGBUF_RECORD || dl !== 0 ||
      (m.objs[id] as RingRecord).state !== 0
    ) {
      throw m.fault(`${name} needs a reserved ring buffer record`);
    }
    // The kernel reads only the wakeup bits of `flags` and ignores the
    // rest (no -EINVAL, unlike ringbuf_output): so does the interpreter,
    // whose programs our verifier accepts with any flags.
    settle(m, id, discard);
    return (hi.v = 0);
  };
}

/** Submits or discards the record of region `id` and invalidates it. */
export function settle(m: Machine, id: number, discard: boolean): void {
  const rec = m.objs[id] as RingRecord;
  if (rec.ring !== undefined) rec.ring.commit(rec, discard);
  else rec.state = discard ? 2 : 1;
  m.rl[id] = 0;
  m.wl[id] = 0;
  const i = m.pending.indexOf(id);
  if (i >= 0) {
    m.pending.splice(i, 1);
    m.pendingPc.splice(i, 1);
  }
}

function perfEventOutput(
  m: Machine,
  _cl: number,
  _ch: number,
  ml: number,
  mh: number,
  fl: number,
  fh: number,
  dl: number,
  dh: number,
  nl: number,
  nh: number,
): number {
  const map = m.handle(ml, mh);
  if (!(map instanceof PerfEventArrayMap)) {
    throw m.fault("perf_event_output needs a perf event array map");
  }
  const n = size(nl, nh);
  const d = m.region(dl, dh, n, false);
  if (fh !== 0) return ret(Errno.EINVAL);
  const cpu = fl >>> 0 === BPF_F_CURRENT_CPU ? m.cpu : fl >>> 0;
  return ret(map.output(cpu, m.bufs[d].subarray(dl, dl + n)));
}

function stackOf(m: Machine, flags: number): bigint[] {
  const ips = flags & BPF_F_USER_STACK
    ? m.env.userStack()
    : m.env.kernelStack();
  return ips.slice(flags & 0xff);
}

function getStackId(
  m: Machine,
  _cl: number,
  _ch: number,
  ml: number,
  mh: number,
  fl: number,
  fh: number,
): number {
  const map = m.handle(ml, mh);
  if (!(map instanceof StackTraceMap)) {
    throw m.fault("get_stackid needs a stack trace map");
  }
  const known = 0xff | BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP |
    BPF_F_REUSE_STACKID;
  if (fh !== 0 || (fl & ~known) !== 0) return ret(Errno.EINVAL);
  return ret(map.getStackId(stackOf(m, fl), fl));
}

function getStack(
  m: Machine,
  _cl: number,
  _ch: number,
  bl: number,
  bh: number,
  nl: number,
  nh: number,
  fl: number,
  fh: number,
): number {
  const n = size(nl, nh);
  const d = m.region(bl, bh, n, true);
  const buf = m.bufs[d];
  if (fh !== 0 || (fl & ~(0xff | BPF_F_USER_STACK)) !== 0 || n % 8 !== 0) {
    buf.fill(0, bl, bl + n);
    return ret(Errno.EINVAL);
  }
  const ips = stackOf(m, fl).slice(0, n / 8);
  const view = m.views[d];
  for (let i = 0; i < ips.length; i++) {
    view.setBigUint64(bl + i * 8, BigInt.asUintN(64, ips[i]), true);
  }
  buf.fill(0, bl + ips.length * 8, bl + n);
  return ret(ips.length * 8);
}

const encoder = new TextEncoder();

function getCurrentComm(
  m: Machine,
  bl: number,
  bh: number,
  nl: number,
  nh: number,
): number {
  const n = size(nl, nh);
  const d = m.region(bl, bh, n, true);
  const buf = m.bufs[d];
  buf.fill(0, bl, bl + n);
  if (n === 0) return ret(0);
  const comm = commBytes(m.env.comm);
  buf.set(comm.length < n ? comm : comm.subarray(0, n - 1), bl);
  return ret(0);
}

/** Encoded names (at most 15 bytes), cached: comm is read on every event. */
const commCache = new Map<string, Uint8Array>();

function commBytes(comm: string): Uint8Array {
  let bytes = commCache.get(comm);
  if (bytes === undefined) {
    bytes = encoder.encode(comm).subarray(0, 15);
    if (commCache.size > 4096) commCache.clear();
    commCache.set(comm, bytes);
  }
  return bytes;
}

function printk(
  m: Machine,
  fmtl: number,
  fmth: number,
  nl: number,
  nh: number,
  ...args: number[]
): number {
  const n = size(nl, nh);
  const d = m.region(fmtl, fmth, n, false);
  const raw = m.bufs[d].subarray(fmtl, fmtl + n);
  const end = raw.indexOf(0);
  if (end < 0) return ret(Errno.EINVAL);
  const fmt = new TextDecoder().decode(raw.subarray(0, end));
  const text = formatPrintk(m, fmt, [
    [args[0], args[1]],
    [args[2], args[3]],
    [args[4], args[5]],
  ]);
  if (text === null) return ret(Errno.EINVAL);
  m.output.trace.push(text.endsWith("\n") ? text.slice(0, -1) : text);
  return ret(encoder.encode(text).length);
}

/** Formats a trace_printk string; null for an unsupported format. */
function formatPrintk(
  m: Machine,
  fmt: string,
  args: [number, number][],
): string | null {
  let out = "";
  let next = 0;
  const re = /%([-0+ #]*)(\d*)(?:\.(\d+))?(hh|h|ll|l|z)?([diuxXpsc%])/y;
  for (let i = 0; i < fmt.length;) {
    if (fmt[i] !== "%") {
      out += fmt[i++];
      continue;
    }
    re.lastIndex = i;
    const mm = re.exec(fmt);
    if (mm === null) return null;
    i = re.lastIndex;
    const [, flags, width, prec, len, conv] = mm;
    if (conv === "%") {
      out += "%";
      continue;
    }
    if (next >= 3) return null;
    const [l, h] = args[next++];
    const u64 = toBigU(l, h);
    const long = len === "l" || len === "ll" || len === "z";
    let s: string;
    switch (conv) {
      case "d":
      case "i":
        s = long ? BigInt.asIntN(64, u64).toString() : String(l | 0);
        break;
      case "u":
        s = long ? u64.toString() : String(l >>> 0);
        break;
      case "x":
      case "X":
        s = (long ? u64 : BigInt(l >>> 0)).toString(16);
        if (conv === "X") s = s.toUpperCase();
        if (flags.includes("#")) s = "0x" + s;
        break;
      case "p":
        s = "0x" + u64.toString(16);
        break;
      case "c":
        s = String.fromCharCode(l & 0xff);
        break;
      default: {
        const str = readString(m, 256, l, h, undefined);
        s = str === null
          ? "(efault)"
          : new TextDecoder().decode(str.subarray(0, str.length - 1));
        if (prec !== undefined) s = s.slice(0, Number(prec));
      }
    }
    const w = Number(width || 0);
    if (s.length < w) {
      if (flags.includes("-")) s = s.padEnd(w);
      else if (flags.includes("0") && conv !== "s" && conv !== "c") {
        const neg = s.startsWith("-");
        s = (neg ? "-" : "") +
          s.slice(neg ? 1 : 0).padStart(w - (neg ? 1 : 0), "0");
      } else s = s.padStart(w);
    }
    out += s;
  }
  return out;
}

/**
 * bpf_override_return: the interpreter runs no kernel function whose
 * return value could change; the call is accepted and has no effect.
 */
function overrideReturn(): number {
  return ret(0);
}

function sendSignal(m: Machine, sl: number, sh: number): number {
  if (sh !== 0 || sl >>> 0 > 64) return ret(Errno.EINVAL);
  m.output.signals.push({ signal: sl, pid: m.env.pid, tid: m.env.tid });
  return ret(0);
}

/** The callback a helper was given (r2): its first slot. */
function callbackOf(m: Machine, l: number, h: number): number {
  if (h !== FUNC_TAG || m.callback === undefined) {
    throw m.fault("Helper argument is not a callback function");
  }
  return l;
}

/** Most iterations `bpf_loop` runs (the kernel's BPF_MAX_LOOPS). */
const MAX_LOOPS = 1 << 23;

/**
 * `bpf_loop(nr_loops, callback, ctx, flags)`: calls `callback(i, ctx)`
 * for i from 0 while it returns 0; returns the calls made.
 */
function loopHelper(
  m: Machine,
  nl: number,
  nh: number,
  fl: number,
  fh: number,
  cl: number,
  ch: number,
  gl: number,
  gh: number,
): number {
  const t = callbackOf(m, fl, fh);
  if (gl !== 0 || gh !== 0) return ret(Errno.EINVAL);
  const n = nl >>> 0;
  if (nh !== 0 || n > MAX_LOOPS) return ret(Errno.E2BIG);
  for (let i = 0; i < n; i++) {
    const r = m.callback!(t, i, 0, cl, ch, 0, 0, 0, 0);
    if (r !== 0 || hi.v !== 0) return ret(i + 1);
  }
  return ret(n);
}

/**
 * `bpf_for_each_map_elem(map, callback, ctx, flags)`: calls
 * `callback(map, &key, &value, ctx)` per entry (this CPU's value of a
 * per-CPU map) while it returns 0; returns the entries visited.
 */
function forEachMapElem(
  m: Machine,
  ml: number,
  mh: number,
  fl: number,
  fh: number,
  cl: number,
  ch: number,
  gl: number,
  gh: number,
): number {
  const map = kvMap(m, ml, mh, "for_each_map_elem");
  const t = callbackOf(m, fl, fh);
  if (gl !== 0 || gh !== 0) return ret(Errno.EINVAL);
  let n = 0;
  for (const e of map.entries()) {
    const s = map.find(e.key, 0);
    if (s === undefined) continue; // deleted by an earlier call
    const krid = m.add(
      e.key,
      new DataView(e.key.buffer),
      RegionKind.MAP_VALUE,
      s,
      false,
    );
    valuePtr(m, s, map.perCpu ? m.cpu : 0);
    const vh = hi.v;
    n++;
    const r = m.callback!(t, ml, mh, 0, TAG + krid, 0, vh, cl, ch);
    if (r !== 0 || hi.v !== 0) break;
  }
  return ret(n);
}

/**
 * `bpf_per_cpu_ptr(var, cpu)`: the address of CPU `cpu`'s copy of a
 * per-CPU kernel variable, NULL for a CPU that does not exist (and where
 * the environment has no such variable).
 */
function perCpuPtr(
  m: Machine,
  vl: number,
  vh: number,
  cl: number,
): number {
  if (vh !== PERCPU_TAG) {
    throw m.fault("per_cpu_ptr needs a per-CPU kernel variable");
  }
  const cpu = cl >>> 0;
  if (cpu >= m.env.numCpus) return ret(0);
  return retBig(m.env.percpuAddress?.(vl, cpu) ?? 0n);
}

/** Helper implementations by helper id. */
export const HELPERS: ReadonlyMap<number, HelperFn> = new Map<number, HelperFn>(
  [
    [Helper.map_lookup_elem, mapLookup as HelperFn],
    [Helper.map_update_elem, mapUpdate as HelperFn],
    [Helper.map_delete_elem, mapDelete as HelperFn],
    [Helper.map_lookup_percpu_elem, mapLookupPercpu as HelperFn],
    [Helper.loop, loopHelper as HelperFn],
    [Helper.for_each_map_elem, forEachMapElem as HelperFn],
    [Helper.probe_read, probeRead(undefined)],
    [Helper.probe_read_kernel, probeRead(false)],
    [Helper.probe_read_user, probeRead(true)],
    [Helper.probe_read_str, probeReadStr(undefined)],
    [Helper.probe_read_kernel_str, probeReadStr(false)],
    [Helper.probe_read_user_str, probeReadStr(true)],
    [Helper.ringbuf_output, ringbufOutput as HelperFn],
    [Helper.ringbuf_reserve, ringbufReserve as HelperFn],
    [Helper.ringbuf_submit, ringbufCommit(false)],
    [Helper.ringbuf_discard, ringbufCommit(true)],
    [Helper.perf_event_output, perfEventOutput],
    [Helper.get_stackid, getStackId as HelperFn],
    [Helper.get_stack, getStack as HelperFn],
    [Helper.get_current_pid_tgid, (m) => {
      hi.v = m.env.pid | 0;
      return m.env.tid | 0;
    }],
    [Helper.get_current_uid_gid, (m) => {
      hi.v = m.env.gid | 0;
      return m.env.uid | 0;
    }],
    [Helper.get_current_comm, getCurrentComm as HelperFn],
    [Helper.ktime_get_ns, (m) => retBig(m.env.nowNs())],
    [Helper.ktime_get_boot_ns, (m) => retBig(m.env.bootNs())],
    [Helper.ktime_get_tai_ns, (m) => retBig(m.env.taiNs?.() ?? wallNs())],
    [Helper.jiffies64, (m) => retBig(m.env.bootNs() / 4_000_000n)],
    [Helper.get_smp_processor_id, (m) => retU32(m.cpu)],
    // One NUMA node in the interpreter.
    [Helper.get_numa_node_id, () => retU32(0)],
    [Helper.get_prandom_u32, (m) => retU32(m.env.random32() >>> 0)],
    [Helper.trace_printk, printk as HelperFn],
    [Helper.get_current_task, (m) => retBig(m.env.task)],
    [Helper.get_current_cgroup_id, (m) => retBig(m.env.cgroupId)],
    [Helper.get_func_ip, (m) => retBig(m.env.funcIp)],
    [Helper.send_signal, sendSignal as HelperFn],
    [Helper.send_signal_thread, sendSignal as HelperFn],
    [Helper.override_return, overrideReturn as HelperFn],
    [Helper.per_cpu_ptr, perCpuPtr as HelperFn],
    [Helper.this_cpu_ptr, (m, vl, vh) => perCpuPtr(m, vl, vh, m.cpu)],
  ],
);
