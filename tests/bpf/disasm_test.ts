import assert from "node:assert/strict";
import { assemble } from "../../runtime/bpf/assembler.ts";
import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import {
  disassemble,
  disassembleMnemonic,
  formatInsn,
  formatMnemonic,
} from "../../runtime/bpf/disasm.ts";
import { type Insn, insn } from "../../runtime/bpf/insn.ts";
import { Helper } from "../../runtime/bpf/opcodes.ts";

function one(build: (b: InsnBuilder) => void): string {
  const b = new InsnBuilder();
  build(b);
  b.label("t");
  return formatInsn(b.build().insns, 0);
}

Deno.test("kernel syntax matches kernel/bpf/disasm.c", () => {
  const cases: [string, (b: InsnBuilder) => void][] = [
    ["r1 = *(u64 *)(r10 -8)", (b) => b.ldx(8, 1, 10, -8)],
    ["*(u32 *)(r10 -4) = r1", (b) => b.stx(4, 10, -4, 1)],
    ["*(u64 *)(r10 -8) = 0", (b) => b.st(8, 10, -8, 0)],
    ["*(u8 *)(r1 +3) = -1", (b) => b.st(1, 1, 3, -1)],
    ["if r1 != 0x0 goto pc+0", (b) => b.jmpImm("JNE", 1, 0, "t")],
    ["if r1 s< 0xffffffff goto pc+0", (b) => b.jmpImm("JSLT", 1, -1, "t")],
    ["if w1 > w2 goto pc+0", (b) => b.jmp32Reg("JGT", 1, 2, "t")],
    ["if w3 & 0x10 goto pc+0", (b) => b.jmp32Imm("JSET", 3, 16, "t")],
    ["r0 = 1", (b) => b.movImm(0, 1)],
    ["r0 = -1", (b) => b.movImm(0, -1)],
    ["w0 += w1", (b) => b.alu32Reg("ADD", 0, 1)],
    ["r2 s>>= 3", (b) => b.alu64Imm("ARSH", 2, 3)],
    ["r1 = 0x1122334455667788 ll", (b) => b.ldImm64(1, 0x1122334455667788n)],
    ["r1 = 0xffffffffffffffff ll", (b) => b.ldImm64(1, -1)],
    ["r1 = map[3] ll", (b) => b.ldMap(1, 3)],
    ["r2 = map[1][0]+16 ll", (b) => b.ldMapValue(2, 1, 16)],
    ["call bpf_map_lookup_elem#1", (b) => b.call(Helper.map_lookup_elem)],
    ["call #999", (b) => b.call(999)],
    ["call pc+0", (b) => b.callLocal("t")],
    ["exit", (b) => b.exit()],
    ["goto pc+0", (b) => b.ja("t")],
    ["gotol pc+0", (b) => b.gotol("t")],
    ["r1 = be16 r1", (b) => b.endian("be", 1, 16)],
    ["r1 = le32 r1", (b) => b.endian("le", 1, 32)],
    ["r1 = bswap64 r1", (b) => b.endian("bswap", 1, 64)],
    ["r0 = (s8)r1", (b) => b.movsx(8, 0, 1)],
    ["w0 = (s16)w1", (b) => b.movsx(16, 0, 1, true)],
    ["r0 s/= r1", (b) => b.sdivmod("DIV", 64, 0, { reg: 1 })],
    ["r0 s%= r1", (b) => b.sdivmod("MOD", 64, 0, { reg: 1 })],
    ["w0 s/= -3", (b) => b.sdivmod("DIV", 32, 0, { imm: -3 })],
    ["r1 = *(s8 *)(r2 +0)", (b) => b.ldxsx(1, 1, 2, 0)],
    ["lock *(u64 *)(r10 -8) += r1", (b) => b.atomic(8, "ADD", 10, -8, 1)],
    ["lock *(u32 *)(r10 -8) ^= r1", (b) => b.atomic(4, "XOR", 10, -8, 1)],
    [
      "r1 = atomic64_fetch_add((u64 *)(r10 -8), r1)",
      (b) => b.atomic(8, "ADD", 10, -8, 1, true),
    ],
    [
      "r1 = atomic_fetch_or((u32 *)(r10 -8), r1)",
      (b) => b.atomic(4, "OR", 10, -8, 1, true),
    ],
    [
      "r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)",
      (b) => b.atomic(8, "CMPXCHG", 1, 0, 2),
    ],
    [
      "r3 = atomic_xchg((u32 *)(r1 +4), r3)",
      (b) => b.atomic(4, "XCHG", 1, 4, 3),
    ],
    [
      "r1 = load_acquire((u64 *)(r2 +0))",
      (b) => b.raw(insn(0xdb, 1, 2, 0, 0x100)),
    ],
    [
      "store_release((u16 *)(r1 -2), r2)",
      (b) => b.raw(insn(0xcb, 1, 2, -2, 0x110)),
    ],
    ["r0 = *(u8 *)skb[12]", (b) => b.raw(insn(0x30, 0, 0, 0, 12))],
    ["r0 = *(u32 *)skb[r6 + 4]", (b) => b.raw(insn(0x40, 0, 6, 0, 4))],
    ["call kernel-function#77", (b) => b.raw(insn(0x85, 0, 2, 0, 77))],
    ["may_goto pc+2", (b) => b.raw(insn(0xe5, 0, 0, 2, 0))],
  ];
  for (const [want, build] of cases) assert.equal(one(build), want);
});

Deno.test("invalid slots print their opcode and never throw", () => {
  const cases: [Insn, string][] = [
    [insn(0xff, 0, 0, 0, 0), "invalid insn code 0xff"],
    [insn(0x8c, 1, 2, 0, 0), "invalid insn code 0x8c"], // neg with X
    [insn(0xd4, 1, 0, 0, 8), "invalid insn code 0xd4"], // le8
    [insn(0xdf, 1, 0, 0, 16), "invalid insn code 0xdf"], // ALU64 END X
    [insn(0xbc, 1, 2, 32, 0), "invalid insn code 0xbc"], // movsx32 into w
    [insn(0xb7, 1, 3, 0, 1), "invalid insn code 0xb7"], // src set on K
    [insn(0x3f, 1, 2, 2, 0), "invalid insn code 0x3f"], // div off 2
    [insn(0xdb, 1, 2, 0, 0x02), "invalid insn code 0xdb"], // atomic imm 2
    [insn(0xd3, 1, 2, 0, 0x00), "invalid insn code 0xd3"], // atomic u8 add
    [insn(0x99, 0, 0, 0, 0), "invalid insn code 0x99"], // LDX|MEMSX|DW
    [insn(0x85, 0, 3, 0, 1), "invalid insn code 0x85"], // call src 3
    [insn(0x95, 0, 0, 1, 0), "invalid insn code 0x95"], // exit with off
    [insn(0xbf, 11, 1, 0, 0), "invalid insn code 0xbf"], // r11
    [insn(0x38, 0, 0, 0, 0), "invalid insn code 0x38"], // LD ABS DW
  ];
  for (const [i, want] of cases) {
    assert.equal(formatInsn([i], 0), want);
    assert.equal(formatMnemonic([i], 0), want);
  }
  // An ld_imm64 whose second slot is not blank.
  assert.equal(
    formatInsn([insn(0x18, 1, 0, 0, 1), insn(0, 1, 0, 0, 0)], 0),
    "invalid insn code 0x18",
  );
});

Deno.test("disassemble numbers lines by slot like bpftool", () => {
  const b = new InsnBuilder();
  b.ldMap(1, 0).movImm(0, 0);
  for (let i = 0; i < 8; i++) b.movImm(0, i);
  b.exit();
  const lines = disassemble(b.build().insns);
  assert.equal(lines[0], "   0: r1 = map[0] ll");
  assert.equal(lines[1], "   2: r0 = 0");
  assert.equal(lines.at(-1), "  11: exit");
  const big = Array.from({ length: 10001 }, () => insn(0x95, 0, 0, 0, 0));
  assert.equal(disassemble(big).at(-1), "10000: exit");
});

/** Count-per-key: bpftrace's `@[pid] = count()`. */
function countPerKey(): Insn[] {
  const b = new InsnBuilder();
  b.call(Helper.get_current_pid_tgid);
  b.alu64Imm("RSH", 0, 32);
  b.stx(4, 10, -4, 0);
  b.ldMap(1, 0);
  b.movReg(2, 10).alu64Imm("ADD", 2, -4);
  b.call(Helper.map_lookup_elem);
  b.jmpImm("JEQ", 0, 0, "init");
  b.movImm(1, 1);
  b.atomic(8, "ADD", 0, 0, 1);
  b.ja("out");
  b.label("init");
  b.st(8, 10, -16, 1);
  b.ldMap(1, 0);
  b.movReg(2, 10).alu64Imm("ADD", 2, -4);
  b.movReg(3, 10).alu64Imm("ADD", 3, -16);
  b.movImm(4, 1);
  b.call(Helper.map_update_elem);
  b.label("out");
  b.movImm(0, 0);
  b.exit();
  return b.build().insns;
}

/** Sum 1..10 with a 32-bit back edge. */
function loop(): Insn[] {
  const b = new InsnBuilder();
  b.movImm(0, 0).movImm(1, 1);
  b.label("top");
  b.alu64Reg("ADD", 0, 1);
  b.alu32Imm("ADD", 1, 1);
  b.jmp32Imm("JLE", 1, 10, "top");
  b.exit();
  return b.build().insns;
}

/** main calls `double(r1)` and returns its result. */
function bpfToBpf(): Insn[] {
  const b = new InsnBuilder();
  b.ldxsx(4, 1, 1, 0);
  b.callLocal("double");
  b.exit();
  b.label("double");
  b.movReg(0, 1).alu64Imm("LSH", 0, 1);
  b.exit();
  return b.build().insns;
}

const PROGRAMS: [string, () => Insn[]][] = [
  ["count per key", countPerKey],
  ["loop", loop],
  ["bpf-to-bpf call", bpfToBpf],
];

for (const [name, make] of PROGRAMS) {
  Deno.test(`snapshot: ${name}`, async (t) => {
    const insns = make();
    const kernel = disassemble(insns);
    const mnemonic = disassembleMnemonic(insns);
    await t.assertSnapshot(kernel);
    await t.assertSnapshot(mnemonic);
    assert.deepEqual(assemble(kernel.join("\n")), insns);
    assert.deepEqual(assemble(mnemonic.join("\n")), insns);
  });
}
