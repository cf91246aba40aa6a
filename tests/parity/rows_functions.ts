/**
 * Parity rows for the functions of bpftrace 0.26 (`docs/stdlib.md` at
 * v0.26.1, its `tests/runtime/`): map functions, string search, exit
 * codes, errors and warnings from the program, task and machine facts,
 * and positional parameters that were not given.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ncpus } from "../../runtime/compiler/host_facts.ts";
import type { HistBucket } from "../../runtime/output/types.ts";
import type { TseriesPoint } from "../../runtime/output/tseries.ts";
import { entries, linesOf, mapOf, only, total } from "./expect.ts";
import type { RunResult } from "./run.ts";
import { N, type Row } from "./row.ts";

function byKey(r: RunResult, name: string): [string, unknown][] {
  return entries(r, name).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
}

function existsTask(tid: number): boolean {
  try {
    Deno.statSync(`/proc/${Deno.pid}/task/${tid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * bpftrace 0.17's runtime tests of `buf` (tests/runtime/call, other and
 * variable at v0.17.0): program, positional parameters, and a line the
 * output must have (printed events, or the maps at exit).
 */
const BUF_017: [string, string, string[], string][] = [
  [
    "buf_map_key",
    'i:ms:100 { @[buf("ok_key", 6)] = 1; exit(); }',
    [],
    "@[ok_key]: 1",
  ],
  [
    "buf_map_multikey",
    'BEGIN { @[buf("ok_key", 8), 1] = hist(1); exit(); }',
    [],
    "@[ok_key\\x00\\x00, 1]: ",
  ],
  [
    "buf_hist_map_key",
    'BEGIN { @[buf("ok_key", 8)] = hist(1); exit(); }',
    [],
    "@[ok_key\\x00\\x00]: ",
  ],
  [
    "buf_map_value",
    'i:ms:100 { @ = buf("ok_value", 8); exit(); }',
    [],
    "@: ok_value",
  ],
  [
    "buf_no_ascii",
    'BEGIN { printf("%rx", buf("Hello\\0", 6)); exit(); }',
    [],
    "\\x48\\x65\\x6c\\x6c\\x6f\\x00",
  ],
  [
    "buf_no_ascii_no_escaping",
    'BEGIN { printf("%rh", buf("Hello\\0", 6)); exit(); }',
    [],
    "48 65 6c 6c 6f 00",
  ],
  [
    "positional_buf",
    'BEGIN { @ = buf("hello", $1); exit(); }',
    ["5"],
    "@: hello",
  ],
  [
    "global_buf",
    'i:ms:1 {@a = buf("hi", 2); printf("%r\\n", @a); exit();}',
    [],
    "@a: hi",
  ],
  [
    "local_buf",
    'i:ms:1 {$a = buf("hi", 2); printf("a=%r\\n", $a); exit();}',
    [],
    "a=hi",
  ],
  [
    "buf_equality",
    'i:ms:1 {$a = buf("hi", 2); $b = buf("bye", 3); printf("equal=%d, unequal=%d\\n", $a == $a, $a != $b); exit();}',
    [],
    "equal=1, unequal=1",
  ],
];

const BUF_ROWS: Row[] = BUF_017.map(([name, source, params, line]) => ({
  name: `fn_017_${name}`,
  features: ["buf() of a string", "%r %rx %rh", "buf keys and values", "=="],
  source,
  params,
  kernelMs: 2000,
  interpMs: 1000,
  expect(r) {
    assert.equal(r.reason, "exit");
    const lines = (r.output + r.exitOutput).split("\n");
    assert.ok(
      lines.includes(line),
      `no line ${JSON.stringify(line)} in ${JSON.stringify(lines)}`,
    );
  },
}));

/** The rows of this area. */
export const FUNCTION_ROWS: Row[] = [
  ...BUF_ROWS,
  {
    name: "fn_has_key_delete",
    features: [
      "has_key(@m, k)",
      "has_key with a tuple key",
      "delete(@m, k)",
      "delete(@m, (k1, k2))",
    ],
    source: `begin {
  @a[1] = 10; @a[2] = 20;
  @b[1, "x"] = 3; @b[2, "y"] = 4;
  @s["longer"] = 0;
  $k = 2;
  printf("%d %d %d %d %d %d\\n", has_key(@a, 1), has_key(@a, 3), has_key(@a, $k),
    has_key(@b, (1, "x")), has_key(@b, (1, "y")), has_key(@s, "long"));
  delete(@a, 1);
  delete(@b, (2, "y"));
  delete(@a, 99);
  printf("%d %d\\n", has_key(@a, 1), has_key(@b, (2, "y")));
  if (has_key(@a, 2)) { printf("kept\\n"); }
  if (!has_key(@a, 1)) { printf("gone\\n"); }
  exit();
}`,
    expect(r) {
      assert.equal(r.output, "1 0 1 1 0 0\n0 0\nkept\ngone\n");
      assert.deepEqual(byKey(r, "@a"), [["2", 20]]);
      assert.deepEqual(byKey(r, "@b"), [["1|x", 3]]);
    },
  },
  {
    name: "fn_has_key_in_probe",
    features: ["has_key in a tracepoint", "delete(@m, k) of the pid key"],
    source: `tracepoint:syscalls:sys_enter_getppid {
  if (!has_key(@seen, pid)) { @first = count(); }
  @seen[pid] = 1; @n++;
  if (@n == ${N}) { delete(@seen, pid); }
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(only(r, "@first"), 1);
      assert.equal(only(r, "@n"), N);
      assert.deepEqual(entries(r, "@seen"), []);
    },
  },
  {
    name: "fn_strcontains",
    features: ['strcontains(s, "lit")', "strcontains of comm"],
    source: `tracepoint:syscalls:sys_enter_getppid {
  @hit[strcontains(comm, "parity")] = count();
  @t[strcontains(comm, "")] = count();
}
begin {
  printf("%d %d %d %d %d %d\\n", strcontains("abcabd", "abd"), strcontains("abcabd", "abe"),
    strcontains("abc", "abc"), strcontains("ab", "abc"), strcontains("", "a"),
    strcontains(str($1), "ll"));
}`,
    params: ["hello"],
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(r.output, "1 0 1 0 0 1\n");
      // The kernel's target is "tsbparity", the interpreter's "target".
      const has = r.target.comm.includes("parity") ? "true" : "false";
      assert.deepEqual(entries(r, "@hit"), [[has, N]]);
      assert.deepEqual(entries(r, "@t"), [["true", N]]);
    },
  },
  {
    name: "fn_exit_code",
    features: ["exit(code)", "end runs after exit(code)"],
    source: `interval:ms:5 { @n++; if (@n == 2) { exit(7); } }
end { printf("end %d\\n", @n); }`,
    kernelMs: 2000,
    interpMs: 1000,
    expect(r) {
      assert.equal(r.reason, "exit");
      assert.equal(r.exitCode, 7);
      // exit() is asynchronous (docs/stdlib.md): a later event may still
      // run before the session stops.
      const n = Number(only(r, "@n"));
      assert.ok(n >= 2, `${n}`);
      assert.match(r.exitOutput, /^end \d+\n/);
    },
  },
  {
    name: "fn_errorf_warnf",
    features: ["errorf()", "warnf()", "FILE:LINE:COL-END on stderr"],
    source: `begin { errorf("Something bad: %d, %s", 10, "arg2");
  warnf("careful %x", 255); printf("out\\n"); exit(); }`,
    expect(r) {
      assert.equal(r.output, "out\n");
      assert.equal(
        r.stderr,
        "stdin:1:9-52: ERROR: Something bad: 10, arg2\n" +
          "stdin:2:3-27: WARNING: careful ff\n",
      );
      assert.equal(r.exitCode, undefined);
    },
  },
  {
    name: "fn_assert",
    features: ["assert(cond, msg)", "assert exits with 1"],
    source: `begin { $x = 2; assert($x == 2, "fine"); printf("a\\n");
  assert($x > 5, "too small"); printf("b\\n"); }`,
    expect(r) {
      assert.equal(r.output, "a\n");
      assert.equal(r.stderr, "stdin:2:3-30: ERROR: assert failed: too small\n");
      assert.equal(r.exitCode, 1);
      assert.equal(r.reason, "exit");
    },
  },
  {
    name: "fn_ncpus_usermode",
    features: ["ncpus", "usermode in begin", "usermode in a uprobe"],
    source: (t) =>
      `begin { printf("%d %d\\n", ncpus, usermode); }
uprobe:${t.bin}:parity_target { @u[usermode] = count(); }`,
    workload: ["calls", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(r.output, `${ncpus()} 1\n`);
      assert.deepEqual(entries(r, "@u"), [["1", N]]);
    },
  },
  {
    name: "fn_ppid",
    features: ["ppid (curtask->real_parent->pid)"],
    source: `tracepoint:syscalls:sys_enter_getppid { @p[ppid] = count(); }
tracepoint:syscalls:sys_exit_getppid { @r[args->ret] = count(); }`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      // What getppid() returns is what ppid saw.
      assert.equal(total(r, "@p"), N);
      const [[p]] = entries(r, "@p");
      if (r.engine === "kernel") {
        // real_parent->pid is the parent's thread that started the child
        // (bpftrace's definition): a thread of this test process, whose
        // process getppid() returns.
        assert.deepEqual(entries(r, "@r"), [[String(Deno.pid), N]]);
        assert.ok(
          Number(p) === Deno.pid || existsTask(Number(p)),
          `${p} is no thread of ${Deno.pid}`,
        );
      } else assert.ok(Number(p) > 0, p);
    },
  },
  {
    name: "fn_len_stacks",
    features: ["len(ustack)", "len(ustack(n))", "len(kstack)"],
    source: (t) =>
      `uprobe:${t.bin}:parity_target { @deep[len(ustack) >= 2] = count(); @two[len(ustack(2))] = count(); @k[len(kstack) >= 0] = count(); }`,
    workload: ["calls", String(N)],
    pidFilter: true,
    expect(r) {
      assert.deepEqual(entries(r, "@deep"), [["true", N]]);
      assert.deepEqual(entries(r, "@two"), [["2", N]]);
      assert.deepEqual(entries(r, "@k"), [["true", N]]);
    },
  },
  {
    name: "fn_number_names",
    features: [
      "strerror()",
      "signal_name()",
      "syscall_name()",
      "names as map keys and values",
    ],
    source: `begin {
  print(strerror(1));
  printf("%s|%s|%s|%s|%s|%s\\n", strerror(-2), strerror(7), strerror(4095),
    signal_name(9), signal_name(99), syscall_name(0));
  @e[strerror(13)] = count(); @v = syscall_name(110);
}
tracepoint:syscalls:sys_enter_getppid { @s[syscall_name(args->__syscall_nr)] = count(); exit(); }`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(
        r.output,
        "Operation not permitted\n" +
          "No such file or directory|Argument list too long|Unknown error|Killed|N/A|read\n",
      );
      assert.deepEqual(entries(r, "@e"), [["Permission denied", 1]]);
      assert.deepEqual(entries(r, "@v"), [["", "getppid"]]);
      assert.deepEqual(entries(r, "@s").map(([k]) => k), ["getppid"]);
    },
  },
  {
    name: "fn_pton_print_elem",
    features: ["pton() IPv4 and IPv6", "print(@m[k])"],
    source: `begin {
  printf("IP: %s %s %s\\n", ntop(pton("127.0.0.1")), ntop(10, pton("::1")),
    ntop(pton("fe80::ab:1")));
  @x[1] = 5; @x[2] = 6; print(@x[2]); exit();
}`,
    expect(r) {
      assert.equal(r.output, "IP: 127.0.0.1 ::1 fe80::ab:1\n6\n");
    },
  },
  {
    name: "fn_hist_finer",
    features: ["hist(n, k)", "finer buckets in JSON shape", "text labels"],
    source: `begin {
  $i = 0; while ($i < 1024) { @h = hist($i, 3); $i++; }
  @t = hist(-1, 2); @t = hist(0, 2); @t = hist(7, 2); @t = hist(8, 2);
  @t = hist(200, 2); @t = hist(9000, 2);
  exit();
}`,
    expect(r) {
      // bpftrace v0.26.1 tests/runtime/outputs/hist_2args.json: 0 to 15
      // one value each, then 8 buckets per power of 2.
      const [[, h]] = entries(r, "@h");
      const b = (h as HistBucket[]).map((x) => [
        Number(x.min),
        Number(x.max),
        Number(x.count),
      ]);
      assert.equal(b.length, 64);
      assert.deepEqual(b[0], [0, 0, 1]);
      assert.deepEqual(b[15], [15, 15, 1]);
      assert.deepEqual(b[16], [16, 17, 2]);
      assert.deepEqual(b[24], [32, 35, 4]);
      assert.deepEqual(b[40], [128, 143, 16]);
      assert.deepEqual(b[63], [960, 1023, 64]);
      const rows = r.exitOutput.split("\n");
      for (
        const label of [
          "(..., 0)",
          "[0]",
          "[7]",
          "[8, 10)",
          "[192, 224)",
          "[3584, 4K)",
          "[8K, 10K)",
        ]
      ) {
        assert.ok(
          rows.some((l) => l.startsWith(label.padEnd(16))),
          `no row ${label} in\n${r.exitOutput}`,
        );
      }
    },
  },
  {
    name: "fn_tseries",
    features: ["tseries(n, interval, num)", "tseries max and sum", "chart"],
    source: `interval:ms:10 {
  @n++;
  @a = tseries(@n, 50ms, 4, "max");
  @c["k"] = tseries(1, 50ms, 3, "sum");
  @l = tseries(@n % 3, 50ms, 2);
  if (@n == 40) { exit(); }
}`,
    kernelMs: 3000,
    interpMs: 2000,
    expect(r) {
      assert.equal(r.reason, "exit");
      const a = mapOf(r, "@a");
      assert.equal(a.kind, "tseries");
      const [[, pa]] = entries(r, "@a");
      const va = (pa as TseriesPoint[]).map((p) => Number(p.value));
      assert.ok(va.length >= 2 && va.length <= 4, `${va}`);
      // The maximum of each 50 ms interval grows with @n; the last is 40.
      for (let i = 1; i < va.length; i++) assert.ok(va[i] > va[i - 1], `${va}`);
      assert.equal(va[va.length - 1], 40);
      const [[k, pc]] = entries(r, "@c");
      assert.equal(k, "k");
      const vc = (pc as TseriesPoint[]).map((p) => Number(p.value));
      assert.ok(vc.length >= 1 && vc.length <= 3, `${vc}`);
      // About 5 ticks of 10 ms in each interval (the last one may be short).
      for (const v of vc.slice(0, -1)) assert.ok(v >= 3 && v <= 7, `${vc}`);
      const [[, pl]] = entries(r, "@l");
      assert.equal((pl as TseriesPoint[]).at(-1)!.value, 40 % 3);
      assert.match(
        r.exitOutput,
        /^@a:\n {13}\d+ +\d+\nhh:mm:ss\.ms {2}\|_{51}\|\n/m,
      );
      assert.match(r.exitOutput, /^@c\[k\]:\n/m);
    },
  },
  {
    name: "fn_positional_unset",
    features: ["unset $N is 0", 'str($N) of an unset parameter is ""'],
    source:
      `begin { printf("[%d] [%s] [%d] [%s] [%s]\\n", $2, str($2), $1 + 1, str($1),
  str($1, 1)); exit(); }`,
    params: ["41"],
    expect(r) {
      assert.equal(r.output, "[0] [] [42] [41] [4]\n");
    },
  },
  {
    name: "fn_len_map",
    features: [
      "len(@map): its elements",
      "len() after delete",
      "len() in a for body",
      "strings as keys are zero-filled",
    ],
    source: `begin {
  @[0] = 0; @[1] = 1;
  printf("map len: %d\\n", len(@));
  @c["a"] = count(); @c["b"] = count(); @c["b"] = count();
  $n = len(@c);
  if ($n > 1) { print("true"); }
  delete(@c, "a");
  print(len(@c));
  $x = "xxxxx"; $x = "a"; @s[$x] = 1; $y = "yyyyy"; $y = "a"; @s[$y] = 1;
  printf("len: %d\\n", len(@s));
  @e[1] = 1; delete(@e, 1);
  printf("empty %d\\n", len(@e));
  for ($kv : @) { printf("in loop %d %d\\n", $kv.0, len(@c) + len(@)); }
  exit();
}`,
    expect(r) {
      assert.deepEqual(r.output.split("\n").slice(0, 5), [
        "map len: 2",
        "true",
        "1",
        "len: 1",
        "empty 0",
      ]);
      assert.deepEqual(linesOf(r).slice(5).sort(), [
        "in loop 0 3",
        "in loop 1 3",
      ]);
    },
  },
  {
    name: "fn_len_map_in_probe",
    features: ["len(@map) per event", "len() of an aggregation map"],
    source: `tracepoint:syscalls:sys_enter_getppid {
  @[pid] = count();
  if (len(@) != 1) { @bad = count(); }
  @n = sum(len(@));
}`,
    workload: ["getppid", String(N)],
    pidFilter: true,
    expect(r) {
      assert.equal(only(r, "@n"), N);
      assert.equal(total(r, "@"), N);
      assert.equal(mapOf(r, "@bad").entries.length, 0);
    },
  },
];
