/**
 * `.` on a pointer (bpftrace 0.26: "If the `.` is used on a pointer, it is
 * automatically dereferenced"; `->` is an alias of `.`): through one
 * pointer or several to a struct, on a struct value with either operator,
 * the same code as the `->` form, and a located error where 0.26 still
 * refuses (a field of an integer). Memory is laid out from the types the
 * compiler reads, so the tests hold on any kernel build.
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import {
  kernelTypeSource,
  mayNeedKernelTypes,
  prepareKernelTypes,
} from "../../runtime/compiler/kernel_types.ts";
import { Helper } from "../../runtime/bpf/opcodes.ts";
import type { MemorySegment } from "../../runtime/vm/environment.ts";
import { PT_REGS, PT_REGS_SIZE } from "../../runtime/compiler/sema.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import {
  compileErrors as messages,
  events,
  load,
  run,
  tpCtx,
  valueOf,
} from "./harness.ts";

await prepareKernelTypes("struct");
const types = kernelTypeSource()!.types();

/** A zeroed kernel object with integers at member paths. */
function object(cname: string, fields: Record<string, bigint | string>) {
  const id = types.lookup(cname)!;
  const bytes = new Uint8Array(types.sizeOf(id));
  const view = new DataView(bytes.buffer);
  for (const [path, v] of Object.entries(fields)) {
    const f = types.fieldPath(id, path)!;
    assert.ok(f !== undefined, `${cname} has no ${path}`);
    if (typeof v === "string") {
      bytes.set(new TextEncoder().encode(v), f.offset);
    } else if (f.size === 4) view.setUint32(f.offset, Number(v), true);
    else if (f.size === 8) view.setBigUint64(f.offset, v, true);
    else assert.fail(`${path}: size ${f.size}`);
  }
  return bytes;
}

/** An 8-byte word holding `v`. */
function word(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

/** A kprobe context with `di` (arg0) set. */
function arg0(v: bigint): Uint8Array {
  const b = new Uint8Array(PT_REGS_SIZE);
  new DataView(b.buffer).setBigUint64(PT_REGS.di, v, true);
  return b;
}

/** The instructions of a one-probe program. */
function insns(src: string) {
  return compile(src).probes[0].insns;
}

/** The formatted errors a script gets (fails when it compiles). */
function located(src: string): string {
  try {
    compile(src);
  } catch (e) {
    assert.ok(e instanceof CompileErrors, `not CompileErrors: ${e}`);
    return e.format();
  }
  assert.fail(`compiled without errors: ${src}`);
}

const TASK = 0xffff888000100000n;
const PARENT = 0xffff888000200000n;
const SLOT = 0xffff888000300000n;
const TP = "tracepoint:syscalls:sys_enter_clock_nanosleep";

Deno.test('"." through struct pointers reads what "->" reads: curtask.real_parent.pid, .comm', () => {
  const l = load(
    "BEGIN { @pid = curtask.pid; @pp = curtask.real_parent.pid;" +
      ' printf("%s %s\\n", curtask.comm, curtask.real_parent.comm); }',
    {},
    {
      task: TASK,
      memory: [
        {
          addr: TASK,
          bytes: object("struct task_struct", {
            pid: 4242n,
            comm: "worker",
            real_parent: PARENT,
          }),
          space: "kernel",
        },
        {
          addr: PARENT,
          bytes: object("struct task_struct", { pid: 1n, comm: "init" }),
          space: "kernel",
        },
      ],
    },
  );
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@pid"), 4242n);
  assert.equal(valueOf(l, "@pp"), 1n);
  assert.deepEqual(events(l)[0].args, ["worker", "init"]);
});

Deno.test('"." on a pointer compiles to the very instructions of "->" (0.26 tools\' chains)', () => {
  const pairs: [string, string][] = [
    [
      "BEGIN { @[curtask.fs.pwd.dentry.d_name.name] = count(); }",
      "BEGIN { @[curtask->fs->pwd.dentry->d_name.name] = count(); }",
    ],
    [
      "kprobe:f { $sk = (struct sock *)arg0; @ = $sk.__sk_common.skc_family; }",
      "kprobe:f { $sk = (struct sock *)arg0; @ = $sk->__sk_common.skc_family; }",
    ],
    [
      "kprobe:f { @ = str(((struct bio *)arg1).bi_bdev.bd_disk.disk_name); }",
      "kprobe:f { @ = str(((struct bio *)arg1)->bi_bdev->bd_disk->disk_name); }",
    ],
    [
      `${TP} { $t = args.rqtp; @[$t.tv_sec, $t.tv_nsec] = count(); }`,
      `${TP} { $t = args->rqtp; @[$t->tv_sec, $t->tv_nsec] = count(); }`,
    ],
    [
      `${TP} { @ = args.rqtp.tv_nsec; }`,
      `${TP} { @ = args->rqtp->tv_nsec; }`,
    ],
    [
      "kprobe:f { $s = (struct sk_buff *)arg0; @ = $s.sk.__sk_common.skc_dport; }",
      "kprobe:f { $s = (struct sk_buff *)arg0; @ = $s->sk->__sk_common.skc_dport; }",
    ],
  ];
  for (const [dot, arrow] of pairs) {
    assert.deepEqual(insns(dot), insns(arrow), dot);
  }
});

Deno.test('"->" on a struct value is "." (0.26: an alias), in place or in a variable', () => {
  assert.deepEqual(
    insns(
      "kprobe:f { @ = ((struct sock *)arg0)->__sk_common->skc_family; }",
    ),
    insns("kprobe:f { @ = ((struct sock *)arg0)->__sk_common.skc_family; }"),
  );
  assert.deepEqual(
    insns(`${TP} { $t = *args.rqtp; @ = $t->tv_nsec; }`),
    insns(`${TP} { $t = *args.rqtp; @ = $t.tv_nsec; }`),
  );
  // A record (a named tuple) too, and through a pointer to one.
  assert.deepEqual(
    insns("BEGIN { $r = (a = 1, b = 2); @ = $r->b; }"),
    insns("BEGIN { $r = (a = 1, b = 2); @ = $r.b; }"),
  );
  const viaPointer = insns(
    "BEGIN { $r = (a = 1, b = 2); $p = &$r; @ = $p.b; }",
  );
  assert.deepEqual(
    insns("BEGIN { $r = (a = 1, b = 2); $p = &$r; @ = $p->b; }"),
    viaPointer,
  );
  assert.deepEqual(
    insns("BEGIN { $r = (a = 1, b = 2); $p = &$r; @ = (*$p).b; }"),
    viaPointer,
  );
});

Deno.test("args.rqtp.tv_nsec of a tracepoint reads user memory, as args->rqtp->tv_nsec", () => {
  const src =
    `${TP} { @s = args.rqtp.tv_sec; $t = args.rqtp; @ns = $t.tv_nsec; }`;
  const helpers = insns(src).filter((i) => i.code === 0x85).map((i) => i.imm);
  assert.ok(helpers.includes(Helper.probe_read_user));
  assert.ok(!helpers.includes(Helper.probe_read_kernel));
  const ts = new Uint8Array(16);
  new DataView(ts.buffer).setBigInt64(0, 3n, true);
  new DataView(ts.buffer).setBigInt64(8, 12_300_000n, true);
  const memory: MemorySegment[] = [{ addr: 0x7000n, bytes: ts, space: "user" }];
  const l = load(src, {}, { memory });
  run(l, TP, tpCtx(l, TP, { rqtp: 0x7000 }));
  assert.equal(valueOf(l, "@s"), 3n);
  assert.equal(valueOf(l, "@ns"), 12_300_000n);
});

Deno.test('a pointer to a pointer: "." and "->" read through both (0.26), one read per pointer', () => {
  const dot = "kprobe:f { $pp = (struct task_struct **)arg0; @ = $pp.pid; }";
  const arrow = "kprobe:f { $pp = (struct task_struct **)arg0; @ = $pp->pid; }";
  assert.deepEqual(insns(dot), insns(arrow));
  // No more than the explicit form costs.
  const explicit = insns(
    "kprobe:f { $pp = (struct task_struct **)arg0; @ = (*$pp)->pid; }",
  );
  assert.ok(insns(dot).length <= explicit.length);
  const reads = insns(dot).filter((i) =>
    i.code === 0x85 && i.imm === Helper.probe_read_kernel
  );
  assert.equal(reads.length, 2);
  const l = load(dot, {}, {
    memory: [
      { addr: SLOT, bytes: word(TASK), space: "kernel" },
      {
        addr: TASK,
        bytes: object("struct task_struct", { pid: 77n }),
        space: "kernel",
      },
    ],
  });
  run(l, "kprobe:f", arg0(SLOT));
  assert.equal(valueOf(l, "@"), 77n);
});

Deno.test('what 0.26 still refuses: a field of an integer or of a pointer to one, with "." or "->", located', () => {
  const src = "kprobe:f { @ = arg0.x; }";
  assert.equal(
    located(src),
    `stdin:1:16: ERROR: Cannot access field "x" of a value of type uint64\n` +
      src + "\n" + " ".repeat(15) + "~~~~~~",
  );
  assert.deepEqual(messages("kprobe:f { @ = arg0->x; }"), [
    'Cannot access field "x" of a value of type uint64',
  ]);
  assert.deepEqual(
    messages("kprobe:f { $p = (int32 *)arg0; @ = $p.x; }").length,
    1,
  );
  assert.match(
    messages("kprobe:f { $s = (struct sock *)arg0; @ = $s.sk_mark.x; }")[0],
    /^Cannot access field "x" of a value of type uint32$/,
  );
  assert.match(
    messages(
      "kprobe:f { $pp = (struct task_struct **)arg0; @ = $pp.nope; }",
    )[0],
    /^struct task_struct has no field named "nope"/,
  );
  assert.deepEqual(messages("BEGIN { $t = (1, 2); @ = $t->a; }"), [
    "Use .N to index a tuple",
  ]);
});

Deno.test("a script reading a tracepoint's struct pointer with only '.' gets the kernel types", () => {
  assert.ok(mayNeedKernelTypes(`${TP} { @ = args.rqtp.tv_sec; }`));
  assert.ok(mayNeedKernelTypes(`${TP} { $t = args.rqtp; @ = $t.tv_sec; }`));
  assert.ok(mayNeedKernelTypes(`${TP} { print(*args.rqtp); }`));
  // A plain field may be an enum, printed by name (0.26): BTF is read
  // for any use of args (about 4 ms of a one-liner's start-up).
  assert.ok(mayNeedKernelTypes(`${TP} { @[args.flags] = count(); }`));
  assert.ok(!mayNeedKernelTypes(`${TP} { @[comm] = count(); }`));
  assert.ok(!mayNeedKernelTypes("BEGIN { $r = (a = 1); print($r.a); }"));
});
