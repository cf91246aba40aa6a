/**
 * `trace()` on the interpreter says once on standard error that its events
 * are synthetic, in the CLI's words, unless the caller opts out with
 * `announce: false`; on the kernel it says nothing unless asked.
 */

import assert from "node:assert/strict";
import { kernel } from "./helpers.ts";

const MOD = new URL("../../mod.ts", import.meta.url).href;
const NOTE =
  "tsbpf: running in the interpreter on synthetic events (--backend interp)\n";

/** Runs a `trace()` session with `options` in a child; its stderr. */
async function stderrOf(options: string): Promise<string> {
  const code = `import { trace } from ${JSON.stringify(MOD)};
await using s = await trace(
  "tracepoint:raw_syscalls:sys_enter { @n = count(); }",
  { durationMs: 200, ${options} },
);
for await (const _ of s.every(100)) console.log(s.map("n").read().size);`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  // Ticks at 100 and 200 ms of session time; on the kernel's wall clock
  // a loop that starts after 100 ms (a loaded machine) has the second
  // only (every() ticks at multiples of the interval since the start).
  const ticks = new TextDecoder().decode(out.stdout);
  if (options.includes('"kernel"')) assert.match(ticks, /^(1\n){1,2}$/);
  else assert.equal(ticks, "1\n1\n");
  return stderr;
}

Deno.test("trace() on the interpreter says once that its events are synthetic", async () => {
  assert.equal(await stderrOf('backend: "interp", seed: 1'), NOTE);
});

Deno.test("trace() on the interpreter with announce: false says nothing", async () => {
  assert.equal(
    await stderrOf('backend: "interp", seed: 1, announce: false'),
    "",
  );
});

Deno.test({
  name: "trace() on the kernel names its engine only when asked (announce)",
  ignore: !kernel.ok,
  async fn() {
    assert.equal(await stderrOf('backend: "kernel"'), "");
    assert.equal(
      await stderrOf('backend: "kernel", announce: true'),
      "tsbpf: running in the kernel through libbpf\n",
    );
  },
});

Deno.test("session.synthetic: true on the interpreter's events, false on a replay's", async () => {
  const { trace } = await import("../../mod.ts");
  const { compile } = await import("../../runtime/compiler/compile.ts");
  const { event, headerFor, recordingBytes } = await import(
    "../record/helpers.ts"
  );
  const program = "tracepoint:syscalls:sys_enter_getppid { @n = count(); }";
  {
    await using s = await trace(program, {
      backend: "interp",
      durationMs: 0,
      announce: false,
    });
    assert.equal(s.synthetic, true);
  }
  const file = Deno.makeTempFileSync({ suffix: ".tsrec" });
  try {
    Deno.writeFileSync(
      file,
      recordingBytes(headerFor(compile(program)), [event()]),
    );
    await using r = await trace(program, { replay: file });
    assert.equal(r.engineKind, "interp");
    assert.equal(r.synthetic, false);
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test({
  name: "session.synthetic: false on the kernel",
  ignore: !kernel.ok,
  async fn() {
    const { trace } = await import("../../mod.ts");
    await using s = await trace("BEGIN { @ = 1; }", { backend: "kernel" });
    assert.equal(s.synthetic, false);
  },
});
