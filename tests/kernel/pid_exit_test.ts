/**
 * `-p PID` (`trace({ pid })`): as in bpftrace 0.26, the run ends when that
 * process exits (maps printed, END run, status 0), reaped or a zombie.
 * On the interpreter the process is synthetic and never exits.
 */

import assert from "node:assert/strict";
import { trace } from "../../mod.ts";
import { watchProcess } from "../../runtime/process_watch.ts";
import { hasStackTrace, Tracer } from "../support/child.ts";
import { commandSkipReason, kernelSkipReason, skip } from "../support/skip.ts";

const ignore = skip(
  "-p process exit tests",
  kernelSkipReason() ?? commandSkipReason("python3", "run a workload"),
);
const CALLS = 20;
const PROGRAM = `tracepoint:syscalls:sys_enter_getppid { @c = count(); }
END { printf("end\\n"); }`;
/** The longest from the process's exit to the tracer's (a loaded machine). */
const END_WITHIN_MS = 3000;

/**
 * Python lines: say "ready" (its start-up is over: it calls getppid() too),
 * wait for a line on stdin, call getppid() CALLS times.
 */
const WORKLOAD = [
  "import os, sys",
  'print("ready", flush=True)',
  "sys.stdin.readline()",
  `for _ in range(${CALLS}): os.getppid()`,
].join("\n");

/** Reads `stream` until it has said "ready"; returns what it said. */
async function ready(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  const d = new TextDecoder();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`No "ready" from the workload: ${text}`);
    text += d.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}

/** A python3 that calls getppid() CALLS times once `go()` is called. */
async function workload(): Promise<{ pid: number; go: () => Promise<void> }> {
  const child = new Deno.Command("python3", {
    args: ["-c", WORKLOAD],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  await ready(child.stdout);
  return {
    pid: child.pid,
    async go() {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode("go\n"));
      await w.close();
      assert.ok((await child.status).success);
      await child.stdout.cancel();
    },
  };
}

Deno.test({
  name: "-p: the run ends soon after the process exits, END run, maps printed",
  ignore,
  async fn() {
    const w = await workload();
    const t = Tracer.tsbpf(["-p", String(w.pid), "-e", PROGRAM]);
    try {
      await t.attached();
      await w.go();
      const exited = performance.now();
      const r = await t.finish(20_000);
      const took = performance.now() - exited;
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!hasStackTrace(r.stderr), r.stderr);
      assert.equal(r.stdout, `end\n\n\n@c: ${CALLS}\n`);
      assert.ok(took < END_WITHIN_MS, `ended ${Math.round(took)} ms after`);
    } finally {
      await t.kill();
    }
  },
});

Deno.test({
  name: "-p: a process that exited but was not reaped (a zombie) ends the run",
  ignore,
  async fn() {
    // The python's parent execs sleep, which never reaps it.
    const sh = new Deno.Command("sh", {
      args: [
        "-c",
        `exec 3<&0; echo $$; python3 -c '${WORKLOAD}' <&3 & echo $!; exec sleep 60 3<&-`,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const said = (await ready(sh.stdout)).split("\n");
    const pid = Number(said[1]);
    assert.ok(pid > 0 && pid !== Number(said[0]), said.join(" "));
    const t = Tracer.tsbpf(["-p", String(pid), "-e", PROGRAM]);
    try {
      await t.attached();
      const w = sh.stdin.getWriter();
      await w.write(new TextEncoder().encode("go\n"));
      await w.close();
      // Until it is a zombie.
      while (!/\) Z /.test(Deno.readTextFileSync(`/proc/${pid}/stat`))) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const exited = performance.now();
      const r = await t.finish(20_000);
      const took = performance.now() - exited;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `end\n\n\n@c: ${CALLS}\n`);
      assert.ok(took < END_WITHIN_MS, `ended ${Math.round(took)} ms after`);
    } finally {
      await t.kill();
      sh.kill("SIGKILL");
      await sh.stdout.cancel();
      await sh.status;
    }
  },
});

Deno.test({
  name: "a script's -p (syscount.ts): it ends when the process exits",
  ignore,
  async fn() {
    const w = await workload();
    const t = Tracer.script(
      new URL("../../scripts/syscount.ts", import.meta.url).pathname,
      ["-p", String(w.pid)],
    );
    try {
      await t.waitFor("Tracing syscalls");
      await w.go();
      const exited = performance.now();
      const r = await t.finish(20_000);
      const took = performance.now() - exited;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`\\ngetppid +${CALLS}\\n`));
      assert.ok(took < END_WITHIN_MS, `ended ${Math.round(took)} ms after`);
    } finally {
      await t.kill();
    }
  },
});

Deno.test({
  name: "trace({ pid }) on the kernel: the session ends when the process exits",
  ignore,
  async fn() {
    const w = await workload();
    await using s = await trace(PROGRAM, {
      backend: "kernel",
      pid: w.pid,
      // Bounds the test if the process's exit went unnoticed.
      durationMs: 15_000,
      announce: false,
      handleSignals: false,
    });
    await w.go();
    const exited = performance.now();
    assert.equal(await s.run(), "process");
    assert.ok(performance.now() - exited < END_WITHIN_MS);
    assert.equal(s.exitReason, "process");
    assert.equal(s.map<[], number>("c").get(), CALLS);
  },
});

Deno.test("trace({ pid }) on the interpreter: the synthetic process never exits", async () => {
  // A pid of no process of this machine: the interpreter's is synthetic.
  const child = new Deno.Command("true").spawn();
  await child.status;
  await using s = await trace(PROGRAM, {
    backend: "interp",
    pid: child.pid,
    durationMs: 300,
    announce: false,
    handleSignals: false,
  });
  assert.equal(await s.run(), "duration");
});

Deno.test("watchProcess: a live process, one gone, and a pid never used", async () => {
  const self = watchProcess(Deno.pid, 10);
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  const dead = watchProcess(gone.pid, 10);
  try {
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(self.signal.aborted, false);
    assert.equal(dead.signal.aborted, true);
    assert.equal(watchProcess(2 ** 22 + 1).signal.aborted, true);
  } finally {
    self.close();
    dead.close();
    self.close();
  }
});
