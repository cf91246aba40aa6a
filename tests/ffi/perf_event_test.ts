import assert from "node:assert/strict";
import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import { MapType, ProgType } from "../../runtime/bpf/opcodes.ts";
import type { AttachPoint } from "../../runtime/program.ts";
import { onlineCpus } from "../../ffi/attach.ts";
import { KernelEngine } from "../../runtime/engines/kernel_engine.ts";
import {
  addToSlot0,
  mapSpec,
  noLeaks,
  probeOf,
  skipReason,
} from "./kernel_helpers.ts";
import { skip } from "../support/skip.ts";

function counter(name: string, at: AttachPoint, mapIndex: number) {
  const b = new InsnBuilder();
  b.movImm(7, 1);
  addToSlot0(b, mapIndex, "out");
  b.label("out").movImm(0, 0).exit();
  return probeOf(name, ProgType.PERF_EVENT, [at], b);
}

function perCpuSlot0(values: Uint8Array[]): bigint[] {
  return values.map((v) =>
    new DataView(v.buffer, v.byteOffset).getBigUint64(0, true)
  );
}

Deno.test({
  name: "profile:hz:99, interval:ms:100 and software:cpu-clock sample for 1 s",
  ignore: skipReason !== undefined,
  fn: () =>
    noLeaks(async () => {
      const engine = new KernelEngine();
      try {
        await engine.load({
          probes: [
            counter("prof", {
              kind: "profile",
              target: "",
              unit: "hz",
              period: 99,
              text: "profile:hz:99",
            }, 0),
            counter("intv", {
              kind: "interval",
              target: "",
              unit: "ms",
              period: 100,
              text: "interval:ms:100",
            }, 1),
            counter("sw", {
              kind: "software",
              target: "cpu-clock",
              period: 10_000_000,
              text: "software:cpu-clock:10000000",
            }, 2),
          ],
          maps: [
            mapSpec("@prof", MapType.PERCPU_ARRAY, 4, 8, 1),
            mapSpec("@intv", MapType.PERCPU_ARRAY, 4, 8, 1),
            mapSpec("@sw", MapType.PERCPU_ARRAY, 4, 8, 1),
          ],
          formats: [],
        });
        await engine.attach();
        // Keep every CPU busy: a tickless idle CPU may take no sample at all.
        const spinners = onlineCpus().map(() =>
          new Deno.Command("timeout", {
            args: ["1.1", "sh", "-c", "while :; do :; done"],
            stdout: "null",
            stderr: "null",
          }).spawn()
        );
        await new Promise((r) => setTimeout(r, 1000));
        await Promise.all(spinners.map((c) => c.status));
        const [prof, intv, sw] = [0, 1, 2].map((i) =>
          perCpuSlot0(engine.readMap(i)[0].values)
        );
        engine.close();
        const ncpu = onlineCpus().length;
        const total = (xs: bigint[]) => Number(xs.reduce((a, b) => a + b, 0n));
        console.log(
          `profile:hz:99 per CPU ${prof.join("/")}; interval:ms:100 ${
            total(intv)
          }; software:cpu-clock:10ms per CPU ${sw.join("/")}`,
        );
        // Sampling runs on every online CPU, up to 99 times a second each
        // (an idle tickless CPU samples less).
        for (const cpu of onlineCpus()) {
          assert.ok(prof[cpu] >= 1n && prof[cpu] <= 200n, `profile ${prof}`);
          assert.ok(sw[cpu] >= 1n && sw[cpu] <= 200n, `software ${sw}`);
        }
        assert.ok(total(prof) >= 50 && total(prof) <= 200 * ncpu);
        assert.ok(total(sw) >= 50 && total(sw) <= 200 * ncpu);
        // interval: one CPU only, 10 per second.
        assert.ok(total(intv) >= 5 && total(intv) <= 12, `interval ${intv}`);
        assert.equal(intv.filter((x) => x > 0n).length, 1);
      } finally {
        engine.close();
      }
    }),
});

const hasPmu = (() => {
  try {
    return Deno.statSync("/sys/bus/event_source/devices/cpu").isDirectory;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "hardware events without a PMU fail with one clear sentence",
  ignore: skip(
    "the no-PMU error test",
    skipReason ?? (hasPmu ? "this machine has a PMU" : undefined),
  ),
  fn: () =>
    noLeaks(async () => {
      const engine = new KernelEngine();
      try {
        await engine.load({
          probes: [
            counter("hw", {
              kind: "hardware",
              target: "cycles",
              period: 100000,
              text: "hardware:cycles:100000",
            }, 0),
          ],
          maps: [mapSpec("@hw", MapType.PERCPU_ARRAY, 4, 8, 1)],
          formats: [],
        });
        await assert.rejects(engine.attach(), {
          name: "AttachError",
          message:
            'Cannot attach "hardware:cycles:100000": this machine has no hardware performance counters (a VM?); use software:* or profile:*',
        });
      } finally {
        engine.close();
      }
    }),
});
