/**
 * Shared helpers of the interpreter tests.
 *
 * @module
 */

import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import type { Insn } from "../../runtime/bpf/insn.ts";
import {
  createEnvironment,
  type EnvironmentOptions,
} from "../../runtime/vm/environment.ts";
import { type RunOptions, VmProgram } from "../../runtime/vm/interpreter.ts";
import type { VmMap } from "../../runtime/vm/maps.ts";

/** 2^64. */
export const TWO64 = 1n << 64n;

/** Builds a program with `fn` and makes it a VmProgram. */
export function prog(
  fn: (b: InsnBuilder) => void,
  maps: VmMap[] = [],
  budget?: number,
): VmProgram {
  const b = new InsnBuilder();
  fn(b);
  return new VmProgram(b.build().insns, maps, { budget });
}

/** Builds, runs once with an empty ctx and default environment, returns r0. */
export function run1(
  fn: (b: InsnBuilder) => void,
  maps: VmMap[] = [],
  env: EnvironmentOptions = {},
  ctx = new Uint8Array(0),
  options?: RunOptions,
): bigint {
  return prog(fn, maps).run(ctx, createEnvironment(env), options);
}

/** Runs raw slots once. */
export function runRaw(insns: Insn[], ctx = new Uint8Array(0)): bigint {
  return new VmProgram(insns, []).run(ctx, createEnvironment());
}

/** 16 bytes of ctx holding two u64 values, little-endian. */
export function ctx2(a: bigint, b: bigint): Uint8Array {
  const c = new Uint8Array(16);
  const v = new DataView(c.buffer);
  v.setBigUint64(0, BigInt.asUintN(64, a), true);
  v.setBigUint64(8, BigInt.asUintN(64, b), true);
  return c;
}

/** A deterministic 32-bit generator (mulberry32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Interesting 64-bit operands plus random ones. */
export function operands(next: () => number, randomCount: number): bigint[] {
  const fixed = [
    0n,
    1n,
    2n,
    3n,
    7n,
    31n,
    32n,
    63n,
    64n,
    0x7fffffffn,
    0x80000000n,
    0xffffffffn,
    0x100000000n,
    0x7fffffffffffffffn,
    0x8000000000000000n,
    TWO64 - 1n,
    TWO64 - 2n,
    TWO64 - 0x80000000n,
    0x123456789abcdef0n,
    0xfedcba9876543210n,
  ];
  const out = [...fixed];
  for (let i = 0; i < randomCount; i++) {
    const hi = BigInt(next()), lo = BigInt(next());
    const shape = next() % 4;
    if (shape === 0) out.push(lo);
    else if (shape === 1) out.push(BigInt.asUintN(64, -lo));
    else out.push((hi << 32n) | lo);
  }
  return out;
}

/** Reads the u64 at `off` of a value. */
export function u64(b: Uint8Array, off = 0): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(
    off,
    true,
  );
}

/** Little-endian bytes of a u32. */
export function le32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

/** Little-endian bytes of a u64. */
export function le64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return b;
}
