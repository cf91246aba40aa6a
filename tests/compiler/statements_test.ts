import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";

/** The error messages a script gets, and its warnings (no location). */
function diagnose(src: string): { errors: string[]; warnings: string[] } {
  try {
    const p = compile(src);
    return {
      errors: [],
      warnings: (p.config?.warnings ?? []).map((w) =>
        w.split("\n")[0].replace(/^stdin:\d+:\d+: WARNING: /, "")
      ),
    };
  } catch (e) {
    if (!(e instanceof CompileErrors)) throw e;
    return {
      errors: e.errors.map((x) => x.message),
      warnings: e.warnings.map((x) => x.message),
    };
  }
}

const HINT = (n: string) =>
  `; $${n} is only visible in the block that declares it (bpftrace 0.22 and later): declare it with "let $${n};" before that block`;

const ERRORS: [string, string][] = [
  [
    "begin { let $x = 1; if (1) { let $x = 2; } }",
    "Variable $x was already declared. Variable shadowing is not allowed.",
  ],
  [
    "begin { let $x; let $x; }",
    "Variable $x was already declared. Variable shadowing is not allowed.",
  ],
  // A name declared with let: 0.26's scoping, the use after the block is
  // an error with the migration hint.
  [
    "begin { if (1) { let $x = 1; } print($x); }",
    `Undefined or undeclared variable: $x${HINT("x")}`,
  ],
  [
    "begin { { let $x = 1; } { $x = 2; } if (1) { $y = $x; } }",
    `Undefined or undeclared variable: $x${HINT("x")}`,
  ],
  [
    "begin { let $x: struct_nope = 1; }",
    'Cannot declare a variable of type "struct_nope"',
  ],
  [
    'begin { let $x: u32 = "s"; }',
    "Type mismatch for $x: trying to assign value of type 'string[2]' when variable already contains a value of type 'uint64'",
  ],
  [
    'begin { { let $a = 1; } { let $a = "s"; $a = 2; } }',
    "Type mismatch for $a: trying to assign value of type 'int64' when variable already contains a value of type 'string[2]'",
  ],
  ["begin { continue; }", "continue used outside of a loop"],
  [
    "begin { let $i = 1; for ($i : 0..2) { } }",
    "Loop declaration shadows existing variable: $i",
  ],
  [
    "begin { for ($i : 0..2) { } print($i); }",
    `Undefined or undeclared variable: $i${HINT("i")}`,
  ],
  [
    "tracepoint:syscalls:sys_enter_read { for ($i : 0..2) { print(args->fd); } }",
    "'args' builtin is not allowed in a for-loop",
  ],
  [
    "uprobe:libc:getpid { for ($i : 0..2) { print(arg0); } }",
    "'arg0' builtin is not allowed in a for-loop",
  ],
  [
    'begin { for ($i : 0.."a") { } }',
    "Invalid type for a range bound: string[2]",
  ],
  [
    "begin { @m[1] = stats(2); for ($kv : @m) { } }",
    "A for loop cannot iterate over a map of stats()",
  ],
  [
    "begin { for ($i : 0..2) { for ($i : 0..2) { } } }",
    "Loop declaration shadows existing variable: $i",
  ],
  [
    "begin { @m = 2; for ($kv : @m) { } }",
    "A for loop needs a map with keys: @m has none",
  ],
  [
    "begin { @m[1] = hist(2); for ($kv : @m) { } }",
    "A for loop cannot iterate over a map of hist()",
  ],
  ["begin { for ($kv : @nope) { } }", "Undefined map: @nope"],
  [
    "let @a = hash(1); begin { @a = count(); }",
    "Incompatible map types. Type from declaration: hash. Type from value/key type: percpuhash",
  ],
  [
    "let @a = percpulruhash(1); begin { @a[1] = 2; }",
    "Incompatible map types. Type from declaration: percpulruhash. Type from value/key type: hash",
  ],
  [
    "let @a = foo(1); begin { }",
    "Invalid bpf map type: foo; valid types: hash, lruhash, percpuhash, percpulruhash",
  ],
  [
    "let @a = hash(0); begin { }",
    "Invalid number of entries 0: expected 1 to 4294967295",
  ],
  [
    "begin { $a = { let $b = 1; }; }",
    'A block used as a value must end with an expression without ";"',
  ],
  [
    "begin { $a = { let $b = 1; $b }; print($b); }",
    `Undefined or undeclared variable: $b${HINT("b")}`,
  ],
  [
    "begin { for ($kv : 5) { } }",
    'Expected a map or a range "start..end" to loop over, found a literal',
  ],
];

for (const [src, want] of ERRORS) {
  Deno.test(`compile error: ${src}`, () => {
    assert.deepEqual(diagnose(src).errors, [want]);
  });
}

Deno.test("0.17 scripts: a variable used outside the block that assigns it runs, with the hint as a warning", () => {
  const d = diagnose(
    "begin { if (1) { $x = 1; } else { $x = 2; } print($x); print($x); }",
  );
  assert.deepEqual(d.errors, []);
  assert.deepEqual(d.warnings, [
    `Variable $x is used outside the block that assigns it: bpftrace 0.22 and later reject this ("Undefined or undeclared variable")${
      HINT("x")
    }`,
  ]);
});

Deno.test("0.17 scripts: probe-scoped variables used in their block get no warning", () => {
  const d = diagnose(
    "begin { $x = 1; if ($x) { $x = 2; $y = $x; } print($x); }",
  );
  assert.deepEqual(d, { errors: [], warnings: [] });
});

Deno.test("let $x; read before assignment warns as bpftrace does", () => {
  const d = diagnose("begin { let $x; print($x); }");
  assert.deepEqual(d, {
    errors: [],
    warnings: ["Variable used before it was assigned: $x"],
  });
});

Deno.test("let: sibling declarations of one name get their own slots", () => {
  const p = compile(
    'begin { { let $a = 1; print($a); } { let $a = "str"; print($a); } }',
  );
  assert.equal(p.probes.length, 1);
});

Deno.test("a failed use renders with its location and the source line", () => {
  try {
    compile("begin { if (1) { let $x = 1; } print($x); }");
    assert.fail("expected an error");
  } catch (e) {
    assert.ok(e instanceof CompileErrors);
    assert.match(
      e.errors[0].format(e.source),
      /^stdin:1:38: ERROR: Undefined or undeclared variable: \$x;[^\n]*\nbegin \{ if \(1\) \{ let \$x = 1; \} print\(\$x\); \}\n {37}~~/,
    );
  }
});

Deno.test("for: ranges with run-time bounds and map loops compile to callbacks", () => {
  const p = compile(
    "begin { @m[1] = 2; $n = 3; for ($kv : @m) { print($kv); } for ($i : 0..$n) { print($i); } }",
  );
  const [probe] = p.probes;
  // ld_imm64 with BPF_PSEUDO_FUNC (src 4), then the helpers 164 and 181.
  const funcs = probe.insns.filter((i) => i.code === 0x18 && i.src === 4);
  const calls = probe.insns.filter((i) => i.code === 0x85 && i.src === 0)
    .map((i) => i.imm);
  assert.equal(funcs.length, 2);
  assert.ok(calls.includes(164) && calls.includes(181));
});

Deno.test("len(@m) counts with bpf_for_each_map_elem and one shared empty callback", () => {
  const p = compile(
    "begin { @m[1] = 2; @n[3] = count(); print(len(@m)); print(len(@n)); }",
  );
  const insns = p.probes[0].insns;
  const funcs = insns.flatMap((x, pc) =>
    x.code === 0x18 && x.src === 4 ? [pc + 1 + x.imm] : []
  );
  assert.equal(funcs.length, 2);
  assert.equal(funcs[0], funcs[1]);
  // The callback: r0 = 0; exit, the last function of the program.
  assert.equal(funcs[0], insns.length - 2);
  assert.deepEqual(
    [insns[funcs[0]].code, insns[funcs[0]].imm, insns[funcs[0] + 1].code],
    [0xb7, 0, 0x95],
  );
  const calls = insns.filter((i) => i.code === 0x85 && i.src === 0);
  assert.equal(calls.filter((i) => i.imm === 164).length, 2);
});

Deno.test("for over an aggregation map folds the CPUs' slots in the callback", () => {
  for (const agg of ["count()", "sum(1)", "min(1)", "max(1)", "avg(1)"]) {
    const p = compile(
      `begin { @m[1] = ${agg}; for ($kv : @m) { print($kv.1); } }`,
    );
    const calls = p.probes[0].insns.filter((i) => i.code === 0x85)
      .map((i) => i.imm);
    // map_lookup_percpu_elem (195) after for_each_map_elem (164).
    assert.ok(calls.indexOf(195) > calls.indexOf(164), agg);
  }
});

Deno.test("for: a small constant range is an inline loop, without callbacks", () => {
  const p = compile("begin { for ($i : 0..10) { print($i); } }");
  const funcs = p.probes[0].insns.filter((i) => i.code === 0x18 && i.src === 4);
  assert.equal(funcs.length, 0);
});

Deno.test("map declarations set the BPF map type and max entries", () => {
  const p = compile(`let @a = hash(10); let @b = lruhash(20);
let @c = percpuhash(30); let @d = percpulruhash(40);
begin { @a[1] = 1; @b[1] = 1; @c = count(); @d[1] = sum(2); @e[1] = 1; }`);
  const spec = (n: string) => p.maps.find((m) => m.name === n)!;
  assert.deepEqual(
    ["@a", "@b", "@c", "@d"].map((n) => [spec(n).type, spec(n).maxEntries]),
    [[1, 10], [9, 20], [5, 30], [10, 40]],
  );
  assert.equal(spec("@e").maxEntries, 4096);
});

Deno.test("a declared map no probe uses is warned about", () => {
  assert.deepEqual(diagnose("let @a = percpuhash(1); begin { }"), {
    errors: [],
    warnings: ["Unused map: @a"],
  });
});

Deno.test("map declarations of an imported script apply", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/lib.bt`, "let @a = lruhash(3);\n");
    const main = `${dir}/main.bt`;
    const src = 'import "lib.bt";\nbegin { @a[1] = 1; }\n';
    Deno.writeTextFileSync(main, src);
    const p = compile(src, { fileName: main });
    const a = p.maps.find((m) => m.name === "@a")!;
    assert.deepEqual([a.type, a.maxEntries], [9, 3]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
