/**
 * `exit()` ends a session on both engines alike: no event after the one
 * that called it runs on the interpreter; on the kernel the probes are
 * paused as soon as its record is read, so only the few that fired in
 * that round trip ran. Either way nothing those later runs printed is
 * shown (as bpftrace 0.26), END runs and prints, and the maps print.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import type { Engine } from "../../runtime/engines/engine.ts";
import { InterpEngine } from "../../runtime/engines/interp_engine.ts";
import { KernelEngine } from "../../runtime/engines/kernel_engine.ts";
import { Session } from "../../runtime/session.ts";
import { kernelSkipReason, skip } from "../support/skip.ts";

const ignoreKernel = skip("kernel exit() tests", kernelSkipReason());

/** Runs `text` to its end on `engine`; returns the output and why it ended. */
async function runToEnd(
  text: string,
  engine: Engine,
): Promise<{ out: string; reason: string }> {
  const program = compile(text);
  let out = "";
  const session = new Session(program, engine, {
    write: (s) => out += s,
    attachLine: false,
  });
  try {
    await session.start();
    const reason = await session.run({ durationMs: 20_000 });
    await session.finish();
    return { out, reason };
  } finally {
    await session.finish();
  }
}

/** The value of `@name: N` in the printed maps. */
function mapValue(out: string, name: string): number {
  const m = out.match(new RegExp(`^@${name}: (\\d+)$`, "m"));
  assert.ok(m !== null, `no @${name} in:\n${out}`);
  return Number(m[1]);
}

const INTERVAL = "i:ms:1 { @x++; if (@x > 5) { exit(); } }";
const TRACEPOINT = `tracepoint:raw_syscalls:sys_enter {
  @x++;
  if (@x > 5) { printf("x=%d\\n", @x); exit(); }
}
END { printf("end\\n"); }`;

Deno.test("exit() on the interpreter: the interval probe ran exactly 6 times", async () => {
  // Was 99: the whole 100 ms poll window ran before the exit was read.
  const { out, reason } = await runToEnd(INTERVAL, new InterpEngine());
  assert.equal(reason, "exit");
  assert.equal(out, "\n\n@x: 6\n");
});

Deno.test("exit() on the interpreter: no event of any source after it (several sources)", async () => {
  // Two sources (the merge of few sources) and, with a wildcard, many (the
  // heap): the one that called exit() is the last event run.
  for (
    const extra of [
      "i:us:300 { @y++; }",
      "tracepoint:syscalls:sys_enter_* { @y++; }",
    ]
  ) {
    const engine = new InterpEngine({ rate: 10_000 });
    const { out } = await runToEnd(
      `i:ms:1 { @x++; if (@x > 5) { exit(); } }
      ${extra} i:ms:1 { @z++; }`,
      engine,
    );
    assert.equal(mapValue(out, "x"), 6, out);
    // The second i:ms:1 probe fires at the same instants, after the first:
    // the sixth tick's never ran.
    assert.equal(mapValue(out, "z"), 5, out);
    assert.equal(engine.clockMs(), 6, extra);
  }
});

Deno.test("exit() on the interpreter: a tracepoint's output stops at it, END prints", async () => {
  const { out } = await runToEnd(TRACEPOINT, new InterpEngine());
  assert.equal(out, "x=6\nend\n\n\n@x: 6\n");
});

Deno.test("exit() in BEGIN: no probe runs, END and the maps print (interpreter)", async () => {
  const { out, reason } = await runToEnd(
    `BEGIN { @b = 1; printf("begin\\n"); exit(); printf("never\\n"); }
     i:ms:1 { @x++; } END { printf("end\\n"); }`,
    new InterpEngine(),
  );
  assert.equal(reason, "exit");
  // @x never set: an empty map prints as a blank line.
  assert.equal(out, "begin\nend\n\n\n@b: 1\n\n");
});

Deno.test({
  name: "exit() on the kernel: an interval probe stops within a few firings",
  ignore: ignoreKernel,
  async fn() {
    const { out, reason } = await runToEnd(INTERVAL, new KernelEngine());
    assert.equal(reason, "exit");
    const x = mapValue(out, "x");
    // 1 firing a millisecond: the record's round trip to us and the pause
    // take a few, far fewer on an idle machine.
    assert.ok(x >= 6 && x <= 200, `@x: ${x}`);
  },
});

Deno.test({
  name: "exit() on the kernel: nothing printed after it but END's output",
  ignore: ignoreKernel,
  async fn() {
    // Every syscall of the machine fires it, our own writes too: before,
    // the runs racing the exit printed thousands of lines.
    const { out } = await runToEnd(TRACEPOINT, new KernelEngine());
    const [printed, maps] = out.split("\n\n\n");
    const lines = printed.split("\n");
    // Another CPU's run may have written its line before the exit record
    // reached the ring (as in bpftrace): at most one per CPU.
    assert.equal(lines.at(-1), "end", printed);
    const xs = lines.slice(0, -1);
    assert.ok(xs.length >= 1 && xs.every((l) => /^x=\d+$/.test(l)), printed);
    assert.ok(xs.length <= 1 + navigator.hardwareConcurrency, printed);
    const x = mapValue("\n" + maps, "x");
    assert.ok(x >= 6, maps);
  },
});

Deno.test({
  name: "exit() in BEGIN on the kernel: nothing attached runs, END prints",
  ignore: ignoreKernel,
  async fn() {
    const { out } = await runToEnd(
      `BEGIN { @b = 1; printf("begin\\n"); exit(); }
       i:ms:1 { @x++; } END { printf("end\\n"); }`,
      new KernelEngine(),
    );
    assert.equal(out, "begin\nend\n\n\n@b: 1\n\n");
  },
});
