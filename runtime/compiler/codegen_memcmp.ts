/**
 * `memcmp(a, b, n)` (bpftrace 0.26's stdlib/internal.bt): the first `n`
 * bytes of two values in memory compared byte by byte, unrolled (`n` is
 * a literal no larger than either value): the difference of the first
 * bytes that differ (as signed chars, as the stdlib's C does), else 0.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import type { Ref } from "./regs.ts";
import type { Emitter } from "./emitter.ts";

/**
 * The value of a `memcmp()` call, in a new register.
 *
 * @example Usage
 * ```ts ignore
 * const r = memcmpValue(cg, call); // memcmp($a, $b, 4)
 * ```
 */
export function memcmpValue(cg: Emitter, e: ast.CallExpr): Ref {
  const ra = cg.ra;
  const b = cg.b;
  const n = Number(cg.fold(e.args[2]) ?? 0n);
  const left = cg.mem(e.args[0]);
  const right = cg.mem(e.args[1]);
  const r = ra.newReg();
  const t = ra.holding([r], () => ra.newReg());
  const rr = ra.reg(r);
  const tr = ra.reg(t);
  const done = b.newLabel("memcmp");
  b.movImm(rr, 0);
  for (let i = 0; i < n; i++) {
    b.ldx(1, rr, left.base, left.off + i);
    b.ldx(1, tr, right.base, right.off + i);
    // As signed chars: shift the sign bit of each byte in.
    b.alu64Imm("LSH", rr, 56);
    b.alu64Imm("ARSH", rr, 56);
    b.alu64Imm("LSH", tr, 56);
    b.alu64Imm("ARSH", tr, 56);
    b.alu64Reg("SUB", rr, tr);
    b.jmpImm("JNE", rr, 0, done);
  }
  b.label(done);
  ra.free(t);
  return r;
}
