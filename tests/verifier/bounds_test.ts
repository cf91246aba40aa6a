/**
 * Resource bounds of our verifier (issue 11, item 3): whatever the program,
 * verifying it stays within a second and 300 MB on this machine. It runs on
 * every `--dry-run` and before every interpreter run, so a program the
 * compiler turns out quickly must not make it explore for seconds.
 */
import assert from "node:assert/strict";
import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import { compile } from "../../runtime/compiler/compile.ts";
import { verifyProgram } from "../../runtime/verify_program.ts";
import { VerifierError } from "../../runtime/verifier/error.ts";
import { verify } from "../../runtime/verifier/verifier.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

/**
 * Found by the fuzzer: 162 instructions, one unbounded loop with a lookup
 * and its NULL check per aggregation. The kernel refuses it with "The
 * sequence of 8193 jumps is too complex."; our verifier took 8 s and
 * 400 MB of heap to reach its 1,000,000-instruction budget.
 */
const MANY_AGGREGATIONS =
  "BEGIN { $i = 1; while ($i <= 0x80000000) { @c = count(); @s = sum($i); @a = avg($i); @mn = min($i); @mx = max($i); @st = stats($i); @h = hist($i); @l = lhist($i, 0, 10, 2); $i++; } exit(); }";

/**
 * An unbounded loop with a long body and one branch per turn: it runs into
 * the 1,000,000-instruction budget before the limit on waiting branches.
 */
const LONG_BODY =
  "BEGIN { $i = 1; $x = 0; while ($i <= 0x80000000) { unroll(40) { $x = $x + $i; } @c = count(); $i++; } @x = $x; exit(); }";

/** CPU time of the calling thread in ms (not counting GC helper threads). */
function threadCpuMs(): number {
  const f = Deno.readTextFileSync("/proc/thread-self/stat").split(") ")[1]
    .split(" ");
  // Fields 14 and 15 (utime, stime) are at 11 and 12 after the comm field.
  return (Number(f[11]) + Number(f[12])) * 10;
}

/**
 * Verifies `src`'s probes (or a program built with `InsnBuilder`); returns
 * the rejection and the CPU ms used.
 */
function verifyTimed(
  src: string | ((b: InsnBuilder) => void),
): { err: VerifierError; ms: number } {
  let run: () => void;
  if (typeof src === "string") {
    const prog = compile(src, { tracefsAvailable: false });
    run = () => verifyProgram(prog);
  } else {
    const b = new InsnBuilder();
    src(b);
    const insns = b.build().insns;
    run = () => verify(insns, { maps: [], ctxSize: 64 });
  }
  const t0 = threadCpuMs();
  let err: unknown;
  try {
    run();
  } catch (e) {
    err = e;
  }
  const ms = threadCpuMs() - t0;
  assert.ok(err instanceof VerifierError, `expected a rejection, got ${err}`);
  return { err, ms };
}

/** Runs the CLI in a V8 heap of at most 300 MB. */
async function cli(
  args: string[],
): Promise<{ code: number; err: string; ms: number }> {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-lock",
      "--v8-flags=--max-old-space-size=300",
      MOD,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  // Generous for a loaded machine: the unbounded verifier ran out of heap.
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const out = await child.output();
  clearTimeout(timer);
  return {
    code: out.code,
    err: new TextDecoder().decode(out.stderr),
    ms: performance.now() - t0,
  };
}

for (const engine of [["--dry-run"], ["--backend", "interp"]]) {
  Deno.test(
    `verifier bounds: a loop of aggregations is refused within 300 MB (${
      engine.join(" ")
    })`,
    async () => {
      const { code, err, ms } = await cli([...engine, "-e", MANY_AGGREGATIONS]);
      assert.equal(code, 2, err); // refused before it ran
      assert.match(
        err,
        /^ERROR: Probe "BEGIN" rejected by tsbpf's verifier at instruction 65 \(script line 1, column 101\): the program is too complex: more than 8192 branches wait to be explored at once/,
      );
      // Start-up and compile included; generous for a loaded machine.
      assert.ok(ms < 30_000, `took ${ms.toFixed(0)} ms`);
    },
  );
}

Deno.test("verifier bounds: the loop of aggregations takes well under a second of CPU", () => {
  const { err, ms } = verifyTimed(MANY_AGGREGATIONS);
  assert.match(err.reason, /more than 8192 branches wait/);
  assert.ok(ms < 1000, `took ${ms} ms of CPU`);
});

Deno.test("verifier bounds: running into the 1,000,000-instruction budget takes under a second of CPU", async () => {
  const { err, ms } = verifyTimed(LONG_BODY);
  assert.match(err.reason, /more than 1000000 instructions processed/);
  assert.ok(ms < 1000, `took ${ms} ms of CPU`);
  const run = await cli(["--dry-run", "-e", LONG_BODY]);
  assert.equal(run.code, 2, run.err);
  assert.match(run.err, /more than 1000000 instructions processed/);
});

Deno.test("verifier bounds: loops that differ only on the stack or in high bits are checked for repeats in linear time", () => {
  // Each turn adds 1 to a counter kept on the stack: the registers are
  // the same at every turn. The states remembered in the loop were all
  // compared with each other (a minute for 200,000 turns).
  const onStack = verifyTimed((b) => {
    b.st(8, 10, -8, 0);
    b.label("l");
    b.ldx(8, 6, 10, -8);
    b.alu64Imm("ADD", 6, 1);
    b.stx(8, 10, -8, 6);
    b.movImm(6, 0);
    b.ja("l");
  });
  // Each turn adds 2^32: the low 32 bits never change.
  const highBits = verifyTimed((b) => {
    b.movImm(6, 0);
    b.label("l");
    b.ldImm64(7, 1n << 32n);
    b.alu64Reg("ADD", 6, 7);
    b.movImm(7, 0);
    b.ja("l");
  });
  for (const { err, ms } of [onStack, highBits]) {
    assert.match(err.reason, /more than 1000000 instructions processed/);
    assert.ok(ms < 1000, `took ${ms} ms of CPU`);
  }
});

Deno.test("verifier bounds: the states kept for pruning are bounded (a chain of 80,000 joins in a 300 MB heap)", async () => {
  // One unknown value compared with 0, 1, 2, ...: every join leaves a
  // state that no later path is covered by. All 100,000 were kept (over
  // 200 MB on top of the program and its analysis).
  const code = `
    import { InsnBuilder } from "${new URL(
    "../../runtime/bpf/builder.ts",
    import.meta.url,
  )}";
    import { verify } from "${new URL(
    "../../runtime/verifier/verifier.ts",
    import.meta.url,
  )}";
    const b = new InsnBuilder();
    b.call(7); // get_prandom_u32
    b.movReg(6, 0);
    b.movImm(7, 0);
    for (let k = 0; k < 80000; k++) {
      b.jmpImm("JGT", 6, k, "s" + k);
      b.alu64Imm("ADD", 7, 1);
      b.label("s" + k);
      b.alu64Imm("ADD", 7, 3);
      b.stx(8, 10, -8 * (1 + (k % 63)), 7);
      b.ldx(8, 8, 10, -8 * (1 + (k % 63)));
    }
    b.movImm(0, 0);
    b.exit();
    try {
      verify(b.build().insns, { maps: [], ctxSize: 64 });
      console.log("accepted");
    } catch (e) {
      console.log(e.reason);
    }
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--no-lock",
      "--v8-flags=--max-old-space-size=300",
      code,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, err);
  assert.match(
    new TextDecoder().decode(out.stdout),
    /more than 1000000 instructions processed/,
  );
});
