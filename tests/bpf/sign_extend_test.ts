import assert from "node:assert/strict";
import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import type { Insn } from "../../runtime/bpf/insn.ts";
import { Class, Mode } from "../../runtime/bpf/opcodes.ts";
import { expandSignExtension } from "../../runtime/bpf/sign_extend.ts";
import { createEnvironment } from "../../runtime/vm/environment.ts";
import { VmProgram } from "../../runtime/vm/interpreter.ts";

const isSx = (i: Insn) => (i.code & 0xe7) === (Class.LDX | Mode.MEMSX);

function run(insns: Insn[], ctx: Uint8Array): bigint {
  return new VmProgram(insns, []).run(ctx, createEnvironment());
}

/** r0 = sign-extended `width` bytes of the ctx at 0, plus jumps around it. */
function signedRead(b: InsnBuilder, width: 1 | 2 | 4): void {
  b.movImm(0, 5);
  b.ldx(1, 2, 1, 7); // r2 = ctx[7]
  b.jmpImm("JNE", 2, 0, "out"); // jumps over the read
  b.ldx(width, 0, 1, 0);
  b.alu64Imm("LSH", 0, 64 - width * 8);
  b.alu64Imm("ARSH", 0, 64 - width * 8);
  b.callLocal("f");
  b.label("out");
  b.exit();
  b.label("f");
  b.ldx(width, 0, 1, 0);
  b.alu64Imm("LSH", 0, 64 - width * 8);
  b.alu64Imm("ARSH", 0, 64 - width * 8);
  b.alu64Imm("ADD", 0, 1);
  b.exit();
}

Deno.test("builder folds a load and its sign-extending shifts into ldxsx", () => {
  for (const width of [1, 2, 4] as const) {
    const folded = new InsnBuilder({ foldSignExtension: true });
    signedRead(folded, width);
    const plain = new InsnBuilder();
    signedRead(plain, width);
    const a = folded.build().insns;
    const b = plain.build().insns;
    assert.equal(a.length, b.length - 4);
    assert.equal(a.filter(isSx).length, 2);
    for (const byte of [0x00, 0x7f, 0x80, 0xff]) {
      const ctx = new Uint8Array(8).fill(byte);
      assert.equal(run(a, ctx), run(b, ctx), `width ${width} byte ${byte}`);
      ctx[7] = 0;
      assert.equal(run(a, ctx), run(b, ctx), `width ${width} byte ${byte}`);
    }
  }
});

const isMovsx = (i: Insn) => i.code === 0xbf && i.off !== 0;

Deno.test("builder folds shifts a load is not right before into movsx", () => {
  const b = new InsnBuilder({ foldSignExtension: true });
  b.ldx(4, 0, 1, 0);
  b.label("mid"); // a jump lands on the shifts: the load stays apart
  b.alu64Imm("LSH", 0, 32);
  b.alu64Imm("ARSH", 0, 32);
  b.ldx(4, 0, 1, 0);
  b.alu64Imm("LSH", 0, 48); // a 16-bit extension of a 32-bit load
  b.alu64Imm("ARSH", 0, 48);
  b.ldx(4, 2, 1, 0);
  b.alu64Imm("LSH", 0, 56); // another register
  b.alu64Imm("ARSH", 0, 56);
  b.exit();
  const { insns } = b.build();
  assert.equal(insns.length, 7);
  assert.equal(insns.filter(isSx).length, 0);
  assert.deepEqual(insns.filter(isMovsx).map((i) => i.off), [32, 16, 8]);
});

Deno.test("builder keeps both shifts when a jump lands on the second", () => {
  const b = new InsnBuilder({ foldSignExtension: true });
  b.ldx(4, 0, 1, 0);
  b.alu64Imm("LSH", 0, 32);
  b.label("second");
  b.alu64Imm("ARSH", 0, 32);
  b.alu64Imm("LSH", 0, 40); // not a width the instruction set extends
  b.alu64Imm("ARSH", 0, 40);
  b.exit();
  const { insns } = b.build();
  assert.equal(insns.length, 6);
  assert.equal(insns.filter((i) => isSx(i) || isMovsx(i)).length, 0);
});

Deno.test("movsx and its expansion compute the same as the shifts", () => {
  for (const k of [56, 48, 32]) {
    const make = (fold: boolean, dst: number) => {
      const b = new InsnBuilder({ foldSignExtension: fold });
      b.ldx(8, 2, 1, 0);
      b.jmpImm("JEQ", 2, 0, "out");
      b.movReg(0, 2);
      b.alu64Imm("LSH", 0, k);
      b.alu64Imm("ARSH", 0, k);
      if (dst !== 0) b.movReg(dst, 0);
      b.label("out");
      b.exit();
      return b.build();
    };
    const folded = make(true, 0);
    assert.equal(folded.insns.filter(isMovsx).length, 1);
    const expanded = expandSignExtension(folded).insns;
    assert.deepEqual(expanded, make(false, 0).insns);
    // A movsx from another register expands with its move.
    const other = expandSignExtension({
      insns: [
        { code: 0xbf, dst: 0, src: 3, off: 64 - k, imm: 0 },
        { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
      ],
    }).insns;
    assert.equal(other.length, 4);
    assert.deepEqual(other[0], { code: 0xbf, dst: 0, src: 3, off: 0, imm: 0 });
    for (const v of [0x7fn, 0x80n, 0xff_ffn, 0x8000_0000n, 0x1234_5678_9abcn]) {
      const ctx = new Uint8Array(8);
      new DataView(ctx.buffer).setBigUint64(0, v, true);
      const want = BigInt.asIntN(64 - k, v);
      assert.equal(
        BigInt.asIntN(64, run(folded.insns, ctx)),
        want,
        `${k} ${v}`,
      );
      assert.equal(BigInt.asIntN(64, run(expanded, ctx)), want, `${k} ${v}`);
    }
  }
});

Deno.test("expanding ldxsx keeps jumps, calls and locations in place", () => {
  for (const width of [1, 2, 4] as const) {
    const b = new InsnBuilder({ foldSignExtension: true });
    signedRead(b, width);
    const built = b.build();
    const locs = built.insns.map((_, i) => ({ line: i + 1, col: 1 }));
    const out = expandSignExtension({ insns: built.insns, locs });
    assert.equal(out.insns.length, built.insns.length + 4);
    assert.equal(out.insns.filter(isSx).length, 0);
    assert.equal(out.locs.length, out.insns.length);
    const plain = new InsnBuilder();
    signedRead(plain, width);
    assert.deepEqual(out.insns, plain.build().insns);
    const sx = built.insns.findIndex(isSx);
    assert.deepEqual(out.locs.slice(sx, sx + 3), [
      locs[sx],
      locs[sx],
      locs[sx],
    ]);
  }
});

Deno.test("expanding a program without ldxsx returns it unchanged", () => {
  const b = new InsnBuilder();
  b.movImm(0, 0);
  b.exit();
  const prog = b.build();
  assert.equal(expandSignExtension(prog), prog);
});

Deno.test("expanding moves gotol and function addresses", () => {
  const b = new InsnBuilder();
  b.ldFunc(2, "f");
  b.gotol("end");
  b.ldxsx(4, 0, 1, 0);
  b.label("f");
  b.exit();
  b.label("end");
  b.exit();
  const { insns } = expandSignExtension(b.build());
  assert.equal(insns[0].imm, 5); // f moves from slot 4 to slot 6
  assert.equal(insns[2].imm, 4);
});
