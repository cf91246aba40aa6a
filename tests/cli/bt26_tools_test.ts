/**
 * Every tool bpftrace v0.26.1 ships (its `tools/*.bt`, copied unchanged
 * into tests/fixtures/bt26/) is a script people bring: each one compiles
 * for the interpreter without privileges (as the user nobody where the
 * machine can switch to it), and each one loads and verifies in the
 * kernel with `--dry-run` wherever this kernel has its probe types. The
 * only failures allowed are facts of the machine, each checked:
 *
 * - kprobe tools on a kernel built without kprobes (no `kprobe` PMU)
 *   fail to attach with the one-line explanation;
 * - loads.bt reads `kaddr("avenrun")`, a data symbol that only a kernel
 *   with CONFIG_KALLSYMS_ALL lists in /proc/kallsyms.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import {
  type CliRun,
  hasStackTrace,
  kernelSkipReason,
  nobodySkipReason,
  runCli,
  runCliAsNobody,
} from "./helpers.ts";

const DIR = new URL("../fixtures/bt26/", import.meta.url).pathname;
const TOOLS = [...Deno.readDirSync(DIR)]
  .map((e) => e.name)
  .filter((n) => n.endsWith(".bt"))
  .sort();

const hasKprobes = existsSync("/sys/bus/event_source/devices/kprobe");
const kallsyms = (() => {
  try {
    return Deno.readTextFileSync("/proc/kallsyms");
  } catch {
    return "";
  }
})();
const hasAvenrun = / avenrun$/m.test(kallsyms);
const NO_AVENRUN =
  /^\S+:\d+:\d+: ERROR: Failed to resolve kernel symbol: avenrun$/m;

const asNobody = nobodySkipReason() === undefined;
if (!asNobody) {
  console.log(`bt26_tools_test: compiles as this user: ${nobodySkipReason()}`);
}
const kernelSkip = kernelSkipReason();
if (kernelSkip !== undefined) {
  console.log(`bt26_tools_test: no kernel loads: ${kernelSkip}`);
}

function interpDryRun(file: string): Promise<CliRun> {
  const args = ["--backend", "interp", "--dry-run", file];
  return asNobody ? runCliAsNobody(args) : runCli(args);
}

/** Whether a tool attaches kprobes or kretprobes. */
function usesKprobes(text: string): boolean {
  return /^\s*(kprobe|kretprobe|k|kr):/m.test(text);
}

Deno.test("bt26 tools: all 39 of bpftrace 0.26.1's tools, copied unchanged", () => {
  assert.equal(TOOLS.length, 39);
  for (const t of TOOLS) {
    assert.match(Deno.readTextFileSync(DIR + t), /^#!\/usr\/bin\/env bpftrace/);
  }
});

for (const tool of TOOLS) {
  Deno.test(`bt26 tools: ${tool} compiles for the interpreter`, async () => {
    const r = await interpDryRun(DIR + tool);
    assert.ok(!hasStackTrace(r.stderr), r.stderr);
    if (tool === "loads.bt" && !hasAvenrun) {
      // The interpreter resolves kaddr() against this machine's symbols.
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, NO_AVENRUN);
      return;
    }
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /ERROR/);
  });

  Deno.test({
    name: `bt26 tools: ${tool} loads and verifies in the kernel (--dry-run)`,
    ignore: kernelSkip !== undefined,
    async fn() {
      const r = await runCli(["--backend", "kernel", "--dry-run", DIR + tool]);
      assert.ok(!hasStackTrace(r.stderr), r.stderr);
      if (tool === "loads.bt" && !hasAvenrun) {
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, NO_AVENRUN);
        return;
      }
      const text = Deno.readTextFileSync(DIR + tool);
      if (
        !hasKprobes && usesKprobes(text) &&
        !/missing_probes = ignore/.test(text)
      ) {
        assert.equal(r.code, 1, r.stderr);
        assert.match(
          r.stderr,
          /^ERROR: Cannot attach "k(ret)?probe:\S+": this kernel has no kprobes/m,
        );
        return;
      }
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /ERROR/);
    },
  });
}
