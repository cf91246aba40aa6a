/**
 * The functions of bpftrace 0.26 seen from the command line: `exit(code)`
 * as the process status, `errorf()`/`warnf()` on stderr, and named
 * parameters read by `getopt()` (`-- --name=value`, `--help`, errors),
 * checked against bpftrace v0.26.1's runtime tests.
 */

import assert from "node:assert/strict";
import { parseCli } from "../../runtime/cli_args.ts";
import { kernelSkipReason, runCli } from "./helpers.ts";

const kernelSkip = kernelSkipReason();
if (kernelSkip !== undefined) {
  console.log(`Skipping the kernel half of the function tests: ${kernelSkip}`);
}
const ENGINES = [
  { backend: "kernel", ignore: kernelSkip !== undefined },
  { backend: "interp", ignore: false },
];

function run(backend: string, args: string[]) {
  return runCli(["--backend", backend, ...args]);
}

Deno.test("named parameters: split from positional ones after --", () => {
  const o = parseCli([
    "-e",
    "begin {}",
    "p1",
    "--",
    "--aa=20",
    "p2",
    "--bb",
    "--cc=x=y",
  ]);
  assert.deepEqual(o.params, ["p1", "p2"]);
  assert.deepEqual(
    [...o.named],
    [["aa", "20"], ["bb", undefined], ["cc", "x=y"]],
  );
  assert.equal(parseCli(["-e", "begin {}"]).named.size, 0);
});

for (const { backend, ignore } of ENGINES) {
  Deno.test({
    name: `${backend}: exit(code) is the process's exit status`,
    ignore,
    async fn() {
      const r = await run(backend, ["-e", "begin { exit(69); }"]);
      assert.equal(r.code, 69, r.stderr);
      const end = await run(backend, [
        "-e",
        'begin { @a = 1; exit(3); } end { printf("end\\n"); }',
      ]);
      assert.equal(end.code, 3, end.stderr);
      assert.match(end.stdout, /end\n\n+@a: 1\n/);
    },
  });

  Deno.test({
    name: `${backend}: errorf and warnf print on stderr; --no-warnings`,
    ignore,
    async fn() {
      const prog =
        'begin { errorf("Something bad with args: %d, %s", 10, "arg2"); warnf("careful"); printf("out\\n"); exit(); }';
      const r = await run(backend, ["-e", prog]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /^stdin:1:9-62: ERROR: Something bad with args: 10, arg2$/m,
      );
      assert.match(r.stderr, /^stdin:1:64-80: WARNING: careful$/m);
      assert.doesNotMatch(r.stdout, /Something|careful/);
      const quiet = await run(backend, ["--no-warnings", "-e", prog]);
      assert.doesNotMatch(quiet.stderr, /careful/);
      assert.match(quiet.stderr, /ERROR: Something bad/);
    },
  });

  Deno.test({
    name: `${backend}: assert() fails with its message and status 1`,
    ignore,
    async fn() {
      const r = await run(backend, [
        "-e",
        'begin { assert(1 == 2, "My error message"); printf("not here\\n"); }',
      ]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /^stdin:1:9-43: ERROR: assert failed: My error message$/m,
      );
      assert.doesNotMatch(r.stdout, /not here/);
    },
  });
}

Deno.test("getopt: values, defaults, types from the default", async () => {
  const r = await run("interp", [
    "-e",
    'begin { print((getopt("aa", 20), getopt("bb", -1), getopt("cc", true), getopt("dd"), getopt("ee", "hello"))); exit(); }',
    "--",
    "--dd",
    "--aa=0xffffffffffffffff",
    "--bb=-10",
    "--cc=False",
  ]);
  assert.equal(r.code, 0, r.stderr);
  // bpftrace prints the booleans as false and true.
  assert.match(
    r.stdout,
    /^\(18446744073709551615, -10, false, true, hello\)$/m,
  );
  const mixed = await run("interp", [
    "-e",
    'begin { print(($1, getopt("aa", 10), getopt("bb", -1), $2, getopt("cc", "hello"), getopt("dd"))); exit(); }',
    "pos1",
    "--",
    "--aa=20",
    "--bb=5",
    "--cc=bye",
    "pos2",
    "--dd",
  ]);
  assert.match(mixed.stdout, /^\(pos1, 20, 5, pos2, bye, true\)$/m);
  const defaults = await run("interp", [
    "-e",
    'begin { printf("%d %d %s %d\\n", getopt("aa", 10, "AA"), getopt("bb", 1), getopt("s", "x"), getopt("f")); exit(); }',
  ]);
  assert.match(defaults.stdout, /^10 1 x 0$/m);
});

Deno.test("getopt: --help lists the options with their descriptions", async () => {
  const r = await run("interp", [
    "-e",
    'begin { print((getopt("aa", 10, "Description of aa"), getopt("bb", 1), getopt("cc"))); }',
    "--",
    "--help",
  ]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr.slice(r.stderr.indexOf("HINT")),
    "HINT: expected program options:\n--aa: Description of aa\n--bb\n--cc\n",
  );
  assert.equal(r.stdout, "");
  const none = await run("interp", ["-e", "begin { exit(); }", "--", "--help"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^HINT: no custom program options defined\.$/m);
});

Deno.test("getopt: unknown options and values of the wrong type", async () => {
  const unknown = await run("interp", [
    "-e",
    'begin { print(getopt("aa", 10)); }',
    "--",
    "--bb",
  ]);
  assert.equal(unknown.code, 1);
  assert.match(
    unknown.stderr,
    /^ERROR: unexpected program command line options: --bb\nHINT: expected program options: --aa$/m,
  );
  for (
    const [opt, def, msg] of [
      ["--aa=False", "10", "--aa invalid integer (value: False)"],
      ["--aa", "10", "--aa expects an integer (value: true)"],
      [
        "--aa=maybe",
        "true",
        "--aa expects a boolean (e.g. 'true') (value: maybe)",
      ],
      ["--aa", '"s"', "--aa expects a string (value: true)"],
      ["--aa=-1", "1", "--aa value is out of range (value: -1)"],
    ]
  ) {
    const r = await run("interp", [
      "-e",
      `begin { print(getopt("aa", ${def})); exit(); }`,
      "--",
      opt,
    ]);
    assert.equal(r.code, 1, opt);
    assert.match(
      r.stderr,
      new RegExp(
        `^ERROR: program command line option ${
          msg.replace(/[()'.]/g, "\\$&")
        }$`,
        "m",
      ),
    );
    assert.equal(r.stdout, "", opt);
  }
});
