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
  assert.equal(new TextDecoder().decode(out.stdout), "1\n1\n");
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
