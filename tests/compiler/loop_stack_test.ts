/**
 * The stack of `for` loops run as callbacks (`bpf_loop`,
 * `bpf_for_each_map_elem`): the kernel limits a whole call chain (the
 * probe's frame plus the callback's) to 512 bytes. A callback's frame
 * holds only the variables its body uses, and a variable declared in the
 * body (`let`, the range variable) lives there only, so bpftrace 0.26.1's
 * own opensnoop.bt (a range loop walking the cwd's dentries inside a probe
 * with strings and tuples) fits, as it does with bpftrace.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { prepareKernelTypes } from "../../runtime/compiler/kernel_types.ts";
import { loadOnDemand } from "../../runtime/compiler/on_demand.ts";
import { verify } from "../../runtime/verifier/verifier.ts";
import {
  ProgramRejectedError,
  verifyProgram,
} from "../../runtime/verify_program.ts";
import type { Program } from "../../runtime/program.ts";

const OPENSNOOP = new URL("../fixtures/bt26/opensnoop.bt", import.meta.url)
  .pathname;

/** Why kernel types cannot be read here (opensnoop reads `curtask.fs`). */
function btfSkipReason(): string | undefined {
  try {
    Deno.statSync("/sys/kernel/btf/vmlinux");
    return undefined;
  } catch (e) {
    return `no kernel BTF at /sys/kernel/btf/vmlinux (${(e as Error).name})`;
  }
}
const btfSkip = btfSkipReason();
if (btfSkip !== undefined) {
  console.log(`loop_stack_test: skips opensnoop.bt: ${btfSkip}`);
}

/** The deepest call chain's stack, in bytes, by probe name. */
function stackOf(prog: Program): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of prog.probes) {
    const r = verify(p.insns, {
      maps: prog.maps,
      ctxSize: p.ctx.size,
      progType: p.progType,
    });
    out.set(p.name, r.maxStackDepth);
  }
  return out;
}

/** Eight 8-byte integers: a 64-byte tuple. */
const TUPLE = "(1, 2, 3, 4, 5, 6, 7, 8)";

Deno.test({
  name:
    "opensnoop.bt (bpftrace 0.26.1): the cwd walk fits the call chain's 512 bytes",
  ignore: btfSkip !== undefined,
  async fn() {
    const src = Deno.readTextFileSync(OPENSNOOP);
    await prepareKernelTypes(src);
    await loadOnDemand(src, []);
    const prog = compile(src, {
      fileName: OPENSNOOP,
      tracefsAvailable: false,
    });
    verifyProgram(prog);
    const stacks = stackOf(prog);
    const exit = [...stacks].filter(([name]) => name.startsWith("sys_exit_"));
    assert.equal(exit.length, 3, [...stacks.keys()].join());
    for (const [name, bytes] of exit) {
      // 656 bytes before callbacks kept only the variables they use
      // (304 for the probe, 352 for the loop walking the dentries).
      assert.ok(bytes <= 384, `${name}: ${bytes} bytes`);
    }
  },
});

Deno.test("a callback loop does not copy the probe's variables it does not use", () => {
  // Four 64-byte tuples in the probe's frame; the loop uses only $n.
  const src = `BEGIN { $a = ${TUPLE}; $b = $a; $c = $a; $d = $a; $n = 0;
    for ($i : 0..(pid % 50)) { $n += $i; }
    printf("%d %d %d %d %d\\n", $a.0, $b.1, $c.2, $d.3, $n); exit(); }`;
  const prog = compile(src);
  verifyProgram(prog);
  const bytes = stackOf(prog).get("BEGIN")!;
  // The probe's 256 bytes of tuples and a few slots; the callback's
  // frame holds $n, $i and the return flag.
  assert.ok(bytes < 256 + 128, `${bytes} bytes`);
});

Deno.test("variables declared in a callback loop's body live in its frame only", () => {
  // Three 64-byte tuples in the probe, three declared in the loop body:
  // 384 bytes if each frame held all six.
  const src = `BEGIN { $a = ${TUPLE}; $b = $a; $c = $a; $n = 0;
    for ($i : 0..(pid % 50)) {
      let $x = ($i, 2, 3, 4, 5, 6, 7, 8); let $y = $x; let $z = $y;
      $n += $z.0;
    }
    @m[1] = 2;
    for ($kv : @m) { let $w = ${TUPLE}; $n += $w.7 + $kv.1; }
    printf("%d %d %d %d\\n", $a.0, $b.1, $c.2, $n); exit(); }`;
  const prog = compile(src);
  verifyProgram(prog);
  const bytes = stackOf(prog).get("BEGIN")!;
  assert.ok(bytes <= 512, `${bytes} bytes`);
});

Deno.test("a call chain over 512 bytes is refused with each frame's size and line", () => {
  // Five 64-byte tuples in the probe, four in the loop body.
  const src = `BEGIN { $a = ${TUPLE}; $b = $a; $c = $a; $d = $a; $e = $a;
    for ($i : 0..(pid % 50)) {
      let $w = ($i, 2, 3, 4, 5, 6, 7, 8); let $x = $w; let $y = $x;
      let $z = $y; @s = $z.0 + $w.1 + $x.2 + $y.3;
    }
    printf("%d %d %d %d %d\\n", $a.0, $b.1, $c.2, $d.3, $e.4); exit(); }`;
  assert.throws(
    () => verifyProgram(compile(src)),
    (e: unknown) => {
      assert.ok(e instanceof ProgramRejectedError);
      assert.match(
        e.message,
        /combined stack size of the call chain is \d+ bytes, more than 512 \(\d+ bytes in the main program, \d+ bytes in the function at instruction \d+ \(script line 2\)\)/,
      );
      return true;
    },
  );
});
