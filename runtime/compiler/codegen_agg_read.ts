/**
 * Reading a `count()` or `sum()` map's value in the program (0.26's
 * castable maps, `(bool)@c`, `(int64)@s`): the per-CPU slots summed with
 * `bpf_map_lookup_percpu_elem`, CPU by CPU until a lookup fails.
 *
 * @module
 */

import type * as ast from "../lang/ast.ts";
import { Helper, R10 } from "../bpf/opcodes.ts";
import type { Ref } from "./regs.ts";
import { buildKey } from "./codegen_maps.ts";
import type { Emitter } from "./emitter.ts";

/**
 * The most CPUs the loop visits; it stops at the first CPU the map has no
 * slot for. The verifier explores one path per visit, and both it and the
 * kernel's refuse more than 8192 pending branches: machines with more
 * than 1024 CPUs would see the first 1024 CPUs' counts only.
 */
const MAX_CPUS = 1024;

/**
 * The value of `@m[keys]` of a count or sum map: the sum over the CPUs'
 * slots (0 when the key is absent).
 *
 * @example Usage
 * ```ts ignore
 * const r = aggRead(cg, mapNode); // a register with the total
 * ```
 */
export function aggRead(cg: Emitter, e: ast.MapExpr): Ref {
  const b = cg.b;
  const ra = cg.ra;
  const idx = cg.t.userMap(`@${e.name}`);
  const key = buildKey(cg, e, undefined);
  const acc = cg.alloc(8);
  const cpu = cg.alloc(8);
  b.st(8, R10, acc, 0);
  b.st(8, R10, cpu, 0);
  ra.evictCallerSaved();
  const floor = ra.split();
  const head = b.newLabel("aggcpu");
  const end = b.newLabel("aggend");
  cg.region(() => {
    b.label(head);
    const c = ra.newReg();
    b.ldx(8, ra.reg(c), R10, cpu);
    b.jmpImm("JGE", ra.reg(c), MAX_CPUS, end);
    const p = cg.call(
      Helper.map_lookup_percpu_elem,
      [{ map: idx }, { fp: key }, c],
      true,
    )!;
    b.jmpImm("JEQ", ra.reg(p), 0, end);
    const v = ra.newReg();
    b.ldx(8, ra.reg(v), ra.reg(p), 0);
    ra.free(p);
    const t = ra.newReg();
    b.ldx(8, ra.reg(t), R10, acc);
    b.alu64Reg("ADD", ra.reg(t), ra.reg(v));
    b.stx(8, R10, acc, ra.reg(t));
    b.ldx(8, ra.reg(t), R10, cpu);
    b.alu64Imm("ADD", ra.reg(t), 1);
    b.stx(8, R10, cpu, ra.reg(t));
    ra.free(v);
    ra.free(t);
    b.ja(head);
    b.label(end);
  });
  ra.floor = floor;
  // Forget where the loop stopped: paths leaving it at different CPUs
  // then agree, and the verifier explores what follows once.
  b.st(8, R10, cpu, 0);
  const r = ra.newReg();
  b.ldx(8, ra.reg(r), R10, acc);
  return r;
}
