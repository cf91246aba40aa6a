/**
 * Where the CLI reads its program: `-e`, a file, or `-` for standard input
 * (as bpftrace); a file it cannot read is one line in the system's words.
 */
import assert from "node:assert/strict";
import { hasStackTrace, runCli } from "./helpers.ts";

Deno.test("tsbpf - reads the program from standard input, named stdin", async () => {
  const ok = await runCli(["--backend", "interp", "-"], {
    stdin: 'BEGIN { printf("from stdin\\n"); exit(); }\n',
  });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), "from stdin");
  const bad = await runCli(["-"], { stdin: "BEGIN { x }\n" });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^stdin:1:9: ERROR: Unknown identifier: "x"$/m);
  const empty = await runCli(["-"], { stdin: "" });
  assert.notEqual(empty.code, 0);
  assert.ok(!hasStackTrace(empty.stderr), empty.stderr);
});

Deno.test("a script file that cannot be read is one line, exit 1", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const missing = await runCli([`${dir}/none.bt`]);
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr,
      `ERROR: Cannot read "${dir}/none.bt": ENOENT (No such file or directory)\n`,
    );
    const folder = await runCli([dir]);
    assert.equal(folder.code, 1);
    assert.equal(
      folder.stderr,
      `ERROR: Cannot read "${dir}": EISDIR (Is a directory)\n`,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
