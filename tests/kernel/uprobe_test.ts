/**
 * Acceptance 4: a uprobe on a function of a gcc-built binary counts its
 * calls exactly, and a uretprobe sees its return values.
 */

import assert from "node:assert/strict";
import {
  afterAttachLine,
  skip,
  skipReason,
  Tracer,
  Workload,
  workloadPath,
} from "./helpers.ts";

const ignore = skip("kernel uprobe tests", skipReason);
const CALLS = 1000;

Deno.test({
  name: "cli: uprobe counts calls exactly, uretprobe sees return values",
  ignore,
  async fn() {
    const bin = await workloadPath();
    const w = await Workload.start(["calls", String(CALLS)]);
    const t = Tracer.tsbpf([
      "-e",
      `uprobe:${bin}:tsb_target /pid == ${w.pid}/ { @calls = count(); @arg = lhist(arg0, 0, ${CALLS}, 250); }
       uretprobe:${bin}:tsb_target /pid == ${w.pid}/ { @ret[retval] = count(); }`,
    ]);
    try {
      await t.attached();
      const printed = await w.run();
      // sum of i % 3 for i < 1000
      assert.equal(printed.trim().split("\n").at(-1), "999");
      const r = await t.stop();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^Attached 2 probes$/m);
      // bpftrace's row: 16-wide label, 8-wide count, 52-wide bar
      const row = (label: string, n: number) =>
        `${label.padEnd(16)}${String(n).padStart(8)} |${"@".repeat(52)}|\n`;
      // Equal counts (retval 1 and 2) print in no fixed order, as in
      // bpftrace: sort the two tied lines before comparing.
      const lines = afterAttachLine(r.stdout).split("\n");
      const tied = lines.length - 4;
      lines.splice(tied, 2, ...lines.slice(tied, tied + 2).sort());
      assert.equal(
        lines.join("\n"),
        "\n\n" +
          "@arg: \n" +
          row("[0, 250)", 250) +
          row("[250, 500)", 250) +
          row("[500, 750)", 250) +
          row("[750, 1000)", 250) +
          "\n" +
          `@calls: ${CALLS}\n` +
          "@ret[1]: 333\n" +
          "@ret[2]: 333\n" +
          "@ret[0]: 334\n",
      );
    } finally {
      await w.kill();
      await t.kill();
    }
  },
});

Deno.test({
  name: "cli: -p PID limits a uprobe to that process",
  ignore,
  async fn() {
    const bin = await workloadPath();
    const a = await Workload.start(["calls", "30"]);
    const b = await Workload.start(["calls", "50"]);
    const t = Tracer.tsbpf([
      "-p",
      String(b.pid),
      "-e",
      `uprobe:${bin}:tsb_target { @[pid] = count(); }`,
    ]);
    try {
      await t.attached();
      await a.run();
      await b.run();
      const r = await t.stop();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(afterAttachLine(r.stdout), `\n\n@[${b.pid}]: 50\n`);
    } finally {
      await a.kill();
      await b.kill();
      await t.kill();
    }
  },
});
