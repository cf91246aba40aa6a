/**
 * Loading a program's probes into the kernel: map fds patched into the
 * code, the stop check put before stoppable programs (on kernels without
 * perf links only), the function BTF
 * (`func_info`) of programs with callbacks, and the verifier's log asked
 * for and turned into a {@linkcode VerifierRejection} when a load fails.
 * The kernel engine (`kernel_engine.ts`) owns the fds this returns.
 *
 * @module
 */

import type { MapSpec, ProbeProgram } from "../program.ts";
import { encode, type Insn, LD_IMM64 } from "../bpf/insn.ts";
import { MapType, ProgType, PseudoSrc } from "../bpf/opcodes.ts";
import {
  AttachError,
  errnoName,
  failingInsn,
  VerifierRejection,
} from "../../ffi/errors.ts";
import {
  type FuncInfo,
  funcInfo,
  functionStarts,
} from "../../ffi/func_info.ts";
import { addressOf, type NativeLibs } from "../../ffi/libbpf.ts";
import { alloc, AttachType, cstr, ProgLoadOpts } from "../../ffi/structs.ts";
import { kernelName } from "./kernel_maps.ts";
import { expandSignExtension } from "../bpf/sign_extend.ts";

/** Bytes of verifier log collected on a rejection. */
const LOG_SIZE = 16 * 1024 * 1024;

/** A probe loaded into the kernel. */
export interface Loaded {
  probe: ProbeProgram;
  fd: number;
  kname: string;
  special: boolean;
  /** Whether it was loaded behind the stop check. */
  stopChecked: boolean;
}

/**
 * Whether a probe needs the stop check where the kernel has no perf links
 * (before 5.15): the programs a disabled perf event does not stop
 * (tracepoints, kprobes, uprobes, USDT), which only closing the perf event
 * (slow) would then stop. With perf links, pausing releases their links
 * instead, at once, and no program carries the check. Raw tracepoints
 * are stopped by releasing their links, which is cheap, and sampling
 * perf events by disabling them.
 */
export function needsStopCheck(probe: ProbeProgram, special: boolean): boolean {
  return !special && (probe.progType === ProgType.TRACEPOINT ||
    probe.progType === ProgType.KPROBE);
}

/**
 * The instructions put before a stoppable program: `if (*stop) return 0;`
 * where `stop` is the engine's one-byte flag that `pause()` sets. One load
 * and one branch per event; the program's own instructions follow
 * unchanged (their jumps are relative).
 */
function stopCheck(stopFd: number): Insn[] {
  return [
    { code: LD_IMM64, dst: 0, src: PseudoSrc.MAP_VALUE, off: 0, imm: stopFd },
    { code: 0, dst: 0, src: 0, off: 0, imm: 0 },
    { code: 0x71, dst: 0, src: 0, off: 0, imm: 0 }, // r0 = *(u8 *)(r0 + 0)
    { code: 0x15, dst: 0, src: 0, off: 2, imm: 0 }, // if r0 == 0 goto +2
    { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, // r0 = 0
    { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }, // exit
  ];
}

/**
 * Slots of the stop check before each stoppable program (tracepoints,
 * kprobes, uprobes) on a kernel without perf links: its xlated length
 * counts them too. Four of them run per event (`ld_imm64` is one
 * instruction in two slots). Where perf links exist (Linux 5.15+) no
 * program carries it.
 *
 * @example The xlated slots of a tracepoint program's own code
 * ```ts
 * import { STOP_CHECK_SLOTS } from "./kernel_load.ts";
 * const xlated = 41;
 * console.assert(xlated - STOP_CHECK_SLOTS === 35);
 * ```
 */
export const STOP_CHECK_SLOTS = 6;

/** The map of the stop flag: one u64, whose first byte is the flag. */
export const STOP_MAP: MapSpec = {
  name: ".stop",
  type: MapType.ARRAY,
  keySize: 4,
  valueSize: 8,
  maxEntries: 1,
  key: { kind: "int", size: 4, signed: false },
  internal: true,
};

/** True for BEGIN and END, which run once through BPF_PROG_TEST_RUN. */
export function isSpecial(probe: ProbeProgram): boolean {
  return probe.attach.some((a) =>
    a.kind === "BEGIN" || a.kind === "END" || a.kind === "test" ||
    a.kind === "bench"
  );
}

/** What loading a probe needs from the engine. */
export interface LoadContext {
  /** The native libraries. */
  n: NativeLibs;
  /** The fd of each of the program's maps, by index. */
  mapFds: readonly number[];
  /**
   * The stop flag's map fd, or -1 when no program needs the check (the
   * kernel has perf links, or no program is stoppable).
   */
  stopFd: number;
  /** The verifier log level asked for (0 = none). */
  logLevel: 0 | 1 | 2;
  /** Where verifier logs are kept, by probe name. */
  logs: Map<string, string>;
  /** The script's text, to quote its line in a rejection. */
  source?: string;
  /**
   * False: expand sign-extending loads and moves even where the kernel
   * runs them (`KernelEngineOptions.signExtension`).
   */
  signExtension?: boolean;
}

/** The probe's code with map fds in, behind the stop check if `stoppable`. */
function patch(
  cx: LoadContext,
  insns: ProbeProgram["insns"],
  stoppable: boolean,
): Uint8Array<ArrayBuffer> {
  const out = insns.map((i) => ({ ...i }));
  for (let pc = 0; pc < out.length; pc++) {
    const i = out[pc];
    if (
      i.code === LD_IMM64 &&
      (i.src === PseudoSrc.MAP_FD || i.src === PseudoSrc.MAP_VALUE)
    ) {
      const fd = cx.mapFds[i.imm];
      if (fd === undefined) {
        throw new RangeError(
          `Instruction ${pc} refers to map ${i.imm}, the program has ${cx.mapFds.length}`,
        );
      }
      i.imm = fd;
      pc++; // skip the second half
    }
  }
  const code = stoppable ? [...stopCheck(cx.stopFd), ...out] : out;
  return encode(code) as Uint8Array<ArrayBuffer>;
}

/**
 * Loads one probe (BEGIN and END as raw tracepoints, which
 * BPF_PROG_TEST_RUN can run); throws a {@linkcode VerifierRejection} or an
 * errno error when the kernel refuses it.
 */
export function loadProbe(cx: LoadContext, compiled: ProbeProgram): Loaded {
  const probe = cx.signExtension !== false && hasSignExtendingLoads(cx.n)
    ? compiled
    : expandSignExtension(compiled);
  const special = isSpecial(probe);
  // BPF_PROG_TEST_RUN runs raw tracepoint and socket filter programs, not
  // kprobe or tracepoint ones: BEGIN/END load as raw tracepoints.
  const progType = special && probe.progType !== ProgType.SOCKET_FILTER
    ? ProgType.RAW_TRACEPOINT
    : probe.progType;
  const kname = kernelName(probe.name);
  const starts = functionStarts(probe.insns);
  // A program with callbacks (for loops) loads without the stop check:
  // its functions' BTF records the compiled offsets. (Without perf links
  // it is then detached when paused.)
  const stoppable = cx.stopFd >= 0 && needsStopCheck(probe, special) &&
    starts.length === 1;
  const btf = starts.length > 1 ? loadFuncBtf(cx.n, starts) : undefined;
  try {
    const loaded = loadCode(
      cx,
      probe,
      progType,
      kname,
      special,
      stoppable,
      btf,
    );
    // The engine finds a loaded probe by the compiled object.
    return { ...loaded, probe: compiled };
  } finally {
    if (btf !== undefined) cx.n.closeFd(btf.fd);
  }
}

let signLoads: boolean | undefined;

/**
 * Whether the kernel runs sign-extending loads and moves (`ldxsx`,
 * `movsx`, Linux 6.6+): a socket filter using both loads. Asked once.
 */
function hasSignExtendingLoads(n: NativeLibs): boolean {
  if (signLoads !== undefined) return signLoads;
  const code = encode([
    { code: 0xb7, dst: 1, src: 0, off: 0, imm: 0 }, // r1 = 0
    { code: 0x7b, dst: 10, src: 1, off: -8, imm: 0 }, // *(u64 *)(r10 - 8) = r1
    { code: 0x81, dst: 0, src: 10, off: -8, imm: 0 }, // r0 = *(s32 *)(r10 - 8)
    { code: 0xbf, dst: 0, src: 0, off: 8, imm: 0 }, // r0 = (s8)r0
    { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }, // exit
  ]) as Uint8Array<ArrayBuffer>;
  const fd = n.bpf.bpf_prog_load(
    ProgType.SOCKET_FILTER,
    cstr("tsb_probe_sx"),
    cstr("GPL"),
    code,
    5n,
    null,
  );
  signLoads = fd >= 0;
  if (fd >= 0) n.closeFd(fd);
  return signLoads;
}

/**
 * Loads the BTF of a program's functions (the kernel wants `func_info`
 * for callbacks); returns its fd and the records.
 */
function loadFuncBtf(
  n: NativeLibs,
  starts: number[],
): { fd: number; info: FuncInfo } {
  const info = funcInfo(starts);
  if (n.bpf.bpf_btf_load === null) {
    throw new TypeError(
      "This libbpf has no bpf_btf_load: programs with for loops need it",
    );
  }
  const fd = n.bpf.bpf_btf_load(info.btf, BigInt(info.btf.length), null);
  if (fd < 0) throw n.error("load the BTF of a program's functions", -fd);
  return { fd, info };
}

/** Loads a probe's code, retrying as the kernel's verdict requires. */
function loadCode(
  cx: LoadContext,
  probe: ProbeProgram,
  progType: number,
  kname: string,
  special: boolean,
  stoppable: boolean,
  btf: { fd: number; info: FuncInfo } | undefined,
): Loaded {
  const level = cx.logLevel;
  const target = btfTarget(probe);
  let checked = stoppable;
  let code = patch(cx, probe.insns, stoppable);
  let { fd, log } = tryLoad(
    cx.n,
    btf,
    target,
    progType,
    kname,
    code,
    level,
    level > 0,
  );
  if (fd < 0 && stoppable) {
    // Judged without the stop check, the program is the one compiled:
    // the verifier's log and instruction numbers are the script's. (If
    // it loads so, it runs without the check: pausing detaches it.)
    code = patch(cx, probe.insns, false);
    checked = false;
    ({ fd, log } = tryLoad(
      cx.n,
      btf,
      target,
      progType,
      kname,
      code,
      level,
      level > 0,
    ));
  }
  if (level > 0) cx.logs.set(probe.name, log);
  if (fd < 0) {
    const errno = -fd;
    if (level === 0) {
      ({ fd, log } = tryLoad(
        cx.n,
        btf,
        target,
        progType,
        kname,
        code,
        1,
        true,
      ));
      cx.logs.set(probe.name, log);
    }
    if (fd >= 0) {
      // Loaded with a log though it failed without: keep it.
    } else if (log.trim() !== "") {
      const at = failingInsn(log);
      const loc = at === undefined ? undefined : probe.locs?.[at];
      const sourceLine = loc === undefined
        ? undefined
        : cx.source?.split("\n")[loc.line - 1];
      throw new VerifierRejection(kname, log, errno, at, loc, {
        probe: probe.name,
        sourceLine,
      });
    } else if (target !== undefined) {
      throw new AttachError(
        probe.attach[0].text,
        `the kernel refused the ${target.name} program before verifying it (BPF_PROG_TYPE_TRACING, ${target.typeName}): ${
          errnoName(errno)
        }; this kernel does not run fentry/fexit programs: use a tracepoint or rawtracepoint`,
      );
    } else {
      throw cx.n.error(
        `load program "${kname}"`,
        errno,
        errno === 1
          ? "Loading BPF programs needs root (or CAP_BPF and CAP_PERFMON)"
          : undefined,
      );
    }
  }
  return { probe, fd, kname, special, stopChecked: checked };
}

/** What an fentry/fexit program is loaded for: its function's BTF. */
interface BtfTarget {
  /** `expected_attach_type`. */
  type: number;
  /** Its name, for messages. */
  typeName: string;
  /** The probe type, for messages. */
  name: string;
  /** `attach_btf_id`: the function's `FUNC` in vmlinux's BTF. */
  id: number;
}

/**
 * The attach target of an fentry/fexit program; undefined for other
 * probes (a raw tracepoint loads as BPF_PROG_TYPE_RAW_TRACEPOINT, by
 * name).
 *
 * @throws {AttachError} For a function of a module (its BTF object is
 * not passed yet).
 */
function btfTarget(probe: ProbeProgram): BtfTarget | undefined {
  const ap = probe.attach[0];
  if (ap === undefined || (ap.kind !== "fentry" && ap.kind !== "fexit")) {
    return undefined;
  }
  if (ap.btf === undefined) {
    throw new AttachError(ap.text, "the function's BTF id is unknown");
  }
  if (ap.btf.module !== undefined) {
    throw new AttachError(
      ap.text,
      `functions of modules (${ap.btf.module}) are not supported by the kernel engine yet: ${
        errnoName(95)
      }`,
    );
  }
  const fentry = ap.kind === "fentry";
  return {
    type: fentry ? AttachType.TRACE_FENTRY : AttachType.TRACE_FEXIT,
    typeName: fentry ? "BPF_TRACE_FENTRY" : "BPF_TRACE_FEXIT",
    name: ap.kind,
    id: ap.btf.id,
  };
}

/** One `bpf_prog_load`, with the verifier's log when `withLog`. */
function tryLoad(
  n: NativeLibs,
  btf: { fd: number; info: FuncInfo } | undefined,
  target: BtfTarget | undefined,
  progType: number,
  name: string,
  code: Uint8Array<ArrayBuffer>,
  logLevel: number,
  withLog: boolean,
): { fd: number; log: string } {
  const { bytes: opts, view } = alloc(ProgLoadOpts.size);
  view.setBigUint64(ProgLoadOpts.sz, BigInt(ProgLoadOpts.size), true);
  if (btf !== undefined) {
    const { fd, info } = btf;
    view.setUint32(ProgLoadOpts.prog_btf_fd, fd, true);
    view.setBigUint64(ProgLoadOpts.func_info, addressOf(info.records), true);
    view.setUint32(ProgLoadOpts.func_info_cnt, info.count, true);
    view.setUint32(ProgLoadOpts.func_info_rec_size, 8, true);
  }
  if (target !== undefined) {
    view.setUint32(ProgLoadOpts.expected_attach_type, target.type, true);
    view.setUint32(ProgLoadOpts.attach_btf_id, target.id, true);
  }
  const logBuf = withLog ? new Uint8Array(LOG_SIZE) : undefined;
  if (logBuf) {
    view.setUint32(ProgLoadOpts.log_level, logLevel, true);
    view.setUint32(ProgLoadOpts.log_size, logBuf.length, true);
    view.setBigUint64(ProgLoadOpts.log_buf, addressOf(logBuf), true);
  }
  const fd = n.bpf.bpf_prog_load(
    progType,
    cstr(name),
    cstr("GPL"),
    code,
    BigInt(code.length / 8),
    opts,
  );
  let log = "";
  if (logBuf) {
    const end = logBuf.indexOf(0);
    log = new TextDecoder().decode(
      logBuf.subarray(0, end < 0 ? logBuf.length : end),
    );
  }
  return { fd, log };
}
