/**
 * Parity rows for maps with several keys, which bpftrace 0.22 made maps
 * keyed by one tuple: `@m[a, b]`, `@m[(a, b)]` and `@m[$t]` with
 * `$t = (a, b)` are the same element of the same map; `has_key()` and
 * `delete()` take the tuple; `for ($kv : @m)` gives `((a, b), value)`.
 * Expected output follows bpftrace v0.26.1: docs/language.md (maps, `for`),
 * docs/migration_guide.md (0.22: `delete(@c, (1, "hello"))`),
 * src/output/text.cpp (a tuple key printed without its parentheses) and
 * src/output/json.cpp (a tuple key as its text without parentheses or
 * spaces).
 *
 * @module
 */

import assert from "node:assert/strict";
import { entries, linesOf, mapOf } from "./expect.ts";
import { N, type Row } from "./row.ts";

/** The rows of this area. */
export const TUPLEKEYS_ROWS: Row[] = [
  {
    name: "tuplekeys_one_map",
    features: [
      "@m[a, b] and @m[(a, b)] are one element",
      "@m[$t] with a tuple variable",
      "tuple key of narrower integers and shorter strings",
      "print(@m) of a tuple-keyed map",
    ],
    source: `begin {
  @m[1, "a"] = 1;
  @m[(2, "bb")] = 2;
  $t = ((int8)3, "c");
  @m[$t] = 3;
  @m[(1, "a")] = @m[1, "a"] + 10;
  @m[2, "bb"] += 20;
  @n[(1, 2), 3] = 1;
  @n[((1, 2), 4)] = 2;
  print(@m);
  print(@n);
  printf("%d %d %d\\n", @m[$t], @m[3, "c"], @m[(2, "bb")]);
  exit();
}`,
    expect(r) {
      assert.deepEqual(linesOf(r), [
        "@m[3, c]: 3",
        "@m[1, a]: 11",
        "@m[2, bb]: 22",
        "@n[(1, 2), 3]: 1",
        "@n[(1, 2), 4]: 2",
        "3 3 22",
      ], r.engine);
      assert.deepEqual(entries(r, "@m"), [
        ["3|c", 3],
        ["1|a", 11],
        ["2|bb", 22],
      ]);
      // Exit printing: the same lines, after the blank line.
      assert.match(r.exitOutput, /\n@m\[3, c\]: 3\n@m\[1, a\]: 11\n/);
    },
  },
  {
    name: "tuplekeys_has_key_delete",
    features: [
      "has_key(@m, (a, b))",
      "has_key(@m, $t)",
      "delete(@m, (a, b))",
      "delete(@m, $t)",
      "delete(@m[a, b]) (deprecated form)",
      "has_key on a map first written with a tuple variable",
    ],
    source: `begin {
  $k = (7, "x");
  @s[$k] = 1;
  @s[8, "y"] = 2;
  @s[(9, "z")] = 3;
  printf("%d %d %d %d\\n", has_key(@s, (7, "x")), has_key(@s, (8, "y")),
    has_key(@s, $k), has_key(@s, (7, "y")));
  delete(@s, (7, "x"));
  $j = (8, "y");
  delete(@s, $j);
  printf("%d %d %d\\n", has_key(@s, $k), has_key(@s, (8, "y")),
    has_key(@s, (9, "z")));
  delete(@s[9, "z"]);
  @s[10, "w"] = 4;
  exit();
}`,
    expect(r) {
      assert.deepEqual(
        linesOf(r),
        ["1 1 1 0", "0 0 1"],
        r.engine,
      );
      assert.deepEqual(entries(r, "@s"), [["10|w", 4]]);
    },
  },
  {
    name: "tuplekeys_for",
    features: [
      "for ($kv : @m) gives ((a, b), value)",
      "@m[$kv.0] with the key tuple",
      "$kv.0.0 and $kv.0.1",
    ],
    source: `begin {
  @m[1, "a"] = 10;
  @m[(2, "b")] = 20;
  for ($kv : @m) {
    printf("%d %s %d\\n", $kv.0.0, $kv.0.1, $kv.1);
    @copy[$kv.0] = $kv.1 + 1;
    @m[$kv.0] = $kv.1 * 2;
  }
  for ($kv : @copy) {
    print($kv);
  }
  exit();
}`,
    expect(r) {
      const lines = linesOf(r);
      assert.deepEqual(lines.slice(0, 2).sort(), ["1 a 10", "2 b 20"]);
      assert.deepEqual(
        lines.slice(2).sort(),
        ["((1, a), 11)", "((2, b), 21)"],
        r.engine,
      );
      assert.deepEqual(entries(r, "@m"), [["1|a", 20], ["2|b", 40]]);
      assert.deepEqual(entries(r, "@copy"), [["1|a", 11], ["2|b", 21]]);
    },
  },
  {
    name: "tuplekeys_clear_zero",
    features: [
      "zero() of a tuple-keyed count map",
      "clear() of a tuple-keyed map",
    ],
    source: `begin {
  @c[1, "a"] = count();
  @c[(1, "a")] = count();
  @c[(2, "b")] = count();
  @v[1, 2] = 5;
  @v[(3, 4)] = 6;
  print(@c);
  zero(@c);
  print(@v);
  clear(@v);
  exit();
}`,
    expect(r) {
      assert.deepEqual(linesOf(r), [
        "@c[2, b]: 1",
        "@c[1, a]: 2",
        "@v[1, 2]: 5",
        "@v[3, 4]: 6",
      ], r.engine);
      assert.deepEqual(entries(r, "@c"), [["1|a", 0], ["2|b", 0]]);
      assert.deepEqual(entries(r, "@v"), []);
    },
  },
  {
    name: "tuplekeys_json",
    features: [
      "-f json: a tuple key written either way",
      "-f json: a nested tuple key without spaces",
      "-f json: hist with a tuple key",
    ],
    source: `begin {
  @m[1, "a"] = 1;
  @m[(2, "b")] = 2;
  @n[((1, 2), 3)] = 4;
  @h[(1, "x")] = hist(3);
  @h[1, "x"] = hist(5);
  print(@m);
  print(@n);
  print(@h);
  exit();
}`,
    format: "json",
    expect(r) {
      assert.deepEqual(linesOf(r), [
        '{"type": "map", "data": {"@m": {"1,a": 1, "2,b": 2}}}',
        '{"type": "map", "data": {"@n": {"(1,2),3": 4}}}',
        '{"type": "hist", "data": {"@h": {"1,x": [{"min": 2, "max": 3, "count": 1},{"min": 4, "max": 7, "count": 1}]}}}',
      ], r.engine);
    },
  },
  {
    name: "tuplekeys_tracepoint",
    features: [
      "@m[pid, comm] and @m[(pid, comm)] on events",
      "has_key(@m, (pid, comm)) on events",
      "delete(@m, $key) on events",
    ],
    source: `tracepoint:syscalls:sys_enter_openat {
  @a[pid, comm] = count();
  $k = (pid, comm);
  @b[$k] = count();
  @b[(pid, comm)] = count();
  if (has_key(@a, (pid, comm))) { @c[(pid, comm)] = count(); }
  @t[$k] = nsecs;
}
tracepoint:syscalls:sys_exit_openat /has_key(@t, (pid, comm))/ {
  @d[pid, comm] = count();
  delete(@t, (pid, comm));
}`,
    workload: ["open", String(N)],
    pidFilter: true,
    expect(r) {
      const a = entries(r, "@a");
      assert.equal(a.length, 1, `${r.engine}: ${JSON.stringify(a)}`);
      const [key, n] = a[0];
      assert.equal(key, `${r.target.pid}|${r.target.comm}`);
      const opens = Number(n);
      assert.ok(opens >= 1, `${r.engine}: ${opens}`);
      if (r.engine === "kernel") assert.equal(opens, N);
      assert.deepEqual(entries(r, "@b"), [[key, 2 * opens]]);
      assert.deepEqual(entries(r, "@c"), [[key, opens]]);
      // The interpreter's exits need not follow an enter of the same
      // process; the kernel's do.
      const d = entries(r, "@d");
      assert.ok(d.length <= 1 && (d.length === 0 || d[0][0] === key));
      // Every exit had its entry's tuple key; at most the last entry
      // (kernel: none, the workload's openat calls return) is left.
      assert.ok(mapOf(r, "@t").entries.length <= 1, r.engine);
      if (r.engine === "kernel") {
        assert.equal(d[0][1], N);
        assert.equal(mapOf(r, "@t").entries.length, 0);
      }
    },
  },
];
