/**
 * Interval and profile periods without a unit part, as bpftrace 0.26
 * reads them (src/ast/passes/attachpoint_passes.cpp, frequency_parser,
 * and src/util/int_parser.cpp): `interval:1s`, `interval:100ms`,
 * `interval:1000000000` (nanoseconds), counted in microseconds.
 */

import assert from "node:assert/strict";
import { parseAttachParts } from "../../runtime/lang/attach_point.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import { parse } from "../../runtime/lang/parser.ts";
import { parseAttachPoint } from "../../runtime/probes/attach_spec.ts";
import { listProbes } from "../../runtime/probes/list_probes.ts";

/** The formatted errors `parse` throws for `src` (fails if it parses). */
function errors(src: string): string {
  try {
    parse(src, "a.bt");
  } catch (e) {
    assert.ok(e instanceof CompileErrors, `not CompileErrors: ${e}`);
    return e.format();
  }
  assert.fail(`parsed without errors: ${src}`);
}

const us = (period: number) => ({
  target: "us",
  unit: "us",
  period,
  wildcard: false,
});

Deno.test("interval period: units and number forms, in microseconds", () => {
  const cases: [string, number][] = [
    ["1s", 1_000_000],
    ["100ms", 100_000],
    ["1000000000", 1_000_000],
    ["1000000000ns", 1_000_000],
    ["250us", 250],
    ["1_000us", 1000],
    ["2m", 120_000_000],
    ["1h", 3_600_000_000],
    ["1d", 86_400_000_000],
    ["1e9", 1_000_000],
    ["5e3us", 5000],
    ["0x3e8", 1],
    ["0b1111101000", 1],
    // A leading 0 is octal, as strtoull reads it: 01750 is 1000.
    ["01750", 1],
    // bpftrace's number parser takes C integer suffixes too.
    ["1000000ul", 1000],
    // Below a microsecond is dropped, as bpftrace divides by 1000.
    ["1500ns", 1],
  ];
  for (const [text, period] of cases) {
    assert.deepEqual(parseAttachParts("interval", [text]), us(period), text);
    assert.deepEqual(parseAttachParts("profile", [text]), us(period), text);
  }
  // The form with a unit part is unchanged.
  assert.deepEqual(parseAttachParts("interval", ["s", "1"]), {
    target: "s",
    unit: "s",
    period: 1,
    wildcard: false,
  });
  assert.deepEqual(parseAttachParts("profile", ["hz", "99"]), {
    target: "hz",
    unit: "hz",
    period: 99,
    wildcard: false,
  });
});

Deno.test("interval period: the program's attach point and probe name", () => {
  const ap = parse("interval:1s { }").ast.probes[0].attachPoints[0];
  assert.equal(ap.provider, "interval");
  assert.equal(ap.raw, "interval:1s");
  assert.equal(ap.unit, "us");
  assert.equal(ap.period, 1_000_000);
  assert.equal(parse("i:100ms { }").ast.probes[0].attachPoints[0].period, 1e5);
  // The listing and API form is named as bpftrace 0.26 names it.
  assert.deepEqual(parseAttachPoint("interval:1s"), {
    kind: "interval",
    target: "",
    unit: "us",
    period: 1_000_000,
    text: "interval:us:1000000",
  });
  assert.equal(parseAttachPoint("p:10ms").text, "profile:us:10000");
});

Deno.test("interval period: bad periods are located, with 0.26's reasons", () => {
  assert.equal(
    errors("BEGIN { }\ninterval:1x { }"),
    [
      'a.bt:2:1: ERROR: Invalid attach point "interval:1x": invalid rate of interval probe: invalid trailing bytes "x" in "1x", expected a number with a unit ns, us, ms, s, m, h or d',
      "interval:1x { }",
      "~~~~~~~~~~~",
    ].join("\n"),
  );
  assert.equal(
    errors("interval:0s { }"),
    [
      'a.bt:1:1: ERROR: Invalid attach point "interval:0s": invalid rate of interval probe, the minimum is 1000 or 1us, found 0 nanoseconds',
      "interval:0s { }",
      "~~~~~~~~~~~",
    ].join("\n"),
  );
  const first = (src: string) => errors(src).split("\n")[0];
  assert.equal(
    first("profile:99 { }"),
    'a.bt:1:1: ERROR: Invalid attach point "profile:99": invalid rate of profile probe, the minimum is 1000 or 1us, found 99 nanoseconds',
  );
  assert.equal(
    first("interval:1.5s { }"),
    'a.bt:1:1: ERROR: Invalid attach point "interval:1.5s": invalid rate of interval probe: invalid trailing bytes ".5s" in "1.5s", expected a number with a unit ns, us, ms, s, m, h or d',
  );
  assert.equal(
    first("interval:ms { }"),
    'a.bt:1:1: ERROR: Invalid attach point "interval:ms": invalid rate of interval probe: "ms" is not a number',
  );
  assert.equal(
    first("interval:10e3 { }"),
    'a.bt:1:1: ERROR: Invalid attach point "interval:10e3": invalid rate of interval probe: the coefficient part of the scientific literal "10e3" must be 1-9',
  );
  assert.equal(
    first("interval:20000000000000000000 { }"),
    'a.bt:1:1: ERROR: Invalid attach point "interval:20000000000000000000": invalid rate of interval probe: "20000000000000000000" overflows, the maximum is 18446744073709551615 nanoseconds',
  );
  assert.equal(
    first("interval:300000000000d { }"),
    'a.bt:1:1: ERROR: Invalid attach point "interval:300000000000d": invalid rate of interval probe: "300000000000d" overflows, the maximum is 18446744073709551615 nanoseconds',
  );
  assert.equal(
    first("interval: { }"),
    'a.bt:1:1: ERROR: Invalid attach point "interval:": expected "interval:UNIT:N" or "interval:PERIOD" (like 1s, 100ms)',
  );
  assert.equal(
    first("interval:s:1:2 { }"),
    'a.bt:1:1: ERROR: Invalid attach point "interval:s:1:2": expected "interval:UNIT:N" or "interval:PERIOD" (like 1s, 100ms)',
  );
  assert.equal(
    first("interval:min:1 { }"),
    'a.bt:1:1: ERROR: Invalid attach point "interval:min:1": unknown unit "min", expected hz, s, ms or us',
  );
  assert.throws(
    () => parseAttachPoint("interval:1x"),
    (e) =>
      e instanceof SyntaxError &&
      e.message ===
        'Invalid attach point "interval:1x": invalid rate of interval probe: invalid trailing bytes "x" in "1x", expected a number with a unit ns, us, ms, s, m, h or d',
  );
});

Deno.test("interval period: -l lists the units, as bpftrace 0.26", () => {
  const all = ["hz", "ms", "s", "us"];
  assert.deepEqual(listProbes("interval:*"), all.map((u) => `interval:${u}:`));
  assert.deepEqual(listProbes("i:*"), all.map((u) => `interval:${u}:`));
  assert.deepEqual(listProbes("profile:*"), all.map((u) => `profile:${u}:`));
  assert.deepEqual(listProbes("interval:s:1"), ["interval:s:"]);
  assert.deepEqual(listProbes("interval:*s"), [
    "interval:ms:",
    "interval:s:",
    "interval:us:",
  ]);
  // A period is counted in microseconds.
  assert.deepEqual(listProbes("interval:1s"), ["interval:us:"]);
  assert.deepEqual(listProbes("p:h*"), ["profile:hz:"]);
  // Without a pattern too, as bpftrace 0.26 lists "*:*".
  const every = listProbes();
  for (const u of all) {
    assert.ok(every.includes(`interval:${u}:`), u);
    assert.ok(every.includes(`profile:${u}:`), u);
  }
  assert.throws(
    () => listProbes("interval:0s"),
    /minimum is 1000 or 1us, found 0 nanoseconds/,
  );
});
