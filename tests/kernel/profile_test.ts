/**
 * Acceptance 5: profile:hz:99 for 2 s yields samples whose kstack and
 * ustack resolve to symbol names (not raw hex only).
 *
 * One tracer run (2 s, a CPU-burning gcc-built workload) feeds every test
 * here.
 */

import assert from "node:assert/strict";
import {
  afterAttachLine,
  type Finished,
  skip,
  skipReason,
  Tracer,
  Workload,
} from "./helpers.ts";

const ignore = skip("kernel profile tests", skipReason);
const SECONDS = 2;

interface ProfileRun {
  pid: number;
  result: Finished;
  out: string;
}

let shared: Promise<ProfileRun> | undefined;

function profileRun(): Promise<ProfileRun> {
  return shared ??= (async () => {
    const w = await Workload.start(["spin", String((SECONDS + 3) * 1000)]);
    // Kernel work to sample: on a quiet machine a user-space spinner alone
    // gives only empty kernel stacks.
    const k = await Workload.start(["syscalls", String(SECONDS + 3)]);
    const t = Tracer.tsbpf([
      "--duration",
      String(SECONDS),
      "-e",
      `profile:hz:99 { @k[kstack] = count(); }
       profile:hz:99 /pid == ${w.pid}/ { @n = count(); @u[ustack] = count(); @e[kstack(3)] = count(); @s[usym(reg("ip"))] = count(); }`,
    ]);
    try {
      await t.attached();
      await w.go();
      await k.go();
      const result = await t.finish(SECONDS * 1000 + 15_000);
      return { pid: w.pid, result, out: afterAttachLine(result.stdout) };
    } finally {
      await w.kill();
      await k.kill();
      await t.kill();
    }
  })();
}

/** A resolved frame as bpftrace prints one: `symbol+offset`. */
const FRAME = /^ {4}[A-Za-z_.$][\w.$]*\+\d+$/m;

Deno.test({
  name: "cli: profile:hz:99 samples a busy process, --duration ends it",
  ignore,
  async fn() {
    const { result, out } = await profileRun();
    assert.equal(result.code, 0, result.stderr);
    const n = out.match(/^@n: (\d+)$/m);
    assert.ok(n, out);
    // A busy process on a shared 2-core machine: some samples, never more
    // than the frequency allows.
    const samples = Number(n[1]);
    assert.ok(samples >= 10, `only ${samples} samples`);
    assert.ok(samples <= 99 * (SECONDS + 1), `${samples} samples`);
    assert.ok(out.includes("@k["), out.slice(0, 2000));
  },
});

Deno.test({
  name: "cli: profile kstack resolves to kernel symbols",
  ignore,
  async fn() {
    const { out } = await profileRun();
    const kmap = out.slice(out.indexOf("@k["), out.indexOf("@n:"));
    assert.match(kmap, FRAME);
    assert.doesNotMatch(kmap, /^\s+(0x)?[0-9a-f]{12,16}$/m, "raw hex frames");
  },
});

Deno.test({
  name: "cli: profile ustack resolves to the workload's symbols",
  ignore,
  async fn() {
    const { out } = await profileRun();
    assert.match(out, /^@u\[\n {4}tsb_spin_inner\+\d+$/m);
  },
});

Deno.test({
  name: "cli: usym() resolves to the workload's symbols",
  async fn() {
    const { out } = await profileRun();
    assert.match(out, /^@s\[tsb_spin_inner\]: \d+$/m);
  },
});

Deno.test({
  name: "cli: an empty kstack key prints as @e[] like bpftrace",
  async fn() {
    const { out } = await profileRun();
    assert.match(out, /^@e\[\]: \d+$/m);
    assert.doesNotMatch(out, /^@e\[\n\]/m);
  },
});
