/**
 * A tracepoint's `args` used whole: the record's layout as user space
 * decodes it (its own fields, no `common_*` header, every pointer in hex,
 * in a map's key and value as in `print()`), the errors for probes
 * without args, and the code it costs.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import type { TypeDesc } from "../../runtime/program.ts";

/** The formatted errors a script gets (fails when it compiles). */
function errors(src: string): string {
  try {
    compile(src, {});
  } catch (e) {
    assert.ok(e instanceof CompileErrors, `not CompileErrors: ${e}`);
    return e.format();
  }
  assert.fail(`compiled without errors: ${src}`);
}

/** A record type's field names and how each prints. */
function fields(d: TypeDesc): [string, string][] {
  assert.equal(d.kind, "tuple");
  const t = d as TypeDesc & { kind: "tuple" };
  assert.ok(t.names !== undefined, "not a record");
  return t.fields.map((f, i) => [
    t.names![i],
    f.kind === "int" ? `int${f.show === "hex" ? " hex" : ""}` : f.kind,
  ]);
}

/** skb:kfree_skb's own fields: three `void *`, a short and an enum. */
const KFREE_SKB: [string, string][] = [
  ["skbaddr", "int hex"],
  ["location", "int hex"],
  ["rx_sk", "int hex"],
  ["protocol", "int"],
  ["reason", "int"],
];

Deno.test("args of kfree_skb: own fields, void * in hex, in keys and values", () => {
  const p = compile(
    "tracepoint:skb:kfree_skb { @k[args] = count(); @v = args; @t[(1, args)] = 1; }",
    {},
  );
  const map = (name: string) => p.maps.find((m) => m.name === name)!;
  // A tracepoint without rx_sk (older kernels) has the other four.
  const want = (got: [string, string][]) =>
    KFREE_SKB.filter(([n]) => n !== "rx_sk" || got.some(([g]) => g === n));
  const key = fields(map("@k").key);
  assert.deepEqual(key, want(key));
  const agg = map("@v").agg!;
  assert.equal(agg.kind, "value");
  const value = fields((agg as { type: TypeDesc }).type);
  assert.deepEqual(value, want(value));
  const tuple = map("@t").key as TypeDesc & { kind: "tuple" };
  assert.deepEqual(fields(tuple.fields[1]), want(value));
});

Deno.test("args used whole outside a tracepoint is an error at args", () => {
  assert.equal(
    errors("BEGIN { print(args); }"),
    "stdin:1:15: ERROR: The args builtin can only be used with tracepoints, rawtracepoints, fentry and fexit\n" +
      "BEGIN { print(args); }\n" +
      "              ~~~~",
  );
});

Deno.test('args held in a variable is a record: "->" reads its fields as "." does (0.26)', () => {
  const insns = (src: string) => compile(src, {}).probes[0].insns;
  assert.deepEqual(
    insns(
      "tracepoint:syscalls:sys_exit_openat { $a = args; print($a->ret); }",
    ),
    insns("tracepoint:syscalls:sys_exit_openat { $a = args; print($a.ret); }"),
  );
});

Deno.test("print(args) costs what printing the same fields as a tuple does", () => {
  const insns = (src: string) => compile(src, {}).probes[0].insns.length;
  assert.equal(
    insns("tracepoint:syscalls:sys_exit_openat { print(args); }"),
    insns(
      "tracepoint:syscalls:sys_exit_openat { print((args.__syscall_nr, args.ret)); }",
    ),
  );
  // `args;` alone reads nothing: at most the context is kept (r6 = r1).
  assert.ok(
    insns("tracepoint:syscalls:sys_exit_openat { args; }") <=
      insns("tracepoint:syscalls:sys_exit_openat { }") + 1,
  );
});
