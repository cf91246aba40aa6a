/**
 * Kernel limits checked at compile time, so that `--dry-run` refuses what
 * loading would: 64 maps per program, 64 programs per tracepoint. And the
 * full-map counter never costs a program its 64th map.
 */
import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { mapsUsed } from "../../runtime/compiler/kernel_limits.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import { maxSampleRate } from "../../runtime/probes/perf_events.ts";
import { runCli } from "../cli/helpers.ts";
import { skip } from "../support/skip.ts";

function errorsOf(src: string): CompileErrors {
  try {
    compile(src);
  } catch (e) {
    if (e instanceof CompileErrors) return e;
    throw e;
  }
  assert.fail("compiled");
}

const stmts = (n: number, f: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => f(i)).join(" ");

Deno.test("65 maps in one probe: a compile error at the 65th", () => {
  const src = `BEGIN {\n${stmts(65, (i) => `@m${i} = 1;`)}\n}`;
  const e = errorsOf(src);
  assert.equal(e.errors.length, 1);
  const err = e.errors[0];
  assert.equal(
    err.message,
    "This probe uses 65 maps, over the kernel's limit of 64 per program: @m64 is one too many",
  );
  assert.equal(err.line, 2);
  assert.equal(src.slice(err.span.start, err.span.end), "@m64 = 1");
  assert.match(e.format(), /^stdin:2:\d+: ERROR: This probe uses 65 maps/);
});

Deno.test("64 maps compile, keyed or not; the internal maps count too", () => {
  for (const key of ["", "[1]", "[pid]"]) {
    const p = compile(`BEGIN { ${stmts(64, (i) => `@m${i}${key} = 1;`)} }`);
    assert.equal(mapsUsed(p.probes[0]).length, 64, key);
  }
  // Keyed: with room left, the full-map counter is the 64th map.
  const p = compile(`BEGIN { ${stmts(63, (i) => `@m${i}[pid] = 1;`)} }`);
  const used = mapsUsed(p.probes[0]).map((i) => p.maps[i].name);
  assert.equal(used.length, 64);
  assert.equal(used.at(-1), ".full");
  // 64 maps and a printf need the events ring buffer and its loss counter.
  const e = errorsOf(
    `BEGIN { ${stmts(64, (i) => `@m${i} = 1;`)} printf("x\\n"); }`,
  );
  assert.match(
    e.errors[0].message,
    /uses 66 maps \(2 of them internal\), .*: the internal map \.events is one too many$/,
  );
});

Deno.test("maps count per probe, not per script", () => {
  const src = `BEGIN { ${stmts(40, (i) => `@a${i} = 1;`)} }
END { ${stmts(40, (i) => `@b${i} = 1;`)} }`;
  assert.equal(compile(src).maps.filter((m) => !m.internal).length, 80);
});

Deno.test("65 probes on one tracepoint: a compile error at the 65th", () => {
  const tp = "tracepoint:syscalls:sys_enter_setdomainname";
  const src = Array.from({ length: 65 }, () => `${tp} { @c = count(); }`)
    .join("\n");
  const e = errorsOf(src);
  assert.equal(e.errors.length, 1);
  assert.equal(
    e.errors[0].message,
    `More than 64 probes attach to "${tp}"; the kernel runs at most 64 BPF programs on one tracepoint`,
  );
  assert.equal(e.errors[0].line, 65);
  assert.equal(
    src.slice(e.errors[0].span.start, e.errors[0].span.end),
    tp,
  );
  // 64 are fine, and a raw tracepoint has no such limit.
  compile(src.split("\n").slice(1).join("\n"));
  compile(
    Array.from(
      { length: 65 },
      () => `rawtracepoint:sys_enter { @c = count(); }`,
    ).join("\n"),
  );
});

Deno.test("a sampling rate above the host's limit: a compile error when given", () => {
  const src = "BEGIN { }\nprofile:hz:1001 { @c = count(); }";
  assert.equal(compile(src).probes.length, 2); // no limit given: compiles
  const e = (() => {
    try {
      compile(src, { maxSampleRate: 1000 });
    } catch (e) {
      if (e instanceof CompileErrors) return e;
      throw e;
    }
    assert.fail("compiled");
  })();
  assert.equal(
    e.errors[0].message,
    "1001 Hz is above this kernel's limit of 1000 samples per second (sysctl kernel.perf_event_max_sample_rate)",
  );
  assert.equal(e.errors[0].line, 2);
  compile("profile:hz:1000 { @c = count(); } profile:ms:1 { @d = count(); }", {
    maxSampleRate: 1000,
  });
});

Deno.test({
  name: "--dry-run refuses a profile rate above this host's limit",
  ignore: skip(
    "the sample-rate limit test",
    maxSampleRate() === undefined
      ? "no /proc/sys/kernel/perf_event_max_sample_rate"
      : undefined,
  ),
  async fn() {
    const hz = maxSampleRate()! + 1;
    const r = await runCli([
      "--dry-run",
      "-e",
      `profile:hz:${hz} { @ = count(); }`,
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^stdin:1:1: ERROR: ${hz} Hz is above`));
    // The interpreter runs synthetic profiles at any rate.
    const interp = await runCli([
      "--dry-run",
      "--backend",
      "interp",
      "-e",
      `profile:hz:${hz} { @ = count(); }`,
    ]);
    assert.equal(interp.code, 0, interp.stderr);
  },
});
