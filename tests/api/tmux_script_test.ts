/**
 * Issue 12's acceptance: a TypeScript script run in a terminal until
 * Ctrl-C prints its END output and its summary, and the shell's prompt
 * comes back.
 */

import assert from "node:assert/strict";
import { endsWithPrompt, Terminal, tmuxSkipReason } from "../cli/tmux.ts";

const SCRIPT = new URL("./script_signal.ts", import.meta.url).pathname;
if (tmuxSkipReason !== undefined) {
  console.log(`Skipping the tmux script test: ${tmuxSkipReason}`);
}

Deno.test({
  name: "tmux: a script run until Ctrl-C prints END and its summary",
  ignore: tmuxSkipReason !== undefined,
  async fn() {
    await using term = await Terminal.open();
    await term.type(
      `"${Deno.execPath()}" run -A --no-lock "${SCRIPT}" interp 1000 every`,
    );
    await term.waitFor((s) => s.includes("Hit Ctrl-C to end."), 30_000);
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    await term.ctrlC();
    const screen = await term.waitFor(
      (s) =>
        s.includes("summary: loop ended by signal") &&
        s.includes("END ran") && /^@n: \d+$/m.test(s) && endsWithPrompt(s),
      10_000,
    );
    const ms = performance.now() - t0;
    console.log(`summary, END and prompt ${ms.toFixed(0)} ms after Ctrl-C`);
    assert.ok(ms < 2000, `${ms.toFixed(0)} ms:\n${screen}`);
  },
});
