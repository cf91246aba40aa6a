/**
 * Parity rows for bpftrace 0.26's enums and struct values: a script's own
 * enums (`enum Foo { ONE = 1 };`) whose values print as their names in
 * maps, tuples, `print()` and `printf("%s")` (tests/runtime/other and
 * call of v0.26.1), a tracepoint field declared as an enum (skb:kfree_skb's
 * `reason`), and whole structs in tuples and multi-key map keys
 * (tests/runtime/struct).
 *
 * @module
 */

import assert from "node:assert/strict";
import { formatKeyText, formatValueText } from "../../runtime/output/text.ts";
import type { Value } from "../../runtime/output/types.ts";
import { entries, linesOf, mapOf, only, total } from "./expect.ts";
import { N, type Row } from "./row.ts";

/** The enum and struct-value rows. */
export const ENUM_ROWS: Row[] = [
  {
    name: "enum_script_maps",
    features: [
      "script enum in map keys and values",
      "enum in a tuple",
      "no name after arithmetic",
    ],
    source: `enum { ONE = 1, TWO = 2 }; begin {
  @[ONE] = 11; @[TWO] = 22; @m[ONE] = 333; @t[ONE, TWO, ONE] = -1;
  @v = ONE; @w = (ONE, TWO); @a[ONE + 1] = TWO - 1;
  @x[ONE + 1] = TWO + 1; @x[ONE] = ONE; exit(); }`,
    expect(r) {
      assert.equal(r.reason, "exit");
      assert.deepEqual(entries(r, "@").sort(), [["ONE", 11], ["TWO", 22]]);
      assert.deepEqual(entries(r, "@m"), [["ONE", 333]]);
      assert.deepEqual(entries(r, "@t"), [["ONE|TWO|ONE", -1]]);
      assert.equal(only(r, "@v"), "ONE");
      assert.equal(
        formatValueText(only(r, "@w") as Value),
        "(ONE, TWO)",
      );
      assert.deepEqual(entries(r, "@a"), [["2", 1]]);
      // The map's key and value were plain integers first: no names.
      assert.deepEqual(entries(r, "@x").sort(), [["1", 1], ["2", 3]]);
    },
  },
  {
    name: "enum_script_printf_print",
    features: [
      "printf %s of an enum",
      "(enum Foo)x cast",
      "enum variable and map",
      "implicit enum values",
    ],
    source: `enum Foo { ONE = 1, TWO = 2, OTHER = 99999 };
enum BAZ { FOO = 333, BAR, };
begin {
  $one = ONE; @two = TWO; $x = 100; $y = 334;
  printf("%d %s %d %s %d %s\\n", ONE, $one, TWO, @two, OTHER, OTHER);
  printf("%d %s %s %s\\n", ONE, (enum Foo)1, (enum Foo)$x, (enum BAZ)$y);
  printf("%-5s|%5s|%s\\n", ONE, TWO, BAR);
  print((enum BAZ)333); print((enum BAZ)$x); $t = (FOO, BAR); print($t);
  exit();
}`,
    expect(r) {
      assert.equal(r.reason, "exit");
      assert.deepEqual(linesOf(r).filter((l) => l !== ""), [
        "1 ONE 2 TWO 99999 OTHER",
        "1 ONE 100 BAR",
        "ONE  |  TWO|BAR",
        "FOO",
        "100",
        "(FOO, BAR)",
      ]);
    },
  },
  {
    name: "enum_json_numbers",
    features: ["enums stay numbers in JSON output", "printf %s names them"],
    source: `enum Foo { ONE = 1, TWO = 2 }; enum { FOO = 333 }; begin {
  $f = FOO; print($f); @m = FOO; @k[FOO] = 1;
  printf("%d %s %d %s\\n", ONE, ONE, TWO, TWO);
  exit();
}`,
    format: "json",
    expect(r) {
      assert.equal(r.reason, "exit");
      // tests/runtime/json-output of v0.26.1: enum_not_symbolized,
      // enum_symbolized_printf.
      const lines = linesOf(r);
      assert.ok(lines.includes('{"type": "value", "data": 333}'), r.output);
      assert.ok(
        lines.includes('{"type": "printf", "data": "1 ONE 2 TWO\\n"}'),
        r.output,
      );
      assert.equal(only(r, "@m"), 333);
      assert.deepEqual(entries(r, "@k"), [["333", 1]]);
    },
  },
  {
    name: "enum_kfree_skb_reason",
    features: [
      "tracepoint enum field printed by name",
      "printf %s of args.reason",
      "print(args) with an enum field",
    ],
    source: `tracepoint:skb:kfree_skb {
  $r = args.reason;
  printf("%d %s\\n", args.reason, $r);
  @[args.reason] = count();
  @n[(uint32)args.reason] = count();
}`,
    workload: ["udp", String(N)],
    pidFilter: true,
    expect(r) {
      const lines = linesOf(r).filter((l) => /^\d/.test(l));
      assert.ok(lines.length > 0, r.output);
      for (const l of lines) {
        assert.match(l, /^\d+ SKB_DROP_REASON_[A-Z_0-9]+$/);
      }
      assert.equal(total(r, "@"), total(r, "@n"));
      for (const [k] of entries(r, "@")) {
        assert.match(k, /^SKB_DROP_REASON_[A-Z_0-9]+$/);
      }
      // A cast to an integer type prints the number.
      for (const [k] of entries(r, "@n")) assert.match(k, /^\d+$/);
      if (r.engine === "kernel") {
        // N datagrams to a closed port of 127.0.0.1: no socket.
        assert.deepEqual(entries(r, "@"), [["SKB_DROP_REASON_NO_SOCKET", N]]);
      }
    },
  },
  {
    name: "struct_value_in_tuple_and_key",
    features: [
      "script struct value in a map",
      "struct in a tuple",
      "struct in a multi-key map key",
    ],
    source: `struct Foo { int m; int n; }
struct Foo2 { struct { int m[1] } y; struct { int n } a; }
begin {
  $v = (uint64)0x300000002;
  @s = *((struct Foo *)&$v);
  @n = *((struct Foo2 *)&$v);
  @t = (1, *((struct Foo *)&$v));
  @k[*((struct Foo *)&$v), 42] = 0;
  $u = (*((struct Foo *)&$v), "x"); print($u);
  exit();
}`,
    expect(r) {
      assert.equal(r.reason, "exit");
      assert.equal(
        formatValueText(only(r, "@s") as Value),
        "{ .m = 2, .n = 3 }",
      );
      assert.equal(
        formatValueText(only(r, "@t") as Value),
        "(1, { .m = 2, .n = 3 })",
      );
      // tests/runtime/struct: "nested struct assignment into map" (the
      // last member of each without its ";").
      assert.equal(
        formatValueText(only(r, "@n") as Value),
        "{ .y = { .m = [2] }, .a = { .n = 3 } }",
      );
      const k = mapOf(r, "@k").entries[0].key as Value[];
      // Struct keys as bpftrace 0.17 prints them (0.26 adds spaces).
      assert.deepEqual(k.map((x) => formatKeyText(x)), ["{.m=2,.n=3}", "42"]);
      assert.ok(linesOf(r).includes("({ .m = 2, .n = 3 }, x)"), r.output);
    },
  },
  {
    name: "struct_nested_packed_definitions",
    features: [
      "nested struct definitions",
      "anonymous struct and union members",
      "__attribute__((packed)) after a definition",
    ],
    source: `struct Foo {
  int m;
  struct { char x; short y; } bar;
  union { int a; char b; };
  struct Baz { char l; } last
} /* packed */ __attribute__((packed))
begin {
  $s = "ABCDEFGHIJKLMNOP"; $p = (struct Foo *)&$s;
  print(*$p);
  print(($p->m, $p->bar.y, $p->a, $p->last.l));
  print((sizeof(struct Foo), offsetof(struct Foo, last), offsetof(struct Foo, bar.y), sizeof(struct Baz)));
  exit();
}`,
    expect(r) {
      assert.equal(r.reason, "exit");
      // The bytes of "ABCD...", little-endian, at the packed offsets (the
      // nested struct keeps its own padding, as in C: y at 4 + 2).
      assert.deepEqual(linesOf(r).filter((l) => l !== ""), [
        "{ .m = 1145258561, .bar = { .x = 69, .y = 18503 }, .a = 1280002633, .b = 73, .last = { .l = 77 } }",
        "(1145258561, 18503, 1280002633, 77)",
        "(13, 12, 6, 1)",
      ]);
    },
  },
  {
    name: "pton_bytes_as_values",
    features: [
      "pton() in a variable",
      "(uint32)pton() array to integer cast",
      "pton()[i]",
    ],
    source: `begin {
  $b = pton("127.0.0.1"); print($b);
  printf("ip: %x\\n", (uint32)pton("127.0.0.1"));
  $i = 3;
  printf("%d %d %d\\n", pton("127.0.0.1")[0], pton("::1")[15], $b[$i]);
  @y = (1, pton("10.1.2.3"));
  print((int32)pton("255.255.255.255"));
  exit();
}`,
    expect(r) {
      assert.equal(r.reason, "exit");
      // tests/runtime/array of v0.26.1: "ip: 100007f".
      assert.deepEqual(linesOf(r).filter((l) => l !== ""), [
        "[127,0,0,1]",
        "ip: 100007f",
        "127 1 1",
        "-1",
      ]);
      assert.equal(formatValueText(only(r, "@y") as Value), "(1, [10,1,2,3])");
    },
  },
  {
    name: "typeof_let_void_sizeof_enumerator",
    features: [
      "let $a: typeof(size_t)",
      "let $p: pid_t (a kernel typedef)",
      "(void *) cast",
      "sizeof of an enumerator",
    ],
    source: `enum { A = 1 }; begin {
  let $a: typeof(size_t) = 1; let $b: typeof(size_t*) = &$a;
  $c = (uint64_t)1; $d = (char)1; $e = (char *)&$d;
  let $p: pid_t = -1; $v = (void *)0; $v = $b;
  printf("%d %d %d %d %d %d %d\\n", $a, *$b, $c, $d, $p, sizeof(A),
    sizeof(TCP_ESTABLISHED));
  exit();
}`,
    expect(r) {
      assert.equal(r.reason, "exit");
      // tests/runtime/btf of v0.26.1 ("vmlinux integer types",
      // "enum_value_reference": an enumerator is 8 bytes).
      assert.deepEqual(linesOf(r).filter((l) => l !== ""), [
        "1 1 1 1 -1 8 8",
      ]);
    },
  },
  {
    name: "enum_struct_member",
    features: [
      "enum member of a script struct",
      "enum member in print(struct)",
      "enum member in a map key",
    ],
    source: `enum Foo { ONE = 1, TWO };
struct S { int a; enum Foo f; }
begin {
  $v = ((uint64)0x100000002, (uint64)1); $p = (struct S *)&$v;
  print(*$p); print($p->f);
  printf("%s %d %d %d\\n", $p->f, $p->f, sizeof(struct S), offsetof(struct S, f));
  @[$p->f] = 1;
  exit();
}`,
    expect(r) {
      assert.equal(r.reason, "exit");
      // An enum member is an int (C's layout), printed by name.
      assert.deepEqual(linesOf(r).filter((l) => l !== ""), [
        "{ .a = 2, .f = ONE }",
        "ONE",
        "ONE 1 8 4",
      ]);
      assert.deepEqual(entries(r, "@"), [["ONE", 1]]);
    },
  },
  {
    name: "struct_value_kernel_rqtp_tuple",
    features: ["kernel struct in a tuple", "kernel struct in a multi-key key"],
    source: "tracepoint:syscalls:sys_enter_clock_nanosleep {" +
      " @t = (1, *args.rqtp); @k[*args.rqtp, 42] = count(); }",
    workload: ["nanosleep", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(total(r, "@k"), N);
      const t = formatValueText(only(r, "@t") as Value);
      const keys = mapOf(r, "@k").entries.map((e) =>
        (e.key as Value[]).map((x) => formatKeyText(x)).join(", ")
      );
      if (r.engine === "kernel") {
        // What the workload passed: 12.3 ms.
        assert.equal(t, "(1, { .tv_sec = 0, .tv_nsec = 12300000 })");
        assert.deepEqual(keys, ["{.tv_sec=0,.tv_nsec=12300000}, 42"]);
      } else {
        assert.match(t, /^\(1, \{ \.tv_sec = \d+, \.tv_nsec = \d+ \}\)$/);
        for (const k of keys) {
          assert.match(k, /^\{\.tv_sec=\d+,\.tv_nsec=\d+\}, 42$/);
        }
      }
    },
  },
];
