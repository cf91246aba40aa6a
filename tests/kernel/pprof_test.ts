/**
 * `scripts/profile.ts --pprof` in the kernel: a gcc-built busy loop
 * profiled for 2 s shows in the pprof profile under its own pid, with its
 * function names, in the mapping of its executable from /proc/PID/maps;
 * the profile's counts are the folded output's.
 */

import assert from "node:assert/strict";
import { skip, skipReason, Workload, workloadPath } from "./helpers.ts";
import { runScript } from "../scripts/helpers.ts";
import {
  decodePprof,
  foldedOf,
  parseFolded,
} from "../metrics/pprof_helpers.ts";
import { KERNEL_MAPPING } from "../../runtime/metrics/pprof.ts";

Deno.test({
  name: "profile.ts --pprof: a busy process's functions, pid and executable",
  ignore: skip("the kernel pprof test", skipReason),
  async fn() {
    const path = Deno.makeTempFileSync({ suffix: ".pb.gz" });
    const w = await Workload.start(["spin", "4000"]);
    try {
      const r = await runScript(
        "profile",
        ["--backend", "kernel", "--duration", "2", "--pprof", path],
        () => w.go(),
      );
      assert.equal(r.code, 0, r.stderr);
      const p = await decodePprof(Deno.readFileSync(path));
      const folded = parseFolded(r.stdout);
      const sum = (ns: Iterable<number>) => [...ns].reduce((a, b) => a + b, 0);
      assert.equal(
        sum(p.samples.map((s) => s.values[0])),
        sum(folded.values()),
      );
      assert.deepEqual([...foldedOf(p)].sort(), [...folded].sort());

      const mine = p.samples.filter((s) => s.labels.pid === String(w.pid));
      const n = sum(mine.map((s) => s.values[0]));
      // A busy process on a loaded 2-core machine: some samples, never
      // more than 99 Hz allows.
      assert.ok(n >= 10, `only ${n} samples of the busy process`);
      assert.ok(n <= 99 * 3, `${n} samples`);
      const exe = await workloadPath();
      const names = new Set<string>();
      for (const s of mine) {
        assert.equal(s.labels.comm, "tsbwork");
        for (const l of s.locations) {
          const kernel = l.functions[0].name.endsWith("_[k]");
          if (kernel) {
            assert.equal(l.mapping?.file, KERNEL_MAPPING);
            assert.ok(l.address >= 0xffff800000000000n, l.address.toString(16));
            continue;
          }
          names.add(l.functions[0].name);
          if (l.functions[0].name.startsWith("tsb_spin")) {
            assert.equal(l.mapping?.file, exe);
            assert.match(l.mapping!.buildId, /^[0-9a-f]{40}$/);
            assert.ok(l.mapping!.limit > l.mapping!.start);
          }
        }
      }
      for (const f of ["tsb_spin_inner", "main"]) {
        assert.ok(names.has(f), `${f} missing from ${[...names]}`);
      }
      assert.deepEqual(p.sampleTypes, [
        ["samples", "count"],
        ["cpu", "nanoseconds"],
      ]);
      assert.equal(p.period, Math.round(1e9 / 99));
    } finally {
      await w.kill();
      Deno.removeSync(path);
    }
  },
});

Deno.test({
  name:
    "profile.ts: a process whose comm holds a newline and a space stays on one folded line",
  ignore: skip("the kernel profile comm test", skipReason),
  async fn() {
    // Another process on the machine may name itself anything but NUL.
    const busy = new Deno.Command("python3", {
      args: [
        "-c",
        'open("/proc/self/comm", "w").write("tsb\\nodd one")\nimport time\nt = time.time()\nwhile time.time() - t < 2.5: pass',
      ],
    }).spawn();
    try {
      const r = await runScript("profile", [
        "--backend",
        "kernel",
        "--duration",
        "1.5",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split("\n").filter((l) => l !== "");
      for (const l of lines) assert.match(l, /^\S+ \d+$/, JSON.stringify(l));
      assert.ok(
        lines.some((l) => l.startsWith("tsb_odd_one;")),
        r.stdout.slice(0, 500),
      );
    } finally {
      await busy.status;
    }
  },
});
