import assert from "node:assert/strict";
import { runCli } from "./helpers.ts";

const HIDDEN = { TSBPF_LIBBPF: "/nonexistent/libbpf.so.1" };
const ONE_LINER = "tracepoint:skb:kfree_skb { @[comm, pid] = count(); }";

Deno.test("without libbpf the one-liner runs in the interpreter, the same twice", async () => {
  const args = ["-e", ONE_LINER, "--duration", "2", "--seed", "1"];
  const a = await runCli(args, { env: HIDDEN });
  const b = await runCli(args, { env: HIDDEN });
  assert.equal(a.code, 0, a.stderr);
  assert.equal(
    a.stderr,
    "tsbpf: /nonexistent/libbpf.so.1 is not installed (Debian/Ubuntu: " +
      "apt-get install libbpf1); running in the interpreter on synthetic events\n" +
      "Attached 1 probe (synthetic events from the interpreter, not the kernel)\n",
  );
  assert.equal(a.stdout, b.stdout, "same seed, same output");
  const rows = [...a.stdout.matchAll(/^@\[(.+), (\d+)\]: (\d+)$/gm)];
  assert.ok(rows.length >= 10, `per-process rows:\n${a.stdout}`);
  const counts = rows.map((r) => Number(r[3]));
  // Sorted ascending like bpftrace, skewed: the busiest process dominates.
  assert.deepEqual(counts, [...counts].sort((x, y) => x - y));
  assert.ok(counts.at(-1)! > 5 * counts[0], "a skewed distribution");
  // About rate (1000/s) × 2 s of drops in all.
  const total = counts.reduce((x, y) => x + y, 0);
  assert.ok(total > 1500 && total < 2500, `total ${total}`);
  const other = await runCli([
    "-e",
    ONE_LINER,
    "--duration",
    "2",
    "--seed",
    "2",
  ], {
    env: HIDDEN,
  });
  assert.notEqual(other.stdout, a.stdout, "another seed, other events");
});

Deno.test("--backend kernel without libbpf is an error naming why", async () => {
  const r = await runCli(["--backend", "kernel", "-e", ONE_LINER], {
    env: HIDDEN,
  });
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    "ERROR: Cannot use the kernel engine: /nonexistent/libbpf.so.1 is not " +
      "installed (Debian/Ubuntu: apt-get install libbpf1)\n",
  );
});
