/**
 * Issue 12 item 2: Ctrl-C in a TypeScript script ends its `every()`,
 * `events()` and `emits()` loops, runs END and lets it print its summary;
 * a second Ctrl-C exits at once. The script has no signal handling of its
 * own: `trace()` does it by default. Also at an event rate the
 * interpreter cannot keep up with (issue 11 item 1 through `trace()`).
 */

import assert from "node:assert/strict";
import { ignoreKernel } from "./helpers.ts";
import { closedStdout, Tracer } from "../support/child.ts";

const SCRIPT = new URL("./script_signal.ts", import.meta.url).pathname;

/**
 * Runs `script` until it prints `ready`, then sends SIGINT (`signals`
 * times: the second once the summary printed); returns how it ended and
 * the milliseconds from the first SIGINT to its exit.
 */
async function ctrlC(
  script: string,
  args: string[],
  signals = 1,
  ready = "Hit Ctrl-C",
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t = Tracer.script(script, args);
  try {
    await t.waitFor(ready, 60_000);
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    t.signal("SIGINT");
    if (signals > 1) {
      await t.waitFor("summary:", 60_000);
      t.signal("SIGINT");
    }
    const r = await t.finish(60_000);
    const ms = performance.now() - t0;
    assert.equal(r.signal, null, `killed by ${r.signal}\n${r.stderr}`);
    return { code: r.code, stdout: r.stdout, stderr: r.stderr, ms };
  } finally {
    await t.kill();
  }
}

const backends = [
  { backend: "interp", rate: "1000", ignore: false },
  { backend: "interp", rate: "1e12", ignore: false },
  { backend: "kernel", rate: "1000", ignore: ignoreKernel },
];

for (const { backend, rate, ignore } of backends) {
  for (const loop of ["every", "events"]) {
    Deno.test({
      name:
        `trace() on ${backend} (rate ${rate}): Ctrl-C ends a ${loop}() loop, runs END, the summary prints`,
      ignore,
      async fn() {
        const r = await ctrlC(SCRIPT, [backend, rate, loop]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /summary: loop ended by signal\n/);
        assert.match(r.stdout, /END ran\n/);
        assert.match(r.stdout, /\n\n@n: \d+\n$/);
        assert.ok(r.ms < 2000, `exit took ${r.ms.toFixed(0)} ms`);
      },
    });
  }
}

Deno.test("trace(): Ctrl-C ends an emits() loop", async () => {
  const r = await ctrlC(SCRIPT, ["interp", "1000", "emits"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /summary: loop ended by signal\n/);
});

Deno.test("trace(): a second Ctrl-C exits at once", async () => {
  const r = await ctrlC(SCRIPT, ["interp", "1000", "every", "linger"], 2);
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stdout, /summary: loop ended by signal\n/);
  assert.ok(r.ms < 10_000, `exit took ${r.ms.toFixed(0)} ms`);
});

const SCRIPTS = new URL("../../scripts/", import.meta.url).pathname;

Deno.test("runTool: a bundled script at a rate the interpreter cannot keep up with ends on Ctrl-C with its table", async () => {
  const r = await ctrlC(
    SCRIPTS + "syscount.ts",
    ["--backend", "interp", "--rate", "1e12"],
    1,
    "Ctrl-C",
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /SYSCALL +COUNT\n/);
  assert.ok(r.ms < 2000, `exit took ${r.ms.toFixed(0)} ms`);
});

Deno.test("runTool: a script whose reader goes away ends quietly with status 141", async () => {
  const r = await closedStdout(
    SCRIPTS + "opensnoop.ts",
    ["--backend", "interp"],
    60_000,
  );
  assert.ok(r.first.length > 0);
  assert.equal(r.status.signal, null, "killed: it did not end by itself");
  assert.doesNotMatch(r.stderr, /Broken pipe/);
  assert.equal(r.status.code, 141, r.stderr);
});
