import assert from "node:assert/strict";
import type { AluName } from "../../runtime/bpf/builder.ts";
import { insn } from "../../runtime/bpf/insn.ts";
import { AluOp, Class, Source } from "../../runtime/bpf/opcodes.ts";
import { createEnvironment } from "../../runtime/vm/environment.ts";
import { VmProgram } from "../../runtime/vm/interpreter.ts";
import { ctx2, operands, prog, rng, run1, runRaw, TWO64 } from "./util.ts";

const U64 = (v: bigint) => BigInt.asUintN(64, v);
const S64 = (v: bigint) => BigInt.asIntN(64, v);
const U32 = (v: bigint) => BigInt.asUintN(32, v);
const S32 = (v: bigint) => BigInt.asIntN(32, v);

type Op = AluName | "SDIV" | "SMOD";
const OPS: Op[] = [
  "ADD",
  "SUB",
  "MUL",
  "DIV",
  "SDIV",
  "OR",
  "AND",
  "LSH",
  "RSH",
  "NEG",
  "MOD",
  "SMOD",
  "XOR",
  "MOV",
  "ARSH",
];

/** The kernel's semantics, on bigints. */
function ref64(op: Op, a: bigint, b: bigint): bigint {
  switch (op) {
    case "ADD":
      return U64(a + b);
    case "SUB":
      return U64(a - b);
    case "MUL":
      return U64(a * b);
    case "DIV":
      return b === 0n ? 0n : a / b;
    case "SDIV":
      if (b === 0n) return 0n;
      return U64(S64(a) / S64(b));
    case "MOD":
      return b === 0n ? a : a % b;
    case "SMOD":
      if (b === 0n) return a;
      return U64(S64(a) % S64(b));
    case "OR":
      return a | b;
    case "AND":
      return a & b;
    case "XOR":
      return a ^ b;
    case "LSH":
      return U64(a << (b & 63n));
    case "RSH":
      return a >> (b & 63n);
    case "ARSH":
      return U64(S64(a) >> (b & 63n));
    case "NEG":
      return U64(-a);
    case "MOV":
      return b;
  }
}

function ref32(op: Op, a64: bigint, b64: bigint): bigint {
  const a = U32(a64), b = U32(b64);
  switch (op) {
    case "ADD":
      return U32(a + b);
    case "SUB":
      return U32(a - b);
    case "MUL":
      return U32(a * b);
    case "DIV":
      return b === 0n ? 0n : a / b;
    case "SDIV":
      return b === 0n ? 0n : U32(S32(a) / S32(b));
    case "MOD":
      return b === 0n ? a : a % b;
    case "SMOD":
      return b === 0n ? a : U32(S32(a) % S32(b));
    case "OR":
      return a | b;
    case "AND":
      return a & b;
    case "XOR":
      return a ^ b;
    case "LSH":
      return U32(a << (b & 31n));
    case "RSH":
      return a >> (b & 31n);
    case "ARSH":
      return U32(S32(a) >> (b & 31n));
    case "NEG":
      return U32(-a);
    case "MOV":
      return b;
  }
}

function opcode(
  op: Op,
  is64: boolean,
  x: boolean,
): { code: number; off: number } {
  const base = op === "SDIV" ? "DIV" : op === "SMOD" ? "MOD" : op;
  return {
    code: (is64 ? Class.ALU64 : Class.ALU) | AluOp[base] |
      (x ? Source.X : Source.K),
    off: op === "SDIV" || op === "SMOD" ? 1 : 0,
  };
}

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
