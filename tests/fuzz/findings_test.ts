/**
 * Regression tests for what the fuzzers found (each failed before its
 * fix). The inputs are the smallest forms of the fuzzers' cases.
 */
import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import {
  CompileErrors,
  formatDiagnostic,
} from "../../runtime/lang/diagnostics.ts";
import { globToRegExp } from "../../runtime/probes/glob.ts";
import {
  assemble,
  createEnvironment,
  createMap,
  verify,
  VmProgram,
} from "../../bpf.ts";
import { insn } from "../../runtime/bpf/insn.ts";
import { Helper, MapType } from "../../runtime/bpf/opcodes.ts";
import { verifyProgram } from "../../runtime/verify_program.ts";

function errors(src: string): string[] {
  try {
    compile(src, { tracefsAvailable: false });
    return [];
  } catch (e) {
    if (!(e instanceof CompileErrors)) throw e;
    return e.errors.map((x) => `${x.span.line}:${x.span.col}: ${x.message}`);
  }
}

Deno.test("finding: a huge tracepoint wildcard is an error, not a RegExp crash", () => {
  // Was: SyntaxError "Invalid regular expression: … too large".
  const src = `tracepoint:syscalls:sys_enter_getp*$${"v".repeat(100_000)} { }`;
  const errs = errors(src);
  assert.equal(errs.length, 1);
  assert.match(errs[0], /^1:1: /);
});

Deno.test("finding: wildcards match in bounded time", () => {
  const many = globToRegExp("*a".repeat(30) + "*b");
  const t0 = performance.now();
  assert.equal(many.test("a".repeat(5000)), false);
  assert.ok(performance.now() - t0 < 1000);
  const g = globToRegExp("sys_enter_*at?");
  assert.ok(g.test("sys_enter_openat2"));
  assert.ok(!g.test("sys_enter_openat"));
  assert.ok(globToRegExp("*").test(""));
  assert.ok(globToRegExp("a*b*c").test("aXXbYYc"));
  assert.ok(!globToRegExp("a*b*c").test("aXXbYY"));
  assert.ok(globToRegExp("[x]").test("[x]"));
  assert.ok(!globToRegExp("?").test("ab"));
});

Deno.test("finding: `args` as a statement compiles, as in bpftrace", () => {
  // Was: "Maximum call stack size exceeded" at 1:1.
  assert.deepEqual(
    errors("tracepoint:syscalls:sys_exit_openat { args; @n = count(); }"),
    [],
  );
  // Was a located error ("Cannot use a value of type args here"): args
  // used whole is a record now, which a ternary chooses like any other.
  assert.deepEqual(
    errors("tracepoint:syscalls:sys_exit_openat { 1 ? args : args; }"),
    [],
  );
  assert.deepEqual(
    errors(
      "tracepoint:syscalls:sys_exit_openat { print(pid > 1 ? args : args); }",
    ),
    [],
  );
});

Deno.test("finding: a diagnostic shows a window of a very long line", () => {
  // Was: the whole 200 kB line once per error (0.8-2.8 s, mostly GC, and
  // a screenful per error).
  const src = "BEGIN { @x = " + "1 + ".repeat(50_000) + "foo; }";
  const at = src.indexOf("foo");
  const text = formatDiagnostic(
    "a.bt",
    src,
    { start: at, end: at + 3, line: 1, col: at + 1 },
    'Unknown identifier: "foo"',
  );
  const [head, line, mark] = text.split("\n");
  assert.equal(head, `a.bt:1:${at + 1}: ERROR: Unknown identifier: "foo"`);
  assert.ok(line.length <= 206, `${line.length}`);
  assert.ok(line.startsWith("...") && line.endsWith("foo; }"));
  // The mark is under "foo".
  assert.equal(line.slice(mark.indexOf("~"), mark.length), "foo");
  // Short lines are shown whole.
  assert.equal(
    formatDiagnostic("a.bt", "BEGIN {", {
      start: 7,
      end: 7,
      line: 1,
      col: 8,
    }, "Unexpected end of input"),
    "a.bt:1:8: ERROR: Unexpected end of input\nBEGIN {\n       ^",
  );
});

Deno.test("finding: our verifier divides an unknown value by a known 0", () => {
  // Was: RangeError "Division by zero" out of verify() (the compiler
  // fuzzer: `@d = nsecs / @t0` with @t0 known 0 on one path).
  const insns = assemble(
    "r1 = *(u64 *)(r1 + 0)\nr2 = 0\nr1 /= r2\nw3 = 0\nw1 /= w3\nr0 = r1\nexit",
  );
  const res = verify(insns, { maps: [], ctxSize: 8 });
  assert.ok(res.insnsProcessed > 0);
  const ctx = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(new VmProgram(insns, []).run(ctx, createEnvironment()), 0n);
  // A map value that is 0 when the key is missing, as the fuzzer found it.
  const prog = compile("interval:ms:50 { @d = nsecs / @t0; @t0 = 1; }", {
    tracefsAvailable: false,
  });
  assert.ok(verifyProgram(prog) > 0);
});

Deno.test("finding: ringbuf_submit ignores flag bits it does not know, as the kernel", () => {
  // Was: our verifier accepted `ringbuf_submit(rec, 225)` and the
  // interpreter faulted ("flags must be 0-3"); the kernel reads only the
  // wakeup bits of submit's and discard's flags.
  const ringbuf = {
    type: MapType.RINGBUF,
    keySize: 0,
    valueSize: 0,
    maxEntries: 4096,
  };
  const insns = [
    insn(0x18, 1, 1, 0, 0), // r1 = map[0]
    insn(0, 0, 0, 0, 0),
    insn(0xb7, 2, 0, 0, 8), // r2 = 8
    insn(0xb7, 3, 0, 0, 0), // r3 = 0
    insn(0x85, 0, 0, 0, Helper.ringbuf_reserve),
    insn(0x15, 0, 0, 3, 0), // if r0 == 0 goto +3
    insn(0xbf, 1, 0, 0, 0), // r1 = r0
    insn(0xb7, 2, 0, 0, 225), // r2 = 225
    insn(0x85, 0, 0, 0, Helper.ringbuf_submit),
    insn(0xb7, 0, 0, 0, 0),
    insn(0x95, 0, 0, 0, 0),
  ];
  verify(insns, { maps: [ringbuf], ctxSize: 0 });
  const map = createMap(ringbuf, 1);
  const r0 = new VmProgram(insns, [map]).run(
    new Uint8Array(0),
    createEnvironment(),
  );
  assert.equal(r0, 0n);
});
