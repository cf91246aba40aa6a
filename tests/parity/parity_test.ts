import assert from "node:assert/strict";
import {
  ENGINES,
  kernelSkipReason,
  runProgram,
  workloadSkipReason,
} from "./run.ts";
import { skipReason, SKIPS } from "./skips.ts";
import { ROWS } from "./table.ts";
import { fentrySkipReason } from "../support/fentry.ts";
import { percpuSkipReason } from "../support/percpu.ts";

/**
 * With TSBPF_PARITY_RUN_SKIPPED=1 the skipped (row, engine) pairs run too
 * and must still fail: a pair that passes means its skip is stale.
 */
const runSkipped = Deno.env.get("TSBPF_PARITY_RUN_SKIPPED") === "1";

if (kernelSkipReason !== undefined) {
  console.log(
    `Skipping the kernel half of the parity suite: ${kernelSkipReason}`,
  );
}

Deno.test("parity table: at least 30 uniquely named rows, skips name rows", () => {
  assert.ok(ROWS.length >= 30, `${ROWS.length} rows`);
  const names = new Set(ROWS.map((r) => r.name));
  assert.equal(names.size, ROWS.length);
  const pairs = new Set<string>();
  for (const s of SKIPS) {
    assert.ok(names.has(s.row), `skip names no row: ${s.row}`);
    assert.ok(s.reason.length > 0, `skip without a reason: ${s.row}`);
    const pair = `${s.row}/${s.engine}`;
    assert.ok(!pairs.has(pair), `skipped twice: ${pair}`);
    pairs.add(pair);
  }
});

/** Why hardware perf events cannot be opened here, if they cannot. */
function hardwareSkipReason(): string | undefined {
  for (const pmu of ["cpu", "cpu_core", "cpu_atom", "armv8_pmuv3_0"]) {
    try {
      Deno.statSync(`/sys/bus/event_source/devices/${pmu}`);
      return undefined;
    } catch {
      // next
    }
  }
  return "this machine has no hardware performance counters (a VM?)";
}

const needs: Record<string, string | undefined> = {
  "hardware-counters": hardwareSkipReason(),
  fentry: fentrySkipReason(),
  "percpu-vars": percpuSkipReason(),
};

if (workloadSkipReason !== undefined) {
  console.log(
    `Skipping the uprobe rows of the parity suite: ${workloadSkipReason}`,
  );
}

for (const engine of ENGINES) {
  for (const row of ROWS) {
    const needsBin = typeof row.source === "function";
    const skip = skipReason(row.name, engine);
    if (skip !== undefined && !runSkipped) {
      console.log(`Skipping parity ${engine}: ${row.name}: ${skip}`);
    }
    const missing = engine === "kernel" && row.needs !== undefined
      ? needs[row.needs]
      : undefined;
    if (missing !== undefined) {
      console.log(`Skipping parity ${engine}: ${row.name}: ${missing}`);
    }
    Deno.test({
      name: `parity ${engine}: ${row.name}`,
      ignore: (engine === "kernel" && kernelSkipReason !== undefined) ||
        (needsBin && workloadSkipReason !== undefined) ||
        missing !== undefined ||
        (skip !== undefined && !runSkipped),
      async fn() {
        const check = async () => {
          const r = await runProgram(engine, row);
          assert.equal(
            r.faults,
            0,
            `${engine}: ${r.faults} faulted runs: ${r.firstFault}`,
          );
          row.expect(r);
        };
        if (skip === undefined) return await check();
        const passed = await check().then(() => true, () => false);
        assert.ok(!passed, `The skip of ${row.name} on ${engine} is stale`);
      },
    });
  }
}
