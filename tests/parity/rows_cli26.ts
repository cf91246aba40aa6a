/**
 * Parity rows for bpftrace 0.26 behaviour of the output:
 *
 * - `str_trunc_trailer` (bpftrace v0.26.1 docs/language.md
 *   "str_trunc_trailer", src/types_format.cpp, tests/runtime/call
 *   "str_truncated" and "str_truncated_custom"). tsbpf's `max_strlen`
 *   counts the NUL, as 0.17 does: with `max_strlen = 8` a string shows 7
 *   characters, and the trailer follows those that fill the 8 bytes.
 * - `tseries()` intervals on CLOCK_TAI (src/ast/passes/codegen_llvm.cpp
 *   buckets on TimestampMode::sw_tai, the boot clock moved to TAI;
 *   src/types_format.cpp prints `epoch * interval` as wall-clock time).
 *
 * @module
 */

import assert from "node:assert/strict";
import { entries, mapOf, total } from "./expect.ts";
import { N, type Row } from "./row.ts";
import type { TseriesPoint } from "../../runtime/output/tseries.ts";

/** The rows of this area. */
export const CLI26_ROWS: Row[] = [
  {
    name: "config_str_trunc_trailer",
    features: [
      "str_trunc_trailer",
      "a string cut at max_strlen ends with the trailer",
      "in map keys and in printf",
    ],
    source: `config = { max_strlen = 8; str_trunc_trailer = ".." }
tracepoint:syscalls:sys_enter_openat {
  @p[str(args->filename)] = count();
  printf("P: %s\\n", str(args->filename));
}`,
    workload: ["open", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(total(r, "@p"), N);
      const lines = r.output.split("\n").filter((l) => l.startsWith("P: "));
      assert.equal(lines.length, N);
      // At most 7 characters, and the trailer when there are 7.
      for (const [k] of entries(r, "@p")) {
        assert.match(k, /^(.{0,6}|.{7}\.\.)$/, k);
      }
      for (const l of lines) assert.match(l, /^P: (.{0,6}|.{7}\.\.)$/, l);
      if (r.engine === "kernel") {
        assert.deepEqual(entries(r, "@p"), [["/nonexi..", N]]);
        assert.deepEqual(new Set(lines), new Set(["P: /nonexi.."]));
      }
    },
  },
  {
    name: "config_str_trunc_trailer_custom",
    features: [
      "str_trunc_trailer = custom text",
      "strings that fit print without it",
    ],
    source: `config = { max_strlen = 64; str_trunc_trailer = "_xxx" }
tracepoint:syscalls:sys_enter_openat {
  @p[str(args->filename)] = count();
  @s[str(args->filename, 4)] = count();
}`,
    workload: ["open", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(total(r, "@p"), N);
      // str(s, 4) is a 5-byte string: never the 64 bytes of max_strlen.
      for (const [k] of entries(r, "@s")) assert.doesNotMatch(k, /_xxx/);
      if (r.engine === "kernel") {
        // The workload's paths fit in 64 bytes: no trailer.
        for (const [k] of entries(r, "@p")) {
          assert.match(k, /^\/nonexistent\/tsbparity\/\d+$/, k);
        }
      }
    },
  },
  {
    name: "tseries_intervals_on_tai",
    features: [
      "tseries() buckets on CLOCK_TAI",
      "interval starts are round wall-clock times",
    ],
    source: `interval:ms:10 {
  @n++;
  @t = tseries(@n, 100ms, 5, "max");
  if (@n == 30) { exit(); }
}`,
    kernelMs: 3000,
    interpMs: 2000,
    expect(r) {
      assert.equal(r.reason, "exit");
      assert.equal(mapOf(r, "@t").kind, "tseries");
      const [[, points]] = entries(r, "@t");
      const starts = (points as TseriesPoint[]).map((p) => BigInt(p.start));
      assert.ok(starts.length >= 2, `${starts}`);
      const now = BigInt(Date.now()) * 1_000_000n;
      for (const s of starts) {
        // A multiple of the interval since the epoch, and about now (TAI
        // is UTC plus the leap seconds the kernel was told of: 0 or 37).
        assert.equal(s % 100_000_000n, 0n, `${s}`);
        const off = s > now ? s - now : now - s;
        assert.ok(off < 120_000_000_000n, `${s} vs ${now}`);
      }
      // Printed in ms: each row's start ends in "00".
      const rows = r.exitOutput.split("\n").filter((l) =>
        /^\d\d:\d\d:\d\d\.\d{3} /.test(l)
      );
      assert.equal(rows.length, starts.length, r.exitOutput);
      for (const l of rows) assert.match(l, /^\d\d:\d\d:\d\d\.\d00 /, l);
    },
  },
];
