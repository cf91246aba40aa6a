/**
 * Property test of precedence and associativity: random expression trees
 * are printed with the fewest parentheses C-style precedence allows (by a
 * printer written here, independent of the parser), parsed back, and must
 * give the same tree.
 */
import assert from "node:assert/strict";
import { parse } from "../../runtime/lang/parser.ts";

type E =
  | { kind: "int"; value: bigint; raw: string }
  | { kind: "var"; name: string }
  | { kind: "builtin"; name: string }
  | { kind: "map"; name: string; keys: E[] }
  | { kind: "call"; name: string; args: E[] }
  | { kind: "field"; expr: E; field: string; arrow: boolean }
  | { kind: "unary"; op: string; expr: E }
  | { kind: "binary"; op: string; left: E; right: E }
  | { kind: "ternary"; cond: E; then: E; else: E };

/** Binding strength, lowest first (C order). */
const LEVELS = [
  ["||"],
  ["&&"],
  ["|"],
  ["^"],
  ["&"],
  ["==", "!="],
  ["<", "<=", ">", ">="],
  ["<<", ">>"],
  ["+", "-"],
  ["*", "/", "%"],
];
const PREC = new Map<string, number>();
LEVELS.forEach((ops, i) => ops.forEach((op) => PREC.set(op, i + 1)));
const UNARY_PREC = 20;
const ATOM_PREC = 30;

function prec(e: E): number {
  if (e.kind === "ternary") return 0;
  if (e.kind === "binary") return PREC.get(e.op)!;
  if (e.kind === "unary") return UNARY_PREC;
  return ATOM_PREC;
}

function print(e: E): string {
  const wrap = (x: E, need: boolean) => need ? `(${print(x)})` : print(x);
  switch (e.kind) {
    case "int":
      return e.raw;
    case "var":
      return `$${e.name}`;
    case "builtin":
      return e.name;
    case "map":
      return `@${e.name}` +
        (e.keys.length ? `[${e.keys.map(print).join(", ")}]` : "");
    case "call":
      return `${e.name}(${e.args.map(print).join(", ")})`;
    case "field":
      return `${wrap(e.expr, prec(e.expr) < ATOM_PREC)}${
        e.arrow ? "->" : "."
      }${e.field}`;
    case "unary":
      return `${e.op} ${wrap(e.expr, prec(e.expr) < UNARY_PREC)}`;
    case "binary": {
      const p = prec(e);
      return `${wrap(e.left, prec(e.left) < p)} ${e.op} ${
        wrap(e.right, prec(e.right) <= p)
      }`;
    }
    case "ternary":
      return `${wrap(e.cond, prec(e.cond) <= 0)} ? ${print(e.then)} : ${
        print(e.else)
      }`;
  }
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gen(rand: () => number, depth: number): E {
  const n = (k: number) => Math.floor(rand() * k);
  if (depth <= 0 || rand() < 0.2) {
    switch (n(5)) {
      case 0: {
        const v = n(1000);
        return { kind: "int", value: BigInt(v), raw: String(v) };
      }
      case 1:
        return { kind: "var", name: ["a", "b", "c"][n(3)] };
      case 2:
        return { kind: "builtin", name: ["pid", "comm", "arg0"][n(3)] };
      case 3:
        return {
          kind: "map",
          name: ["m", ""][n(2)],
          keys: rand() < 0.5 ? [] : [gen(rand, depth - 2)],
        };
      default:
        return {
          kind: "field",
          expr: { kind: "builtin", name: "args" },
          field: "f",
          arrow: rand() < 0.5,
        };
    }
  }
  const r = rand();
  if (r < 0.12) {
    return {
      kind: "unary",
      op: ["-", "!", "~", "*"][n(4)],
      expr: gen(rand, depth - 1),
    };
  }
  if (r < 0.2) {
    return {
      kind: "ternary",
      cond: gen(rand, depth - 1),
      then: gen(rand, depth - 1),
      else: gen(rand, depth - 1),
    };
  }
  if (r < 0.25) {
    return { kind: "call", name: "f", args: [gen(rand, depth - 1)] };
  }
  const ops = [...PREC.keys()];
  return {
    kind: "binary",
    op: ops[n(ops.length)],
    left: gen(rand, depth - 1),
    right: gen(rand, depth - 1),
  };
}

function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== "span") out[k] = strip(x);
    return out;
  }
  return v;
}

Deno.test("precedence: 2,000 random expressions print and parse back", () => {
  const rand = rng(1234);
  for (let i = 0; i < 2000; i++) {
    const e = gen(rand, 5);
    const text = print(e);
    const { ast } = parse(`BEGIN { $r = ${text}; }`);
    const s = ast.probes[0].body.stmts[0];
    assert.ok(s.kind === "assign");
    assert.deepEqual(strip(s.value), e, text);
  }
});

Deno.test("precedence: the printer really drops parentheses", () => {
  const e: E = {
    kind: "binary",
    op: "-",
    left: {
      kind: "binary",
      op: "-",
      left: { kind: "var", name: "a" },
      right: { kind: "var", name: "b" },
    },
    right: {
      kind: "binary",
      op: "*",
      left: { kind: "var", name: "c" },
      right: { kind: "var", name: "a" },
    },
  };
  assert.equal(print(e), "$a - $b - $c * $a");
});
