/**
 * The one environment reader (`runtime/probes/env.ts`): a variable reads
 * as set where the environment may be read and as unset where it may not,
 * so that programs and binaries named without a path are still found
 * through the default PATH in a run without `--allow-env`.
 */
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);

async function run(allowEnv: boolean): Promise<Record<string, unknown>> {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      script,
      `import { envVar } from "${new URL("runtime/probes/env.ts", root)}";
import { findExecutable } from "${new URL("runtime/cli_targets.ts", root)}";
import { findBinary } from "${new URL("runtime/probes/find_binary.ts", root)}";
console.log(JSON.stringify({
  set: envVar("TSBPF_ENV_TEST") ?? null,
  unset: envVar("TSBPF_ENV_TEST_UNSET") ?? null,
  sh: findExecutable("sh") ?? null,
  bin: findBinary("sh"),
}));
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--no-lock",
        "--allow-read",
        ...(allowEnv ? ["--allow-env"] : []),
        script,
      ],
      env: { TSBPF_ENV_TEST: "yes", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assert.equal(out.code, 0, dec.decode(out.stderr));
    return JSON.parse(dec.decode(out.stdout));
  } finally {
    await Deno.remove(script);
  }
}

Deno.test("envVar reads a set variable, and unset ones as undefined", async () => {
  const r = await run(true);
  assert.equal(r.set, "yes");
  assert.equal(r.unset, null);
  assert.match(String(r.sh), /\/sh$/);
  assert.match(String(r.bin), /\/sh$/);
});

Deno.test("without --allow-env every variable reads as unset and PATH as the default", async () => {
  const r = await run(false);
  assert.equal(r.set, null);
  assert.equal(r.unset, null);
  // Found through /usr/local/bin:/usr/bin:/bin.
  assert.match(String(r.sh), /^(\/usr)?\/bin\/sh$/);
  assert.match(String(r.bin), /\/sh$/);
});
