/**
 * bpftrace 0.26's `-d STAGE` (mapped to tsbpf's stages) and
 * `--probe-filter REGEX`, on both engines where an engine applies.
 */

import assert from "node:assert/strict";
import { parseCli } from "../../runtime/cli_args.ts";
import { kernelSkipReason, runCli, tempFile } from "./helpers.ts";

const kernelSkip = kernelSkipReason();
if (kernelSkip !== undefined) {
  console.log(`Skipping the kernel half of -d/--probe-filter: ${kernelSkip}`);
}
const ENGINES = [
  { backend: "kernel", ignore: kernelSkip !== undefined },
  { backend: "interp", ignore: false },
];

Deno.test("-d: stages parsed as bpftrace names them; -d alone is the bytecode; a wrong stage is a usage error", () => {
  assert.deepEqual(parseCli(["-d", "ast", "-e", "x"]).debug, ["ast"]);
  assert.deepEqual(parseCli(["-d", "ast,types", "-e", "x"]).debug, [
    "ast",
    "types",
  ]);
  assert.deepEqual(parseCli(["--debug=dis", "-e", "x"]).debug, ["dis"]);
  assert.deepEqual(parseCli(["-dverifier", "-e", "x"]).debug, ["verifier"]);
  assert.equal(parseCli(["-d", "all", "-e", "x"]).debug.length, 8);
  const plain = parseCli(["-d", "-e", "x"]);
  assert.deepEqual([plain.debug, plain.disasm], [["dis"], true]);
  assert.equal(parseCli(["-d", "codegen", "-e", "x"]).disasm, true);
  assert.equal(parseCli(["-d", "ast", "-e", "x"]).disasm, false);
  assert.deepEqual(parseCli(["-e", "x"]).debug, []);
  // A script file after -d stays the script.
  const file = tempFile("begin { exit(); }", ".bt");
  try {
    const o = parseCli(["-d", file]);
    assert.deepEqual([o.file, o.debug], [file, ["dis"]]);
  } finally {
    Deno.removeSync(file);
  }
  assert.throws(
    () => parseCli(["-d", "nope", "-e", "x"]),
    /Invalid option for -d: "nope"/,
  );
});

Deno.test("-d parse, ast, types: the program as parsed, after macro expansion, and its types", async () => {
  const r = await runCli([
    "--dry-run",
    "-d",
    "parse,ast,types",
    "-e",
    'macro twice(x) { x * 2 } begin { $a = twice(3); @m[comm, 1] = count(); @v = "s"; exit(); }',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const [parsed, lowered] = r.stdout.split("AST\n---\n");
  assert.match(parsed, /^Parsed program\n-+\nbegin \{\n {2}\$a = twice\(3\);/);
  assert.doesNotMatch(lowered, /twice/, "the macro is expanded");
  assert.match(lowered, /^ {2}\$a = 3 \* 2;$/m);
  assert.match(r.stdout, /^Types\n-----\n/m);
  assert.match(r.stdout, /^@m\[\(string\[16\],int64\)\]: count\(\)$/m);
  assert.match(r.stdout, /^@v: string\[\d+\]$/m);
  assert.match(r.stdout, /^BEGIN: \$a: int64$/m);
  assert.doesNotMatch(r.stdout, /attach: /, "no bytecode unless asked");
});

Deno.test("-d parse and ast leave later errors pointing into the script", async () => {
  const src = "BEGIN { @x = foo(1); }";
  const r = await runCli(["--dry-run", "-d", "parse,ast", "-e", src]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^stdin:1:14: ERROR: Unknown function: "foo"\nBEGIN \{ @x = foo\(1\); \}\n {13}~{6}$/m,
  );
});

Deno.test({
  name:
    "-d verifier: the kernel verifier's log of every probe (--dry-run loads, then releases)",
  ignore: kernelSkip !== undefined,
  async fn() {
    const r = await runCli([
      "--dry-run",
      "-d",
      "verifier",
      "-e",
      "begin { @x = 1; exit(); } end { @y = 2; }",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Verifier log of BEGIN\n/m);
    assert.match(r.stdout, /^Verifier log of END\n/m);
    assert.match(r.stdout, /processed \d+ insns/);
  },
});

Deno.test("-d libbpf says it has nothing to print; -d dis prints the bytecode", async () => {
  const r = await runCli([
    "--dry-run",
    "-d",
    "libbpf,dis",
    "-e",
    "begin { exit(); }",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /-d libbpf has nothing to print/);
  assert.match(r.stdout, /^BEGIN \(raw_tracepoint, \d+ instructions\)$/m);
});

for (const { backend, ignore } of ENGINES) {
  Deno.test({
    name:
      `--probe-filter ${backend}: only matching probes attach, begin and end always run`,
    ignore,
    async fn() {
      const prog = 'BEGIN { printf("begin\\n"); } ' +
        'interval:ms:100 { printf("bad\\n"); exit(); } ' +
        'interval:ms:200 { printf("a\\n"); } ' +
        'interval:ms:600 { printf("b\\n"); exit(); } END { printf("end\\n"); }';
      const r = await runCli([
        "--backend",
        backend,
        "--probe-filter",
        "interval:ms:(200|600)",
        "-e",
        prog,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^Attached 4 probes\b/m);
      // `a` every 200 ms until `b` ends the run (a loaded machine may run
      // one more or one fewer): the 100 ms probe never.
      assert.match(r.stdout, /^begin\n(a\n)+b\nend\n\n\n$/);
      const none = await runCli([
        "--backend",
        backend,
        "--probe-filter",
        "nonexistent_probe_xyz_42",
        "-e",
        prog,
      ]);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /^ERROR: No probes to attach$/m);
      assert.equal(none.stdout, "");
    },
  });
}

Deno.test("--probe-filter: an invalid regex is an error naming it", async () => {
  const r = await runCli([
    "--backend",
    "interp",
    "--probe-filter",
    "[invalid",
    "-e",
    "begin { exit(); } interval:s:1 { }",
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^ERROR: Invalid --probe-filter regex '\[invalid'/m);
});
