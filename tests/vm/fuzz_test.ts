import assert from "node:assert/strict";
import { type Insn, insn } from "../../runtime/bpf/insn.ts";
import { Helper, MapType } from "../../runtime/bpf/opcodes.ts";
import { createEnvironment } from "../../runtime/vm/environment.ts";
import { VmError, VmProgram } from "../../runtime/vm/interpreter.ts";
import { createMap } from "../../runtime/vm/maps.ts";
import { rng } from "./util.ts";
import { BPF_CODES, BPF_IMMS } from "../fuzz/vocabulary.ts";

const HELPERS = Object.values(Helper);

function validish(next: () => number, len: number): Insn[] {
  const pick = <T>(a: readonly T[]) => a[next() % a.length];
  const out: Insn[] = [
    insn(0xbf, 2, 10, 0, 0), // r2 = r10
    insn(0x07, 2, 0, 0, -64), // r2 -= 64
    insn(0x18, 3, 1, 0, next() % 3), // r3 = map
    insn(0, 0, 0, 0, 0),
  ];
  while (out.length < len - 1) {
    const r = next() % 100;
    const code = pick(BPF_CODES);
    const dst = next() % 11, src = next() % 11;
    const off = r < 50
      ? (next() % 33) - 16
      : r < 80
      ? -(next() % 520)
      : (next() << 16) >> 16;
    let imm = r < 70 ? pick(BPF_IMMS) : next() | 0;
    if (code === 0x85) {
      if (r < 70) out.push(insn(code, 0, 0, 0, pick(HELPERS)));
      else out.push(insn(code, 0, 1, 0, (next() % 20) - 5));
      continue;
    }
    if (code === 0x18) {
      const srcKind = pick([0, 0, 1, 2]);
      if (srcKind !== 0) imm = next() % 4;
      out.push(insn(code, dst, srcKind, 0, imm), insn(0, 0, 0, 0, next() % 16));
      continue;
    }
    const cls = code & 7;
    const o = cls === 5 || cls === 6
      ? (next() % 12) - 4
      : cls === 4 || cls === 7
      ? (r % 10 === 0 ? pick([1, 8, 16, 32]) : 0)
      : off;
    out.push(insn(code, dst, src, o, imm));
  }
  out.push(insn(0x95, 0, 0, 0, 0));
  return out;
}

function garbage(next: () => number, len: number): Insn[] {
  return Array.from(
    { length: len },
    () => insn(next() & 0xff, next() & 0xf, next() & 0xf, next(), next() | 0),
  );
}

Deno.test("fuzz: random instruction streams end in a result or a VmError", () => {
  const next = rng(0xbadc0de);
  const maps = () => [
    createMap(
      { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8 },
      2,
    ),
    createMap(
      { type: MapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 4 },
      2,
    ),
    createMap({
      type: MapType.RINGBUF,
      keySize: 0,
      valueSize: 0,
      maxEntries: 256,
    }, 2),
    createMap({
      type: MapType.PERCPU_HASH,
      keySize: 4,
      valueSize: 8,
      maxEntries: 8,
    }, 2),
  ];
  const env = createEnvironment({
    numCpus: 2,
    cpu: 1,
    kernelStack: [1n, 2n, 3n],
    memory: [{ addr: 0n, bytes: new Uint8Array(4096) }],
  });
  const outcomes = { result: 0, vmError: 0 };
  const reasons = new Map<string, number>();
  const t0 = performance.now();
  const RUNS = 5000;
  for (let i = 0; i < RUNS; i++) {
    const kind = i % 3;
    const len = 2 + (next() % 60);
    const insns = kind === 0
      ? garbage(next, len)
      : kind === 1
      ? validish(next, len)
      : validish(next, len).map((
        x,
      ) => (next() % 10 === 0 ? garbage(next, 1)[0] : x));
    const ctx = new Uint8Array(next() % 64);
    let p: VmProgram;
    try {
      p = new VmProgram(insns, maps(), { budget: 5000 });
    } catch (e) {
      assert.fail(`constructor threw ${e} for ${JSON.stringify(insns)}`);
    }
    for (const writableCtx of [false, true]) {
      try {
        const r = p.run(ctx, env, { writableCtx, r2: BigInt(next()) });
        assert.equal(typeof r, "bigint");
        assert.ok(r >= 0n && r < 1n << 64n);
        outcomes.result++;
      } catch (e) {
        if (!(e instanceof VmError)) {
          assert.fail(
            `run threw ${e}\n${(e as Error).stack}\nfor ${
              JSON.stringify(insns)
            }`,
          );
        }
        outcomes.vmError++;
        const key = e.reason.replace(/[-\d]+|0x[0-9a-f]+/g, "N").slice(0, 40);
        reasons.set(key, (reasons.get(key) ?? 0) + 1);
      }
    }
  }
  const ms = performance.now() - t0;
  console.log(
    `fuzz: ${RUNS} streams, ${JSON.stringify(outcomes)} in ${ms.toFixed(0)} ms`,
  );
  console.log([...reasons].sort((a, b) => b[1] - a[1]).slice(0, 12));
  assert.ok(outcomes.result > RUNS / 20, "some streams run to completion");
  assert.ok(outcomes.vmError > RUNS / 20, "some streams fault");
});
