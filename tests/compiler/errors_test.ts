import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";

/** The error messages (no location) a script gets. */
function messages(src: string, unsafe = false): string[] {
  try {
    compile(src, { unsafe });
  } catch (e) {
    if (e instanceof CompileErrors) return e.errors.map((x) => x.message);
    throw e;
  }
  return [];
}

const CASES: [string, string, boolean?][] = [
  ["BEGIN { @x = cont(); }", 'Unknown function: "cont"; did you mean "count"?'],
  [
    'BEGIN { printf("%d %d\\n", 1); }',
    "printf: Not enough arguments for format string (1 supplied, 2 expected)",
  ],
  [
    'BEGIN { printf("%d\\n", 1, 2); }',
    "printf: Too many arguments for format string (2 supplied, 1 expected)",
  ],
  [
    'BEGIN { printf("%d\\n", "str"); }',
    "printf: %d specifier expects a value of type integer (string supplied)",
  ],
  // As bpftrace 0.17: %k, %i, %+d, %f are text, not specifiers.
  [
    'BEGIN { printf("%k\\n", 1); }',
    "printf: Too many arguments for format string (1 supplied, 0 expected)",
  ],
  [
    'BEGIN { printf("%d %i\\n", 5, -5); }',
    "printf: Too many arguments for format string (2 supplied, 1 expected)",
  ],
  [
    'BEGIN { printf("%+d %f %%\\n", 5); }',
    "printf: Too many arguments for format string (1 supplied, 0 expected)",
  ],
  [
    'BEGIN { printf("%-05d %5.2lu %hhx %zd %p %c %s\\n", 1, 2, 3); }',
    "printf: Not enough arguments for format string (3 supplied, 7 expected)",
  ],
  // bpftrace 0.17's messages, naming the bare conversion.
  [
    'BEGIN { printf("%-5s|\\n", 1); }',
    "printf: %s specifier expects a value of type string (integer supplied)",
  ],
  [
    'BEGIN { printf("%s\\n", (1, 2)); }',
    "printf: %s specifier expects a value of type string (tuple supplied)",
  ],
  [
    'BEGIN { printf("%s\\n", buf(0, 2)); }',
    "printf: %s specifier expects a value of type string (buffer supplied)",
  ],
  [
    'BEGIN { printf("%rh\\n", 1); }',
    "printf: %rh specifier expects a value of type buffer (integer supplied)",
  ],
  [
    'BEGIN { system("%s\\n", 1); }',
    "system: %s specifier expects a value of type string (integer supplied)",
    true,
  ],
  [
    'BEGIN { @m[1] = 1; @m["a"] = 2; }',
    "Argument mismatch for @m: trying to access with arguments: 'string[2]' when map expects arguments: 'int64'",
  ],
  [
    "BEGIN { @m[1] = 1; @m[1, 2] = 2; }",
    "Argument mismatch for @m: trying to access with arguments: '(int64,int64)' when map expects arguments: 'int64'",
  ],
  [
    'BEGIN { @m = 1; @m = "s"; }',
    "Type mismatch for @m: trying to assign value of type 'string[2]' when map already contains a value of type 'int64'",
  ],
  [
    "BEGIN { @m = count(); @m = 1; }",
    "Type mismatch for @m: trying to assign value of type 'int64' when map already contains a value of type 'count'",
  ],
  [
    'BEGIN { $x = 1; $x = "s"; }',
    "Type mismatch for $x: trying to assign value of type 'string[2]' when variable already contains a value of type 'int64'",
  ],
  [
    'BEGIN { printf("%d\\n", $y); }',
    "Undefined or undeclared variable: $y",
  ],
  [
    "tracepoint:syscalls:sys_enter_openat { @ = args->nofield; }",
    'Tracepoint "syscalls:sys_enter_openat" has no field "nofield"',
  ],
  [
    "tracepoint:nope:nothing { @ = count(); }",
    "No matches for tracepoint nope:nothing.",
  ],
  [
    "tracepoint:nope:nothing* { @ = count(); }",
    // bpftrace 0.26 src/ast/passes/probe_prune.cpp
    "Probe has no valid attach points. If this is expected, set the 'missing_probes' config variable to 'warn'.",
  ],
  [
    "BEGIN { @ = arg0; }",
    "The arg0 builtin can only be used with kprobes and uprobes",
  ],
  [
    "kprobe:f { @ = retval; }",
    "The retval builtin can only be used with kretprobes, uretprobes and fexit",
  ],
  ['BEGIN { system("ls"); }', "system() is an unsafe function: use --unsafe"],
  ["BEGIN { signal(9); }", "signal() is an unsafe function: use --unsafe"],
  ["BEGIN { count(); }", "count() should be directly assigned to a map"],
  ["BEGIN { $x = sum(1); }", "sum() should be directly assigned to a map"],
  ["BEGIN { @x = hist(); }", "hist() takes 1 to 2 arguments (0 given)"],
  ["BEGIN { @x = str(1, 2, 3); }", "str() takes 1 to 2 arguments (3 given)"],
  [
    "BEGIN { @x = lhist(1, 0, 10, pid); }",
    "lhist() expects an integer literal as argument 4",
  ],
  [
    "BEGIN { @x = lhist(1, 10, 0, 1); }",
    "lhist() max must be greater than min",
  ],
  [
    'BEGIN { @g = 2; if (has_key(@g, 2)) { printf("ok\\n"); } }',
    "call to has_key() expects a map with explicit keys (non-scalar map)",
  ],
  [
    'BEGIN { @g[1, "hi"] = 2; if (has_key(@g, (1, 2))) { exit(); } }',
    "Argument mismatch for @g: trying to access with arguments: '(int64,int64)' when map expects arguments: '(int64,string[3])'",
  ],
  [
    "BEGIN { @g = 2; delete(@g, 1); }",
    "call to delete() expects a map with explicit keys (non-scalar map)",
  ],
  ["BEGIN { has_key(1, 2); }", "has_key() expects a map as argument 1"],
  [
    "config = { max_strlen = 100 } BEGIN { @x = strcontains(str(0), str(0)); }",
    "strcontains() of a 100-byte string and a 100-byte needle known only at run time is too costly for the kernel's verifier (at most 4225 byte pairs): shorten them with str(s, n)",
  ],
  ["BEGIN { @x = strcontains(comm, 1); }", "strcontains() expects two strings"],
  ["BEGIN { exit(1, 2); }", "exit() takes 0 to 1 arguments (2 given)"],
  [
    'BEGIN { exit("x"); }',
    "exit() expects an integer argument 1, got string[2]",
  ],
  ["BEGIN { assert(1, 2); }", "assert() expects a string message"],
  ["BEGIN { errorf(); }", "errorf() takes at least 1 argument (0 given)"],
  ["BEGIN { @h = hist(1, 6); }", "hist() k must be between 0 and 5"],
  [
    'BEGIN { @t = tseries(1, 1s, 5, "median"); }',
    'tseries() aggregation must be "avg", "max", "min" or "sum", got "median"',
  ],
  [
    "BEGIN { @t = tseries(1, 1s, 0); }",
    "tseries() num_intervals must be between 1 and 1000000",
  ],
  [
    "BEGIN { @t = tseries(1, 1s); }",
    "tseries() takes 3 to 4 arguments (2 given)",
  ],
  [
    "BEGIN { @h = hist(1, 2); @h = hist(2, 1); }",
    "hist() of @h was used with 2 bits, not 1",
  ],
  [
    'BEGIN { print(pton("1.2.3")); }',
    'pton() expects an IPv4 or IPv6 address, got "1.2.3"',
  ],
  [
    "BEGIN { @m = 1; @x = len(@m); }",
    "call to len() expects a map with explicit keys (non-scalar map)",
  ],
  ["BEGIN { @x = len(@nomap); }", "Undefined map: @nomap"],
  [
    "BEGIN { @m[1] = 1; @x = len(@m[1]); }",
    "call to len() expects a map, ustack, or kstack, got int64",
  ],
  [
    'BEGIN { $s = "abc"; @x = len($s); }',
    "call to len() expects a map, ustack, or kstack, got string[4]",
  ],
  [
    "BEGIN { @x = len(1); }",
    "call to len() expects a map, ustack, or kstack, got int64",
  ],
  [
    'BEGIN { @x = getopt("a", pid); }',
    "getopt() expects a literal default value (integer, string, true or false)",
  ],
  [
    'BEGIN { print(pton("::1")); }',
    "print() cannot print a value of type uint8[16]",
  ],
  [
    'BEGIN { $i = 1; @ = pton("::1")[$i]; }',
    "The index of pton() must be a constant: copy it to a variable ($a = pton(...); $a[$i])",
  ],
  [
    'BEGIN { warnf("%d"); }',
    "warnf: Not enough arguments for format string (0 supplied, 1 expected)",
  ],
  [
    "tracepoint:syscalls:sys_enter_openat { @ = usermode; }",
    "The usermode builtin can only be used with kprobes, uprobes, perf events, begin and end",
  ],
  ["BEGIN { @x = foo; }", 'Unknown identifier: "foo"'],
  ["BEGIN { print(@nomap); }", "Undefined map: @nomap"],
  ["BEGIN { @x = @nomap; }", "Undefined map: @nomap"],
  ["BEGIN { break; }", "break used outside of a loop"],
  ["BEGIN { @x = comm + 1; }", 'Type mismatch for "+": string[16] and int64'],
  [
    "BEGIN { @x = comm == 1; }",
    'Type mismatch for "==": comparing string[16] with int64',
  ],
  ["BEGIN { if (comm) { } }", "Invalid condition in if: string[16]"],
  ["BEGIN { @x = (int128)1; }", 'Cannot cast to "int128"'],
  ["BEGIN { unroll(0) { } }", "unroll minimum value is 1"],
  ["BEGIN { unroll(101) { } }", "unroll maximum value is 100"],
  ['BEGIN { signal("SIGFOO"); }', 'Unknown signal "SIGFOO"', true],
  [
    "BEGIN { @c = count(); @x = @c; }",
    "Map value 'count_t' cannot be assigned from one map to another. " +
    "The function that returns this type must be called directly e.g. " +
    "`@x = count();`. Add a cast to integer if you want the value of " +
    "the aggregate, e.g. `@x = (int64)@c;`.",
  ],
  [
    "BEGIN { @h = hist(1); @x = @h; }",
    "Map value 'hist_t' cannot be assigned from one map to another. " +
    "The function that returns this type must be called directly e.g. " +
    "`@x = hist(retval);`.",
  ],
  [
    "BEGIN { @s = stats(1); $x = @s; }",
    "Value 'stats_t' cannot be assigned to a scratch variable.",
  ],
  [
    "BEGIN { @x = (1, 2).5; }",
    "Tuple index 5 out of range: tuple has 2 elements",
  ],
  [
    "watchpoint:0x1000:8:w { @ = count(); }",
    'Probe type "watchpoint" is not supported',
  ],
  [
    'BEGIN { @x = reg("ip"); }',
    "reg() can only be used with kprobes, uprobes and perf events",
  ],
];

for (const [src, want, unsafe] of CASES) {
  Deno.test(`error: ${want}`, () => {
    assert.deepEqual(messages(src, unsafe), [want]);
  });
}

Deno.test("several semantic errors are reported together", () => {
  assert.deepEqual(
    messages('BEGIN { printf("%d\\n", $x); @a = foo(); @b = 1; @b = "x"; }'),
    [
      "Undefined or undeclared variable: $x",
      'Unknown function: "foo"',
      "Type mismatch for @b: trying to assign value of type 'string[2]' when map already contains a value of type 'int64'",
    ],
  );
});

Deno.test("errors render with file, line, column and a marker", () => {
  try {
    compile("BEGIN {\n  @x = cont();\n}", { fileName: "a.bt" });
    assert.fail("expected an error");
  } catch (e) {
    assert.ok(e instanceof CompileErrors);
    assert.equal(
      e.format(),
      'a.bt:2:8: ERROR: Unknown function: "cont"; did you mean "count"?\n  @x = cont();\n       ~~~~~~',
    );
  }
});

Deno.test("unsafe functions compile with the unsafe option", () => {
  assert.deepEqual(messages('BEGIN { system("ls"); signal(9); }', true), []);
});

Deno.test("a probe needing more than 512 stack bytes is an error", () => {
  const vars = "abcdefghi".split("").map((v) => `$${v} = str(0);`).join(" ");
  assert.deepEqual(messages(`BEGIN { ${vars} }`), [
    "Stack limit exceeded: the probe needs more than 512 bytes",
  ]);
});

Deno.test("array subscripts: constant and in range", () => {
  assert.deepEqual(
    messages("tracepoint:raw_syscalls:sys_enter { @ = args->args[6]; }"),
    ["Index must be an integer literal from 0 to 5"],
  );
  assert.deepEqual(messages("BEGIN { @ = pid[1]; }"), [
    "Array subscripts are supported on tracepoint array fields and pointers only",
  ]);
});

Deno.test("a probe that needs more stack than the kernel gives is a compile error", () => {
  // Eight 64-byte strings in one map key, built on the stack, plus the
  // count: more than 512 bytes. A clean error, not an internal one.
  const s = "str(args->filename)";
  const key = Array(8).fill(s).join(", ");
  for (
    const body of [
      `@m[${key}] = count();`,
      `@m[${key}] = 1; printf("%d\\n", @m[${key}]);`,
    ]
  ) {
    assert.deepEqual(
      messages(`tracepoint:syscalls:sys_enter_openat { ${body} }`),
      ["Stack limit exceeded: the probe needs more than 512 bytes"],
      body,
    );
  }
});
