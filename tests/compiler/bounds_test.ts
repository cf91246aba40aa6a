/**
 * Resource bounds of the compiler (issue 11, item 3): nested `unroll` is
 * measured before it is expanded, long operator and `else if` chains end
 * in a located error instead of a JavaScript stack overflow, and both
 * stay within a second and 300 MB, on the CLI and through the staged API.
 */
import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { MAX_NESTING } from "../../runtime/compiler/bounds.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import { compileStaged, stage } from "../../runtime/staging/stage.ts";
import { StagingError } from "../../runtime/staging/stager.ts";
import type { Expr } from "../../runtime/staging/expr.ts";
import type { Int } from "../../runtime/staging/types.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

/** Compile errors of `src` as `LINE:COL: message` (none: []). */
function errors(src: string, params: string[] = []): string[] {
  try {
    compile(src, { tracefsAvailable: false, params });
    return [];
  } catch (e) {
    if (!(e instanceof CompileErrors)) throw e;
    return e.errors.map((x) => `${x.span.line}:${x.span.col}: ${x.message}`);
  }
}

/** Runs the CLI with `--dry-run` in a V8 heap of at most 300 MB. */
async function dryRun(prog: string): Promise<{ code: number; err: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-lock",
      "--v8-flags=--max-old-space-size=300",
      MOD,
      "--dry-run",
      "--backend",
      "interp",
      "-e",
      prog,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  // Generous for a loaded machine; the unbounded compiler took 13 s.
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const out = await child.output();
  clearTimeout(timer);
  return { code: out.code, err: new TextDecoder().decode(out.stderr) };
}

const UNROLL_ERR =
  "unroll expands the probe past 1000000 instructions, the kernel's limit for a program";

for (const depth of [3, 4]) {
  Deno.test(`bounds: unroll(100) nested ${depth} deep is refused before expansion`, async () => {
    const prog = `BEGIN { ${"unroll(100) { ".repeat(depth)}@x = @x + 1; ${
      "} ".repeat(depth)
    }}`;
    const t0 = performance.now();
    assert.deepEqual(errors(prog), [`1:9: ${UNROLL_ERR}`]);
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
    // The CLI, in a 300 MB heap: exit 2 with the located error.
    const { code, err } = await dryRun(prog);
    assert.equal(code, 2, err);
    assert.match(err, new RegExp(`^stdin:1:9: ERROR: ${UNROLL_ERR}$`, "m"));
  });
}

Deno.test("bounds: unroll within the limit still expands", () => {
  const prog = compile(
    "BEGIN { unroll(100) { unroll(10) { @x = @x + 1; } } }",
    { tracefsAvailable: false },
  );
  assert.ok(prog.probes[0].insns.length > 1000);
});

Deno.test("bounds: an unroll count from a positional parameter is estimated too", () => {
  const prog = `BEGIN { unroll($1) { unroll($1) { unroll($1) { @x = 1; } } } }`;
  assert.deepEqual(errors(prog, ["100"]), [`1:9: ${UNROLL_ERR}`]);
  assert.deepEqual(errors(prog, ["3"]), []);
});

Deno.test("bounds: unroll counts use bpftrace's wording", () => {
  assert.deepEqual(errors("BEGIN { unroll(101) { @x = 1; } }"), [
    "1:16: unroll maximum value is 100",
  ]);
  assert.deepEqual(errors("BEGIN { unroll(0) { @x = 1; } }"), [
    "1:16: unroll minimum value is 1",
  ]);
});

Deno.test("bounds: a body whose copies pass the limit is stopped after one copy", () => {
  // Few nodes, many instructions each: the tree estimate passes it, the
  // measured first copy does not.
  const body = 'printf("%d %d %d %d %d %d\\n", 1, 2, 3, 4, 5, 6); '.repeat(6);
  const src = `BEGIN { unroll(100) { unroll(100) { ${body}} } }`;
  const t0 = performance.now();
  const errs = errors(src);
  const ms = performance.now() - t0;
  assert.equal(errs.length, 1);
  assert.match(
    errs[0],
    /^1:(9|23): (unroll expands|Probe is too large|The probe is too large to compile)/,
  );
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
});

Deno.test("bounds: a jump too long for 16 bits is a located compile error", () => {
  const src =
    `BEGIN { unroll(100) { unroll(100) { printf("%d %d\\n", 1, 2); } } }`;
  const errs = errors(src);
  assert.equal(errs.length, 1);
  assert.match(
    errs[0],
    /^1:37: Probe is too large: jump at instruction \d+ would span \d+ instructions, more than a jump can reach \(32767\)$/,
  );
});

const CHAINS: Record<string, (n: number) => string> = {
  "+": (n) => `BEGIN { $x = 1; $y = ${"$x + ".repeat(n)}1; @y = $y; }`,
  "&&": (n) => `BEGIN { $x = 1; if (${"$x && ".repeat(n)}1) { @y = 1; } }`,
  "==": (n) => `BEGIN { $x = 1; @y = ${"$x == ".repeat(n)}1; }`,
  "else if": (n) =>
    `BEGIN { $x = 1; ${
      "if ($x == 3) { @a = 1; } else ".repeat(n)
    }{ @b = 2; } }`,
};

for (const [what, make] of Object.entries(CHAINS)) {
  Deno.test(`bounds: a chain of 2,000 "${what}" is a located error, not a stack overflow`, () => {
    const errs = errors(make(2000));
    assert.equal(errs.length, 1, errs.join("\n"));
    assert.match(
      errs[0],
      new RegExp(
        `^1:\\d+: Program is nested too deeply: more than ${MAX_NESTING} levels`,
      ),
    );
    assert.ok(!errs[0].startsWith("1:1:"), errs[0]);
  });

  Deno.test(`bounds: a chain of 900 "${what}" compiles quickly`, () => {
    const t0 = performance.now();
    assert.deepEqual(errors(make(900)), []);
    const ms = performance.now() - t0;
    // Was cubic for "&&": 1 s at 1,000 links, 8 s at 2,000.
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  });
}

Deno.test("bounds: a macro body nested too deeply is a located error, not a stack overflow", () => {
  // Found by the fuzzer: the expander copied the body recursively.
  const src = `macro one() { 11${".a".repeat(5000)} }\nBEGIN { @x = one(); }`;
  assert.deepEqual(errors(src), [
    `1:15: Program is nested too deeply: more than ${MAX_NESTING} levels (in macro one())`,
  ]);
});

Deno.test("bounds: a staged chain too deep is refused while staging", () => {
  assert.throws(
    () =>
      stage((t) =>
        t.probe("BEGIN", (c) => {
          let e: Expr<Int> = c.pid;
          for (let i = 0; i < 3000; i++) e = e.add(1);
          c.printf("%d\n", e);
        })
      ),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message.includes(`nested more than ${MAX_NESTING} levels`),
  );
});

Deno.test("bounds: staged statements nested too deeply are refused", () => {
  assert.throws(
    () =>
      stage((t) =>
        t.probe("BEGIN", (c) => {
          const nest = (k: number): void => {
            if (k === 0) c.printf("x\n");
            else c.if(c.pid.eq(k), () => nest(k - 1));
          };
          nest(1200);
        })
      ),
    StagingError,
  );
});

Deno.test("bounds: staged unroll is bounded like the text form", () => {
  const s = stage((t) =>
    t.probe("BEGIN", (c) => {
      const m = c.map("x");
      c.unroll(100, () => c.unroll(100, () => c.unroll(100, () => m.set(1))));
    })
  );
  const t0 = performance.now();
  assert.throws(
    () => compileStaged(s, { tracefsAvailable: false }),
    (e: unknown) =>
      e instanceof CompileErrors && e.errors[0].message.startsWith(UNROLL_ERR),
  );
  assert.ok(performance.now() - t0 < 1000);
});

Deno.test("bounds: a wildcard probe's total size is checked after expansion", () => {
  // Found by the fuzzer: 360 syscalls × a 200-link chain took over 1 s.
  const body = (n: number) =>
    `tracepoint:syscalls:sys_enter_* { @[probe] = count(); $x = 1; @x = ${
      "$x + ".repeat(n)
    }1; }`;
  const t0 = performance.now();
  const errs = errors(body(700));
  const ms = performance.now() - t0;
  assert.equal(errs.length, 1);
  assert.match(
    errs[0],
    /^1:1: The script is too large to compile: this probe makes \d+ programs of about \d+ operations each, more than 300000 in all/,
  );
  assert.ok(ms < 3000, `took ${ms.toFixed(0)} ms`);
  // One attach point with the same body is fine.
  assert.deepEqual(
    errors(body(700).replace("sys_enter_*", "sys_enter_read")),
    [],
  );
});
