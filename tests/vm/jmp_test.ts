import assert from "node:assert/strict";
import type { CondName } from "../../runtime/bpf/builder.ts";
import { insn } from "../../runtime/bpf/insn.ts";
import { createEnvironment } from "../../runtime/vm/environment.ts";
import { ctx2, operands, prog, rng, run1, runRaw } from "./util.ts";

const CONDS: CondName[] = [
  "JEQ",
  "JGT",
  "JGE",
  "JSET",
  "JNE",
  "JSGT",
  "JSGE",
  "JLT",
  "JLE",
  "JSLT",
  "JSLE",
];

function refCond(op: CondName, a: bigint, b: bigint, bits: 32 | 64): boolean {
  const ua = BigInt.asUintN(bits, a), ub = BigInt.asUintN(bits, b);
  const sa = BigInt.asIntN(bits, a), sb = BigInt.asIntN(bits, b);
  switch (op) {
    case "JEQ":
      return ua === ub;
    case "JNE":
      return ua !== ub;
    case "JGT":
      return ua > ub;
    case "JGE":
      return ua >= ub;
    case "JLT":
      return ua < ub;
    case "JLE":
      return ua <= ub;
    case "JSGT":
      return sa > sb;
    case "JSGE":
      return sa >= sb;
    case "JSLT":
      return sa < sb;
    case "JSLE":
      return sa <= sb;
    case "JSET":
      return (ua & ub) !== 0n;
  }
}

for (const bits of [64, 32] as const) {
  Deno.test(`JMP${bits === 32 ? "32" : ""} conditions match the kernel's semantics`, () => {
    const next = rng(bits);
    const vals = operands(next, 12);
    // Near-equal pairs exercise the low-half comparisons.
    vals.push(0x100000001n, 0x1fffffffen, 0xffffffff00000000n);
    const env = createEnvironment();
    for (const op of CONDS) {
      const reg = prog((b) => {
        b.ldx(8, 2, 1, 8).ldx(8, 1, 1, 0).movImm(0, 1);
        if (bits === 64) b.jmpReg(op, 1, 2, "t");
        else b.jmp32Reg(op, 1, 2, "t");
        b.movImm(0, 0).label("t").exit();
      });
      for (const a of vals) {
        for (const c of vals) {
          const want = refCond(op, a, c, bits) ? 1n : 0n;
          assert.equal(reg.run(ctx2(a, c), env), want, `${op} ${a} ${c}`);
        }
      }
      for (
        const imm of [0, 1, -1, 0x7fffffff, -0x80000000, 5, -5, next() | 0]
      ) {
        const k = prog((b) => {
          b.ldx(8, 1, 1, 0).movImm(0, 1);
          if (bits === 64) b.jmpImm(op, 1, imm, "t");
          else b.jmp32Imm(op, 1, imm, "t");
          b.movImm(0, 0).label("t").exit();
        });
        for (const a of vals) {
          const want = refCond(op, a, BigInt(imm), bits) ? 1n : 0n;
          assert.equal(k.run(ctx2(a, 0n), env), want, `${op} ${a} #${imm}`);
        }
      }
    }
  });
}

Deno.test("ja, gotol and backward loops", () => {
  // sum 1..100 with a backward jump
  assert.equal(
    run1((b) => {
      b.movImm(0, 0).movImm(1, 100).label("top");
      b.alu64Reg("ADD", 0, 1).alu64Imm("SUB", 1, 1);
      b.jmpImm("JNE", 1, 0, "top").exit();
    }),
    5050n,
  );
  assert.equal(
    run1((b) => {
      b.movImm(0, 1).ja("skip").movImm(0, 2).label("skip").exit();
    }),
    1n,
  );
  assert.equal(
    run1((b) => {
      b.movImm(0, 1).gotol("skip").movImm(0, 2).movImm(0, 3).label("skip")
        .exit();
    }),
    1n,
  );
});

Deno.test("a long program spanning many translation units keeps registers", () => {
  // 500 additions, a loop across unit boundaries, then a result check.
  const p = prog((b) => {
    b.movImm(0, 0).movImm(6, 3).label("top");
    for (let i = 0; i < 500; i++) b.alu64Imm("ADD", 0, 1);
    b.alu64Imm("SUB", 6, 1).jmpImm("JNE", 6, 0, "top").exit();
  });
  assert.equal(p.run(new Uint8Array(0), createEnvironment()), 1500n);
  assert.equal(p.executed, 2 + 3 * 502 + 1);
});

Deno.test("jumps out of the program, into ld_imm64's second slot, and falling off the end fault", () => {
  assert.throws(
    () => runRaw([insn(0x05, 0, 0, 5, 0), insn(0x95, 0, 0, 0, 0)]),
    {
      name: "VmError",
      message: /Jump out of function to 6 at pc 0/,
    },
  );
  assert.throws(
    () =>
      runRaw([
        insn(0x05, 0, 0, 1, 0), // ja +1 -> slot 2 (second half of ld_imm64)
        insn(0x18, 0, 0, 0, 1),
        insn(0x00, 0, 0, 0, 0),
        insn(0x95, 0, 0, 0, 0),
      ]),
    { name: "VmError", message: /Invalid instruction at pc 2/ },
  );
  assert.throws(() => runRaw([insn(0xb7, 0, 0, 0, 1)]), {
    name: "VmError",
    message: /falls off the end/,
  });
  assert.throws(
    () => runRaw([insn(0xe5, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)]),
    {
      name: "VmError",
      message: /Invalid instruction/,
    },
  );
});

Deno.test("the instruction budget stops endless loops", () => {
  const loop = prog((b) => {
    b.movImm(0, 0).label("top").alu64Imm("ADD", 0, 1).ja("top");
  });
  const env = createEnvironment();
  assert.throws(() => loop.run(new Uint8Array(0), env), {
    name: "VmError",
    message: /Instruction budget of 1000000 exceeded/,
  });
  assert.throws(() => loop.run(new Uint8Array(0), env, { budget: 100 }), {
    message: /Instruction budget of 100 exceeded/,
  });
  // A program of exactly the budget runs.
  const straight = prog(
    (b) => {
      for (let i = 0; i < 99; i++) b.movImm(0, i);
      b.exit();
    },
    [],
    100,
  );
  assert.equal(straight.run(new Uint8Array(0), env), 98n);
  assert.equal(straight.executed, 100);
  assert.throws(() => straight.run(new Uint8Array(0), env, { budget: 99 }), {
    message: /budget of 99/,
  });
});
