/**
 * The expansion of sign-extending loads and moves for kernels before 6.6
 * (`runtime/bpf/sign_extend.ts`), run for real: the kernel engine's
 * `signExtension: false` expands them on this kernel too; every program
 * must print and store what it does with them, and load exactly the
 * expansion's extra slots.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { prepareKernelTypes } from "../../runtime/compiler/kernel_types.ts";
import { expandSignExtension } from "../../runtime/bpf/sign_extend.ts";
import { KernelEngine } from "../../runtime/engines/kernel_engine.ts";
import type { Insn } from "../../runtime/bpf/insn.ts";
import { kernelSkipReason, runProgram } from "../parity/run.ts";
import { skip } from "../support/skip.ts";

const ignore = skip("the sign extension kernel tests", kernelSkipReason);

/** Negative 8, 16 and 32-bit values read (ldxsx) and cast (movsx). */
const BEGIN_SX = `BEGIN {
  @v[0] = 0xff80; @v[1] = 0xfffe8000; @v[2] = 0x180000000;
  $b = (int8[8])(uint64)@v[2];
  $h = (int16[4])(uint64)@v[1];
  $w = (int32[2])(uint64)@v[2];
  printf("%d %d %d %d\\n", $b[0], $b[3], $h[0], $h[1]);
  printf("%d %d %d\\n", $w[0], $w[1], $b[4] * 2);
  printf("%d %d %d\\n", (int8)@v[0], (int16)@v[1], (int32)@v[2]);
  printf("%d %d %d\\n", (int8)@v[0] * 2, (int16)@v[1] + 3, (int32)@v[2] >> 1);
  @s[(int8)@v[0], (int16)@v[1]] = (int32)@v[2];
  exit();
}`;

/** A tracepoint's context: a signed 32-bit field, casts of AT_FDCWD. */
const TRACEPOINT_SX = `tracepoint:syscalls:sys_enter_openat {
  @[args->__syscall_nr > 0, (int8)args->dfd, (int16)(args->dfd * 1000),
    (int32)(args->dfd * 100000000)] = count();
}`;

/** An `ldxsx`, or a `movsx` (64 or 32-bit). */
const isSx = (i: Insn) =>
  (i.code & 0xe7) === 0x81 ||
  ((i.code === 0xbf || i.code === 0xbc) && i.off !== 0);

Deno.test({
  name: "kernel: expanded ldxsx and movsx print what the kernel's own do",
  ignore,
  async fn() {
    const spec = { source: BEGIN_SX };
    const own = await runProgram("kernel", spec);
    const expanded = await runProgram("kernel", {
      ...spec,
      kernel: { signExtension: false },
    });
    assert.equal(
      own.output,
      [
        "0 -128 -32768 -2",
        "-2147483648 1 2",
        "-128 -32768 -2147483648",
        "-256 -32765 -1073741824",
        "",
      ].join("\n"),
    );
    assert.equal(expanded.output, own.output);
    assert.deepEqual(expanded.maps, own.maps);
    assert.equal(expanded.exitOutput, own.exitOutput);
  },
});

Deno.test({
  name: "kernel: expanded sign extension of a tracepoint's fields",
  ignore,
  async fn() {
    const spec = {
      source: TRACEPOINT_SX,
      workload: ["open", "/nonexistent/a", "/nonexistent/b"],
      pidFilter: true,
    };
    const own = await runProgram("kernel", spec);
    const expanded = await runProgram("kernel", {
      ...spec,
      kernel: { signExtension: false },
    });
    const key = [true, -100, 31072, -1410065408];
    assert.deepEqual(
      own.maps.find((m) => m.name === "@")?.entries,
      [{ key, value: 2 }],
    );
    assert.deepEqual(expanded.maps, own.maps);
  },
});

Deno.test({
  name: "kernel: signExtension false loads the expansion's extra slots",
  ignore,
  async fn() {
    for (const src of [BEGIN_SX, TRACEPOINT_SX]) {
      await prepareKernelTypes(src);
      const prog = compile(src);
      const compiled = prog.probes[0].insns;
      const extra = expandSignExtension(prog.probes[0]).insns.length -
        compiled.length;
      assert.ok(compiled.some(isSx) && extra > 0, src);
      const xlated = [];
      for (const signExtension of [true, false]) {
        const engine = new KernelEngine({ signExtension });
        try {
          await engine.load(prog);
          xlated.push(engine.stats()[0].insnCount);
        } finally {
          engine.close();
        }
      }
      assert.equal(xlated[1] - xlated[0], extra, src);
    }
  },
});
