import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { Helper } from "../../runtime/bpf/opcodes.ts";
import type { Insn } from "../../runtime/bpf/insn.ts";

/** How often a probe calls `helper`. */
function calls(insns: Insn[], helper: number): number {
  return insns.filter((i) => i.code === 0x85 && i.src === 0 && i.imm === helper)
    .length;
}

/** The BEGIN probe's instructions of `body`. */
function begin(body: string): Insn[] {
  return compile(`begin { ${body} }`).probes[0].insns;
}

Deno.test("find() looks its element up once, as 0.26's __lookup_elem", () => {
  const cases = [
    "$v = 0; if (find(@m, 1, $v)) { $v++; }",
    "$v = 0; if (!find(@m, 1, $v)) { $v++; }",
    "$v = 0; $r = find(@m, 1, $v);",
    '$s = ""; $r = find(@s, "k", $s);',
    "let $t; $r = find(@t, (1, 2), $t);",
  ];
  const decl = '@m[1] = 1; @s["k"] = "x"; @t[1, 2] = (3, "y");';
  const base = calls(begin(decl), Helper.map_lookup_elem);
  for (const c of cases) {
    const n = calls(begin(`${decl} ${c}`), Helper.map_lookup_elem);
    assert.equal(n - base, 1, c);
  }
});

Deno.test("find() as a condition jumps on the lookup's result, makes no 1", () => {
  const MOV64_IMM = 0xb7;
  const ones = (insns: Insn[]) =>
    insns.filter((i) => i.code === MOV64_IMM && i.dst === 0 && i.imm === 1)
      .length;
  for (const c of ["find(@m, 1, $v)", "!find(@m, 1, $v)"]) {
    const insns = begin(`@m[1] = 1; $v = 0; if (${c}) { @x = 2; }`);
    assert.equal(ones(insns), 0, c);
  }
  // As a value it is 1 on a hit.
  assert.equal(ones(begin("@m[1] = 1; $v = 0; $r = find(@m, 1, $v);")), 1);
});
