/**
 * Figures, measured and printed, not asserted beyond sanity: per-event
 * run time of tsbpf's and bpftrace's program for the same one-liner under
 * a syscall-heavy workload, and the translated instruction counts
 * (xlated / 8) of four reference programs in both tools.
 *
 * Both tracers run at once, so every syscall runs both programs under the
 * same conditions; the test turns the kernel's BPF statistics on for both
 * while it measures by holding a `bpf_enable_stats()` descriptor (the
 * tsbpf CLI leaves them off, as bpftrace does). Not the
 * `kernel.bpf_stats_enabled` sysctl: one setting for the whole machine,
 * which another test or tool may turn off (and restore) meanwhile; the
 * kernel counts descriptors apart from it.
 */

import assert from "node:assert/strict";
import { native } from "../../ffi/libbpf.ts";
import { BPF_STATS_RUN_TIME } from "../../ffi/structs.ts";
import {
  type BpftoolProg,
  bpftoolProgs,
  bpftraceSkipReason,
  skip,
  Tracer,
  Workload,
} from "./helpers.ts";

const ignore = skip("kernel measurements", bpftraceSkipReason);

function byId(progs: BpftoolProg[], ids: number[]): BpftoolProg[] {
  return ids.map((id) => {
    const p = progs.find((q) => q.id === id);
    assert.ok(p, `program ${id} listed`);
    return p;
  });
}

Deno.test({
  name: "measure: run time per event, tsbpf vs bpftrace (raw_syscalls)",
  ignore,
  async fn() {
    const prog = "tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }";
    const n = native();
    const statsFd = n.check(
      "turn on BPF run-time statistics",
      n.bpf.bpf_enable_stats(BPF_STATS_RUN_TIME),
    );
    const w = await Workload.start(["syscalls", "1.5"]);
    const ours = Tracer.tsbpf(["-e", prog]);
    const ref = Tracer.bpftrace(["-e", prog]);
    try {
      await Promise.all([ours.attached(), ref.attached()]);
      const ids = {
        tsbpf: await ours.waitProgIds(1),
        bpftrace: await ref.waitProgIds(1),
      };
      assert.equal(ids.tsbpf.length, 1);
      assert.equal(ids.bpftrace.length, 1);
      // Both attached: both programs run, and are counted (syscalls
      // never stop).
      const all = [...ids.tsbpf, ...ids.bpftrace];
      let before = await bpftoolProgs();
      for (
        let i = 0;
        !byId(before, all).every((p) => (p.run_cnt ?? 0) > 0);
        i++
      ) {
        assert.ok(
          i < 500,
          `programs not counted: ${JSON.stringify(byId(before, all))}`,
        );
        await new Promise((r) => setTimeout(r, 20));
        before = await bpftoolProgs();
      }
      const calls = Number((await w.run()).trim().split("\n").at(-1));
      const after = await bpftoolProgs();
      const rows: string[] = [];
      for (const tool of ["tsbpf", "bpftrace"] as const) {
        const [a] = byId(before, ids[tool]);
        const [b] = byId(after, ids[tool]);
        const runs = (b.run_cnt ?? 0) - (a.run_cnt ?? 0);
        const ns = (b.run_time_ns ?? 0) - (a.run_time_ns ?? 0);
        assert.ok(runs >= calls, `${tool}: ${runs} runs for ${calls} calls`);
        rows.push(
          `${tool.padEnd(8)} ${String(runs).padStart(9)} runs ${
            (ns / runs).toFixed(1).padStart(7)
          } ns/run  xlated ${(b.bytes_xlated ?? 0) / 8}`,
        );
      }
      console.log(
        `  ${prog}\n  workload: ${calls} getppid() calls\n  ` +
          rows.join("\n  "),
      );
    } finally {
      n.closeFd(statsFd);
      await w.kill();
      await ours.stop();
      await ref.stop();
      await ours.kill();
      await ref.kill();
    }
  },
});

const PROGRAMS = [
  "tracepoint:syscalls:sys_enter_getppid { @a[comm] = count(); }",
  "tracepoint:raw_syscalls:sys_enter /pid == 1234/ { @b[args->id] = count(); }",
  'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); }',
  "tracepoint:syscalls:sys_exit_read /args->ret > 0/ { @bytes = hist(args->ret); }",
];

Deno.test({
  name: "measure: xlated instruction counts, tsbpf vs bpftrace",
  ignore,
  async fn() {
    // One script with all four (maps renamed apart); each probe is its
    // own program in both tools, in script order.
    const script = PROGRAMS.join("\n");
    const ours = Tracer.tsbpf(["-e", script]);
    const ref = Tracer.bpftrace(["-e", script]);
    try {
      await Promise.all([ours.attached(), ref.attached()]);
      const tIds = await ours.waitProgIds(4);
      const bIds = await ref.waitProgIds(4);
      const progs = await bpftoolProgs();
      const t = byId(progs, tIds);
      const b = byId(progs, bIds);
      assert.equal(t.length, 4);
      assert.equal(b.length, 4);
      const lines = PROGRAMS.map((p, i) => {
        const n = (x: BpftoolProg) => (x.bytes_xlated ?? 0) / 8;
        assert.equal(t[i].name, b[i].name, "same probe order");
        return `${String(n(t[i])).padStart(4)} ${
          String(n(b[i])).padStart(8)
        }  ${p}`;
      });
      console.log(`  tsbpf bpftrace\n  ${lines.join("\n  ")}`);
    } finally {
      await ours.stop();
      await ref.stop();
      await ours.kill();
      await ref.kill();
    }
  },
});
