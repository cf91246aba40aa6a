/**
 * bpftrace 0.17 spellings that bpftrace 0.26 refuses and tsbpf still
 * runs: they run, with bpftrace's migration hint as a warning on standard
 * error (silenced by --no-warnings).
 */

import assert from "node:assert/strict";
import { parseCli } from "../../runtime/cli_args.ts";
import { runCli } from "./helpers.ts";

Deno.test("migration hints: -kk and -d without a stage are found; a stage or one -k is not a hint", () => {
  assert.equal(parseCli(["-kk", "-e", "x"]).migrationHints.length, 1);
  assert.equal(parseCli(["-k", "-k", "-e", "x"]).migrationHints.length, 1);
  assert.deepEqual(parseCli(["-k", "-e", "x"]).migrationHints, []);
  assert.match(
    parseCli(["-d", "-e", "x"]).migrationHints[0],
    /^-d takes a stage since bpftrace 0\.20/,
  );
  assert.equal(parseCli(["-dd", "-e", "x"]).migrationHints.length, 1);
  assert.deepEqual(parseCli(["-d", "dis", "-e", "x"]).migrationHints, []);
  assert.deepEqual(parseCli(["-e", "x", "--", "-kk"]).migrationHints, []);
});

Deno.test("migration hints: -kk runs and prints bpftrace's hint; --no-warnings silences it", async () => {
  const prog = 'begin { printf("ran\\n"); exit(); }';
  const r = await runCli(["--backend", "interp", "-kk", "-e", prog]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "ran\n\n\n");
  assert.match(
    r.stderr,
    /^tsbpf: WARNING: -kk has been deprecated\. Use a single -k for runtime warnings for errors in map lookups and probe reads\.$/m,
  );
  const quiet = await runCli([
    "--backend",
    "interp",
    "-kk",
    "--no-warnings",
    "-e",
    prog,
  ]);
  assert.equal(quiet.code, 0);
  assert.doesNotMatch(quiet.stderr, /WARNING/);
});
