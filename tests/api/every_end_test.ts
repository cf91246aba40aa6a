/**
 * `every()` hands out the last, partial interval when the session ends
 * between two ticks by itself (its duration, the program's exit(), a
 * signal), so that a loop printing per interval loses nothing; not when
 * the end falls on a tick, nor after `stop()`.
 */

import assert from "node:assert/strict";
import { type Tick, trace } from "../../mod.ts";
import { kernel } from "./helpers.ts";

const interp = {
  backend: "interp" as const,
  seed: 3,
  rate: 2000,
  announce: false,
};
const COUNT = "tracepoint:raw_syscalls:sys_enter { @n = count(); }";

/** The ticks of `every(100)`, with the count each read, clearing it. */
async function ticks(
  source: string,
  durationMs?: number,
): Promise<{ ticks: Tick[]; counts: number[]; reason?: string }> {
  await using s = await trace(source, { ...interp, durationMs });
  const n = s.map<[], number>("n");
  const out: Tick[] = [];
  const counts: number[] = [];
  for await (const t of s.every(100)) {
    out.push(t);
    counts.push(n.get() ?? 0);
    n.clear();
  }
  return { ticks: out, counts, reason: s.exitReason };
}

Deno.test("every(): a duration between two ticks ends with a final, partial tick", async () => {
  const r = await ticks(COUNT, 250);
  assert.equal(r.reason, "duration");
  assert.deepEqual(
    r.ticks.map((t) => [t.elapsedMs, t.intervalMs, t.final ?? false]),
    [[100, 100, false], [200, 100, false], [250, 50, true]],
  );
  // The last 50 ms of events are read too.
  assert.ok(r.counts[2] > 0, String(r.counts));
});

Deno.test("every(): a duration that is a multiple of the interval ends on a tick, no extra", async () => {
  const r = await ticks(COUNT, 300);
  assert.deepEqual(r.ticks.map((t) => t.elapsedMs), [100, 200, 300]);
  assert.ok(r.ticks.every((t) => t.final === undefined));
});

Deno.test("every(): the program's exit() between two ticks ends with a final tick", async () => {
  // The interpreter runs virtual time in steps of up to 100 ms: exit() at
  // 250 ms ends the session by 300 ms, well before the first tick.
  await using s = await trace(`${COUNT} interval:ms:250 { exit(); }`, interp);
  const seen: Tick[] = [];
  for await (const t of s.every(1000)) seen.push(t);
  assert.equal(s.exitReason, "exit");
  assert.equal(seen.length, 1);
  assert.equal(seen[0].final, true);
  assert.ok(seen[0].elapsedMs >= 250 && seen[0].elapsedMs < 1000);
  assert.equal(seen[0].intervalMs, seen[0].elapsedMs);
});

Deno.test("every(): stop() ends the loop without another tick", async () => {
  await using s = await trace(COUNT, interp);
  const seen: Tick[] = [];
  for await (const t of s.every(100)) {
    seen.push(t);
    if (t.index === 1) s.stop();
  }
  assert.equal(seen.length, 2);
  assert.equal(s.exitReason, "stopped");
});

Deno.test("every(): an aborted signal between two ticks ends with a final tick", async () => {
  const abort = new AbortController();
  await using s = await trace(
    'tracepoint:raw_syscalls:sys_enter { @n = count(); printf("x\\n"); }',
    { ...interp, signal: abort.signal },
  );
  const seen: Tick[] = [];
  let read = 0;
  const events = (async () => {
    for await (const _ of s.events()) {
      if (s.elapsedMs() >= 150) abort.abort();
    }
  })();
  for await (const t of s.every(1000)) {
    seen.push(t);
    read += s.map<[], number>("n").get() ?? 0;
  }
  await events;
  assert.equal(s.exitReason, "signal");
  assert.equal(seen.length, 1);
  assert.equal(seen[0].final, true);
  assert.ok(seen[0].elapsedMs >= 150 && seen[0].elapsedMs < 1000);
  assert.ok(read > 0);
});

Deno.test({
  name:
    "every() on the kernel: exit() between two ticks ends with a final tick",
  ignore: !kernel.ok,
  async fn() {
    await using s = await trace(
      "tracepoint:raw_syscalls:sys_enter { @n = count(); } interval:ms:300 { exit(); }",
      { backend: "kernel", announce: false },
    );
    const seen: Tick[] = [];
    for await (const t of s.every(5000)) seen.push(t);
    assert.equal(s.exitReason, "exit");
    assert.equal(seen.length, 1);
    assert.equal(seen[0].final, true);
    assert.ok(seen[0].elapsedMs >= 300 && seen[0].elapsedMs < 5000);
  },
});
