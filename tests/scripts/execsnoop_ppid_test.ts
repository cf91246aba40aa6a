/**
 * execsnoop.ts reads the parent in the probe (`curtask->real_parent`), as
 * BCC does: a process forked before tracing started, which then execs,
 * shows its live parent, not "?"; on both engines.
 */

import assert from "node:assert/strict";
import { kernelSkip, runScript } from "./helpers.ts";
import { skip } from "../support/skip.ts";

/** execsnoop's rows as [pcomm, pid, ppid, ret, args]. */
function rows(stdout: string): string[][] {
  const lines = stdout.split("\n").filter((l) => l !== "");
  assert.equal(lines[0], "TIME(s)  PCOMM            PID     PPID    RET ARGS");
  return lines.slice(1).map((l) => [
    l.slice(9, 26).trimEnd(),
    l.slice(26, 34).trimEnd(),
    l.slice(34, 42).trimEnd(),
    l.slice(42, 45).trim(),
    l.slice(46),
  ]);
}

Deno.test({
  name:
    "execsnoop.ts on the kernel shows the parent of a process forked before tracing started",
  ignore: skip("the kernel execsnoop PPID test", kernelSkip),
  async fn() {
    const tag = `tsbpf-${crypto.randomUUID().slice(0, 8)}`;
    // A shell forks a subshell now, before the script runs; the subshell
    // execs once told to, and the shell reaps it at once.
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        `exec 3<&0; (read go <&3; exec /bin/true ${tag}) & wait`,
      ],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const r = await runScript(
        "execsnoop",
        ["--backend", "kernel", "--duration", "3", "-n", tag],
        async () => {
          const w = child.stdin.getWriter();
          await w.write(new TextEncoder().encode("go\n"));
          await w.close();
          await child.status;
        },
      );
      assert.equal(r.code, 0, r.stderr);
      const mine = rows(r.stdout);
      assert.equal(mine.length, 1, r.stdout);
      const [pcomm, , ppid, ret, args] = mine[0];
      assert.deepEqual(
        [pcomm, ppid, ret, args],
        ["true", String(child.pid), "0", `/bin/true ${tag}`],
      );
    } finally {
      try {
        child.kill();
      } catch {
        // exited
      }
      await child.status;
    }
  },
});

Deno.test("execsnoop.ts on the interpreter reads the synthetic task's parent", async () => {
  const r = await runScript("execsnoop", [
    "--backend",
    "interp",
    "--seed",
    "1",
    "--duration",
    "1",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const all = rows(r.stdout);
  assert.ok(all.length > 0, r.stdout);
  for (const [, , ppid] of all) assert.match(ppid, /^\d+$/, r.stdout);
});
