/**
 * The `pid` compile option filters every probe but BEGIN/END by process,
 * and `cpid` is a constant only with the `cpid` option.
 *
 * @module
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { entries, events, load, run, tpCtx, valueOf } from "./harness.ts";

Deno.test("pid option: probes other than BEGIN/END only fire in that process", () => {
  const tp = "tracepoint:syscalls:sys_enter_getppid";
  const src = `BEGIN { @b = count(); } ${tp} /comm == "x"/ { @n = count(); }` +
    ` END { @e = count(); }`;
  const l = load(src, { pid: 4242 }, { pid: 77, comm: "x" });
  const ctx = tpCtx(l, tp, {});
  run(l, "BEGIN");
  run(l, "END");
  run(l, tp, ctx);
  run(l, tp, ctx, { ...l.env, pid: 4242 });
  run(l, tp, ctx, { ...l.env, pid: 4242, comm: "y" });
  run(l, tp, ctx, { ...l.env, pid: 4243, tid: 4242 });
  assert.deepEqual(entries(l, "@b")[0].value, [1n]);
  assert.deepEqual(entries(l, "@e")[0].value, [1n]);
  // Only the run with pid 4242 and comm "x" counts.
  assert.deepEqual(entries(l, "@n")[0].value, [1n]);
});

Deno.test("pid option: the filter reads pid_tgid once, the predicate reuses it", () => {
  const src =
    "tracepoint:raw_syscalls:sys_enter /pid == 1234/ { @[args->id] = count(); }";
  const a = compile(src).probes[0].insns;
  const b = compile(src, { pid: 99 }).probes[0].insns;
  assert.equal(b.length, a.length + 3);
  // call get_current_pid_tgid; keep it in a slot; r >>= 32;
  // if r != 99 goto exit; the predicate loads pid (the upper half).
  assert.deepEqual([b[1].code, b[1].imm], [0x85, 14]);
  assert.deepEqual([b[2].code, b[2].dst, b[2].src], [0x7b, 10, 0]);
  assert.deepEqual([b[3].code, b[3].imm], [0x77, 32]);
  assert.deepEqual([b[4].code, b[4].imm], [0x55, 99]);
  assert.deepEqual([b[5].code, b[5].src, b[5].off], [0x61, 10, b[2].off + 4]);
  assert.equal(b.filter((i) => i.code === 0x85 && i.imm === 14).length, 1);
  assert.equal(
    compile("BEGIN { @x = 1; }", { pid: 99 }).probes[0].insns.length,
    compile("BEGIN { @x = 1; }").probes[0].insns.length,
  );
});

Deno.test("cpid is a constant with the cpid option, 0 and a warning without", () => {
  const l = load(
    "BEGIN { @c = cpid; @same = pid == cpid ? 1 : 0; }",
    { cpid: 31337 },
    { pid: 31337 },
  );
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@c"), 31337n);
  assert.equal(valueOf(l, "@same"), 1n);
  // bpftrace 0.26 (stdlib/base.bt): cpid without -c warns and reads 0;
  // has_cpid says whether there is a child.
  const n = load("BEGIN { @c = cpid; @h = has_cpid; }", {}, { pid: 31337 });
  run(n, "BEGIN");
  assert.equal(valueOf(n, "@c"), 0n);
  assert.equal(valueOf(n, "@h"), 0n);
  assert.deepEqual(events(n).map((e) => [e.kind, e.format]), [
    ["warnf", "No child command (`-c`); cpid is zero"],
  ]);
  const w = load("BEGIN { @h = has_cpid; }", { cpid: 7 }, { pid: 1 });
  run(w, "BEGIN");
  assert.equal(valueOf(w, "@h"), 1n);
  assert.throws(() => compile("BEGIN { }", { pid: -1 }), RangeError);
  assert.throws(() => compile("BEGIN { }", { cpid: 1.5 }), RangeError);
});
