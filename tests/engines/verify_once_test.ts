/**
 * tsbpf's verifier runs once per program, with the same diagnostic
 * wherever it runs: `--dry-run`, the interpreter engine's `verify()` (what
 * the CLI, `trace()` and `tsbpf serve` call before they say anything), and
 * the interpreter engine's `load()` (which does not check again a program
 * `verify()` accepted).
 */
import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { InterpEngine } from "../../runtime/engines/interp_engine.ts";
import {
  ProgramRejectedError,
  verifyProgram,
} from "../../runtime/verify_program.ts";

/** Rejected by tsbpf's verifier (too complex), on line 5. */
const TOO_COMPLEX = "BEGIN {\n  $i = 0;\n  while ($i < 100000) {\n" +
  "    $j = 0;\n    while ($j < 100000) { $j++; @x = $j; }\n    $i++;\n  }\n}";

function rejection(f: () => unknown): ProgramRejectedError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ProgramRejectedError, String(e));
    return e;
  }
  assert.fail("not rejected");
}

Deno.test("the interpreter's load and verify reject as --dry-run does, with the script line", async () => {
  const program = compile(TOO_COMPLEX, { tracefsAvailable: false });
  const dryRun = rejection(() => verifyProgram(program));
  assert.equal(dryRun.line, 5);

  const viaVerify = new InterpEngine();
  const early = rejection(() => viaVerify.verify(program));
  viaVerify.close();
  assert.equal(early.message, dryRun.message);

  const viaLoad = new InterpEngine();
  const late = await viaLoad.load(program).then(
    () => assert.fail("loaded"),
    (e: unknown) => e,
  );
  viaLoad.close();
  assert.ok(late instanceof ProgramRejectedError, String(late));
  assert.equal(late.message, dryRun.message);
});

Deno.test("the interpreter's load does not verify again a program verify() accepted", async () => {
  const source = "tracepoint:raw_syscalls:sys_enter { @n = count(); }";
  const program = compile(source, { tracefsAvailable: false });
  const engine = new InterpEngine({ seed: 1, rate: 10 });
  engine.verify(program);
  // Swapped after the verdict for code the verifier rejects (a read past
  // the 64-byte context): a load that verified again would refuse it.
  const rejected = [
    { code: 0x79, dst: 0, src: 1, off: 64, imm: 0 },
    { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  ];
  const verified = program.probes[0].insns;
  program.probes[0].insns = rejected;
  await engine.load(program);
  engine.close();

  // Another program object, even an equal one, is checked.
  const copy = { ...program, probes: [{ ...program.probes[0] }] };
  const other = new InterpEngine({ seed: 1, rate: 10 });
  other.verify({ ...copy, probes: [{ ...copy.probes[0], insns: verified }] });
  await assert.rejects(other.load(copy), ProgramRejectedError);
  other.close();
});
