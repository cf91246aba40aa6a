/**
 * Values in memory: expressions written into stack or record
 * destinations (strings, tuples, records, buffers), and the stack address
 * of an expression that lives in memory.
 *
 * @module
 */

import { addressBytes } from "./host_facts.ts";
import type * as ast from "../lang/ast.ts";
import type { Width } from "../bpf/builder.ts";
import { Helper, R10 } from "../bpf/opcodes.ts";
import { PT_REGS } from "./call_constants.ts";
import type { Ref } from "./regs.ts";
import { isScalar, sizeOf, type SType } from "./types.ts";
import { intArrayInto } from "./codegen_arrays.ts";
import { recordInto, reordered } from "./codegen_records.ts";
import {
  AF_INET,
  AF_INET6,
  chunk,
  type Dst,
  type Emitter,
  readHelper,
  readHelperFrom,
} from "./emitter.ts";

/**
 * Writes tuple elements at their offsets into destination `d`; `clean`:
 * zero the padding too.
 */
export function tupleInto(
  cg: Emitter,
  elems: ast.Expr[],
  d: Dst,
  tt: SType & { k: "tuple" },
  clean: boolean,
): void {
  let end = 0;
  elems.forEach((el, i) => {
    const off = tt.offsets[i];
    if (clean && off > end) cg.zero(d, end, off);
    into(cg, el, { base: d.base, off: d.off + off }, tt.elems[i], clean);
    end = off + sizeOf(tt.elems[i]);
  });
  if (clean && tt.size > end) cg.zero(d, end, tt.size);
}

// ---- values into memory -----------------------------------------------

/**
 * Writes the value of `e` into memory at `d` as a value of slot type
 * `st`. With `clean`, bytes past a string's end are zeroed (keys).
 */
export function into(
  cg: Emitter,
  e: ast.Expr,
  d: Dst,
  st: SType,
  clean: boolean,
): void {
  const b = cg.b;
  if (e.kind === "block_expr") {
    cg.blockStmts(e.stmts);
    into(cg, e.value, d, st, clean);
    return;
  }
  if (
    st.k === "int" && e.kind === "field" && cg.u.members?.has(e) &&
    memberInto(cg, e, d, sizeOf(st))
  ) return;
  if (isScalar(st) || st.k === "int") {
    const v = cg.scalar(e);
    cg.storeScalar(d, v, sizeOf(st) as Width);
    cg.ra.free(v);
    return;
  }
  const size = sizeOf(st);
  const et = cg.type(e);
  if (
    (st.k === "record" || st.k === "array") &&
    (e.kind === "field" || e.kind === "unary" || e.kind === "index")
  ) {
    // A struct or array copied whole from where it lives.
    const at = cg.addr(e);
    const h = readHelperFrom(at.origin, false);
    cg.readSlot(at, h, size, d);
    return;
  }
  if (
    st.k === "usym" &&
    ((e.kind === "call" && e.name === "usym") ||
      (e.kind === "builtin" && e.name === "func"))
  ) {
    // The address, then the tgid: user space symbolizes in that process.
    const addr = e.kind === "call"
      ? cg.scalar(e.args[0])
      : cg.ctxLoad(PT_REGS.ip, 8, false);
    cg.storeScalar(d, addr, 8);
    cg.ra.free(addr);
    const pid = cg.helperHalf(Helper.get_current_pid_tgid, true);
    cg.storeScalar({ base: d.base, off: d.off + 8 }, pid, 8);
    cg.ra.free(pid);
    return;
  }
  if (st.k === "str") {
    const lit = cg.strConst(e);
    if (lit !== undefined) {
      literalInto(cg, lit, d, size, clean);
      return;
    }
    if (e.kind === "builtin" && e.name === "comm") {
      const n = Math.min(16, size);
      cg.call(
        Helper.get_current_comm,
        [cg.ptrArg(d), cg.ra.imm(n)],
        false,
      );
      if (clean) cg.zero(d, n, size);
      return;
    }
    if (e.kind === "call" && e.name === "str") {
      const arg = e.args[0];
      const at = cg.type(arg);
      const n = Math.min(size, sizeOf(cg.type(e)));
      if (at.k === "str") {
        into(cg, arg, d, { k: "str", size: n }, clean);
        if (clean) cg.zero(d, n, size);
        return;
      }
      const p = cg.scalar(arg);
      if (clean) cg.zero(d, 0, size);
      const len = e.args[1];
      let count: Ref = cg.ra.imm(n);
      if (len !== undefined && cg.fold(len) === undefined) {
        // str(p, $n): $n bytes and the NUL, at most n (unsigned).
        count = cg.ra.holding([p], () => cg.own(cg.scalar(len)));
        const cr = cg.ra.reg(count);
        const fits = cg.b.newLabel("slen");
        cg.b.alu64Imm("ADD", cr, 1);
        cg.b.jmpImm("JLE", cr, n, fits);
        cg.b.movImm(cr, n);
        cg.b.label(fits);
      }
      cg.call(
        readHelper(at, true),
        [cg.ptrArg(d), count, p],
        false,
      );
      return;
    }
    if (
      (e.kind === "field" && cg.u.members?.has(e)) ||
      (e.kind === "index" && cg.type(e.expr).k === "array")
    ) {
      // A char[N] member: N bytes read where it lives.
      const at = cg.addr(e);
      const n = Math.min(sizeOf(et), size);
      if (clean && n < size) cg.zero(d, n, size);
      const h = readHelperFrom(at.origin, false);
      cg.readSlot(at, h, n, d);
      return;
    }
    if (e.kind === "field" && cg.u.fields) {
      const f = cg.u.fields.get(e.field)!;
      if (f.dataLoc) {
        const t = cg.ra.newReg();
        const tr = cg.ra.reg(t);
        b.ldx(4, tr, cg.ctx, f.offset);
        b.alu64Imm("AND", tr, 0xffff);
        b.alu64Reg("ADD", tr, cg.ctx);
        if (clean) cg.zero(d, 0, size);
        cg.call(Helper.probe_read_kernel_str, [
          cg.ptrArg(d),
          cg.ra.imm(size),
          t,
        ], false);
        return;
      }
      const n = Math.min(f.arrayLen ?? 0, size);
      const t = cg.ra.newReg();
      const tr = cg.ra.reg(t);
      b.movReg(tr, cg.ctx);
      b.alu64Imm("ADD", tr, f.offset);
      cg.call(Helper.probe_read_kernel, [
        cg.ptrArg(d),
        cg.ra.imm(n),
        t,
      ], false);
      if (clean) cg.zero(d, n, size);
      return;
    }
  }
  if (reordered(st, et)) {
    recordInto(cg, e, d, st as SType & { k: "tuple" }, clean);
    return;
  }
  if (st.k === "tuple" && e.kind === "tuple") {
    tupleInto(cg, e.elems, d, st, clean);
    return;
  }
  const argsReads = e.kind === "builtin" ? cg.u.argsReads?.get(e) : undefined;
  if (st.k === "tuple" && argsReads !== undefined) {
    // A tracepoint's args used whole: its fields read one by one.
    tupleInto(cg, argsReads, d, st, clean);
    return;
  }
  if (e.kind === "unary" && e.op === "*") {
    // `*(&$t)`: the value read back from where the pointer points.
    const pt = cg.type(e.expr);
    const p = cg.scalar(e.expr);
    const n = Math.min(sizeOf(et), size);
    if (clean && n < size) cg.zero(d, n, size);
    cg.call(readHelper(pt, false), [cg.ptrArg(d), cg.ra.imm(n), p], false);
    return;
  }
  if (st.k === "intarray" && e.kind === "cast" && et.k === "intarray") {
    intArrayInto(cg, e, d, st, clean);
    return;
  }
  if (
    st.k === "intarray" && e.kind === "field" &&
    cg.u.fields?.get(e.field)?.arrayLen !== undefined &&
    cg.type(e.expr).k === "args"
  ) {
    // A tracepoint's integer array: its bytes, read from the record.
    const f = cg.u.fields.get(e.field)!;
    const t = cg.ra.newReg();
    b.movReg(cg.ra.reg(t), cg.ctx);
    b.alu64Imm("ADD", cg.ra.reg(t), f.offset);
    const n = Math.min(f.size, size);
    cg.call(Helper.probe_read_kernel, [cg.ptrArg(d), cg.ra.imm(n), t], false);
    if (clean) cg.zero(d, n, size);
    return;
  }
  if (e.kind === "call" && e.name === "pton") {
    // A compile-time address (`$a = pton("::1")`): its bytes.
    const bytes = addressBytes(cg.strConst(e.args[0]) ?? "") ??
      new Uint8Array(4);
    const words = new DataView(bytes.buffer);
    for (let i = 0; i < bytes.length; i += 4) {
      b.st(4, cg.baseReg(d), d.off + i, words.getInt32(i, true));
    }
    if (clean) cg.zero(d, bytes.length, size);
    return;
  }
  if (st.k === "intarray" && et.k === "array") {
    // An integer array member: its bytes, read where it lives.
    const at = cg.addr(e);
    const h = readHelperFrom(at.origin, false);
    cg.readSlot(at, h, Math.min(et.size, size), d);
    return;
  }
  if (
    st.k === "buf" && e.kind === "call" && e.name === "buf" &&
    cg.fold(e.args[1]) === undefined
  ) {
    // buf(p, len) with a run-time length: clamped to the buffer.
    const max = size - 1;
    const p = cg.scalar(e.args[0]);
    const at = cg.type(e.args[0]);
    const len = cg.ra.holding(
      [p],
      () => cg.own(cg.scalar(e.args[1])),
    );
    const lr = cg.ra.reg(len);
    const ok = b.newLabel("buflen");
    b.jmpImm("JLE", lr, max, ok);
    b.movImm(lr, max);
    b.label(ok);
    b.stx(1, cg.baseReg(d), d.off, lr);
    cg.zero(d, 1, size);
    cg.call(readHelper(at, false), [
      cg.ptrArg({ base: d.base, off: d.off + 1 }),
      len,
      p,
    ], false);
    return;
  }
  if (
    st.k === "buf" && e.kind === "call" && e.name === "buf" &&
    cg.type(e.args[0]).k === "str"
  ) {
    bufOfString(cg, e.args[0], d, size - 1);
    return;
  }
  if (st.k === "buf" && e.kind === "call" && e.name === "buf") {
    const p = cg.scalar(e.args[0]);
    const at = cg.type(e.args[0]);
    const n = size - 1;
    b.st(1, cg.baseReg(d), d.off, n);
    cg.call(readHelper(at, false), [
      cg.ptrArg({ base: d.base, off: d.off + 1 }),
      cg.ra.imm(n),
      p,
    ], false);
    return;
  }
  if (e.kind === "call" && e.name === "macaddr") {
    macaddrInto(cg, e, d);
    if (clean) cg.zero(d, 6, size);
    return;
  }
  if (st.k === "inet" && e.kind === "call" && e.name === "ntop") {
    const last = e.args[e.args.length - 1];
    if (last.kind === "call" && last.name === "pton") {
      // A compile-time address: the family, then its bytes.
      const bytes = addressBytes(cg.strConst(last.args[0]) ?? "") ??
        new Uint8Array(4);
      const fam = e.args.length === 2
        ? cg.scalar(e.args[0])
        : cg.ra.imm(bytes.length === 16 ? AF_INET6 : AF_INET);
      cg.storeScalar(d, fam, 8);
      cg.ra.free(fam);
      const words = new DataView(bytes.buffer);
      for (let i = 0; i < bytes.length; i += 4) {
        b.st(4, cg.baseReg(d), d.off + 8 + i, words.getInt32(i, true));
      }
      cg.zero(d, 8 + bytes.length, size);
      return;
    }
    const f = last.kind === "field" ? cg.u.fields?.get(last.field) : undefined;
    const lt = cg.type(last);
    if (
      (lt.k === "str" || lt.k === "array") &&
      (last.kind === "field" || last.kind === "index")
    ) {
      // An address member of a kernel struct: its 4 or 16 bytes.
      const fam = e.args.length === 2
        ? cg.scalar(e.args[0])
        : cg.ra.imm(lt.size === 16 ? AF_INET6 : AF_INET);
      cg.storeScalar(d, fam, 8);
      cg.ra.free(fam);
      const place = cg.addr(last);
      const p = cg.addrReg(place);
      cg.zero(d, 8, size);
      cg.call(
        readHelperFrom(place.origin, false),
        [
          cg.ptrArg({ base: d.base, off: d.off + 8 }),
          cg.ra.imm(lt.size),
          p,
        ],
        false,
      );
      return;
    }
    const v6 = f !== undefined && f.arrayLen === 16 && f.size === 16;
    const af = e.args.length === 2
      ? cg.scalar(e.args[0])
      : cg.ra.imm(v6 ? AF_INET6 : AF_INET);
    cg.storeScalar(d, af, 8);
    cg.ra.free(af);
    if (v6) {
      // An IPv6 address field: copy its 16 bytes from the record.
      const t = cg.ra.newReg();
      const tr = cg.ra.reg(t);
      b.movReg(tr, cg.ctx);
      b.alu64Imm("ADD", tr, f.offset);
      cg.call(Helper.probe_read_kernel, [
        cg.ptrArg({ base: d.base, off: d.off + 8 }),
        cg.ra.imm(16),
        t,
      ], false);
      return;
    }
    const a = cg.scalar(last);
    cg.storeScalar({ base: d.base, off: d.off + 8 }, a, 4);
    cg.ra.free(a);
    cg.zero(d, 12, size);
    return;
  }
  if (e.kind === "map" && sizeOf(et) === size) {
    cg.mapReadInto(e, d, size);
    return;
  }
  // General case: materialize, then copy. Only these kinds have a
  // materialization of their own (`mem`); any other would come back
  // here without end.
  if (
    e.kind !== "var" && e.kind !== "map" && e.kind !== "ternary" &&
    e.kind !== "tuple_index" && elementOf(cg, e) === undefined
  ) {
    cg.diag.error(e.span, `Cannot use a value of type ${et.k} here`);
    return;
  }
  const src = mem(cg, e);
  const n = Math.min(sizeOf(et), size);
  cg.copy(d, src, n);
  if (clean && n < size) cg.zero(d, n, size);
}

/**
 * An integer struct member that needs no sign extension (as wide as the
 * slot, or unsigned) read straight into its slot at `d` (a map key or
 * value), without a copy through a register; false (nothing emitted)
 * for the others.
 */
function memberInto(
  cg: Emitter,
  e: ast.FieldExpr,
  d: Dst,
  size: number,
): boolean {
  const m = cg.u.members!.get(e)!;
  const t = cg.type(e);
  if (m.bits !== undefined || t.k !== "int") return false;
  if (t.size !== size && (t.signed || t.size > size)) return false;
  if (t.size < size) cg.zero(d, t.size, size);
  const at = cg.addr(e);
  const h = readHelperFrom(at.origin, false);
  cg.readSlot(at, h, t.size, d);
  return true;
}

/**
 * Writes a string literal of `size` bytes into destination `d`; `clean`:
 * zero the bytes after its end too.
 */
export function literalInto(
  cg: Emitter,
  s: string,
  d: Dst,
  size: number,
  clean: boolean,
): void {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < s.length && i < size - 1; i++) {
    bytes[i] = s.charCodeAt(i) & 0xff;
  }
  const used = Math.min(s.length + 1, size);
  const end = clean ? size : used;
  const base = cg.baseReg(d);
  const dv = new DataView(bytes.buffer);
  let at = 0;
  while (at < end) {
    const w = chunk(end - at, d.off + at);
    if (w === 8 && dv.getBigUint64(at, true) === 0n) {
      cg.b.st(8, base, d.off + at, 0);
      at += 8;
    } else if (w >= 4) {
      cg.b.st(4, base, d.off + at, dv.getInt32(at, true));
      at += 4;
    } else if (w >= 2) {
      cg.b.st(2, base, d.off + at, dv.getInt16(at, true));
      at += 2;
    } else {
      cg.b.st(1, base, d.off + at, dv.getInt8(at));
      at += 1;
    }
  }
}

/**
 * `buf(string, n)`: the length byte n, then the string's first n bytes
 * (zeros past its end).
 */
function bufOfString(cg: Emitter, s: ast.Expr, d: Dst, n: number): void {
  const b = cg.b;
  const base = cg.baseReg(d);
  b.st(1, base, d.off, n);
  const lit = cg.strConst(s);
  if (lit !== undefined) {
    const bytes = new Uint8Array(n + 4);
    for (let i = 0; i < n && i < lit.length; i++) {
      bytes[i] = lit.charCodeAt(i) & 0xff;
    }
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < n;) {
      const w = Math.min(chunk(n - i, d.off + 1 + i), 4) as 1 | 2 | 4;
      const v = w === 4
        ? view.getInt32(i, true)
        : w === 2
        ? view.getUint16(i, true)
        : bytes[i];
      b.st(w, base, d.off + 1 + i, v);
      i += w;
    }
    return;
  }
  const src = cg.mem(s);
  const m = Math.min(n, sizeOf(cg.type(s)));
  cg.copy({ base: d.base, off: d.off + 1 }, src, m);
  if (m < n) cg.zero(d, 1 + m, 1 + n);
}

/** A memory copy of an aggregate value (var slot or a temporary). */
export function mem(cg: Emitter, e: ast.Expr): { base: number; off: number } {
  if (e.kind === "block_expr") {
    cg.blockStmts(e.stmts);
    return mem(cg, e.value);
  }
  const t = cg.type(e);
  if (e.kind === "var") return { base: R10, off: cg.vars.get(e.name)! };
  const size = sizeOf(t);
  const off = cg.alloc(size);
  const d = { base: R10, off };
  if (e.kind === "map") {
    cg.mapReadInto(e, d, size);
    return d;
  }
  const known = e.kind === "ternary" ? cg.truth(e.cond) : undefined;
  if (e.kind === "ternary" && known !== undefined) {
    cg.effects(e.cond);
    into(cg, known ? e.then : e.else, d, t, true);
    return d;
  }
  if (e.kind === "ternary") {
    const b = cg.b;
    const elseL = b.newLabel("telse");
    const end = b.newLabel("tend");
    cg.ra.evictCallerSaved();
    const floor = cg.ra.split();
    cg.branch(e.cond, elseL, false);
    cg.region(() => into(cg, e.then, d, t, true));
    b.ja(end);
    b.label(elseL);
    cg.region(() => into(cg, e.else, d, t, true));
    b.label(end);
    cg.ra.floor = floor;
    return d;
  }
  if (e.kind === "tuple_index") {
    const src = mem(cg, e.expr);
    const tt = cg.type(e.expr) as SType & { k: "tuple" };
    return { base: R10, off: src.off + tt.offsets[e.index] };
  }
  const el = elementOf(cg, e);
  if (el !== undefined) {
    const src = mem(cg, el.of);
    return { base: R10, off: src.off + el.off };
  }
  into(cg, e, d, t, true);
  return d;
}

/**
 * For `$t[1]`, `$r.a` (an element of a tuple or record) and `$s[0]` (a
 * byte of a string): the aggregate and the element's offset in it.
 *
 * @example Usage
 * ```ts ignore
 * const el = elementOf(cg, e); // { of: $t, off: 8 }
 * ```
 */
export function elementOf(
  cg: Emitter,
  e: ast.Expr,
): { of: ast.Expr; off: number } | undefined {
  if (e.kind !== "index" && e.kind !== "field") return undefined;
  const i = cg.u.elems?.get(e);
  if (i === undefined) return undefined;
  const t = cg.type(e.expr);
  const off = t.k === "tuple"
    ? t.offsets[i]
    : t.k === "intarray"
    ? i * t.elem.size
    : i;
  return { of: e.expr, off };
}

/**
 * Writes `macaddr(a)` into `d`: the six bytes `a` points at (read with
 * the helper its address space calls for; a failed read gives zeros, as
 * bpftrace's), or the first six of the array `a`.
 */
function macaddrInto(cg: Emitter, e: ast.CallExpr, d: Dst): void {
  const a = e.args[0];
  const t = cg.type(a);
  if (t.k === "int") {
    const p = cg.scalar(a);
    cg.call(readHelper(t, false), [cg.ptrArg(d), cg.ra.imm(6), p], false);
    return;
  }
  if ((t.k === "array" || t.k === "str") && a.kind !== "var") {
    // A member of a struct: read where it lives.
    const at = cg.addr(a);
    cg.readSlot(at, readHelperFrom(at.origin, false), 6, d);
    return;
  }
  // An array held as a value (a variable, a tracepoint's array field).
  cg.copy(d, mem(cg, a), 6);
}
