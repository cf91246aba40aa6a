import assert from "node:assert/strict";
import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import { MapType, ProgType } from "../../runtime/bpf/opcodes.ts";
import { KernelEngine } from "../../runtime/engines/kernel_engine.ts";
import { PtRegs } from "../../ffi/structs.ts";
import {
  addToSlot0,
  buildCHelper,
  filterTgid,
  mapSpec,
  noLeaks,
  point,
  probeOf,
  skipReason,
  slot0,
  spawnHelper,
} from "./kernel_helpers.ts";

const N = 1000;

const dir = skipReason === undefined
  ? await Deno.makeTempDir({ prefix: "tsbpf_ffi_" })
  : undefined;
const built = dir === undefined
  ? { skip: skipReason! }
  : await buildCHelper(dir);
const skip = "skip" in built ? built.skip : undefined;
if (skip !== undefined && skipReason === undefined) {
  console.log(`Skipping uprobe tests: ${skip}`);
}

Deno.test({
  name:
    "uprobe counts calls exactly; uretprobe sums return values (pt_regs ax)",
  ignore: skip !== undefined,
  fn: () =>
    noLeaks(async () => {
      const bin = (built as { path: string }).path;
      const child = spawnHelper(bin, N);
      const other = spawnHelper(bin, N / 2);
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
        assert.equal(printed, String(N * N));
        assert.equal(otherPrinted, String((N / 2) ** 2));
        assert.equal(slot0(engine.readMap(0)), BigInt(N));
        assert.equal(slot0(engine.readMap(1)), BigInt(N * N));
      } finally {
        engine.close();
      }
    }),
});

Deno.test({
  name: "uprobe on a missing symbol fails with a clear message",
  ignore: skip !== undefined,
  fn: () =>
    noLeaks(async () => {
      const bin = (built as { path: string }).path;
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

Deno.test({
  name: "uprobe test cleanup",
  ignore: dir === undefined,
  fn: async () => {
    await Deno.remove(dir!, { recursive: true });
  },
});
