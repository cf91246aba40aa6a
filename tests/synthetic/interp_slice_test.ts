/**
 * A bounded poll (`sliceMs`) of the interpreter returns after about that
 * much work however many events are due, and cutting the time that way
 * changes no event: the maps are those of one unbounded poll.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { InterpEngine } from "../../runtime/engines/interp_engine.ts";

async function engineFor(source: string, rate: number): Promise<InterpEngine> {
  const engine = new InterpEngine({ seed: 3, rate });
  await engine.load(compile(source));
  await engine.attach();
  return engine;
}

Deno.test("interp: a bounded poll returns in time at a rate it cannot keep up with", async () => {
  const engine = await engineFor(
    "tracepoint:syscalls:sys_enter_getppid { @ = count(); }",
    1e12,
  );
  const t0 = performance.now();
  await engine.poll(1000, () => {}, { sliceMs: 20 });
  const ms = performance.now() - t0;
  assert.ok(ms < 500, `poll took ${ms.toFixed(0)} ms`);
  assert.ok(engine.clockMs() < 1000);
  assert.ok(engine.readMap(0).length === 1);
  engine.close();
});

for (
  const [what, source] of [
    [
      "one source",
      "tracepoint:syscalls:sys_enter_getppid { @[tid] = count(); }",
    ],
    [
      "a few paired sources",
      "tracepoint:syscalls:sys_enter_read { @s[tid] = nsecs; } tracepoint:syscalls:sys_exit_read /@s[tid]/ { @l = hist(nsecs - @s[tid]); delete(@s[tid]); } tracepoint:sched:sched_switch { @c[cpu] = count(); }",
    ],
    [
      "many sources",
      "tracepoint:syscalls:sys_enter_* { @[probe] = count(); }",
    ],
  ] as const
) {
  Deno.test(`interp: polls cut into slices give the same maps (${what})`, async () => {
    // Hundreds of thousands of events in 20 virtual ms, whatever the
    // number of sources.
    const rate = 200_000 /
      compile(source).probes.flatMap((p) => p.attach).length;
    const whole = await engineFor(source, rate);
    await whole.poll(20, () => {});
    const cut = await engineFor(source, rate);
    let polls = 0;
    while (cut.clockMs() < 20) {
      await cut.poll(20 - cut.clockMs(), () => {}, { sliceMs: 1 });
      polls++;
    }
    assert.equal(cut.clockMs(), 20);
    const maps = compile(source).maps.length;
    for (let i = 0; i < maps; i++) {
      assert.deepEqual(cut.readMap(i), whole.readMap(i), `map ${i}`);
    }
    console.log(`${polls} polls`);
    whole.close();
    cut.close();
  });
}
