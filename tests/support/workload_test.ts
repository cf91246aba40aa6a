/**
 * The shared workload keeps its protocol: `ready`, the gate, the mode's
 * output, `done N ELAPSED_NS`, and the comm its user named it by; bad
 * arguments exit 2 without working.
 *
 * @module
 */

import assert from "node:assert/strict";
import { skip } from "./skip.ts";
import {
  workloadBinary,
  workloadOutput,
  WorkloadProcess,
  workloadSkipReason,
} from "./workload.ts";

const ignore = skip("the workload tests", workloadSkipReason());

Deno.test({
  name: "workload: gated, it prints ready, its result and done, as its name",
  ignore,
  async fn() {
    const w = await WorkloadProcess.start("tsbparity", ["calls", "10"]);
    try {
      const comm = Deno.readTextFileSync(`/proc/${w.pid}/comm`).trim();
      assert.equal(comm, "tsbparity");
      await w.open();
      assert.match(w.stdout, /^ready\n9\ndone 10 \d+\n$/);
      // Still alive after done, until its standard input closes.
      assert.equal(Deno.readTextFileSync(`/proc/${w.pid}/comm`).trim(), comm);
      await w.release();
    } finally {
      await w.kill();
    }
  },
});

Deno.test({
  name: "workload: each name is one binary, built once per source version",
  ignore,
  async fn() {
    const a = await workloadBinary("tsbwork");
    const b = await workloadBinary("tsbbench");
    assert.notEqual(a, b);
    assert.equal(Deno.statSync(a).ino, Deno.statSync(b).ino);
    assert.equal(await workloadBinary("tsbwork"), a);
    assert.throws(() => workloadBinary("a/b"), RangeError);
  },
});

Deno.test({
  name: "workload: NOGATE runs at once and exits; bad arguments exit 2",
  ignore,
  async fn() {
    const bin = await workloadBinary("tsbwork");
    const dec = new TextDecoder();
    const ok = await new Deno.Command(bin, {
      args: ["getppid", "5"],
      env: { NOGATE: "1" },
      stdin: "null",
    }).output();
    assert.equal(ok.code, 0);
    assert.equal(dec.decode(ok.stdout), "ready\n");
    for (const args of [["nope", "1"], ["udp", "1", "2", "3"], ["getppid"]]) {
      const bad = await new Deno.Command(bin, {
        args,
        env: { NOGATE: "1" },
        stdin: "null",
        stderr: "piped",
      }).output();
      assert.equal(bad.code, 2, args.join(" "));
      assert.match(dec.decode(bad.stderr), /tsbwork: |usage: /);
    }
    assert.equal(workloadOutput("ready\n999\ndone 1000 52000\n"), "999\n");
  },
});
