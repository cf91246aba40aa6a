/**
 * Scripts that print a table every interval print the last, partial
 * interval too, at every kind of end (SIGINT, SIGTERM, `--duration`), as
 * BCC's tools print their stats on Ctrl-C; no empty extra table when the
 * end falls on a tick.
 */

import assert from "node:assert/strict";
import { Tracer } from "../support/child.ts";
import { kernelSkip, runScript, udpToClosedPort } from "./helpers.ts";
import { skip } from "../support/skip.ts";

const SCRIPTS = new URL("../../scripts/", import.meta.url).pathname;
const STAMP = /^\[\d\d:\d\d:\d\d\]$/;

/** The tables after the header line: each `[HH:MM:SS]` and its rows. */
function tables(stdout: string): string[][] {
  return stdout.split("\n\n").slice(1).map((b) => {
    const lines = b.split("\n").filter((l) => l !== "");
    assert.match(lines[0], STAMP, stdout);
    return lines.slice(1);
  });
}

/**
 * Runs `scripts/NAME.ts args` until it says "Hit Ctrl-C", lets `during`
 * run (then `ms` more), sends `sig` once and returns how it ended.
 */
async function stopWith(
  name: string,
  args: string[],
  sig: Deno.Signal,
  ms: number,
  during?: () => Promise<unknown>,
) {
  const t = Tracer.script(`${SCRIPTS}${name}.ts`, args);
  try {
    await t.waitFor("Hit Ctrl-C", 60_000);
    await during?.();
    await new Promise((r) => setTimeout(r, ms));
    t.signal(sig);
    const r = await t.finish(60_000);
    assert.equal(r.signal, null, `killed by ${r.signal}\n${r.stderr}`);
    assert.equal(r.code, 0, r.stderr);
    return r;
  } finally {
    await t.kill();
  }
}

const INTERP = ["--backend", "interp", "--seed", "1"];

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`syscount.ts -i 5 on the interpreter prints the partial interval on ${sig}`, async () => {
    const r = await stopWith("syscount", [...INTERP, "-i", "5"], sig, 1000);
    const t = tables(r.stdout);
    assert.equal(t.length, 1, r.stdout);
    assert.match(t[0][0], /^SYSCALL +COUNT$/);
    assert.ok(t[0].length > 1, r.stdout);
  });
}

Deno.test("readlat.ts and dropreason.ts -i 5 on the interpreter print the partial interval on SIGINT", async () => {
  const [readlat, drops] = await Promise.all([
    stopWith("readlat", [...INTERP, "-i", "5"], "SIGINT", 1000),
    stopWith("dropreason", [...INTERP, "-i", "5"], "SIGINT", 1000),
  ]);
  // readlat: one stamp, then histograms (with blank lines between them).
  const lines = readlat.stdout.split("\n");
  const stamps = lines.flatMap((l, i) => STAMP.test(l) ? [i] : []);
  assert.equal(stamps.length, 1, readlat.stdout);
  assert.ok(
    lines.slice(stamps[0]).some((l) => / reads, p50 /.test(l)),
    readlat.stdout,
  );
  const d = tables(drops.stdout);
  assert.equal(d.length, 1, drops.stdout);
  assert.ok(d[0].length > 1, drops.stdout);
});

Deno.test("syscount.ts -i 1 --duration 2.5 prints the last half interval; --duration 2 no empty extra table", async () => {
  const [half, whole] = await Promise.all([
    runScript("syscount", [...INTERP, "-i", "1", "--duration", "2.5"]),
    runScript("syscount", [...INTERP, "-i", "1", "--duration", "2"]),
  ]);
  for (const r of [half, whole]) assert.equal(r.code, 0, r.stderr);
  const h = tables(half.stdout);
  assert.equal(h.length, 3, half.stdout);
  assert.ok(h[2].length > 1, half.stdout);
  assert.equal(tables(whole.stdout).length, 2, whole.stdout);
});

Deno.test({
  name:
    "kfree_skb.ts -i 5 on the kernel prints the drops of the partial interval on SIGINT",
  ignore: skip("the kernel interval-end script test", kernelSkip),
  async fn() {
    let bash = -1;
    const sent = 5;
    const r = await stopWith(
      "kfree_skb",
      ["--backend", "kernel", "-i", "5"],
      "SIGINT",
      300,
      async () => bash = await udpToClosedPort(sent),
    );
    const t = tables(r.stdout);
    assert.equal(t.length, 1, r.stdout);
    const row = t[0].find((l) => l.startsWith(`${bash} `));
    assert.ok(row !== undefined, r.stdout);
    assert.ok(Number(row.split(/\s+/)[2]) >= sent, row);
  },
});
