import assert from "node:assert/strict";
import { entries, load, run, tpCtx, valueOf } from "./harness.ts";

/**
 * Every aggregation × {constant, large constant, expression} × {keyless,
 * keyed} compiles and passes our verifier, and computes what bpftrace
 * computes. Regression: a constant argument was put in a register on the
 * map-hit path only, so the insert path read an unset register.
 */

const AGGS = [
  "count()",
  "sum(V)",
  "avg(V)",
  "min(V)",
  "max(V)",
  "stats(V)",
  "hist(V)",
  "lhist(V, 0, 100, 10)",
];
const VALUES = ["0", "5", "-5", "0x123456789", "pid", "pid + 0x123456789"];
const KEYS = ["", "[1]", "[comm]", "[pid, comm]"];

Deno.test("every aggregation of a constant or an expression verifies", () => {
  const failed: string[] = [];
  let n = 0;
  for (const a of AGGS) {
    for (const v of VALUES) {
      for (const k of KEYS) {
        const src = `BEGIN { @m${k} = ${a.replace("V", v)}; @x = 1; exit(); }`;
        n++;
        try {
          load(src);
        } catch (e) {
          failed.push(`${src}: ${(e as Error).message.split("\n")[0]}`);
        }
      }
    }
  }
  assert.deepEqual(failed, []);
  assert.equal(n, AGGS.length * VALUES.length * KEYS.length);
});

Deno.test("every compound map assignment of a constant or an expression verifies", () => {
  const failed: string[] = [];
  const ops = ["+=", "-=", "|=", "^=", "&=", "*=", "/=", "%=", "<<=", ">>="];
  for (const o of ops) {
    for (const v of [...VALUES, "70"]) {
      for (const k of KEYS) {
        for (
          const src of [
            `BEGIN { @m${k} ${o} ${v}; @x = 1; exit(); }`,
            `BEGIN { $a = pid; $a ${o} ${v}; @y${k} = $a; exit(); }`,
          ]
        ) {
          try {
            load(src);
          } catch (e) {
            failed.push(`${src}: ${(e as Error).message.split("\n")[0]}`);
          }
        }
      }
    }
  }
  assert.deepEqual(failed, []);
});

Deno.test("max(5) and min(5) run twice: the insert and the update paths both store", () => {
  const l = load("BEGIN { @m = max(5); @n = min(5); @x = 1; exit(); }");
  run(l, "BEGIN");
  assert.deepEqual(entries(l, "@m")[0].value, [5n, 1n]);
  assert.deepEqual(entries(l, "@n")[0].value, [5n, 1n]);
  run(l, "BEGIN");
  assert.deepEqual(entries(l, "@m")[0].value, [5n, 1n]);
  assert.equal(valueOf(l, "@x"), 1n);
});

Deno.test("aggregations of constants and of fields agree with a reference", () => {
  const tp = "tracepoint:syscalls:sys_enter_read";
  const body = AGGS.flatMap((a, i) => [
    `@e${i}[comm] = ${a.replace("V", "(int64)args->count - 20")};`,
    `@c${i} = ${a.replace("V", "-7")};`,
    `@b${i} = ${a.replace("V", "0x123456789")};`,
  ]).join(" ");
  const l = load(`${tp} { ${body} }`, {}, { comm: "cat" });
  const xs = [3, 40, 25, 0, 99, 150];
  for (const x of xs) run(l, tp, tpCtx(l, tp, { count: x }));
  const vs = xs.map((x) => BigInt(x - 20));
  const expect = (i: number, v: bigint[]): bigint[] => {
    const n = BigInt(v.length);
    const sum = v.reduce((a, b) => a + b, 0n);
    const min = v.reduce((a, b) => (b < a ? b : a));
    const max = v.reduce((a, b) => (b > a ? b : a));
    switch (AGGS[i].slice(0, AGGS[i].indexOf("("))) {
      case "count":
        return [n];
      case "sum":
        return [BigInt.asUintN(64, sum)];
      case "avg":
      case "stats":
        return [n, BigInt.asUintN(64, sum)];
      case "min":
        return [BigInt.asUintN(64, min), 1n];
      case "max":
        return [BigInt.asUintN(64, max), 1n];
    }
    return [];
  };
  const log2 = (x: bigint) =>
    x < 0n ? 0n : x === 0n ? 1n : BigInt(1 + x.toString(2).length);
  const lin = (x: bigint) => x < 0n ? 0n : x >= 100n ? 11n : x / 10n + 1n;
  const buckets = (v: bigint[], f: (x: bigint) => bigint) => {
    const m = new Map<bigint, bigint>();
    for (const x of v) m.set(f(x), (m.get(f(x)) ?? 0n) + 1n);
    return [...m].sort((a, b) => Number(a[0] - b[0]));
  };
  const got = (name: string) =>
    entries(l, name).map((e) =>
      e.bucket === undefined ? e.value : [e.bucket, e.value[0]]
    ).sort((a, b) => Number(a[0] - b[0]));
  AGGS.forEach((a, i) => {
    for (
      const [name, v] of [
        [`@e${i}`, vs],
        [`@c${i}`, xs.map(() => -7n)],
        [`@b${i}`, xs.map(() => 0x123456789n)],
      ] as const
    ) {
      const want = a.startsWith("hist")
        ? buckets(v, log2)
        : a.startsWith("lhist")
        ? buckets(v, lin)
        : [expect(i, v)];
      assert.deepEqual(got(name), want, `${name} = ${a}`);
    }
  });
});

Deno.test("compound assignments with constants match constant folding", () => {
  const ops = ["|", "^", "&", "*", "/", "%", "<<", ">>", "+", "-"];
  const body = ops.map((o, i) =>
    `$v${i} = pid; $v${i} ${o}= 0x123456789; @v${i} = $v${i}; ` +
    `@m${i} ${o}= 0x123456789; @m${i} ${o}= 3; ` +
    `$z${i} = pid; $z${i} ${o}= 0; @z${i} = $z${i}; ` +
    `$s${i} = pid; $s${i} ${o}= 67; @s${i} = $s${i};`
  ).join(" ");
  const l = load(`BEGIN { ${body} }`, {}, { pid: 1000 });
  run(l, "BEGIN");
  const apply = (o: string, a: bigint, b: bigint): bigint => {
    const ua = BigInt.asUintN(64, a);
    switch (o) {
      case "|":
        return a | b;
      case "^":
        return a ^ b;
      case "&":
        return a & b;
      case "*":
        return a * b;
      case "/":
        return b === 0n ? 0n : ua / b;
      case "%":
        return b === 0n ? a : ua % b;
      case "<<":
        return a << (b & 63n);
      case ">>":
        return ua >> (b & 63n);
      case "+":
        return a + b;
      default:
        return a - b;
    }
  };
  const u = (x: bigint) => BigInt.asUintN(64, x);
  ops.forEach((o, i) => {
    const val = (name: string) => u(BigInt(valueOf(l, name) as bigint));
    assert.equal(val(`@v${i}`), u(apply(o, 1000n, 0x123456789n)), `$v ${o}=`);
    assert.equal(
      val(`@m${i}`),
      u(apply(o, apply(o, 0n, 0x123456789n), 3n)),
      `@m ${o}=`,
    );
    assert.equal(val(`@z${i}`), u(apply(o, 1000n, 0n)), `$z ${o}= 0`);
    assert.equal(val(`@s${i}`), u(apply(o, 1000n, 67n)), `$s ${o}= 67`);
  });
});
