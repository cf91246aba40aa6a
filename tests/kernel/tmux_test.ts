/**
 * Issue 11's acceptance: Ctrl-C pressed in a terminal running the
 * write-feedback one-liner (its own output fires its probe) shows the map
 * and the shell's prompt within a second.
 */

import assert from "node:assert/strict";
import { endsWithPrompt, Terminal, tmuxSkipReason } from "../cli/tmux.ts";
import { skip, skipReason } from "./helpers.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const ignore = skip("the kernel tmux test", skipReason ?? tmuxSkipReason);

Deno.test({
  name: "tmux: Ctrl-C in a terminal running the write-feedback one-liner",
  ignore,
  async fn() {
    await using term = await Terminal.open();
    // sh execs deno: its $$ is the tracer's pid, the probe's filter.
    const program =
      'tracepoint:syscalls:sys_enter_write /pid == $1/ { printf("%s %d\\n", comm, args->count); @w = count(); }';
    await term.type(
      `sh -c 'exec "${Deno.execPath()}" run -A --no-lock "${MOD}" -e "$0" "$$"' '${program}'`,
    );
    // The feedback loop is running once its lines fill the screen.
    await term.waitFor(
      (s) => (s.match(/^deno \d+$/gm) ?? []).length > 10,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    await term.ctrlC();
    const screen = await term.waitFor(
      (s) => /^@w: \d+$/m.test(s) && endsWithPrompt(s),
      10_000,
    );
    const ms = performance.now() - t0;
    console.log(`map and prompt ${ms.toFixed(0)} ms after Ctrl-C`);
    assert.ok(ms < 1000, `${ms.toFixed(0)} ms:\n${screen}`);
  },
});
