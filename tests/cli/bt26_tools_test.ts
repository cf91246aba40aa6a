/**
 * bpftrace 0.26.1's own tools (copies in tests/fixtures/bt26/) compile
 * with `--backend interp --dry-run`, without privileges (as the user
 * nobody where the machine can switch to it): their 0.26 syntax, `if $x {`
 * without parentheses and `interval:1s`, is read. Where a tool still
 * fails, every error must be one of another feature listed below, none a
 * syntax error.
 */

import assert from "node:assert/strict";
import {
  type CliRun,
  hasStackTrace,
  nobodySkipReason,
  runCli,
  runCliAsNobody,
} from "./helpers.ts";

const DIR = new URL("../fixtures/bt26/", import.meta.url).pathname;

/**
 * Errors that belong to features outside this test's subject, with the
 * feature: `.` on a pointer (auto-dereference), a map keyed by a tuple
 * of several values used with one tuple key, `delete()` used as a value,
 * and a kernel symbol this machine's /proc/kallsyms does not list (or
 * hides from an unprivileged user).
 */
const OTHER_FEATURES: [RegExp, string][] = [
  [/^Cannot access field "\w+" of struct \w+ \* with "\."/, "auto-deref"],
  [/^Cannot access field "\w+" of a value of type int64$/, "auto-deref"],
  [/^Argument mismatch for @\w+: map has \d+ keys, used with 1$/, "tuple key"],
  [/^Type mismatch for "==": comparing int64 with string/, "tuple key"],
  [/^printf: %s specifier expects a value of type string/, "tuple key"],
  [/^delete\(\) cannot be used as a value$/, "delete() value"],
  [/^Cannot assign a value of type none$/, "delete() value"],
  [/^Failed to resolve kernel symbol: avenrun$/, "kallsyms"],
];

/** Tools that must compile as they are, on any machine. */
const CLEAN = ["pidpersec.bt", "swapin.bt", "syscount.bt"];

/**
 * The tools whose 0.26 syntax this test covers (the folder may hold
 * others, tested elsewhere).
 */
const TOOLS = [
  "loads.bt",
  "oomkill.bt",
  "opensnoop.bt",
  "pidpersec.bt",
  "runqlat.bt",
  "swapin.bt",
  "syscount.bt",
];

const asNobody = nobodySkipReason() === undefined;
if (!asNobody) {
  console.log(
    `bt26_tools_test: runs as the current user: ${nobodySkipReason()}`,
  );
}

function dryRun(file: string): Promise<CliRun> {
  const args = ["--backend", "interp", "--dry-run", file];
  return asNobody ? runCliAsNobody(args) : runCli(args);
}

Deno.test("bt26 tools: the copies keep bpftrace's header", () => {
  for (const t of TOOLS) {
    assert.match(Deno.readTextFileSync(DIR + t), /^#!\/usr\/bin\/env bpftrace/);
  }
});

for (const tool of TOOLS) {
  Deno.test(`bt26 tools: ${tool} compiles, or fails only on other features`, async () => {
    const r = await dryRun(DIR + tool);
    assert.ok(!hasStackTrace(r.stderr), r.stderr);
    if (CLEAN.includes(tool)) {
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /ERROR/);
      return;
    }
    if (r.code === 0) return;
    assert.equal(r.code, 2, r.stderr);
    const errors = [...r.stderr.matchAll(/^\S+:\d+:\d+: ERROR: (.*)$/gm)]
      .map((m) => m[1]);
    assert.ok(errors.length > 0, r.stderr);
    const unexplained = errors.filter((e) =>
      !OTHER_FEATURES.some(([re]) => re.test(e))
    );
    assert.deepEqual(unexplained, [], r.stderr);
  });
}
