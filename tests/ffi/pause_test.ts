/**
 * Pausing the kernel engine's probes stops them: a tracepoint's BPF
 * program runs whether or not its perf event is enabled (the kernel runs
 * the tracepoint's program array regardless), so `pause()` must take the
 * program off the tracepoint, not only disable the event. Otherwise END
 * and the maps printed at exit count events that came after Ctrl-C.
 * With perf links it releases them; attached as on kernels without them
 * (`perfLinks: false`), the stop check the programs then carry stops
 * them, or, loaded without it, detaching them.
 */
import assert from "node:assert/strict";
import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import { ProgType } from "../../runtime/bpf/opcodes.ts";
import type { Program } from "../../runtime/program.ts";
import {
  KernelEngine,
  type KernelEngineOptions,
  STOP_CHECK_SLOTS,
} from "../../runtime/engines/kernel_engine.ts";
import { hasPerfLinks } from "../../ffi/attach.ts";
import { Helper, MapType } from "../../runtime/bpf/opcodes.ts";
import { workloadBinary, workloadSkipReason } from "../support/workload.ts";
import { compile } from "../../runtime/compiler/compile.ts";
import { Session } from "../../runtime/session.ts";
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
} from "./kernel_helpers.ts";

const N = 2000;

/** Counts getppid() calls of one tgid into map 0. */
function countingProgram(tgid: number): Program {
  const b = new InsnBuilder();
  b.movReg(6, 1);
  filterTgid(b, tgid, "out");
  b.movImm(7, 1);
  addToSlot0(b, 0, "out");
  b.label("out");
  b.movImm(0, 0);
  b.exit();
  const probe = probeOf("pause", ProgType.TRACEPOINT, [
    point("tracepoint", "syscalls:sys_enter_getppid"),
  ], b);
  return { probes: [probe], maps: [counterMap], formats: [] };
}

/**
 * A python3 child that calls getppid() `n` times each time it reads a
 * line, and says "done" after each round.
 */
function twoRounds(n: number) {
  const child = new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      "import os, sys\n" +
      "for _ in range(2):\n" +
      "    if not sys.stdin.readline(): break\n" +
      `    for _ in range(${n}): os.getppid()\n` +
      "    print('done', flush=True)\n",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let said = "";
  let rounds = 0;
  return {
    pid: child.pid,
    async round(): Promise<void> {
      await writer.write(new TextEncoder().encode("go\n"));
      rounds++;
      while (said.split("done").length - 1 < rounds) {
        const { value, done } = await lines.read();
        assert.ok(!done, `the child ended after ${said}`);
        said += value;
      }
    },
    async end(): Promise<void> {
      await writer.close().catch(() => {});
      await lines.cancel().catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
    },
  };
}

const PAUSES: [string, KernelEngineOptions][] = [
  ["", {}],
  [", attached without perf links (stop check)", { perfLinks: false }],
  [
    ", attached without perf links nor stop check (detached)",
    { perfLinks: false, stopCheck: false },
  ],
];

for (const [how, options] of PAUSES) {
  Deno.test({
    name: `a paused tracepoint probe no longer runs${how}`,
    ignore: skipReason !== undefined,
    fn: () =>
      noLeaks(async () => {
        const child = twoRounds(N);
        const engine = new KernelEngine(options);
        try {
          const program = countingProgram(child.pid);
          await engine.load(program);
          const compiled = program.probes[0].insns.length;
          const [{ insnCount }] = engine.stats();
          // The stop check is there only when asked for without links.
          const checked = options.perfLinks === false &&
            options.stopCheck !== false;
          assert.equal(engine.stopChecked, checked);
          // The array lookup is inlined by the verifier: compare with
          // the same program loaded as compiled.
          using plain = new KernelEngine({ stopCheck: false });
          await plain.load(countingProgram(child.pid));
          const [{ insnCount: asCompiled }] = plain.stats();
          assert.ok(asCompiled >= compiled);
          assert.equal(
            insnCount,
            asCompiled + (checked ? STOP_CHECK_SLOTS : 0),
          );
          await engine.attach();
          await child.round();
          assert.equal(slot0(engine.readMap(0)), BigInt(N));
          await engine.pause();
          await engine.pause(); // a second call changes nothing
          await child.round();
          assert.equal(
            slot0(engine.readMap(0)),
            BigInt(N),
            "calls made after pause() were counted",
          );
        } finally {
          engine.close();
          await child.end();
        }
      }),
  });
}

Deno.test({
  name: "a tracepoint program runs as compiled: xlated == compiled",
  ignore: skipReason !== undefined,
  fn: () =>
    noLeaks(async () => {
      if (!hasPerfLinks()) {
        console.log("skipped: this kernel has no perf links (Linux 5.15+)");
        return;
      }
      // @n[tgid] = 1 for one tgid: no instruction the verifier rewrites.
      const b = new InsnBuilder();
      b.movReg(6, 1);
      filterTgid(b, Deno.pid, "out");
      b.st(4, 10, -4, 0);
      b.st(8, 10, -16, 1);
      b.ldMap(1, 0);
      b.movReg(2, 10).alu64Imm("ADD", 2, -4);
      b.movReg(3, 10).alu64Imm("ADD", 3, -16);
      b.movImm(4, 0);
      b.call(Helper.map_update_elem);
      b.label("out");
      b.movImm(0, 0);
      b.exit();
      const probe = probeOf("as_compiled", ProgType.TRACEPOINT, [
        point("tracepoint", "syscalls:sys_enter_getppid"),
      ], b);
      const program: Program = {
        probes: [probe],
        maps: [mapSpec("@n", MapType.HASH, 4, 8, 1)],
        formats: [],
      };
      using engine = new KernelEngine();
      await engine.load(program);
      await engine.attach();
      assert.equal(engine.stopChecked, false);
      assert.equal(engine.stats()[0].insnCount, probe.insns.length);
      await engine.pause();
    }),
});

Deno.test({
  name: "END and the maps printed at exit see no event after the probes stop",
  ignore: skipReason !== undefined,
  fn: () =>
    noLeaks(async () => {
      // Calls getppid() until killed (at most 10 s).
      const child = new Deno.Command("/usr/bin/python3", {
        args: [
          "-c",
          "import os, time\nend = time.time() + 10\n" +
          "while time.time() < end:\n" +
          "    for _ in range(1000): os.getppid()\n",
        ],
        stdout: "null",
        stderr: "inherit",
      }).spawn();
      let out = "";
      const program = compile(
        `tracepoint:syscalls:sys_enter_getppid /pid == ${child.pid}/ ` +
          "{ @n = @n + 1; } END { @at_end = @n; }",
      );
      const session = new Session(program, new KernelEngine(), {
        write: (text) => out += text,
        attachLine: false,
      });
      try {
        await session.start();
        // Until the probe has counted some calls of the child.
        const deadline = performance.now() + 5000;
        while (performance.now() < deadline) {
          const [n] = session.readMap("@n").entries;
          if (n !== undefined && Number(n.value) > 1000) break;
          await session.pump(10);
        }
        await session.finish();
      } finally {
        await session.finish();
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        await child.status;
      }
      const n = /^@n: (\d+)$/m.exec(out)?.[1];
      const atEnd = /^@at_end: (\d+)$/m.exec(out)?.[1];
      assert.ok(n !== undefined && atEnd !== undefined, out);
      assert.ok(Number(n) > 1000, out);
      assert.equal(n, atEnd, "calls counted after END ran");
    }),
});

Deno.test({
  name: "a paused uprobe no longer runs",
  ignore: skipReason !== undefined || workloadSkipReason() !== undefined,
  fn: () =>
    noLeaks(async () => {
      const bin = await workloadBinary("tsbwork");
      // Calls tsb_target() until killed, from the start.
      const child = new Deno.Command(bin, {
        args: ["calls", "1000000000000"],
        env: { NOGATE: "1" },
        stdout: "null",
        stderr: "inherit",
      }).spawn();
      const engine = new KernelEngine();
      try {
        const b = new InsnBuilder();
        filterTgid(b, child.pid, "out");
        b.movImm(7, 1);
        addToSlot0(b, 0, "out");
        b.label("out").movImm(0, 0).exit();
        await engine.load({
          probes: [
            probeOf("pause_up", ProgType.KPROBE, [
              point("uprobe", bin, { symbol: "tsb_target" }),
            ], b),
          ],
          maps: [counterMap],
          formats: [],
        });
        await engine.attach();
        const deadline = performance.now() + 10_000;
        while (
          slot0(engine.readMap(0)) < 1000n && performance.now() < deadline
        ) {
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.ok(slot0(engine.readMap(0)) >= 1000n, "the uprobe never ran");
        await engine.pause();
        const paused = slot0(engine.readMap(0));
        // The child keeps calling: a probe still attached counts on.
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(
          slot0(engine.readMap(0)),
          paused,
          "calls made after pause() were counted",
        );
      } finally {
        engine.close();
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        await child.status;
      }
    }),
});
