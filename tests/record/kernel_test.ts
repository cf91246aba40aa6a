/**
 * Record in the kernel, replay in the interpreter: the outputs must be
 * byte-identical. Needs root and libbpf; skips with the reason otherwise.
 */
import assert from "node:assert/strict";
import { PER_EVENT_CASES, type PerEventCase } from "../../bench/per_event.ts";
import { kernelSkipReason, runCli } from "../cli/helpers.ts";
import { Tracer } from "../support/child.ts";
import { WorkloadProcess, workloadSkipReason } from "../support/workload.ts";
import { RING_POSITION } from "../../runtime/record/format.ts";
import { openRecording } from "../../runtime/record/reader.ts";

const skip = kernelSkipReason() ?? workloadSkipReason();
if (skip !== undefined) {
  console.log(`Skipping record/replay kernel tests: ${skip}`);
}

/** A python3 workload burning CPU for 0.7 s (profile samples). */
const BUSY = "import time\nt = time.time()\nwhile time.time() - t < 0.7: pass";

/** A mode of the C workload. */
type Mode = PerEventCase["mode"] | "twocpus";

/** The C workload's calls per mode (a tenth of the benchmark's). */
const CALLS: Record<Mode, number> = {
  getppid: 20000,
  reads: 5000,
  opens: 2000,
  twocpus: 3000,
};

/**
 * Records `program` (`$PID` standing for the workload's pid) with `-p`
 * around the gated C workload (`tests/support/workload.c`, comm
 * `tsbrec`) doing `mode`, then replays it. With `-p` the probes and the
 * recording take the workload's runs only: other processes flooding the
 * same system calls are neither counted nor recorded, so no record is
 * lost to them and the replay is the workload's alone.
 */
async function recordThenReplay(
  program: string,
  mode: Mode,
  extra: string[] = [],
): Promise<{ live: string; replayed: string; file: string; events: number }> {
  const file = Deno.makeTempFileSync({ suffix: ".tsrec" });
  const w = await WorkloadProcess.start("tsbrec", [mode, `${CALLS[mode]}`]);
  const text = program.replaceAll("$PID", `${w.pid}`);
  const t = Tracer.tsbpf([
    "-e",
    text,
    ...extra,
    "-p",
    `${w.pid}`,
    "--record",
    file,
  ]);
  let live;
  try {
    await t.attached(60_000);
    await w.open(60_000);
    live = await t.stop(120_000);
    await w.release();
  } finally {
    await t.kill();
    await w.kill();
  }
  const r = await replayOf(text, extra, file, live);
  // The file says whose runs it holds.
  using rec = openRecording(file);
  assert.equal(rec.header.pid, w.pid);
  return r;
}

/**
 * Records `program` around a python3 command (`-c`), then replays it:
 * for probes whose rate does not follow the machine's system calls
 * (profile, interval).
 */
async function recordCommand(
  program: string,
  code: string,
): Promise<{ live: string; replayed: string; file: string; events: number }> {
  const file = Deno.makeTempFileSync({ suffix: ".tsrec" });
  const cmd = `python3 -c "${code.replaceAll('"', '\\"')}"`;
  const live = await runCli(["-e", program, "-c", cmd, "--record", file], {
    timeoutMs: 120_000,
  });
  return await replayOf(program, [], file, live);
}

/** Checks a recording run and replays its file. */
async function replayOf(
  program: string,
  extra: string[],
  file: string,
  live: { code: number; stdout: string; stderr: string },
): Promise<{ live: string; replayed: string; file: string; events: number }> {
  assert.equal(live.code, 0, live.stderr);
  const m = /recorded (\d+) events \((\d+) bytes(, (\d+) lost)?\)/.exec(
    live.stderr,
  );
  assert.ok(m !== null, live.stderr);
  assert.equal(m[4], undefined, `records lost: ${live.stderr}`);
  const replayed = await runCli(["-e", program, ...extra, "--replay", file], {
    timeoutMs: 120_000,
  });
  assert.equal(replayed.code, 0, replayed.stderr);
  return {
    live: live.stdout,
    replayed: replayed.stdout,
    file,
    events: Number(m[1]),
  };
}

for (const c of PER_EVENT_CASES) {
  Deno.test({
    name: `record then replay is byte-identical: ${c.name}`,
    ignore: skip !== undefined,
    async fn() {
      const r = await recordThenReplay(c.program, c.mode);
      try {
        assert.ok(r.events > 0);
        assert.ok(r.live.split("\n").length > 3, r.live);
        assert.equal(r.replayed, r.live);
      } finally {
        Deno.removeSync(r.file);
      }
    },
  });
}

Deno.test({
  name:
    "record then replay is byte-identical: printf of str(args->filename), JSON, under an openat workload",
  ignore: skip !== undefined,
  async fn() {
    const r = await recordThenReplay(
      'tracepoint:syscalls:sys_enter_openat { printf("%s %d %s\\n", comm, pid, str(args->filename)); @[str(args->filename)] = count(); @h = hist(args->flags); }',
      "opens",
      ["-f", "json"],
    );
    try {
      assert.ok(
        r.live.includes("/nonexistent/tsb/001999"),
        r.live.slice(0, 500),
      );
      assert.equal(r.replayed, r.live);
    } finally {
      Deno.removeSync(r.file);
    }
  },
});

Deno.test({
  name:
    "record then replay is byte-identical: profile samples with stacks and registers (the perf-event context)",
  ignore: skip !== undefined,
  async fn() {
    const r = await recordCommand(
      'profile:hz:199 /comm == "python3"/ { @[comm, kstack, ustack(3)] = count(); @ip = hist(reg("ip") & 0xffff); @sp = sum(reg("sp") & 0xff); } interval:ms:100 { @ticks = count(); }',
      BUSY,
    );
    try {
      assert.match(r.live, /^@sp: [1-9]\d*$/m);
      assert.match(r.live, /^@ticks: [1-9]\d*$/m);
      assert.equal(r.replayed, r.live);
    } finally {
      Deno.removeSync(r.file);
    }
  },
});

Deno.test({
  name:
    "scripts/profile.ts --record then --replay prints the same folded stacks",
  ignore: skip !== undefined,
  async fn() {
    const file = Deno.makeTempFileSync({ suffix: ".tsrec" });
    const script = new URL("../../scripts/profile.ts", import.meta.url)
      .pathname;
    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-lock", script, ...args],
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    const busy = new Deno.Command("python3", {
      args: ["-c", BUSY.replace("0.7", "2")],
    }).spawn();
    try {
      const live = await run(["--duration", "1", "--record", file]);
      const dec = new TextDecoder();
      assert.equal(live.code, 0, dec.decode(live.stderr));
      assert.match(dec.decode(live.stdout), /^python3;.* \d+$/m);
      const replayed = await run(["--replay", file]);
      assert.equal(replayed.code, 0, dec.decode(replayed.stderr));
      assert.equal(dec.decode(replayed.stdout), dec.decode(live.stdout));
    } finally {
      await busy.status;
      Deno.removeSync(file);
    }
  },
});

Deno.test({
  name:
    "scripts/kfree_skb.ts --record then --replay prints the same per-second tables, headers included",
  ignore: skip !== undefined,
  async fn() {
    const file = Deno.makeTempFileSync({ suffix: ".tsrec" });
    const script = new URL("../../scripts/kfree_skb.ts", import.meta.url)
      .pathname;
    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-lock", script, ...args],
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    // UDP to a closed local port: each datagram is dropped (NO_SOCKET).
    const drops = new Deno.Command("python3", {
      args: [
        "-c",
        "import socket, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nt = time.time()\nwhile time.time() - t < 3.5:\n    s.sendto(b'x', ('127.0.0.1', 9))\n    time.sleep(0.0005)",
      ],
    }).spawn();
    try {
      const live = await run(["--duration", "3", "--record", file]);
      const dec = new TextDecoder();
      assert.equal(live.code, 0, dec.decode(live.stderr));
      const out = dec.decode(live.stdout);
      assert.equal(out.match(/^\[\d\d:\d\d:\d\d\]$/gm)?.length, 3, out);
      assert.match(out, /python3 +\d+/);
      const replayed = await run(["--replay", file]);
      assert.equal(replayed.code, 0, dec.decode(replayed.stderr));
      // Identical but for one thing: a drop counted microseconds around
      // the per-second map read may land in the neighbouring table (the
      // recording marks the tick at the read, not in the kernel). The
      // headers and the last table (the totals) are exact.
      const got = dec.decode(replayed.stdout).split("\n");
      const want = out.split("\n");
      assert.equal(got.length, want.length, dec.decode(replayed.stdout));
      const lastTable = want.findLastIndex((l) => /^\[\d\d:/.test(l));
      for (let i = 0; i < want.length; i++) {
        const g = /^(\d+ +\S+ +)(\d+)$/.exec(got[i]);
        const w = /^(\d+ +\S+ +)(\d+)$/.exec(want[i]);
        if (i < lastTable && g !== null && w !== null && g[1] === w[1]) {
          const off = Math.abs(Number(g[2]) - Number(w[2]));
          assert.ok(off <= 2, `line ${i}: ${got[i]} vs ${want[i]}`);
        } else assert.equal(got[i], want[i], `line ${i}`);
      }
    } finally {
      await drops.status;
      Deno.removeSync(file);
    }
  },
});

Deno.test({
  name:
    "record then replay is byte-identical: printf from two CPUs at once keeps the live order",
  ignore: skip !== undefined,
  async fn() {
    // One workload, two threads on CPU 0 and CPU 1, 3000 calls each.
    const program =
      'tracepoint:syscalls:sys_enter_getppid { printf("%d %d\\n", tid, cpu); }';
    const r = await recordThenReplay(program, "twocpus");
    try {
      const lines = r.live.split("\n").filter((l) => /^\d+ \d+$/.test(l));
      assert.equal(lines.length, 6000, r.live.slice(0, 500));
      assert.equal(new Set(lines.map((l) => l.split(" ")[0])).size, 2);
      assert.equal(r.replayed, r.live);
      // Each printf's reservation has its own place in the ring.
      using rec = openRecording(r.file);
      const places = new Set<bigint>();
      let outputs = 0;
      for (const e of rec.events()) {
        for (const c of e.calls) {
          if (c.helper !== RING_POSITION) continue;
          outputs++;
          places.add(c.r0);
        }
      }
      assert.equal(outputs, lines.length);
      assert.equal(places.size, outputs);
    } finally {
      Deno.removeSync(r.file);
    }
  },
});

Deno.test({
  name:
    "a recording replays with libbpf hidden and only the file readable, symbols included",
  ignore: skip !== undefined,
  async fn() {
    const program =
      "tracepoint:syscalls:sys_enter_getppid { @[kstack, ustack(2), comm] = count(); @n = count(); }";
    const r = await recordThenReplay(program, "getppid");
    try {
      assert.ok(r.live.includes("do_syscall_64"), r.live);
      const child = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-prompt",
          "--no-lock",
          `--allow-read=${r.file}`,
          new URL("../../mod.ts", import.meta.url).pathname,
          "-e",
          program,
          "--replay",
          r.file,
        ],
        env: { NO_COLOR: "1", TSBPF_LIBBPF: "/nonexistent" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      assert.equal(child.code, 0, dec.decode(child.stderr));
      assert.equal(dec.decode(child.stdout), r.live);
      // The workload's 20000 calls, exactly (the kernel stack of a call
      // may vary with what else is attached: summed over the stacks).
      const counts = [...r.live.matchAll(/, tsbrec\]: (\d+)\n/g)];
      const total = counts.reduce((n, m) => n + Number(m[1]), 0);
      assert.equal(total, 20000, r.live);
      assert.match(r.live, /^@n: 20000$/m);
    } finally {
      Deno.removeSync(r.file);
    }
  },
});

Deno.test({
  name:
    "a recording of a struct-reading program carries its kernel types: it replays with only the file readable",
  ignore: skip !== undefined,
  async fn() {
    const file = Deno.makeTempFileSync({ suffix: ".tsrec" });
    const program =
      'tracepoint:syscalls:sys_enter_clock_nanosleep /comm == "sleep"/ { printf("%d\\n", args->rqtp->tv_nsec); @[curtask->real_parent->pid > 0, kstack(3)] = count(); }';
    try {
      const live = await runCli(
        ["-e", program, "-c", "sleep 0.0123", "--record", file],
        { timeoutMs: 120_000 },
      );
      assert.equal(live.code, 0, live.stderr);
      assert.match(live.stdout, /^12300000$/m);
      assert.match(live.stdout, /do_syscall_64|syscall_trace_enter/);
      const header = JSON.parse(
        new TextDecoder().decode(Deno.readFileSync(file).subarray(20)).slice(
          0,
          new DataView(Deno.readFileSync(file).buffer).getUint32(12, true),
        ),
      );
      assert.equal(typeof header.btf, "string");
      const child = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-prompt",
          "--no-lock",
          `--allow-read=${file}`,
          new URL("../../mod.ts", import.meta.url).pathname,
          "-e",
          program,
          "--replay",
          file,
        ],
        env: { NO_COLOR: "1", TSBPF_LIBBPF: "/nonexistent" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      assert.equal(child.code, 0, dec.decode(child.stderr));
      assert.equal(dec.decode(child.stdout), live.stdout);
    } finally {
      Deno.removeSync(file);
    }
  },
});

Deno.test({
  name:
    "--replay of a damaged recording is one error line; --salvage replays the part before",
  ignore: skip !== undefined,
  async fn() {
    const program = "tracepoint:syscalls:sys_enter_getppid { @ = count(); }";
    const r = await recordThenReplay(program, "getppid");
    try {
      const bytes = Deno.readFileSync(r.file);
      Deno.writeFileSync(r.file, bytes.subarray(0, bytes.length - 40));
      const bad = await runCli(["-e", program, "--replay", r.file]);
      assert.equal(bad.code, 1);
      assert.match(
        bad.stderr,
        /^ERROR: Recording ".*" is truncated.*; --salvage replays the events before it\n$/,
      );
      const saved = await runCli([
        "-e",
        program,
        "--replay",
        r.file,
        "--salvage",
      ]);
      assert.equal(saved.code, 0, saved.stderr);
      assert.match(saved.stderr, /WARNING: Recording .* is truncated/);
      assert.match(saved.stdout, /@: \d+\n/);
    } finally {
      Deno.removeSync(r.file);
    }
  },
});

Deno.test({
  name: "trace({ record }) then trace({ replay }) read the same maps",
  ignore: skip !== undefined,
  async fn() {
    const { trace } = await import("../../runtime/api/trace.ts");
    const file = Deno.makeTempFileSync({ suffix: ".tsrec" });
    const prog =
      "tracepoint:syscalls:sys_enter_getppid { @n[comm, tid] = count(); @h = hist(tid); }";
    // The workload only (pid): its runs alone are counted and recorded.
    const w = await WorkloadProcess.start("tsbrec", ["getppid", "500"]);
    try {
      let live;
      let counted = 0;
      {
        await using s = await trace(prog, {
          backend: "kernel",
          record: file,
          pid: w.pid,
        });
        await w.open();
        // Until the 500 calls are counted (a loaded machine may lag).
        for await (const _ of s.every(50)) {
          const n = [...s.map<[string, number], number>("n").read().values()];
          counted = n.reduce((a, b) => a + b, 0);
          if (counted >= 500) break;
        }
        live = s.maps();
      }
      await w.release();
      assert.equal(counted, 500);
      await using r = await trace(prog, { replay: file });
      for await (const _ of r.every(100)) { /* to the recording's end */ }
      assert.deepEqual(r.maps(), live);
    } finally {
      await w.kill();
      Deno.removeSync(file);
    }
  },
});
