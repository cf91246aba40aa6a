/**
 * `-p PID` in the bundled scripts: only that process is traced (their
 * probes are tracepoints), and a pid that names no process is a one-line
 * error with status 1, as the CLI says it.
 */

import assert from "node:assert/strict";
import { hasStackTrace, kernelSkip, run, runScript, sleep } from "./helpers.ts";
import { skip } from "../support/skip.ts";

/** A pid no process has: one of a child that has exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

/** The rows under syscount -P's title: [pid, comm, count]. */
function syscountRows(stdout: string): string[][] {
  const lines = stdout.split("\n");
  const i = lines.findIndex((l) => /^PID +COMM +COUNT$/.test(l));
  assert.ok(i > 0, stdout);
  return lines.slice(i + 1).filter((l) => l !== "").map((l) => l.split(/ +/));
}

Deno.test("the scripts refuse -p PID of no process in one line, status 1", async () => {
  const pid = await deadPid();
  const names = ["kfree_skb", "syscount", "opensnoop", "execsnoop"];
  const runs = await Promise.all(
    names.map((name) =>
      runScript(name, ["-p", String(pid), "--duration", "1"])
    ),
  );
  runs.forEach((r, i) => {
    assert.equal(
      r.stderr,
      `${names[i]}: Cannot trace pid ${pid} (-p): No such process\n`,
    );
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(hasStackTrace(r.stderr), false);
  });
});

Deno.test("syscount.ts -P -p PID on the interpreter shows that pid alone", async () => {
  const r = await runScript("syscount", [
    "--backend",
    "interp",
    "--seed",
    "1",
    "--duration",
    "1",
    "-P",
    "-p",
    "4242",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const rows = syscountRows(r.stdout);
  assert.deepEqual(rows.map(([pid]) => pid), ["4242"], r.stdout);
});

Deno.test({
  name:
    "syscount.ts -P -p PID and opensnoop.ts -p PID on the kernel show that process alone",
  ignore: skip("the kernel -p script test", kernelSkip),
  async fn() {
    // The traced process is this test's: it opens a file of its own while
    // cat, another process, opens the same file.
    const dir = Deno.makeTempDirSync({ prefix: "tsbpf-pid-" });
    const file = `${dir}/mine`;
    Deno.writeTextFileSync(file, "x\n");
    const workload = async () => {
      for (let i = 0; i < 10; i++) {
        await Deno.readTextFile(file);
        await run("cat", [file]);
        await sleep(50);
      }
    };
    try {
      const args = ["--backend", "kernel", "--duration", "2", "-p"];
      const [syscount, opensnoop] = await Promise.all([
        runScript("syscount", [...args, String(Deno.pid), "-P"], workload),
        runScript("opensnoop", [...args, String(Deno.pid)], workload),
      ]);
      assert.equal(syscount.code, 0, syscount.stderr);
      assert.deepEqual(
        syscountRows(syscount.stdout).map(([pid]) => pid),
        [String(Deno.pid)],
        syscount.stdout,
      );
      assert.equal(opensnoop.code, 0, opensnoop.stderr);
      const rows = opensnoop.stdout.split("\n").slice(1).filter((l) =>
        l !== ""
      );
      assert.ok(rows.some((l) => l.endsWith(file)), opensnoop.stdout);
      for (const l of rows) {
        assert.ok(l.startsWith(`${Deno.pid} `), opensnoop.stdout);
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
