/**
 * bpftrace 0.26.1's biosnoop.bt and biostacks.bt (tests/fixtures/bt26/)
 * key their maps by a tuple variable (`@start[$key]` with
 * `$key = (args.dev, args.sector)`), then name the same element as
 * `has_key(@start, (args.dev, args.sector))` or
 * `@reqts[args.dev, args.sector]`. They compile in the interpreter (no
 * privileges needed), load in the kernel, and biosnoop prints the block
 * I/O this test makes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { hasStackTrace, kernelSkipReason, runCli } from "../cli/helpers.ts";
import { skip } from "../support/skip.ts";

const FIXTURES = new URL("../fixtures/bt26/", import.meta.url).pathname;
const TOOLS = ["biosnoop", "biostacks"];

for (const tool of TOOLS) {
  Deno.test(`bt26 ${tool}.bt compiles for the interpreter (--dry-run)`, async () => {
    const r = await runCli([
      "--backend",
      "interp",
      "--dry-run",
      `${FIXTURES}${tool}.bt`,
    ]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.ok(!hasStackTrace(r.stdout + r.stderr));
  });

  Deno.test({
    name: `bt26 ${tool}.bt loads in the kernel (--dry-run)`,
    ignore: skip(`the kernel half of ${tool}.bt`, kernelSkipReason()),
    async fn() {
      const r = await runCli([
        "--backend",
        "kernel",
        "--dry-run",
        `${FIXTURES}${tool}.bt`,
      ]);
      assert.equal(r.stderr, "");
      assert.equal(r.code, 0);
    },
  });
}

/** Writes and fsyncs a file in `dir` `n` times: block I/O of this process. */
async function syncWrites(dir: string, n: number): Promise<void> {
  const path = `${dir}/io.bin`;
  const data = new Uint8Array(64 * 1024).fill(7);
  for (let i = 0; i < n; i++) {
    using f = await Deno.open(path, { write: true, create: true });
    await f.write(data);
    await f.sync();
  }
  await Deno.remove(path);
}

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * Why writes under the checkout make no block I/O of this process
 * (tmpfs, overlay, network file systems have device major 0), or
 * undefined.
 */
function blockDeviceSkipReason(): string | undefined {
  const dev = Deno.statSync(ROOT).dev;
  const major = Number((BigInt(dev) >> 8n) & 0xfffn);
  return major === 0
    ? `${ROOT} is not on a block device (device major 0)`
    : undefined;
}

Deno.test({
  name: "bt26 biosnoop.bt in the kernel prints this process's block I/O",
  ignore: skip(
    "biosnoop.bt in the kernel",
    kernelSkipReason() ?? blockDeviceSkipReason(),
  ),
  async fn() {
    // A folder on disk (not tmpfs), so that fsync makes block I/O.
    const dir = Deno.makeTempDirSync({ dir: ROOT, prefix: ".bt26_io_" });
    try {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--no-lock",
          new URL("../../mod.ts", import.meta.url).pathname,
          "--backend",
          "kernel",
          "--duration",
          "20",
          `${FIXTURES}biosnoop.bt`,
        ],
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn();
      const stderr = new Response(child.stderr).text();
      // The header is BEGIN's: the probes are attached once it is out.
      let out = "";
      const reader = child.stdout.pipeThrough(new TextDecoderStream())
        .getReader();
      const mine = new RegExp(
        `^\\d+\\s+\\d+\\s+\\d+\\s+\\S.*\\s${Deno.pid}\\s+\\d+$`,
        "m",
      );
      let wrote = false;
      while (!mine.test(out)) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
        if (!wrote && out.includes("MAJOR MINOR")) {
          wrote = true;
          await syncWrites(dir, 8);
        }
      }
      child.kill("SIGINT");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      const status = await child.status;
      const err = await stderr;
      assert.ok(!hasStackTrace(out + err), err);
      assert.equal(status.code, 0, err);
      assert.match(out, /^TIME\(ms\) +DISK ID +COMM +PID +LAT\(ms\)$/m);
      assert.match(out, mine, `no I/O of pid ${Deno.pid} in:\n${out}`);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
