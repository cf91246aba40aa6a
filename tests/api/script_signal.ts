/**
 * A user's script run until Ctrl-C, as the README shows it: no signal
 * handling of its own. Used by `signals_test.ts` and the tmux test.
 *
 * Usage: `deno run -A script_signal.ts BACKEND RATE LOOP [LINGER]`, LOOP
 * one of `every`, `events`, `emits`; with LINGER, it waits a minute after
 * its summary before closing the session.
 *
 * @module
 */

import { trace, Tracer, type U32 } from "../../mod.ts";

const [backend, rate, loop, linger] = Deno.args;
const t = new Tracer();
const calls = t.event<{ pid: U32 }>("call");
t.probe("tracepoint:syscalls:sys_enter_getppid", (c) => {
  c.emit(calls, { pid: c.pid });
});
const source = loop === "emits"
  ? t
  : 'tracepoint:syscalls:sys_enter_getppid { @n = count(); printf("call\\n"); } END { printf("END ran\\n"); }';
await using session = await trace(source, {
  backend: backend as "kernel" | "interp",
  rate: Number(rate),
  realtime: true,
  print: loop !== "emits",
});
console.log("Tracing getppid... Hit Ctrl-C to end.");
let seen = 0;
if (loop === "every") {
  for await (const _tick of session.every(100)) seen++;
} else if (loop === "events") {
  for await (const _ev of session.events()) seen++;
} else {
  for await (const _r of session.emits(calls)) seen++;
}
console.log(`summary: loop ended by ${session.exitReason}`);
if (linger !== undefined) {
  await new Promise((r) => setTimeout(r, 60_000));
}
