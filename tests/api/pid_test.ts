/**
 * `trace({ pid })` behaves as the CLI's `-p PID`: every probe but BEGIN
 * and END runs only in that process (tracepoints too, on the kernel, the
 * interpreter and a replay), and a pid that names no process is refused
 * with the CLI's message.
 */

import assert from "node:assert/strict";
import { getppidChild, ignoreKernel, kernel } from "./helpers.ts";
import { trace, Tracer, type U32 } from "../../mod.ts";
import { NoSuchProcessError } from "../../runtime/api/trace_pid.ts";
import { compile } from "../../runtime/compiler/compile.ts";
import { checkTargets } from "../../runtime/cli_targets.ts";
import { event, headerFor, recordingBytes } from "../record/helpers.ts";

const BY_PID = "tracepoint:raw_syscalls:sys_enter { @c[pid] = count(); }";

/** A pid no process has: one of a child that has exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test({
  name: "trace({ pid }) on the kernel counts that process's syscalls only",
  ignore: ignoreKernel,
  async fn() {
    await using s = await trace(BY_PID, {
      backend: "kernel",
      pid: Deno.pid,
      announce: false,
    });
    // Another process's syscalls while the probe is live must not count.
    const other = await getppidChild(200);
    await s.every(100).next();
    const pids = s.map<number, number>("c").entries().map(([p]) => p);
    assert.ok(!pids.includes(other), `pid ${other} counted`);
    assert.deepEqual(pids, [Deno.pid]);
  },
});

Deno.test({
  name: "trace({ pid }) with TypeScript probe bodies filters by pid too",
  ignore: ignoreKernel,
  async fn() {
    const t = new Tracer();
    const calls = t.map<[U32], "count">("calls");
    t.probe("tracepoint:raw_syscalls:sys_enter", (c) => {
      calls.at(c.pid).count();
    });
    await using s = await trace(t, {
      backend: "kernel",
      pid: Deno.pid,
      announce: false,
    });
    await getppidChild(200);
    await s.every(100).next();
    assert.deepEqual(s.map(calls).entries().map(([p]) => p), [Deno.pid]);
  },
});

Deno.test("trace({ pid }) on the interpreter: the synthetic machine's events come from that pid only", async () => {
  await using s = await trace(BY_PID, {
    backend: "interp",
    pid: 4242,
    seed: 1,
    durationMs: 500,
    announce: false,
  });
  await s.run();
  const pids = s.map<number, number>("c").entries().map(([p]) => p);
  assert.deepEqual(pids, [4242]);
});

Deno.test("trace({ pid }) on a replay keeps the recorded runs of that pid only", async () => {
  const text = "tracepoint:syscalls:sys_enter_openat { @c[pid] = count(); }";
  const program = compile(text);
  const events = [100, 101, 100, 102, 100].map((pid, i) =>
    event({
      timeNs: 2_000_000_000 + i * 1_000_000,
      pid,
      tid: pid,
      ctx: new Uint8Array(program.probes[0].ctx.size),
    })
  );
  const path = Deno.makeTempFileSync({ suffix: ".tsrec" });
  try {
    Deno.writeFileSync(path, recordingBytes(headerFor(program), events));
    // The recorded processes are not this machine's: pid 100 need not live.
    await using s = await trace(text, { replay: path, pid: 100 });
    await s.run();
    assert.deepEqual(s.map<number, number>("c").entries(), [[100, 3]]);
  } finally {
    Deno.removeSync(path);
  }
});

for (const backend of ["kernel", "auto"] as const) {
  Deno.test({
    name:
      `trace({ pid, backend: "${backend}" }) refuses a pid that names no process, as the CLI does`,
    ignore: backend === "kernel" && !kernel.ok,
    async fn() {
      const pid = await deadPid();
      await assert.rejects(
        () => trace(BY_PID, { backend, pid, durationMs: 100 }),
        (e) =>
          e instanceof NoSuchProcessError && e.pid === pid &&
          e.message === `Cannot trace pid ${pid} (-p): No such process` &&
          // The CLI's words exactly.
          e.message === checkTargets({ pid, backend }),
      );
    },
  });
}
