/**
 * Record in the kernel, replay in the interpreter: the outputs must be
 * byte-identical. Needs root and libbpf; skips with the reason otherwise.
 */
import assert from "node:assert/strict";
import { PER_EVENT_CASES } from "../../bench/per_event.ts";
import { kernelSkipReason, runCli } from "../cli/helpers.ts";
import { RING_POSITION } from "../../runtime/record/format.ts";
import { openRecording } from "../../runtime/record/reader.ts";

const skip = kernelSkipReason();
if (skip !== undefined) {
  console.log(`Skipping record/replay kernel tests: ${skip}`);
}

const WORKLOADS: Record<string, string> = {
  getppid: "import os\nfor _ in range(20000): os.getppid()",
  reads:
    "import os\nf = os.open('/dev/zero', os.O_RDONLY)\nfor _ in range(5000): os.read(f, 512)",
  opens:
    "import os\nfor _ in range(2000): os.close(os.open('/etc/hostname', os.O_RDONLY))",
  busy: "import time\nt = time.time()\nwhile time.time() - t < 0.7: pass",
};

class LostRecords extends Error {}

/**
 * Records and replays, at most three times: a run of the test is redone
 * only when records were lost (the machine too loaded to drain the ring).
 * Outputs of two CPUs made within the same nanoseconds replay in ring
 * order, so a mismatch is never retried.
 */
async function attempts(
  program: string,
  workload: string,
  extra: string[] = [],
): Promise<{ live: string; replayed: string; file: string; events: number }> {
  for (let i = 1;; i++) {
    try {
      return await recordThenReplay(program, workload, extra);
    } catch (e) {
      if (!(e instanceof LostRecords) || i === 3) throw e;
    }
  }
}

/** Records `program` around a python3 workload, then replays it. */
async function recordThenReplay(
  program: string,
  workload: string,
  extra: string[] = [],
): Promise<{ live: string; replayed: string; file: string; events: number }> {
  const file = Deno.makeTempFileSync({ suffix: ".tsrec" });
  const cmd = `python3 -c "${workload.replaceAll('"', '\\"')}"`;
  const live = await runCli(
    ["-e", program, ...extra, "-c", cmd, "--record", file],
    { timeoutMs: 120_000 },
  );
  assert.equal(live.code, 0, live.stderr);
  const m = /recorded (\d+) events \((\d+) bytes(, (\d+) lost)?\)/.exec(
    live.stderr,
  );
  assert.ok(m !== null, live.stderr);
  if (m[4] !== undefined) {
    // A machine too loaded to drain the ring: the replay would lack runs.
    Deno.removeSync(file);
    throw new LostRecords(live.stderr);
  }
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
      const program = c.program.replace("pid == $PID", 'comm == "python3"');
      const r = await attempts(program, WORKLOADS[c.mode]);
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
    const r = await attempts(
      'tracepoint:syscalls:sys_enter_openat /comm == "python3"/ { printf("%s %d %s\\n", comm, pid, str(args->filename)); @[str(args->filename)] = count(); @h = hist(args->flags); }',
      WORKLOADS.opens,
      ["-f", "json"],
    );
    try {
      assert.ok(r.live.includes("/etc/hostname"), r.live.slice(0, 500));
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
    const r = await attempts(
      'profile:hz:199 /comm == "python3"/ { @[comm, kstack, ustack(3)] = count(); @ip = hist(reg("ip") & 0xffff); @sp = sum(reg("sp") & 0xff); } interval:ms:100 { @ticks = count(); }',
      WORKLOADS.busy,
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
      args: ["-c", WORKLOADS.busy.replace("0.7", "2")],
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
    const file = Deno.makeTempFileSync({ suffix: ".tsrec" });
    const program =
      'tracepoint:syscalls:sys_enter_getppid /comm == "python3"/ { printf("%d %d\\n", tid, cpu); }';
    const loop = "import os\nfor _ in range(3000): os.getppid()";
    const both = [0, 1].map((c) => `taskset -c ${c} python3 -c "${loop}" &`)
      .join(" ");
    try {
      const live = await runCli(
        ["-e", program, "-c", `sh -c '${both} wait'`, "--record", file],
        { timeoutMs: 120_000 },
      );
      assert.equal(live.code, 0, live.stderr);
      assert.doesNotMatch(live.stderr, /lost/);
      assert.ok(live.stdout.split("\n").length > 6000, live.stderr);
      const replayed = await runCli(["-e", program, "--replay", file], {
        timeoutMs: 120_000,
      });
      assert.equal(replayed.code, 0, replayed.stderr);
      assert.equal(replayed.stdout, live.stdout);
      // Each printf's reservation has its own place in the ring.
      using rec = openRecording(file);
      const places = new Set<bigint>();
      let outputs = 0;
      for (const e of rec.events()) {
        for (const c of e.calls) {
          if (c.helper !== RING_POSITION) continue;
          outputs++;
          places.add(c.r0);
        }
      }
      // Every line but the blank ones before the maps and the last newline.
      assert.equal(outputs, live.stdout.split("\n").length - 3);
      assert.equal(places.size, outputs);
    } finally {
      Deno.removeSync(file);
    }
  },
});

Deno.test({
  name:
    "a recording replays with libbpf hidden and only the file readable, symbols included",
  ignore: skip !== undefined,
  async fn() {
    const program =
      'tracepoint:syscalls:sys_enter_getppid /comm == "python3"/ { @[kstack, ustack(2), comm] = count(); @n = count(); }';
    const r = await attempts(program, WORKLOADS.getppid);
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
      // The workload's 20000 calls (the kernel stack of a call may vary
      // with what else is attached, and another python3 on the machine
      // may add runs of its own).
      const counts = [...r.live.matchAll(/, python3\]: (\d+)\n/g)];
      const total = counts.reduce((n, m) => n + Number(m[1]), 0);
      assert.ok(total >= 20000, r.live);
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
    const program =
      'tracepoint:syscalls:sys_enter_getppid /comm == "python3"/ { @ = count(); }';
    const r = await attempts(program, WORKLOADS.getppid);
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
      'tracepoint:syscalls:sys_enter_getppid /comm == "python3"/ { @n[comm, tid] = count(); @h = hist(tid); }';
    try {
      let live;
      {
        await using s = await trace(prog, { backend: "kernel", record: file });
        await new Deno.Command("python3", {
          args: ["-c", "import os\nfor _ in range(500): os.getppid()"],
        }).output();
        // Until the 500 calls are counted (a loaded machine may lag).
        for await (const _ of s.every(50)) {
          const n = [...s.map<[string, number], number>("n").read().values()];
          if (n.reduce((a, b) => a + b, 0) >= 500) break;
        }
        live = s.maps();
      }
      await using r = await trace(prog, { replay: file });
      for await (const _ of r.every(100)) { /* to the recording's end */ }
      assert.deepEqual(r.maps(), live);
    } finally {
      Deno.removeSync(file);
    }
  },
});
