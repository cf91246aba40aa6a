import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { KernelEngine } from "../../runtime/engines/kernel_engine.ts";
import { kernelSkipReason, skip } from "../support/skip.ts";
import type { Program } from "../../runtime/program.ts";
import { decodeEvent, decodeMap } from "../../runtime/output/decode.ts";
import { formatEventOutput } from "../../runtime/output/event.ts";
import { formatMapText } from "../../runtime/output/text.ts";
import { engineSymbols } from "../../runtime/host_symbols.ts";
import { Workload, workloadPath } from "../kernel/helpers.ts";

/**
 * Builtins and user-memory reads (min/max of constants, loops, usym, func,
 * kstack, str of user pointers, exec argv) run in the kernel: its verifier
 * accepts the programs and they compute what bpftrace computes.
 */

const kernelSkip = kernelSkipReason();

/** Slot `slot` (u64) of a map entry's value, summed over CPUs. */
function kernelSlot(
  engine: KernelEngine,
  prog: Program,
  name: string,
  slot = 0,
): bigint {
  const i = prog.maps.findIndex((m) => m.name === name);
  let n = 0n;
  for (const e of engine.readMap(i)) {
    for (const v of e.values) {
      n += new DataView(v.buffer, v.byteOffset).getBigUint64(slot * 8, true);
    }
  }
  return n;
}

/** Loads a program, runs BEGIN once, and hands the engine to `f`. */
async function withBegin(
  src: string,
  f: (engine: KernelEngine, prog: Program) => void | Promise<void>,
): Promise<void> {
  const prog = compile(src);
  const engine = new KernelEngine();
  try {
    await engine.load(prog);
    await engine.runSpecial("BEGIN");
    await f(engine, prog);
  } finally {
    engine.close();
  }
}

Deno.test({
  name: "kernel: min() and max() of constants load and store on insert",
  ignore: skip("the kernel builtin test", kernelSkip),
  async fn() {
    await withBegin(
      "BEGIN { @m = max(5); @n = min(-3); @k[1] = max(7); @s = sum(0x123456789); @x = 1; exit(); }",
      (engine, prog) => {
        assert.equal(kernelSlot(engine, prog, "@m"), 5n);
        assert.equal(kernelSlot(engine, prog, "@m", 1), 1n);
        assert.equal(kernelSlot(engine, prog, "@n"), BigInt.asUintN(64, -3n));
        assert.equal(kernelSlot(engine, prog, "@k"), 7n);
        assert.equal(kernelSlot(engine, prog, "@s"), 0x123456789n);
        assert.equal(kernelSlot(engine, prog, "@x"), 1n);
      },
    );
  },
});

Deno.test({
  name: "kernel: a while loop runs all 2000 iterations",
  ignore: skip("the kernel builtin test", kernelSkip),
  async fn() {
    await withBegin(
      "BEGIN { $i = 0; while ($i < 2000) { $i++; } @ = $i; exit(); }",
      (engine, prog) => assert.equal(kernelSlot(engine, prog, "@"), 2000n),
    );
  },
});

Deno.test({
  name: "kernel: usym() and func of a uprobe resolve in the traced process",
  ignore: skip("the kernel builtin test", kernelSkip),
  async fn() {
    // tsb_spin is entered once, then spins for a second: the symbols are
    // read while the process is still there.
    const w = await Workload.start(["spin", "1000"]);
    const bin = await workloadPath();
    const prog = compile(
      `uprobe:${bin}:tsb_spin /pid == ${w.pid}/ { @s[usym(reg("ip"))] = count(); @f[func] = count(); }`,
    );
    const engine = new KernelEngine();
    try {
      await engine.load(prog);
      await engine.attach();
      await w.go();
      const symbols = engineSymbols(engine);
      let got: unknown[] = [];
      for (let i = 0; i < 50 && got.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 20));
        got = ["@s", "@f"].flatMap((name): unknown[] => {
          const m = prog.maps.findIndex((x) => x.name === name);
          return [
            ...decodeMap(prog.maps[m], engine.readMap(m), symbols).entries,
          ];
        });
      }
      assert.deepEqual(got, [
        { key: ["tsb_spin"], value: 1 },
        { key: ["tsb_spin"], value: 1 },
      ]);
    } finally {
      engine.close();
      await w.kill();
    }
  },
});

Deno.test({
  name: "kernel: kstack in BEGIN is the stack of the test run, as bpftrace's",
  ignore: skip("the kernel builtin test", kernelSkip),
  async fn() {
    await withBegin(
      "BEGIN { @k[kstack(4)] = count(); @u[ustack(2)] = count(); }",
      (engine, prog) => {
        const symbols = engineSymbols(engine);
        const i = prog.maps.findIndex((m) => m.name === "@k");
        const data = decodeMap(prog.maps[i], engine.readMap(i), symbols);
        assert.equal(data.entries.length, 1);
        const text = formatMapText(data);
        assert.match(text, /^@k\[\n {4}bpf_prog_\w+_BEGIN\+\d+\n/);
        assert.match(text, /__bpf_prog_test_run_raw_tp\+\d+/);
        assert.equal(kernelSlot(engine, prog, "@u"), 1n);
      },
    );
  },
});

/** Every event of a program as bpftrace's text, after `run()` returns. */
async function tracedText(
  src: string,
  run: () => Promise<unknown>,
): Promise<string[]> {
  const prog = compile(src);
  const engine = new KernelEngine();
  try {
    await engine.load(prog);
    await engine.attach();
    await run();
    const text: string[] = [];
    await engine.poll(200, (rec) => {
      text.push(formatEventOutput(decodeEvent(prog, rec), "text") ?? "");
    });
    return text;
  } finally {
    engine.close();
  }
}

Deno.test({
  name: "kernel: str(arg0) and str(retval) of a libc uprobe read user memory",
  ignore: skip("the kernel builtin test", kernelSkip),
  async fn() {
    const bin = await workloadPath();
    const libc = "/lib/x86_64-linux-gnu/libc.so.6";
    const text = await tracedText(
      `uprobe:${libc}:getenv /comm == "tsbwork"/ { printf("arg %s\\n", str(arg0)); }` +
        ` uretprobe:${libc}:getenv /comm == "tsbwork" && retval != 0/ { printf("ret %s\\n", str(retval)); }`,
      () =>
        new Deno.Command(bin, {
          args: ["getppid", "1"],
          env: { NOGATE: "1", DELAY: "0.001" },
          stdout: "null",
        }).output(),
    );
    assert.ok(text.includes("arg NOGATE\n"), text.join(""));
    assert.ok(text.includes("arg DELAY\n"), text.join(""));
    assert.ok(text.includes("ret 0.001\n"), text.join(""));
  },
});

Deno.test({
  name: "kernel: a filename pointer kept in a map reads user memory at exit",
  ignore: skip("the kernel builtin test", kernelSkip),
  async fn() {
    const w = await Workload.start(["open", "/etc/hostname"]);
    try {
      const text = await tracedText(
        `tracepoint:syscalls:sys_enter_openat /pid == ${w.pid}/ { @fn[tid] = args->filename; }` +
          ` tracepoint:syscalls:sys_exit_openat /pid == ${w.pid}/ { printf("%s %d\\n", str(@fn[tid]), args->ret >= 0); delete(@fn[tid]); }`,
        () => w.run(),
      );
      assert.deepEqual(text, ["/etc/hostname 1\n"]);
    } finally {
      await w.kill();
    }
  },
});

Deno.test({
  name: "kernel: args->argv[i] and *(args->argv + i) of an exec",
  ignore: skip("the kernel builtin test", kernelSkip),
  async fn() {
    const text = await tracedText(
      'tracepoint:syscalls:sys_enter_execve /str(args->filename) == "/bin/echo"/ { $p = args->argv;' +
        ' printf("[%s][%s][%s][%s]\\n", str(args->argv[0]), str(args->argv[1]), str(*(args->argv + 2)), str($p[3])); }',
      () =>
        new Deno.Command("/bin/echo", {
          args: ["tsbpf-argv", "two"],
          stdout: "null",
        }).output(),
    );
    // Other execs of /bin/echo may race in: look for ours.
    assert.ok(
      text.includes("[/bin/echo][tsbpf-argv][two][]\n"),
      text.join(""),
    );
  },
});
