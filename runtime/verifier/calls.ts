/**
 * Calls and exits for the verifier: helper calls checked against their
 * prototypes (`helper_protos.ts`), ringbuf record references and their
 * release, bpf-to-bpf calls with a new frame, and `exit` from a function or
 * the program.
 *
 * @module
 */

import { MapType } from "../bpf/opcodes.ts";
import { HELPER_PROTOS } from "./helper_protos.ts";
import { constOf, FULL, rangeText, S64_MAX, sRange } from "./scalar.ts";
import {
  mkReg,
  newFrame,
  notInit,
  ownStack,
  scalar,
  spillAt,
  T,
  typeName,
} from "./state.ts";
import type { Dec } from "./structure.ts";
import { MAX_FRAMES, MAX_SIZE, type Verification } from "./verification.ts";
import { memArg } from "./memory.ts";

/**
 * Checks a helper call against its prototype and sets R0 to its result;
 * returns the next pc (a callback's first, for a helper that calls one).
 */
export function doHelper(vr: Verification, pc: number, d: Dec): number {
  const proto = HELPER_PROTOS.get(d.imm)!;
  const name = proto.name;
  const regs = vr.frame.regs;
  let mapIdx = -1;
  let allocSize = 0;
  let release = 0;
  let sizeMax = 0n;
  const arg = (i: number) => `R${i + 1} (argument ${i + 1} of ${name})`;
  for (let i = 0; i < proto.args.length; i++) {
    const kind = proto.args[i];
    if (kind === "dontcare") continue;
    const regno = i + 1;
    const r = regs[regno];
    if (r.t === T.NOT_INIT) {
      vr.fail(
        pc,
        `${arg(i)} is not initialized${r.note ? ` (${r.note})` : ""}`,
      );
    }
    switch (kind) {
      case "anything":
        break;
      case "percpu_var":
        if (r.t !== T.PERCPU) {
          vr.fail(
            pc,
            `${
              arg(i)
            } must be a per-CPU kernel variable (ld_imm64 of a BTF id), but it is ${
              typeName(r)
            }`,
          );
        }
        break;
      case "func":
        if (r.t !== T.FUNC) {
          vr.fail(
            pc,
            `${arg(i)} must be a callback function, but it is ${typeName(r)}`,
          );
        }
        break;
      case "ctx":
        if (r.t !== T.CTX || r.off !== 0 || constOf(r.r) !== 0n) {
          vr.fail(
            pc,
            `${arg(i)} must be the unmodified context pointer, but it is ${
              typeName(r)
            }${r.t === T.CTX ? ` with offset ${r.off}` : ""}`,
          );
        }
        break;
      case "map": {
        if (r.t !== T.MAP_PTR) {
          vr.fail(
            pc,
            `${arg(i)} must be a map pointer, but it is ${typeName(r)}`,
          );
        }
        mapIdx = r.map;
        const mt = vr.opts.maps[mapIdx].type;
        if (!proto.mapTypes!.includes(mt)) {
          vr.fail(
            pc,
            `${name} cannot be used with map ${mapIdx} of type ${
              mapTypeName(mt)
            }`,
          );
        }
        break;
      }
      case "key":
      case "value": {
        const m = vr.opts.maps[mapIdx];
        const size = kind === "key" ? m.keySize : m.valueSize;
        memArg(vr, pc, arg(i), r, size, false);
        break;
      }
      case "mem":
      case "uninit_mem":
        memArg(vr, pc, arg(i), r, -1, false);
        break;
      case "size":
      case "size_or_zero": {
        if (r.t !== T.SCALAR) {
          vr.fail(
            pc,
            `${arg(i)} must be a size (a scalar), but it is ${typeName(r)}`,
          );
        }
        if (r.r.smin < 0n) {
          vr.fail(
            pc,
            `${arg(i)} is a size that may be negative (${
              rangeText(r.r)
            }); bound it first`,
          );
        }
        if (r.r.umax > MAX_SIZE) {
          vr.fail(
            pc,
            `${arg(i)} is an unbounded size (${
              rangeText(r.r)
            }); bound it first`,
          );
        }
        if (kind === "size" && r.r.umin === 0n) {
          vr.fail(
            pc,
            `${arg(i)} is a size that may be zero (${rangeText(r.r)})`,
          );
        }
        sizeMax = r.r.umax;
        if (sizeMax > 0n) {
          memArg(
            vr,
            pc,
            arg(i - 1),
            regs[regno - 1],
            Number(sizeMax),
            proto.args[i - 1] === "uninit_mem",
          );
        }
        break;
      }
      case "alloc_size": {
        const c = r.t === T.SCALAR ? constOf(r.r) : undefined;
        if (c === undefined || c > MAX_SIZE) {
          vr.fail(
            pc,
            `${arg(i)} must be a known constant size, but it is ${
              r.t === T.SCALAR ? rangeText(r.r) : typeName(r)
            }`,
          );
        }
        allocSize = Number(c);
        break;
      }
      case "alloc_mem":
        if (r.t === T.MEM_OR_NULL) {
          vr.fail(
            pc,
            `${
              arg(i)
            } is a ringbuf record that may be NULL; check it against 0 first`,
          );
        }
        if (r.t !== T.MEM || r.ref === 0) {
          vr.fail(
            pc,
            `${arg(i)} must be a record from ringbuf_reserve, but it is ${
              typeName(r)
            }`,
          );
        }
        if (r.off !== 0 || constOf(r.r) !== 0n) {
          vr.fail(
            pc,
            `${
              arg(i)
            } must point to the start of the ringbuf record (offset 0)`,
          );
        }
        release = r.ref;
        break;
    }
  }
  if (name === "tail_call" && vr.cur.refs.length > 0) {
    vr.fail(
      pc,
      `tail_call with an unreleased ringbuf record (reserved at insn ${
        vr.cur.refs[0].pc
      })`,
    );
  }
  if (release !== 0) releaseRef(vr, release, pc, name);
  if (name === "loop" || name === "for_each_map_elem") {
    return enterCallback(vr, pc, name, mapIdx);
  }
  const note = `R0-R5 are clobbered by the call at insn ${pc}`;
  const clob = notInit(note);
  for (let r = 1; r <= 5; r++) regs[r] = clob;
  switch (proto.ret) {
    case "integer":
      regs[0] = scalar(
        proto.retBoundedBySize
          ? sRange(-(1n << 63n), sizeMax < S64_MAX ? sizeMax : S64_MAX)
          : FULL,
      );
      break;
    case "void":
      regs[0] = notInit(`${name} returns nothing`);
      break;
    case "map_value_or_null":
      regs[0] = mkReg(T.MAP_VALUE_OR_NULL, { map: mapIdx, id: vr.newId() });
      break;
    case "kptr":
      regs[0] = mkReg(T.KPTR);
      break;
    case "kptr_or_null":
      regs[0] = mkReg(T.KPTR_OR_NULL, { id: vr.newId() });
      break;
    case "mem_or_null": {
      const id = vr.newId();
      regs[0] = mkReg(T.MEM_OR_NULL, { size: allocSize, id, ref: id });
      vr.cur.refs = [...vr.cur.refs, { id, pc }];
      break;
    }
  }
  return pc + 1;
}

/** Most iterations of bpf_loop (the kernel's BPF_MAX_LOOPS). */
const MAX_LOOPS = 1n << 23n;

/**
 * A helper that calls a callback (`bpf_loop`, `bpf_for_each_map_elem`):
 * the callback is entered as a call from the helper's pc, with the
 * arguments the helper passes; its exit returns to after the helper (see
 * `doExit`). Modelled as one call: the callback's effects on the caller's
 * stack through the context pointer are checked once, as the kernel's
 * first pass does.
 */
function enterCallback(
  vr: Verification,
  pc: number,
  name: string,
  mapIdx: number,
): number {
  const regs = vr.frame.regs;
  const ctx = regs[3];
  if (ctx.t !== T.STACK && !(ctx.t === T.SCALAR && constOf(ctx.r) === 0n)) {
    vr.fail(
      pc,
      `R3 (argument 3 of ${name}) must be a stack pointer or 0, but it is ${
        typeName(ctx)
      }`,
    );
  }
  const target = regs[2].off;
  const frames = vr.cur.frames;
  if (frames.length >= MAX_FRAMES) {
    vr.fail(
      pc,
      `the call stack of ${
        frames.length + 1
      } frames is too deep (at most ${MAX_FRAMES})`,
    );
  }
  const callee = newFrame(
    frames.length,
    pc,
    vr.s.funcOf[target],
    `r0 and r${name === "loop" ? 3 : 5}-r9 start uninitialized in a callback`,
  );
  if (name === "loop") {
    callee.regs[1] = scalar(sRange(0n, MAX_LOOPS - 1n));
    callee.regs[2] = ctx;
  } else {
    const m = vr.opts.maps[mapIdx];
    callee.regs[1] = mkReg(T.MAP_PTR, { map: mapIdx });
    callee.regs[2] = mkReg(T.MEM, { size: m.keySize });
    callee.regs[3] = mkReg(T.MAP_VALUE, { map: mapIdx });
    callee.regs[4] = ctx;
  }
  frames.push(callee);
  return target;
}

function releaseRef(
  vr: Verification,
  ref: number,
  pc: number,
  name: string,
): void {
  const st = vr.cur;
  st.refs = st.refs.filter((r) => r.id !== ref);
  const gone = notInit(
    `its ringbuf record was released by ${name} at insn ${pc}`,
  );
  for (const fr of st.frames) {
    for (let i = 0; i < 10; i++) {
      if (fr.regs[i].ref === ref) fr.regs[i] = gone;
    }
    for (let s = 0; s < fr.slots.length; s++) {
      if (spillAt(fr, s)?.ref === ref) {
        ownStack(fr);
        fr.slots[s] = 0;
      }
    }
  }
}

/** Enters a bpf-to-bpf call with a new frame; returns the callee's pc. */
export function doCallLocal(vr: Verification, pc: number, d: Dec): number {
  const frames = vr.cur.frames;
  if (frames.length >= MAX_FRAMES) {
    vr.fail(
      pc,
      `the call stack of ${
        frames.length + 1
      } frames is too deep (at most ${MAX_FRAMES})`,
    );
  }
  const caller = vr.frame;
  const callee = newFrame(
    frames.length,
    pc,
    vr.s.funcOf[d.target],
    "r0 and r6-r9 start uninitialized in a called function",
  );
  for (let r = 1; r <= 5; r++) callee.regs[r] = caller.regs[r];
  frames.push(callee);
  return d.target;
}

/**
 * Returns from a function to its caller, or ends the path at the program's
 * exit; returns the next pc, or -1 when the path ends.
 */
export function doExit(vr: Verification, pc: number): number {
  const f = vr.frame;
  const r0 = f.regs[0];
  if (r0.t === T.NOT_INIT) {
    vr.fail(
      pc,
      `R0 is not initialized at exit; set the return value${
        r0.note ? ` (${r0.note})` : ""
      }`,
    );
  }
  const frames = vr.cur.frames;
  if (frames.length > 1) {
    if (r0.t === T.STACK && r0.frame === frames.length - 1) {
      vr.fail(
        pc,
        `returning a pointer to the function's own stack is not allowed`,
      );
    }
    const callback = vr.s.dec[f.callsite]?.k === "call";
    if (
      callback &&
      (r0.t !== T.SCALAR || r0.r.smin < 0n || r0.r.smax > 1n)
    ) {
      vr.fail(
        pc,
        `a callback must return 0 or 1, but R0 is ${
          r0.t === T.SCALAR ? rangeText(r0.r) : typeName(r0)
        }`,
      );
    }
    frames.pop();
    const caller = vr.frame;
    caller.regs[0] = callback ? scalar(FULL) : r0;
    const clob = notInit(
      `R0-R5 are clobbered by the call at insn ${f.callsite}`,
    );
    for (let r = 1; r <= 5; r++) caller.regs[r] = clob;
    return f.callsite + 1;
  }
  if (r0.t !== T.SCALAR) {
    vr.fail(
      pc,
      `R0 is ${typeName(r0)} at exit; returning a pointer would leak it`,
    );
  }
  if (vr.cur.refs.length > 0) {
    const ref = vr.cur.refs[0];
    vr.fail(
      pc,
      `the ringbuf record reserved at insn ${ref.pc} is neither submitted nor discarded on this path (unreleased reference)`,
    );
  }
  return -1;
}

function mapTypeName(t: number): string {
  for (const [k, v] of Object.entries(MapType)) if (v === t) return k;
  return String(t);
}
