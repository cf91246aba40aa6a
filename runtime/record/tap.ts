/**
 * The recording tap: rewrites each probe's instructions so that every run
 * leaves a record of what it consumed, for a byte-identical replay.
 *
 * - At entry (all registers but r1 are free): the per-CPU scratch value is
 *   looked up and its pointer spilled to a stack slot the program does not
 *   use; the time, CPU, pid/tgid, uid/gid, cgroup and comm are stored; the
 *   context bytes are copied; for tracepoints, the strings `char *`
 *   arguments point to are captured.
 * - After each helper whose result varies ({@linkcode RESULT_HELPERS}):
 *   r0 is appended. Around each helper that writes memory
 *   ({@linkcode WRITING_HELPERS}): its destination, size and source are
 *   saved before the call (r0 is dead there), and after it r0 and the
 *   destination's bytes are appended (copied with probe_read_kernel; r0 is
 *   then reloaded).
 * - Before each exit of the main program: the record is sent through the
 *   events ring buffer, its first u64 {@linkcode RECORD_ID} telling it
 *   apart from the program's own events.
 *
 * A record that would overflow the scratch area is flagged incomplete.
 *
 * @module
 */

import type { Insn } from "../bpf/insn.ts";
import {
  AluOp,
  CallSrc,
  Class,
  Helper,
  JmpOp,
  MapType,
  Mode,
  PseudoSrc,
  Size,
  Source,
} from "../bpf/opcodes.ts";
import type { MapSpec, ProbeProgram, Program } from "../program.ts";
import { ORDER_HELPERS, RESULT_HELPERS, WRITING_HELPERS } from "./format.ts";

/** First u64 of a recording record in the events ring (never a format id). */
export const RECORD_ID = 0xffffffff_72656373n;
/** Bytes of the per-CPU scratch record. */
export const SCRATCH_SIZE = 16384;
/** Largest memory write recorded whole; larger ones flag the run incomplete. */
export const MAX_READ = 1024;
/** Events ring size while recording (records share it with events). */
export const RECORD_RING_SIZE = 32 << 20;

/** Offsets in the scratch record. */
export const Off = {
  ID: 0,
  LEN: 8,
  PROBE: 12,
  TIME: 16,
  CPU: 24,
  FLAGS: 28,
  PID_TGID: 32,
  UID_GID: 40,
  CGROUP: 48,
  COMM: 56,
  SAVE_DST: 72,
  SAVE_SIZE: 80,
  SAVE_SRC: 88,
  ENTRY: 96,
  CTX_LEN: 100,
  LOST: 104,
  CTX: 112,
} as const;

/** Bytes of an appended call's header: u32 helper, u32 size, u64 r0, u64 addr. */
export const CALL_HEADER = 24;

/** Options of {@linkcode instrument}. */
export interface TapOptions {
  /** Bytes captured per `char *` tracepoint argument (default 256; 0: none). */
  stringCapture?: number;
  /**
   * The program traces only this process (`-p PID`, compiled with the
   * same `pid`): the runs of other processes, which its pid test ends at
   * once, are not recorded either. Without it, every run is recorded,
   * and a machine-wide probe under load fills the ring with the runs of
   * processes the program drops.
   */
  pid?: number;
}

/** What {@linkcode instrument} made. */
export interface Tapped {
  /** The program to load instead. */
  program: Program;
  /** Index of the scratch map (it holds the lost-record count). */
  scratchMap: number;
  /** Per probe, the `char *` fields captured at entry. */
  captures: { name: string; offset: number; helper: number }[][];
}

const r = (code: number, dst: number, src: number, off: number, imm: number) =>
  ({ code, dst, src, off, imm }) as Insn;
const mov = (d: number, s: number) =>
  r(Class.ALU64 | AluOp.MOV | Source.X, d, s, 0, 0);
const movi = (d: number, imm: number) =>
  r(Class.ALU64 | AluOp.MOV | Source.K, d, 0, 0, imm);
const addi = (d: number, imm: number) =>
  r(Class.ALU64 | AluOp.ADD | Source.K, d, 0, 0, imm);
const add = (d: number, s: number) =>
  r(Class.ALU64 | AluOp.ADD | Source.X, d, s, 0, 0);
const andi = (d: number, imm: number) =>
  r(Class.ALU64 | AluOp.AND | Source.K, d, 0, 0, imm);
const ldx = (size: number, d: number, s: number, off: number) =>
  r(Class.LDX | Mode.MEM | size, d, s, off, 0);
const stx = (size: number, d: number, s: number, off: number) =>
  r(Class.STX | Mode.MEM | size, d, s, off, 0);
const st = (size: number, d: number, off: number, imm: number) =>
  r(Class.ST | Mode.MEM | size, d, 0, off, imm);
const call = (id: number) => r(Class.JMP | JmpOp.CALL, 0, 0, 0, id);
const exit = () => r(Class.JMP | JmpOp.EXIT, 0, 0, 0, 0);
const jgti = (d: number, imm: number, off: number) =>
  r(Class.JMP | JmpOp.JGT | Source.K, d, 0, off, imm);
const rshi = (d: number, imm: number) =>
  r(Class.ALU64 | AluOp.RSH | Source.K, d, 0, 0, imm);
const jeqi = (d: number, imm: number, off: number) =>
  r(Class.JMP | JmpOp.JEQ | Source.K, d, 0, off, imm);
const jnei = (d: number, imm: number, off: number) =>
  r(Class.JMP | JmpOp.JNE | Source.K, d, 0, off, imm);
const ja = (off: number) => r(Class.JMP | JmpOp.JA, 0, 0, off, 0);
const ldMap = (d: number, index: number): Insn[] => [
  r(Class.LD | Mode.IMM | Size.DW, d, PseudoSrc.MAP_FD, 0, index),
  r(0, 0, 0, 0, 0),
];
const { W, DW } = Size;

/** Lowest stack offset (negative, from r10) the program touches. */
export function stackLow(insns: readonly Insn[]): number {
  let low = 0;
  const fp = new Map<number, number>();
  for (const i of insns) {
    const cls = i.code & 7;
    if (cls === Class.LDX || cls === Class.STX || cls === Class.ST) {
      const base = cls === Class.LDX ? i.src : i.dst;
      const k = base === 10 ? 0 : fp.get(base);
      if (k !== undefined) low = Math.min(low, k + i.off);
      if (cls === Class.LDX) fp.delete(i.dst);
      continue;
    }
    if (cls === Class.ALU64 || cls === Class.ALU) {
      const op = i.code & 0xf0;
      const x = (i.code & Source.X) !== 0;
      if (cls === Class.ALU64 && op === AluOp.MOV && x && i.src === 10) {
        fp.set(i.dst, 0);
      } else if (
        cls === Class.ALU64 && op === AluOp.MOV && x && fp.has(i.src)
      ) fp.set(i.dst, fp.get(i.src)!);
      else if (
        cls === Class.ALU64 && op === AluOp.ADD && !x && fp.has(i.dst)
      ) {
        const k = fp.get(i.dst)! + i.imm;
        fp.set(i.dst, k);
        low = Math.min(low, k);
      } else fp.delete(i.dst);
      continue;
    }
    if (cls === Class.JMP && (i.code & 0xf0) === JmpOp.CALL) {
      for (let g = 0; g <= 5; g++) fp.delete(g);
    }
    if (i.code === (Class.LD | Mode.IMM | Size.DW)) fp.delete(i.dst);
  }
  return low;
}

/**
 * Whether the compiler gives `p` the `-p PID` test: every probe but
 * BEGIN, END, test and bench probes (runtime/compiler/compile.ts).
 */
function pidFiltered(p: ProbeProgram): boolean {
  return !p.attach.every((a) =>
    a.kind === "BEGIN" || a.kind === "END" || a.kind === "test" ||
    a.kind === "bench"
  );
}

function isJump(i: Insn): boolean {
  const cls = i.code & 7;
  if (cls !== Class.JMP && cls !== Class.JMP32) return false;
  const op = i.code & 0xf0;
  return op !== JmpOp.CALL && op !== JmpOp.EXIT;
}

/** `char *` fields of a tracepoint probe, captured at entry. */
function charPointers(p: ProbeProgram): { name: string; offset: number }[] {
  if (p.ctx.kind !== "tracepoint") return [];
  return (p.ctx.fields ?? []).filter((f) =>
    f.size === 8 && !f.dataLoc && /\bchar\s*\*\s*$/.test(f.ctype.trim())
  ).map((f) => ({ name: f.name, offset: f.offset }));
}

/**
 * Whether the context can be copied as the program sees it (perf-event
 * contexts through loads: the verifier rewrites those, while the pointer
 * leads to the kernel's own struct).
 */
function copyableCtx(p: ProbeProgram): boolean {
  return p.ctx.kind === "tracepoint" || p.ctx.kind === "pt_regs" ||
    p.ctx.kind === "raw_tp" || p.ctx.kind === "perf_event";
}

/** Bytes of context copied at entry. */
export function ctxCopySize(p: ProbeProgram): number {
  if (!copyableCtx(p)) return 0;
  const extra = p.ctx.fields?.some((f) => f.dataLoc) ? 256 : 0;
  return Math.min(2048, ((p.ctx.size + 7) & ~7) + extra);
}

/**
 * Makes the recording version of `program` (see the module notes). The
 * maps keep their indexes; the scratch map (and an events ring when the
 * program has none) are appended.
 *
 * @throws {RangeError} when a probe leaves no stack slot for the tap or
 *   uses bpf-to-bpf calls.
 * @example Instrument a one-liner
 * ```ts
 * import { compile } from "../compiler/compile.ts";
 * import { instrument } from "./tap.ts";
 * const p = compile("tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }");
 * const t = instrument(p);
 * console.assert(t.program.probes[0].insns.length > p.probes[0].insns.length);
 * ```
 */
export function instrument(program: Program, options: TapOptions = {}): Tapped {
  const strCap = options.stringCapture ?? 256;
  const maps: MapSpec[] = program.maps.map((m) => ({ ...m }));
  const scratchMap = maps.length;
  maps.push({
    name: ".rec",
    type: MapType.PERCPU_ARRAY,
    keySize: 4,
    valueSize: SCRATCH_SIZE,
    maxEntries: 1,
    key: { kind: "int", size: 4, signed: false },
    internal: true,
  });
  let ring = program.eventsMap;
  if (ring === undefined) {
    ring = maps.length;
    maps.push({
      name: ".events",
      type: MapType.RINGBUF,
      keySize: 0,
      valueSize: 0,
      maxEntries: RECORD_RING_SIZE,
      key: { kind: "none", size: 0 },
      internal: true,
    });
  } else {
    maps[ring].maxEntries = Math.max(maps[ring].maxEntries, RECORD_RING_SIZE);
  }
  const captures: Tapped["captures"] = [];
  const probes = program.probes.map((p, index) => {
    const caps = strCap > 0
      ? charPointers(p).map((c) => ({
        ...c,
        helper: p.attach[0]?.target.startsWith("syscalls:")
          ? Helper.probe_read_user_str
          : Helper.probe_read_kernel_str,
      }))
      : [];
    captures.push(caps);
    const pid = options.pid !== undefined && pidFiltered(p)
      ? options.pid
      : undefined;
    return {
      ...p,
      insns: tapProbe(p, index, scratchMap, ring!, caps, strCap, pid),
      locs: undefined,
    };
  });
  return {
    program: { ...program, maps, probes, eventsMap: ring },
    scratchMap,
    captures,
  };
}

function tapProbe(
  p: ProbeProgram,
  index: number,
  scratch: number,
  ring: number,
  caps: { offset: number; helper: number }[],
  strCap: number,
  pid: number | undefined,
): Insn[] {
  const insns = p.insns;
  for (const i of insns) {
    if (
      (i.code === (Class.JMP | JmpOp.CALL) && i.src === CallSrc.PSEUDO_CALL) ||
      (i.code === (Class.LD | Mode.IMM | Size.DW) && i.src === PseudoSrc.FUNC)
    ) {
      throw new RangeError(
        `Cannot record probe "${p.name}": it uses bpf-to-bpf calls`,
      );
    }
  }
  // 8-aligned: the slot holds a spilled pointer.
  const slot = Math.floor(stackLow(insns) / 8) * 8 - 16;
  if (slot < -512) {
    throw new RangeError(
      `Cannot record probe "${p.name}": its stack is full (the recorder needs 16 bytes)`,
    );
  }
  const key = slot + 8;
  // Entry prologue: with a pid, the runs of other processes end at once
  // (as the program's own `-p` test would end them), unrecorded.
  const pro: Insn[] = [mov(6, 1)];
  if (pid !== undefined) {
    pro.push(call(Helper.get_current_pid_tgid), rshi(0, 32));
    pro.push(jeqi(0, pid, 2), movi(0, 0), exit());
  }
  pro.push(st(W, 10, key, 0));
  pro.push(...ldMap(1, scratch), mov(2, 10), addi(2, key));
  pro.push(call(Helper.map_lookup_elem), jnei(0, 0, 2), movi(0, 0), exit());
  pro.push(stx(DW, 10, 0, slot), mov(7, 0));
  const ctxLen = ctxCopySize(p);
  let len = Off.CTX + ctxLen;
  const capStart = len;
  len += caps.length * ((CALL_HEADER + strCap + 7) & ~7);
  pro.push(
    ...ldImmU64(1, RECORD_ID),
    stx(DW, 7, 1, Off.ID),
    st(W, 7, Off.PROBE, index),
    st(W, 7, Off.FLAGS, 0),
    st(W, 7, Off.CTX_LEN, ctxLen),
  );
  pro.push(call(Helper.ktime_get_ns), stx(DW, 7, 0, Off.TIME));
  pro.push(call(Helper.get_smp_processor_id), stx(W, 7, 0, Off.CPU));
  pro.push(call(Helper.get_current_pid_tgid), stx(DW, 7, 0, Off.PID_TGID));
  pro.push(call(Helper.get_current_uid_gid), stx(DW, 7, 0, Off.UID_GID));
  pro.push(call(Helper.get_current_cgroup_id), stx(DW, 7, 0, Off.CGROUP));
  pro.push(mov(1, 7), addi(1, Off.COMM), movi(2, 16));
  pro.push(call(Helper.get_current_comm));
  if (ctxLen > 0 && p.ctx.kind === "perf_event") {
    // bpf_perf_event_data (registers, sample_period, addr): 8-byte loads.
    for (let off = 0; off + 8 <= ctxLen; off += 8) {
      pro.push(ldx(DW, 0, 6, off), stx(DW, 7, 0, Off.CTX + off));
    }
  } else if (ctxLen > 0) {
    pro.push(mov(1, 7), addi(1, Off.CTX), movi(2, ctxLen), mov(3, 6));
    pro.push(call(Helper.probe_read_kernel));
  }
  caps.forEach((c, k) => {
    const at = capStart + k * ((CALL_HEADER + strCap + 7) & ~7);
    pro.push(
      st(W, 7, at, c.helper + 0x10000),
      st(W, 7, at + 4, strCap),
      ldx(DW, 8, 6, c.offset),
      stx(DW, 7, 8, at + 16),
      mov(1, 7),
      addi(1, at + CALL_HEADER),
      movi(2, strCap),
      mov(3, 8),
      call(c.helper),
      stx(DW, 7, 0, at + 8),
    );
  });
  pro.push(st(W, 7, Off.LEN, len), mov(1, 6));

  // Pieces per original slot: prefix, the slot, suffix.
  const pieces: { pre: Insn[]; post: Insn[] }[] = [];
  const capR0 = SCRATCH_SIZE - CALL_HEADER - 8;
  const capRead = SCRATCH_SIZE - CALL_HEADER - MAX_READ - 8;
  for (let pc = 0; pc < insns.length; pc++) {
    const i = insns[pc];
    const piece = { pre: [] as Insn[], post: [] as Insn[] };
    pieces.push(piece);
    if (i.code === (Class.LD | Mode.IMM | Size.DW)) {
      pieces.push({ pre: [], post: [] });
      pc++;
      continue;
    }
    if (i.code === (Class.JMP | JmpOp.EXIT)) {
      piece.pre.push(
        mov(6, 0),
        ldx(DW, 2, 10, slot),
        ldx(W, 3, 2, Off.LEN),
        jgti(3, SCRATCH_SIZE, 10),
        ...ldMap(1, ring),
        movi(4, 0),
        call(Helper.ringbuf_output),
        jeqi(0, 0, 4),
        ldx(DW, 1, 10, slot),
        ldx(DW, 2, 1, Off.LOST),
        addi(2, 1),
        stx(DW, 1, 2, Off.LOST),
        mov(0, 6),
      );
      continue;
    }
    if (i.code !== (Class.JMP | JmpOp.CALL) || i.src !== CallSrc.HELPER) {
      continue;
    }
    // get_current_comm gives the comm recorded at entry: no tap needed.
    const w = i.imm === Helper.get_current_comm
      ? undefined
      : WRITING_HELPERS.get(i.imm);
    if (w !== undefined) {
      piece.pre.push(
        ldx(DW, 0, 10, slot),
        stx(DW, 0, w.dst, Off.SAVE_DST),
        stx(DW, 0, w.size, Off.SAVE_SIZE),
        w.src === undefined
          ? st(DW, 0, Off.SAVE_SRC, 0)
          : stx(DW, 0, w.src, Off.SAVE_SRC),
      );
      const body: Insn[] = [
        ldx(DW, 3, 1, Off.SAVE_SIZE),
        jgti(3, MAX_READ, -1), // -> over
        stx(W, 1, 2, Off.ENTRY),
        ldx(DW, 4, 1, Off.SAVE_SRC),
        mov(5, 3),
        addi(5, CALL_HEADER + 7),
        andi(5, -8),
        add(5, 2),
        stx(W, 1, 5, Off.LEN),
        add(1, 2),
        st(W, 1, 0, i.imm),
        stx(W, 1, 3, 4),
        stx(DW, 1, 0, 8),
        stx(DW, 1, 4, 16),
        addi(1, CALL_HEADER),
        mov(2, 3),
        ldx(DW, 3, 10, slot),
        ldx(DW, 3, 3, Off.SAVE_DST),
        call(Helper.probe_read_kernel),
        ldx(DW, 1, 10, slot),
        ldx(W, 2, 1, Off.ENTRY),
        jgti(2, capRead, -1), // -> over
        add(1, 2),
        ldx(DW, 0, 1, 8),
      ];
      piece.post.push(...guarded(slot, capRead, body));
    } else if (ORDER_HELPERS.has(i.imm)) {
      // When the run's output entered the ring and, for a reservation,
      // where (the record's address: ring order, which is the order the
      // reader consumes outputs in): replay emits outputs in this order,
      // whatever order the runs' records arrived in. r0 (the reserved
      // record) waits in the key slot meanwhile.
      const reserve = i.imm === Helper.ringbuf_reserve;
      const body: Insn[] = reserve
        ? [
          add(1, 2),
          st(W, 1, 0, i.imm),
          st(W, 1, 4, 8),
          stx(DW, 1, 0, 8),
          ldx(DW, 3, 10, key),
          stx(DW, 1, 3, 16),
          addi(2, 24),
          ldx(DW, 1, 10, slot),
          stx(W, 1, 2, Off.LEN),
        ]
        : [
          add(1, 2),
          st(W, 1, 0, i.imm),
          st(W, 1, 4, 0),
          stx(DW, 1, 0, 8),
          addi(2, 16),
          ldx(DW, 1, 10, slot),
          stx(W, 1, 2, Off.LEN),
        ];
      piece.post.push(
        stx(DW, 10, 0, key),
        call(Helper.ktime_get_ns),
        ...guarded(slot, capR0, body),
        ldx(DW, 0, 10, key),
      );
    } else if (RESULT_HELPERS.has(i.imm)) {
      const body: Insn[] = [
        add(1, 2),
        st(W, 1, 0, i.imm),
        st(W, 1, 4, 0),
        stx(DW, 1, 0, 8),
        addi(2, 16),
        ldx(DW, 1, 10, slot),
        stx(W, 1, 2, Off.LEN),
      ];
      piece.post.push(...guarded(slot, capR0, body));
    }
  }
  // Lay out and relocate.
  const start: number[] = [];
  const at: number[] = [];
  let n = pro.length;
  for (let pc = 0; pc < insns.length; pc++) {
    start[pc] = n;
    n += pieces[pc].pre.length;
    at[pc] = n;
    n += 1 + pieces[pc].post.length;
  }
  start[insns.length] = n;
  const out: Insn[] = [...pro];
  for (let pc = 0; pc < insns.length; pc++) {
    const i = { ...insns[pc] };
    if (isJump(i)) {
      const ja32 = (i.code & 7) === Class.JMP32 && (i.code & 0xf0) === JmpOp.JA;
      const t = pc + 1 + (ja32 ? i.imm : i.off);
      const rel = (start[t] ?? n) - (at[pc] + 1);
      if (ja32) i.imm = rel;
      else i.off = rel;
    }
    out.push(...pieces[pc].pre, i, ...pieces[pc].post);
  }
  return out;
}

/**
 * Wraps a tap body: loads the scratch pointer (r1) and its length (r2),
 * skips to an "incomplete" flag when the record is full; `-1` jump offsets
 * in the body mean "to the flag".
 */
function guarded(slot: number, cap: number, body: Insn[]): Insn[] {
  const head = [ldx(DW, 1, 10, slot), ldx(W, 2, 1, Off.LEN), jgti(2, cap, -1)];
  const all = [...head, ...body, ja(2)];
  const over = all.length; // index of the flag store
  all.forEach((x, k) => {
    if (
      x.off === -1 && (x.code & 7) === Class.JMP &&
      (x.code & 0xf0) === JmpOp.JGT
    ) {
      x.off = over - (k + 1);
    }
  });
  all.push(ldx(DW, 1, 10, slot), st(W, 1, Off.FLAGS, 1));
  return all;
}

function ldImmU64(d: number, v: bigint): Insn[] {
  return [
    r(Class.LD | Mode.IMM | Size.DW, d, 0, 0, Number(v & 0xffffffffn) | 0),
    r(0, 0, 0, 0, Number(v >> 32n) | 0),
  ];
}
