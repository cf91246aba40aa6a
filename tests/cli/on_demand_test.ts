/**
 * The command-line tool loads the macro, import and config passes, the
 * ELF and USDT readers, kallsyms, getopt() and the code of find(),
 * strlen() and `for` loops only for scripts that may use them
 * (`runtime/compiler/on_demand.ts`): which texts load what, and that the
 * CLI, where nothing is loaded up front, compiles and runs scripts using
 * each of them (an internal "used before it was loaded" error otherwise).
 * That a plain one-liner's start-up graph holds none of them is
 * `module_graph_test.ts`.
 */
import assert from "node:assert/strict";
import { onDemandNeeds } from "../../runtime/compiler/on_demand.ts";
import {
  hasStackTrace,
  kernelSkipReason,
  runCli,
  tempFile,
} from "./helpers.ts";

/** Whether the kernel's BTF is there to read (its variables). */
function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("onDemandNeeds: what a script's text may need", () => {
  const elf = ["elf", "uprobes", "symbolizer"];
  const cases: [string, string[], string[]][] = [
    ["BEGIN { exit(); }", [], []],
    ["tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }", [], []],
    ["macro one() { 1 } BEGIN { print(one()); }", [], ["macros"]],
    ["config = { max_map_keys = 2 } BEGIN { }", [], ["config"]],
    ["uprobe:/bin/sh:main { }", [], elf],
    ["ur:/bin/sh:main { }", [], elf],
    ["profile:hz:99 { @[ustack] = count(); }", [], elf],
    ['BEGIN { print(usym(1)); print(uaddr("x")); }', [], elf],
    ["usdt:/bin/python3:gc__start { }", [], [...elf, "usdt"]],
    ["U:/bin/python3:gc__start { }", [], [...elf, "usdt"]],
    ["profile:hz:99 { @[kstack] = count(); }", [], ["kallsyms"]],
    ['BEGIN { print(ksym(kaddr("vfs_read"))); }', [], ["kallsyms"]],
    ["kprobe:vfs_read { @[func] = count(); }", [], ["kallsyms"]],
    ["kprobe:vfs_* { @ = count(); }", [], ["kfuncs"]],
    ["kr:vmlinux:vfs_rea? { @ = count(); }", [], ["kfuncs"]],
    ["$1:vfs_* { @ = count(); }", ["k"], ["kfuncs"]],
    ['BEGIN { print(getopt("n", 1)); }', [], ["getopt"]],
    ["BEGIN { print(macaddr(1)); }", [], ["funcs"]],
    ["BEGIN { print(cgroup_path(cgroup)); }", [], ["funcs"]],
    ["BEGIN { $v = 0; print(find(@m, 1, $v)); }", [], ["funcs", "find"]],
    ['BEGIN { print(*percpu_kaddr("process_counts")); }', [], [
      "funcs",
      "percpu",
    ]],
    ["BEGIN { print(strlen(comm)); }", [], ["strlen"]],
    ['BEGIN { print(strcontains(comm, "a")); }', [], ["strstr"]],
    ['BEGIN { print(strstr(comm, "a")); }', [], ["strstr"]],
    ['BEGIN { printf("%gr %-4gr\\n", 1, 2); }', [], ["gfp"]],
    ['BEGIN { print(strcap("ab")); }', [], ["funcs", "strlen"]],
    ["tracepoint:syscalls:sys_enter_openat { print(args); }", [], ["args"]],
    ["tracepoint:syscalls:sys_enter_openat { @[args] = 1; }", [], ["args"]],
    [
      "tracepoint:syscalls:sys_enter_openat { @[args.dfd, args->mode] = 1; }",
      [],
      [],
    ],
    ["fentry:vfs_read { @[args.count] = count(); }", [], ["btf"]],
    ["kretfunc:vfs_read { @ = retval; }", [], ["btf"]],
    ["rt:sys_exit { @ = args.ret; }", [], ["btf"]],
    ["$1:vfs_read { }", ["fexit"], ["btf"]],
    ["enum { ONE = 1 } BEGIN { print(ONE); }", [], ["enums"]],
    ["struct a { int x; } BEGIN { print(sizeof(struct a)); }", [], ["layout"]],
    ["struct /* c */ a { int x; } BEGIN { }", [], ["layout"]],
    ["kprobe:f { @ = ((struct sock *)arg0)->sk_mark; }", [], []],
    ["BEGIN { for ($i : 0..(pid % 9)) { @ = count(); } }", [], ["loops"]],
    ["BEGIN { @m[1] = 1; for ($kv : @m) { print($kv); } }", [], ["loops"]],
    ["BEGIN { @format = 1; }", [], []],
    // A positional parameter may be the provider.
    ["$1:/bin/sh:main { }", ["uprobe"], elf],
    ["$1:/bin/sh:main { }", [], []],
  ];
  for (const [text, params, want] of cases) {
    assert.deepEqual(onDemandNeeds(text, params), want, text);
  }
  // An imported file is read later: anything may be needed.
  assert.deepEqual(onDemandNeeds('import "lib.bt"; BEGIN { }'), [
    "macros",
    "imports",
    "config",
    "missing",
    "elf",
    "uprobes",
    "symbolizer",
    "usdt",
    "kallsyms",
    "kfuncs",
    "getopt",
    "funcs",
    "find",
    "strlen",
    "strstr",
    "gfp",
    "args",
    "btf",
    "enums",
    "layout",
    "loops",
    "percpu",
  ]);
});

Deno.test("the CLI compiles scripts that use each module loaded on demand", async () => {
  const lib = tempFile("macro two() { 2 }\n", ".bt");
  const cases: [string[], number, RegExp][] = [
    [
      ["-e", 'macro one() { 1 } BEGIN { printf("%d\\n", one()); exit(); }'],
      0,
      /^$/,
    ],
    [
      ["-e", 'config = { license = "GPL" } BEGIN { exit(); }'],
      0,
      /WARNING: license is not supported by tsbpf: ignored/,
    ],
    [
      ["-e", `import "${lib}"; BEGIN { printf("%d\\n", two()); exit(); }`],
      0,
      /^$/,
    ],
    [
      ["-e", 'uprobe:/nonexistent/bin:main { @ = uaddr("main"); }'],
      2,
      /ERROR: .*nonexistent/,
    ],
    [
      ["-e", '$1:/nonexistent/bin:main { @ = uaddr("main"); }', "ur"],
      2,
      /ERROR: .*nonexistent/,
    ],
    [
      ["-e", "usdt:/nonexistent/bin:p:n { }"],
      2,
      /ERROR: usdt target file '\/nonexistent\/bin' does not exist/,
    ],
    [
      [
        "-e",
        'BEGIN { printf("%d\\n", getopt("n", 1)); exit(); }',
        "--",
        "--n=3",
      ],
      0,
      /^$/,
    ],
    [
      [
        "-e",
        'BEGIN { @m[1] = 2; $v = 0; if (find(@m, 1, $v)) { printf("%d %d\\n", $v, find(@m, 2, $v)); } exit(); }',
      ],
      0,
      /^$/,
    ],
    [
      [
        "-e",
        'BEGIN { $n = "b"; printf("%gr %d %d\\n", 1, strcontains("ab", $n), strstr("ab", "b")); exit(); }',
      ],
      0,
      /^$/,
    ],
    [
      [
        "-e",
        'BEGIN { printf("%d %d\\n", strlen(comm), strcap(comm)); exit(); }',
      ],
      0,
      /^$/,
    ],
    [
      [
        "-e",
        'BEGIN { $n = 0; for ($i : 0..(pid % 9 + 3)) { let $x = $i; $n += $x; } @m[1] = 2; for ($kv : @m) { $n += $kv.1; } printf("%d\\n", $n); exit(); }',
      ],
      0,
      /^$/,
    ],
    [
      ["-e", 'BEGIN { @ = kaddr("no_such_symbol_tsbpf"); }'],
      2,
      /ERROR: Failed to resolve kernel symbol: no_such_symbol_tsbpf/,
    ],
    [
      ["-e", 'BEGIN { @ = percpu_kaddr("no_such_var_tsbpf"); }'],
      2,
      /ERROR: Could not resolve variable "no_such_var_tsbpf" from BTF/,
    ],
    // The variable's id comes from the kernel's BTF (the bundle has none).
    [
      [
        "--backend",
        "interp",
        "-e",
        'BEGIN { @ = *percpu_kaddr("process_counts", 0); exit(); }',
      ],
      existsSync("/sys/kernel/btf/vmlinux") ? 0 : 2,
      /^$|Could not resolve variable/,
    ],
  ];
  try {
    for (const [args, code, stderr] of cases) {
      const r = await runCli(["--dry-run", ...args]);
      assert.ok(!hasStackTrace(r.stderr), r.stderr);
      assert.doesNotMatch(r.stderr, /Internal error/, args.join(" "));
      assert.equal(r.code, code, `${args.join(" ")}\n${r.stderr}`);
      assert.match(r.stderr, stderr, args.join(" "));
    }
  } finally {
    Deno.removeSync(lib);
  }
});

const skip = kernelSkipReason();
if (skip !== undefined) {
  console.log(`Skipping the CLI's kernel symbols on demand: ${skip}`);
}

Deno.test({
  name: "the CLI resolves kernel symbols with kallsyms loaded on demand",
  ignore: skip !== undefined,
  async fn() {
    const r = await runCli([
      "-e",
      'BEGIN { printf("%s\\n", ksym(kaddr("vfs_read"))); exit(); }',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^vfs_read$/m);
  },
});

Deno.test("the CLI prints %gr with the GFP names loaded on demand", async () => {
  const r = await runCli([
    "--backend",
    "interp",
    "-e",
    'begin { printf("%gr\\n", 0xcc0); exit(); }',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    r.stdout.split("\n").filter((l) => l.startsWith("GFP")),
    ["GFP_KERNEL"],
  );
});
