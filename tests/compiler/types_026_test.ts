/**
 * Compile errors of the 0.26 value types and expressions (bool casts,
 * call-style builtins, records, tuple and string subscripts, `&`), and
 * how their values decode and print.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import { decodeValue } from "../../runtime/output/decode.ts";
import { formatValueText } from "../../runtime/output/text.ts";
import { formatValueJson } from "../../runtime/output/json.ts";
import { formatPrintf } from "../../runtime/output/printf.ts";

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

Deno.test("0.26 types: errors point at the span with bpftrace-style text", () => {
  assert.equal(
    errors('begin { $s = "hello"; print($s[6]); }'),
    "stdin:1:32: ERROR: String index 6 out of bounds for a string of 6 bytes\n" +
      'begin { $s = "hello"; print($s[6]); }\n' +
      "                               ~",
  );
  assert.equal(
    errors("begin { $t = (a=1, b=2); print($t.c); }"),
    'stdin:1:32: ERROR: Record has no field "c"; did you mean "a"?\n' +
      "begin { $t = (a=1, b=2); print($t.c); }\n" +
      "                               ~~~~",
  );
});

const CASES: [string, RegExp][] = [
  [
    "begin { $q = (1, 2); $i = 1; print($q[$i]); }",
    /The index of a tuple must be a constant integer expression/,
  ],
  [
    "begin { $q = (1, 2); print($q[2]); }",
    /Tuple index 2 out of range: tuple has 2 elements/,
  ],
  ["begin { $q = (1, 2); print($q[-1]); }", /Tuple index -1 out of range/],
  [
    'begin { $q = (1, 2); print($q["a"]); }',
    /Index must be an integer, got string\[2\]/,
  ],
  ["begin { $t = (a=1, a=2); }", /Duplicate record field "a"/],
  ["begin { $t = (a=1, 2); }", /Expected a record field "name=value"/],
  [
    "begin { $t = (a=1, b=2); $t = (1, 2); }",
    /Type mismatch for \$t: .*'\(int64,int64\)' .*'record \{ int64 a, int64 b \}'/,
  ],
  ["begin { print((bool)kstack); }", /Cannot cast from kstack to bool/],
  [
    "begin { print(pid(5)); }",
    /pid\(\) takes "curr_ns" or "init", not an expression/,
  ],
  ["begin { print(tid(foo)); }", /tid\(\) takes "curr_ns" or "init"/],
  ["begin { print(comm(1)); }", /comm\(pid\) is not supported: tsbpf/],
  [
    "begin { print(nsecs(wall)); }",
    /Invalid timestamp mode: wall/,
  ],
  ["begin { print(uid(1)); }", /uid\(\) takes no arguments/],
  [
    "begin { @a = 1; print(&@a); }",
    /The address of a map \(the BPF map object\) is not supported/,
  ],
  [
    "begin { print(&1); }",
    /address-of operator \(&\) can only be used on a map or variable/,
  ],
  [
    "begin { $k = kstack; print(&$k); }",
    /Cannot take the address of a value of type kstack/,
  ],
  [
    'begin { printf("%s\\n", true); }',
    /%s specifier expects a value of type string/,
  ],
  [
    "begin { print((int32[])(int16)1); }",
    /Cannot determine array size: the element size is incompatible/,
  ],
  [
    'begin { print((int8[2])"hello"); }',
    /Cannot cast from "string\[6\]" to "int8\[2\]": the sizes differ/,
  ],
  [
    "begin { $x = 5; print((uint8[4])$x); }",
    /Cannot cast from "int64" to "uint8\[4\]": the sizes differ \(8 and 4/,
  ],
  [
    "begin { print((struct foo[2])1); }",
    /Cannot cast from "int64" to "struct foo\[2\]"/,
  ],
  [
    "begin { $a = (int8[2])(int16)1; print($a[2]); }",
    /The index 2 is out of bounds for array of size 2/,
  ],
  [
    "begin { $a = (int8[4])(int32)1; $b = (int8[2])(int16)2; print($a == $b); }",
    /Only arrays of same size support comparison operators/,
  ],
  [
    "begin { $a = (int8[4])(int32)1; $b = (uint8[4])(int32)2; print($a == $b); }",
    /Only arrays of same sized integer support comparison operators/,
  ],
  [
    "begin { $a = (1, 2); $b = (1, 2, 3); print($a == $b); }",
    /Type mismatch for "==": comparing \(int64,int64\) with \(int64,int64,int64\)/,
  ],
  [
    'begin { print((1, true, "a") == (1, "a", true)); }',
    /Type mismatch for "=="/,
  ],
  [
    "begin { print((a=1, b=2) == (a=1, c=2)); }",
    /Type mismatch for "=="/,
  ],
  [
    "begin { @a = stats(1); print((bool)@a); }",
    /The value of aggregation map @a \(stats\) cannot be read in an expression/,
  ],
  [
    "begin { @a = hist(1); print(@a + 1); }",
    /The value of aggregation map @a \(hist\) cannot be read/,
  ],
  [
    "begin { $a = (int8[2])(int16)1; print((uint32)$a); }",
    /Cannot cast from int8\[2\] to uint32/,
  ],
];

for (const [src, want] of CASES) {
  Deno.test(`0.26 types: error for ${src}`, () => {
    assert.match(errors(src), want);
  });
}

Deno.test("0.26 types: bool, pointer, enum and record values decode as plain data", () => {
  const b = new Uint8Array(16);
  new DataView(b.buffer).setBigUint64(0, 0x1000n, true);
  new DataView(b.buffer).setBigUint64(8, 2n, true);
  const int = { kind: "int", size: 8, signed: false } as const;
  assert.equal(decodeValue(b, 8, { ...int, show: "bool" }), true);
  assert.equal(decodeValue(b, 0, { ...int, show: "hex" }), "0x1000");
  const en = { ...int, show: "enum", enumerators: [["2", "TWO"]] } as const;
  assert.equal(
    decodeValue(b, 8, en as unknown as Parameters<typeof decodeValue>[2]),
    "TWO",
  );
  assert.equal(
    decodeValue(b, 0, en as unknown as Parameters<typeof decodeValue>[2]),
    4096,
  );
  const rec = decodeValue(b, 0, {
    kind: "tuple",
    fields: [int, { ...int, show: "bool" }],
    offsets: [0, 8],
    size: 16,
    names: ["a", "ok"],
  });
  assert.deepEqual(rec, {
    type: "record",
    fields: [["a", 4096], ["ok", true]],
  });
  assert.equal(formatValueText(rec), "{ .a = 4096, .ok = true }");
  assert.equal(formatValueJson(rec), '{"a": 4096, "ok": true}');
  assert.equal(formatValueText([true, false]), "(true, false)");
  assert.equal(formatPrintf("%d %u|%3d\n", [true, false, true]), "1 0|  1\n");
});

Deno.test("0.26 types: comparisons are bool, arithmetic on them is not", () => {
  const p = compile(
    "begin { @a = 1 < 2; @b = (1 < 2) + 1; @c = (bool)2; }",
    {},
  );
  const value = (n: string) =>
    p.maps.find((m) => m.name === n)?.agg?.kind === "value"
      ? (p.maps.find((m) => m.name === n)!.agg as { type: unknown }).type
      : undefined;
  assert.deepEqual(value("@a"), {
    kind: "int",
    size: 8,
    signed: false,
    show: "bool",
  });
  assert.deepEqual(value("@b"), { kind: "int", size: 8, signed: false });
  assert.deepEqual(value("@c"), {
    kind: "int",
    size: 8,
    signed: false,
    show: "bool",
  });
});

Deno.test("0.26 types: integer arrays decode as plain data and print [1,2]", () => {
  const b = new Uint8Array([1, 0xff, 3, 0]);
  const arr = decodeValue(b, 0, {
    kind: "array",
    elem: { kind: "int", size: 1, signed: true },
    count: 4,
    size: 4,
  });
  assert.deepEqual(arr, { type: "array", values: [1, -1, 3, 0] });
  assert.equal(formatValueText(arr), "[1,-1,3,0]");
  assert.equal(formatValueText([1, arr]), "(1, [1,-1,3,0])");
  const nested = decodeValue(b, 0, {
    kind: "array",
    elem: { kind: "int", size: 2, signed: false, show: "bool" },
    count: 2,
    size: 4,
  });
  assert.deepEqual(nested, { type: "array", values: [true, true] });
  assert.equal(formatValueText(nested), "[true,true]");
});

Deno.test("0.26 types: nsecs(tai) and nsecs(monotonic) print back as written", async () => {
  const { parse } = await import("../../runtime/lang/parser.ts");
  const { printProgram } = await import("../../runtime/staging/print.ts");
  const src = "begin { @a = nsecs(tai); @b = nsecs(monotonic); @c = nsecs; }";
  const text = printProgram(parse(src).ast);
  assert.match(text, /nsecs\(tai\)/);
  assert.match(text, /nsecs\(monotonic\)/);
  assert.equal(printProgram(parse(text).ast), text);
});
