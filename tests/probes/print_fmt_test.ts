import assert from "node:assert/strict";
import { evalConst, printFmtTables } from "../../runtime/probes/print_fmt.ts";

Deno.test("evalConst evaluates C constant expressions", () => {
  assert.equal(evalConst("0"), 0);
  assert.equal(evalConst("1ULL"), 1);
  assert.equal(evalConst("0x1236"), 0x1236);
  assert.equal(evalConst("(-1)"), -1);
  assert.equal(evalConst("-1"), -1);
  assert.equal(evalConst("1 << 0"), 1);
  assert.equal(evalConst("(1UL << 12) | (1UL << 3)"), 4104);
  assert.equal(evalConst("010"), 8);
  assert.equal(evalConst("2 + 3 * 4"), 14);
  assert.equal(evalConst("(2 + 3) * 4"), 20);
  assert.equal(evalConst("~0 & 0xff"), 255);
  assert.equal(evalConst("8 - 1 - 1"), 6);
  assert.equal(evalConst("TCP_ESTABLISHED"), undefined);
  assert.equal(evalConst("(unsigned long)1"), undefined);
  assert.equal(evalConst("1 +"), undefined);
  assert.equal(evalConst("(1"), undefined);
  assert.equal(evalConst("1 / 0"), undefined);
  assert.equal(evalConst(""), undefined);
});

Deno.test("printFmtTables finds symbolic and flags tables", () => {
  const fmt = '"a=%s b=%s c=%s", ' +
    '__print_symbolic(REC->a, { 0, "ZERO" }, { 1ULL, "ONE" }, { SOME_ENUM, "SKIP" }, { (-1), "NEG" }), ' +
    '__print_flags(REC->b, "|", { 0x01, "R" }, { 1 << 1, "W" }), ' +
    '__print_symbolic((((REC->c) >> 13) & (8 - 1)), { 1, "RT, \\"quoted\\"" })';
  const t = printFmtTables(fmt);
  assert.equal(t.length, 3);
  assert.equal(t[0].kind, "symbolic");
  assert.equal(t[0].field, "a");
  assert.deepEqual([...t[0].values], [[0, "ZERO"], [1, "ONE"], [-1, "NEG"]]);
  assert.equal(t[1].kind, "flags");
  assert.equal(t[1].field, "b");
  assert.equal(t[1].delimiter, "|");
  assert.deepEqual([...t[1].values], [[1, "R"], [2, "W"]]);
  assert.equal(t[2].field, undefined);
  assert.equal(t[2].expr, "(((REC->c) >> 13) & (8 - 1))");
  assert.deepEqual([...t[2].values], [[1, 'RT, "quoted"']]);
});

Deno.test("printFmtTables finds tables nested in other calls", () => {
  const fmt =
    '"%s", __print_flags((1 << REC->t), " | ", { 1 << 0, "REALTIME" }, ' +
    '{ 1 << 1, "BOOTTIME" }), foo(__print_symbolic(REC->x, { 5, "FIVE" }))';
  const t = printFmtTables(fmt);
  assert.equal(t.length, 2);
  assert.equal(t[0].delimiter, " | ");
  assert.equal(t[0].field, undefined);
  assert.deepEqual([...t[0].values], [[1, "REALTIME"], [2, "BOOTTIME"]]);
  assert.equal(t[1].field, "x");
  assert.equal(t[1].values.get(5), "FIVE");
  assert.deepEqual(printFmtTables('"no tables %d", REC->x'), []);
  // Unbalanced text does not throw.
  assert.deepEqual(printFmtTables('__print_symbolic(REC->x, { 1, "A" }'), []);
});
