/**
 * bpftrace v0.26.1's naptime.bt reads `args.rqtp` and then `$t.tv_sec`
 * through the pointer with `.`; it runs for real here and prints the
 * sleep it traced. (tests/cli/bt26_tools_test.ts compiles and loads every
 * 0.26.1 tool; the copies are in tests/fixtures/bt26/, Apache-2.0,
 * bpftrace's; test inputs.)
 */

import assert from "node:assert/strict";
import { kernelSkipReason, runCli } from "./helpers.ts";

const DIR = new URL("../fixtures/bt26/", import.meta.url).pathname;
const kernelSkip = kernelSkipReason();

Deno.test({
  name: "naptime for real: the sleep it traces, read through args.rqtp",
  ignore: kernelSkip !== undefined,
  async fn() {
    const r = await runCli(
      ["--backend", "kernel", `${DIR}naptime.bt`, "-c", "sleep 0.2"],
      { timeoutMs: 120_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    // PPID PCOMM PID COMM SECONDS: the seconds asked of nanosleep.
    assert.match(r.stdout, /^\d\d:\d\d:\d\d \d+ +\S+ +\d+ +sleep +0\.200$/m);
  },
});

if (kernelSkip !== undefined) {
  console.log(`Skipping the bt26 tools' kernel tests: ${kernelSkip}`);
}
