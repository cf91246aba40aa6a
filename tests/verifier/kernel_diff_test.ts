import assert from "node:assert/strict";
import { generate, rng, runOurs } from "./kernel_diff.ts";
import { kernelSkipReason } from "../support/skip.ts";

const COUNT = 400;
const SEED = 11;

const skip = kernelSkipReason();
if (skip !== undefined) {
  console.log(`Skipping the kernel differential of the verifier: ${skip}`);
}

Deno.test("the generator is deterministic and its programs pass and fail our verifier", () => {
  const a = generate(rng(7)), b = generate(rng(7));
  assert.deepEqual(a, b);
  let accepted = 0, rejected = 0;
  for (let i = 0; i < 200; i++) {
    const v = runOurs(generate(rng(1000 + i)));
    assert.equal(v.fault, undefined, v.fault);
    if (v.reason === undefined) accepted++;
    else rejected++;
  }
  assert.ok(accepted > 20 && rejected > 20, `${accepted} / ${rejected}`);
});

Deno.test({
  name:
    `kernel differential: ${COUNT} random programs we accept load in the kernel and return the same r0`,
  ignore: skip !== undefined,
  fn: async () => {
    const { native } = await import("../../ffi/libbpf.ts");
    const { KernelRunner, runDiff } = await import("./kernel_diff.ts");
    using k = new KernelRunner(native());
    const rep = await runDiff(k, COUNT, SEED);
    console.log(
      `${rep.programs} programs: both accept ${rep.bothAccept}, both reject ${rep.bothReject}, only the kernel accepts ${rep.oursStricter}`,
    );
    assert.deepEqual(rep.unsound, [], "we accept, the kernel refuses");
    assert.deepEqual(rep.r0Mismatch, [], "r0 differs");
    assert.deepEqual(rep.faults, [], "the interpreter faulted");
    assert.ok(rep.bothAccept > COUNT / 10, "enough programs run");
    // Being stricter is allowed, but should stay rare.
    assert.ok(rep.oursStricter < COUNT / 10, `${rep.oursStricter} stricter`);
  },
});
