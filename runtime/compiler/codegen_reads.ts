/**
 * Reads from the probe's world: the context (`args`, `argN`, registers,
 * USDT arguments), kernel and user memory at an address, struct members,
 * builtin variables and the calls whose value is a scalar.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import type { Width } from "../bpf/builder.ts";
import { Helper, R10 } from "../bpf/opcodes.ts";
import { fieldType } from "./type_names.ts";
import { ARG_REGS, kernelAddress, PT_REGS } from "./call_constants.ts";
import type { Ref } from "./regs.ts";
import { STABLE_HELPER } from "./reuse.ts";
import { keyedMap, ppidExpr, strlenOf } from "./sugar.ts";
import { mapLen } from "./codegen_len.ts";
import { buildKey } from "./codegen_maps.ts";
import { onDemand } from "./on_demand.ts";
import { memcmpValue } from "./codegen_memcmp.ts";
import { event } from "./codegen_events.ts";
import { ncpus, taiBootDeltaNs } from "./host_facts.ts";
import { type IntType, sizeOf, type SType, U64 } from "./types.ts";
import {
  BPF_F_USER_STACK,
  type Dst,
  type Emitter,
  type Place,
  readHelperFrom,
} from "./emitter.ts";

/**
 * Loads `size` bytes at offset `off` of the context (sign-extended when
 * `signed`).
 */
export function ctxLoad(
  cg: Emitter,
  off: number,
  size: Width,
  signed: boolean,
): Ref {
  const r = cg.ra.newReg();
  const rr = cg.ra.reg(r);
  cg.b.ldx(size, rr, cg.ctx, off);
  if (signed && size < 8) {
    cg.b.alu64Imm("LSH", rr, 64 - size * 8);
    cg.b.alu64Imm("ARSH", rr, 64 - size * 8);
  }
  return r;
}

/**
 * Where a struct member, a struct value or an array element lives: a
 * base address and a constant offset (offsets of `.` and of constant
 * indexes fold; each `->` is one read of the pointer).
 */
export function addr(cg: Emitter, e: ast.Expr): Place {
  if (e.kind === "field") {
    const m = cg.u.members!.get(e)!;
    if (m.reads !== undefined) {
      // `p->f` or `p.f` (one operator, 0.26): the pointer, and through a
      // pointer to a pointer each further pointer, read.
      let pt = cg.type(e.expr) as IntType;
      let base = cg.scalar(e.expr);
      for (let i = 1; i < m.reads; i++) {
        base = readAt(cg, { base, off: 0, origin: pt.ptr }, U64);
        pt = pt.deref!;
      }
      return { base, off: m.offset, origin: pt.ptr };
    }
    const inner = addr(cg, e.expr);
    return { ...inner, off: inner.off + m.offset };
  }
  if (e.kind === "unary" && e.op === "*") {
    const pt = cg.type(e.expr) as SType & { k: "int" };
    return { base: cg.scalar(e.expr), off: 0, origin: pt.ptr };
  }
  if (e.kind === "index") {
    const bt = cg.type(e.expr);
    const es = sizeOf(cg.type(e));
    let inner: Place;
    if (bt.k === "array") inner = addr(cg, e.expr);
    else {
      const pt = bt as SType & { k: "int" };
      inner = { base: cg.scalar(e.expr), off: 0, origin: pt.ptr };
    }
    const i = cg.fold(e.index);
    if (i !== undefined) return { ...inner, off: inner.off + Number(i) * es };
    const base = cg.own(inner.base);
    const idx = cg.ra.holding(
      [base],
      () => cg.times(cg.scalar(e.index), es),
    );
    cg.aluOp("+", base, idx, U64);
    return { ...inner, base };
  }
  if (e.kind === "var" || e.kind === "map") {
    // A struct copied to the stack (a variable, a map value): its slot.
    const m = cg.mem(e);
    const r = cg.ra.newReg();
    cg.b.movReg(cg.ra.reg(r), R10);
    return { base: r, off: m.off, origin: "kernel" };
  }
  // A value of unknown place: its address is 0 (sema refuses these).
  return { base: cg.ra.imm(0), off: 0, origin: undefined };
}

/** The address of a place in a register. */
export function addrReg(cg: Emitter, at: Place): Ref {
  if (at.off === 0) return at.base;
  if (at.base.loc.kind === "imm") {
    return cg.ra.imm(at.base.loc.v + BigInt(at.off));
  }
  const r = cg.own(at.base);
  cg.b.alu64Imm("ADD", cg.ra.reg(r), at.off);
  return r;
}

/** Reads an integer (or a bit-field) of type `t` at a place. */
export function readAt(
  cg: Emitter,
  at: Place,
  t: SType,
  bits?: { size: 1 | 2 | 4 | 8; shift: number; width: number },
): Ref {
  const size = bits?.size ?? (t.k === "int" ? t.size : 8);
  const slot = readSlot(cg, at, readHelperFrom(at.origin, false), size);
  if (bits === undefined && size === 8) return cg.ra.slot(slot);
  const r = cg.ra.newReg();
  const rr = cg.ra.reg(r);
  cg.b.ldx(size as Width, rr, R10, slot);
  if (bits === undefined) {
    if (t.k === "int" && t.signed && size < 8) {
      cg.b.alu64Imm("LSH", rr, 64 - size * 8);
      cg.b.alu64Imm("ARSH", rr, 64 - size * 8);
    }
    return r;
  }
  const signed = t.k === "int" && t.signed;
  // Keep `width` bits from `shift`, sign-extended for a signed field.
  cg.b.alu64Imm("LSH", rr, 64 - bits.shift - bits.width);
  cg.b.alu64Imm(signed ? "ARSH" : "RSH", rr, 64 - bits.width);
  return r;
}

/**
 * Reads `size` bytes at a place into a fresh stack slot with `helper`,
 * the address computed straight into r3 (as bpftrace does: no copy
 * through a callee-saved register); a failed read leaves the slot as
 * the helper leaves it (zeroed).
 */
export function readSlot(
  cg: Emitter,
  at: Place,
  helper: number,
  size: number,
  dst?: Dst,
): number {
  const b = cg.b;
  const ra = cg.ra;
  const slot = dst === undefined ? cg.alloc(8) : dst.off;
  const base = at.base;
  const loc = base.loc;
  if (
    loc.kind === "reg" && loc.r <= 5 &&
    (loc.r === 3 || !ra.live().includes(3))
  ) {
    // In a caller-saved register: into r3 before the others move out.
    if (loc.r !== 3) b.movReg(3, loc.r);
    ra.free(base);
    ra.evictCallerSaved();
  } else {
    ra.evictCallerSaved();
    ra.load(3, base);
    ra.free(base);
  }
  if (at.off !== 0) b.alu64Imm("ADD", 3, at.off);
  if (dst === undefined || typeof dst.base === "number") {
    b.movReg(1, dst === undefined ? R10 : dst.base as number);
  } else ra.load(1, dst.base);
  b.alu64Imm("ADD", 1, slot);
  b.movImm(2, size);
  b.call(helper);
  return slot;
}

/** `p->f` / `s.f`: the member's value. */
export function memberLoad(cg: Emitter, e: ast.FieldExpr): Ref {
  const m = cg.u.members!.get(e)!;
  const t = cg.type(e);
  if (t.k !== "int") return cg.ra.imm(0);
  return readAt(cg, addr(cg, e), t, m.bits);
}

/** Loads an integer tracepoint field (`args->field`); 0 when unknown. */
export function fieldLoad(cg: Emitter, e: ast.FieldExpr): Ref {
  if (cg.u.btfSig !== undefined) {
    // fentry/fexit, rawtracepoint: argument N in u64 slot N, read at its
    // own size (the low bytes: x86-64 leaves a register's upper bits
    // undefined above a narrower argument).
    const a = cg.u.btfSig.args.find((x) => x.name === e.field);
    if (a?.type?.k !== "int") return cg.ra.imm(0);
    return ctxLoad(cg, a.index * 8, a.type.size, a.type.signed);
  }
  const f = cg.u.fields?.get(e.field);
  if (f === undefined) return cg.ra.imm(0);
  const t = fieldType(f, cg.u.userPtrs);
  if (t.k === "intarray" && (t.size === 4 || t.size === 8)) {
    // An address array handed to ntop(): its bytes as one integer.
    return ctxLoad(cg, f.offset, t.size, false);
  }
  if (t.k !== "int") return cg.ra.imm(0);
  return ctxLoad(cg, f.offset, t.size, t.signed);
}

/** The value of a builtin variable (`pid`, `argN`, `retval`, `nsecs`, …). */
export function builtin(cg: Emitter, e: ast.BuiltinExpr): Ref {
  const b = cg.b;
  const ra = cg.ra;
  const m = /^arg(\d+)$/.exec(e.name);
  if (m !== null) {
    const n = Number(m[1]);
    if (cg.u.kind === "rawtracepoint") {
      return ctxLoad(cg, n * 8, 8, false);
    }
    if (cg.u.kind === "usdt") return usdtArg(cg, n);
    return ctxLoad(cg, PT_REGS[ARG_REGS[n] ?? "di"], 8, false);
  }
  switch (e.name) {
    case "pid":
    case "tid":
      return cg.helperHalf(STABLE_HELPER[e.name], e.name === "pid");
    case "uid":
    case "gid":
    case "username":
      return cg.helperHalf(STABLE_HELPER[e.name], e.name === "gid");
    case "cpu":
    case "numaid":
    case "cgroup":
    case "curtask":
      return cg.helperValue(STABLE_HELPER[e.name]);
    case "nsecs":
      // bpftrace 0.17 reads the boot clock (suspend included), which
      // `strftime()` turns into wall-clock time by adding the boot time.
      // 0.26's nsecs(monotonic) and nsecs(tai) read those clocks;
      // nsecs(sw_tai) is the boot clock plus the TAI offset measured now.
      if (e.clock === "sw_tai") {
        const ns = cg.call(Helper.ktime_get_boot_ns, [], true)!;
        cg.aluOp("+", ns, ra.imm(taiBootDeltaNs()), U64);
        return ns;
      }
      return cg.call(
        e.clock === "monotonic"
          ? Helper.ktime_get_ns
          : e.clock === "tai"
          ? Helper.ktime_get_tai_ns
          : Helper.ktime_get_boot_ns,
        [],
        true,
      )!;
    case "rand":
      return cg.call(Helper.get_prandom_u32, [], true)!;
    case "jiffies":
      return cg.call(Helper.jiffies64, [], true)!;
    case "ctx": {
      const r = ra.newReg();
      b.movReg(ra.reg(r), cg.ctx);
      return r;
    }
    case "retval": {
      const ret = cg.u.btfSig?.ret;
      if (ret !== undefined) {
        // fexit: the slot after the arguments.
        const t = ret.type?.k === "int" ? ret.type : U64;
        return ctxLoad(cg, ret.index * 8, t.size, t.signed);
      }
      return ctxLoad(cg, PT_REGS.ax, 8, false);
    }
    case "func":
      if (cg.u.kind === "fentry" || cg.u.kind === "fexit") {
        return cg.call(Helper.get_func_ip, [{ ctx: true }], true)!;
      }
      return ctxLoad(cg, PT_REGS.ip, 8, false);
    case "elapsed": {
      const now = cg.call(Helper.ktime_get_ns, [], true)!;
      const key = cg.alloc(8);
      b.st(4, R10, key, 0);
      const p = cg.call(Helper.map_lookup_elem, [
        { map: cg.t.startMap() },
        { fp: key },
      ], true)!;
      const z = b.newLabel("nostart");
      b.jmpImm("JEQ", 0, 0, z);
      const t = ra.holding([now], () => ra.newReg());
      const [tr, nr] = ra.regs(t, now);
      b.ldx(8, tr, 0, 0);
      b.alu64Reg("SUB", nr, tr);
      ra.free(t);
      b.label(z);
      ra.free(p);
      return now;
    }
    case "kstack":
    case "stack":
      return stackId(cg, "kstack", 127);
    case "ustack":
      return stackId(cg, "ustack", 127);
    case "ppid":
      return cg.scalar(ppidExpr(e));
    case "cpid": {
      // No -c (with it, cpid is a constant): 0 and a warning each time it
      // is read, as 0.26's standard library (base.bt) does; none for
      // __builtin_cpid, which base.bt reads to decide.
      if (e.raw) return ra.imm(0);
      const span = e.span;
      event(cg, {
        kind: "warnf",
        format: "No child command (`-c`); cpid is zero",
        args: [],
        line: span.line,
        col: span.col,
        endCol: span.col + (span.end - span.start),
        ...(span.source !== undefined ? { file: span.source.name } : {}),
      }, []);
      return ra.imm(0);
    }
    case "ncpus":
      return ra.imm(ncpus());
    case "usermode": {
      // begin/end run in bpftrace's own process: user mode (as 0.26).
      if (cg.u.ctx.kind === "none") return ra.imm(1);
      // fentry/fexit: a kernel function runs in kernel mode.
      if (cg.u.kind === "fentry" || cg.u.kind === "fexit") return ra.imm(0);
      // x86_64: the privilege level in the low bits of cs; 3 is user.
      const r = cg.own(ctxLoad(cg, PT_REGS.cs, 8, false));
      const rr = ra.reg(r);
      b.alu64Imm("AND", rr, 3);
      b.alu64Imm("ADD", rr, 1);
      b.alu64Imm("RSH", rr, 2);
      return r;
    }
  }
  return ra.imm(0);
}

/**
 * `argN` of a USDT probe, where its note says: a register (its low
 * `size` bytes), a constant, or memory at `disp + base + index * scale`
 * (or a symbol's address, moved by the load bias `ip - address` in a
 * PIE binary) read with `probe_read_user`; sign-extended when signed.
 */
export function usdtArg(cg: Emitter, n: number): Ref {
  const ra = cg.ra;
  const site = cg.u.attach[0].usdt;
  const a = site?.args[n];
  if (site === undefined || a === undefined) return ra.imm(0);
  const u64: SType = { k: "int", size: 8, signed: false };
  switch (a.kind) {
    case "const": {
      const v = BigInt(a.value);
      return ra.imm(
        a.signed ? BigInt.asIntN(a.size * 8, v) : BigInt.asUintN(a.size * 8, v),
      );
    }
    case "reg":
      return ctxLoad(cg, PT_REGS[a.reg.reg] + a.reg.byte, a.size, a.signed);
    case "mem": {
      let addr: Ref;
      if (a.symbol !== undefined) {
        const at = BigInt(a.symbolAddress ?? 0) + BigInt(a.disp);
        if (site.pie) {
          addr = ctxLoad(cg, PT_REGS.ip, 8, false);
          cg.aluOp("+", addr, ra.imm(at - BigInt(site.address)), u64);
        } else addr = ra.imm(at);
      } else if (a.base !== undefined) {
        addr = ctxLoad(cg, PT_REGS[a.base.reg] + a.base.byte, 8, false);
        if (a.disp !== 0) cg.aluOp("+", addr, ra.imm(a.disp), u64);
      } else addr = ra.imm(a.disp);
      if (a.index !== undefined) {
        const index = a.index;
        addr = cg.own(addr);
        const i = ra.holding([addr], () =>
          cg.times(
            ctxLoad(cg, PT_REGS[index.reg] + index.byte, 8, false),
            a.scale,
          ));
        cg.aluOp("+", addr, i, u64);
      }
      return cg.deref(addr, { ...u64, ptr: "user" }, {
        k: "int",
        size: a.size,
        signed: a.signed,
      });
    }
  }
}

/** The id of the current kernel or user stack in its stack map. */
export function stackId(
  cg: Emitter,
  kind: "kstack" | "ustack",
  depth: number,
): Ref {
  const map = cg.t.stackMap(kind, depth);
  const r = cg.call(Helper.get_stackid, [
    { ctx: true },
    { map },
    cg.ra.imm(kind === "ustack" ? BPF_F_USER_STACK : 0),
  ], true)!;
  if (kind === "kstack") return r;
  // ustack: tgid << 32 | stack id, so user space can symbolize.
  const b = cg.b;
  const ra = cg.ra;
  const id = cg.own(r);
  b.alu32Reg("MOV", ra.reg(id), ra.reg(id));
  const pid = ra.holding(
    [id],
    () => cg.own(cg.helperHalf(Helper.get_current_pid_tgid, true)),
  );
  const [ir, pr] = ra.regs(id, pid);
  b.alu64Imm("LSH", pr, 32);
  b.alu64Reg("OR", ir, pr);
  ra.free(pid);
  return id;
}

/** The value of a call whose result is a scalar (`ksym`, `bswap`, …). */
export function callValue(cg: Emitter, e: ast.CallExpr): Ref {
  const ra = cg.ra;
  switch (e.name) {
    case "ksym":
    case "usym":
    case "strerror":
    case "signal_name":
    case "syscall_name":
    case "cgroup_path":
      return cg.scalar(e.args[0]);
    case "strftime":
      return cg.scalar(e.args[1]);
    case "kptr":
    case "uptr":
      return cg.scalar(e.args[0]);
    case "memcmp":
      return memcmpValue(cg, e);
    case "find": // one lookup (codegen_find.ts, loaded on demand)
      return onDemand("find").findValue(cg, e);
    case "strcap": // of a pointer: the string's length (sema_funcs.ts)
    case "strlen": {
      const at = cg.type(e.args[0]);
      const x = strlenOf(e, at.k === "int");
      const lit = cg.strConst(x);
      if (lit !== undefined) {
        const nul = lit.indexOf("\0");
        return ra.imm(nul < 0 ? lit.length : nul);
      }
      // The bytes before the first NUL (a string is at most max_strlen
      // bytes), eight at a time.
      const m = cg.mem(x);
      return onDemand("strlen").stringLength(cg, m.off, sizeOf(cg.type(x)));
    }
    case "is_err": {
      // The kernel's IS_ERR(): the last 4095 values, -MAX_ERRNO to -1
      // (the immediate sign-extends; the comparison is unsigned).
      const b = cg.b;
      const r = cg.own(cg.scalar(e.args[0]));
      const rr = ra.reg(r);
      const no = b.newLabel("noerr");
      const done = b.newLabel("iserr");
      b.jmpImm("JLT", rr, -4095, no);
      b.movImm(rr, 1);
      b.ja(done);
      b.label(no);
      b.movImm(rr, 0);
      b.label(done);
      return r;
    }
    case "bswap": {
      const t = cg.type(e) as SType & { k: "int" };
      const r = cg.own(cg.scalar(e.args[0]));
      if (t.size > 1) {
        cg.b.endian("be", ra.reg(r), (t.size * 8) as 16 | 32 | 64);
      } else cg.b.alu64Imm("AND", ra.reg(r), 0xff);
      if (t.signed && t.size < 8) {
        cg.b.alu64Imm("LSH", ra.reg(r), 64 - t.size * 8);
        cg.b.alu64Imm("ARSH", ra.reg(r), 64 - t.size * 8);
      }
      return r;
    }
    case "percpu_kaddr": // percpu_kaddr.ts, loaded on demand
      return onDemand("percpu").percpuAddress(cg, e);
    case "kaddr":
      return ra.imm(kernelAddress(cg.strConst(e.args[0]) ?? "") ?? 0n);
    case "uaddr": {
      const a = cg.u.uaddrs?.get(e);
      if (a === undefined) return ra.imm(0);
      if (a.relativeTo === undefined) return ra.imm(a.value);
      // PIE: the symbol sits at the same distance from the probed
      // address in memory as in the file.
      const r = ctxLoad(cg, PT_REGS.ip, 8, false);
      const delta = a.value - a.relativeTo;
      cg.aluOp("+", r, ra.imm(delta), {
        k: "int",
        size: 8,
        signed: false,
      });
      return r;
    }
    case "kstack":
    case "ustack": {
      const t = cg.type(e) as { depth: number };
      return stackId(cg, e.name, t.depth);
    }
    case "reg": {
      const name = cg.strConst(e.args[0]) ?? "ip";
      return ctxLoad(cg, PT_REGS[name] ?? 0, 8, false);
    }
    case "has_key": {
      const p = cg.own(cg.mapLookup(keyedMap(e)!));
      const pr = ra.reg(p);
      const miss = cg.b.newLabel("nokey");
      cg.b.jmpImm("JEQ", pr, 0, miss);
      cg.b.movImm(pr, 1);
      cg.b.label(miss);
      return p;
    }
    case "delete": {
      // true when the element was there: bpf_map_delete_elem gave 0.
      const m = (keyedMap(e) ?? e.args[0]) as ast.MapExpr;
      const idx = cg.t.userMap(`@${m.name}`);
      const r = cg.call(
        Helper.map_delete_elem,
        [{ map: idx }, { fp: buildKey(cg, m, undefined) }],
        true,
      )!;
      cg.written(m.name);
      const rr = ra.reg(r);
      const gone = cg.b.newLabel("deleted");
      const end = cg.b.newLabel("delend");
      cg.b.jmpImm("JEQ", rr, 0, gone);
      cg.b.movImm(rr, 0);
      cg.b.ja(end);
      cg.b.label(gone);
      cg.b.movImm(rr, 1);
      cg.b.label(end);
      return r;
    }
    case "strcontains":
    case "strstr": {
      const m = cg.mem(e.args[0]);
      const hay = { off: m.off, size: sizeOf(cg.type(e.args[0])) };
      const lit = cg.strConst(e.args[1]);
      const needle = lit ?? {
        off: cg.mem(e.args[1]).off,
        size: sizeOf(cg.type(e.args[1])),
      };
      const r = onDemand("strstr").strContains(
        cg.b,
        cg.ra,
        hay,
        needle,
        e.name === "strstr",
      );
      // The loops jump back: values cached in between are not known.
      if (lit === undefined) cg.forgetValues();
      return r;
    }
    case "len":
      return e.args[0].kind === "map" ? mapLen(cg, e) : stackLen(cg, e);
    case "getopt": {
      const v = cg.u.getopts?.get(e)?.value;
      return ra.imm(typeof v === "bigint" ? v : 0n);
    }
    case "strncmp": {
      const n = Number(cg.fold(e.args[2]) ?? 0n);
      const f = cg.b.newLabel("ne");
      const end = cg.b.newLabel("eq");
      const r = ra.newReg();
      ra.evictCallerSaved();
      cg.strEq(e.args[0], e.args[1], f, n);
      const rr = ra.reg(r);
      cg.b.movImm(rr, 0);
      cg.b.ja(end);
      cg.b.label(f);
      cg.b.movImm(rr, 1);
      cg.b.label(end);
      return r;
    }
  }
  return ra.imm(0);
}

/**
 * `len(kstack)` / `len(ustack)`: the frames of the current stack, as
 * `get_stack` writes them into a per-CPU slot (bytes / 8); 0 on failure.
 */
function stackLen(cg: Emitter, e: ast.CallExpr): Ref {
  const b = cg.b;
  const ra = cg.ra;
  const t = cg.type(e.args[0]) as { k: "kstack" | "ustack"; depth: number };
  const key = cg.alloc(8);
  b.st(4, R10, key, 0);
  const p = cg.call(Helper.map_lookup_elem, [
    { map: cg.t.stackBuffer(t.depth) },
    { fp: key },
  ], true)!;
  const n = ra.holding([p], () => ra.newReg());
  const done = b.newLabel("lendone");
  b.movImm(ra.reg(n), 0);
  b.jmpImm("JEQ", ra.reg(p), 0, done);
  const got = cg.call(Helper.get_stack, [
    { ctx: true },
    p,
    ra.imm(8 * t.depth),
    ra.imm(t.k === "ustack" ? BPF_F_USER_STACK : 0),
  ], true)!;
  const [gr, nr] = ra.regs(got, n);
  b.jmpImm("JSLT", gr, 0, done);
  b.movReg(nr, gr);
  b.alu64Imm("RSH", nr, 3);
  b.label(done);
  ra.free(got);
  return n;
}

// ---- conditions -------------------------------------------------------
