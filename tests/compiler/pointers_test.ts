import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { Helper } from "../../runtime/bpf/opcodes.ts";
import type { MemorySegment } from "../../runtime/vm/environment.ts";
import { PT_REGS, PT_REGS_SIZE } from "../../runtime/compiler/sema.ts";
import { events, load, run, tpCtx, valueOf } from "./harness.ts";

/**
 * Pointers know where they point: uprobe arguments, `retval` and `reg()`
 * point into user memory, kprobe ones into kernel memory, syscall
 * tracepoint pointers into user memory; the origin survives variables,
 * maps, ternaries and arithmetic. Pointers that know their pointee can be
 * indexed (`args->argv[1]`), dereferenced (`*p`) and stepped (`p + 1`
 * moves by the pointee's size, as bpftrace's).
 */

const enc = new TextEncoder();

function cstr(s: string): Uint8Array {
  return enc.encode(s + "\0");
}

function regs(values: Record<string, bigint>): Uint8Array {
  const b = new Uint8Array(PT_REGS_SIZE);
  const dv = new DataView(b.buffer);
  for (const [r, v] of Object.entries(values)) {
    dv.setBigUint64(PT_REGS[r], v, true);
  }
  return b;
}

/** The helpers a compiled probe calls, in order. */
function calls(src: string, probe = 0): number[] {
  return compile(src).probes[probe].insns.filter((i) => i.code === 0x85)
    .map((i) => i.imm);
}

/** The same bytes at one address, readable only as user or kernel memory. */
function only(space: "user" | "kernel", addr: bigint, s: string) {
  return [{ addr, bytes: cstr(s), space }] satisfies MemorySegment[];
}

Deno.test("str(retval) in a uretprobe reads user memory", () => {
  const text = "uretprobe:/bin/bash:readline";
  const src = `${text} { printf("%s\\n", str(retval)); }`;
  assert.ok(calls(src).includes(Helper.probe_read_user_str));
  const l = load(src, {}, { memory: only("user", 0x7000n, "ls -l") });
  run(l, text, regs({ ax: 0x7000n }));
  assert.deepEqual(events(l)[0].args, ["ls -l"]);
});

Deno.test("str(argN) and str(reg()) in a uprobe read user memory", () => {
  const text = "uprobe:/bin/bash:readline";
  const src = `${text} { printf("%s|%s|%s\\n", str(arg0), str(reg("si")),` +
    ` str(arg1 + 2)); }`;
  const l = load(src, {}, {
    memory: [
      ...only("user", 0x7000n, "prompt$ "),
      ...only("user", 0x8000n, "second"),
    ],
  });
  run(l, text, regs({ di: 0x7000n, si: 0x8000n }));
  assert.deepEqual(events(l)[0].args, ["prompt$ ", "second", "cond"]);
});

Deno.test("kprobe arguments and kretprobe retval stay kernel pointers", () => {
  const k = calls('kprobe:do_sys_open { printf("%s\\n", str(arg1)); }');
  assert.ok(k.includes(Helper.probe_read_kernel_str));
  assert.ok(!k.includes(Helper.probe_read_user_str));
  const kr = calls('kretprobe:d_path { printf("%s\\n", str(retval)); }');
  assert.ok(kr.includes(Helper.probe_read_kernel_str));
  const text = "kprobe:do_sys_open";
  const l = load(`${text} { printf("%s\\n", str(arg1)); }`, {}, {
    memory: only("kernel", 0xffff8000n, "/kernel/path"),
  });
  run(l, text, regs({ si: 0xffff8000n }));
  assert.deepEqual(events(l)[0].args, ["/kernel/path"]);
});

Deno.test("a pointer kept in a map or a variable still reads user memory", () => {
  const enter = "tracepoint:syscalls:sys_enter_openat";
  const exit = "tracepoint:syscalls:sys_exit_openat";
  const src = `${enter} { @fn[tid] = args->filename; $p = args->filename;` +
    ` $q = pid > 0 ? args->filename : 0; printf("%s %s\\n", str($p), str($q)); }` +
    ` ${exit} { printf("%s\\n", str(@fn[tid])); delete(@fn[tid]); }`;
  for (const p of compile(src).probes) {
    const c = p.insns.filter((i) => i.code === 0x85).map((i) => i.imm);
    assert.ok(!c.includes(Helper.probe_read_kernel_str), p.name);
  }
  const l = load(src, {}, { memory: only("user", 0x7100n, "/etc/passwd") });
  run(l, enter, tpCtx(l, enter, { filename: 0x7100 }));
  run(l, exit, tpCtx(l, exit, { ret: 3 }));
  assert.deepEqual(events(l).map((e) => e.args), [
    ["/etc/passwd", "/etc/passwd"],
    ["/etc/passwd"],
  ]);
});

/** An execve argv in user memory: pointers at 0x9000, strings after. */
function argv(words: string[]): MemorySegment[] {
  const ptrs = new Uint8Array(8 * (words.length + 1));
  const dv = new DataView(ptrs.buffer);
  const segs: MemorySegment[] = [];
  words.forEach((w, i) => {
    const at = 0xa000n + BigInt(i) * 0x100n;
    dv.setBigUint64(8 * i, at, true);
    segs.push(...only("user", at, w));
  });
  return [{ addr: 0x9000n, bytes: ptrs, space: "user" }, ...segs];
}

const EXECVE = "tracepoint:syscalls:sys_enter_execve";

Deno.test("args->argv[i], *(args->argv + i) and $p[i] read the i-th string", () => {
  const src = `${EXECVE} { $i = 2; $p = args->argv;` +
    ` printf("%s|%s|%s|%s|%s|%s\\n", str(args->argv[0]), str(args->argv[1]),` +
    ` str(*(args->argv + 1)), str(*args->argv), str($p[2]),` +
    ` str(args->argv[$i])); }`;
  const l = load(src, {}, { memory: argv(["/bin/echo", "aa", "bb"]) });
  run(l, EXECVE, tpCtx(l, EXECVE, { argv: 0x9000 }));
  assert.deepEqual(events(l)[0].args, [
    "/bin/echo",
    "aa",
    "aa",
    "/bin/echo",
    "bb",
    "bb",
  ]);
});

Deno.test("past the end of argv the NULL pointer reads as an empty string", () => {
  const src = `${EXECVE} { printf("[%s] %d\\n", str(args->argv[3]),` +
    ` args->argv[3]); }`;
  const l = load(src, {}, { memory: argv(["/bin/echo", "aa", "bb"]) });
  run(l, EXECVE, tpCtx(l, EXECVE, { argv: 0x9000 }));
  assert.deepEqual(events(l)[0].args, ["", 0n]);
});

Deno.test("unary * reads the pointee's type, or a u64 through a plain integer", () => {
  const bytes = new Uint8Array([0xfe, 0x01, 0x02, 0x03, 4, 5, 6, 7, 8, 9]);
  const src = `${EXECVE} { @c = *args->filename;` +
    ` @w = *(uint32 *)args->filename; @s = *(int16 *)(args->filename + 2);` +
    ` @q = *(args->filename + 0); $a = (uint64)args->filename;` +
    ` @u = *($a + 1); @x = *(int8 *)args->filename; }`;
  const l = load(src, {}, {
    memory: [{ addr: 0x7000n, bytes, space: "user" }],
  });
  run(l, EXECVE, tpCtx(l, EXECVE, { filename: 0x7000 }));
  assert.equal(valueOf(l, "@c"), -2n);
  assert.equal(valueOf(l, "@w"), 0x030201fen);
  assert.equal(valueOf(l, "@s"), 0x0302n);
  assert.equal(valueOf(l, "@q"), -2n);
  // A plain integer address steps by bytes and reads 8 of them.
  assert.equal(valueOf(l, "@u"), 0x0807060504030201n);
  assert.equal(valueOf(l, "@x"), -2n);
});

Deno.test("a pointer kept in a map keeps its pointee: + steps by elements (bpftrace 0.17)", () => {
  const src = `${EXECVE} { @x[tid] = args->argv; }` +
    ` tracepoint:syscalls:sys_exit_execve { printf("%s\\n", str(*(@x[tid] + 2))); }`;
  const l = load(src, {}, { memory: argv(["/bin/echo", "aa", "bb"]) });
  run(l, EXECVE, tpCtx(l, EXECVE, { argv: 0x9000 }));
  const exit = "tracepoint:syscalls:sys_exit_execve";
  run(l, exit, tpCtx(l, exit, { ret: 0 }));
  assert.deepEqual(events(l)[0].args, ["bb"]);
});

Deno.test("pointer arithmetic of constants folds with the scale", () => {
  const l = load(
    "BEGIN { @a = (uint32 *)0x1000 + 3; @b = 2 + (uint64 *)0x10;" +
      " @c = (uint8 *)0x10 + 3; @d = (uint64 *)0x40 - 2; }",
  );
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@a"), 0x100cn);
  assert.equal(valueOf(l, "@b"), 0x20n);
  assert.equal(valueOf(l, "@c"), 0x13n);
  assert.equal(valueOf(l, "@d"), 0x30n);
});

Deno.test("pointers of unknown origin use the legacy helpers (x86 picks by address)", () => {
  const c = calls('rawtracepoint:sched_switch { printf("%s\\n", str(arg0)); }');
  assert.ok(c.includes(Helper.probe_read_str));
});

Deno.test("++ and -- step a pointer by its pointee's size, in variables and maps (bpftrace's pointers tests)", () => {
  const l = load(
    "BEGIN { $a = (uint16 *)1000; $a++; @a = $a; $b = (uint32 *)1000; $b--;" +
      " @b = $b; $c = (uint64 *)1000; @c = ++$c; @c2 = $c--; @c3 = $c;" +
      " @m = (int16 *)32; @m--; @n = (uint64 *)8; @n6 = @n + 6;" +
      " @pre = --@n; @d = (uint32 *)1000 - 6; }",
  );
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@a"), 1002n);
  assert.equal(valueOf(l, "@b"), 996n);
  assert.equal(valueOf(l, "@c"), 1008n);
  assert.equal(valueOf(l, "@c2"), 1008n);
  assert.equal(valueOf(l, "@c3"), 1000n);
  assert.equal(valueOf(l, "@m"), 30n);
  assert.equal(valueOf(l, "@n6"), 56n);
  assert.equal(valueOf(l, "@pre"), 0n);
  assert.equal(valueOf(l, "@d"), 976n);
});
