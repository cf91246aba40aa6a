/**
 * Acceptance 2: 100 UDP datagrams to a closed port on 127.0.0.1 are seen
 * by `tracepoint:skb:kfree_skb` as drops with the sender's pid and comm;
 * exactly 100 with a pid filter, all with reason NO_SOCKET.
 */

import assert from "node:assert/strict";
import {
  afterAttachLine,
  skip,
  skipReason,
  Tracer,
  Workload,
} from "./helpers.ts";

const ignore = skip("kernel kfree_skb tests", skipReason);

/** A UDP port nothing listens on (per /proc/net/udp). */
function closedUdpPort(): number {
  const used = new Set<number>();
  for (const f of ["/proc/net/udp", "/proc/net/udp6"]) {
    try {
      for (const line of Deno.readTextFileSync(f).split("\n").slice(1)) {
        const local = line.trim().split(/\s+/)[1];
        if (local) used.add(parseInt(local.split(":")[1], 16));
      }
    } catch {
      // no IPv6
    }
  }
  for (let port = 47_000 + (Deno.pid % 1000);; port++) {
    if (!used.has(port)) return port;
  }
}

/** skb_drop_reason NO_SOCKET, from this kernel's tracepoint format. */
function noSocketReason(): number {
  const fmt = Deno.readTextFileSync(
    "/sys/kernel/tracing/events/skb/kfree_skb/format",
  );
  const m = fmt.match(/\{\s*(\d+),\s*"NO_SOCKET"\s*\}/);
  assert.ok(m, "NO_SOCKET in the kfree_skb format");
  return Number(m[1]);
}

Deno.test({
  name: "cli: kfree_skb sees 100 UDP drops with the sender's pid and comm",
  ignore,
  async fn() {
    const reason = noSocketReason();
    const w = await Workload.start(["udp", "100", String(closedUdpPort())]);
    const t = Tracer.tsbpf([
      "-e",
      `tracepoint:skb:kfree_skb { @all[pid, comm] = count(); }
       tracepoint:skb:kfree_skb /pid == ${w.pid} && args->reason == ${reason}/ { @mine[pid, comm, args->reason] = count(); }`,
    ]);
    try {
      await t.attached();
      await w.run();
      const r = await t.stop();
      assert.equal(r.code, 0, r.stderr);
      const out = afterAttachLine(r.stdout);
      const all = out.match(
        new RegExp(`^@all\\[${w.pid}, tsbwork\\]: (\\d+)$`, "m"),
      );
      assert.ok(all, out);
      assert.ok(Number(all[1]) >= 100, all[0]);
      assert.match(
        out,
        // The field is an enum: its key prints as the enumerator's name
        // from the kernel's types (bpftrace 0.26).
        new RegExp(
          `^@mine\\[${w.pid}, tsbwork, SKB_DROP_REASON_NO_SOCKET\\]: 100$`,
          "m",
        ),
      );
      assert.equal(
        out.split("\n").filter((l) => l.startsWith("@mine")).length,
        1,
        out,
      );
    } finally {
      await w.kill();
      await t.kill();
    }
  },
});
