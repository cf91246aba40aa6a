import assert from "node:assert/strict";
import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import { MapType, ProgType } from "../../runtime/bpf/opcodes.ts";
import { KernelEngine } from "../../runtime/engines/kernel_engine.ts";
import { PtRegs } from "../../ffi/structs.ts";
import {
  addToSlot0,
  filterTgid,
  mapSpec,
  noLeaks,
  point,
  probeOf,
  skipReason,
  slot0,
} from "./kernel_helpers.ts";
import {
  workloadBinary,
  WorkloadProcess,
  workloadSkipReason,
} from "../support/workload.ts";

const N = 1000;

const skip = skipReason ?? workloadSkipReason();
if (skip !== undefined && skipReason === undefined) {
  console.log(`Skipping uprobe tests: ${skip}`);
}

/** What `calls n` returns in all: the sum of i % 3 for i < n. */
function sumMod3(n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += i % 3;
  return s;
}

Deno.test({
  name:
    "uprobe counts calls exactly; uretprobe sums return values (pt_regs ax)",
  ignore: skip !== undefined,
  fn: () =>
    noLeaks(async () => {
      const bin = await workloadBinary("tsbwork");
      const child = await WorkloadProcess.start("tsbwork", ["calls", `${N}`]);
      const other = await WorkloadProcess.start("tsbwork", [
        "calls",
        `${N / 2}`,
      ]);
      // The pid option restricts both probes to the child; `other` runs
      // the same function and must not be seen.
      const engine = new KernelEngine({ pid: child.pid });
      try {
        const enter = new InsnBuilder();
        filterTgid(enter, child.pid, "out");
        enter.movImm(7, 1);
        addToSlot0(enter, 0, "out");
        enter.label("out").movImm(0, 0).exit();

        const ret = new InsnBuilder(); // no tgid filter: relies on `pid`
        ret.ldx(8, 7, 1, PtRegs.ax); // r7 = return value
        addToSlot0(ret, 1, "out");
        ret.label("out").movImm(0, 0).exit();

        await engine.load({
          probes: [
            probeOf("up", ProgType.KPROBE, [
              point("uprobe", bin, { symbol: "tsb_target" }),
            ], enter),
            probeOf("uretp", ProgType.KPROBE, [
              point("uretprobe", bin, { symbol: "tsb_target" }),
            ], ret),
          ],
          maps: [
            mapSpec("@calls", MapType.ARRAY, 4, 8, 1),
            mapSpec("@sum", MapType.ARRAY, 4, 8, 1),
          ],
          formats: [],
        });
        await engine.attach();
        const [printed, otherPrinted] = await Promise.all([
          child.run(),
          other.run(),
        ]);
        assert.equal(printed.trim(), String(sumMod3(N)));
        assert.equal(otherPrinted.trim(), String(sumMod3(N / 2)));
        assert.equal(slot0(engine.readMap(0)), BigInt(N));
        assert.equal(slot0(engine.readMap(1)), BigInt(sumMod3(N)));
      } finally {
        engine.close();
        await child.kill();
        await other.kill();
      }
    }),
});

Deno.test({
  name: "uprobe on a missing symbol fails with a clear message",
  ignore: skip !== undefined,
  fn: () =>
    noLeaks(async () => {
      const bin = await workloadBinary("tsbwork");
      const engine = new KernelEngine();
      try {
        const b = new InsnBuilder().movImm(0, 0).exit();
        await engine.load({
          probes: [
            probeOf("nosym", ProgType.KPROBE, [
              point("uprobe", bin, { symbol: "no_such_fn" }),
            ], b),
          ],
          maps: [],
          formats: [],
        });
        await assert.rejects(engine.attach(), {
          name: "AttachError",
          message:
            `Cannot attach "uprobe:${bin}": unknown symbol "no_such_fn" in "${bin}"`,
        });
      } finally {
        engine.close();
      }
    }),
});
