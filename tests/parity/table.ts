/**
 * The backend parity table: one row per program, each run on both engines
 * by the same test code, each row's `expect` holding on both.
 *
 * Kernel rows trace a deterministic workload child (tests/support/
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
import type { RunResult } from "./run.ts";
import { N, type Row } from "./row.ts";
import { CLI26_ROWS } from "./rows_cli26.ts";
import { CONFIG_ROWS } from "./rows_config.ts";
import { TYPES_ROWS } from "./rows_types.ts";
import { STATEMENT_ROWS } from "./rows_statements.ts";
import { FUNCTION_ROWS } from "./rows_functions.ts";
import { BTF_ROWS } from "./rows_btf.ts";
import { FUNCS_ROWS } from "./rows_funcs.ts";
import { LANG26_ROWS } from "./rows_lang26.ts";
import { CODEGEN_ROWS } from "./rows_codegen.ts";
import { TUPLEKEYS_ROWS } from "./rows_tuplekeys.ts";
import { ARGS_ROWS } from "./rows_args.ts";
import { AUTODEREF_ROWS } from "./rows_autoderef.ts";
import { SYNTAX26_ROWS } from "./rows_syntax26.ts";
import { FENTRY_ROWS } from "./rows_fentry.ts";
import { AGGREAD_ROWS } from "./rows_aggread.ts";
import { ENUM_ROWS } from "./rows_enums.ts";
import { BUILTINS26_ROWS } from "./rows_builtins26.ts";
import { STACK_ROWS } from "./rows_stack.ts";
import { PERCPU_ROWS } from "./rows_percpu.ts";

export { N, type Row };

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

const PRINT_HIST = `@h: 
[4, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[8, 16)                0 |                                                    |
[16, 32)               0 |                                                    |
[32, 64)               0 |                                                    |
[64, 128)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

@l: 
[0, 5)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

`;

function byKey(r: RunResult, name: string): [string, unknown][] {
  return entries(r, name).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
}

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
const CORE_ROWS: Row[] = [
  {
    name: "begin_end_printf",
    features: ["BEGIN", "END", "printf %d %s %x %u %c %5d %-5s %%"],
    source:
      `BEGIN { printf("start %d %s %x %u %c|%5d|%-5s|%%\\n", -42, "str", 255, 7, 65, 7, "ab"); }
END { printf("end %d\\n", 1); }`,
    expect(r) {
      // bpftrace 0.17 prints "%%" as is.
      assert.equal(r.output, "start -42 str ff 7 A|    7|ab   |%%\n");
      assert.match(r.exitOutput, /^end 1\n/);
    },
  },
  {
    name: "begin_end_lowercase_several",
    features: ["begin/end (0.26)", "several BEGIN and END, in order"],
    source: `begin { printf("b1\\n"); } BEGIN { printf("b2 %s\\n", probe); }
begin { printf("b3\\n"); exit(); }
end { printf("e1\\n"); } END { printf("e2\\n"); }`,
    expect(r) {
      assert.equal(r.output, "b1\nb2 BEGIN\nb3\n");
      assert.match(r.exitOutput, /^e1\ne2\n/);
    },
  },
  {
    name: "begin_end_one_probe",
    features: ["BEGIN,END in one probe", "probe per attach point"],
    source: `BEGIN,END { printf("x %s\\n", probe); exit(); }`,
    expect(r) {
      assert.equal(r.output, "x BEGIN\n");
      assert.match(r.exitOutput, /^x END\n/);
    },
  },
  {
    name: "elvis_and_durations",
    features: ["a ?: b", "duration literals"],
    source: `begin { $x = 1; @z = 0; $a = $x ?: 10; $b = 0 ?: 20; $c = @z ?: 30;
print(($a, $b, $c));
print((10ns, 5us, 100ms, 1s, 1m, 2h, 1d));
$t = nsecs; if (nsecs - $t < 1s) { printf("fast\\n"); }
exit(); }`,
    expect(r) {
      assert.equal(
        r.output,
        "(1, 20, 30)\n" +
          "(10, 5000, 100000000, 1000000000, 60000000000, 7200000000000, 86400000000000)\n" +
          "fast\n",
      );
    },
  },
  {
    name: "config_max_map_keys",
    features: ["config block", "max_map_keys"],
    source: `config = { max_map_keys = 2; BPFTRACE_STACK_MODE = bpftrace }
begin { @[1] = 1; @[2] = 2; @[3] = 3; exit(); }`,
    expect(r) {
      assert.deepEqual(byKey(r, "@").map(([k]) => k), ["1", "2"]);
    },
  },
  {
    name: "macros",
    features: [
      "macro $var/@map/expression parameters",
      "macro value",
      "hygiene",
      "nested macros",
    ],
    source: `macro inc($x) { $x += 1; $x }
macro set(@m, k, v) { @m[k] = v; }
macro add1(x) { x + 1 }
macro add2(y) { y + add1(y) }
macro fresh(x) { $y = x + 1; $y }
macro one() { 1 }
macro twice(x) { x; x; }
begin {
  $a = 1; $b = inc($a); inc($a);
  set(@s, "k", add2($a * 2));
  $y = 2; $z = fresh(5);
  twice(printf("hi "));
  print(($a, $b, $y, $z, one, one()));
  exit();
}`,
    expect(r) {
      assert.equal(r.output, "hi hi (3, 2, 2, 6, 1, 1)\n");
      assert.deepEqual(byKey(r, "@s"), [["k", 13]]);
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
      // bpftrace 0.17: str(s, 4) keeps 4 characters.
      for (const [k] of entries(r, "@short")) assert.ok(k.length <= 4, k);
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
      for (const [k] of entries(r, "@err")) assert.equal(k, "true");
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
    targetOnly: true,
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
        assert.deepEqual(byKey(r, "@"), [["0", 7], ["1", 7], ["2", 6]]);
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
      // bpftrace 0.17 resolves func at a uretprobe from the return
      // address: the caller.
      assert.deepEqual(entries(r, "@f"), [["main", N]]);
      if (r.engine === "kernel") {
        assert.deepEqual(byKey(r, "@"), [["0", 7], ["1", 7], ["2", 6]]);
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
      // Every call returned (kernel), or is still in flight at the end of
      // the virtual time (interpreter: at most the last one).
      const open = mapOf(r, "@start").entries.length;
      assertShape(r, "@lat", {
        kind: "hist",
        keyed: false,
        keys: [""],
        values: ["buckets"],
      });
      assert.equal(total(r, "@lat") + open, N);
      assert.ok(open <= 1, `${r.engine}: ${open} calls in flight`);
      if (r.engine === "kernel") assert.equal(open, 0);
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
      assert.ok(n >= 5, `${r.engine}: ${n} samples`);
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
      // exit() is asynchronous (as in bpftrace): the kernel may tick again
      // before the session sees it.
      assert.ok(num(only(r, "@n")) >= 3);
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
        // A tuple key is a multi-key (bpftrace 0.17 rejects it).
        keys: ["int,string"],
        values: ["int"],
      });
    },
  },
  {
    name: "ternary_logical",
    features: ["ternary", "&& || !", "short-circuit skips side effects"],
    source: `BEGIN { $z = 0; $o = 1;
printf("%d %d %d %d %d\\n", 1 && 0, 0 || 2, !0, 5 > 3 ? 10 : 20, $z != 0 && 10 / $z > 1);
$m = $z == 0 ? "zero" : "other"; printf("%s\\n", $m);
if ($z && @y++ > 0) { printf("never\\n"); }
if ($o || @w++ > 0) { printf("short\\n"); }
$t = $o ? 1 : @v++;
@r = @y + @w + @v; exit(); }`,
    expect(r) {
      assert.equal(r.output, "0 1 1 10 0\nzero\nshort\n");
      assert.equal(only(r, "@r"), 0);
      for (const name of ["@y", "@w", "@v"]) {
        assert.equal(mapOf(r, name).entries.length, 0, name);
      }
    },
  },
  {
    name: "constant_short_circuit",
    features: ["constant left operand of || and &&"],
    source:
      'BEGIN { if (1 || @w++ > 0) { printf("a\\n"); } if (0 && @w++ > 0) { printf("b\\n"); } exit(); }',
    expect(r) {
      // bpftrace 0.17 prints "a" and creates no @w.
      assert.equal(r.output, "a\n");
      assert.equal(mapOf(r, "@w").entries.length, 0);
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
        // A tuple key is a multi-key (bpftrace 0.17 rejects it).
        ["@t", true, "int,string", 6],
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
        /^@h: \n(\[\d+\]|\[\d+[KMG]?, \d+[KMG]?\))\s+\d+ \|@*\s*\|$/m,
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
      // bpftrace 0.17 prints exactly this.
      assert.equal(r.output, "@m[2]: 2\n@m[3]: 3\n42\nstr\n(1, a)\n");
      assert.equal(r.exitOutput, "\n\n@m[1]: 10\n@m[2]: 20\n@m[3]: 30\n");
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
      // zero() keeps the key with a 0 value (bpftrace 0.17).
      assert.deepEqual(entries(r, "@c"), [["1", 0]]);
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
    features: ["ksym()", "kaddr()", "usym()", "reg()", "func in uprobe"],
    source: (t) =>
      `BEGIN { @k = ksym(kaddr("vfs_read")); printf("%s\\n", ksym(kaddr("vfs_read"))); }
uprobe:${t.bin}:parity_target { @u[usym(reg("ip"))] = count(); @f[func] = count(); }`,
    workload: ["calls", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(linesOf(r)[0], "vfs_read");
      assert.equal(only(r, "@k"), "vfs_read");
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
    name: "time_builtin",
    features: ["time()"],
    source: 'BEGIN { time("%H:%M:%S\\n"); time("%Y\\n"); exit(); }',
    expect(r) {
      const lines = linesOf(r);
      assert.match(lines[0], /^\d\d:\d\d:\d\d$/);
      assert.ok(Math.abs(Number(lines[1]) - new Date().getFullYear()) <= 1);
    },
  },
  {
    name: "strftime",
    features: ["strftime()", "nsecs", "timestamp map value"],
    source:
      'BEGIN { printf("%s\\n", strftime("%Y-%m-%d", nsecs)); @t = strftime("%Y", nsecs); exit(); }',
    expect(r) {
      const line = linesOf(r)[0];
      assert.match(line, /^\d{4}-\d\d-\d\d$/);
      const year = new Date().getFullYear();
      assert.ok(Math.abs(Number(line.slice(0, 4)) - year) <= 1, line);
      assert.match(r.exitOutput, /^\n\n@t: \d{4}\n$/);
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
  {
    name: "print_hist_midrun",
    features: ["print(@hist)", "print(@lhist)", "hist rendering", "clear()"],
    source:
      "BEGIN { @h = hist(5); @h = hist(100); print(@h); @l = lhist(3, 0, 10, 5); print(@l); clear(@h); clear(@l); exit(); }",
    expect(r) {
      // bpftrace 0.17 prints exactly this.
      assert.equal(r.output, PRINT_HIST);
      assert.equal(mapOf(r, "@h").entries.length, 0);
    },
  },
  {
    name: "interval_elapsed",
    features: ["interval", "elapsed", "nsecs difference", "max()"],
    source:
      "BEGIN { @t0 = nsecs; } interval:ms:50 { @e = max(elapsed); @d = nsecs - @t0; @ticks++; if (@ticks == 2) { exit(); } }",
    kernelMs: 3000,
    interpMs: 3000,
    expect(r) {
      assert.equal(r.reason, "exit");
      assert.ok(num(only(r, "@ticks")) >= 2);
      const e = num(only(r, "@e"));
      const d = num(only(r, "@d"));
      // Two 50 ms ticks; the kernel engine attaches before BEGIN runs (see
      // begin_before_probes), so its first tick may come a little early.
      assert.ok(e >= 50e6 && e < 2e9, `${r.engine}: elapsed ${e}`);
      assert.ok(Math.abs(d - e) < 50e6, `${r.engine}: nsecs-diff ${d} vs ${e}`);
    },
  },
  {
    name: "end_reads_maps",
    features: ["END reads maps", "printf of map values", "two probes"],
    source:
      'tracepoint:syscalls:sys_enter_getppid { @n++; @s = sum(2); } END { printf("n=%d\\n", @n); }',
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.match(r.exitOutput, new RegExp(`^n=${N}\\n`));
      assert.equal(only(r, "@s"), 2 * N);
    },
  },
  {
    name: "sizeof_expr",
    features: ["sizeof(type)", "sizeof(expr)", "sizeof(string)"],
    source:
      'BEGIN { $x = (uint16)1; $y = 7; printf("%d %d %d %d\\n", sizeof($x), sizeof($y), sizeof(comm), sizeof(uint8)); exit(); }',
    expect(r) {
      assert.equal(r.output, "2 8 16 1\n");
    },
  },
  {
    name: "comm_string_param",
    features: ["comm == str($1)", "string positional", "&& in predicate"],
    source:
      "tracepoint:syscalls:sys_enter_getppid /comm == str($1) && pid > 0/ { @[comm] = count(); } tracepoint:syscalls:sys_enter_getppid /comm != str($1)/ { @other = count(); }",
    params: (t) => [t.comm],
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.deepEqual(entries(r, "@"), [[r.target.comm, N]]);
      assert.equal(mapOf(r, "@other").entries.length, 0);
    },
  },
  {
    name: "uprobe_str_arg",
    features: ["uprobe", "str(arg0)", "user memory read", "arg1"],
    source: (t) =>
      `uprobe:${t.bin}:parity_name { @[str(arg0)] = count(); @j[arg1 & 3] = count(); }`,
    workload: ["names", String(N)],
    pidFilter: true,
    expect(r) {
      assertShape(r, "@", {
        kind: "count",
        keyed: true,
        keys: ["string"],
        values: ["int"],
      });
      assert.equal(total(r, "@"), N);
      assert.equal(total(r, "@j"), N);
      if (r.engine === "kernel") {
        assert.deepEqual(byKey(r, "@"), [
          ["name-0", 5],
          ["name-1", 5],
          ["name-2", 5],
          ["name-3", 5],
        ]);
      }
    },
  },
  {
    name: "usdt_args_semaphore",
    features: [
      "usdt",
      "arg0 arg1 from a register note",
      "semaphore",
      "signed usdt arg",
    ],
    source: (t) =>
      `usdt:${t.bin}:tsbparity:tick { @[arg0 % 3] = count(); @s = sum(arg0); @n = count(); @neg = min(-arg0); @two = sum(arg1); }`,
    workload: ["usdt", String(N)],
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
      assert.equal(mapOf(r, "@s").kind, "sum");
      assert.equal(mapOf(r, "@neg").kind, "min");
      if (r.engine === "kernel") {
        // The probe fires only while the semaphore is up: N exact events,
        // I = 0 .. N-1 in arg0 (a signed 4-byte register), 2 * I in arg1.
        assert.equal(only(r, "@s"), N * (N - 1) / 2);
        assert.equal(only(r, "@two"), N * (N - 1));
        assert.equal(only(r, "@neg"), -(N - 1));
        assert.deepEqual(byKey(r, "@"), [["0", 7], ["1", 7], ["2", 6]]);
      }
    },
  },
  {
    name: "multi_attach_probe",
    features: ["several attach points on one probe", "probe builtin"],
    source:
      "tracepoint:syscalls:sys_enter_getppid, tracepoint:syscalls:sys_enter_openat { @[probe] = count(); }",
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      const m = new Map(entries(r, "@"));
      assert.equal(m.get("tracepoint:syscalls:sys_enter_getppid"), N);
      for (const k of m.keys()) {
        assert.match(k, /^tracepoint:syscalls:sys_enter_(getppid|openat)$/);
      }
    },
  },
  {
    name: "rawtracepoint_sys_exit",
    features: [
      "rawtracepoint sys_exit",
      "arg1 as return value",
      "signed compare",
    ],
    source:
      "rawtracepoint:sys_exit { @neg[(int64)arg1 < 0] = count(); @all = count(); }",
    workload: ["open", String(N)],
    pidFilter: true,
    expect(r) {
      assertShape(r, "@neg", {
        kind: "count",
        keyed: true,
        keys: ["boolean"],
        values: ["int"],
      });
      assert.equal(total(r, "@neg"), num(only(r, "@all")));
      if (r.engine === "kernel") {
        assert.ok(num(new Map(entries(r, "@neg")).get("true")) >= N);
      }
    },
  },
  {
    name: "ustack_uprobe",
    features: [
      "ustack in a uprobe",
      "ustack(n)",
      "kstack in a uprobe is empty",
    ],
    source: (t) =>
      `uprobe:${t.bin}:parity_target { @u[ustack] = count(); @u2[ustack(2)] = count(); @k[kstack] = count(); }`,
    workload: ["calls", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(total(r, "@u"), N);
      for (const e of mapOf(r, "@u").entries) {
        assertStack(r.engine, e.key[0], false);
        const frames = (e.key[0] as { frames: string[] }).frames;
        assert.match(frames[0], /^parity_target(\+\d+)?$/);
        assert.ok(frames.length >= 2, `${r.engine}: ${frames}`);
      }
      for (const e of mapOf(r, "@u2").entries) {
        assert.ok((e.key[0] as { frames: string[] }).frames.length <= 2);
      }
      for (const e of mapOf(r, "@k").entries) {
        assert.deepEqual((e.key[0] as { frames: string[] }).frames, []);
      }
    },
  },
  {
    name: "ustack_perf_module",
    features: [
      "ustack(perf)",
      "perf frame layout with module",
      "frame offset 0 at entry",
    ],
    source: (t) =>
      `uprobe:${t.bin}:parity_target { @p[ustack(perf, 2)] = count(); @u[ustack(1)] = count(); }`,
    workload: ["calls", String(N)],
    pidFilter: true,
    expect(r) {
      // At a uprobe on a function's entry the ip is the symbol itself:
      // offset 0, printed "+0" as bpftrace 0.26 prints every frame.
      assert.deepEqual(
        mapOf(r, "@u").entries.map((e) =>
          (e.key[0] as { frames: string[] }).frames
        ),
        [["parity_target+0"]],
      );
      const text = r.exitOutput.split("\n").filter((l) => l.startsWith("\t"));
      assert.ok(text.length > 0, r.exitOutput);
      for (const l of text) {
        assert.match(l, /^\t[0-9a-f]+ \S+ \(\/\S+\)$/, `${r.engine}: ${l}`);
      }
      assert.match(text[0], /parity_target\+0 \(\/\S+\/tsbparity\)$/);
    },
  },
  {
    name: "json_output",
    features: ["-f json", "printf/map/hist/stats JSON lines", "print() in END"],
    source:
      'tracepoint:syscalls:sys_enter_getppid { @c[comm] = count(); @h = hist(5); @st = stats(3); printf("x %d\\n", 1); } END { print(@st); }',
    workload: ["getppid", String(N)],
    pidFilter: true,
    format: "json",
    expect(r) {
      const lines = linesOf(r);
      assert.equal(lines.length, N);
      for (const l of lines) {
        assert.equal(l, '{"type": "printf", "data": "x 1\\n"}');
      }
      const exit = r.exitOutput.split("\n").filter((l) => l !== "");
      assert.deepEqual(exit, [
        `{"type": "stats", "data": {"@st": {"count": ${N}, "average": 3, "total": ${
          3 * N
        }}}}`,
        `{"type": "map", "data": {"@c": {"${r.target.comm}": ${N}}}}`,
        `{"type": "hist", "data": {"@h": [{"min": 4, "max": 7, "count": ${N}}]}}`,
        `{"type": "stats", "data": {"@st": {"count": ${N}, "average": 3, "total": ${
          3 * N
        }}}}`,
      ]);
      for (const l of [...lines, ...exit]) JSON.parse(l);
    },
  },
  {
    name: "tracepoint_char_array",
    features: ["char array field (prev_comm)", "sched tracepoint", "bool key"],
    source:
      "tracepoint:sched:sched_switch { @[args->prev_comm, args->prev_pid == pid] = count(); }",
    workload: ["spin", "50"],
    pidFilter: true,
    expect(r) {
      assertShape(r, "@", {
        kind: "count",
        keyed: true,
        keys: ["string,boolean"],
        values: ["int"],
      });
      for (const [k] of entries(r, "@")) {
        assert.equal(k, `${r.target.comm}|true`);
      }
    },
  },
  {
    name: "begin_before_probes",
    features: [
      "BEGIN runs before any other probe fires",
      "map read in predicate",
    ],
    source:
      "BEGIN { @s = 1; } tracepoint:raw_syscalls:sys_enter /@s == 0/ { @early = count(); } tracepoint:raw_syscalls:sys_enter { @all = count(); }",
    expect(r) {
      assert.ok(num(only(r, "@all")) > 0);
      // bpftrace 0.17 runs BEGIN first: no probe sees @s unset.
      const early = mapOf(r, "@early").entries;
      assert.deepEqual(early, [], `${r.engine}: ${JSON.stringify(early)}`);
    },
  },
  {
    name: "hardware_cycles",
    features: ["hardware probe", "comm key", "-p"],
    source: "hardware:cpu-cycles:1000000 { @[comm] = count(); @n = count(); }",
    workload: ["spin", "100"],
    pidFilter: true,
    interpMs: 100,
    needs: "hardware-counters",
    expect(r) {
      const e = entries(r, "@");
      assert.equal(e.length, 1);
      assert.equal(e[0][0], r.target.comm);
      assert.ok(num(only(r, "@n")) > 0);
    },
  },
  {
    name: "reuse_latency_pair",
    features: [
      "start/end pair",
      "map value read in predicate and body",
      "pid/tid read once",
      "keyless hist and count",
    ],
    source: `tracepoint:syscalls:sys_enter_getppid { @s[tid] = nsecs; }
tracepoint:syscalls:sys_exit_getppid /@s[tid]/ { @lat = hist(nsecs - @s[tid]); @n = count(); @p[pid == tid, pid] = count(); delete(@s[tid]); }`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      const open = mapOf(r, "@s").entries.length;
      assert.ok(open <= 1, `${r.engine}: ${open} calls in flight`);
      if (r.engine === "kernel") assert.equal(open, 0);
      const n = num(only(r, "@n"));
      assert.equal(n + open, N);
      assert.equal(total(r, "@lat"), n);
      assert.deepEqual(entries(r, "@p"), [[`true|${r.target.pid}`, n]]);
      assert.match(r.exitOutput, /^@lat: \n\[/m);
    },
  },
  {
    name: "reuse_map_values",
    features: [
      "map value reused until written",
      "writes in branches and loops",
      "delete() then read",
    ],
    source: `BEGIN {
  @x = 5; @y[pid, tid] = 3;
  printf("%d %d %d %d\\n", @x, @x + @x, @y[pid, tid], @y[pid, tid] * 2);
  @x = 7; printf("%d\\n", @x);
  @x++; printf("%d %d\\n", @x, @x);
  delete(@x); printf("%d\\n", @x);
  @v = 1; $a = @v; if ($a > 0) { @v = 10; } printf("%d %d\\n", $a, @v);
  $i = 0; @z = 1; $t = @z;
  while ($i < 5) { printf("%d\\n", @z); @z = @z * 2; $i++; if ($i == 3) { break; } }
  printf("%d %d\\n", $t, @z);
  exit();
}`,
    expect(r) {
      assert.equal(
        r.output,
        "5 10 3 6\n7\n8 8\n0\n1 10\n1\n2\n4\n1 8\n",
      );
    },
  },
  {
    name: "keyless_aggregations_unwritten",
    features: [
      "keyless aggregations never written",
      "sum of 0",
      "negative min/max",
      "clear() of a keyless count",
    ],
    source:
      `BEGIN { @s = sum(0); @mx = max(-3); @mn = min(-8); @c = count(); clear(@c); @h = hist(-1); @h = hist(6); exit(); }
tracepoint:syscalls:sys_enter_getppid /0/ { @nc = count(); @ns = sum(1); @nh = hist(1); @na = avg(1); @nm = max(1); }`,
    expect(r) {
      // Keyless aggregations are per-CPU arrays: a slot nobody wrote is no
      // entry, as a hash map key nobody inserted. Printed, as bpftrace 0.17
      // prints them: an empty keyless count as 0, any other empty map as a
      // blank line (two for avg and stats). bpftrace also prints a blank
      // line for a max of only negative values (its max starts at 0); we
      // print the maximum.
      for (const name of ["@c", "@nc", "@ns", "@nh", "@na", "@nm"]) {
        assert.deepEqual(mapOf(r, name).entries, [], `${r.engine}: ${name}`);
      }
      assert.equal(only(r, "@s"), 0);
      assert.equal(only(r, "@mx"), -3);
      assert.equal(only(r, "@mn"), -8);
      assert.equal(
        r.exitOutput,
        "\n\n@c: 0\n" +
          "@h: \n(..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
          "[0]                    0 |                                                    |\n" +
          "[1]                    0 |                                                    |\n" +
          "[2, 4)                 0 |                                                    |\n" +
          "[4, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n" +
          "@mn: -8\n@mx: -3\n\n\n@nc: 0\n\n\n\n@s: 0\n",
      );
    },
  },
  {
    name: "curtask_struct_fields",
    features: [
      "curtask as struct task_struct *",
      "-> chain",
      "char[16] member as string",
      "string == comm",
    ],
    source: `tracepoint:syscalls:sys_enter_getppid {
  @ok[curtask->pid == tid, curtask->tgid == pid, curtask->comm == comm] = count();
  @parent[curtask->real_parent->tgid] = count();
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      // The kernel's own task agrees with the helpers, on both engines.
      assert.deepEqual(entries(r, "@ok"), [["true|true|true", N]]);
      const parent = entries(r, "@parent");
      assert.equal(parent.length, 1);
      assert.equal(parent[0][1], N);
      // The workload's parent is this test process (kernel); init on the
      // synthetic machine.
      const want = r.engine === "kernel" ? Deno.pid : 1;
      assert.equal(Number(parent[0][0]), want);
    },
  },
  {
    name: "tracepoint_struct_pointer_rqtp",
    features: ["args->ptr->field", "struct pointer in a syscall tracepoint"],
    source:
      "tracepoint:syscalls:sys_enter_clock_nanosleep { @[args->rqtp->tv_sec, args->rqtp->tv_nsec] = count(); }",
    workload: ["nanosleep", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(total(r, "@"), N);
      if (r.engine === "kernel") {
        // What the workload passed: 12.3 ms, as `sleep 0.0123` would.
        assert.deepEqual(entries(r, "@"), [["0|12300000", N]]);
      }
      for (const [k] of entries(r, "@")) {
        const [sec, nsec] = k.split("|").map(Number);
        assert.ok(sec >= 0 && nsec >= 0 && nsec < 1e9, k);
      }
    },
  },
  {
    name: "kfree_skb_struct_sk_buff",
    features: [
      "(struct sk_buff *) cast of a tracepoint pointer",
      "members in anonymous unions",
      "->dev->name",
      "bswap()",
    ],
    source: `tracepoint:skb:kfree_skb {
  $skb = (struct sk_buff *)args->skbaddr;
  @proto[bswap($skb->protocol) == args->protocol] = count();
  @dev[$skb->dev->name] = count();
  @len[$skb->len] = count();
}`,
    workload: ["udp", String(N)],
    pidFilter: true,
    expect(r) {
      // The kernel stores ntohs(skb->protocol) in the record.
      assert.deepEqual(entries(r, "@proto"), [["true", total(r, "@proto")]]);
      assert.equal(total(r, "@dev"), total(r, "@proto"));
      if (r.engine === "kernel") {
        // N datagrams of 100 bytes to a closed port of 127.0.0.1: dropped
        // on loopback with the UDP header (8 bytes) still on.
        assert.deepEqual(entries(r, "@proto"), [["true", N]]);
        assert.deepEqual(entries(r, "@dev"), [["lo", N]]);
        assert.deepEqual(entries(r, "@len"), [["108", N]]);
      } else {
        assert.equal(total(r, "@proto"), N);
        for (const [k] of entries(r, "@dev")) assert.match(k, /^\w+$/);
        for (const [k] of entries(r, "@len")) assert.ok(Number(k) > 0, k);
      }
    },
  },
];

/**
 * The table: the core rows, then one file of rows per language area
 * (`rows_*.ts`, each importing `Row` from `./row.ts`).
 */
export const ROWS: Row[] = [
  ...CORE_ROWS,
  ...TYPES_ROWS,
  ...STATEMENT_ROWS,
  ...FUNCTION_ROWS,
  ...BTF_ROWS,
  ...CONFIG_ROWS,
  ...CLI26_ROWS,
  ...LANG26_ROWS,
  ...FUNCS_ROWS,
  ...CODEGEN_ROWS,
  ...ARGS_ROWS,
  ...TUPLEKEYS_ROWS,
  ...AUTODEREF_ROWS,
  ...SYNTAX26_ROWS,
  ...FENTRY_ROWS,
  ...AGGREAD_ROWS,
  ...ENUM_ROWS,
  ...BUILTINS26_ROWS,
  ...STACK_ROWS,
  ...PERCPU_ROWS,
];
