/**
 * A script's enums (bpftrace 0.26: `enum Foo { ONE = 1, TWO };`): the
 * values of their enumerators, the type that makes them print as names,
 * and the located errors of definitions and casts that cannot be read.
 * What they print on both engines is in tests/parity/rows_enums.ts.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { parseCEnums } from "../../runtime/compiler/c_enums.ts";
import { prepareKernelTypes } from "../../runtime/compiler/kernel_types.ts";
import { failure, one } from "./harness.ts";

await prepareKernelTypes("enum");

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

Deno.test("parseCEnums: implicit values, a trailing comma, expressions, anonymous enums", () => {
  const e = parseCEnums([
    "struct s { int x; };",
    "enum Foo { A, B = 1 << 3, C, D = -1, E, F = 0x10 | 1, G = 010, };",
    "enum { X = 5, Y = X * 2 + B };",
    "enum Bar { P = 7UL, Q = (P + 1) % 5 };",
  ]);
  const v = (n: string) => e.constants.get(n)?.value;
  assert.deepEqual(
    ["A", "B", "C", "D", "E", "F", "G", "X", "Y", "P", "Q"].map(v),
    [0n, 8n, 9n, -1n, 0n, 17n, 8n, 5n, 18n, 7n, 3n],
  );
  assert.deepEqual(e.types.get("enum Foo")?.values.slice(0, 3), [
    ["0", "A"],
    ["8", "B"],
    ["9", "C"],
  ]);
  // An anonymous enum is no type to cast to, but its values have names.
  assert.deepEqual([...e.types.keys()], ["enum Foo", "enum Bar"]);
  assert.equal(e.constants.get("X")?.type.values[1][1], "Y");
  assert.deepEqual(e.errors, []);
});

Deno.test("parseCEnums: what cannot be read is an error naming the enum, once", () => {
  const e = parseCEnums([
    "enum A { ONE = 1, TWO = NOPE, THREE };",
    "enum B { 3x };",
    "enum C { X = 1 / 0 };",
    "enum D { X = 09 };",
  ]);
  assert.deepEqual(e.errors.map((x) => [x.index, x.message]), [
    [0, 'In enum A: the value of "TWO" is not an integer constant: "NOPE"'],
    [1, 'In enum B: cannot read enumerator "3x"'],
    [2, 'In enum C: the value of "X" is not an integer constant: "1 / 0"'],
    [3, 'In enum D: the value of "X" is not an integer constant: "09"'],
  ]);
  // The enumerators before the error stay defined.
  assert.equal(e.constants.get("ONE")?.value, 1n);
});

Deno.test("script enums: located errors of definitions and casts", () => {
  const cases: [string, number, number, string][] = [
    [
      "enum A { ONE = 1, TWO = NOPE }; begin { print(ONE); }",
      1,
      31,
      'In enum A: the value of "TWO" is not an integer constant: "NOPE"',
    ],
    [
      'enum Foo { ONE = 1 }; begin { print((enum Foo)"x"); }',
      37,
      13,
      "Cannot cast from string[2] to enum Foo",
    ],
    [
      "enum Foo { ONE = 1 }; begin { print((enum Fo)1); }",
      38,
      7,
      'Unknown type "enum Fo"',
    ],
  ];
  for (const [src, col, len, msg] of cases) {
    const got = failure(src);
    assert.ok(
      got.startsWith(one(src, col, len, msg)),
      `${src}\n--- got:\n${got}`,
    );
  }
});

Deno.test("script enums: an enumerator is typed as its enum; arithmetic gives a plain integer", () => {
  const p = compile(
    "enum Foo { ONE = 1, TWO }; begin { @a[ONE] = 1; @b[ONE + 1] = 1; @c[(enum Foo)2] = 1; }",
    { tracefsAvailable: false },
  );
  const value = (n: string) => p.maps.find((m) => m.name === n)?.key;
  assert.deepEqual(value("@a"), {
    kind: "int",
    size: 8,
    signed: true,
    show: "enum",
    enumerators: [["1", "ONE"], ["2", "TWO"]],
  });
  assert.deepEqual(value("@b"), { kind: "int", size: 8, signed: true });
  assert.equal((value("@c") as { show?: string }).show, "enum");
});

Deno.test("the CLI exits 2 on an enum it cannot read", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MOD,
      "--dry-run",
      "-e",
      "enum { A = B }; begin { print(A); }",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 2, err);
  assert.match(
    err,
    /^stdin:1:1: ERROR: In enum \(anonymous\): the value of "A" is not an integer constant: "B"$/m,
  );
});

Deno.test("C types of 0.26 scripts: typeof(), kernel typedefs in let, (void *), sizeof of an enumerator", () => {
  // tests/runtime/btf of v0.26.1: "void pointer types", "function pointer
  // types" (a kernel function pointer assigned over a (void *)0).
  for (
    const src of [
      "tracepoint:workqueue:workqueue_execute_start { $w = args->function; $w = (void *)0; }",
      "tracepoint:workqueue:workqueue_execute_start { $w = (void *)0; $t = (struct timer_list *)(args->work); $w = $t->function; }",
      "begin { let $a: typeof(size_t) = 1; let $b: typeof(size_t*) = &$a; let $c: typeof(struct task_struct *) = curtask; }",
      "begin { @ = sizeof(BTF_VAR_STATIC); }",
      // "redefine_btf_type": the script's struct task_struct is curtask's.
      "struct task_struct { int x; } begin { @ = curtask->x; }",
    ]
  ) {
    compile(src, { tracefsAvailable: false });
  }
  const cases: [string, number, number, string][] = [
    [
      // typeof() of an expression is its type; $x is undefined here.
      "begin { let $a: typeof($x) = 1; }",
      24,
      2,
      "Undefined or undeclared variable: $x",
    ],
    [
      "begin { let $a: typeof(nope_t) = 1; }",
      17,
      14,
      'Cannot declare a variable of type "nope_t"',
    ],
    ["begin { $x = (void)1; }", 15, 4, 'Unknown type "void"'],
    ["begin { @ = sizeof(NOPE_NOPE); }", 20, 9, 'Unknown type "NOPE_NOPE"'],
  ];
  for (const [src, col, len, msg] of cases) {
    const got = failure(src);
    assert.ok(
      got.startsWith(one(src, col, len, msg)),
      `${src}\n--- got:\n${got}`,
    );
  }
});
