/**
 * The fuzzers with a fixed seed, bounded to about half a minute: the
 * compiler fuzzer (mutated seed programs through lexer, parser, sema,
 * codegen and our verifier), the bytecode fuzzer (assembler, encoder,
 * disassembler, verifier, interpreter) and a few cases through the CLI.
 * Every case runs in a runner process with a 300 MB heap and a watchdog
 * (`main.ts`); `deno task fuzz --cases N --seed S` runs as many as asked.
 */
import assert from "node:assert/strict";
import { CompilerFuzzer } from "./compiler_fuzz.ts";
import { formatFinding, formatReport, SLOW_MS } from "./engine.ts";
import { fuzz } from "./main.ts";
import { seedPrograms } from "./seeds.ts";

const SEED = 0x7357;

Deno.test("fuzz: seeds come from the README, the scripts and the parity table", () => {
  const seeds = seedPrograms();
  assert.ok(seeds.length >= 80, `${seeds.length} seeds`);
  assert.ok(seeds.some((s) => s.includes("kfree_skb")));
});

Deno.test("fuzz: compiler, bytecode and CLI, fixed seed", async () => {
  const reports = await fuzz({
    plan: { compiler: [0, 12_000], bytecode: [0, 30_000], cli: [0, 3] },
    seed: SEED,
  });
  const findings = [];
  for (const [name, r] of reports) {
    console.log(formatReport(name, r));
    findings.push(...r.findings);
  }
  assert.equal(
    findings.length,
    0,
    findings.slice(0, 5).map((f) => formatFinding(f)).join("\n"),
  );
  const c = reports.get("compiler")!;
  assert.equal(c.cases, 12_000);
  // The mutations reach past the parser: some programs compile.
  assert.ok((c.outcomes.ok ?? 0) > 50, JSON.stringify(c.outcomes));
  const b = reports.get("bytecode")!;
  assert.ok((b.outcomes.accepted ?? 0) > 100, JSON.stringify(b.outcomes));
});

Deno.test("fuzz: pathological programs compile or fail located, in time", () => {
  const f = new CompilerFuzzer();
  const cases = [
    "BEGIN { $x = " + "(".repeat(20000) + " }",
    "BEGIN { $x = " + "-".repeat(20000) + "1; }",
    "BEGIN " + "{".repeat(20000),
    "BEGIN { $x = " + "1 + ".repeat(20000) + "1; }",
    "BEGIN { $x = 1; @y = " + "$x && ".repeat(5000) + "1; }",
    'BEGIN,END { printf("%d\\n", ' + "1 && ".repeat(5000) + "1); }",
    "BEGIN { " + "if (1) { } else ".repeat(3000) + "{ } }",
    "BEGIN { @x = " + "a->".repeat(5000) + "b; }",
    "BEGIN { @x[" + "1,".repeat(5000) + "1] = 1; }",
    'BEGIN { printf("' + "x".repeat(100000) + '"); }',
    'BEGIN { printf("' + "%d".repeat(10000) + '"); }',
    "BEGIN { @x = 18446744073709551616; @y = 99999999999999999999999; }",
    "k:" + "a".repeat(50000) + " { }",
    "BEGIN { " + "unroll(100) { ".repeat(5) + "@x++; " + "} ".repeat(5) + "}",
    "BEGIN { " + "@x = 1; ".repeat(30000) + "}",
    "BEGIN { " + "while (1) { ".repeat(150) + "break; " + "} ".repeat(150) +
    "}",
    "\0".repeat(1000),
  ];
  for (const src of cases) {
    const t0 = performance.now();
    const v = f.check(src);
    const ms = v.ms ?? performance.now() - t0;
    assert.equal(
      v.finding,
      undefined,
      `${JSON.stringify(src.slice(0, 60))}: ${v.finding?.detail}`,
    );
    // Three times the bound: this test runs in the shared test process.
    assert.ok(
      ms < 3 * SLOW_MS,
      `${JSON.stringify(src.slice(0, 60))}: ${ms} ms`,
    );
  }
});
