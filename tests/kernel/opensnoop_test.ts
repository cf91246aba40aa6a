/**
 * Acceptance 3: an opensnoop-style printf prints the paths a process opens,
 * in order; at ~10,000 events/s for 2 s nothing is lost, and when a burst
 * does overflow the ring buffer the loss is reported ("Lost N events").
 */

import assert from "node:assert/strict";
import {
  afterAttachLine,
  skip,
  skipReason,
  Tracer,
  Workload,
} from "./helpers.ts";

const ignore = skip("kernel opensnoop tests", skipReason);

function snoop(pid: number): string {
  return `tracepoint:syscalls:sys_enter_openat /pid == ${pid}/ { printf("%s %s\\n", comm, str(args->filename)); }`;
}

/** Sequence numbers of `tsbwork /nonexistent/tsb/NNNNNN` lines, in order. */
function seqOf(stdout: string): number[] {
  const out: number[] = [];
  for (const m of stdout.matchAll(/^tsbwork \/nonexistent\/tsb\/(\d{6})$/gm)) {
    out.push(Number(m[1]));
  }
  return out;
}

function lostOf(stdout: string): number {
  const m = stdout.match(/^Lost (\d+) events$/m);
  return m ? Number(m[1]) : 0;
}

Deno.test({
  name: "cli: opensnoop printf prints the opened paths in order",
  ignore,
  async fn() {
    const paths = [
      "/etc/hostname",
      "/nonexistent/a",
      "relative/path.txt",
      "/proc/self/status",
      "/" + "x".repeat(60), // 61 bytes: within str()'s 64 with its NUL
      "/etc/hostname",
    ];
    const w = await Workload.start(["open", ...paths]);
    const t = Tracer.tsbpf(["-e", snoop(w.pid)]);
    try {
      await t.attached();
      await w.run();
      await t.waitFor(paths.at(-2)!, 5000);
      const r = await t.stop();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        afterAttachLine(r.stdout),
        // bpftrace ends every run with two newlines, maps or not.
        paths.map((p) => `tsbwork ${p}\n`).join("") + "\n\n",
      );
    } finally {
      await w.kill();
      await t.kill();
    }
  },
});

Deno.test({
  name: "cli: str() truncates a long path as bpftrace does (63 bytes)",
  ignore,
  async fn() {
    const long = "/" + "y".repeat(99);
    const w = await Workload.start(["open", long]);
    const t = Tracer.tsbpf(["-e", snoop(w.pid)]);
    try {
      await t.attached();
      await w.run();
      await t.waitFor("tsbwork /", 5000);
      const r = await t.stop();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        afterAttachLine(r.stdout),
        `tsbwork ${long.slice(0, 63)}\n\n\n`,
      );
    } finally {
      await w.kill();
      await t.kill();
    }
  },
});

Deno.test({
  name: "cli: 10,000 printf events/s for 2 s arrive in order, none lost",
  ignore,
  async fn() {
    const rate = 10_000, seconds = 2, total = rate * seconds;
    const w = await Workload.start(["openrate", String(rate), String(seconds)]);
    const t = Tracer.tsbpf(["-e", snoop(w.pid)]);
    try {
      await t.attached();
      await w.run();
      const r = await t.stop();
      assert.equal(r.code, 0, r.stderr);
      const seq = seqOf(r.stdout);
      const lost = lostOf(r.stdout);
      // Nothing lost, or every loss reported.
      assert.equal(seq.length + lost, total, `got ${seq.length}, lost ${lost}`);
      for (let i = 1; i < seq.length; i++) {
        if (seq[i] <= seq[i - 1]) {
          assert.fail(`out of order at line ${i}: ${seq[i - 1]}, ${seq[i]}`);
        }
      }
      assert.equal(lost, 0, "lost events at 10,000/s");
      console.log(`  ${seq.length} of ${total} events printed in order`);
    } finally {
      await w.kill();
      await t.kill();
    }
  },
});

Deno.test({
  // A tight openat() loop can outrun the consumer and fill the ring
  // buffer; whatever is dropped in the kernel must be counted.
  name: "cli: a burst that overflows the ring buffer reports its losses",
  ignore,
  async fn() {
    const total = 150_000;
    const w = await Workload.start(["opens", String(total)]);
    const t = Tracer.tsbpf(["-e", snoop(w.pid)]);
    try {
      await t.attached();
      await w.run();
      const r = await t.stop();
      assert.equal(r.code, 0, r.stderr);
      const seq = seqOf(r.stdout);
      const lost = lostOf(r.stdout);
      assert.equal(seq.length + lost, total, `got ${seq.length}, lost ${lost}`);
      for (let i = 1; i < seq.length; i++) {
        if (seq[i] <= seq[i - 1]) {
          assert.fail(`out of order at line ${i}: ${seq[i - 1]}, ${seq[i]}`);
        }
      }
      console.log(`  burst of ${total}: ${seq.length} printed, ${lost} lost`);
    } finally {
      await w.kill();
      await t.kill();
    }
  },
});
