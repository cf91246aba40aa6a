/**
 * Attaching a loaded program's fd to its probe: tracepoints and
 * uprobes/kprobes through perf events plus a BPF link, raw tracepoints
 * through `bpf_raw_tracepoint_open`, profile/interval/software/hardware
 * through sampling perf events.
 *
 * Tracepoint and probe perf events are opened once (pid -1, cpu 0) as
 * libbpf does: the program is attached to the event itself and runs on
 * every CPU and for every task. Sampling events (profile, software,
 * hardware) are opened once per online CPU; interval once on CPU 0.
 *
 * A `pid` option restricts uprobes and sampling events (profile, software,
 * hardware) to that process (perf event opened for the pid on any CPU).
 * Tracepoints, raw tracepoints and interval cannot be restricted by the
 * kernel this way: the program must filter on `pid` itself.
 *
 * @module
 */

import type { AttachPoint } from "../runtime/program.ts";
import { AttachError, KernelError } from "./errors.ts";
import type { resolveUprobe } from "../runtime/probes/uprobe_target.ts";
import { addressOf, native, type NativeLibs } from "./libbpf.ts";
import {
  AttachType,
  cstr,
  PERF_FLAG_FD_CLOEXEC,
  perfEventAttr,
  PerfIoctl,
  PerfType,
  SYS_perf_event_open,
} from "./structs.ts";
import {
  HARDWARE_EVENTS,
  maxSampleRate,
  perfEvent,
  SOFTWARE_EVENTS,
} from "../runtime/probes/perf_events.ts";
import { tracepointId } from "./tracefs.ts";
import { ProgType } from "../runtime/bpf/opcodes.ts";

/** Options for attaching. */
export interface AttachOptions {
  /** Restrict uprobes and sampling perf events to this process. */
  pid?: number;
  /**
   * Finds a uprobe's binary and file offset (the ELF reader): needed for
   * uprobe and uretprobe points only, so the caller loads it when a
   * program has them (`runtime/probes/uprobe_target.ts`).
   */
  resolveUprobe?: typeof resolveUprobe;
  /**
   * Attach to perf events through BPF links where the kernel has them
   * (default true). False attaches with `PERF_EVENT_IOC_SET_BPF` as on
   * kernels before 5.15, to test that path.
   */
  perfLinks?: boolean;
}

/**
 * What one attach point holds open: BPF link fds and perf event fds.
 * Closing them (links first) detaches the program.
 */
export interface Attachment {
  /** The attach point's canonical text. */
  text: string;
  /** BPF link fds (or raw tracepoint fds). */
  links: number[];
  /** Perf event fds. */
  perfFds: number[];
  /**
   * True for tracepoint, kprobe, uprobe and USDT events: the kernel runs
   * their programs whether the event is enabled or not, so disabling one
   * does not stop its program (sampling events stop when disabled).
   */
  tracing?: boolean;
  /**
   * Threads closing links `pause()` released (`pthread_t`s): joined
   * before the perf events are closed, so that the kernel's slow release
   * of a perf event happens where we close it, not on those threads.
   */
  closing?: bigint[];
  /** Set once `pause()` has released a tracing event's links. */
  paused?: boolean;
}

/**
 * Releases an attachment's fds, links first. Idempotent: empties the lists.
 *
 * @example Detach nothing
 * ```ts
 * import { detach } from "./attach.ts";
 * detach({ text: "x", links: [], perfFds: [] });
 * ```
 */
export function detach(att: Attachment): void {
  if (released(att)) return;
  const libs = native();
  for (const fd of att.links.splice(0)) libs.closeFd(fd);
  for (const t of att.closing?.splice(0) ?? []) libs.libc.pthread_join(t, null);
  for (const fd of att.perfFds.splice(0)) libs.closeFd(fd);
}

/** True when an attachment holds nothing any more. */
function released(att: Attachment): boolean {
  return att.links.length === 0 && att.perfFds.length === 0 &&
    !att.closing?.length;
}

/**
 * Stops an attachment's probe from firing, quickly, keeping its perf
 * events (whose release is the kernel's slow part) for `detach()` or
 * `detachAsync()`. Resolves to false when the program may still run: a
 * tracing event (see {@linkcode Attachment.tracing}) attached without a
 * BPF link (kernels before 5.15), which only closing its perf event
 * stops.
 *
 * - Sampling perf events are disabled (an ioctl).
 * - Raw tracepoint links are released (cheap).
 * - Tracing events' perf links are released: the kernel takes the
 *   program out of the event's program array at once, then waits for an
 *   RCU tasks-trace grace period (~20-30 ms) before the close returns.
 *   The closes run on threads of their own, all at once, and the promise
 *   resolves as soon as `PERF_EVENT_IOC_QUERY_BPF` no longer lists the
 *   program (`progId`) for the event, a millisecond or two; where the
 *   query fails, once the close has returned.
 *
 * A run of the program that began before may still be finishing on
 * another CPU when the promise resolves (microseconds).
 *
 * @example Pause nothing
 * ```ts
 * import { pause } from "./attach.ts";
 * console.assert(await pause({ text: "x", links: [], perfFds: [] }, 0));
 * ```
 */
export async function pause(att: Attachment, progId: number): Promise<boolean> {
  if (att.links.length === 0 && att.perfFds.length === 0) return true;
  const libs = native();
  if (att.perfFds.length === 0) {
    detach(att);
    return true;
  }
  for (const fd of att.perfFds) {
    libs.libc.ioctl(fd, BigInt(PerfIoctl.DISABLE), 0n);
  }
  if (att.tracing !== true || att.paused === true) return true;
  // A tracing attach point has one perf event, with its link if any.
  if (att.links.length < att.perfFds.length) return false;
  const links = att.links.splice(0);
  await Promise.all(
    links.map((link, i) =>
      releaseLink(libs, att, link, att.perfFds[i], progId)
    ),
  );
  att.paused = true;
  return true;
}

/** Milliseconds between two queries of a program array. */
const QUERY_NAP_MS = 1;
/** Milliseconds of queries without a nap first. */
const SPIN_MS = 1;
/**
 * Longest wait for the kernel to take a program out of an event's array
 * once its link is closing (it takes about a millisecond).
 */
const RELEASE_WAIT_MS = 5_000;

/**
 * Closes a perf link; resolves once the event's program array no longer
 * holds `progId` (the close runs on a thread of its own, not waited
 * for), or, where the array cannot be queried, once the close returns.
 */
async function releaseLink(
  libs: NativeLibs,
  att: Attachment,
  link: number,
  perfFd: number,
  progId: number,
): Promise<void> {
  const thread = runsProgram(libs, perfFd, progId) === undefined
    ? undefined
    : libs.closeOnThread(link);
  if (thread === undefined) {
    await libs.libc.closeAsync(link);
    return;
  }
  (att.closing ??= []).push(thread);
  // Every link of a pause starts closing before any is waited for.
  await Promise.resolve();
  // The kernel takes it out within about 0.1 ms of the thread's start:
  // ask again at once for a while, then between naps (a timer's nap is
  // a millisecond or more).
  const spin = performance.now() + SPIN_MS;
  while (performance.now() < spin) {
    if (runsProgram(libs, perfFd, progId) !== true) return;
  }
  const end = performance.now() + RELEASE_WAIT_MS;
  while (performance.now() < end) {
    if (runsProgram(libs, perfFd, progId) !== true) return;
    await new Promise((r) => setTimeout(r, QUERY_NAP_MS));
  }
}

/** `BPF_TRACE_MAX_PROGS`: the most programs one event runs. */
const MAX_EVENT_PROGS = 64;

/**
 * Whether a tracing perf event's program array holds program `progId`
 * (`PERF_EVENT_IOC_QUERY_BPF`), or undefined when the kernel does not
 * say (no such ioctl, not permitted).
 *
 * @example Query a bad fd
 * ```ts
 * import { runsProgram } from "./attach.ts";
 * import { native } from "./libbpf.ts";
 * if (Deno.build.os === "linux") {
 *   try {
 *     console.assert(runsProgram(native(), -1, 1) === undefined);
 *   } catch { // no libbpf here
 *   }
 * }
 * ```
 */
export function runsProgram(
  libs: NativeLibs,
  perfFd: number,
  progId: number,
): boolean | undefined {
  const query = new Uint32Array(2 + MAX_EVENT_PROGS);
  query[0] = MAX_EVENT_PROGS;
  const ret = libs.libc.ioctl(
    perfFd,
    BigInt(PerfIoctl.QUERY_BPF),
    addressOf(new Uint8Array(query.buffer)),
  );
  if (ret < 0) return undefined;
  const count = Math.min(query[1], MAX_EVENT_PROGS);
  return query.subarray(2, 2 + count).includes(progId);
}

let perfLinks: boolean | undefined;

/**
 * Whether this kernel attaches programs to perf events through BPF links
 * (`BPF_PERF_EVENT`, Linux 5.15): the attach points {@linkcode pause}
 * can stop by releasing their links. Found once per process as libbpf
 * does: a link to fd -1 fails with EBADF where the attach type exists,
 * EINVAL where not.
 *
 * @example Ask
 * ```ts
 * import { hasPerfLinks } from "./attach.ts";
 * if (Deno.build.os === "linux" && Deno.uid() === 0) {
 *   try {
 *     console.log(hasPerfLinks());
 *   } catch { // no libbpf here
 *   }
 * }
 * ```
 */
export function hasPerfLinks(): boolean {
  if (perfLinks !== undefined) return perfLinks;
  const libs = native();
  const code = new Uint8Array(16);
  code[0] = 0xb7; // r0 = 0
  code[8] = 0x95; // exit
  const prog = libs.bpf.bpf_prog_load(
    ProgType.TRACEPOINT,
    cstr("tsb_probe_link"),
    cstr("GPL"),
    code,
    2n,
    null,
  );
  if (prog < 0) return false; // not cached: no program loads at all
  try {
    const ret = libs.bpf.bpf_link_create(prog, -1, AttachType.PERF_EVENT, null);
    if (ret >= 0) libs.closeFd(ret);
    perfLinks = ret === -9; // EBADF
  } finally {
    libs.closeFd(prog);
  }
  return perfLinks;
}

/**
 * Releases an attachment's fds like {@linkcode detach}, on a worker
 * thread: the kernel may take tens of milliseconds to release one
 * tracepoint's perf event (it waits for an RCU grace period), and the
 * event loop keeps running meanwhile.
 *
 * @example Detach nothing
 * ```ts
 * import { detachAsync } from "./attach.ts";
 * await detachAsync({ text: "x", links: [], perfFds: [] });
 * ```
 */
export async function detachAsync(att: Attachment): Promise<void> {
  if (released(att)) return;
  const libs = native();
  for (const fd of att.links.splice(0)) await libs.libc.closeAsync(fd);
  for (const t of att.closing?.splice(0) ?? []) {
    await libs.libc.pthread_joinAsync(t, null);
  }
  for (const fd of att.perfFds.splice(0)) await libs.libc.closeAsync(fd);
}

/**
 * The fds an attachment holds open (links first), for handing them to
 * another process.
 *
 * @example No fds
 * ```ts
 * import { attachmentFds } from "./attach.ts";
 * console.assert(attachmentFds({ text: "x", links: [], perfFds: [] }).length === 0);
 * ```
 */
export function attachmentFds(att: Attachment): number[] {
  return [...att.links, ...att.perfFds];
}

/**
 * The online CPUs (`/sys/devices/system/cpu/online`).
 *
 * @example List CPUs
 * ```ts
 * import { onlineCpus } from "./attach.ts";
 * if (Deno.build.os === "linux") console.assert(onlineCpus().length > 0);
 * ```
 */
export function onlineCpus(): number[] {
  return parseCpuList(
    Deno.readTextFileSync("/sys/devices/system/cpu/online"),
  );
}

/**
 * Parses a kernel CPU list like `0-3,5`.
 *
 * @example Parse a list
 * ```ts
 * import { parseCpuList } from "./attach.ts";
 * console.assert(parseCpuList("0-2,5\n").join() === "0,1,2,5");
 * ```
 */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(",")) {
    if (part === "") continue;
    const [a, b] = part.split("-").map(Number);
    for (let c = a; c <= (b ?? a); c++) out.push(c);
  }
  return out;
}

/** Tracepoints to suggest instead of common kprobe targets. */
const KPROBE_ALTERNATIVES: Readonly<Record<string, [string, string?]>> = {
  kfree_skb: ["tracepoint:skb:kfree_skb"],
  kfree_skb_reason: ["tracepoint:skb:kfree_skb"],
  consume_skb: ["tracepoint:skb:consume_skb"],
  do_sys_open: [
    "tracepoint:syscalls:sys_enter_openat",
    "tracepoint:syscalls:sys_exit_openat",
  ],
  do_sys_openat2: [
    "tracepoint:syscalls:sys_enter_openat",
    "tracepoint:syscalls:sys_exit_openat",
  ],
  vfs_read: [
    "tracepoint:syscalls:sys_enter_read",
    "tracepoint:syscalls:sys_exit_read",
  ],
  vfs_write: [
    "tracepoint:syscalls:sys_enter_write",
    "tracepoint:syscalls:sys_exit_write",
  ],
  vfs_open: ["tracepoint:syscalls:sys_enter_openat"],
  do_exit: ["tracepoint:sched:sched_process_exit"],
  schedule: ["tracepoint:sched:sched_switch"],
  finish_task_switch: ["tracepoint:sched:sched_switch"],
  wake_up_new_task: ["tracepoint:sched:sched_wakeup_new"],
  try_to_wake_up: ["tracepoint:sched:sched_wakeup"],
  tcp_retransmit_skb: ["tracepoint:tcp:tcp_retransmit_skb"],
  tcp_set_state: ["tracepoint:sock:inet_sock_set_state"],
  tcp_v4_connect: ["tracepoint:sock:inet_sock_set_state"],
  tcp_rcv_established: ["tracepoint:tcp:tcp_probe"],
  tcp_send_reset: ["tracepoint:tcp:tcp_send_reset"],
  net_dev_xmit: ["tracepoint:net:net_dev_xmit"],
  netif_receive_skb: ["tracepoint:net:netif_receive_skb"],
  __kmalloc: ["tracepoint:kmem:kmalloc"],
  kmalloc: ["tracepoint:kmem:kmalloc"],
  kfree: ["tracepoint:kmem:kfree"],
  handle_mm_fault: ["tracepoint:exceptions:page_fault_user"],
  blk_account_io_start: ["tracepoint:block:block_io_start"],
  blk_account_io_done: ["tracepoint:block:block_io_done"],
  blk_mq_start_request: ["tracepoint:block:block_rq_issue"],
  do_signal: ["tracepoint:signal:signal_deliver"],
  do_send_sig_info: ["tracepoint:signal:signal_generate"],
  sched_fork: ["tracepoint:sched:sched_process_fork"],
  do_execve: ["tracepoint:sched:sched_process_exec"],
};

/**
 * The tracepoint to suggest instead of `kprobe:FN` (or `kretprobe:FN`),
 * if there is an obvious one.
 *
 * @example Suggest for kfree_skb
 * ```ts
 * import { kprobeAlternative } from "./attach.ts";
 * console.assert(kprobeAlternative("kfree_skb", false) === "tracepoint:skb:kfree_skb");
 * console.assert(kprobeAlternative("__x64_sys_read", true) === "tracepoint:syscalls:sys_exit_read");
 * ```
 */
export function kprobeAlternative(
  fn: string,
  ret: boolean,
): string | undefined {
  const sys = /^(?:__x64_sys_|__ia32_sys_|__se_sys_|__do_sys_|ksys_|sys_)(\w+)$/
    .exec(fn);
  if (sys) {
    return `tracepoint:syscalls:sys_${ret ? "exit" : "enter"}_${sys[1]}`;
  }
  const alt = KPROBE_ALTERNATIVES[fn];
  if (alt === undefined) return undefined;
  return ret ? alt[1] ?? alt[0] : alt[0];
}

function pmuType(name: string): number | undefined {
  try {
    return Number(
      Deno.readTextFileSync(`/sys/bus/event_source/devices/${name}/type`)
        .trim(),
    );
  } catch {
    return undefined;
  }
}

function retprobeBit(pmu: string): bigint {
  try {
    const text = Deno.readTextFileSync(
      `/sys/bus/event_source/devices/${pmu}/format/retprobe`,
    );
    const m = /config:(\d+)/.exec(text);
    if (m) return 1n << BigInt(m[1]);
  } catch {
    // fall through to the documented default
  }
  return 1n;
}

/**
 * True when the kernel has the kprobe perf PMU (CONFIG_KPROBES).
 *
 * @example Check kprobe support
 * ```ts
 * import { hasKprobes } from "./attach.ts";
 * console.log(hasKprobes());
 * ```
 */
export function hasKprobes(): boolean {
  return pmuType("kprobe") !== undefined;
}

function perfEventOpen(
  libs: NativeLibs,
  text: string,
  attr: Uint8Array<ArrayBuffer>,
  pid: number,
  cpu: number,
  hint?: string,
): number {
  const fd = Number(
    libs.libc.syscall(
      BigInt(SYS_perf_event_open),
      attr,
      BigInt(pid),
      BigInt(cpu),
      -1n,
      BigInt(PERF_FLAG_FD_CLOEXEC),
    ),
  );
  if (fd < 0) {
    throw libs.error(`attach "${text}" (perf_event_open)`, libs.errno(), hint);
  }
  return fd;
}

/**
 * What E2BIG means when attaching to a tracepoint: the kernel keeps at most
 * 64 programs per tracepoint (`BPF_TRACE_MAX_PROGS`), counting every tool's.
 */
export const TRACEPOINT_E2BIG_HINT =
  "The kernel allows at most 64 BPF programs on one tracepoint, counting those of every other tool attached to it";

/**
 * Attaches the program to a tracing perf event (tracepoint, kprobe, uprobe,
 * USDT) that `att` now holds: its programs keep running while the event is
 * disabled, so pausing it means releasing the link (`att.tracing`).
 */
function attachTracing(
  att: Attachment,
  libs: NativeLibs,
  progFd: number,
  perfFd: number,
  opts: AttachOptions,
  e2bigHint?: string,
): void {
  att.perfFds.push(perfFd);
  att.tracing = true;
  const link = attachToPerf(
    libs,
    att.text,
    progFd,
    perfFd,
    opts.perfLinks !== false,
    e2bigHint,
  );
  if (link >= 0) att.links.push(link);
}

/**
 * Attaches the program to one perf event fd; returns the link fd or -1
 * (attached with ioctls: no perf links, or `links` false).
 */
function attachToPerf(
  libs: NativeLibs,
  text: string,
  progFd: number,
  perfFd: number,
  links: boolean,
  e2bigHint?: string,
): number {
  const link = links
    ? libs.bpf.bpf_link_create(progFd, perfFd, AttachType.PERF_EVENT, null)
    : -22;
  if (link >= 0) {
    // As libbpf does: make sure the event is enabled.
    libs.libc.ioctl(perfFd, BigInt(PerfIoctl.ENABLE), 0n);
    return link;
  }
  // Older kernels: no perf links. Attach with ioctls instead.
  if (libs.libc.ioctl(perfFd, BigInt(PerfIoctl.SET_BPF), BigInt(progFd)) < 0) {
    const errno = libs.errno() || -link;
    throw libs.error(
      `attach "${text}"`,
      errno,
      errno === 7 ? e2bigHint : undefined,
    );
  }
  if (libs.libc.ioctl(perfFd, BigInt(PerfIoctl.ENABLE), 0n) < 0) {
    throw libs.error(`enable "${text}"`, libs.errno());
  }
  return -1;
}

/** Period in nanoseconds of `interval:UNIT:N` / `profile:UNIT:N`. */
function periodNs(point: AttachPoint): bigint {
  const n = BigInt(Math.max(1, Math.trunc(point.period ?? 1)));
  switch (point.unit) {
    case "s":
      return n * 1_000_000_000n;
    case "ms":
      return n * 1_000_000n;
    case "us":
      return n * 1_000n;
    default:
      return n;
  }
}

/**
 * Attaches a loaded program to one attach point. On failure nothing stays
 * open.
 *
 * @throws {AttachError} when the kernel lacks the probe type or the target
 * does not exist; {KernelError} when a kernel call fails.
 * @example Refuse BEGIN
 * ```ts
 * import { attachPoint } from "./attach.ts";
 * try {
 *   attachPoint(-1, { kind: "BEGIN", target: "", text: "BEGIN" });
 * } catch (e) {
 *   console.log((e as Error).message);
 * }
 * ```
 */
export function attachPoint(
  progFd: number,
  point: AttachPoint,
  opts: AttachOptions = {},
): Attachment {
  const att: Attachment = { text: point.text, links: [], perfFds: [] };
  try {
    attachInto(att, progFd, point, opts);
    return att;
  } catch (e) {
    detach(att);
    throw e;
  }
}

function attachInto(
  att: Attachment,
  progFd: number,
  point: AttachPoint,
  opts: AttachOptions,
): void {
  const text = point.text;
  switch (point.kind) {
    case "BEGIN":
    case "END":
      throw new AttachError(text, "BEGIN and END run once, they do not attach");
    case "tracepoint": {
      const [cat, name] = splitTracepoint(point.target, text);
      const id = tracepointId(cat, name);
      const libs = native();
      const attr = perfEventAttr({
        type: PerfType.TRACEPOINT,
        config: BigInt(id),
        period: 1n,
      });
      const fd = perfEventOpen(libs, text, attr, -1, 0);
      attachTracing(att, libs, progFd, fd, opts, TRACEPOINT_E2BIG_HINT);
      return;
    }
    case "rawtracepoint": {
      const libs = native();
      const fd = libs.bpf.bpf_raw_tracepoint_open(cstr(point.target), progFd);
      if (fd < 0) {
        throw libs.error(
          `attach "${text}"`,
          -fd,
          -fd === 2 ? "No such raw tracepoint on this kernel" : undefined,
        );
      }
      att.links.push(fd);
      return;
    }
    case "fentry":
    case "fexit": {
      // The program was loaded for its function (attach_btf_id): a link
      // of its own expected attach type puts it on the trampoline.
      const libs = native();
      const type = point.kind === "fentry"
        ? AttachType.TRACE_FENTRY
        : AttachType.TRACE_FEXIT;
      const fd = libs.bpf.bpf_link_create(progFd, 0, type, null);
      if (fd < 0) throw libs.error(`attach "${text}"`, -fd);
      att.links.push(fd);
      return;
    }
    case "kprobe":
    case "kretprobe": {
      const ret = point.kind === "kretprobe";
      const type = pmuType("kprobe");
      if (type === undefined) {
        const alt = kprobeAlternative(point.target, ret);
        throw new AttachError(
          text,
          `this kernel has no kprobes (built without CONFIG_KPROBES); ${
            alt
              ? `use ${alt} instead`
              : "use a tracepoint or rawtracepoint instead (tsbpf -l 'tracepoint:*')"
          }`,
        );
      }
      const libs = native();
      const fn = cstr(point.target);
      const attr = perfEventAttr({
        type,
        config: ret ? retprobeBit("kprobe") : 0n,
        config1: addressOf(fn),
        config2: BigInt(point.offset ?? 0),
      });
      const fd = perfEventOpen(libs, text, attr, -1, 0);
      fn.fill(0, 0, 0); // keeps `fn` alive until here
      attachTracing(att, libs, progFd, fd, opts);
      return;
    }
    case "uprobe":
    case "uretprobe": {
      const ret = point.kind === "uretprobe";
      const type = pmuType("uprobe");
      if (type === undefined) {
        throw new AttachError(
          text,
          "this kernel has no uprobes (built without CONFIG_UPROBE_EVENTS)",
        );
      }
      if (opts.resolveUprobe === undefined) {
        throw new Error(
          `Internal error: attaching "${text}" needs the uprobe resolver (AttachOptions.resolveUprobe)`,
        );
      }
      let path: string;
      let offset: bigint;
      try {
        const t = opts.resolveUprobe(
          point.target,
          point.symbol ?? String(point.offset ?? 0),
          point.symbol === undefined ? 0 : point.offset ?? 0,
        );
        path = t.path;
        offset = t.fileOffset;
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new AttachError(text, msg[0].toLowerCase() + msg.slice(1), {
          cause: e,
        });
      }
      const libs = native();
      const pathBuf = cstr(path);
      const attr = perfEventAttr({
        type,
        config: ret ? retprobeBit("uprobe") : 0n,
        config1: addressOf(pathBuf),
        config2: offset,
      });
      const pid = opts.pid ?? -1;
      const fd = perfEventOpen(libs, text, attr, pid, pid === -1 ? 0 : -1);
      pathBuf.fill(0, 0, 0); // keeps `pathBuf` alive until here
      attachTracing(att, libs, progFd, fd, opts);
      return;
    }
    case "usdt":
      attachUsdt(att, progFd, point, opts);
      return;
    case "profile":
    case "interval": {
      const hz = point.unit === undefined || point.unit === "hz";
      if (hz) checkSampleRate(text, Math.trunc(point.period ?? 99));
      const attr = perfEventAttr({
        type: PerfType.SOFTWARE,
        config: BigInt(perfEvent("software", "cpu-clock")!.config),
        period: hz ? BigInt(Math.trunc(point.period ?? 99)) : periodNs(point),
        freq: hz,
      });
      // interval is wall-clock time: never restricted to a pid.
      if (point.kind === "interval") {
        sampling(att, progFd, attr, [0], { perfLinks: opts.perfLinks });
      } else sampling(att, progFd, attr, onlineCpus(), opts);
      return;
    }
    case "software":
    case "hardware": {
      const event = perfEvent(point.kind, point.target);
      if (event === undefined) {
        const table = point.kind === "software"
          ? SOFTWARE_EVENTS
          : HARDWARE_EVENTS;
        throw new AttachError(
          text,
          `unknown ${point.kind} event "${point.target}" (known: ${
            table.map((e) => e.name).join(", ")
          })`,
        );
      }
      const attr = perfEventAttr({
        type: event.type,
        config: BigInt(event.config),
        // Without a count, bpftrace's default period for the event.
        period: BigInt(Math.trunc(point.period ?? event.defaultPeriod)) || 1n,
      });
      sampling(att, progFd, attr, onlineCpus(), opts);
      return;
    }
  }
}

/**
 * The bit position of `ref_ctr_offset` in a uprobe perf event's `config`
 * (`config:32-63` in the PMU's format), or undefined when the kernel has
 * no uprobe reference counters (before Linux 4.20).
 */
function refCtrShift(): bigint | undefined {
  try {
    const text = Deno.readTextFileSync(
      "/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset",
    );
    const m = /config:(\d+)/.exec(text);
    return m ? BigInt(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A USDT probe: a uprobe at the note's file offset, with the semaphore's
 * file offset as the uprobe's `ref_ctr_offset` so that the kernel counts
 * the semaphore up in every process it is installed in (and down when it
 * goes), which makes the traced program take its probe paths.
 */
function attachUsdt(
  att: Attachment,
  progFd: number,
  point: AttachPoint,
  opts: AttachOptions,
): void {
  const text = point.text;
  const site = point.usdt;
  if (site === undefined) {
    throw new AttachError(text, "the program carries no USDT probe location");
  }
  const type = pmuType("uprobe");
  if (type === undefined) {
    throw new AttachError(
      text,
      "this kernel has no uprobes (built without CONFIG_UPROBE_EVENTS)",
    );
  }
  let config = 0n;
  if (site.semaphoreOffset !== 0) {
    const shift = refCtrShift();
    if (shift === undefined) {
      throw new AttachError(
        text,
        "the probe has a semaphore and this kernel's uprobes cannot count it (no ref_ctr_offset, Linux 4.20+)",
      );
    }
    config = BigInt(site.semaphoreOffset) << shift;
  }
  const libs = native();
  const pathBuf = cstr(site.path);
  const attr = perfEventAttr({
    type,
    config,
    config1: addressOf(pathBuf),
    config2: BigInt(site.fileOffset),
  });
  const pid = opts.pid ?? -1;
  const fd = perfEventOpen(libs, text, attr, pid, pid === -1 ? 0 : -1);
  pathBuf.fill(0, 0, 0); // keeps `pathBuf` alive until here
  attachTracing(att, libs, progFd, fd, opts);
}

/**
 * Refuses a frequency the kernel would refuse with a bare EINVAL: above
 * `kernel.perf_event_max_sample_rate`.
 */
function checkSampleRate(text: string, hz: number): void {
  const max = maxSampleRate();
  if (max === undefined || hz <= max) return;
  throw new AttachError(
    text,
    `${hz} Hz is above this kernel's limit of ${max} samples per second ` +
      `(sysctl kernel.perf_event_max_sample_rate); use a lower rate`,
  );
}

function sampling(
  att: Attachment,
  progFd: number,
  attr: Uint8Array<ArrayBuffer>,
  cpus: number[],
  opts: AttachOptions,
): void {
  const libs = native();
  const hw = new DataView(attr.buffer).getUint32(0, true) ===
    PerfType.HARDWARE;
  const hint = hw
    ? "This machine has no hardware performance counters (a VM?); use software:* or profile:*"
    : undefined;
  const targets: [number, number][] = opts.pid !== undefined
    ? [[opts.pid, -1]]
    : cpus.map((c) => [-1, c]);
  for (const [pid, cpu] of targets) {
    let fd: number;
    try {
      fd = perfEventOpen(libs, att.text, attr, pid, cpu, hint);
    } catch (e) {
      if (hw && e instanceof KernelError && e.errno === 2) {
        throw new AttachError(
          att.text,
          "this machine has no hardware performance counters (a VM?); use software:* or profile:*",
          { cause: e },
        );
      }
      throw e;
    }
    att.perfFds.push(fd);
    const link = attachToPerf(
      libs,
      att.text,
      progFd,
      fd,
      opts.perfLinks !== false,
    );
    if (link >= 0) att.links.push(link);
  }
}

function splitTracepoint(target: string, text: string): [string, string] {
  const i = target.indexOf(":");
  if (i <= 0 || i === target.length - 1) {
    throw new AttachError(text, "a tracepoint is written category:name");
  }
  return [target.slice(0, i), target.slice(i + 1)];
}
