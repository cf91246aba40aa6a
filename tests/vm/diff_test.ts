import assert from "node:assert/strict";
import { type Insn, insn } from "../../runtime/bpf/insn.ts";
import { createEnvironment } from "../../runtime/vm/environment.ts";
import { VmError, VmProgram } from "../../runtime/vm/interpreter.ts";
import { opcode, OPS, refRun } from "./reference.ts";
import { rng } from "./util.ts";
import { COND_JMP_OPS } from "../fuzz/vocabulary.ts";

const ATOMICS = [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1];

/** A random program of valid instructions (no calls), ending in exit. */
function program(next: () => number, len: number): Insn[] {
  const pick = <T>(a: readonly T[]) => a[next() % a.length];
  const reg = () => next() % 10;
  const imm = () => next() % 3 === 0 ? next() | 0 : (next() % 80) - 16;
  const stackOff = () =>
    next() % 8 === 0 ? -(next() % 530) + 8 : -8 * (1 + (next() % 8));
  const out: Insn[] = [];
  // seed a few registers with constants and stack pointers
  out.push(insn(0xbf, 6, 10, 0, 0), insn(0x07, 6, 0, 0, -32));
  while (out.length < len) {
    const r = next() % 100;
    if (r < 45) {
      const op = pick(OPS);
      const is64 = next() % 3 !== 0;
      const x = op !== "NEG" && next() % 2 === 0;
      const { code, off } = opcode(op, is64, x);
      out.push(insn(code, reg(), x ? reg() : 0, off, x ? 0 : imm()));
    } else if (r < 50) {
      const kind = next() % 4;
      const bits = pick([16, 32, 64]);
      if (kind === 0) out.push(insn(0xd7, reg(), 0, 0, bits));
      else if (kind === 1) {
        out.push(insn(0xd4 | (next() % 2 ? 8 : 0), reg(), 0, 0, bits));
      } else {out.push(
          insn(
            kind === 2 ? 0xbf : 0xbc,
            reg(),
            reg(),
            pick(kind === 2 ? [8, 16, 32] : [8, 16]),
            0,
          ),
        );}
    } else if (r < 55) {
      const v = BigInt(next()) << 32n | BigInt(next());
      out.push(
        insn(0x18, reg(), 0, 0, Number(v & 0xffffffffn) | 0),
        insn(0, 0, 0, 0, Number(v >> 32n) | 0),
      );
    } else if (r < 65) {
      const base = next() % 4 === 0 ? 6 : 10;
      const size = pick([0x00, 0x08, 0x10, 0x18]);
      const sxMode = size !== 0x18 && next() % 4 === 0;
      out.push(
        insn(0x01 | size | (sxMode ? 0x80 : 0x60), reg(), base, stackOff(), 0),
      );
    } else if (r < 75) {
      const base = next() % 4 === 0 ? 6 : 10;
      const size = pick([0x00, 0x08, 0x10, 0x18]);
      if (next() % 2) out.push(insn(0x62 | size, base, 0, stackOff(), imm()));
      else out.push(insn(0x63 | size, base, reg(), stackOff(), 0));
    } else if (r < 80) {
      const size = pick([0x00, 0x18]);
      out.push(
        insn(0xc3 | size, 10, reg(), -8 * (1 + (next() % 4)), pick(ATOMICS)),
      );
    } else if (r < 97) {
      const cls = next() % 2 ? 0x05 : 0x06;
      const x = next() % 2 === 0;
      const off = (next() % 14) - 5;
      out.push(
        insn(
          cls | pick(COND_JMP_OPS) | (x ? 8 : 0),
          reg(),
          x ? reg() : 0,
          off,
          x ? 0 : imm(),
        ),
      );
    } else {
      out.push(
        next() % 2
          ? insn(0x05, 0, 0, (next() % 10) - 4, 0)
          : insn(0x06, 0, 0, 0, (next() % 10) - 4),
      );
    }
  }
  // Fold every register into r0, then exit.
  for (let r = 1; r <= 9; r++) {
    out.push(insn(0x27, 0, 0, 0, 0x9e3779b1 | 0), insn(0xaf, 0, r, 0, 0));
  }
  out.push(insn(0x95, 0, 0, 0, 0));
  return out;
}

Deno.test("differential: random valid programs agree with the reference model", () => {
  const next = rng(77);
  const env = createEnvironment();
  const stats = { results: 0, errors: 0 };
  for (let n = 0; n < 1500; n++) {
    const insns = program(next, 5 + (next() % 50));
    const want = refRun(insns, 3000);
    let got: bigint | "error";
    try {
      got = new VmProgram(insns, [], { budget: 3000 }).run(
        new Uint8Array(0),
        env,
      );
    } catch (e) {
      if (!(e instanceof VmError)) throw e;
      got = "error";
    }
    assert.equal(got, want, `program ${n}: ${JSON.stringify(insns)}`);
    if (got === "error") stats.errors++;
    else stats.results++;
  }
  console.log(stats);
  assert.ok(stats.results > 300 && stats.errors > 100);
});
