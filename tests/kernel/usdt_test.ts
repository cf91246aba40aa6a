/**
 * USDT probes in the kernel: Debian's python3.11 (`python:gc__start`
 * fires once per `gc.collect(N)` with N in arg0, its semaphore raised by
 * the kernel), and a gcc-built target with a note for every operand form
 * (registers, stack, RIP-relative and scaled-index memory, constants, a
 * semaphore), exact values; `-p` targets one process of a binary.
 */

import assert from "node:assert/strict";
import {
  afterAttachLine,
  bpftraceSkipReason,
  runBpftrace,
  runTsbpf,
  skip,
  skipReason,
  Tracer,
} from "./helpers.ts";
import {
  PYTHON,
  pythonSkipReason,
  targetSkipReason,
  usdtTargetPath,
} from "../probes/usdt_helpers.ts";
import { note, NOTE_SEMAPHORE, writeUsdtElf } from "../probes/usdt_elf.ts";

const ignorePython = skip(
  "kernel USDT tests on python3.11",
  skipReason ?? pythonSkipReason,
);
const ignoreTarget = skip(
  "kernel USDT tests on the gcc-built target",
  skipReason ?? targetSkipReason,
);

const COLLECTS = 7;

/** A python script doing exactly COLLECTS generation-1 collections. */
function gcScript(): string {
  const path = Deno.makeTempFileSync({ prefix: "tsbpf_usdt_", suffix: ".py" });
  Deno.writeTextFileSync(
    path,
    `import gc\ngc.disable()\nfor _ in range(${COLLECTS}):\n    gc.collect(1)\n`,
  );
  return path;
}

const GC_PROGRAM =
  `usdt:${PYTHON}:python:gc__start /pid == cpid/ { @gen[arg0] = count(); }
usdt:${PYTHON}:python:gc__done /pid == cpid/ { @done = count(); }`;

Deno.test({
  name: "kernel usdt: python3.11 gc__start counts gc.collect(1) exactly",
  ignore: ignorePython,
  async fn() {
    const script = gcScript();
    try {
      const r = await runTsbpf(
        ["-e", GC_PROGRAM, "-c", `${PYTHON} ${script}`],
        60_000,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^Attached 2 probes$/m);
      const out = afterAttachLine(r.stdout);
      // Generation 1 is collected only by the script (start-up and
      // shutdown collect generations 0 and 2): exactly COLLECTS times.
      assert.match(out, new RegExp(`^@gen\\[1\\]: ${COLLECTS}$`, "m"));
      const gens = [...out.matchAll(/^@gen\[(\d+)\]: (\d+)$/gm)];
      assert.deepEqual(gens.map((m) => m[1]).sort(), ["0", "1", "2"]);
      const starts = gens.reduce((n, m) => n + Number(m[2]), 0);
      // Every collection that started finished.
      assert.match(out, new RegExp(`^@done: ${starts}$`, "m"));
      if (bpftraceSkipReason === undefined) {
        // bpftrace 0.17 sees the very same collections.
        const b = await runBpftrace(
          ["-e", GC_PROGRAM, "-c", `${PYTHON} ${script}`],
          60_000,
        );
        assert.equal(b.code, 0, b.stderr);
        const sorted = (t: string) => t.trim().split("\n").sort().join("\n");
        assert.equal(sorted(out), sorted(afterAttachLine(b.stdout)));
      } else {
        console.log(`Not comparing with bpftrace: ${bpftraceSkipReason}`);
      }
    } finally {
      Deno.removeSync(script);
    }
  },
});

Deno.test({
  name: "kernel usdt: every operand form reads its exact value",
  ignore: ignoreTarget,
  async fn() {
    const bin = await usdtTargetPath();
    const r = await runTsbpf([
      "-e",
      `usdt:${bin}:tsbpf:regs { printf("regs %d %lu %d %d\\n", arg0, arg1, arg2, arg3); }
usdt:${bin}:tsbpf:mem { printf("mem %d %d %d\\n", arg0, arg1, arg2); }
usdt:${bin}:tsbpf:index { printf("index %d\\n", arg0); }
usdt:${bin}:tsbpf:consts { printf("consts %d %d %d\\n", arg0, arg1, arg2); @c[arg0] = count(); }
usdt:${bin}:tsbpf:noargs { @noargs = count(); }
usdt:${bin}:tsbpf:twice { @twice[arg0] = count(); }
usdt:${bin}:tsbpf:guarded { printf("guarded %d\\n", arg0); @neg = min(arg0 - 5); }`,
      "-c",
      `${bin} 3 now`,
    ], 60_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^Attached 8 probes$/m);
    const lines = afterAttachLine(r.stdout).split("\n");
    const events = lines.filter((l) => /^[a-z]+ /.test(l) && l !== "done");
    const want: string[] = [];
    for (let i = 0; i < 3; i++) {
      want.push(
        // -4@%e?? (-i), 8@%r?? (2^32 + i), -1@%?l (-1 - i), 2@%?? (65000 + i)
        `regs ${-i} ${2 ** 32 + i} ${-1 - i} ${65000 + i}`,
        // 8@-N(%rsp) (5i), -4@-N(%rsp) (-7i), 8@global_value(%rip) (1000 + i)
        `mem ${5 * i} ${-7 * i} ${1000 + i}`,
        // 8@(%r??,%r??,8): table[i & 7] = 10 i
        `index ${10 * i}`,
        "consts -5 5 16",
        // Fires only while the kernel holds the semaphore up.
        `guarded ${i}`,
      );
    }
    assert.deepEqual(events, want);
    assert.match(r.stdout, /^@c\[-5\]: 3$/m);
    assert.match(r.stdout, /^@noargs: 3$/m);
    // Both locations of tsbpf:twice: -4@%e?? (i), then 8@-N(%rsp) (5 i).
    const twice = [...r.stdout.matchAll(/^@twice\[(\d+)\]: (\d+)$/gm)]
      .map((m) => [Number(m[1]), Number(m[2])]).sort((a, b) => a[0] - b[0]);
    assert.deepEqual(twice, [[0, 2], [1, 1], [2, 1], [5, 1], [10, 1]]);
    assert.match(r.stdout, /^@neg: -5$/m);
  },
});

Deno.test({
  name: "kernel usdt: -p traces one process, its binary found by name",
  ignore: ignoreTarget,
  async fn() {
    const bin = await usdtTargetPath();
    const N = 50;
    const target = new Deno.Command(bin, {
      args: [String(N)],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const out = target.stdout.getReader();
    const decoder = new TextDecoder();
    let printed = "";
    const readUntil = async (text: string) => {
      while (!printed.includes(text)) {
        const { value, done } = await out.read();
        if (done) throw new Error(`target ended before "${text}": ${printed}`);
        printed += decoder.decode(value);
      }
    };
    let t: Tracer | undefined;
    try {
      await readUntil("ready\n");
      // -l 'usdt:*' -p lists the probes of every file the process maps, as
      // bpftrace does.
      const listed = await runTsbpf([
        "-l",
        "usdt:*:tsbpf:g*",
        "-p",
        String(target.pid),
      ]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.equal(
        listed.stdout,
        `usdt:/proc/${target.pid}/root${bin}:tsbpf:guarded\n`,
      );
      // A bare name: looked up among the files the process maps; `*`:
      // every one of them.
      t = Tracer.tsbpf([
        "-p",
        String(target.pid),
        "-e",
        `usdt:usdt_target:tsbpf:guarded { @[pid == $1] = count(); @s = sum(arg0); }
usdt:*:tsbpf:regs { @regs = count(); }`,
        String(target.pid),
      ]);
      await t.attached();
      // Another process of the same binary, not traced.
      const other = await new Deno.Command(bin, {
        args: [String(N), "now"],
        stdout: "null",
      }).output();
      assert.ok(other.success);
      const w = target.stdin.getWriter();
      await w.write(new Uint8Array([0x67]));
      await w.close();
      await readUntil("done\n");
      assert.equal((await target.status).code, 0);
      const r = await t.stop();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        afterAttachLine(r.stdout).trim(),
        `@[true]: ${N}\n@regs: ${N}\n@s: ${N * (N - 1) / 2}`,
      );
    } finally {
      await t?.kill();
      try {
        target.kill("SIGKILL");
      } catch {
        // already gone
      }
      out.releaseLock();
      await target.stdout.cancel().catch(() => {});
      await target.status;
    }
  },
});

Deno.test({
  name: "kernel usdt: the kernel verifier takes every operand form",
  ignore: skip("kernel USDT load test", skipReason),
  async fn() {
    // The hand-built ELF's notes hold the forms gcc did not write into
    // the target: %ah, %r9w, an index without a base, an absolute symbol.
    const path = writeUsdtElf([
      note("regs", 0x400100n, "-4@%edi 8@%rax -1@%cl 1@%ah 2@%r9w"),
      note(
        "mem",
        0x400110n,
        "8@-16(%rbp) -4@112(%rsp) 8@value(%rip) 4@value+4",
        NOTE_SEMAPHORE,
      ),
      note("index", 0x400120n, "8@(%rax,%rdx,8) 4@0x10(,%rcx,4)"),
      note("consts", 0x400130n, "-4@$-5 4@$5 8@$0x10 -1@$255"),
    ]);
    try {
      const r = await runTsbpf([
        "--duration",
        "0.2",
        "-e",
        `usdt:${path}:fix:regs { @r = sum(arg0 + arg1 + arg2 + arg3 + arg4); }
usdt:${path}:fix:mem { @m = sum(arg0 + arg1 + arg2 + arg3); }
usdt:${path}:fix:index { @i = sum(arg0 + arg1); }
usdt:${path}:fix:consts { @c[arg0, arg1, arg2, arg3] = count(); }`,
      ], 60_000);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^Attached 4 probes$/m);
    } finally {
      Deno.removeSync(path);
    }
  },
});
