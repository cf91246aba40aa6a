/**
 * Parity rows for two pieces of bpftrace 0.26 syntax its own tools use:
 * `if`, `while`, `unroll` and `for` with a unary expression and no
 * parentheses (`if $ns {`, `if errname {` with `errname` a macro;
 * CHANGELOG 0.26.0, "If, for, while and unroll statements can have
 * omitted parentheses for unary expressions"), and interval and profile
 * periods without a unit part (`interval:1s`, `interval:100ms`,
 * `interval:1000000000` in nanoseconds; docs/language.md, "interval" and
 * "profile"), which bpftrace counts in microseconds and names so in
 * `probe` (`interval:us:1000000`, AttachPoint::name() in src/ast/ast.cpp).
 *
 * @module
 */

import assert from "node:assert/strict";
import { entries, only, total } from "./expect.ts";
import { N, type Row } from "./row.ts";

/** A map's value as a number. */
function num(v: unknown): number {
  return Number(v);
}

/** The rows of this area. */
export const SYNTAX26_ROWS: Row[] = [
  {
    name: "syntax26_bare_conditions",
    features: [
      "if without parentheses",
      "else if without parentheses",
      "while without parentheses",
      "unroll without parentheses",
      "for over a range without parentheses",
      "for over a map without parentheses",
      "a macro as a bare if condition",
    ],
    source: `macro on() { 1 }
macro off() { 0 }
BEGIN {
  $x = 1; $i = 3; @m[1] = 5;
  if $x { @a = 1 } else { @a = 2 }
  if !$x { @b = 1 } else if @m[1] { @b = 2 } else { @b = 3 }
  if off { @c = 1 } else if on { @c = 2 }
  while $i { $i--; @w++; }
  unroll 3 { @u++; }
  for $k : 0..4 { @r += $k; }
  for $kv : @m { @f = $kv.1; }
  exit();
}`,
    expect(r) {
      assert.equal(r.reason, "exit");
      assert.equal(only(r, "@a"), 1);
      assert.equal(only(r, "@b"), 2);
      assert.equal(only(r, "@c"), 2);
      assert.equal(only(r, "@w"), 3);
      assert.equal(only(r, "@u"), 3);
      assert.equal(only(r, "@r"), 0 + 1 + 2 + 3);
      assert.equal(only(r, "@f"), 5);
    },
  },
  {
    name: "syntax26_bare_condition_on_events",
    features: ["if without parentheses on a map read", "runqlat's if $ns"],
    // runqlat.bt's shape: read a per-thread map, act only when it is set.
    source: `tracepoint:syscalls:sys_enter_getppid {
  $seen = @last[tid];
  if $seen { @again++; } else { @first++; }
  @last[tid] = nsecs;
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      // The target's threads each call getppid: one first call per thread.
      const first = total(r, "@first");
      assert.ok(first >= 1, `${r.engine}: @first ${first}`);
      assert.equal(first + total(r, "@again"), N);
      assert.equal(entries(r, "@last").length, first);
    },
  },
  {
    name: "syntax26_interval_periods",
    features: [
      "interval:100ms",
      "interval:1s",
      "interval:1000000000 (nanoseconds)",
      "probe of an interval period (interval:us:N)",
    ],
    source: `BEGIN { @t0 = nsecs; }
interval:100ms { @n++; @p[probe] = count(); }
interval:250000000 { @q[probe] = count(); }
interval:1s { @d = (nsecs - @t0) / 1000000; @p[probe] = count(); exit(); }`,
    kernelMs: 5000,
    interpMs: 3000,
    expect(r) {
      assert.equal(r.reason, "exit");
      // Ten 100 ms periods in the second before interval:1s ends the
      // run; which of the two fires first at 1 s is not fixed, and a
      // loaded machine may be late by one.
      const n = num(only(r, "@n"));
      assert.ok(n >= 8 && n <= 11, `${r.engine}: @n ${n}`);
      const d = num(only(r, "@d"));
      assert.ok(d >= 950 && d < 1500, `${r.engine}: @d ${d} ms`);
      assert.deepEqual(Object.fromEntries(entries(r, "@p")), {
        "interval:us:100000": n,
        "interval:us:1000000": 1,
      });
      const q = entries(r, "@q");
      assert.equal(q.length, 1);
      assert.equal(q[0][0], "interval:us:250000");
      assert.ok(num(q[0][1]) >= 3 && num(q[0][1]) <= 4, `${r.engine}: @q`);
    },
  },
  {
    name: "syntax26_profile_period",
    features: ["profile:10ms", "probe of a profile period (profile:us:N)"],
    source: `profile:10ms { @p[probe] = count(); }
interval:s:1 { exit(); }`,
    kernelMs: 5000,
    interpMs: 3000,
    expect(r) {
      assert.equal(r.reason, "exit");
      const p = entries(r, "@p");
      assert.equal(p.length, 1);
      assert.equal(p[0][0], "profile:us:10000");
      // Every CPU ticks 100 times a second; an idle CPU may skip ticks
      // (NO_HZ), so only the order of magnitude is fixed.
      const n = num(p[0][1]);
      assert.ok(n >= 20 && n <= 100 * 64, `${r.engine}: ${n} ticks`);
    },
  },
];
