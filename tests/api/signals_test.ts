/**
 * Issue 12 item 2: Ctrl-C in a TypeScript script ends its `every()`,
 * `events()` and `emits()` loops, runs END and lets it print its summary;
 * a second Ctrl-C exits at once. The script has no signal handling of its
 * own: `trace()` does it by default. Also at an event rate the
 * interpreter cannot keep up with (issue 11 item 1 through `trace()`).
 */

import assert from "node:assert/strict";
import { ignoreKernel } from "./helpers.ts";

const SCRIPT = new URL("./script_signal.ts", import.meta.url).pathname;

async function ctrlC(
  args: string[],
  signals = 1,
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", SCRIPT, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  let stdout = "";
  let stderr = "";
  const dec = new TextDecoder();
  const readers = Promise.all([
    (async () => {
      for await (const c of child.stdout) stdout += dec.decode(c);
    })(),
    (async () => {
      for await (const c of child.stderr) stderr += dec.decode(c);
    })(),
  ]);
  while (!stdout.includes("Hit Ctrl-C")) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 500));
  const t0 = performance.now();
  child.kill("SIGINT");
  if (signals > 1) {
    while (!stdout.includes("summary:")) {
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGINT");
  }
  const status = await child.status;
  const ms = performance.now() - t0;
  clearTimeout(timer);
  await readers;
  assert.equal(status.signal, null, `killed by ${status.signal}\n${stderr}`);
  return { code: status.code, stdout, stderr, ms };
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
        const r = await ctrlC([backend, rate, loop]);
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
  const r = await ctrlC(["interp", "1000", "emits"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /summary: loop ended by signal\n/);
});

Deno.test("trace(): a second Ctrl-C exits at once", async () => {
  const r = await ctrlC(["interp", "1000", "every", "linger"], 2);
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stdout, /summary: loop ended by signal\n/);
  assert.ok(r.ms < 10_000, `exit took ${r.ms.toFixed(0)} ms`);
});

const SCRIPTS = new URL("../../scripts/", import.meta.url).pathname;

Deno.test("runTool: a bundled script at a rate the interpreter cannot keep up with ends on Ctrl-C with its table", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-lock",
      SCRIPTS + "syscount.ts",
      "--backend",
      "interp",
      "--rate",
      "1e12",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const dec = new TextDecoder();
  let stdout = "";
  const reader = (async () => {
    for await (const c of child.stdout) stdout += dec.decode(c);
  })();
  const stderr = new Response(child.stderr).text();
  while (!stdout.includes("Ctrl-C")) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 500));
  const t0 = performance.now();
  child.kill("SIGINT");
  const status = await child.status;
  const ms = performance.now() - t0;
  clearTimeout(timer);
  await reader;
  assert.equal(status.signal, null, `killed by ${status.signal}`);
  assert.equal(status.code, 0, await stderr);
  assert.match(stdout, /SYSCALL +COUNT\n/);
  assert.ok(ms < 2000, `exit took ${ms.toFixed(0)} ms`);
});

Deno.test("runTool: a script whose reader goes away ends quietly with status 141", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-lock",
      SCRIPTS + "opensnoop.ts",
      "--backend",
      "interp",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  assert.ok(value !== undefined && value.length > 0);
  await reader.cancel();
  const [status, err] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
  ]);
  clearTimeout(timer);
  assert.equal(status.signal, null, "killed: it did not end by itself");
  assert.doesNotMatch(err, /Broken pipe/);
  assert.equal(status.code, 141, err);
});
