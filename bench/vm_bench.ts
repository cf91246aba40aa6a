/**
 * Interpreter benchmarks: raw ALU throughput and a per-event map program.
 *
 * Run: `deno bench -A bench/vm_bench.ts`. Targets on the 2-core build
 * machine: ≥ 50 million instructions/s on straight-line ALU code, ≥ 2
 * million runs/s of the ~30-instruction count-per-key program.
 *
 * @module
 */

import { InsnBuilder } from "../runtime/bpf/builder.ts";
import { Helper, MapType } from "../runtime/bpf/opcodes.ts";
import { createEnvironment } from "../runtime/vm/environment.ts";
import { VmProgram } from "../runtime/vm/interpreter.ts";
import { createMap } from "../runtime/vm/maps.ts";

const ctx = new Uint8Array(64);

/** A straight-line mix of 64- and 32-bit ALU instructions, then exit. */
function straightLine(count: number): VmProgram {
  const b = new InsnBuilder();
  for (let r = 0; r <= 9; r++) b.movImm(r, r * 7919 + 1);
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
  const ops = ["ADD", "SUB", "XOR", "OR", "AND", "LSH", "RSH", "MOV"] as const;
  for (let i = 10; i < count - 1; i++) {
    const op = ops[rnd() % ops.length];
    const dst = rnd() % 10, src = rnd() % 10;
    const k = rnd() % 4;
    if (op === "LSH" || op === "RSH") b.alu64Imm(op, dst, (rnd() % 13) + 1);
    else if (k === 0) b.alu64Imm(op, dst, rnd() % 1000);
    else if (k === 1) b.alu32Reg(op, dst, src);
    else b.alu64Reg(op, dst, src);
  }
  b.exit();
  return new VmProgram(b.build().insns, []);
}

/** Straight-line ALU code where each instruction uses the previous result. */
function dependentChain(count: number): VmProgram {
  const b = new InsnBuilder();
  for (let r = 0; r <= 9; r++) b.movImm(r, r * 7919 + 1);
  const ops = ["ADD", "XOR", "SUB", "OR", "ADD", "AND"] as const;
  for (let i = 10; i < count - 1; i++) {
    const op = ops[i % ops.length];
    if (i % 5 === 0) b.alu64Imm("LSH", 0, 1);
    else if (i % 3 === 0) b.alu32Reg(op, 0, 1 + (i % 9));
    else b.alu64Reg(op, 0, 1 + (i % 9));
  }
  b.exit();
  return new VmProgram(b.build().insns, []);
}

/** A loop whose body is ALU code: `iterations` times `body` instructions. */
function aluLoop(body: number, iterations: number): VmProgram {
  const b = new InsnBuilder();
  b.movImm(0, 0).movImm(1, 1).movImm(2, 2).movImm(3, 3).movImm(6, iterations);
  b.label("top");
  for (let i = 0; i < body; i++) {
    switch (i % 4) {
      case 0:
        b.alu64Reg("ADD", 0, 1);
        break;
      case 1:
        b.alu64Reg("XOR", 1, 2);
        break;
      case 2:
        b.alu64Imm("LSH", 2, 1);
        break;
      default:
        b.alu32Reg("ADD", 3, 0);
    }
  }
  b.alu64Imm("SUB", 6, 1);
  b.jmpImm("JNE", 6, 0, "top");
  b.exit();
  return new VmProgram(b.build().insns, []);
}

/** get_current_pid_tgid → key → lookup → null check → atomic add / update. */
function countProgram() {
  const map = createMap(
    { type: MapType.HASH, keySize: 8, valueSize: 8, maxEntries: 1024 },
    1,
  );
  const b = new InsnBuilder();
  b.call(Helper.get_current_pid_tgid);
  b.stx(8, 10, -8, 0);
  b.ldMap(1, 0);
  b.movReg(2, 10).alu64Imm("ADD", 2, -8);
  b.call(Helper.map_lookup_elem);
  b.jmpImm("JEQ", 0, 0, "miss");
  b.movImm(1, 1);
  b.atomic(8, "ADD", 0, 0, 1);
  b.movImm(0, 0);
  b.exit();
  b.label("miss");
  b.st(8, 10, -16, 1);
  b.ldMap(1, 0);
  b.movReg(2, 10).alu64Imm("ADD", 2, -8);
  b.movReg(3, 10).alu64Imm("ADD", 3, -16);
  b.movImm(4, 0);
  b.call(Helper.map_update_elem);
  b.movImm(0, 0);
  b.exit();
  const insns = b.build().insns;
  return { prog: new VmProgram(insns, [map]), map, length: insns.length };
}

const STRAIGHT = 3000;
const straight = straightLine(STRAIGHT);
const chain = dependentChain(STRAIGHT);
const loop = aluLoop(100, 30);
const count = countProgram();
const envs = Array.from(
  { length: 16 },
  (_, i) => createEnvironment({ pid: 100 + i, tid: 100 + i }),
);

/** Runs `fn` for ~0.5 s and returns calls per second. */
function rate(fn: () => void): number {
  for (let i = 0; i < 20000; i++) fn();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < 500) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

// Warm up so V8 has optimized the translated code before measuring.
for (let i = 0; i < 3000; i++) straight.run(ctx, envs[0]);
for (let i = 0; i < 3000; i++) chain.run(ctx, envs[0]);
for (let i = 0; i < 3000; i++) loop.run(ctx, envs[0]);
for (let i = 0; i < 50000; i++) count.prog.run(ctx, envs[i & 15]);

if (import.meta.main) {
  straight.run(ctx, envs[0]);
  const s = rate(() => straight.run(ctx, envs[0])) * straight.executed;
  const d = rate(() => chain.run(ctx, envs[0])) * chain.executed;
  loop.run(ctx, envs[0]);
  const l = rate(() => loop.run(ctx, envs[0])) * loop.executed;
  let k = 0;
  const c = rate(() => count.prog.run(ctx, envs[k++ & 15]));
  console.log(
    `straight-line ALU (${STRAIGHT} insns): ${(s / 1e6).toFixed(1)} M insns/s`,
  );
  console.log(
    `dependent ALU chain (${STRAIGHT} insns): ${
      (d / 1e6).toFixed(1)
    } M insns/s`,
  );
  console.log(`ALU loop (100 x 30): ${(l / 1e6).toFixed(1)} M insns/s`);
  console.log(
    `count-per-key (${count.length} slots): ${(c / 1e6).toFixed(2)} M runs/s`,
  );
}

Deno.bench(`straight-line ALU, ${STRAIGHT} instructions`, () => {
  straight.run(ctx, envs[0]);
});

Deno.bench(`dependent ALU chain, ${STRAIGHT} instructions`, () => {
  chain.run(ctx, envs[0]);
});

Deno.bench("ALU loop, 100 instructions x 30", () => {
  loop.run(ctx, envs[0]);
});

let which = 0;
Deno.bench(`count-per-key program, ${count.length} slots`, () => {
  count.prog.run(ctx, envs[which++ & 15]);
});
