import assert from "node:assert/strict";
import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import { decode, encode, imm64, insn } from "../../runtime/bpf/insn.ts";
import { CallSrc, PseudoSrc } from "../../runtime/bpf/opcodes.ts";

Deno.test("builder resolves forward and backward labels in slots", () => {
  const b = new InsnBuilder();
  b.label("top");
  b.ldImm64(1, 0x1122334455667788n); // two slots: 0, 1
  b.jmpImm("JEQ", 1, 0, "out"); // 2
  b.alu64Imm("SUB", 1, 1); // 3
  b.ja("top"); // 4
  b.label("out");
  b.movImm(0, 0); // 5
  b.exit(); // 6
  const { insns } = b.build();
  assert.equal(insns.length, 7);
  assert.equal(insns[2].off, 2);
  assert.equal(insns[4].off, -5);
  assert.equal(imm64(insns[0], insns[1]), 0x1122334455667788n);
});

Deno.test("builder puts call-local and gotol targets in imm", () => {
  const b = new InsnBuilder();
  b.callLocal("f");
  b.gotol("end");
  b.label("f");
  b.movImm(0, 7);
  b.exit();
  b.label("end");
  b.exit();
  const { insns } = b.build();
  assert.equal(insns[0].src, CallSrc.PSEUDO_CALL);
  assert.equal(insns[0].imm, 1);
  assert.equal(insns[1].imm, 2);
  assert.equal(insns[1].off, 0);
});

Deno.test("builder rejects unknown and duplicate labels", () => {
  const b = new InsnBuilder();
  b.ja("nowhere");
  assert.throws(() => b.build(), ReferenceError);
  const c = new InsnBuilder();
  c.label("x");
  assert.throws(() => c.label("x"), SyntaxError);
});

Deno.test("builder records source locations per slot", () => {
  const b = new InsnBuilder();
  b.at({ line: 3, col: 5 }).ldMap(1, 2);
  b.at(undefined).exit();
  const { insns, locs } = b.build();
  assert.equal(insns[0].src, PseudoSrc.MAP_FD);
  assert.equal(insns[0].imm, 2);
  assert.deepEqual(locs, [{ line: 3, col: 5 }, { line: 3, col: 5 }, undefined]);
});

Deno.test("encode writes the kernel's little-endian struct bpf_insn", () => {
  const bytes = encode([insn(0x61, 1, 10, -8, 0), insn(0xb7, 0, 0, 0, -2)]);
  assert.deepEqual(
    [...bytes],
    [0x61, 0xa1, 0xf8, 0xff, 0, 0, 0, 0, 0xb7, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff],
  );
  assert.deepEqual(decode(bytes), [
    insn(0x61, 1, 10, -8, 0),
    insn(0xb7, 0, 0, 0, -2),
  ]);
  assert.throws(() => decode(new Uint8Array(7)), RangeError);
});
