/**
 * End-to-end throughput of the interpreter engine: event synthesis,
 * program execution and map updates. Each iteration runs 100 ms of
 * virtual time at 1,000,000 events per second, i.e. 100,000 events;
 * events/s = 100,000 / (time per iteration).
 *
 * Run: `deno bench -A bench/interp_bench.ts`
 *
 * @module
 */

import { compile } from "../runtime/compiler/compile.ts";
import { InterpEngine } from "../runtime/engines/interp_engine.ts";

const RATE = 1_000_000;
const WINDOW_MS = 100;
const EVENTS = (RATE * WINDOW_MS) / 1000;

async function engineFor(source: string): Promise<InterpEngine> {
  const engine = new InterpEngine({ seed: 1, rate: RATE });
  await engine.load(compile(source));
  await engine.attach();
  // Warm up the translated program and the event path.
  await engine.poll(20, () => {});
  return engine;
}

const cases: [string, string][] = [
  [
    "raw_syscalls @[comm] = count()",
    "tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }",
  ],
  [
    "raw_syscalls @[pid] = count()",
    "tracepoint:raw_syscalls:sys_enter { @[pid] = count(); }",
  ],
  [
    "raw_syscalls @[args->id] = count()",
    "tracepoint:raw_syscalls:sys_enter { @[args->id] = count(); }",
  ],
  [
    "kfree_skb @[args->reason, args->protocol] = count()",
    "tracepoint:skb:kfree_skb { @[args->reason, args->protocol] = count(); }",
  ],
  [
    "sys_exit_read @ = hist(args->ret)",
    "tracepoint:syscalls:sys_exit_read { @ = hist(args->ret); }",
  ],
];

for (const [name, source] of cases) {
  const engine = await engineFor(source);
  Deno.bench({
    name: `${name} (${EVENTS} events)`,
    group: "interp",
    baseline: name.startsWith("raw_syscalls @[comm]"),
    async fn() {
      await engine.poll(WINDOW_MS, () => {});
    },
  });
}

// One plain wall-clock figure per case, printed before the bench table.
for (const [name, source] of cases) {
  const engine = await engineFor(source);
  const t0 = performance.now();
  await engine.poll(1000, () => {});
  const ms = performance.now() - t0;
  console.log(
    `${name}: ${
      Math.round(RATE / (ms / 1000)).toLocaleString("en-US")
    } events/s`,
  );
  engine.close();
}
