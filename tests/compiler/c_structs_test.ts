import assert from "node:assert/strict";
import { parseCStructs } from "../../runtime/compiler/c_layout.ts";
import { compile } from "../../runtime/compiler/compile.ts";
import { compileErrors as errors, load, run, valueOf } from "./harness.ts";

/**
 * sizeof(struct …) and offsetof(struct …, field) for structs declared in a
 * script's preamble, laid out as x86-64 C does (checked against gcc).
 */

const DEFS = [
  "struct foo { int a; char b[16]; u64 c; };",
  "struct bar { struct foo f; char x; void *p; const char *s, **pp, arr[3]; unsigned long long z; };",
  "union u { char c[5]; int i; short s; };",
  "struct mix { char a; short b; char c; int d; char e; long f; union u g; char h[3]; };",
  "struct tail { long l; char c; };",
  "struct nest { char k; struct tail t[2]; unsigned int m; };",
  // Nested definitions, anonymous members, packed (bpftrace 0.26).
  "struct nst { char a; struct inner { short s; long l; } in; struct { char c; int i; } an; union { int ui; char uc[6]; }; char z; };",
  "struct pk { char a; int b; struct { short s; char t; } q; long c; } __attribute__((packed));",
];

/** [C expression, member path or undefined for sizeof]. */
const QUERIES: [string, string, string[] | undefined][] = [
  ["sizeof(struct foo)", "struct foo", undefined],
  ["offsetof(struct foo, b)", "struct foo", ["b"]],
  ["offsetof(struct foo, c)", "struct foo", ["c"]],
  ["sizeof(struct bar)", "struct bar", undefined],
  ["offsetof(struct bar, f.c)", "struct bar", ["f", "c"]],
  ["offsetof(struct bar, x)", "struct bar", ["x"]],
  ["offsetof(struct bar, arr)", "struct bar", ["arr"]],
  ["offsetof(struct bar, z)", "struct bar", ["z"]],
  ["sizeof(union u)", "union u", undefined],
  ["sizeof(struct mix)", "struct mix", undefined],
  ["offsetof(struct mix, d)", "struct mix", ["d"]],
  ["offsetof(struct mix, f)", "struct mix", ["f"]],
  ["offsetof(struct mix, g)", "struct mix", ["g"]],
  ["offsetof(struct mix, h)", "struct mix", ["h"]],
  ["sizeof(struct nest)", "struct nest", undefined],
  ["offsetof(struct nest, t)", "struct nest", ["t"]],
  ["offsetof(struct nest, m)", "struct nest", ["m"]],
  ["sizeof(struct nst)", "struct nst", undefined],
  ["offsetof(struct nst, in.l)", "struct nst", ["in", "l"]],
  ["offsetof(struct nst, an.i)", "struct nst", ["an", "i"]],
  ["offsetof(struct nst, uc)", "struct nst", ["uc"]],
  ["offsetof(struct nst, z)", "struct nst", ["z"]],
  ["sizeof(struct inner)", "struct inner", undefined],
  ["sizeof(struct pk)", "struct pk", undefined],
  ["offsetof(struct pk, b)", "struct pk", ["b"]],
  ["offsetof(struct pk, q.t)", "struct pk", ["q", "t"]],
  ["offsetof(struct pk, c)", "struct pk", ["c"]],
];

/** What gcc says, or undefined when gcc is not there. */
function gccFigures(): number[] | undefined {
  const dir = Deno.makeTempDirSync({ prefix: "tsbpf_cstruct_" });
  try {
    const c = "#include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n" +
      "typedef uint64_t u64;\n" + DEFS.join("\n") + "\nint main(void) {\n" +
      QUERIES.map(([q]) => `  printf("%zu\\n", ${q});`).join("\n") +
      "\n  return 0;\n}\n";
    Deno.writeTextFileSync(`${dir}/s.c`, c);
    const cc = new Deno.Command("gcc", {
      args: ["-o", `${dir}/s`, `${dir}/s.c`],
      stderr: "null",
    }).outputSync();
    if (!cc.success) return undefined;
    const out = new Deno.Command(`${dir}/s`).outputSync();
    return new TextDecoder().decode(out.stdout).trim().split("\n").map(Number);
  } catch {
    return undefined;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const gcc = gccFigures();
if (gcc === undefined) console.log("Skipping the gcc layout check: no gcc");

Deno.test({
  name: "struct layouts agree with gcc",
  ignore: gcc === undefined,
  fn() {
    const t = parseCStructs(DEFS);
    assert.deepEqual(t.errors, []);
    const ours = QUERIES.map(([, name, path]) =>
      path === undefined ? t.sizeOf(name) : t.offsetOf(name, path)
    );
    assert.deepEqual(ours, gcc);
  },
});

Deno.test("sizeof and offsetof of preamble structs are constants in probes", () => {
  const src = DEFS.join("\n") +
    "\nBEGIN { @s = sizeof(struct foo); @o = offsetof(struct foo, c);" +
    " @n = offsetof(struct bar, f.c); @p = sizeof(struct bar *);" +
    " @a = sizeof(struct foo[3]); @u = sizeof(union u) + 1; }";
  const l = load(src);
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@s"), 32n);
  assert.equal(valueOf(l, "@o"), 24n);
  assert.equal(valueOf(l, "@n"), 24n);
  assert.equal(valueOf(l, "@p"), 8n);
  assert.equal(valueOf(l, "@a"), 96n);
  assert.equal(valueOf(l, "@u"), 9n);
  // Folded: no helper call computes them.
  const insns = compile(src).probes[0].insns;
  assert.ok(!insns.some((i) => i.code === 0x85 && i.imm !== 2));
});

Deno.test("sizeof/offsetof errors name the type and the field", () => {
  assert.deepEqual(errors("BEGIN { @ = sizeof(struct nope); }"), [
    'Unknown type "struct nope"',
  ]);
  assert.deepEqual(
    errors("struct foo { int a; };\nBEGIN { @ = offsetof(struct foo, zz); }"),
    ["'struct foo' has no field named 'zz'"],
  );
  assert.deepEqual(
    errors("struct foo { int a; };\nBEGIN { @ = offsetof(struct foo, a.b); }"),
    ["'struct foo.a' is not a struct or union"],
  );
  assert.deepEqual(
    errors("struct bf { int x : 3; };\nBEGIN { @ = sizeof(struct bf); }"),
    ['In struct bf: bit-fields are not supported: "int x : 3"'],
  );
  assert.deepEqual(
    errors("struct t { blah_t x; };\nBEGIN { @ = sizeof(struct t); }"),
    ['In struct t: unknown type "blah_t" of member "x"'],
  );
  // An unusable definition is only an error where it is used.
  assert.deepEqual(errors("struct bf { int x : 3; };\nBEGIN { @ = 1; }"), []);
});

Deno.test("C structs: a long member declaration is read in linear time", () => {
  // Found by the fuzzer: a regular expression backtracked quadratically,
  // 100,000 characters took about 50 s.
  const long = "x".repeat(100_000);
  const t0 = performance.now();
  const bad = parseCStructs([`struct foo { "${long}" ; };`]);
  const ok = parseCStructs([`struct foo { unsigned long ${long}[2]; };`]);
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  assert.equal(bad.errors.length, 1);
  assert.match(bad.errors[0].message, /cannot read member/);
  assert.equal(ok.errors.length, 0);
  assert.equal(ok.sizeOf("struct foo"), 16);
  // Declarators keep their stars, names and array lengths.
  const t = parseCStructs([
    "struct s { const char * const *pp, a [3] [2]; int *p; unsigned x; };",
  ]);
  assert.equal(t.errors.length, 0);
  assert.equal(t.offsetOf("struct s", ["a"]), 8);
  assert.equal(t.offsetOf("struct s", ["p"]), 16);
  assert.equal(t.offsetOf("struct s", ["x"]), 24);
  for (const d of ["int 9a;", "int [3];", "int a];", "*p;"]) {
    assert.equal(parseCStructs([`struct e { ${d} };`]).errors.length, 1, d);
  }
});
