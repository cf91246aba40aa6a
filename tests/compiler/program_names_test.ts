/**
 * Kernel program names: unique, at most 15 characters of `[A-Za-z0-9_]`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";

Deno.test("program names are unique, at most 15 chars of [A-Za-z0-9_]", () => {
  const p = compile(
    "tracepoint:syscalls:sys_enter_accept, tracepoint:syscalls:sys_enter_accept4 { @[probe] = count(); }" +
      " tracepoint:syscalls:sys_enter_getppid { @g = count(); }" +
      " interval:s:1 { exit(); } interval:s:1 { exit(); }" +
      " BEGIN { @b = 1; } END { @e = 1; }",
    { tracefsAvailable: false },
  );
  const names = p.probes.map((x) => x.name);
  assert.deepEqual(names, [
    "sys_enter_acc_1",
    "sys_enter_acc_2",
    "sys_enter_getpp",
    "interval_s_1_1",
    "interval_s_1_2",
    "BEGIN",
    "END",
  ]);
  for (const n of names) assert.match(n, /^[A-Za-z0-9_]{1,15}$/);
  assert.equal(new Set(names).size, names.length);
});

Deno.test("program names: a suffix never collides with an existing name", () => {
  // Eleven programs sharing a name: the suffix grows and the base shrinks.
  const pts = Array.from(
    { length: 11 },
    () => "tracepoint:syscalls:sys_enter_getppid",
  ).join(", ");
  const p = compile(`${pts} { @[probe] = count(); }`, {
    tracefsAvailable: false,
  });
  const names = p.probes.map((x) => x.name);
  assert.equal(names.length, 11);
  assert.equal(new Set(names).size, 11);
  assert.equal(names[0], "sys_enter_get_1");
  assert.equal(names[10], "sys_enter_ge_11");
  for (const n of names) assert.ok(n.length <= 15);
});
