import assert from "node:assert/strict";
import { decodeMap } from "../../runtime/output/decode.ts";
import { formatMapText } from "../../runtime/output/text.ts";
import { load, mapIndex, run } from "./harness.ts";

/**
 * kstack and ustack are allowed in BEGIN and END, as in bpftrace: the
 * stack is whatever runs the program (the kernel's test run; none in the
 * interpreter, which prints as bpftrace prints an empty stack: `@k[]`).
 */

const SRC =
  'BEGIN { @k[kstack] = count(); @u[ustack(3)] = count(); printf("[%s]\\n", kstack); print(ustack); @v = kstack(perf); exit(); }' +
  " END { @e[kstack(perf, 2)] = count(); }";

Deno.test("kstack and ustack compile and verify in BEGIN and END", () => {
  const p = load(SRC).prog;
  assert.deepEqual(p.probes.map((x) => x.name), ["BEGIN", "END"]);
  // Both call get_stackid with the context.
  for (const probe of p.probes) {
    assert.ok(probe.insns.some((i) => i.code === 0x85 && i.imm === 27));
  }
});

Deno.test("an empty BEGIN stack prints as @k[] in the interpreter", () => {
  const l = load(SRC);
  run(l, "BEGIN");
  run(l, "END");
  const none = { ksym: String, usym: String, stack: () => [] };
  const text = ["@k", "@u", "@e"].map((name) => {
    const i = mapIndex(l, name);
    return formatMapText(decodeMap(l.prog.maps[i], l.maps[i].entries(), none));
  });
  assert.deepEqual(text, ["@k[]: 1\n", "@u[]: 1\n", "@e[]: 1\n"]);
});
