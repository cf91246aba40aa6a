import assert from "node:assert/strict";
import { assemble } from "../../runtime/bpf/assembler.ts";
import {
  disassemble,
  disassembleMnemonic,
  formatInsn,
  formatMnemonic,
} from "../../runtime/bpf/disasm.ts";
import { decode, encode, type Insn, insn } from "../../runtime/bpf/insn.ts";
import { decodeForm } from "../../runtime/bpf/insn_form.ts";
import { allForms } from "./isa_forms.ts";

const FORMS = allForms();
const ALL: Insn[] = FORMS.flatMap((f) => f.insns);

Deno.test("the form set covers all 128 valid opcodes", () => {
  const codes = new Set(FORMS.map((f) => f.insns[0].code));
  assert.equal(codes.size, 128);
  // Any other opcode is invalid whatever its fields.
  const fields = [0, 1, 8, 16, 32, 64, -1];
  for (let code = 0; code < 256; code++) {
    if (codes.has(code)) continue;
    for (const v of fields) {
      for (const reg of [0, 1]) {
        const slots = [insn(code, reg, reg, v, v), insn(0, 0, 0, 0, 0)];
        assert.equal(
          decodeForm(slots, 0),
          undefined,
          `code 0x${code.toString(16)}`,
        );
        assert.match(formatInsn(slots, 0), /^invalid insn code 0x[0-9a-f]{2}$/);
      }
    }
  }
});

Deno.test("every form is valid and encode/decode is the identity", () => {
  for (const { name, insns } of FORMS) {
    const form = decodeForm(insns, 0);
    assert.ok(form, `${name} decodes`);
    assert.deepEqual(decode(encode(insns)), insns, name);
  }
  assert.deepEqual(decode(encode(ALL)), ALL);
});

Deno.test("kernel syntax: assemble(formatInsn(x)) is x for every form", () => {
  for (const { name, insns } of FORMS) {
    const text = formatInsn(insns, 0);
    assert.doesNotMatch(text, /invalid/, name);
    assert.deepEqual(assemble(text), insns, `${name}: ${text}`);
  }
});

Deno.test("kernel syntax: a whole listing round-trips", () => {
  const lines = disassemble(ALL);
  assert.equal(lines.length, FORMS.length);
  assert.deepEqual(assemble(lines.join("\n")), ALL);
});

Deno.test("mnemonic syntax: assemble(formatMnemonic(x)) is x for every form", () => {
  for (const { name, insns } of FORMS) {
    const text = formatMnemonic(insns, 0);
    assert.deepEqual(assemble(text), insns, `${name}: ${text}`);
  }
  assert.deepEqual(assemble(disassembleMnemonic(ALL).join("\n")), ALL);
});

Deno.test("mixed syntaxes line by line round-trip", () => {
  const kernel = disassemble(ALL);
  const mnemonic = disassembleMnemonic(ALL);
  const mixed = kernel.map((line, i) => (i % 2 ? mnemonic[i] : line));
  assert.deepEqual(assemble(mixed.join("\n")), ALL);
});

/** mulberry32: a small seeded generator so the fuzz set is fixed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("random slots either print invalid or round-trip exactly", () => {
  const next = rng(1234);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)];
  const codes = [...new Set(ALL.map((i) => i.code))];
  const vals = [
    0,
    1,
    8,
    16,
    32,
    64,
    0x100,
    0x110,
    0xe1,
    0xf1,
    -1,
    12345,
    -0x80000000,
  ];
  let valid = 0;
  let invalid = 0;
  for (let n = 0; n < 20000; n++) {
    const code = next() < 0.8 ? pick(codes) : Math.floor(next() * 256);
    const first = insn(
      code,
      Math.floor(next() * (next() < 0.9 ? 11 : 16)),
      next() < 0.6 ? 0 : Math.floor(next() * 16),
      next() < 0.6 ? 0 : pick(vals),
      next() < 0.5 ? 0 : pick(vals),
    );
    const second = next() < 0.7
      ? insn(0, 0, 0, 0, pick(vals))
      : insn(pick(codes), 1, 2, 3, 4);
    const slots = [first, second];
    const text = formatInsn(slots, 0);
    const mnem = formatMnemonic(slots, 0);
    if (text.startsWith("invalid insn code")) {
      assert.equal(mnem, text);
      invalid++;
      continue;
    }
    valid++;
    const want = decodeForm(slots, 0)?.kind === "ldImm64" ? slots : [first];
    assert.deepEqual(assemble(text), want, text);
    assert.deepEqual(assemble(mnem), want, mnem);
  }
  assert.ok(
    valid > 5000 && invalid > 1000,
    `valid ${valid}, invalid ${invalid}`,
  );
});

Deno.test("formatting never throws on garbage", () => {
  const next = rng(99);
  const slots: Insn[] = [];
  for (let n = 0; n < 5000; n++) {
    slots.push({
      code: Math.floor(next() * 256),
      dst: Math.floor(next() * 16),
      src: Math.floor(next() * 16),
      off: Math.floor(next() * 65536) - 32768,
      imm: Math.floor(next() * 2 ** 32) - 2 ** 31,
    });
  }
  const lines = disassemble(slots);
  const lines2 = disassembleMnemonic(slots);
  assert.equal(lines.length, lines2.length);
  assert.ok(lines.length > 4000);
  // A trailing ld_imm64 with no second slot is invalid, not a crash.
  assert.equal(
    formatInsn([insn(0x18, 1, 0, 0, 1)], 0),
    "invalid insn code 0x18",
  );
  assert.equal(formatInsn([], 0), "invalid insn code 0x00");
});
