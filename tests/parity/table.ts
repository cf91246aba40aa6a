/**
 * The backend parity table: one row per program, each run on both engines
 * by the same test code, each row's `expect` holding on both.
 *
 * Kernel rows trace a deterministic workload child (tests/parity/
 * workload.c) and filter on its pid; the interpreter, given the same pid,
 * makes every synthetic event come from a synthetic process with that pid
 * at 1000 events per second per attach point, so 20 virtual ms give 20
 * events: the workloads do 20 of everything, and counts agree exactly.
 * Where the engines' inputs differ by nature (argument values, paths,
 * stacks), rows assert the shape: map kind, key arity and types, value
 * types, totals, printed formats.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { HistBucket, Stats } from "../../runtime/output/types.ts";
import {
  assertShape,
  assertStack,
  entries,
  linesOf,
  mapOf,
  only,
  total,
} from "./expect.ts";
import type { RunResult, RunSpec } from "./run.ts";

/** One program of the table. */
export interface Row extends RunSpec {
  /** Unique name, used in test names and the skip list. */
  name: string;
  /** The language features the row covers. */
  features: string[];
  /** Assertions that hold on both engines. */
  expect: (r: RunResult) => void;
}

/** Events each workload makes (and the interpreter's 20 ms at 1000/s). */
export const N = 20;

const HIST_1_TO_10 = `@h: 
[1]                    1 |@@@@@@@@@@@@@                                       |
[2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[4, 8)                 4 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[8, 16)                3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@             |
`;

const LHIST_1_TO_10 = `@l: 
[0, 2)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[4, 6)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[6, 8)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[8, 10)                2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[10, ...)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
`;

function num(v: unknown): number {
  assert.ok(typeof v === "number" || typeof v === "bigint", `not int: ${v}`);
  return Number(v);
}

function stats(v: unknown): [number, number, number] {
  const s = v as Stats;
  return [Number(s.count), Number(s.total), Number(s.average)];
}

function bucketCounts(v: unknown): [number | undefined, number][] {
  return (v as HistBucket[]).map((b) => [
    b.min === undefined ? undefined : Number(b.min),
    Number(b.count),
  ]);
}

/** The table: at least 30 programs across the language. */
export const ROWS: Row[] = [
  {
    name: "begin_end_printf",
    features: ["BEGIN", "END", "printf %d %s %x %u %c %5d %-5s %%"],
    source:
      `BEGIN { printf("start %d %s %x %u %c|%5d|%-5s|%%\\n", -42, "str", 255, 7, 65, 7, "ab"); }
END { printf("end %d\\n", 1); }`,
    expect(r) {
      assert.equal(r.output, "start -42 str ff 7 A|    7|ab   |%\nend 1\n");
      assert.equal(r.exitOutput, "end 1\n");
    },
  },
  {
    name: "exit_in_begin",
    features: ["exit()", "interval not firing after exit"],
    source: `BEGIN { printf("a\\n"); exit(); }
interval:s:10 { printf("never\\n"); }`,
    kernelMs: 2000,
    interpMs: 20_000,
    expect(r) {
      assert.equal(r.reason, "exit");
      assert.equal(r.output, "a\n");
    },
  },
  {
    name: "tracepoint_count_pid_comm",
    features: ["tracepoint", "count()", "pid", "comm", "2 keys", "-p"],
    source:
      "tracepoint:syscalls:sys_enter_getppid { @[comm, pid] = count(); @n = count(); }",
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assertShape(r, "@", {
        kind: "count",
        keyed: true,
        keys: ["string,int"],
        values: ["int"],
      });
      assert.deepEqual(entries(r, "@"), [[
        `${r.target.comm}|${r.target.pid}`,
        N,
      ]]);
      assert.equal(only(r, "@n"), N);
    },
  },
  {
    name: "tracepoint_wildcard_probe",
    features: ["tracepoint wildcard", "probe builtin", "string key"],
    source: "tracepoint:syscalls:sys_enter_getp* { @[probe] = count(); }",
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assertShape(r, "@", {
        kind: "count",
        keyed: true,
        keys: ["string"],
        values: ["int"],
      });
      for (const [k] of entries(r, "@")) {
        assert.match(k, /^tracepoint:syscalls:sys_enter_getp\w+$/);
      }
      const m = new Map(entries(r, "@"));
      assert.equal(m.get("tracepoint:syscalls:sys_enter_getppid"), N);
    },
  },
  {
    name: "tracepoint_args_str",
    features: ["args->field", "str()", "str(s, n)", "string keys"],
    source: `tracepoint:syscalls:sys_enter_openat {
  @path[str(args->filename)] = count();
  @short[str(args->filename, 4)] = count();
}`,
    workload: ["open", String(N)],
    pidFilter: true,
    expect(r) {
      for (const name of ["@path", "@short"]) {
        assertShape(r, name, {
          kind: "count",
          keyed: true,
          keys: ["string"],
          values: ["int"],
        });
        assert.equal(total(r, name), N);
      }
      for (const [k] of entries(r, "@path")) assert.match(k, /^\//);
      for (const [k] of entries(r, "@short")) assert.ok(k.length <= 3, k);
    },
  },
  {
    name: "tracepoint_exit_ret_predicate",
    features: ["sys_exit tracepoint", "args->ret", "predicate", "bool key"],
    source:
      "tracepoint:syscalls:sys_exit_openat /args->ret < 0/ { @err[args->ret < 0] = count(); } tracepoint:syscalls:sys_exit_openat { @all = count(); }",
    workload: ["open", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(only(r, "@all"), N);
      const err = mapOf(r, "@err");
      for (const [k] of entries(r, "@err")) assert.equal(k, "1");
      assert.ok(total(r, "@err") <= N);
      if (r.engine === "kernel") assert.equal(total(r, "@err"), N);
      assert.equal(err.kind, "count");
    },
  },
  {
    name: "positional_pid_predicate",
    features: ["positional params $1", "predicate", "pid"],
    source:
      "tracepoint:syscalls:sys_enter_getppid /pid == $1/ { @[tid] = count(); }",
    params: (t) => [String(t.pid)],
    workload: ["getppid", String(N)],
    expect(r) {
      assert.deepEqual(entries(r, "@"), [[String(r.target.pid), N]]);
    },
  },
  {
    name: "positional_params_begin",
    features: ["$1 $2 $#", "str($2)", "arithmetic on $1"],
    source: 'BEGIN { printf("%d %s %d\\n", $1 + 1, str($2), $#); exit(); }',
    params: ["41", "hello"],
    expect(r) {
      assert.equal(r.output, "42 hello 2\n");
    },
  },
  {
    name: "rawtracepoint_args",
    features: ["rawtracepoint", "arg1", "int key"],
    source: "rawtracepoint:sys_enter { @id[arg1] = count(); @n = count(); }",
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assertShape(r, "@id", {
        kind: "count",
        keyed: true,
        keys: ["int"],
        values: ["int"],
      });
      assert.ok(num(only(r, "@n")) >= N);
      if (r.engine === "kernel") {
        // x86_64 getppid is syscall 110.
        assert.equal(new Map(entries(r, "@id")).get("110"), N);
      }
    },
  },
  {
    name: "uprobe_args",
    features: ["uprobe", "arg0 arg1", "sum()", "modulo key"],
    source: (t) =>
      `uprobe:${t.bin}:parity_target { @[arg0 % 3] = count(); @s = sum(arg1); @n = count(); }`,
    workload: ["calls", String(N)],
    pidFilter: true,
    expect(r) {
      assertShape(r, "@", {
        kind: "count",
        keyed: true,
        keys: ["int"],
        values: ["int"],
      });
      assert.equal(only(r, "@n"), N);
      assert.equal(total(r, "@"), N);
      for (const [k] of entries(r, "@")) assert.ok(["0", "1", "2"].includes(k));
      assert.equal(mapOf(r, "@s").kind, "sum");
      if (r.engine === "kernel") {
        assert.equal(only(r, "@s"), (N * (N - 1) / 2) * 2);
        assert.deepEqual(entries(r, "@"), [["2", 6], ["0", 7], ["1", 7]]);
      }
    },
  },
  {
    name: "uretprobe_retval",
    features: ["uretprobe", "retval", "func"],
    source: (t) =>
      `uretprobe:${t.bin}:parity_target { @[retval] = count(); @f[func] = count(); }`,
    workload: ["calls", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(total(r, "@"), N);
      assertShape(r, "@f", {
        kind: "count",
        keyed: true,
        keys: ["string"],
        values: ["int"],
      });
      assert.deepEqual(entries(r, "@f"), [["parity_target", N]]);
      if (r.engine === "kernel") {
        assert.deepEqual(entries(r, "@"), [["2", 6], ["0", 7], ["1", 7]]);
      }
    },
  },
  {
    name: "uprobe_uretprobe_latency",
    features: [
      "uprobe+uretprobe pairing",
      "nsecs",
      "map read",
      "delete()",
      "hist()",
    ],
    source: (t) =>
      `uprobe:${t.bin}:parity_target { @start[tid] = nsecs; }
uretprobe:${t.bin}:parity_target /@start[tid]/ { @lat = hist(nsecs - @start[tid]); delete(@start[tid]); }`,
    workload: ["calls", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(mapOf(r, "@start").entries.length, 0);
      assertShape(r, "@lat", {
        kind: "hist",
        keyed: false,
        keys: [""],
        values: ["buckets"],
      });
      assert.equal(total(r, "@lat"), N);
    },
  },
  {
    name: "profile_cpu_stacks",
    features: ["profile", "cpu", "kstack", "ustack", "stack keys"],
    source:
      "profile:hz:199 { @cpu[cpu] = count(); @k[kstack] = count(); @u[ustack] = count(); }",
    workload: ["spin", "300"],
    pidFilter: true,
    interpMs: 300,
    expect(r) {
      assertShape(r, "@cpu", {
        kind: "count",
        keyed: true,
        keys: ["int"],
        values: ["int"],
      });
      const n = total(r, "@cpu");
      assert.ok(n >= 10, `${r.engine}: ${n} samples`);
      assert.equal(total(r, "@u"), n);
      assert.equal(total(r, "@k"), n);
      for (const e of mapOf(r, "@u").entries) {
        assertStack(r.engine, e.key[0], false);
      }
      if (r.engine === "kernel") {
        assert.ok(
          mapOf(r, "@u").entries.some((e) =>
            JSON.stringify(e.key).includes("parity_spin")
          ),
          "kernel: no parity_spin frame in ustack",
        );
      }
    },
  },
  {
    name: "interval_exit_after_3",
    features: ["interval", "map ++", "map read", "if", "exit()"],
    source:
      `interval:ms:10 { @n++; printf("tick %d\\n", @n); if (@n == 3) { exit(); } }`,
    kernelMs: 3000,
    interpMs: 3000,
    expect(r) {
      assert.equal(r.reason, "exit");
      assert.equal(
        r.output.split("\n").slice(0, 3).join("\n"),
        "tick 1\ntick 2\ntick 3",
      );
      assert.equal(only(r, "@n"), 3);
    },
  },
  {
    name: "software_cpu_clock",
    features: ["software", "comm key", "-p"],
    source: "software:cpu-clock:1000000 { @[comm] = count(); }",
    workload: ["spin", "100"],
    pidFilter: true,
    interpMs: 100,
    expect(r) {
      const e = entries(r, "@");
      assert.equal(e.length, 1);
      assert.equal(e[0][0], r.target.comm);
      assert.ok(num(e[0][1]) > 5, `${r.engine}: ${e[0][1]} samples`);
    },
  },
  {
    name: "scratch_vars_arith",
    features: ["$vars", "+ - * / % << | ^ unary -", "printf %d"],
    source:
      `BEGIN { $a = 7; $b = $a * 6 - 2; $c = $b / 4; $d = $b % 4; $e = ($a << 3) | 1; $f = $a ^ 5; $g = -$a; $h = ~0 & 0xff;
printf("%d %d %d %d %d %d %d %d\\n", $a, $b, $c, $d, $e, $f, $g, $h); exit(); }`,
    expect(r) {
      assert.equal(r.output, "7 40 10 0 57 2 -7 255\n");
    },
  },
  {
    name: "casts_int_types",
    features: ["casts", "uint8 int8 uint16 int32 uint32", "sizeof"],
    source:
      `BEGIN { $x = (uint8)300; $y = (int8)200; $z = (uint16)70000; $w = (int32)-1; $u = (uint32)-1;
printf("%d %d %d %d %u\\n", $x, $y, $z, $w, $u);
printf("%d %d %d %d\\n", sizeof(uint8), sizeof(int16), sizeof(uint32), sizeof(int64));
@v = (uint16)65537; exit(); }`,
    expect(r) {
      assert.equal(r.output, "44 -56 4464 -1 4294967295\n1 2 4 8\n");
      assert.equal(only(r, "@v"), 1);
    },
  },
  {
    name: "string_compare",
    features: ["string ==, !=", "strncmp", "string map value"],
    source: `BEGIN { $s = "abc"; @x[1] = "abc"; @x[2] = "abd";
if ($s == "abc") { printf("eq\\n"); }
if ($s != "abd") { printf("ne\\n"); }
if (@x[1] == $s) { printf("map eq\\n"); }
printf("%d %d\\n", strncmp("hello", "help", 3), strncmp("hello", "help", 4) != 0); exit(); }`,
    expect(r) {
      assert.equal(r.output, "eq\nne\nmap eq\n0 1\n");
      assertShape(r, "@x", {
        kind: "value",
        keyed: true,
        keys: ["int"],
        values: ["string"],
      });
    },
  },
  {
    name: "tuples",
    features: ["tuples", "tuple index", "nested tuple", "tuple map value"],
    source: `BEGIN { $t = (1, "two", (3, 4)); @t = $t; @k[(5, "x")] = 1;
printf("%d %s %d\\n", $t.0, $t.1, $t.2.1); exit(); }`,
    expect(r) {
      assert.equal(r.output, "1 two 4\n");
      assert.deepEqual(only(r, "@t"), [1, "two", [3, 4]]);
      assertShape(r, "@k", {
        kind: "value",
        keyed: true,
        keys: ["tuple(int,string)"],
        values: ["int"],
      });
    },
  },
  {
    name: "ternary_logical",
    features: ["ternary", "&& || ! short-circuit", "comparisons"],
    source: `BEGIN { $z = 0;
printf("%d %d %d %d %d\\n", 1 && 0, 0 || 2, !0, 5 > 3 ? 10 : 20, $z != 0 && 10 / $z > 1);
$m = $z == 0 ? "zero" : "other"; printf("%s\\n", $m);
if ($z == 0 || @never[1] > 0) { printf("short\\n"); }
exit(); }`,
    expect(r) {
      assert.equal(r.output, "0 1 1 10 0\nzero\nshort\n");
    },
  },
  {
    name: "incdec_compound",
    features: ["++ --", "pre/post", "+= -= *= <<=", "map and var"],
    source: `BEGIN { @m++; @m++; @m--; ++@m; @m += 5; @m -= 2; @m *= 3;
$a = 1; $b = $a++; $c = ++$a; $a += 4; $a <<= 2; @k["v"] = $a; @pre = $b * 10 + $c; exit(); }`,
    expect(r) {
      assert.equal(only(r, "@m"), 15);
      assert.deepEqual(entries(r, "@k"), [["v", 28]]);
      assert.equal(only(r, "@pre"), 13);
    },
  },
  {
    name: "if_else_while",
    features: ["if/else if/else", "while", "break", "continue"],
    source: `BEGIN { $i = 0; while ($i < 100) { $i++; if ($i > 10) { break; }
if ($i % 3 == 0) { @a++; } else if ($i % 3 == 1) { @b++; continue; } else { @c++; } @d++; }
printf("%d\\n", $i); exit(); }`,
    expect(r) {
      assert.equal(r.output, "11\n");
      assert.equal(only(r, "@a"), 3);
      assert.equal(only(r, "@b"), 4);
      assert.equal(only(r, "@c"), 3);
      assert.equal(only(r, "@d"), 6);
    },
  },
  {
    name: "unroll",
    features: ["unroll"],
    source:
      'BEGIN { $i = 0; $s = 0; unroll(5) { $i += 2; $s += $i; } printf("%d %d\\n", $i, $s); exit(); }',
    expect(r) {
      assert.equal(r.output, "10 30\n");
    },
  },
  {
    name: "map_key_arities",
    features: ["maps with 0..3 keys", "string key", "tuple key", "mixed"],
    source:
      `BEGIN { @z = 1; @one[1] = 2; @two[1, "a"] = 3; @three[1, "b", 2] = 4; @s["key"] = 5; @t[(1, "x")] = 6; exit(); }`,
    expect(r) {
      const want: [string, boolean, string, number][] = [
        ["@z", false, "", 1],
        ["@one", true, "int", 2],
        ["@two", true, "int,string", 3],
        ["@three", true, "int,string,int", 4],
        ["@s", true, "string", 5],
        ["@t", true, "tuple(int,string)", 6],
      ];
      for (const [name, keyed, keys, v] of want) {
        assertShape(r, name, {
          kind: "value",
          keyed,
          keys: [keys],
          values: ["int"],
        });
        assert.equal(mapOf(r, name).entries[0].value, v);
      }
    },
  },
  {
    name: "aggregations_all",
    features: ["count sum avg min max stats hist lhist", "exit map printing"],
    source:
      `BEGIN { $i = 1; while ($i <= 10) { @c = count(); @s = sum($i); @a = avg($i); @mn = min($i); @mx = max($i); @st = stats($i); @h = hist($i); @l = lhist($i, 0, 10, 2); $i++; } exit(); }`,
    expect(r) {
      assert.equal(only(r, "@c"), 10);
      assert.equal(only(r, "@s"), 55);
      assert.deepEqual(stats(only(r, "@a")), [10, 55, 5]);
      assert.equal(only(r, "@mn"), 1);
      assert.equal(only(r, "@mx"), 10);
      assert.deepEqual(stats(only(r, "@st")), [10, 55, 5]);
      assert.deepEqual(bucketCounts(only(r, "@h")), [[1, 1], [2, 2], [4, 4], [
        8,
        3,
      ]]);
      assert.ok(r.exitOutput.includes(HIST_1_TO_10), r.exitOutput);
      assert.ok(r.exitOutput.includes(LHIST_1_TO_10), r.exitOutput);
      assert.ok(r.exitOutput.includes("@st: count 10, average 5, total 55\n"));
      assert.ok(r.exitOutput.includes("@a: 5\n"));
    },
  },
  {
    name: "aggregations_signed_keyed",
    features: [
      "negative values",
      "keyed min/max/avg/hist",
      "hist negative bucket",
    ],
    source:
      `BEGIN { $i = -3; while ($i <= 3) { @mn["k"] = min($i); @mx["k"] = max($i); @a["k"] = avg($i * 2); @s["k"] = sum($i - 1); @h["k"] = hist($i); $i++; } exit(); }`,
    expect(r) {
      assert.deepEqual(entries(r, "@mn"), [["k", -3]]);
      assert.deepEqual(entries(r, "@mx"), [["k", 3]]);
      assert.deepEqual(stats(mapOf(r, "@a").entries[0].value), [7, 0, 0]);
      assert.deepEqual(entries(r, "@s"), [["k", -7]]);
      const h = bucketCounts(mapOf(r, "@h").entries[0].value);
      assert.deepEqual(h[0], [undefined, 3]);
      assert.equal(h.reduce((n, [, c]) => n + c, 0), 7);
    },
  },
  {
    name: "tracepoint_hist_lhist",
    features: ["hist() on args", "lhist() on args", "keyed hist"],
    source:
      "tracepoint:syscalls:sys_enter_read { @h = hist(args->count); @l[comm] = lhist(args->count, 0, 256, 32); }",
    workload: ["read", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(total(r, "@h"), N);
      assert.equal(total(r, "@l"), N);
      assertShape(r, "@l", {
        kind: "lhist",
        keyed: true,
        keys: ["string"],
        values: ["buckets"],
      });
      assert.match(
        r.exitOutput,
        /^@h: \n(\[\d+(, \d+\))?|\[\d+[KMG]?, \d+[KMG]?\))\s+\d+ \|@*\s*\|$/m,
      );
      if (r.engine === "kernel") {
        // read sizes 1 << (i % 8): 1,2,4,...,128, 20 of them.
        assert.deepEqual(bucketCounts(only(r, "@h")), [
          [1, 3],
          [2, 3],
          [4, 3],
          [8, 3],
          [16, 2],
          [32, 2],
          [64, 2],
          [128, 2],
        ]);
      }
    },
  },
  {
    name: "print_map_top_div",
    features: ["print(@m, top, div)", "print(value)", "print(tuple)"],
    source:
      `BEGIN { @m[1] = 10; @m[2] = 20; @m[3] = 30; print(@m, 2, 10); print(42); print("str"); print((1, "a")); exit(); }`,
    expect(r) {
      assert.equal(
        r.output.slice(0, r.output.length - r.exitOutput.length),
        "@m[2]: 2\n@m[3]: 3\n\n42\nstr\n(1, a)\n",
      );
      assert.equal(r.exitOutput, "\n@m[1]: 10\n@m[2]: 20\n@m[3]: 30\n\n");
    },
  },
  {
    name: "clear_zero_delete",
    features: ["clear()", "zero()", "delete()"],
    source:
      `BEGIN { @a[1] = 1; @a[2] = 2; delete(@a[1]); @b[1] = count(); @b[2] = count(); clear(@b); @c[1] = sum(5); zero(@c); @d = 1; delete(@d); exit(); }`,
    expect(r) {
      assert.deepEqual(entries(r, "@a"), [["2", 2]]);
      assert.equal(mapOf(r, "@b").entries.length, 0);
      // zero() keeps the key with a 0 value in bpftrace; tsbpf's session
      // empties the map (same on both engines).
      assert.ok(mapOf(r, "@c").entries.every((e) => e.value === 0));
      assert.equal(mapOf(r, "@d").entries.length, 0);
    },
  },
  {
    name: "join_execve",
    features: ["join()", "join(sep)", "args->argv"],
    source:
      'tracepoint:syscalls:sys_enter_execve { join(args->argv); join(args->argv, ","); }',
    workload: ["exec", "0"],
    pidFilter: true,
    expect(r) {
      const lines = linesOf(r);
      assert.ok(lines.length >= 2 && lines.length % 2 === 0, r.output);
      for (let i = 0; i < lines.length; i += 2) {
        assert.equal(lines[i].replaceAll(" ", ","), lines[i + 1]);
      }
      if (r.engine === "kernel") {
        assert.deepEqual(lines, ["true alpha beta", "true,alpha,beta"]);
      }
    },
  },
  {
    name: "ksym_usym",
    features: ["ksym()", "usym()", "reg()", "func in uprobe"],
    source: (t) =>
      `uprobe:${t.bin}:parity_target { @u[usym(reg("ip"))] = count(); @f[func] = count(); }
profile:hz:99 /pid == $1/ { @k[ksym(0xffffffffffffffff)] = count(); }`,
    params: (t) => [String(t.pid)],
    workload: ["calls", String(N)],
    pidFilter: true,
    expect(r) {
      assert.deepEqual(entries(r, "@u"), [["parity_target", N]]);
      assert.deepEqual(entries(r, "@f"), [["parity_target", N]]);
    },
  },
  {
    name: "ntop",
    features: ["ntop(int)", "ntop(af, int)"],
    source:
      'BEGIN { printf("%s %s\\n", ntop(0x0100007f), ntop(2, 0x0100007f)); @n = ntop(0x0101a8c0); exit(); }',
    expect(r) {
      assert.equal(r.output.split("\n")[0], "127.0.0.1 127.0.0.1");
      assert.equal(only(r, "@n"), "192.168.1.1");
    },
  },
  {
    name: "strftime_time",
    features: ["strftime()", "time()", "nsecs"],
    source:
      'BEGIN { printf("%s\\n", strftime("%Y-%m-%d", nsecs)); time("%H:%M:%S\\n"); exit(); }',
    expect(r) {
      const lines = linesOf(r);
      assert.match(lines[0], /^\d{4}-\d\d-\d\d$/);
      assert.match(lines[1], /^\d\d:\d\d:\d\d$/);
      const year = new Date().getUTCFullYear();
      assert.ok(Math.abs(Number(lines[0].slice(0, 4)) - year) <= 1, lines[0]);
    },
  },
  {
    name: "builtins_begin",
    features: [
      "elapsed nsecs cpu rand cgroup uid gid pid tid comm",
      "value types",
    ],
    source:
      "BEGIN { @e = elapsed; @n = nsecs; @c = cpu; @r = rand; @cg = cgroup; @u = uid; @g = gid; @p = pid; @t = tid; @cm = comm; exit(); }",
    expect(r) {
      for (
        const name of ["@e", "@n", "@c", "@r", "@cg", "@u", "@g", "@p", "@t"]
      ) {
        assert.equal(typeof only(r, name) === "string", false, name);
        assert.ok(num(only(r, name)) >= 0, name);
      }
      assert.equal(only(r, "@p"), only(r, "@t"));
      assert.ok(num(only(r, "@n")) > 0);
      assert.equal(typeof only(r, "@cm"), "string");
    },
  },
  {
    name: "builtins_tracepoint",
    features: [
      "pid tid comm uid gid cgroup cpu elapsed in a probe",
      "multi-key",
    ],
    source:
      "tracepoint:syscalls:sys_enter_getppid { @[pid, tid, comm] = count(); @ids[uid, gid] = count(); @cg[cgroup] = count(); @cpu = max(cpu); @el = min(elapsed); }",
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.deepEqual(entries(r, "@"), [[
        `${r.target.pid}|${r.target.pid}|${r.target.comm}`,
        N,
      ]]);
      assertShape(r, "@ids", {
        kind: "count",
        keyed: true,
        keys: ["int,int"],
        values: ["int"],
      });
      assert.equal(total(r, "@cg"), N);
      assert.ok(num(only(r, "@cpu")) < 1024);
      assert.ok(num(only(r, "@el")) > 0);
    },
  },
  {
    name: "printf_conversions_probe",
    features: ["printf in a probe", "%s comm", "%d pid", "%-8s", "%lu", "%llx"],
    source:
      'tracepoint:syscalls:sys_enter_getppid { printf("%-8s|%d|%lu|%llx|%s\\n", "x", pid, 10, 255, comm); }',
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      const lines = linesOf(r);
      assert.equal(lines.length, N);
      for (const l of lines) {
        assert.equal(l, `x       |${r.target.pid}|10|ff|${r.target.comm}`);
      }
    },
  },
  {
    name: "kstack_tracepoint",
    features: ["kstack in a tracepoint", "kstack(n)", "stack map value"],
    source:
      "tracepoint:syscalls:sys_enter_getppid { @k[kstack(3)] = count(); @last = kstack; }",
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(total(r, "@k"), N);
      for (const e of mapOf(r, "@k").entries) {
        assertStack(r.engine, e.key[0], true);
        assert.ok((e.key[0] as { frames: string[] }).frames.length <= 3);
      }
      assertStack(r.engine, only(r, "@last"), true);
    },
  },
  {
    name: "map_read_modify",
    features: [
      "map read in expression",
      "per-key accumulation",
      "@x[k] = @x[k] + v",
    ],
    source:
      "tracepoint:syscalls:sys_enter_getppid { @x[pid] = @x[pid] + 2; @y = @y + 1; }",
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.deepEqual(entries(r, "@x"), [[String(r.target.pid), 2 * N]]);
      assert.equal(only(r, "@y"), N);
    },
  },
];
