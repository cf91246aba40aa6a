import assert from "node:assert/strict";
import { kernelSkipReason, runCli, tempFile } from "./helpers.ts";
import { skip } from "../support/skip.ts";

/**
 * cat() prints a file without --unsafe, as bpftrace 0.17 does (oomkill.bt
 * prints /proc/loadavg), on both engines; a file that does not open gives
 * bpftrace's error line.
 */

async function check(backend: string): Promise<void> {
  const file = tempFile("one two\nthree\n");
  try {
    const r = await runCli([
      "--backend",
      backend,
      "-e",
      `BEGIN { printf("<"); cat("${file}"); cat("/nonexistent/tsbpf_%d", 7); ` +
      `printf(">\\n"); exit(); }`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout.replace(/\n+$/, "\n"),
      "<one two\nthree\n" +
        "ERROR: failed to open file '/nonexistent/tsbpf_7': No such file or directory\n" +
        ">\n",
    );
  } finally {
    Deno.removeSync(file);
  }
}

Deno.test("cat() without --unsafe prints the file: interpreter", () =>
  check("interp"));

Deno.test({
  name: "cat() without --unsafe prints the file: kernel",
  ignore: skip("the kernel cat() test", kernelSkipReason()),
  fn: () => check("kernel"),
});
