/**
 * Staged maps with several keys are maps keyed by one tuple, as bpftrace
 * 0.26's `@m[a, b]` and `@m[(a, b)]`: a typed map takes its keys one by
 * one or as one tuple, and both stage the same element of one map; the
 * API reads either as the same `[a, b]` key.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { compileStaged, stage } from "../../runtime/staging/stage.ts";
import { tuple } from "../../runtime/staging/expr.ts";
import type { Str, U32 } from "../../runtime/staging/types.ts";
import { trace } from "../../mod.ts";

const OPTS = { tracefsAvailable: false };
const OPENAT = "tracepoint:syscalls:sys_enter_openat";

Deno.test("a typed map takes several keys one by one or as one tuple", () => {
  const staged = stage((t) => {
    const m = t.map<[U32, Str], "count">("m");
    t.probe(OPENAT, (c) => {
      m.at(c.pid, c.comm).count();
      m.at(tuple(c.pid, c.comm)).count();
      // @ts-expect-error: a tuple of other key types
      m.at(tuple(c.comm, c.pid)).count();
    });
  });
  assert.throws(() => compileStaged(staged, OPTS), /Argument mismatch for @m/);
  const ok = stage((t) => {
    const m = t.map<[U32, Str], "count">("m");
    t.probe(OPENAT, (c) => {
      m.at(c.pid, c.comm).count();
      m.at(tuple(c.pid, c.comm)).count();
    });
  });
  const p = compileStaged(ok, OPTS);
  const text = compile(
    `${OPENAT} { @m[pid, comm] = count(); @m[(pid, comm)] = count(); }`,
    OPTS,
  );
  assert.deepEqual(
    p.maps.filter((m) => m.name === "@m"),
    text.maps.filter((m) => m.name === "@m"),
  );
  assert.deepEqual(p.probes[0].insns, text.probes[0].insns);
});

Deno.test("the API reads a map keyed by a tuple variable as [a, b] keys", async () => {
  await using s = await trace(
    `BEGIN { $t = (7, "x"); @m[$t] = 1; @m[(8, "y")] = 2; @m[9, "z"] = 3; exit(); }`,
    { backend: "interp", durationMs: 0 },
  );
  assert.equal(await s.run(), "exit");
  const m = s.map<[number, string], number>("m");
  assert.deepEqual(m.entries(), [[[7, "x"], 1], [[8, "y"], 2], [[9, "z"], 3]]);
  assert.equal(m.get(8, "y"), 2);
  assert.equal(m.get(7, "x"), 1);
});
