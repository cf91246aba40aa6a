/**
 * Generated files whose inputs are in the repository are current: each is
 * made again from its inputs and compared with the checked-in copy. (The
 * man page has its own check in `tests/cli/packaging_test.ts`; the bundled
 * tracepoint formats and kernel types come from a live kernel, so their
 * check is `deno task formats:check`, never a unit test.)
 *
 * @module
 */

import assert from "node:assert/strict";
import { generate } from "../../tools/gen_tracepoint_types.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Formats TypeScript source as `deno fmt` would write it. */
async function denoFmt(source: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext", "ts", "-"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(source));
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("runtime/staging/tracepoint_types.ts is current (deno task types:tracepoints)", async () => {
  const onDisk = Deno.readTextFileSync(
    `${ROOT}runtime/staging/tracepoint_types.ts`,
  );
  assert.equal(
    onDisk,
    await denoFmt(generate()),
    "runtime/staging/tracepoint_types.ts is stale: run deno task types:tracepoints",
  );
});
