/**
 * Parity rows for kernel types: whole structs copied out of memory and
 * printed as bpftrace 0.17 prints them (checked here against bpftrace on
 * this machine: `print(*args->rqtp)` gives `{ .tv_sec = 0, .tv_nsec = N }`,
 * a struct map key `{.tv_sec=0,.tv_nsec=N}`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { formatKeyText, formatValueText } from "../../runtime/output/text.ts";
import type { Value } from "../../runtime/output/types.ts";
import { entries, linesOf, mapOf, total } from "./expect.ts";
import { N, type Row } from "./row.ts";

/** The kernel-types rows. */
export const BTF_ROWS: Row[] = [
  {
    name: "print_struct_rqtp",
    features: ["print(*p) of a struct", "struct map value", "struct map key"],
    source: "tracepoint:syscalls:sys_enter_clock_nanosleep {" +
      " print(*args->rqtp); @[*args->rqtp] = count(); @last = *args->rqtp; }",
    workload: ["nanosleep", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(total(r, "@"), N);
      const keys = mapOf(r, "@").entries.map((e) =>
        formatKeyText((e.key as Value[])[0])
      );
      const last = formatValueText(mapOf(r, "@last").entries[0].value as Value);
      // Events still in the ring buffer at the end print with the maps.
      const printed = [...linesOf(r), ...r.exitOutput.split("\n")]
        .filter((l) => l.startsWith("{"));
      assert.equal(printed.length, N);
      if (r.engine === "kernel") {
        // What the workload passed: 12.3 ms, as `sleep 0.0123` would.
        assert.deepEqual(keys, ["{.tv_sec=0,.tv_nsec=12300000}"]);
        assert.equal(last, "{ .tv_sec = 0, .tv_nsec = 12300000 }");
        assert.ok(printed.every((l) => l === last), printed[0]);
      } else {
        for (const k of keys) {
          assert.match(k, /^\{\.tv_sec=\d+,\.tv_nsec=\d+\}$/);
        }
        assert.match(last, /^\{ \.tv_sec = \d+, \.tv_nsec = \d+ \}$/);
      }
    },
  },
  {
    name: "struct_variable_rqtp",
    features: ["struct variable", "member of a struct variable"],
    source: "tracepoint:syscalls:sys_enter_clock_nanosleep {" +
      " $t = *args->rqtp; @[$t.tv_sec, $t.tv_nsec] = count(); }",
    workload: ["nanosleep", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(total(r, "@"), N);
      const keys = entries(r, "@").map(([k]) => k);
      if (r.engine === "kernel") assert.deepEqual(keys, ["0|12300000"]);
      for (const k of keys) {
        const [sec, nsec] = k.split("|").map(Number);
        assert.ok(sec >= 0 && nsec >= 0 && nsec < 1e9, k);
      }
    },
  },
];
