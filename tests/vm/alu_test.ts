import assert from "node:assert/strict";
import { insn } from "../../runtime/bpf/insn.ts";
import { createEnvironment } from "../../runtime/vm/environment.ts";
import { VmProgram } from "../../runtime/vm/interpreter.ts";
import { ctx2, operands, prog, rng, run1, runRaw, TWO64 } from "./util.ts";
import { type Op, opcode, OPS, ref32, ref64 } from "./reference.ts";

const U64 = (v: bigint) => BigInt.asUintN(64, v);

/** r1 = ctx[0..8], r2 = ctx[8..16]; r1 op= r2; r0 = r1. */
function regProgram(op: Op, is64: boolean): VmProgram {
  const { code, off } = opcode(op, is64, op !== "NEG");
  return prog((b) => {
    b.ldx(8, 2, 1, 8).ldx(8, 1, 1, 0);
    b.raw(insn(code, 1, op === "NEG" ? 0 : 2, off, 0));
    b.movReg(0, 1).exit();
  });
}

for (const is64 of [true, false]) {
  Deno.test(`ALU${is64 ? "64" : "32"} register forms match the kernel's semantics`, () => {
    const next = rng(is64 ? 64 : 32);
    const vals = operands(next, 25);
    const env = createEnvironment();
    for (const op of OPS) {
      const p = regProgram(op, is64);
      for (const a of vals) {
        for (const b of vals) {
          const want: bigint = is64
            ? ref64(op, a, op === "NEG" ? 0n : b)
            : ref32(op, a, b);
          const got = p.run(ctx2(a, b), env);
          assert.equal(got, want, `${op} ${a.toString(16)}, ${b.toString(16)}`);
        }
      }
    }
  });

  Deno.test(`ALU${is64 ? "64" : "32"} immediate forms match the kernel's semantics`, () => {
    const next = rng(is64 ? 640 : 320);
    const vals = operands(next, 6);
    const imms = [
      0,
      1,
      -1,
      2,
      31,
      32,
      63,
      64,
      -2147483648,
      2147483647,
      0x1234,
      -7,
    ];
    for (let i = 0; i < 8; i++) imms.push(next() | 0);
    const env = createEnvironment();
    for (const op of OPS) {
      if (op === "NEG") continue;
      const { code, off } = opcode(op, is64, false);
      for (const imm of imms) {
        const p = prog((b) => {
          b.ldx(8, 1, 1, 0).raw(insn(code, 1, 0, off, imm)).movReg(0, 1).exit();
        });
        const bv = U64(BigInt(imm));
        for (const a of vals) {
          const want: bigint = is64 ? ref64(op, a, bv) : ref32(op, a, bv);
          assert.equal(
            p.run(ctx2(a, 0n), env),
            want,
            `${op} ${a.toString(16)}, ${imm}`,
          );
        }
      }
    }
  });
}

Deno.test("ALU edge cases: zero-extension, division and modulo by zero, INT_MIN / -1", () => {
  const ld =
    (v: bigint) => (b: import("../../runtime/bpf/builder.ts").InsnBuilder) =>
      b.ldImm64(0, v);
  // 32-bit ops zero-extend.
  assert.equal(
    run1((b) => {
      ld(-1n)(b);
      b.alu32Imm("ADD", 0, 0).exit();
    }),
    0xffffffffn,
  );
  assert.equal(
    run1((b) => {
      ld(-1n)(b);
      b.alu32Imm("MOV", 0, -1).exit();
    }),
    0xffffffffn,
  );
  // Division by zero gives 0, both widths, register and immediate.
  assert.equal(
    run1((b) => {
      ld(99n)(b);
      b.movImm(1, 0).alu64Reg("DIV", 0, 1).exit();
    }),
    0n,
  );
  assert.equal(
    run1((b) => {
      ld(99n)(b);
      b.alu32Imm("DIV", 0, 0).exit();
    }),
    0n,
  );
  assert.equal(
    run1((b) => {
      ld(99n)(b);
      b.sdivmod("DIV", 64, 0, { imm: 0 }).exit();
    }),
    0n,
  );
  // Modulo by zero leaves the destination (32-bit: zero-extended).
  assert.equal(
    run1((b) => {
      ld(-5n)(b);
      b.movImm(1, 0).alu64Reg("MOD", 0, 1).exit();
    }),
    TWO64 - 5n,
  );
  assert.equal(
    run1((b) => {
      ld(-5n)(b);
      b.movImm(1, 0).alu32Reg("MOD", 0, 1).exit();
    }),
    0xfffffffbn,
  );
  assert.equal(
    run1((b) => {
      ld(-5n)(b);
      b.sdivmod("MOD", 32, 0, { imm: 0 }).exit();
    }),
    0xfffffffbn,
  );
  // INT_MIN / -1 = INT_MIN, INT_MIN smod -1 = 0.
  const min64 = 0x8000000000000000n;
  assert.equal(
    run1((b) => {
      ld(min64)(b);
      b.sdivmod("DIV", 64, 0, { imm: -1 }).exit();
    }),
    min64,
  );
  assert.equal(
    run1((b) => {
      ld(min64)(b);
      b.sdivmod("MOD", 64, 0, { imm: -1 }).exit();
    }),
    0n,
  );
  assert.equal(
    run1((b) => {
      ld(0x80000000n)(b);
      b.sdivmod("DIV", 32, 0, { imm: -1 }).exit();
    }),
    0x80000000n,
  );
  assert.equal(
    run1((b) => {
      ld(0x80000000n)(b);
      b.sdivmod("MOD", 32, 0, { imm: -1 }).exit();
    }),
    0n,
  );
  // Signed division truncates toward zero; smod takes the dividend's sign.
  assert.equal(
    run1((b) => {
      ld(-7n)(b);
      b.sdivmod("DIV", 64, 0, { imm: 2 }).exit();
    }),
    TWO64 - 3n,
  );
  assert.equal(
    run1((b) => {
      ld(-7n)(b);
      b.sdivmod("MOD", 64, 0, { imm: 2 }).exit();
    }),
    TWO64 - 1n,
  );
  // Shift counts are masked.
  assert.equal(
    run1((b) => {
      b.movImm(0, 1).movImm(1, 65).alu64Reg("LSH", 0, 1).exit();
    }),
    2n,
  );
  assert.equal(
    run1((b) => {
      b.movImm(0, 1).movImm(1, 33).alu32Reg("LSH", 0, 1).exit();
    }),
    2n,
  );
  assert.equal(
    run1((b) => {
      b.movImm(0, -16).alu64Imm("ARSH", 0, 2).exit();
    }),
    TWO64 - 4n,
  );
  assert.equal(
    run1((b) => {
      b.movImm(0, -16).alu32Imm("ARSH", 0, 2).exit();
    }),
    0xfffffffcn,
  );
});

Deno.test("movsx sign-extends 8, 16 and 32 bits in both classes", () => {
  const cases: [8 | 16 | 32, boolean, bigint, bigint][] = [
    [8, false, 0x1ffn, TWO64 - 1n],
    [8, false, 0x17fn, 0x7fn],
    [16, false, 0x18000n, TWO64 - 0x8000n],
    [32, false, 0x180000000n, TWO64 - 0x80000000n],
    [32, false, 0x7fffffffn, 0x7fffffffn],
    [8, true, 0x180n, 0xffffff80n],
    [16, true, 0xffff8001n, 0xffff8001n],
  ];
  for (const [bits, alu32, v, want] of cases) {
    assert.equal(
      run1((b) => {
        b.ldImm64(1, v).movsx(bits, 0, 1, alu32).exit();
      }),
      want,
      `movsx${bits} ${alu32 ? "32" : "64"} ${v.toString(16)}`,
    );
  }
  // 32-bit movsx of 32 bits does not exist.
  assert.throws(
    () => runRaw([insn(0xbc, 0, 1, 32, 0), insn(0x95, 0, 0, 0, 0)]),
    {
      name: "VmError",
    },
  );
});

Deno.test("byte swaps: le/be in the ALU class, bswap in ALU64", () => {
  const v = 0x0102030405060708n;
  const swap = (kind: "le" | "be" | "bswap", bits: 16 | 32 | 64) =>
    run1((b) => {
      b.ldImm64(0, v).endian(kind, 0, bits).exit();
    });
  assert.equal(swap("le", 16), 0x0708n);
  assert.equal(swap("le", 32), 0x05060708n);
  assert.equal(swap("le", 64), v);
  assert.equal(swap("be", 16), 0x0807n);
  assert.equal(swap("be", 32), 0x08070605n);
  assert.equal(swap("be", 64), 0x0807060504030201n);
  assert.equal(swap("bswap", 16), 0x0807n);
  assert.equal(swap("bswap", 32), 0x08070605n);
  assert.equal(swap("bswap", 64), 0x0807060504030201n);
  assert.throws(
    () => runRaw([insn(0xdc, 0, 0, 0, 8), insn(0x95, 0, 0, 0, 0)]),
    /Invalid byte swap width 8/,
  );
});

Deno.test("ld_imm64 loads full 64-bit constants", () => {
  for (
    const v of [0n, 1n, TWO64 - 1n, 0x8000000000000000n, 0xdeadbeefcafef00dn]
  ) {
    assert.equal(
      run1((b) => {
        b.ldImm64(0, v).exit();
      }),
      v,
    );
  }
});

Deno.test("a long random ALU program matches a reference model, before and after V8 optimizes it", () => {
  const next = rng(2024);
  const regs = Array.from(
    { length: 10 },
    () => (BigInt(next()) << 32n) | BigInt(next()),
  );
  const model = [...regs];
  const slots: ReturnType<typeof insn>[] = [];
  // r1 (ctx) is kept in r9 until the end; model registers r0-r8 only.
  slots.push(insn(0xbf, 9, 1, 0, 0));
  for (let r = 0; r <= 8; r++) {
    const v = regs[r];
    slots.push(insn(0x18, r, 0, 0, Number(v & 0xffffffffn) | 0));
    slots.push(insn(0, 0, 0, 0, Number(v >> 32n) | 0));
  }
  for (let i = 0; i < 2000; i++) {
    const op = OPS[next() % OPS.length];
    const is64 = next() % 3 !== 0;
    const x = op !== "NEG" && next() % 2 === 0;
    const d = next() % 9, s = next() % 9;
    const imm = next() % 4 === 0 ? next() | 0 : (next() % 70) - 3;
    const { code, off } = opcode(op, is64, x);
    slots.push(insn(code, d, x ? s : 0, off, x ? 0 : imm));
    const b = x ? model[s] : U64(BigInt(imm));
    model[d] = is64
      ? ref64(op, model[d], op === "NEG" ? 0n : b)
      : ref32(op, model[d], b);
  }
  for (let r = 0; r <= 8; r++) slots.push(insn(0x7b, 9, r, r * 8, 0));
  slots.push(insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0));
  const p = new VmProgram(slots, []);
  const env = createEnvironment();
  const out = new Uint8Array(72);
  const view = new DataView(out.buffer);
  for (let round = 0; round < 4000; round++) {
    out.fill(0);
    p.run(out, env, { writableCtx: true });
    if (round % 1000 === 0 || round === 3999) {
      for (let r = 0; r <= 8; r++) {
        assert.equal(
          view.getBigUint64(r * 8, true),
          model[r],
          `r${r} in round ${round}`,
        );
      }
    }
  }
});
