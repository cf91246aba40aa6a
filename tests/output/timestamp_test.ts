/**
 * `strftime()` values: boot-clock nanoseconds plus the boot time, formatted
 * with the timestamp's format, in events and in maps.
 */

import assert from "node:assert/strict";
import {
  decodeEvent,
  decodeMap,
  decodeValue,
} from "../../runtime/output/decode.ts";
import { hostBootTimeNs, parseUptime } from "../../runtime/output/boot_time.ts";
import { formatEventOutput } from "../../runtime/output/event.ts";
import { formatMapText } from "../../runtime/output/text.ts";
import type { Program, TypeDesc } from "../../runtime/program.ts";
import type { SymbolResolver } from "../../runtime/output/types.ts";
import { skip } from "../support/skip.ts";

const BOOT = 1_700_000_000_123_456_789n; // 2023-11-14T22:13:20.123456789Z

const resolver: SymbolResolver = {
  ksym: () => "",
  usym: () => "",
  stack: () => [],
  bootTimeNs: () => BOOT,
};

function u64(v: bigint): Uint8Array {
  return new Uint8Array(new BigUint64Array([v]).buffer);
}

Deno.test("a formatted timestamp is the boot time plus the nanoseconds", () => {
  const t: TypeDesc = { kind: "timestamp", size: 8, format: "%s.%f|%%" };
  // 1500 s and 1 µs after boot: the microseconds carry over from the boot.
  assert.equal(
    decodeValue(u64(1_500_000_001_000n), 0, t, resolver),
    "1700001500.123457|%",
  );
  assert.equal(decodeValue(u64(0n), 0, t, resolver), "1700000000.123456|%");
});

Deno.test("a timestamp without a format stays the raw nanoseconds", () => {
  const t: TypeDesc = { kind: "timestamp", size: 8 };
  assert.equal(
    decodeValue(u64(4_670_771_224_325n), 0, t, resolver),
    4670771224325,
  );
});

Deno.test("printf of strftime() prints the date, not nanoseconds", () => {
  const prog: Program = {
    probes: [],
    maps: [],
    formats: [{
      id: 0,
      action: {
        kind: "printf",
        format: "%s\n",
        args: [{ kind: "timestamp", size: 8, format: "%s" }],
      },
      layout: { offsets: [0], size: 8 },
    }],
  };
  const rec = new Uint8Array(16);
  new DataView(rec.buffer).setBigUint64(8, 4_670_771_224_325n, true);
  const ev = decodeEvent(prog, rec, resolver);
  assert.equal(formatEventOutput(ev, "text"), "1700004670\n");
});

Deno.test("maps of strftime() values print the formatted text", () => {
  const data = decodeMap(
    {
      name: "@t",
      type: 1,
      keySize: 8,
      valueSize: 8,
      maxEntries: 1,
      key: { kind: "none", size: 0 },
      agg: {
        kind: "value",
        type: { kind: "timestamp", size: 8, format: "%s" },
      },
      internal: false,
    },
    [{ key: new Uint8Array(8), values: [u64(2_000_000_000n)] }],
    resolver,
  );
  assert.equal(formatMapText(data), "@t: 1700000002\n");
});

Deno.test("parseUptime reads /proc/uptime's form, to the middle of its 10 ms", () => {
  assert.equal(parseUptime("12.34 56.78\n"), 12_345_000_000n);
  assert.equal(parseUptime("0.00 0.00\n"), 5_000_000n);
  assert.equal(parseUptime(""), undefined);
  assert.equal(parseUptime("12 34\n"), undefined);
});

Deno.test({
  name: "the host's boot time agrees with the kernel's btime (/proc/stat)",
  ignore: skip(
    "the boot-time test",
    Deno.build.os === "linux" ? undefined : `not Linux (${Deno.build.os})`,
  ),
  fn() {
    const stat = Deno.readTextFileSync("/proc/stat");
    const btime = Number(/^btime (\d+)$/m.exec(stat)![1]);
    const boot = Number(hostBootTimeNs() / 1_000_000n) / 1000;
    // btime is whole seconds (truncated): the boot lies in [btime, btime+1).
    assert.ok(
      boot >= btime - 0.05 && boot < btime + 1.05,
      `${boot} vs ${btime}`,
    );
  },
});
