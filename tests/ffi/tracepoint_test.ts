import assert from "node:assert/strict";
import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import { Helper, MapType, ProgType } from "../../runtime/bpf/opcodes.ts";
import type { Program } from "../../runtime/program.ts";
import { onlineCpus } from "../../ffi/attach.ts";
import { KernelEngine } from "../../runtime/engines/kernel_engine.ts";
import {
  addToSlot0,
  counterMap,
  filterTgid,
  mapSpec,
  noLeaks,
  point,
  probeOf,
  skipReason,
  slot0,
  spawnGetppid,
} from "./kernel_helpers.ts";

const N = 5000;

/** Counts getppid() calls of one tgid into map 0. */
function countingProgram(tgid: number, kind: "tracepoint" | "raw"): Program {
  const b = new InsnBuilder();
  b.movReg(6, 1);
  if (kind === "raw") {
    // raw_tracepoint:sys_enter: ctx->args[1] is the syscall number.
    b.ldx(8, 8, 6, 8);
  }
  filterTgid(b, tgid, "out");
  if (kind === "raw") b.jmpImm("JNE", 8, 110, "out"); // __NR_getppid
  b.movImm(7, 1);
  addToSlot0(b, 0, "out");
  b.label("out");
  b.movImm(0, 0);
  b.exit();
  const probe = kind === "raw"
    ? probeOf("raw", ProgType.RAW_TRACEPOINT, [
      point("rawtracepoint", "sys_enter"),
    ], b)
    : probeOf("getppid", ProgType.TRACEPOINT, [
      point("tracepoint", "syscalls:sys_enter_getppid"),
    ], b);
  return { probes: [probe], maps: [counterMap], formats: [] };
}

Deno.test({
  name: "tracepoint counts exactly 5000 getppid calls of a child",
  ignore: skipReason !== undefined,
  fn: () =>
    noLeaks(async () => {
      const child = spawnGetppid(N);
      const engine = new KernelEngine();
      try {
        const t0 = performance.now();
        await engine.load(countingProgram(child.pid, "tracepoint"));
        await engine.attach();
        const t1 = performance.now();
        console.log(`load+attach: ${(t1 - t0).toFixed(2)} ms`);
        const status = await child.run();
        assert.equal(status.code, 0);
        assert.equal(slot0(engine.readMap(0)), BigInt(N));
      } finally {
        engine.close();
        await child.kill();
      }
    }),
});

Deno.test({
  name: "one tracepoint perf event (pid -1, cpu 0) fires on every CPU",
  ignore: skipReason !== undefined,
  fn: () =>
    noLeaks(async () => {
      for (const cpu of onlineCpus()) {
        const child = spawnGetppid(1000, cpu);
        const engine = new KernelEngine();
        try {
          await engine.load(countingProgram(child.pid, "tracepoint"));
          await engine.attach();
          assert.equal((await child.run()).code, 0);
          assert.equal(slot0(engine.readMap(0)), 1000n, `on CPU ${cpu}`);
        } finally {
          engine.close();
          await child.kill();
        }
      }
    }),
});

Deno.test({
  name: "raw tracepoint sys_enter counts exactly 5000 getppid calls",
  ignore: skipReason !== undefined,
  fn: () =>
    noLeaks(async () => {
      const child = spawnGetppid(N);
      const engine = new KernelEngine();
      try {
        await engine.load(countingProgram(child.pid, "raw"));
        await engine.attach();
        assert.equal((await child.run()).code, 0);
        assert.equal(slot0(engine.readMap(0)), BigInt(N));
      } finally {
        engine.close();
        await child.kill();
      }
    }),
});

Deno.test({
  name: "count per key: per-CPU hash keyed by tgid, with run-time stats",
  ignore: skipReason !== undefined,
  fn: () =>
    noLeaks(async () => {
      const child = spawnGetppid(N);
      const engine = new KernelEngine({ enableStats: true });
      try {
        // @[tgid] = count() for the child only, in a per-CPU hash.
        const b = new InsnBuilder();
        b.call(Helper.get_current_pid_tgid);
        b.alu64Imm("RSH", 0, 32);
        b.jmpImm("JNE", 0, child.pid, "out");
        b.stx(8, 10, -8, 0);
        b.movReg(2, 10).alu64Imm("ADD", 2, -8);
        b.ldMap(1, 0);
        b.call(Helper.map_lookup_elem);
        b.jmpImm("JEQ", 0, 0, "new");
        b.ldx(8, 1, 0, 0).alu64Imm("ADD", 1, 1).stx(8, 0, 0, 1);
        b.ja("out");
        b.label("new");
        b.st(8, 10, -16, 1);
        b.movReg(2, 10).alu64Imm("ADD", 2, -8);
        b.movReg(3, 10).alu64Imm("ADD", 3, -16);
        b.movImm(4, 0);
        b.ldMap(1, 0);
        b.call(Helper.map_update_elem);
        b.label("out");
        b.movImm(0, 0);
        b.exit();
        const probe = probeOf("perkey", ProgType.TRACEPOINT, [
          point("tracepoint", "syscalls:sys_enter_getppid"),
        ], b);
        await engine.load({
          probes: [probe],
          maps: [mapSpec("@", MapType.PERCPU_HASH, 8, 8, 1024)],
          formats: [],
        });
        await engine.attach();
        assert.equal((await child.run()).code, 0);
        const entries = engine.readMap(0);
        assert.equal(entries.length, 1);
        const key = new DataView(entries[0].key.buffer).getBigUint64(0, true);
        assert.equal(key, BigInt(child.pid));
        let total = 0n;
        for (const v of entries[0].values) {
          total += new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
        }
        assert.equal(total, BigInt(N));
        const [st] = engine.stats();
        assert.ok(st.runCount >= N, `run count ${st.runCount}`);
        assert.ok(st.insnCount > 0);
        console.log(
          `count-per-key: run_cnt=${st.runCount} run_time_ns=${st.runTimeNs} ` +
            `(${(st.runTimeNs / st.runCount).toFixed(1)} ns/run), ` +
            `xlated insns=${st.insnCount}`,
        );
        engine.clearMap(0);
        assert.equal(engine.readMap(0).length, 0);
      } finally {
        engine.close();
        await child.kill();
      }
    }),
});

Deno.test({
  name: "load+attach+close of a small tracepoint program is fast",
  ignore: skipReason !== undefined,
  fn: () =>
    noLeaks(async () => {
      const times: number[] = [];
      for (let i = 0; i < 7; i++) {
        const engine = new KernelEngine();
        try {
          const t0 = performance.now();
          await engine.load(countingProgram(1, "tracepoint"));
          await engine.attach();
          times.push(performance.now() - t0);
        } finally {
          engine.close();
        }
      }
      times.sort((a, b) => a - b);
      const median = times[3];
      console.log(
        `load+attach (1 map + ${
          countingProgram(1, "tracepoint").probes[0].insns.length
        }-slot tracepoint program): median ${median.toFixed(2)} ms, min ${
          times[0].toFixed(2)
        } ms`,
      );
      assert.ok(median < 1000, `median ${median} ms`);
    }),
});
