/**
 * Parity rows for bpftrace 0.26 output settings: `str_trunc_trailer`
 * (bpftrace v0.26.1 docs/language.md "str_trunc_trailer",
 * src/types_format.cpp, tests/runtime/call "str_truncated" and
 * "str_truncated_custom"). tsbpf's `max_strlen` counts the NUL, as 0.17
 * does: with `max_strlen = 8` a string shows 7 characters, and the
 * trailer follows those that fill the 8 bytes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { entries, total } from "./expect.ts";
import { N, type Row } from "./row.ts";

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
];
