/**
 * The settings of a `config = { ... }` block that change what the
 * compiler emits: `max_strlen`, `stack_mode` and `missing_probes`
 * (bpftrace 0.26), and their environment variables.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { findBinary } from "../../runtime/probes/find_binary.ts";
import type { Program } from "../../runtime/program.ts";

function errorOf(src: string): string {
  try {
    compile(src);
  } catch (e) {
    return String((e as Error).message);
  }
  assert.fail(`compiled: ${src}`);
}

function withEnv<T>(vars: Record<string, string>, f: () => T): T {
  for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
  try {
    return f();
  } finally {
    for (const k of Object.keys(vars)) Deno.env.delete(k);
  }
}

function map(p: Program, name: string) {
  const m = p.maps.find((x) => x.name === name);
  assert.ok(m !== undefined, name);
  return m;
}

Deno.test("max_strlen sizes str(), buf() and __data_loc strings", () => {
  const src = (n: number) =>
    `config = { max_strlen = ${n} } tracepoint:syscalls:sys_enter_openat { @s[str(args.filename)] = count(); @b[buf(args.filename, args.flags)] = count(); } tracepoint:sched:sched_process_exec { @e[args.filename] = count(); }`;
  for (const n of [8, 64, 100]) {
    const p = compile(src(n));
    assert.equal(map(p, "@s").key.size, n);
    assert.equal(map(p, "@b").key.size, n + 1);
    assert.equal(map(p, "@e").key.size, n);
  }
  const plain = compile(
    "tracepoint:syscalls:sys_enter_openat { @s[str(args.filename)] = count(); }",
  );
  assert.equal(map(plain, "@s").key.size, 64);
  // str(s, n) keeps at most max_strlen bytes.
  const capped = compile(
    "config = { max_strlen = 8 } tracepoint:syscalls:sys_enter_openat { @s[str(args.filename, 30)] = count(); }",
  );
  assert.equal(map(capped, "@s").key.size, 8);
});

Deno.test("max_strlen: BPFTRACE_MAX_STRLEN without a block; literals up to it", () => {
  const p = withEnv({ BPFTRACE_MAX_STRLEN: "16" }, () =>
    compile(
      "tracepoint:syscalls:sys_enter_openat { @s[str(args.filename)] = count(); }",
    ));
  assert.equal(map(p, "@s").key.size, 16);
  const long = "x".repeat(90);
  assert.match(
    errorOf(`BEGIN { printf("%s\\n", "${long}"); }`),
    /String is too long \(over 64 bytes\)/,
  );
  compile(
    `config = { max_strlen = 100 } BEGIN { printf("%s\\n", "${long}"); }`,
  );
});

Deno.test("max_strlen: strings too large for the BPF stack are a clear error", () => {
  const msg = errorOf(
    "config = { max_strlen = 1024 } tracepoint:syscalls:sys_enter_openat { $s = str(args.filename); @[$s] = count(); }",
  );
  assert.match(
    msg,
    /^Stack limit exceeded: the probe needs more than 512 bytes \(max_strlen is 1024: tsbpf keeps strings on the BPF stack/,
  );
});

Deno.test("stack_mode sets the mode of kstack/ustack written without one", () => {
  const src =
    "tracepoint:syscalls:sys_enter_getppid { @a[kstack] = count(); @b[kstack(3)] = count(); @c[kstack(perf)] = count(); @d[kstack(bpftrace, 2)] = count(); @e[ustack(raw)] = count(); }";
  const modes = (p: Program) =>
    ["@a", "@b", "@c", "@d", "@e"].map((n) => {
      const k = map(p, n).key;
      return k.kind === "kstack" || k.kind === "ustack" ? k.mode : "?";
    });
  assert.deepEqual(modes(compile(src)), [
    undefined,
    undefined,
    "perf",
    undefined,
    "raw",
  ]);
  assert.deepEqual(modes(compile(`config = { stack_mode = raw } ${src}`)), [
    "raw",
    "raw",
    "perf",
    undefined,
    "raw",
  ]);
  const env = withEnv({ BPFTRACE_STACK_MODE: "perf" }, () => compile(src));
  assert.deepEqual(modes(env), ["perf", "perf", "perf", undefined, "raw"]);
  assert.match(
    errorOf("BEGIN { @[kstack(fancy)] = 1; }"),
    /kstack\(\) mode must be bpftrace, perf or raw, not "fancy"/,
  );
  assert.match(
    errorOf("BEGIN { @[ustack(build_id)] = 1; }"),
    /ustack\(build_id\) is not supported by tsbpf/,
  );
});

Deno.test("missing_probes: warn and ignore drop what does not exist, error keeps failing", () => {
  const probes =
    "tracepoint:syscalls:sys_enter_getppid,tracepoint:syscalls:tsbpf_nonsense { @c = count(); } uprobe:libc:tsbpf_no_such_function { @u = count(); } uprobe:/nonexistent/tsbpf:main { @v = count(); }";
  const warn = compile(`config = { missing_probes = warn } ${probes}`);
  assert.deepEqual(
    warn.probes.map((p) => p.attach.map((a) => a.text)),
    [["tracepoint:syscalls:sys_enter_getppid"]],
  );
  assert.deepEqual(warn.config?.warnings.map((w) => w.split("\n")[0]), [
    "stdin:1:74: WARNING: No matches for tracepoint syscalls:tsbpf_nonsense. Skipping.",
    `stdin:1:127: WARNING: No matches for uprobe ${
      findBinary("libc")
    }:tsbpf_no_such_function. Skipping.`,
    "stdin:1:127: WARNING: Probe has no valid attach points. It is being removed which may cause issues with program behavior.",
    "stdin:1:180: WARNING: No matches for uprobe /nonexistent/tsbpf:main. Skipping.",
    "stdin:1:180: WARNING: Probe has no valid attach points. It is being removed which may cause issues with program behavior.",
  ]);
  const ignore = compile(`config = { missing_probes = ignore } ${probes}`);
  assert.equal(ignore.probes.length, 1);
  assert.deepEqual(ignore.config?.warnings, []);
  const env = withEnv(
    { BPFTRACE_MISSING_PROBES: "ignore" },
    () => compile(probes),
  );
  assert.equal(env.probes.length, 1);
  // Nothing left: bpftrace's error.
  assert.match(
    errorOf(
      "config = { missing_probes = ignore } tracepoint:tsbpf_nonsense:* { }",
    ),
    /^No probes to attach$/,
  );
  // The default fails on a probe left without attach points, in
  // bpftrace 0.26's words (src/ast/passes/probe_prune.cpp); a wildcard
  // matching nothing beside other attach points is dropped.
  assert.match(
    errorOf("tracepoint:tsbpf_nonsense:* { }"),
    /^Probe has no valid attach points\. If this is expected, set the 'missing_probes' config variable to 'warn'\.$/,
  );
  assert.equal(
    compile(
      "tracepoint:tsbpf_nonsense:*, tracepoint:syscalls:sys_enter_getppid { }",
    ).probes[0].attach.length,
    1,
  );
});
