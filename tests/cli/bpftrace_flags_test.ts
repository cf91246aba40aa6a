/**
 * bpftrace's flags `-q`, `-k`/`-kk`, `--no-warnings`, `--include` and the
 * `__BPFTRACE_NOTIFY_PROBES_ATTACHED` environment variable, on both
 * engines.
 */

import assert from "node:assert/strict";
import { parseCli } from "../../runtime/cli_args.ts";
import { kernelSkipReason, runCli } from "./helpers.ts";

const NOTIFY = "__BPFTRACE_NOTIFY_PROBES_ATTACHED";
const kernelSkip = kernelSkipReason();
if (kernelSkip !== undefined) {
  console.log(`Skipping the kernel half of the flag tests: ${kernelSkip}`);
}
const ENGINES = [
  { backend: "kernel", ignore: kernelSkip !== undefined },
  { backend: "interp", ignore: false },
];

Deno.test("flags: bpftrace 0.26's long spellings and -V", () => {
  const o = parseCli([
    "--quiet",
    "--verbose",
    "--warnings",
    "--pid",
    "42",
    "--cmd",
    "true",
    "--output",
    "out.txt",
    "-e",
    "x",
  ]);
  assert.deepEqual(
    [o.quiet, o.verbose, o.helperErrors, o.pid, o.command, o.output],
    [true, true, true, 42, "true", "out.txt"],
  );
  assert.equal(parseCli(["--list", "t:skb:*"]).list, "t:skb:*");
  assert.equal(parseCli(["-V"]).version, true);
});

Deno.test("flags: parsed, --include repeatable in both spellings", () => {
  const o = parseCli([
    "-q",
    "-kk",
    "--no-warnings",
    "--include",
    "linux/path.h",
    "--include=linux/dcache.h",
    "-e",
    "begin {}",
    "--",
    "--include",
  ]);
  assert.equal(o.quiet, true);
  assert.equal(o.helperErrors, true);
  assert.equal(o.noWarnings, true);
  assert.deepEqual(o.includes, ["linux/path.h", "linux/dcache.h"]);
  // After --, --name is a named parameter for getopt() (0.26).
  assert.deepEqual(o.params, []);
  assert.deepEqual([...o.named], [["include", undefined]]);
  const none = parseCli(["-e", "begin {}"]);
  assert.deepEqual(
    [none.quiet, none.helperErrors, none.noWarnings, none.includes],
    [false, false, false, []],
  );
  assert.throws(() => parseCli(["--include"]), /'--include' needs a value/);
});

for (const { backend, ignore } of ENGINES) {
  Deno.test({
    name:
      `flags ${backend}: -q prints no attach line, the script's output stays`,
    ignore,
    async fn() {
      const prog = 'begin { printf("hi\\n"); exit(); }';
      const loud = await runCli(["--backend", backend, "-e", prog]);
      assert.equal(loud.code, 0, loud.stderr);
      assert.match(loud.stderr, /^Attached 1 probe\b/m);
      assert.match(loud.stdout, /^hi\n/);
      const q = await runCli(["--backend", backend, "-q", "-e", prog]);
      assert.equal(q.code, 0, q.stderr);
      assert.doesNotMatch(q.stdout + q.stderr, /Attach/);
      assert.match(q.stdout, /^hi\n/);
    },
  });

  Deno.test({
    name:
      `flags ${backend}: ${NOTIFY} is printed on stdout once probes are attached`,
    ignore,
    async fn() {
      const prog =
        'begin { printf("begun\\n"); } interval:ms:50 { printf("tick\\n"); exit(); }';
      const r = await runCli(["--backend", backend, "-e", prog], {
        env: { [NOTIFY]: "1" },
      });
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split("\n");
      assert.equal(lines.filter((l) => l === NOTIFY).length, 1);
      const at = lines.indexOf(NOTIFY);
      assert.match(r.stderr, /^Attached 2 probes\b/m);
      assert.ok(at < lines.indexOf("begun") && at < lines.indexOf("tick"));
      const plain = await runCli(["--backend", backend, "-e", prog]);
      assert.doesNotMatch(plain.stdout, new RegExp(NOTIFY));
    },
  });
}

Deno.test("flags: -k and -kk are accepted and say they have nothing to do; --no-warnings silences that", async () => {
  const prog = "begin { exit(); }";
  for (const k of ["-k", "-kk"]) {
    const r = await runCli(["--backend", "interp", k, "-e", prog]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /WARNING: -k has nothing to do: tsbpf does not report BPF helper errors yet/,
    );
  }
  const quiet = await runCli([
    "--backend",
    "interp",
    "-k",
    "--no-warnings",
    "-e",
    prog,
  ]);
  assert.equal(quiet.code, 0);
  assert.doesNotMatch(quiet.stderr, /WARNING/);
});

Deno.test("flags: --include is an #include of the preamble (types come from BTF); line numbers stay the script's", async () => {
  const prog =
    'begin { printf("%d\\n", sizeof(struct path)); exit(); }\nbegin { @x = nope; }';
  const r = await runCli([
    "--backend",
    "interp",
    "--include",
    "linux/path.h",
    "-e",
    prog,
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^stdin:2:/m, "the error is on the script's line 2");
  const ok = await runCli([
    "--backend",
    "interp",
    "-q",
    "--include",
    "linux/path.h",
    "-e",
    'begin { printf("%d\\n", sizeof(struct path)); exit(); }',
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), "16");
});

for (const { backend, ignore } of ENGINES) {
  Deno.test({
    name:
      `config ${backend}: print_maps_on_exit=0 prints no maps; warnings on stderr unless --no-warnings`,
    ignore,
    async fn() {
      const prog = 'config = { print_maps_on_exit = 0; license = "GPL" }\n' +
        'begin { @test = 1; @m["k"] = count(); printf("x\\n"); exit(); }';
      const r = await runCli(["--backend", backend, "-e", prog]);
      assert.equal(r.code, 0, r.stderr);
      // The end of the output, two newlines, without the maps (bpftrace
      // 0.26 src/bpftrace.cpp, src/output/text.cpp TextOutput::end).
      assert.equal(r.stdout, "x\n\n\n");
      assert.match(
        r.stderr,
        /^stdin:1:36: WARNING: license is not supported by tsbpf: ignored\n/m,
      );
      const printed = await runCli([
        "--backend",
        backend,
        "--no-warnings",
        "-e",
        prog.replace("= 0", "= 1"),
      ]);
      assert.equal(printed.code, 0, printed.stderr);
      assert.match(printed.stdout, /^x\n\n\n@m\[k\]: 1\n\n?@test: 1\n$/);
      assert.doesNotMatch(printed.stderr, /WARNING/);
    },
  });
}

Deno.test("config: a bad key is a compile error with bpftrace's wording", async () => {
  const r = await runCli(["-e", "config = { bad_config=raw } begin {}"]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^stdin:1:12: ERROR: bad_config: not a known configuration option\n/,
  );
});
