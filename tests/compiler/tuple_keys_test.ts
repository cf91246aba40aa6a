/**
 * Maps with several keys are maps keyed by one tuple (bpftrace 0.22 and
 * later): `@m[a, b]`, `@m[(a, b)]` and `@m[$t]` name the same element,
 * compile to the same code, and a genuine mismatch is a located error in
 * 0.26's words (tests/type_checker.cpp at v0.26.1).
 *
 * @module
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";

/** The formatted errors of `src`, or "" when it compiles. */
function errorsOf(src: string): string {
  try {
    compile(src, { tracefsAvailable: false });
  } catch (e) {
    if (e instanceof CompileErrors) return e.format();
    throw e;
  }
  return "";
}

Deno.test("@m[a, b] and @m[(a, b)] compile to the same code and map", () => {
  const probe = "tracepoint:syscalls:sys_enter_openat";
  const a = compile(`${probe} { @[pid, comm] = count(); }`);
  const b = compile(`${probe} { @[(pid, comm)] = count(); }`);
  assert.deepEqual(b.probes[0].insns, a.probes[0].insns);
  assert.deepEqual(b.maps, a.maps);
});

Deno.test("tuple keys written either way are one map", () => {
  for (
    const src of [
      "BEGIN { @x[1,2] = 0; @x[3,4]; }",
      "BEGIN { @x[1, 1] = 0; @x[(3, 4)]; }",
      "BEGIN { @x[1, ((int8)2, ((int16)3, 4))] = 0; @x[5, (6, (7, 8))]; }",
      'BEGIN { $k = (1, "a"); @x[$k] = 0; @x[2, "bcd"] = 1; }',
      'BEGIN { @x[(1, "a")] = 0; if (has_key(@x, (2, "b"))) { delete(@x, (2, "b")); } }',
      'BEGIN { @x[1, "a"] = 0; $k = (2, "b"); if (has_key(@x, $k)) { delete(@x, $k); } }',
      "BEGIN { @map[1, 2] = 1; for ($kv : @map) { @map[$kv.0] = 2; } }",
      'BEGIN { @y[1, "hi"] = 5; delete(@y[1, "longerstr"]); }',
    ]
  ) {
    assert.equal(errorsOf(src), "", src);
  }
});

Deno.test("a key of another shape is a located error in 0.26's words", () => {
  assert.equal(
    errorsOf("BEGIN { @x[1] = 0; @x[2,3]; }"),
    "stdin:1:20: ERROR: Argument mismatch for @x: trying to access with arguments: '(int64,int64)' when map expects arguments: 'int64'\n" +
      "BEGIN { @x[1] = 0; @x[2,3]; }\n" +
      "                   ~~~~~~~",
  );
  assert.equal(
    errorsOf("BEGIN { @x[1,2] = 0; @x[3]; }").split("\n")[0],
    "stdin:1:22: ERROR: Argument mismatch for @x: trying to access with arguments: 'int64' when map expects arguments: '(int64,int64)'",
  );
  assert.equal(
    errorsOf(
      "BEGIN { @map[1, 2] = 1; for ($kv : @map) { @map[$kv.0.0] = 2; } }",
    ).split("\n")[0],
    "stdin:1:44: ERROR: Argument mismatch for @map: trying to access with arguments: 'int64' when map expects arguments: '(int64,int64)'",
  );
  assert.match(
    errorsOf("BEGIN { @y[(3, 4, 5)] = 5; delete(@y, (1, 2)); }"),
    /^stdin:1:35: ERROR: Argument mismatch for @y: trying to access with arguments: '\(int64,int64\)' when map expects arguments: '\(int64,int64,int64\)'\n/,
  );
  assert.match(
    errorsOf('BEGIN { $k = (1, "a"); @x[$k] = 0; @x["b", 1]; }'),
    /^stdin:1:36: ERROR: Argument mismatch for @x: trying to access with arguments: '\(string\[2\],int64\)' when map expects arguments: '\(int64,string\[2\]\)'\n/,
  );
  assert.match(
    errorsOf("BEGIN { @a[1, 2] = 1; delete(@a, 1); }"),
    /^stdin:1:30: ERROR: Argument mismatch for @a: trying to access with arguments: 'int64' when map expects arguments: '\(int64,int64\)'\n/,
  );
});

Deno.test("a map used with and without keys: 0.26's words", () => {
  assert.equal(
    errorsOf("BEGIN { @x = 1; @x[1, 2] = 2; }").split("\n")[0],
    "stdin:1:17: ERROR: @x used as a map with an explicit key (non-scalar map), previously used without an explicit key (scalar map)",
  );
  assert.equal(
    errorsOf("BEGIN { @x[1, 2] = 1; @x = 2; }").split("\n")[0],
    "stdin:1:23: ERROR: @x used as a map without an explicit key (scalar map), previously used with an explicit key (non-scalar map)",
  );
});
