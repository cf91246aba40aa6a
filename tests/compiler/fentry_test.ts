/**
 * fentry/fexit (`kfunc`/`kretfunc`) and BTF-typed rawtracepoint probes
 * as bpftrace 0.26 has them (docs/language.md, tests/runtime/probe):
 * attach points found in the kernel's BTF (modules and wildcards
 * expanded), `args.NAME` read from the u64 slot of its argument at its
 * own size, fexit's `retval` from the slot after the arguments, the
 * program type and BTF id a kernel loads them by, and the located errors
 * for what BTF does not have. Needs the kernel's BTF: skipped with the
 * reason where /sys/kernel/btf/vmlinux is not readable.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import { ProgType } from "../../runtime/bpf/opcodes.ts";
import { kernelTypes } from "../../runtime/btf/load_types.ts";
import { btfProbe } from "../../runtime/btf/btf_probes.ts";
import type { Insn } from "../../runtime/bpf/insn.ts";
import type { ProbeProgram, Program } from "../../runtime/program.ts";

const noBtf = kernelTypes().source === "btf"
  ? undefined
  : "the kernel's BTF (/sys/kernel/btf/vmlinux) is not readable";
if (noBtf !== undefined) console.log(`Skipping the fentry tests: ${noBtf}`);

function test(name: string, fn: () => void): void {
  Deno.test({ name, ignore: noBtf !== undefined, fn });
}

function build(src: string): Program {
  return compile(src, { tracefsAvailable: false });
}

/** The formatted diagnostics of a script that does not compile. */
function failure(src: string): string {
  try {
    build(src);
  } catch (e) {
    if (e instanceof CompileErrors) return e.format();
    throw e;
  }
  throw new Error(`compiled: ${src}`);
}

/** The loads through the context register (r1, kept in r6) of a probe. */
function ctxLoads(p: ProbeProgram): { off: number; size: number }[] {
  // Programs copy r1 to r6 first; every ldx from r6 reads the context.
  const sizes: Record<number, number> = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 };
  return p.insns.filter((i: Insn) =>
    (i.code & 0x07) === 0x01 && i.src === 6 && i.code !== 0x18
  ).map((i) => ({ off: i.off, size: sizes[i.code & 0x18] }));
}

test("fentry:FUNC: a TRACING program for the function's BTF id, args.NAME from its slot", () => {
  const prog = build("fentry:vfs_read { @[args.count] = count(); }");
  assert.equal(prog.probes.length, 1);
  const p = prog.probes[0];
  const fn = btfProbe("function", "vfs_read")!;
  assert.equal(p.progType, ProgType.TRACING);
  assert.deepEqual(p.attach, [{
    kind: "fentry",
    target: "vfs_read",
    text: "fentry:vmlinux:vfs_read",
    btf: { id: fn.btfId },
  }]);
  // One u64 slot per argument; `count` (size_t) is the third.
  const index = fn.params.findIndex((x) => x.name === "count");
  assert.equal(p.ctx.size, fn.params.length * 8);
  assert.deepEqual(ctxLoads(p), [{ off: index * 8, size: 8 }]);
});

test("kfunc, f and fentry:vmlinux: name the same probe; kretfunc and fr fexit", () => {
  const text = (src: string) => build(src).probes[0].attach[0].text;
  for (
    const src of [
      "kfunc:vfs_read {}",
      "f:vfs_read {}",
      "fentry:vmlinux:vfs_read {}",
    ]
  ) {
    assert.equal(text(src), "fentry:vmlinux:vfs_read", src);
  }
  for (
    const src of ["kretfunc:vfs_read {}", "fr:vfs_read {}", "fexit:vfs_read {}"]
  ) {
    assert.equal(text(src), "fexit:vmlinux:vfs_read", src);
  }
});

test("fexit: retval from the slot after the arguments, typed by the return type", () => {
  const fn = btfProbe("function", "vfs_read")!;
  const p = build("fexit:vfs_read { @[retval < 0] = count(); }").probes[0];
  assert.equal(p.progType, ProgType.TRACING);
  assert.equal(p.ctx.size, (fn.params.length + 1) * 8);
  assert.deepEqual(ctxLoads(p), [{ off: fn.params.length * 8, size: 8 }]);
  // ssize_t is signed: `retval < 0` is a signed compare (jsgt/jslt/...).
  const signedJumps = p.insns.filter((i) =>
    (i.code & 0x07) === 0x05 && [0x60, 0x70, 0xc0, 0xd0].includes(i.code & 0xf0)
  );
  assert.ok(signedJumps.length > 0, "no signed compare for ssize_t retval");
});

test("a narrower argument is read at its own size (the slot's low bytes)", () => {
  // irq_handler_entry(int irq, struct irqaction *action)
  const p = build("rawtracepoint:irq_handler_entry { @[args.irq] = count(); }")
    .probes[0];
  assert.deepEqual(ctxLoads(p), [{ off: 0, size: 4 }]);
  assert.equal(p.progType, ProgType.RAW_TRACEPOINT);
  assert.equal(p.attach[0].text, "rawtracepoint:irq_handler_entry");
});

test("a wildcard fentry is one program per function, each for its BTF id", () => {
  const prog = build(
    "fentry:vfs_rea*, fentry:vfs_write { @[probe] = count(); }",
  );
  const texts = prog.probes.map((p) => p.attach[0].text);
  assert.ok(texts.includes("fentry:vmlinux:vfs_read"), texts.join());
  assert.ok(texts.includes("fentry:vmlinux:vfs_write"), texts.join());
  for (const p of prog.probes) {
    assert.equal(p.attach.length, 1);
    const fn = btfProbe("function", p.attach[0].target)!;
    assert.equal(p.attach[0].btf?.id, fn.btfId);
  }
});

test("rawtracepoint:MODULE:EVENT and module wildcards expand from BTF", () => {
  const one = build("rawtracepoint:vmlinux:sys_exit { @ = args.ret; }");
  assert.equal(one.probes[0].attach[0].text, "rawtracepoint:vmlinux:sys_exit");
  assert.equal(one.probes[0].attach[0].target, "sys_exit");
  const wild = build("rawtracepoint:vmlinu*:sys_e* { @[probe] = count(); }");
  assert.deepEqual(
    wild.probes.flatMap((p) => p.attach.map((a) => a.text)).sort(),
    ["rawtracepoint:vmlinux:sys_enter", "rawtracepoint:vmlinux:sys_exit"],
  );
});

test("args whole is a record of the prototype's arguments, pointers in hex", () => {
  const prog = build("fentry:vfs_open { @ = args; }");
  const v = prog.maps.find((m) => m.name === "@")!;
  const desc = JSON.stringify(v);
  assert.match(desc, /"path"/);
  assert.match(desc, /"file"/);
});

test("a pointer argument is typed by BTF: -> reads its struct's members", () => {
  const prog = build(
    'rawtracepoint:irq_handler_entry { printf("%s\\n", str(args.action->name)); }',
  );
  // The member is read through a probe read, not from the context.
  assert.ok(prog.probes[0].insns.some((i) => i.code === 0x85));
});

test("missing functions and events: located errors with the nearest name", () => {
  assert.equal(
    failure("BEGIN { }\nfentry:vfs_raed { }"),
    'stdin:2:1: ERROR: No matches for fentry vfs_raed; did you mean "vfs_read"?\n' +
      "fentry:vfs_raed { }\n" + "~".repeat(15),
  );
  assert.match(
    failure("rawtracepoint:nonsense_tsbpf:sys_exit { }"),
    /^stdin:1:1: ERROR: No matches for rawtracepoint nonsense_tsbpf:sys_exit\./,
  );
  assert.match(
    failure("fexit:tsbpf_no_such_fn* { }"),
    /^stdin:1:1: ERROR: No matches for fexit tsbpf_no_such_fn\*\./,
  );
});

test("unknown arguments, retval outside fexit, and args of other probes", () => {
  assert.equal(
    failure("fentry:vfs_read { @ = args.cnt; }"),
    'stdin:1:23: ERROR: Function "vfs_read" has no argument "cnt"; did you mean "count"?\n' +
      "fentry:vfs_read { @ = args.cnt; }\n" +
      " ".repeat(22) + "~".repeat(8),
  );
  assert.match(
    failure("fentry:vfs_read { @ = retval; }"),
    /ERROR: The retval builtin can only be used with kretprobes, uretprobes and fexit/,
  );
  assert.match(
    failure("rawtracepoint:sys_exit { @ = args.nope; }"),
    /ERROR: Raw tracepoint "sys_exit" has no argument "nope"/,
  );
  assert.match(
    failure("interval:s:1 { @ = args.x; }"),
    /ERROR: The args builtin can only be used with tracepoints, rawtracepoints, fentry and fexit/,
  );
});

test("fexit of a void function has no retval", () => {
  const voidFn = ["synchronize_rcu", "kfree", "schedule"].find((f) => {
    const p = btfProbe("function", f);
    return p !== undefined && p.returns === 0;
  });
  if (voidFn === undefined) return; // no such function in this build
  assert.match(
    failure(`fexit:${voidFn} { @ = retval; }`),
    new RegExp(`ERROR: Function "${voidFn}" returns void: fexit has no retval`),
  );
});

Deno.test({
  name: "missing_probes = warn drops an fentry or rawtracepoint BTF lacks",
  ignore: noBtf !== undefined,
  async fn() {
    const { dropMissingProbes } = await import(
      "../../runtime/compiler/missing_probes.ts"
    );
    const { Diagnostics } = await import("../../runtime/lang/diagnostics.ts");
    const { parse } = await import("../../runtime/lang/parser.ts");
    const src =
      "fentry:vfs_read,fentry:tsbpf_nonsense { } rawtracepoint:sys_exit,rawtracepoint:vmlinux:tsbpf_nope { }";
    const diag = new Diagnostics("stdin", src);
    const warnings: { message: string }[] = [];
    const tree = dropMissingProbes(
      parse(src).ast,
      diag,
      "warn",
      false,
      warnings as never,
    );
    assert.deepEqual(
      tree.probes.map((p) => p.attachPoints.map((a) => a.raw)),
      [["fentry:vfs_read"], ["rawtracepoint:sys_exit"]],
    );
    assert.deepEqual(warnings.map((w) => w.message), [
      "No matches for fentry tsbpf_nonsense. Skipping.",
      "No matches for rawtracepoint vmlinux:tsbpf_nope. Skipping.",
    ]);
  },
});

test("usermode in fentry and fexit is 0: a kernel function runs in kernel mode", () => {
  for (
    const src of [
      "fentry:vfs_read { @ = usermode; }",
      "fexit:vfs_read { @ = usermode; }",
    ]
  ) {
    const p = build(src).probes[0];
    assert.deepEqual(ctxLoads(p), [], src);
  }
});
