/**
 * Scalars and conditions: integers computed into registers (arithmetic,
 * comparisons as values, casts, pointer reads, `++`/`--`), and conditions
 * compiled as jumps (short-circuit `&&`/`||`, comparisons straight into
 * conditional jumps, string comparisons). One file, since the two recurse
 * into each other at every level of an expression.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import type { AluName, CondName, Width } from "../bpf/builder.ts";
import { R10 } from "../bpf/opcodes.ts";
import { arrayField } from "./type_names.ts";
import { addressBytes } from "./host_facts.ts";
import { pointerScale, pointerStep } from "./fold.ts";
import type { Ref } from "./regs.ts";
import { mapAccessId } from "./reuse.ts";
import { elementOf } from "./codegen_values.ts";
import { aggregateEq, loadInt, varIndexLoad } from "./codegen_arrays.ts";
import { aggRead } from "./codegen_agg_read.ts";
import { onDemand } from "./on_demand.ts";
import { sizeOf, type SType } from "./types.ts";
import {
  type Emitter,
  fitsImm,
  INVERSE,
  readHelper,
  SWAPPED,
} from "./emitter.ts";

/** Evaluates an integer-like expression into a register or constant. */
export function scalar(cg: Emitter, e: ast.Expr): Ref {
  const ra = cg.ra;
  const b = cg.b;
  const c = cg.fold(e);
  if (c !== undefined) return ra.imm(c);
  const el = elementOf(cg, e);
  if (el !== undefined) {
    // An element of a tuple or record (8 bytes), a byte of a string.
    const src = cg.mem(el.of);
    const ot = cg.type(el.of);
    if (ot.k === "intarray") {
      return loadInt(
        cg,
        src.base,
        src.off + el.off,
        ot.elem.size,
        ot.elem.signed,
      );
    }
    const r = ra.newReg();
    b.ldx(
      ot.k === "str" ? 1 : 8,
      ra.reg(r),
      src.base,
      src.off + el.off,
    );
    return r;
  }
  switch (e.kind) {
    case "builtin":
      return cg.builtin(e);
    case "var": {
      const r = ra.newReg();
      b.ldx(8, ra.reg(r), R10, cg.vars.get(e.name)!);
      return r;
    }
    case "map": {
      if (cg.u.aggReads?.has(e)) return aggRead(cg, e);
      // The same key read again, the map unwritten since: the value kept
      // in its slot (bpftrace looks it up again).
      const access = mapAccessId(e);
      const id = access === undefined ? undefined : `v:${access}`;
      const slot = id === undefined ? undefined : cg.slots.get(id);
      if (slot !== undefined && cg.avail.has(id!)) return ra.slot(slot);
      const p = cg.mapLookup(e);
      const r = ra.newReg();
      const rr = ra.reg(r);
      const pr = ra.reg(p);
      const z = b.newLabel("z");
      b.movImm(rr, 0);
      b.jmpImm("JEQ", pr, 0, z);
      b.ldx(8, rr, pr, 0);
      b.label(z);
      ra.free(p);
      if (slot !== undefined) {
        b.stx(8, R10, slot, rr);
        cg.avail.add(id!);
      }
      return r;
    }
    case "field":
      if (cg.u.members?.has(e)) return cg.memberLoad(e);
      return cg.fieldLoad(e);
    case "index": {
      if (cg.u.varIndex?.has(e)) return varIndexLoad(cg, e);
      const a = arrayField(cg.u, e);
      const bt = cg.type(e.expr);
      if (
        e.expr.kind === "call" && e.expr.name === "pton" &&
        cg.fold(e.index) !== undefined
      ) {
        // `pton("127.0.0.1")[0]`: a byte known at compile time.
        const bytes = addressBytes(cg.strConst(e.expr.args[0]) ?? "");
        return cg.ra.imm(bytes?.[Number(cg.fold(e.index))] ?? 0);
      }
      if (bt.k === "array") {
        const at = cg.addr(e);
        return cg.readAt(at, cg.type(e));
      }
      if (a === undefined) {
        // p[i]: read the element at p + i * its size.
        const pt = cg.type(e.expr) as SType & { k: "int" };
        const elem = cg.type(e);
        const p = own(cg, scalar(cg, e.expr));
        const i = cg.ra.holding(
          [p],
          () => times(cg, scalar(cg, e.index), sizeOf(elem)),
        );
        aluOp(cg, "+", p, i, pt);
        return deref(cg, p, pt, elem);
      }
      const i = Number(cg.fold(e.index) ?? 0n);
      return cg.ctxLoad(
        a.field.offset + i * a.elem.size,
        a.elem.size,
        a.elem.signed,
      );
    }
    case "cast": {
      const t = cg.type(e);
      if (t.k === "int" && t.bool) return boolCast(cg, e);
      const at = cg.type(e.expr);
      if (
        t.k === "int" && e.expr.kind === "call" && e.expr.name === "pton"
      ) {
        // `(uint32)pton("127.0.0.1")`: the address's bytes as one
        // integer, known at compile time (0.26).
        const bytes = addressBytes(cg.strConst(e.expr.args[0]) ?? "") ??
          new Uint8Array(4);
        let v = 0n;
        for (let i = bytes.length - 1; i >= 0; i--) {
          v = (v << 8n) | BigInt(bytes[i]);
        }
        return cg.ra.imm(t.signed ? BigInt.asIntN(t.size * 8, v) : v);
      }
      if (at.k === "intarray" && t.k === "int") {
        // `(uint32)$a` of a uint8[4]: its bytes as one integer.
        const src = cg.mem(e.expr);
        return loadInt(cg, src.base, src.off, t.size, t.signed);
      }
      const v = scalar(cg, e.expr);
      if (t.k !== "int" || t.size === 8) return v;
      const r = own(cg, v);
      const rr = ra.reg(r);
      if (t.signed) {
        b.alu64Imm("LSH", rr, 64 - t.size * 8);
        b.alu64Imm("ARSH", rr, 64 - t.size * 8);
      } else if (t.size === 4) b.alu32Reg("MOV", rr, rr);
      else b.alu64Imm("AND", rr, t.size === 1 ? 0xff : 0xffff);
      return r;
    }
    case "unary": {
      if (e.op === "!") return boolValue(cg, e);
      if (e.op === "&") {
        // `&$x`: the variable's stack slot (sema allows only variables).
        const r = ra.newReg();
        b.movReg(ra.reg(r), R10);
        b.alu64Imm("ADD", ra.reg(r), cg.mem(e.expr).off);
        return r;
      }
      if (e.op === "*") {
        return deref(cg, scalar(cg, e.expr), cg.type(e.expr), cg.type(e));
      }
      const r = own(cg, scalar(cg, e.expr));
      const rr = ra.reg(r);
      if (e.op === "-") b.alu64Imm("NEG", rr, 0);
      else b.alu64Imm("XOR", rr, -1);
      return r;
    }
    case "binary": {
      switch (e.op) {
        case "==":
        case "!=":
        case "<":
        case "<=":
        case ">":
        case ">=":
        case "&&":
        case "||":
          return boolValue(cg, e);
      }
      const sc = pointerScale(
        e.op,
        cg.type(e.left),
        cg.type(e.right),
      );
      let l = own(cg, scalar(cg, e.left));
      if (sc?.side === "left") l = times(cg, l, sc.by);
      let r = scalar(cg, e.right);
      if (sc?.side === "right") {
        r = cg.ra.holding([l], () => times(cg, r, sc.by));
      }
      aluOp(cg, e.op, l, r, cg.type(e));
      return l;
    }
    case "ternary": {
      const k = cg.truth(e.cond);
      if (k !== undefined) {
        cg.effects(e.cond);
        return scalar(cg, k ? e.then : e.else);
      }
      const slot = cg.alloc(8);
      const elseL = b.newLabel("telse");
      const end = b.newLabel("tend");
      ra.evictCallerSaved();
      const floor = ra.split();
      branch(cg, e.cond, elseL, false);
      cg.region(() => {
        const a = scalar(cg, e.then);
        cg.storeScalar({ base: R10, off: slot }, a, 8);
        ra.free(a);
      });
      b.ja(end);
      b.label(elseL);
      cg.region(() => {
        const c2 = scalar(cg, e.else);
        cg.storeScalar({ base: R10, off: slot }, c2, 8);
        ra.free(c2);
      });
      b.label(end);
      ra.floor = floor;
      return ra.slot(slot);
    }
    case "incdec":
      return incdec(cg, e, true)!;
    case "call":
      return cg.callValue(e);
    case "block_expr":
      cg.blockStmts(e.stmts);
      return scalar(cg, e.value);
    case "tuple_index": {
      const src = cg.mem(e.expr);
      const tt = cg.type(e.expr) as SType & { k: "tuple" };
      const r = ra.newReg();
      b.ldx(8, ra.reg(r), R10, src.off + tt.offsets[e.index]);
      return r;
    }
    default:
      return ra.imm(0);
  }
}

/**
 * `(bool)e`: 1 when the integer is not 0 or the string not empty, else 0.
 */
function boolCast(cg: Emitter, e: ast.CastExpr): Ref {
  const b = cg.b;
  let r: Ref;
  if (cg.type(e.expr).k === "str") {
    const src = cg.mem(e.expr);
    r = cg.ra.newReg();
    b.ldx(1, cg.ra.reg(r), src.base, src.off);
  } else r = own(cg, scalar(cg, e.expr));
  const rr = cg.ra.reg(r);
  const done = b.newLabel("bool");
  b.jmpImm("JEQ", rr, 0, done);
  b.movImm(rr, 1);
  b.label(done);
  return r;
}

/**
 * Before a branch whose arms both read `v`: puts it where neither arm
 * moves it (a register, or an immediate that fits 32 bits), so the
 * value is valid on both paths.
 */
export function stable(cg: Emitter, v: Ref): void {
  if (v.loc.kind !== "imm" || !fitsImm(v.loc.v)) cg.ra.reg(v);
}

/** `v * by` (by a power of two: a shift), in a register this code owns. */
export function times(cg: Emitter, v: Ref, by: number): Ref {
  if (by === 1) return v;
  if (v.loc.kind === "imm") return cg.ra.imm(v.loc.v * BigInt(by));
  const r = own(cg, v);
  const shift = Math.log2(by);
  if (Number.isInteger(shift)) {
    cg.b.alu64Imm("LSH", cg.ra.reg(r), shift);
  } else cg.b.alu64Imm("MUL", cg.ra.reg(r), by);
  return r;
}

/**
 * Reads a value of type `t` (an integer, or u64) at the address `addr`
 * (a pointer of type `pt`) with the helper its memory origin calls for;
 * a failed read gives 0, as bpftrace's.
 */
export function deref(cg: Emitter, addr: Ref, pt: SType, t: SType): Ref {
  const size = (t.k === "int" ? t.size : 8) as Width;
  const signed = t.k === "int" && t.signed;
  const slot = cg.alloc(8);
  cg.call(readHelper(pt, false), [
    { fp: slot },
    cg.ra.imm(size),
    addr,
  ], false);
  const r = cg.ra.newReg();
  const rr = cg.ra.reg(r);
  cg.b.ldx(size, rr, R10, slot);
  if (signed && size < 8) {
    cg.b.alu64Imm("LSH", rr, 64 - size * 8);
    cg.b.alu64Imm("ARSH", rr, 64 - size * 8);
  }
  return r;
}

/** A value in a register this code may overwrite. */
export function own(cg: Emitter, v: Ref): Ref {
  if (v.loc.kind === "reg") return v;
  const r = cg.ra.newReg();
  cg.ra.load(cg.ra.reg(r), v);
  cg.ra.free(v);
  return r;
}

/**
 * Emits `l = l op r` for an arithmetic or bitwise operator with the
 * signedness of `t`; frees `r` unless `freeR` is false.
 */
export function aluOp(
  cg: Emitter,
  op: ast.BinaryOp,
  l: Ref,
  r: Ref,
  t: SType,
  freeR = true,
): void {
  const b = cg.b;
  const ra = cg.ra;
  const signed = t.k === "int" && t.signed;
  const name = ({
    "+": "ADD",
    "-": "SUB",
    "*": "MUL",
    "/": "DIV",
    "%": "MOD",
    "&": "AND",
    "|": "OR",
    "^": "XOR",
    "<<": "LSH",
    ">>": signed ? "ARSH" : "RSH",
  } as const as Record<string, AluName | undefined>)[op];
  if (name === undefined) throw new TypeError(`No ALU op for "${op}"`);
  if (r.loc.kind === "imm" && fitsImm(r.loc.v)) {
    let k = Number(BigInt.asIntN(64, r.loc.v));
    // As constant folding does: shift counts wrap to 0-63, x / 0 is 0
    // and x % 0 is x (the kernel rejects these immediates).
    if (name === "LSH" || name === "RSH" || name === "ARSH") k &= 63;
    if (k === 0 && name === "MOD") {
      if (freeR) ra.free(r);
      return;
    }
    const pow2 = k > 0 && (k & (k - 1)) === 0;
    if (k === 0 && name === "DIV") b.movImm(ra.reg(l), 0);
    // Unsigned x % 2^n is x & (2^n - 1), x / 2^n is x >> n: cheaper, and
    // the kernel's verifier keeps the range (it keeps none for / and %).
    else if (pow2 && name === "MOD") b.alu64Imm("AND", ra.reg(l), k - 1);
    else if (pow2 && name === "DIV") {
      b.alu64Imm("RSH", ra.reg(l), 31 - Math.clz32(k));
    } else b.alu64Imm(name, ra.reg(l), k);
  } else {
    const [lr, rr] = ra.regs(l, r);
    b.alu64Reg(name, lr, rr);
  }
  if (freeR) ra.free(r);
}

/** A condition as a 0 or 1 value. */
export function boolValue(cg: Emitter, e: ast.Expr): Ref {
  const b = cg.b;
  const ra = cg.ra;
  const known = cg.truth(e);
  if (known !== undefined) {
    cg.effects(e);
    return ra.imm(known ? 1 : 0);
  }
  const f = b.newLabel("f");
  const end = b.newLabel("b");
  ra.evictCallerSaved();
  const floor = ra.split();
  branch(cg, e, f, false);
  ra.floor = floor;
  const r = ra.newReg();
  const rr = ra.reg(r);
  b.movImm(rr, 1);
  b.ja(end);
  b.label(f);
  b.movImm(rr, 0);
  b.label(end);
  return r;
}

/**
 * Emits `++`/`--` on a variable or map; with `value`, returns the old
 * (postfix) or new (prefix) value.
 */
export function incdec(
  cg: Emitter,
  e: ast.IncDecExpr,
  value: boolean,
): Ref | undefined {
  const b = cg.b;
  const ra = cg.ra;
  // A pointer steps by the size of what it points at (bpftrace's).
  const step = pointerStep(cg.type(e.target));
  const delta = e.op === "++" ? step : -step;
  if (e.target.kind === "var") {
    const off = cg.vars.get(e.target.name)!;
    const r = ra.newReg();
    const rr = ra.reg(r);
    b.ldx(8, rr, R10, off);
    b.alu64Imm("ADD", rr, delta);
    b.stx(8, R10, off, rr);
    if (!value) {
      ra.free(r);
      return undefined;
    }
    if (!e.prefix) b.alu64Imm("SUB", rr, delta);
    return r;
  }
  const slot = value ? cg.alloc(8) : -1;
  cg.mapRmw(
    e.target,
    "+",
    ra.imm(delta),
    value ? { off: slot, prefix: e.prefix } : undefined,
  );
  return value ? ra.slot(slot) : undefined;
}

/** Jumps to `target` when `e` is true (`when`) or false (`!when`). */
export function branch(
  cg: Emitter,
  e: ast.Expr,
  target: string,
  when: boolean,
): void {
  const b = cg.b;
  const ra = cg.ra;
  const c = cg.fold(e);
  if (c !== undefined) {
    if ((c !== 0n) === when) b.ja(target);
    return;
  }
  if (e.kind === "unary" && e.op === "!") {
    branch(cg, e.expr, target, !when);
    return;
  }
  if (e.kind === "binary") {
    if (e.op === "&&" || e.op === "||") {
      const and = e.op === "&&";
      // A left side of known truth (with side effects, or it would have
      // folded) either decides the whole, so the right side is never
      // evaluated and emitting it would leave dead code, or leaves it
      // to the right side alone.
      const lt = cg.truth(e.left);
      if (and !== when) {
        // && jumping when false, || jumping when true: both sides jump.
        branch(cg, e.left, target, when);
        if (lt === when) return;
        ra.evictCallerSaved();
        cg.region(() => branch(cg, e.right, target, when));
      } else {
        const skip = b.newLabel("sc");
        branch(cg, e.left, skip, !when);
        if (lt !== !when) {
          ra.evictCallerSaved();
          cg.region(() => branch(cg, e.right, target, when));
        }
        b.label(skip);
      }
      return;
    }
    const cmp = cmpOp(cg, e);
    if (cmp !== undefined) {
      const lt = cg.type(e.left);
      if (lt.k === "tuple" || lt.k === "intarray") {
        if (e.op === "==" ? when : !when) {
          const ne = b.newLabel("tne");
          aggregateEq(cg, e.left, e.right, ne);
          b.ja(target);
          b.label(ne);
        } else aggregateEq(cg, e.left, e.right, target);
        return;
      }
      if (lt.k === "str" || lt.k === "buf") {
        const eq = lt.k === "str"
          ? (ne: string) => strEq(cg, e.left, e.right, ne, Infinity)
          : (ne: string) => bufEq(cg, e.left, e.right, ne);
        if (e.op === "==" ? when : !when) {
          const ne = b.newLabel("sne");
          eq(ne);
          b.ja(target);
          b.label(ne);
        } else eq(target);
        return;
      }
      let op = when ? cmp : INVERSE[cmp];
      let l = scalar(cg, e.left);
      let r = scalar(cg, e.right);
      if (l.loc.kind === "imm" && r.loc.kind !== "imm") {
        [l, r] = [r, l];
        op = SWAPPED[op];
      }
      if (r.loc.kind === "imm" && fitsImm(r.loc.v)) {
        b.jmpImm(op, ra.reg(l), Number(BigInt.asIntN(64, r.loc.v)), target);
      } else {
        const [lr, rr] = ra.regs(l, r);
        b.jmpReg(op, lr, rr, target);
      }
      ra.free(l);
      ra.free(r);
      return;
    }
  }
  if (e.kind === "map" && cg.mapTruth(e, target, when)) return;
  if (
    e.kind === "call" && e.name === "find" &&
    onDemand("find").findJump(cg, e, target, when)
  ) return;
  const v = scalar(cg, e);
  b.jmpImm(when ? "JNE" : "JEQ", ra.reg(v), 0, target);
  ra.free(v);
}

/**
 * The conditional jump a comparison compiles to (signed when its operands
 * are), or undefined when `e` is no comparison.
 */
export function cmpOp(cg: Emitter, e: ast.BinaryExpr): CondName | undefined {
  const lt = cg.type(e.left);
  const rt = cg.type(e.right);
  const sl = lt.k === "int" && lt.signed;
  const sr = rt.k === "int" && rt.signed;
  const litL = e.left.kind === "int";
  const litR = e.right.kind === "int";
  const signed = litL ? sr : litR ? sl : sl && sr;
  switch (e.op) {
    case "==":
      return "JEQ";
    case "!=":
      return "JNE";
    case "<":
      return signed ? "JSLT" : "JLT";
    case "<=":
      return signed ? "JSLE" : "JLE";
    case ">":
      return signed ? "JSGT" : "JGT";
    case ">=":
      return signed ? "JSGE" : "JGE";
  }
  return undefined;
}

/**
 * Jumps to `ne` unless buffers `a` and `c` are equal: the same length
 * (their first byte) and the same bytes up to it.
 */
export function bufEq(
  cg: Emitter,
  a: ast.Expr,
  c: ast.Expr,
  ne: string,
): void {
  const b = cg.b;
  const ra = cg.ra;
  const mx = cg.mem(a);
  const my = cg.mem(c);
  const n = Math.min(sizeOf(cg.type(a)), sizeOf(cg.type(c)));
  const len = ra.newReg();
  const t = ra.holding([len], () => ra.newReg());
  const u = ra.holding([len, t], () => ra.newReg());
  const [lr, tr, ur] = ra.regs(len, t, u);
  const eq = b.newLabel("beq");
  b.ldx(1, lr, mx.base, mx.off);
  b.ldx(1, ur, my.base, my.off);
  b.jmpReg("JNE", lr, ur, ne);
  for (let i = 1; i < n; i++) {
    b.jmpImm("JLT", lr, i, eq);
    b.ldx(1, tr, mx.base, mx.off + i);
    b.ldx(1, ur, my.base, my.off + i);
    b.jmpReg("JNE", tr, ur, ne);
  }
  b.label(eq);
  ra.free(u);
  ra.free(t);
  ra.free(len);
}

/**
 * Falls through when the strings are equal (up to `limit` bytes, stopping
 * at a NUL), jumps to `ne` otherwise.
 */
export function strEq(
  cg: Emitter,
  a: ast.Expr,
  c: ast.Expr,
  ne: string,
  limit: number,
): void {
  const b = cg.b;
  const ra = cg.ra;
  let x = a;
  let y = c;
  if (cg.strConst(x) !== undefined && cg.strConst(y) === undefined) {
    [x, y] = [y, x];
  }
  const lit = cg.strConst(y);
  const mx = cg.mem(x);
  const sx = sizeOf(cg.type(x));
  const t = ra.newReg();
  const tr = ra.reg(t);
  if (lit !== undefined) {
    // Compare the literal's bytes and its NUL (unless the limit stops first).
    const n = Math.min(lit.length + 1, sx, limit);
    for (let i = 0; i < n; i++) {
      b.ldx(1, tr, mx.base, mx.off + i);
      b.jmpImm("JNE", tr, i < lit.length ? lit.charCodeAt(i) & 0xff : 0, ne);
    }
    ra.free(t);
    return;
  }
  const my = cg.mem(y);
  const sy = sizeOf(cg.type(y));
  const n = Math.min(sx, sy, limit);
  const u = ra.holding([t], () => ra.newReg());
  const ur = ra.reg(u);
  const eq = b.newLabel("seq");
  for (let i = 0; i < n; i++) {
    b.ldx(1, tr, mx.base, mx.off + i);
    b.ldx(1, ur, my.base, my.off + i);
    b.jmpReg("JNE", tr, ur, ne);
    if (i < n - 1) b.jmpImm("JEQ", tr, 0, eq);
  }
  b.label(eq);
  ra.free(t);
  ra.free(u);
}
