/**
 * Parity rows for `percpu_kaddr(name[, cpu])` (bpftrace v0.26.1
 * docs/stdlib.md, tests/runtime/call "percpu_kaddr ..."): a per-CPU
 * kernel variable's copy on one CPU (`bpf_per_cpu_ptr`, NULL for a CPU
 * that does not exist) or on this one (`bpf_this_cpu_ptr`), read as the
 * variable's type: `process_counts` as an integer, `runqueues` as a
 * `struct rq`. The interpreter's copies are synthetic (see
 * runtime/synthetic/kernel_heap.ts).
 *
 * The kernel half needs a kernel that resolves per-CPU variables (its
 * symbol table lists them: `CONFIG_KALLSYMS_ALL`); it is skipped, with
 * the kernel's reason, where it does not (see tests/support/percpu.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { entries, linesOf, only } from "./expect.ts";
import { N, type Row } from "./row.ts";

/** The rows of this area. */
export const PERCPU_ROWS: Row[] = [
  {
    name: "percpu_kaddr_process_counts",
    features: [
      "percpu_kaddr(name, cpu) (bpf_per_cpu_ptr)",
      "*p of an unsigned long variable",
      "NULL for a CPU that does not exist",
    ],
    source: `begin {
  printf("processes: %d\\n", *percpu_kaddr("process_counts", 0));
  $s = 0; $i = 0;
  while ($i < ncpus) { $s += *percpu_kaddr("process_counts", $i); $i++; }
  @sum = $s;
  @null = percpu_kaddr("process_counts", 4096) == 0;
  exit();
}`,
    needs: "percpu-vars",
    expect(r) {
      assert.match(linesOf(r)[0], /^processes: -?\d+$/);
      // Processes exist: the CPUs' counts sum to their number.
      assert.ok(Number(only(r, "@sum")) > 0, String(only(r, "@sum")));
      assert.equal(String(only(r, "@null")), "true");
    },
  },
  {
    name: "percpu_kaddr_this_cpu",
    features: [
      "percpu_kaddr(name) (bpf_this_cpu_ptr) in a tracepoint",
      "this CPU's copy == the copy of cpu",
    ],
    source:
      `tracepoint:syscalls:sys_enter_getppid { @same[*percpu_kaddr("process_counts") == *percpu_kaddr("process_counts", cpu)] = count(); }`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    needs: "percpu-vars",
    expect(r) {
      const e = entries(r, "@same");
      assert.equal(e.length, 1, JSON.stringify(e));
      assert.equal(e[0][0], "true");
      assert.ok(Number(e[0][1]) >= N);
    },
  },
  {
    name: "percpu_kaddr_runqueues",
    features: [
      "(struct rq *)percpu_kaddr(...)",
      "members of a per-CPU struct",
    ],
    source: `begin {
  $rq = (struct rq *)percpu_kaddr("runqueues", 0);
  if ($rq != 0) { @cpu = $rq->cpu; @nr = $rq.nr_running; }
  exit();
}`,
    needs: "percpu-vars",
    expect(r) {
      assert.equal(Number(only(r, "@cpu")), 0);
      const nr = Number(only(r, "@nr"));
      assert.ok(nr >= 0 && nr < 10_000, String(nr));
    },
  },
];
