import assert from "node:assert/strict";
import { insn } from "../../runtime/bpf/insn.ts";
import { Helper } from "../../runtime/bpf/opcodes.ts";
import { createEnvironment } from "../../runtime/vm/environment.ts";
import { prog, run1, runRaw } from "./util.ts";

Deno.test("bpf-to-bpf calls pass r1-r5, return r0 and restore r6-r9", () => {
  assert.equal(
    run1((b) => {
      b.movImm(6, 100).movImm(7, 200).movImm(8, 300).movImm(9, 400);
      b.movImm(1, 1).movImm(2, 2).movImm(3, 3).movImm(4, 4).movImm(5, 5);
      b.callLocal("f");
      // r0 = f(...) + r6 + r7 + r8 + r9
      b.alu64Reg("ADD", 0, 6).alu64Reg("ADD", 0, 7).alu64Reg("ADD", 0, 8)
        .alu64Reg("ADD", 0, 9).exit();
      b.label("f");
      // clobber callee-saved registers; return r1*10000 + ... + r5
      b.movImm(6, -1).movImm(7, -1).movImm(8, -1).movImm(9, -1);
      b.movReg(0, 1).alu64Imm("MUL", 0, 10).alu64Reg("ADD", 0, 2)
        .alu64Imm("MUL", 0, 10).alu64Reg("ADD", 0, 3).alu64Imm("MUL", 0, 10)
        .alu64Reg("ADD", 0, 4).alu64Imm("MUL", 0, 10).alu64Reg("ADD", 0, 5);
      b.exit();
    }),
    12345n + 1000n,
  );
});

Deno.test("each frame has its own 512-byte stack", () => {
  assert.equal(
    run1((b) => {
      b.st(8, 10, -8, 11);
      b.movReg(1, 10).alu64Imm("ADD", 1, -8); // pointer into the caller's frame
      b.callLocal("f");
      b.ldx(8, 1, 10, -8); // 11 + 1 written by the callee through r1
      b.alu64Reg("ADD", 0, 1).exit();
      b.label("f");
      b.ldx(8, 0, 10, -8); // the callee's own slot is zero
      b.ldx(8, 2, 1, 0).alu64Imm("ADD", 2, 1).stx(8, 1, 0, 2);
      b.exit();
    }),
    12n,
  );
  // A callee's frame does not reach into its caller's.
  assert.throws(
    () =>
      run1((b) => {
        b.callLocal("f").exit();
        b.label("f").ldx(8, 0, 10, 0).exit();
      }),
    {
      name: "VmError",
      message: /Out-of-bounds read of 8 bytes at offset 512 of stack/,
    },
  );
});

Deno.test("nested calls, a call inside a loop, and the 8-frame limit", () => {
  // depth 3: f(x) = g(x) * 2, g(x) = x + 1; loop 10 times summing f(i)
  assert.equal(
    run1((b) => {
      b.movImm(6, 0).movImm(7, 0).label("top");
      b.movReg(1, 6).callLocal("f").alu64Reg("ADD", 7, 0);
      b.alu64Imm("ADD", 6, 1).jmpImm("JLT", 6, 10, "top");
      b.movReg(0, 7).exit();
      b.label("f").callLocal("g").alu64Imm("MUL", 0, 2).exit();
      b.label("g").movReg(0, 1).alu64Imm("ADD", 0, 1).exit();
    }),
    110n,
  );
  // Unbounded recursion stops at 8 frames.
  assert.throws(
    () =>
      run1((b) => {
        b.callLocal("f").exit();
        b.label("f").callLocal("f").exit();
      }),
    { name: "VmError", message: /Call stack deeper than 8 frames/ },
  );
});

Deno.test("a subprogram that returns a large program across units keeps its caller's registers", () => {
  const p = prog((b) => {
    b.movImm(6, 7);
    b.callLocal("f");
    b.alu64Reg("ADD", 0, 6).exit();
    b.label("f").movImm(0, 0).movImm(6, 0);
    for (let i = 0; i < 200; i++) b.alu64Imm("ADD", 0, 1);
    b.exit();
  });
  assert.equal(p.run(new Uint8Array(0), createEnvironment()), 207n);
});

Deno.test("calls to invalid targets and kfuncs fault", () => {
  assert.throws(
    () => runRaw([insn(0x85, 0, 1, 0, 10), insn(0x95, 0, 0, 0, 0)]),
    {
      name: "VmError",
      message: /Call to invalid target 11/,
    },
  );
  assert.throws(
    () => runRaw([insn(0x85, 0, 2, 0, 1), insn(0x95, 0, 0, 0, 0)]),
    {
      message: /Kernel function calls are not supported/,
    },
  );
  assert.throws(
    () => runRaw([insn(0x85, 0, 0, 0, 9999), insn(0x95, 0, 0, 0, 0)]),
    {
      message: /Unknown helper 9999/,
    },
  );
  // Jumping from the main program into a subprogram's body is refused.
  assert.throws(
    () =>
      run1((b) => {
        b.ja("f").callLocal("f").exit();
        b.label("f").movImm(0, 1).exit();
      }),
    { message: /Jump out of function/ },
  );
});

Deno.test("bpf_loop calls its callback with the index and stops when it returns 1", () => {
  assert.equal(
    run1((b) => {
      b.st(8, 10, -8, 0);
      b.movImm(1, 10);
      b.ldFunc(2, "cb");
      b.movReg(3, 10).alu64Imm("ADD", 3, -8);
      b.movImm(4, 0);
      b.movImm(6, 7); // kept across the helper and its callbacks
      b.call(Helper.loop);
      // r0 = calls made * 1000 + sum of the indexes + r6 * 100000
      b.ldx(8, 1, 10, -8).alu64Imm("MUL", 0, 1000).alu64Reg("ADD", 0, 1);
      b.movReg(1, 6).alu64Imm("MUL", 1, 100000).alu64Reg("ADD", 0, 1);
      b.exit();
      b.label("cb");
      b.movImm(6, -1);
      b.ldx(8, 3, 2, 0).alu64Reg("ADD", 3, 1).stx(8, 2, 0, 3);
      b.movImm(0, 0);
      b.jmpImm("JNE", 1, 4, "go");
      b.movImm(0, 1);
      b.label("go");
      b.exit();
    }),
    700000n + 5000n + 10n,
  );
});

Deno.test("bpf_loop refuses more than 2^23 iterations with -E2BIG", () => {
  assert.equal(
    run1((b) => {
      b.ldImm64(1, (1 << 23) + 1);
      b.ldFunc(2, "cb");
      b.movImm(3, 0).movImm(4, 0);
      b.call(Helper.loop);
      b.exit();
      b.label("cb").movImm(0, 0).exit();
    }),
    BigInt.asUintN(64, -7n),
  );
});
