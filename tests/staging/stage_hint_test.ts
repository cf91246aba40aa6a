import assert from "node:assert/strict";
import { Tracer, type U32, type U64 } from "../../mod.ts";

Deno.test("staging a map slot or a map where a value belongs says how to read it", () => {
  const t = new Tracer();
  const counts = t.map<[U32], "count">("counts");
  const last = t.map<[], U64>("last");
  assert.throws(
    () =>
      t.probe("tracepoint:syscalls:sys_enter_getppid", (c) => {
        // deno-lint-ignore no-explicit-any
        last.at().set(counts.at(c.pid) as any);
      }),
    {
      name: "TypeError",
      message:
        'Cannot stage a value of type "object": a map slot (@counts[...]) is not a value; read its value with .get()',
    },
  );
  assert.throws(
    () =>
      t.probe("tracepoint:syscalls:sys_enter_getppid", (c) => {
        // deno-lint-ignore no-explicit-any
        c.printf("%d\n", counts as any);
      }),
    {
      name: "TypeError",
      message:
        'Cannot stage a value of type "object": the map @counts is not a value; read an element with .at(keys).get()',
    },
  );
  assert.throws(
    () =>
      t.probe("tracepoint:syscalls:sys_enter_getppid", (c) => {
        // deno-lint-ignore no-explicit-any
        c.printf("%d\n", undefined as any);
      }),
    /undefined, a misspelt field \(c\.args\.x\) or an unset variable\?/,
  );
});
