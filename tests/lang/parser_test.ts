import assert from "node:assert/strict";
import type { Expr, Program, Stmt } from "../../runtime/lang/ast.ts";
import { parse } from "../../runtime/lang/parser.ts";

/** Deep copy without `span` fields, for structural comparisons. */
function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== "span") out[k] = strip(x);
    return out;
  }
  return v;
}

function body(src: string): Stmt[] {
  return parse(src).ast.probes[0].body.stmts;
}

/** The expression of `BEGIN { $r = EXPR; }`, without spans. */
function expr(text: string): unknown {
  const s = body(`BEGIN { $r = ${text}; }`)[0];
  assert.equal(s.kind, "assign");
  return strip(s.value);
}

const int = (n: number) => ({ kind: "int", value: BigInt(n), raw: String(n) });
const v = (name: string) => ({ kind: "var", name });
const bin = (op: string, left: unknown, right: unknown) => ({
  kind: "binary",
  op,
  left,
  right,
});

Deno.test("parser: attach points of every provider", () => {
  const src = [
    "BEGIN, END, t:syscalls:sys_enter_openat, tracepoint:sched:sched_*,",
    "rt:sys_enter, k:do_sys_open+0x10, kr:vfs_read, uprobe:/bin/bash:readline,",
    "ur:/usr/lib/x86_64-linux-gnu/libc.so.6:mall?c, u:./a.out:main+4,",
    "u:/bin/x:0x4000, usdt:/bin/x:prov:probe, profile:hz:99, p:ms:10, p:10ms,",
    'interval:s:1, i:us:500, software:cpu-clock:1000, h:cache-misses:1e6, u:"/opt/my app/bin":"ns::f"',
    "{ }",
  ].join("\n");
  const aps = parse(src).ast.probes[0].attachPoints.map((a) => {
    const { kind: _k, span: _s, raw: _r, parts: _p, ...rest } = a;
    return rest;
  });
  assert.deepEqual(aps, [
    { provider: "BEGIN", target: "", wildcard: false },
    { provider: "END", target: "", wildcard: false },
    {
      provider: "tracepoint",
      target: "syscalls:sys_enter_openat",
      wildcard: false,
    },
    { provider: "tracepoint", target: "sched:sched_*", wildcard: true },
    { provider: "rawtracepoint", target: "sys_enter", wildcard: false },
    { provider: "kprobe", target: "do_sys_open", offset: 16, wildcard: false },
    { provider: "kretprobe", target: "vfs_read", wildcard: false },
    {
      provider: "uprobe",
      target: "/bin/bash",
      symbol: "readline",
      wildcard: false,
    },
    {
      provider: "uretprobe",
      target: "/usr/lib/x86_64-linux-gnu/libc.so.6",
      symbol: "mall?c",
      wildcard: true,
    },
    {
      provider: "uprobe",
      target: "./a.out",
      symbol: "main",
      offset: 4,
      wildcard: false,
    },
    {
      provider: "uprobe",
      target: "/bin/x",
      symbol: "0x4000",
      address: 0x4000,
      wildcard: false,
    },
    {
      provider: "usdt",
      target: "/bin/x",
      symbol: "prov:probe",
      wildcard: false,
    },
    {
      provider: "profile",
      target: "hz",
      unit: "hz",
      period: 99,
      wildcard: false,
    },
    {
      provider: "profile",
      target: "ms",
      unit: "ms",
      period: 10,
      wildcard: false,
    },
    {
      provider: "profile",
      target: "us",
      unit: "us",
      period: 10000,
      wildcard: false,
    },
    {
      provider: "interval",
      target: "s",
      unit: "s",
      period: 1,
      wildcard: false,
    },
    {
      provider: "interval",
      target: "us",
      unit: "us",
      period: 500,
      wildcard: false,
    },
    {
      provider: "software",
      target: "cpu-clock",
      period: 1000,
      wildcard: false,
    },
    {
      provider: "hardware",
      target: "cache-misses",
      period: 1000000,
      wildcard: false,
    },
    {
      provider: "uprobe",
      target: "/opt/my app/bin",
      symbol: "ns::f",
      wildcard: false,
    },
  ]);
});

Deno.test("parser: attach point raw text, parts and span", () => {
  const { ast } = parse("\n  uprobe:/bin/bash:readline /pid/ { }");
  const ap = ast.probes[0].attachPoints[0];
  assert.equal(ap.raw, "uprobe:/bin/bash:readline");
  assert.deepEqual(ap.parts, ["/bin/bash", "readline"]);
  assert.deepEqual(ap.span, { start: 3, end: 28, line: 2, col: 3 });
  assert.deepEqual(strip(ast.probes[0].predicate), {
    kind: "builtin",
    name: "pid",
  });
});

Deno.test("parser: positional parameters in attach points and bodies", () => {
  const { ast } = parse(
    "uprobe:$1:$2 { @[$1] = $#; }",
    "stdin",
    ["/bin/sh", "main"],
  );
  const ap = ast.probes[0].attachPoints[0];
  assert.equal(ap.target, "/bin/sh");
  assert.equal(ap.symbol, "main");
  assert.equal(ap.raw, "uprobe:$1:$2");
  assert.deepEqual(strip(ast.probes[0].body.stmts[0]), {
    kind: "assign",
    op: "=",
    target: {
      kind: "map",
      name: "",
      keys: [{ kind: "positional", index: 1, value: "/bin/sh" }],
    },
    value: { kind: "positional_count", value: 2 },
  });
});

Deno.test("parser: binary precedence and associativity", () => {
  assert.deepEqual(
    expr("1 + 2 * 3 - 4"),
    bin("-", bin("+", int(1), bin("*", int(2), int(3))), int(4)),
  );
  assert.deepEqual(
    expr("$a || $b && $c | $d ^ $e & $f == $g"),
    bin(
      "||",
      v("a"),
      bin(
        "&&",
        v("b"),
        bin(
          "|",
          v("c"),
          bin("^", v("d"), bin("&", v("e"), bin("==", v("f"), v("g")))),
        ),
      ),
    ),
  );
  assert.deepEqual(
    expr("$a < $b << 2 + 1"),
    bin("<", v("a"), bin("<<", v("b"), bin("+", int(2), int(1)))),
  );
  assert.deepEqual(
    expr("$a == $b != $c"),
    bin("!=", bin("==", v("a"), v("b")), v("c")),
  );
  assert.deepEqual(
    expr("10 % 3 / 2"),
    bin("/", bin("%", int(10), int(3)), int(2)),
  );
});

Deno.test("parser: ternary is right-associative and lowest", () => {
  assert.deepEqual(expr("$a ? 1 : $b ? 2 : 3"), {
    kind: "ternary",
    cond: v("a"),
    then: int(1),
    else: { kind: "ternary", cond: v("b"), then: int(2), else: int(3) },
  });
  assert.deepEqual(expr("$a || $b ? 1 : 2"), {
    kind: "ternary",
    cond: bin("||", v("a"), v("b")),
    then: int(1),
    else: int(2),
  });
});

Deno.test("parser: unary, deref, address, casts", () => {
  assert.deepEqual(expr("-!~$x"), {
    kind: "unary",
    op: "-",
    expr: {
      kind: "unary",
      op: "!",
      expr: { kind: "unary", op: "~", expr: v("x") },
    },
  });
  assert.deepEqual(
    expr("*$p + 1"),
    bin("+", { kind: "unary", op: "*", expr: v("p") }, int(1)),
  );
  assert.deepEqual(expr("&$p"), { kind: "unary", op: "&", expr: v("p") });
  assert.deepEqual(
    expr("(u32)arg0 * 2"),
    bin("*", {
      kind: "cast",
      type: { kind: "type", name: "u32", pointer: 0 },
      expr: { kind: "builtin", name: "arg0" },
    }, int(2)),
  );
  assert.deepEqual(expr("(struct task_struct *)curtask->mm"), {
    kind: "cast",
    type: { kind: "type", name: "struct task_struct", pointer: 1 },
    expr: {
      kind: "field",
      expr: { kind: "builtin", name: "curtask" },
      field: "mm",
      arrow: true,
    },
  });
  assert.deepEqual(expr("(uint8[4])$x"), {
    kind: "cast",
    type: { kind: "type", name: "uint8", pointer: 0, arrayLength: 4 },
    expr: v("x"),
  });
  assert.deepEqual(expr("(mytype **)$x"), {
    kind: "cast",
    type: { kind: "type", name: "mytype", pointer: 2 },
    expr: v("x"),
  });
  // A parenthesized builtin or variable is not a cast.
  assert.deepEqual(
    expr("(pid) - 1"),
    bin("-", { kind: "builtin", name: "pid" }, int(1)),
  );
  assert.deepEqual(expr("($x) * 2"), bin("*", v("x"), int(2)));
});

Deno.test("parser: postfix chains, tuples, index, field", () => {
  assert.deepEqual(expr("args->filename[0]"), {
    kind: "index",
    expr: {
      kind: "field",
      expr: { kind: "builtin", name: "args" },
      field: "filename",
      arrow: true,
    },
    index: int(0),
  });
  assert.deepEqual(expr("args.ret"), {
    kind: "field",
    expr: { kind: "builtin", name: "args" },
    field: "ret",
    arrow: false,
  });
  assert.deepEqual(expr("$t.1.0"), {
    kind: "tuple_index",
    expr: { kind: "tuple_index", expr: v("t"), index: 1 },
    index: 0,
  });
  assert.deepEqual(expr('(1, "a", (pid, comm))'), {
    kind: "tuple",
    elems: [int(1), { kind: "str", value: "a" }, {
      kind: "tuple",
      elems: [{ kind: "builtin", name: "pid" }, {
        kind: "builtin",
        name: "comm",
      }],
    }],
  });
  assert.deepEqual(expr("@m[1, comm][2]"), {
    kind: "index",
    expr: {
      kind: "map",
      name: "m",
      keys: [int(1), { kind: "builtin", name: "comm" }],
    },
    index: int(2),
  });
  assert.deepEqual(expr("curtask->real_parent->pid"), {
    kind: "field",
    expr: {
      kind: "field",
      expr: { kind: "builtin", name: "curtask" },
      field: "real_parent",
      arrow: true,
    },
    field: "pid",
    arrow: true,
  });
});

Deno.test("parser: calls, builtins, identifiers, literals", () => {
  assert.deepEqual(expr("lhist(arg1, 0, 100, 10)"), {
    kind: "call",
    name: "lhist",
    args: [{ kind: "builtin", name: "arg1" }, int(0), int(100), int(10)],
  });
  assert.deepEqual(expr("ustack(perf, 3)"), {
    kind: "call",
    name: "ustack",
    args: [{ kind: "ident", name: "perf" }, int(3)],
  });
  assert.deepEqual(expr("kstack"), { kind: "builtin", name: "kstack" });
  assert.deepEqual(
    expr("sarg2 + retval"),
    bin("+", { kind: "builtin", name: "sarg2" }, {
      kind: "builtin",
      name: "retval",
    }),
  );
  assert.deepEqual(expr("true"), { kind: "bool", value: true });
  assert.deepEqual(expr("false"), { kind: "bool", value: false });
  assert.deepEqual(expr("0x10"), { kind: "int", value: 16n, raw: "0x10" });
  assert.deepEqual(expr("1_000_000"), {
    kind: "int",
    value: 1000000n,
    raw: "1_000_000",
  });
  assert.deepEqual(expr(String.raw`"a\tb\x41"`), {
    kind: "str",
    value: "a\tbA",
  });
  assert.deepEqual(expr("sizeof(struct task_struct)"), {
    kind: "sizeof",
    arg: { kind: "type", name: "struct task_struct", pointer: 0 },
  });
  assert.deepEqual(expr("sizeof(u64)"), {
    kind: "sizeof",
    arg: { kind: "type", name: "u64", pointer: 0 },
  });
  assert.deepEqual(expr("sizeof($x)"), { kind: "sizeof", arg: v("x") });
  assert.deepEqual(expr("offsetof(struct sk_buff, dev.name)"), {
    kind: "offsetof",
    type: { kind: "type", name: "struct sk_buff", pointer: 0 },
    field: ["dev", "name"],
  });
  assert.deepEqual(expr("str(args->filename, 16)"), {
    kind: "call",
    name: "str",
    args: [{
      kind: "field",
      expr: { kind: "builtin", name: "args" },
      field: "filename",
      arrow: true,
    }, int(16)],
  });
});

Deno.test("parser: statements", () => {
  const stmts = body(`BEGIN {
    $x = 1; @a += 2; @b[1] -= 3; @c *= 4; @d /= 5; @e %= 6; $f &= 7;
    $g |= 8; $h ^= 9; $i <<= 1; $j >>= 2;
    $x++; @y--; ++$x; --@m[1];
    if ($x) { return; } else if ($y) { break } else { continue; }
    unroll(3) { @u = 1 }
    while ($x < 10) { $x++; }
    { printf("%d\\n", $x); }
    delete(@m[1]); clear(@m); zero(@m); print(@m, 10, 2); exit()
  }`);
  assert.deepEqual(
    stmts.map((s) => s.kind === "assign" ? `assign ${s.op}` : s.kind),
    [
      "assign =",
      "assign +=",
      "assign -=",
      "assign *=",
      "assign /=",
      "assign %=",
      "assign &=",
      "assign |=",
      "assign ^=",
      "assign <<=",
      "assign >>=",
      "expr",
      "expr",
      "expr",
      "expr",
      "if",
      "unroll",
      "while",
      "block",
      "expr",
      "expr",
      "expr",
      "expr",
      "expr",
    ],
  );
  const incdec = stmts.slice(11, 15).map((s) => {
    const e = (s as { expr: Expr }).expr;
    assert.equal(e.kind, "incdec");
    return [e.op, e.prefix, e.target.kind];
  });
  assert.deepEqual(incdec, [
    ["++", false, "var"],
    ["--", false, "map"],
    ["++", true, "var"],
    ["--", true, "map"],
  ]);
  const ifs = strip(stmts[15]);
  assert.deepEqual(ifs, {
    kind: "if",
    cond: v("x"),
    then: { kind: "block", stmts: [{ kind: "return" }] },
    else: {
      kind: "if",
      cond: v("y"),
      then: { kind: "block", stmts: [{ kind: "break" }] },
      else: { kind: "block", stmts: [{ kind: "continue" }] },
    },
  });
});

Deno.test("parser: preamble with includes, C definitions and config", () => {
  const src = `#include <linux/sched.h>
#include "my.h"
#define X 1
struct foo { int a; struct { char b[4]; } c; };
union u { int x; long y; }
config = { max_map_keys = 100; stack_mode = perf; verbose = true }
BEGIN { }
`;
  const { ast } = parse(src);
  assert.deepEqual(strip(ast.includes), [
    { kind: "include", path: "linux/sched.h", system: true },
    { kind: "include", path: "my.h", system: false },
  ]);
  assert.deepEqual(ast.cDefinitions.map((c) => c.text), [
    "#define X 1",
    "struct foo { int a; struct { char b[4]; } c; };",
    "union u { int x; long y; }",
  ]);
  const at = src.indexOf("struct foo");
  assert.deepEqual(ast.cDefinitions[1].span, {
    start: at,
    end: at + 47,
    line: 4,
    col: 1,
  });
  assert.deepEqual(strip(ast.config), {
    kind: "config",
    entries: [
      { kind: "config_entry", key: "max_map_keys", value: int(100) },
      {
        kind: "config_entry",
        key: "stack_mode",
        value: { kind: "ident", name: "perf" },
      },
      {
        kind: "config_entry",
        key: "verbose",
        value: { kind: "bool", value: true },
      },
    ],
  });
  assert.equal(ast.probes.length, 1);
});

Deno.test("parser: predicate division versus predicate end", () => {
  const { ast } = parse("BEGIN /$x / 2 > 1/ { } END /pid/{}");
  assert.deepEqual(
    strip(ast.probes[0].predicate),
    bin(">", bin("/", v("x"), int(2)), int(1)),
  );
  assert.deepEqual(strip(ast.probes[1].predicate), {
    kind: "builtin",
    name: "pid",
  });
});

Deno.test("parser: spans of nested nodes", () => {
  const src = "BEGIN {\n  @hist[comm, pid] = hist(nsecs - $start);\n}";
  const { ast } = parse(src);
  const s = ast.probes[0].body.stmts[0];
  assert.equal(s.kind, "assign");
  if (s.kind !== "assign" || s.value.kind !== "call") throw new Error();
  const slice = (sp: { start: number; end: number }) =>
    src.slice(sp.start, sp.end);
  assert.equal(slice(s.span), "@hist[comm, pid] = hist(nsecs - $start)");
  assert.equal(slice(s.target.span), "@hist[comm, pid]");
  assert.equal(slice(s.value.span), "hist(nsecs - $start)");
  assert.equal(slice(s.value.args[0].span), "nsecs - $start");
  assert.deepEqual(s.value.span, { start: 29, end: 49, line: 2, col: 22 });
  assert.equal(slice(ast.probes[0].body.span), src.slice(6));
  assert.equal(slice(ast.span), src);
});

Deno.test("parser: optional last semicolon and empty statements", () => {
  assert.equal(body("BEGIN { @a = 1; ; @b = 2 }").length, 2);
  assert.equal(body("BEGIN { }").length, 0);
  assert.equal(body("BEGIN { if (1) { } @x = 1 }").length, 2);
});

Deno.test("parser: compile errors are CompileErrors (SyntaxError)", () => {
  assert.throws(() => parse("BEGIN { @x = }"), SyntaxError);
});

Deno.test("parser: snapshots of whole programs", async (t) => {
  const programs: Record<string, string> = {
    "openat counter":
      "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }",
    "read latency": `tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; }
tracepoint:syscalls:sys_exit_read /@start[tid]/ {
  @ns[comm] = hist(nsecs - @start[tid]);
  delete(@start[tid]);
}`,
    "uprobe readline":
      'uretprobe:/bin/bash:readline { printf("%-6d %s\\n", pid, str(retval)); }',
    "profile stacks":
      "profile:hz:99 /pid == $1/ { @[kstack(5), ustack(perf, 3)] = count(); }",
    "interval exit": "interval:s:1 { print(@x, 10); clear(@x); exit(); }",
    "if else chain": `BEGIN {
  $x = (uint32)rand % 3;
  if ($x == 0) { @z++; } else if ($x == 1) { @o += 1; } else { @t = 2 }
}`,
    "loops":
      `BEGIN { $i = 0; while ($i < 5) { $i++; if ($i > 3) { break; } } unroll(2) { @u[$i] = lhist($i, 0, 10, 1); } }`,
    "tuple and ternary":
      `BEGIN { $t = (1, "two", pid); @m[$t.0] = $t.1 == "two" ? sum($t.2) : max(0); }`,
    "casts and fields":
      "kprobe:do_nanosleep { $task = (struct task_struct *)curtask; @[$task->comm, *(uint8*)arg0] = stats(sizeof(struct timespec)); }",
    "preamble": `#include <linux/sched.h>
struct foo { int a; };
config = { max_map_keys = 10 }
BEGIN, END { printf("hi\\n"); }`,
    "software and hardware":
      "software:page-faults:100, hardware:cache-misses:1000000 { @[probe] = count(); }",
    "compound ops and unary":
      `i:ms:100 { @a <<= 1; @b ^= ~arg0; $c = -(1 + 2) * !0; $d = 0x7f & $c | 1_000; }`,
  };
  for (const [name, src] of Object.entries(programs)) {
    const { ast } = parse(src, "stdin", ["42"]);
    await t.assertSnapshot({ name, src, ast } as {
      name: string;
      src: string;
      ast: Program;
    });
  }
});
