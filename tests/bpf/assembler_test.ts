import assert from "node:assert/strict";
import { AsmError, assemble } from "../../runtime/bpf/assembler.ts";
import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import { disassemble } from "../../runtime/bpf/disasm.ts";
import { type Insn, insn } from "../../runtime/bpf/insn.ts";
import { Helper, PseudoSrc } from "../../runtime/bpf/opcodes.ts";

function built(make: (b: InsnBuilder) => void): Insn[] {
  const b = new InsnBuilder();
  make(b);
  return b.build().insns;
}

Deno.test("mnemonic syntax of the ubpf / rbpf test suites", () => {
  const cases: [string, Insn[]][] = [
    ["mov r0, 1", built((b) => b.movImm(0, 1))],
    ["mov64 r0, r1", built((b) => b.movReg(0, 1))],
    ["mov32 r0, 1", built((b) => b.alu32Imm("MOV", 0, 1))],
    ["add32 r1, r2", built((b) => b.alu32Reg("ADD", 1, 2))],
    ["add r1, 5", built((b) => b.alu64Imm("ADD", 1, 5))],
    ["arsh32 r1, 0x1f", built((b) => b.alu32Imm("ARSH", 1, 31))],
    ["neg r1", built((b) => b.alu64Imm("NEG", 1, 0))],
    ["neg32 r1", built((b) => b.alu32Imm("NEG", 1, 0))],
    ["le16 r1", built((b) => b.endian("le", 1, 16))],
    ["be64 r1", built((b) => b.endian("be", 1, 64))],
    ["bswap32 r3", built((b) => b.endian("bswap", 3, 32))],
    ["swap16 r3", built((b) => b.endian("bswap", 3, 16))],
    ["ldxw r0, [r1+4]", built((b) => b.ldx(4, 0, 1, 4))],
    ["ldxdw r0, [r10-8]", built((b) => b.ldx(8, 0, 10, -8))],
    ["ldxh r0, [r1]", built((b) => b.ldx(2, 0, 1, 0))],
    ["ldxb r0, [r1 + 0x10]", built((b) => b.ldx(1, 0, 1, 16))],
    ["ldxsb r0, [r1+2]", built((b) => b.ldxsx(1, 0, 1, 2))],
    ["ldxsh r0, [r1+2]", built((b) => b.ldxsx(2, 0, 1, 2))],
    ["ldxsw r0, [r1+2]", built((b) => b.ldxsx(4, 0, 1, 2))],
    ["stw [r10-4], 1", built((b) => b.st(4, 10, -4, 1))],
    ["stxdw [r10-8], r1", built((b) => b.stx(8, 10, -8, 1))],
    ["jeq r1, 0, +2", built((b) => b.raw(insn(0x15, 1, 0, 2, 0)))],
    ["jset r1, r2, -1", built((b) => b.raw(insn(0x4d, 1, 2, -1, 0)))],
    ["jsgt r1, -1, +0", built((b) => b.raw(insn(0x65, 1, 0, 0, -1)))],
    ["jeq32 r1, 7, +3", built((b) => b.raw(insn(0x16, 1, 0, 3, 7)))],
    ["ja +1", built((b) => b.raw(insn(0x05, 0, 0, 1, 0)))],
    ["ja32 -70000", built((b) => b.raw(insn(0x06, 0, 0, 0, -70000)))],
    [
      "lddw r0, 0x1122334455667788",
      built((b) => b.ldImm64(0, 0x1122334455667788n)),
    ],
    ["lddw r0, -2", built((b) => b.ldImm64(0, -2))],
    ["lddw r1, map:4", built((b) => b.ldMap(1, 4))],
    ["call 1", built((b) => b.call(1))],
    ["call bpf_map_lookup_elem", built((b) => b.call(Helper.map_lookup_elem))],
    ["call ktime_get_ns", built((b) => b.call(Helper.ktime_get_ns))],
    ["call helper 5", built((b) => b.call(5))],
    ["call local +3", built((b) => b.raw(insn(0x85, 0, 1, 0, 3)))],
    ["exit", built((b) => b.exit())],
    ["sdiv r1, r2", built((b) => b.sdivmod("DIV", 64, 1, { reg: 2 }))],
    ["smod32 r1, 3", built((b) => b.sdivmod("MOD", 32, 1, { imm: 3 }))],
    ["movsx8 r1, r2", built((b) => b.movsx(8, 1, 2))],
    ["movsx3264 r1, r2", built((b) => b.movsx(32, 1, 2))],
    ["movsx1632 r1, r2", built((b) => b.movsx(16, 1, 2, true))],
    ["xadddw [r1+0], r2", built((b) => b.atomic(8, "ADD", 1, 0, 2))],
    ["xaddw [r1+8], r2", built((b) => b.atomic(4, "ADD", 1, 8, 2))],
    ["lock add32 [r10-8], r1", built((b) => b.atomic(4, "ADD", 10, -8, 1))],
    [
      "lock fetch or [r10-8], r1",
      built((b) => b.atomic(8, "OR", 10, -8, 1, true)),
    ],
    ["lock xchg [r10-8], r1", built((b) => b.atomic(8, "XCHG", 10, -8, 1))],
    [
      "lock cmpxchg32 [r10-8], r1",
      built((b) => b.atomic(4, "CMPXCHG", 10, -8, 1)),
    ],
    ["ldabsh 12", built((b) => b.raw(insn(0x28, 0, 0, 0, 12)))],
    ["ldindw r3, 4", built((b) => b.raw(insn(0x40, 0, 3, 0, 4)))],
    ["mov %r0, %r1", built((b) => b.movReg(0, 1))],
  ];
  for (const [text, want] of cases) {
    assert.deepEqual(assemble(text), want, text);
  }
});

Deno.test("kernel syntax extras: labels, helper names, map forms", () => {
  assert.deepEqual(
    assemble("call bpf_map_update_elem"),
    built((b) => b.call(Helper.map_update_elem)),
  );
  assert.deepEqual(assemble("call unknown#200"), built((b) => b.call(200)));
  assert.deepEqual(assemble("call #7"), built((b) => b.call(7)));
  assert.deepEqual(assemble("r1 = map[2]"), built((b) => b.ldMap(1, 2)));
  assert.deepEqual(assemble("r1 = 5 ll"), built((b) => b.ldImm64(1, 5)));
  assert.deepEqual(
    assemble("w1 = 0xffffffff"),
    built((b) => b.alu32Imm("MOV", 1, -1)),
  );
  assert.deepEqual(
    assemble("r3 = map[idx:1][0]+8 ll"),
    [insn(0x18, 3, PseudoSrc.MAP_IDX_VALUE, 0, 1), insn(0, 0, 0, 0, 8)],
  );
  // LLVM spacing: `(u64*)(r1+0x10)`.
  assert.deepEqual(
    assemble("r1 = *(u64*)(r2+0x10)"),
    built((b) => b.ldx(8, 1, 2, 16)),
  );
  assert.deepEqual(
    assemble("*(u8 *)(r2 - 1) = r3"),
    built((b) => b.stx(1, 2, -1, 3)),
  );
});

Deno.test("labels resolve in slots in both syntaxes, forward and back", () => {
  const text = `
start:
  lddw r1, 0x100000000     # two slots
  r2 = map[0] ll           // two more
  jeq r1, 0, done
  if r1 > 0x3 goto start
  gotol done
  call local sub ; bpf-to-bpf
  call sub2
done: exit
sub: r0 = 0
sub2:
  r2 = subprog[sub] ll
  exit
`;
  const want = built((b) => {
    b.label("start");
    b.ldImm64(1, 0x100000000n);
    b.ldMap(2, 0);
    b.jmpImm("JEQ", 1, 0, "done");
    b.jmpImm("JGT", 1, 3, "start");
    b.gotol("done");
    b.callLocal("sub");
    b.callLocal("sub2");
    b.label("done");
    b.exit();
    b.label("sub");
    b.movImm(0, 0);
    b.label("sub2");
    b.raw(insn(0x18, 2, PseudoSrc.FUNC, 0, 0), "sub", true);
    b.raw(insn(0, 0, 0, 0, 0));
    b.exit();
  });
  assert.deepEqual(assemble(text), want);
  assert.equal(want[4].off, 4);
  assert.equal(want[5].off, -6);
});

Deno.test("bpf_conformance conventions: %r registers and the exit label", () => {
  const text = `
# Copyright-style header comment
-- asm
`.replace("-- asm\n", "") + `
mov %r0, 1
jne %r0, 1, exit
mov %r0, 2
exit
`;
  assert.deepEqual(
    assemble(text),
    built((b) => {
      b.movImm(0, 1);
      b.jmpImm("JNE", 0, 1, "x");
      b.movImm(0, 2);
      b.label("x");
      b.exit();
    }),
  );
});

Deno.test("bpftool listings with opcode columns read back", () => {
  const text = [
    "   0: (b7) r0 = 0",
    "   1: (18) r1 = map[3] ll",
    "   3: (85) call bpf_map_lookup_elem#1",
    "   4: (95) exit",
  ].join("\n");
  const insns = assemble(text);
  assert.equal(insns.length, 5);
  assert.deepEqual(disassemble(insns), [
    "   0: r0 = 0",
    "   1: r1 = map[3] ll",
    "   3: call bpf_map_lookup_elem#1",
    "   4: exit",
  ]);
});

function err(text: string, fileName?: string): AsmError {
  try {
    assemble(text, fileName);
  } catch (e) {
    assert.ok(e instanceof AsmError);
    assert.ok(e instanceof SyntaxError);
    return e;
  }
  assert.fail(`no error for ${JSON.stringify(text)}`);
}

Deno.test("errors name the file, line and column", () => {
  const cases: [string, string][] = [
    ["foo r1, 2", '<asm>:1:1: Unknown mnemonic "foo"'],
    ["exit\n  frob", '<asm>:2:3: Unknown mnemonic "frob"'],
    [
      "mov r11, 1",
      '<asm>:1:5: Invalid register "r11": registers are r0 to r10',
    ],
    [
      "mov r0, rx",
      '<asm>:1:9: Expected a register or an immediate, found "rx"',
    ],
    ["ldxdw r1, [x+1]", '<asm>:1:12: Expected a register, found "x"'],
    [
      "mov r0, 0x100000000",
      "<asm>:1:9: Immediate 0x100000000 does not fit 32 bits",
    ],
    [
      "stw [r10-4], -2147483649",
      "<asm>:1:14: Immediate -2147483649 does not fit 32 bits",
    ],
    [
      "r1 = 0x1122334455667788",
      '<asm>:1:6: Immediate 0x1122334455667788 does not fit 32 bits (write "0x1122334455667788 ll" for a 64-bit load)',
    ],
    [
      "lddw r0, 0x10000000000000000",
      "<asm>:1:10: Immediate 0x10000000000000000 does not fit 64 bits",
    ],
    ["ldxdw r1, [r2+40000]", "<asm>:1:14: Offset +40000 does not fit 16 bits"],
    ["ja +32768", "<asm>:1:4: Offset +32768 does not fit 16 bits"],
    ["ja nowhere", '<asm>:1:4: Unknown label "nowhere"'],
    ["\n\nif r1 == 0 goto out\n", '<asm>:3:17: Unknown label "out"'],
    ["call nosuch", '<asm>:1:6: Unknown helper or label "nosuch"'],
    [
      "a: exit\nb: exit\n  a: exit",
      '<asm>:3:3: Label "a" is defined twice (first on line 1)',
    ],
    ["exit now", '<asm>:1:6: Unexpected "now" after the instruction'],
    [
      "r1 = be16 r2",
      "<asm>:1:11: A byte swap must name its destination register",
    ],
    [
      "w1 += r2",
      "<asm>:1:7: Cannot mix 32-bit and 64-bit registers in one instruction",
    ],
    [
      "r1 ! r2",
      '<asm>:1:4: Expected an assignment operator after "r1", found "!"',
    ],
    ["if r1 = 0 goto +1", '<asm>:1:7: Expected a comparison, found "="'],
    ["if r1 == 0 +1", '<asm>:1:12: Expected "goto", found "+1"'],
    ["ldxdw r1, [r2+8", '<asm>:1:16: Expected "]", found end of line'],
    [
      "r1 = *(u128 *)(r2 +0)",
      '<asm>:1:7: Expected a type like "(u64 *)", found "("',
    ],
    ["lock nand [r1], r2", '<asm>:1:6: Unknown atomic operation "nand"'],
    ["add w1, 1", '<asm>:1:5: Expected a 64-bit register, found "w1"'],
    [
      "r0 = atomic64_fetch_add((u64 *)(r1 +0), r2)",
      '<asm>:1:1: The fetched value goes back to the source register "r2"',
    ],
    ["$$", '<asm>:1:1: Unknown instruction "$$"'],
  ];
  for (const [text, message] of cases) {
    assert.equal(err(text).message, message, text);
  }
});

Deno.test("error fields and file names", () => {
  const e = err("exit\n\n   mov r12, 0", "prog.s");
  assert.equal(
    e.message,
    'prog.s:3:8: Invalid register "r12": registers are r0 to r10',
  );
  assert.equal(e.line, 3);
  assert.equal(e.col, 8);
  assert.equal(e.fileName, "prog.s");
  assert.equal(e.reason, 'Invalid register "r12": registers are r0 to r10');
  assert.equal(e.name, "AsmError");
});

Deno.test("comments, blank lines and labels alone are not instructions", () => {
  assert.deepEqual(assemble(""), []);
  assert.deepEqual(assemble("# only\n// comments\n; here\n\nx:\n"), []);
  assert.deepEqual(assemble("exit # call #5"), built((b) => b.exit()));
  assert.deepEqual(assemble("call #5 # helper 5"), built((b) => b.call(5)));
});
