import assert from "node:assert/strict";
import {
  alu32,
  alu64,
  type AluKind,
  branchTaken,
  type CmpKind,
  constRange,
  negateCmp,
  type Range,
  refine,
  refine32,
  signExtend,
  signExtend32,
  sRange,
  sync,
  uRange,
} from "../../runtime/verifier/scalar.ts";

/** xorshift64*: a seeded generator, so failures reproduce. */
function rng(seed: bigint): () => bigint {
  let x = seed;
  return () => {
    x ^= x >> 12n;
    x ^= (x << 25n) & 0xffffffffffffffffn;
    x ^= x >> 27n;
    return (x * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
  };
}

const next = rng(0x9e3779b97f4a7c15n);

/** Interesting 64-bit values: small, near the sign boundary, near the top. */
function value(): bigint {
  const r = next();
  switch (Number(r % 6n)) {
    case 0:
      return r % 64n;
    case 1:
      return BigInt.asUintN(64, -(r % 64n));
    case 2:
      return (1n << 63n) + (r % 8n) - 4n;
    case 3:
      return (1n << 32n) + (r % 8n) - 4n;
    case 4:
      return r % 5000n;
    default:
      return r;
  }
}

/** A random range holding `v`. */
function rangeAround(v: bigint): Range {
  const kind = Number(next() % 4n);
  if (kind === 0) return constRange(v);
  const w = next() % 300n;
  if (kind === 1) {
    const lo = v > w ? v - w : 0n;
    const hi = v + w > (1n << 64n) - 1n ? (1n << 64n) - 1n : v + w;
    return uRange(lo, hi);
  }
  if (kind === 2) {
    const s = BigInt.asIntN(64, v);
    return sRange(
      s - w < -(1n << 63n) ? -(1n << 63n) : s - w,
      s + w > (1n << 63n) - 1n ? (1n << 63n) - 1n : s + w,
    );
  }
  return uRange(0n, (1n << 64n) - 1n);
}

/** A value of `r`, often one of its bounds (where off-by-one bugs live). */
function pick(r: Range, v: bigint): bigint {
  const c = [
    v,
    r.umin,
    r.umax,
    BigInt.asUintN(64, r.smin),
    BigInt.asUintN(64, r.smax),
  ].filter((x) => holds(r, x));
  return c[Number(next() % BigInt(c.length))];
}

function holds(r: Range, v: bigint): boolean {
  const s = BigInt.asIntN(64, v);
  return r.umin <= v && v <= r.umax && r.smin <= s && s <= r.smax;
}

function exact(op: AluKind, a: bigint, b: bigint, bits: 32 | 64): bigint {
  const u = (x: bigint) => BigInt.asUintN(bits, x);
  const s = (x: bigint) => BigInt.asIntN(bits, x);
  const A = u(a), B = u(b), sh = B & BigInt(bits - 1);
  switch (op) {
    case "ADD":
      return u(A + B);
    case "SUB":
      return u(A - B);
    case "MUL":
      return u(A * B);
    case "DIV":
      return B === 0n ? 0n : A / B;
    case "MOD":
      return B === 0n ? A : A % B;
    case "SDIV":
      return s(B) === 0n ? 0n : u(s(A) / s(B));
    case "SMOD":
      return s(B) === 0n ? A : u(s(A) % s(B));
    case "OR":
      return A | B;
    case "AND":
      return A & B;
    case "XOR":
      return A ^ B;
    case "LSH":
      return u(A << sh);
    case "RSH":
      return A >> sh;
    case "ARSH":
      return u(s(A) >> sh);
    case "NEG":
      return u(-A);
  }
}

const OPS: AluKind[] = [
  "ADD",
  "SUB",
  "MUL",
  "DIV",
  "MOD",
  "SDIV",
  "SMOD",
  "OR",
  "AND",
  "XOR",
  "LSH",
  "RSH",
  "ARSH",
  "NEG",
];

Deno.test("ALU ranges contain every concrete result (random sampling)", () => {
  for (let i = 0; i < 20_000; i++) {
    const op = OPS[i % OPS.length];
    const bits = i % 3 === 0 ? 32 : 64;
    let a = value();
    let b = value();
    if (op === "LSH" || op === "RSH" || op === "ARSH") b %= BigInt(bits);
    const ra = rangeAround(a), rb = rangeAround(b);
    a = pick(ra, a);
    b = pick(rb, b);
    if (op === "LSH" || op === "RSH" || op === "ARSH") b %= BigInt(bits);
    const r = bits === 64 ? alu64(op, ra, rb) : alu32(op, ra, rb);
    const v = exact(op, a, b, bits);
    assert.ok(
      holds(r, v),
      `${op}${bits} a=${a} b=${b} → ${v} not in ${
        JSON.stringify(r, (_, x) => typeof x === "bigint" ? String(x) : x)
      }`,
    );
  }
});

function compare(op: CmpKind, a: bigint, b: bigint, bits: 32 | 64): boolean {
  const u = (x: bigint) => BigInt.asUintN(bits, x);
  const s = (x: bigint) => BigInt.asIntN(bits, x);
  switch (op) {
    case "JEQ":
      return u(a) === u(b);
    case "JNE":
      return u(a) !== u(b);
    case "JGT":
      return u(a) > u(b);
    case "JGE":
      return u(a) >= u(b);
    case "JLT":
      return u(a) < u(b);
    case "JLE":
      return u(a) <= u(b);
    case "JSGT":
      return s(a) > s(b);
    case "JSGE":
      return s(a) >= s(b);
    case "JSLT":
      return s(a) < s(b);
    case "JSLE":
      return s(a) <= s(b);
    case "JSET":
      return (u(a) & u(b)) !== 0n;
    case "JNSET":
      return (u(a) & u(b)) === 0n;
  }
}

const CMPS: CmpKind[] = [
  "JEQ",
  "JNE",
  "JGT",
  "JGE",
  "JLT",
  "JLE",
  "JSGT",
  "JSGE",
  "JSLT",
  "JSLE",
  "JSET",
];

Deno.test("branch narrowing keeps every pair of values that takes the side", () => {
  for (let i = 0; i < 20_000; i++) {
    const op = CMPS[i % CMPS.length];
    const bits = i % 4 === 0 ? 32 : 64;
    let a = value();
    let b = BigInt.asUintN(64, i % 2 ? value() : a + (next() % 3n));
    const ra = rangeAround(a), rb = rangeAround(b);
    a = pick(ra, a);
    b = pick(rb, b);
    const taken = compare(op, a, b, bits);
    const side = taken ? op : negateCmp(op);
    const fn = bits === 64 ? refine : refine32;
    const r = fn(side, ra, rb);
    assert.ok(
      r,
      `${op}${bits} a=${a} b=${b}: the ${taken} side was judged impossible`,
    );
    assert.ok(
      holds(r[0], a) && holds(r[1], BigInt.asUintN(64, b)),
      `${side}${bits} a=${a} b=${b} narrowed too far`,
    );
  }
});

Deno.test("branch prediction from bounds never contradicts a pair of values", () => {
  let decided = 0;
  for (let i = 0; i < 20_000; i++) {
    const op = CMPS[i % CMPS.length];
    const bits = i % 4 === 0 ? 32 : 64;
    let a = value();
    let b = BigInt.asUintN(64, i % 2 ? value() : a + (next() % 3n));
    const ra = rangeAround(a), rb = rangeAround(b);
    a = pick(ra, a);
    b = pick(rb, b);
    const t = branchTaken(op, ra, rb, bits);
    if (t === undefined) continue;
    decided++;
    assert.equal(t, compare(op, a, b, bits), `${op}${bits} a=${a} b=${b}`);
  }
  assert.ok(decided > 1000, `${decided} decided`);
  assert.equal(
    branchTaken("JLT", uRange(0n, 15n), constRange(16n), 64),
    true,
  );
  assert.equal(
    branchTaken("JEQ", uRange(0n, 15n), constRange(3n), 64),
    undefined,
  );
  assert.equal(branchTaken("JSET", uRange(0n, 7n), constRange(8n), 64), false);
});

Deno.test("sync deduces signed from unsigned bounds and detects empty sets", () => {
  const r = sync({
    umin: 0n,
    umax: 15n,
    smin: -(1n << 63n),
    smax: (1n << 63n) - 1n,
  })!;
  assert.equal(r.smin, 0n);
  assert.equal(r.smax, 15n);
  assert.equal(sync({ umin: 10n, umax: 15n, smin: 0n, smax: 5n }), undefined);
  const neg = sRange(-8n, -1n);
  assert.equal(neg.umin, (1n << 64n) - 8n);
  assert.equal(neg.umax, (1n << 64n) - 1n);
});

Deno.test("sign extension ranges contain every concrete result (random sampling)", () => {
  for (let i = 0; i < 20_000; i++) {
    const bits = ([8, 16, 32] as const)[i % 3];
    const v = value();
    const r = rangeAround(v);
    const x = pick(r, v);
    const out = signExtend(r, bits);
    const want = BigInt.asUintN(64, BigInt.asIntN(bits, x));
    assert.ok(holds(out, want), `(s${bits}) ${x} → ${want} not in range`);
    if (bits === 32) continue;
    const out32 = signExtend32(r, bits);
    const want32 = BigInt.asUintN(32, BigInt.asIntN(bits, x));
    assert.ok(holds(out32, want32), `w = (s${bits})w ${x} → ${want32}`);
  }
});
