import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import {
  kernelTypeSource,
  prepareKernelTypes,
  useKernelTypes,
} from "../../runtime/compiler/kernel_types.ts";
import { Helper } from "../../runtime/bpf/opcodes.ts";
import type { MemorySegment } from "../../runtime/vm/environment.ts";
import { PT_REGS, PT_REGS_SIZE } from "../../runtime/compiler/sema.ts";
import {
  compileErrors as messages,
  entries,
  events,
  load,
  run,
  tpCtx,
  u64,
  valueOf,
} from "./harness.ts";

/**
 * Kernel types in the language: casts to struct pointers, `->` and `.`
 * through BTF members (anonymous unions, nested structs, bit-fields,
 * char arrays, pointers to pointers), `curtask`, tracepoint struct
 * pointers, enum constants, `sizeof`/`offsetof` of kernel types, the
 * preamble's own structs. Memory is laid out from the same types the
 * compiler reads (offsets are asked of the types, never written here), so
 * the tests hold on any kernel build.
 */

await prepareKernelTypes("struct");
const types = kernelTypeSource()!.types();

/** Offset and size of a member path of a kernel type. */
function at(cname: string, path: string): { offset: number; size: number } {
  const f = types.fieldPath(types.lookup(cname)!, path);
  assert.ok(f !== undefined, `${cname} has no ${path}`);
  return { offset: f.offset, size: f.size };
}

function sizeOfType(cname: string): number {
  return types.sizeOf(types.lookup(cname)!);
}

/** A kernel object: zeroes with integers/strings at member paths. */
function object(
  cname: string,
  fields: Record<string, number | bigint | string>,
): Uint8Array {
  const bytes = new Uint8Array(sizeOfType(cname));
  const view = new DataView(bytes.buffer);
  for (const [path, v] of Object.entries(fields)) {
    const f = at(cname, path);
    if (typeof v === "string") {
      bytes.set(new TextEncoder().encode(v), f.offset);
      continue;
    }
    const b = BigInt(v);
    if (f.size === 1) view.setUint8(f.offset, Number(b));
    else if (f.size === 2) view.setUint16(f.offset, Number(b), true);
    else if (f.size === 4) view.setUint32(f.offset, Number(b), true);
    else view.setBigUint64(f.offset, b, true);
  }
  return bytes;
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

const TASK = 0xffff888000100000n;
const PARENT = 0xffff888000200000n;
const SKB = 0xffff888000300000n;
const DEV = 0xffff888000400000n;
const SOCK = 0xffff888000500000n;

Deno.test("curtask is a struct task_struct *: pid, comm, real_parent->pid", () => {
  const l = load(
    "BEGIN { @pid = curtask->pid; @tgid = curtask->tgid;" +
      ' @pp = curtask->real_parent->pid; printf("%s %s\\n", curtask->comm,' +
      " curtask->real_parent->comm); }",
    {},
    {
      task: TASK,
      memory: [
        {
          addr: TASK,
          bytes: object("struct task_struct", {
            pid: 4242,
            tgid: 4240,
            comm: "worker",
            real_parent: PARENT,
          }),
          space: "kernel",
        },
        {
          addr: PARENT,
          bytes: object("struct task_struct", { pid: 1, comm: "systemd" }),
          space: "kernel",
        },
      ],
    },
  );
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@pid"), 4242n);
  assert.equal(valueOf(l, "@tgid"), 4240n);
  assert.equal(valueOf(l, "@pp"), 1n);
  assert.deepEqual(events(l)[0].args, ["worker", "systemd"]);
});

Deno.test("a chain of -> reads once per pointer hop, through bpf_probe_read_kernel", () => {
  const c = calls("BEGIN { @ = curtask->real_parent->real_parent->pid; }");
  const reads = c.filter((h) => h === Helper.probe_read_kernel);
  assert.equal(reads.length, 3);
  assert.ok(!c.includes(Helper.probe_read));
  // `.` through nested structs folds into one read.
  const d = calls(
    "kprobe:f { @ = ((struct sock *)arg0)->__sk_common.skc_family; }",
  );
  assert.equal(d.filter((h) => h === Helper.probe_read_kernel).length, 1);
});

Deno.test("(struct sk_buff *) casts: members in anonymous unions, nested pointers, char[N] as string", () => {
  const src = "kprobe:kfree_skb { $s = (struct sk_buff *)arg0;" +
    " @len = $s->len; @proto = $s->protocol; @ifindex = $s->dev->ifindex;" +
    " @fam = $s->sk->__sk_common.skc_family;" +
    ' printf("%s\\n", $s->dev->name); }';
  const l = load(src, {}, {
    memory: [
      {
        addr: SKB,
        bytes: object("struct sk_buff", {
          len: 1514,
          protocol: 0x0008,
          dev: DEV,
          sk: SOCK,
        }),
        space: "kernel",
      },
      {
        addr: DEV,
        bytes: object("struct net_device", { name: "lo", ifindex: 1 }),
        space: "kernel",
      },
      {
        addr: SOCK,
        bytes: object("struct sock", { "__sk_common.skc_family": 10 }),
        space: "kernel",
      },
    ],
  });
  run(l, "kprobe:kfree_skb", regs({ di: SKB }));
  assert.equal(valueOf(l, "@len"), 1514n);
  assert.equal(valueOf(l, "@proto"), 0x0008n);
  assert.equal(valueOf(l, "@ifindex"), 1n);
  assert.equal(valueOf(l, "@fam"), 10n);
  assert.deepEqual(events(l)[0].args, ["lo"]);
});

Deno.test("a bit-field member reads its bits only", () => {
  // sk_buff's pkt_type is a 3-bit field: set it and its neighbours' bits.
  const skb = types.lookup("struct sk_buff")!;
  const f = types.field(skb, "pkt_type");
  if (f === undefined || f.bitSize === 0) {
    console.log("skipped: this kernel's sk_buff has no pkt_type bit-field");
    return;
  }
  const bytes = new Uint8Array(types.sizeOf(skb));
  // All ones around the field, the field itself 5 (0b101).
  const first = Math.floor(f.bitOffset / 8);
  for (let i = first - 1; i < first + 3; i++) bytes[i] = 0xff;
  for (let i = 0; i < f.bitSize; i++) {
    const bit = f.bitOffset + i;
    const on = ((5 >> i) & 1) === 1;
    const b = Math.floor(bit / 8);
    bytes[b] = on ? bytes[b] | (1 << (bit % 8)) : bytes[b] & ~(1 << (bit % 8));
  }
  const l = load(
    "kprobe:f { @t = ((struct sk_buff *)arg0)->pkt_type; }",
    {},
    { memory: [{ addr: SKB, bytes, space: "kernel" }] },
  );
  run(l, "kprobe:f", regs({ di: SKB }));
  assert.equal(valueOf(l, "@t"), 5n);
});

Deno.test("tracepoint args that point to a struct: args->rqtp->tv_nsec reads user memory", () => {
  const tp = "tracepoint:syscalls:sys_enter_clock_nanosleep";
  const src = `${tp} { @s = args->rqtp->tv_sec; @ns = args->rqtp->tv_nsec; }`;
  assert.ok(calls(src).includes(Helper.probe_read_user));
  assert.ok(!calls(src).includes(Helper.probe_read_kernel));
  const ts = new Uint8Array(16);
  new DataView(ts.buffer).setBigInt64(8, 12_300_000n, true);
  const memory: MemorySegment[] = [{ addr: 0x7000n, bytes: ts, space: "user" }];
  const l = load(src, {}, { memory });
  run(l, tp, tpCtx(l, tp, { rqtp: 0x7000 }));
  assert.equal(valueOf(l, "@s"), 0n);
  assert.equal(valueOf(l, "@ns"), 12_300_000n);
});

Deno.test("sizeof, offsetof and enum constants come from the kernel's types", () => {
  const l = load(
    "BEGIN { @size = sizeof(struct sock); @off = offsetof(struct sk_buff, len);" +
      " @fin = TCP_FIN_WAIT1; @u = sizeof(union bpf_attr); }",
  );
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@size"), BigInt(sizeOfType("struct sock")));
  assert.equal(valueOf(l, "@off"), BigInt(at("struct sk_buff", "len").offset));
  assert.equal(
    valueOf(l, "@fin"),
    types.enumConstant("TCP_FIN_WAIT1")!.value,
  );
  assert.equal(valueOf(l, "@u"), BigInt(sizeOfType("union bpf_attr")));
});

Deno.test("a struct of the preamble takes precedence over the kernel's, and may hold kernel types", () => {
  const src = "struct sock { int a; char name[8]; long b; };" +
    " struct q { struct list_head l; unsigned int n; };" +
    " kprobe:f { $s = (struct sock *)arg0; @b = $s->b;" +
    " @n = ((struct q *)arg1)->n; @size = sizeof(struct sock); }";
  const bytes = new Uint8Array(32);
  new DataView(bytes.buffer).setBigInt64(16, 77n, true);
  new DataView(bytes.buffer).setUint32(16 + 8, 0, true);
  const q = new Uint8Array(24);
  new DataView(q.buffer).setUint32(16, 9, true);
  const l = load(src, {}, {
    memory: [
      { addr: SKB, bytes, space: "kernel" },
      { addr: SOCK, bytes: q, space: "kernel" },
    ],
  });
  run(l, "kprobe:f", regs({ di: SKB, si: SOCK }));
  assert.equal(valueOf(l, "@b"), 77n);
  assert.equal(valueOf(l, "@n"), 9n);
  assert.equal(valueOf(l, "@size"), 24n);
});

Deno.test("#ifndef BPFTRACE_HAVE_BTF leaves out a definition when BTF is there; #define constants", () => {
  const src = "#ifndef BPFTRACE_HAVE_BTF\nstruct sock { int x; };\n#endif\n" +
    "#define MY_FAMILY 10\n" +
    "BEGIN { @s = sizeof(struct sock); @f = MY_FAMILY; }";
  const l = load(src);
  run(l, "BEGIN");
  const expected = types.source === "btf" ? sizeOfType("struct sock") : 4;
  assert.equal(valueOf(l, "@s"), BigInt(expected));
  assert.equal(valueOf(l, "@f"), 10n);
});

Deno.test("#define constants with a comment after the value, as tcpconnect.bt writes them", () => {
  const src = "#ifdef NOT_DEFINED\n#include <net/sock.h>\n#else\n" +
    "#define AF_INET   2 /* IPv4 */\n#define AF_INET6 10 // IPv6\n#endif\n" +
    "BEGIN { @a = AF_INET; @b = AF_INET6; }";
  const l = load(src);
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@a"), 2n);
  assert.equal(valueOf(l, "@b"), 10n);
});

Deno.test("pointer arithmetic on struct pointers steps by the struct's size; pointers compare", () => {
  const size = BigInt(sizeOfType("struct sock"));
  const l = load(
    "BEGIN { $s = (struct sock *)0x1000; @next = $s + 1; $s++; @inc = $s;" +
      " @eq = $s == (struct sock *)(0x1000 + sizeof(struct sock)); }",
  );
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@next"), 0x1000n + size);
  assert.equal(valueOf(l, "@inc"), 0x1000n + size);
  assert.equal(valueOf(l, "@eq"), 1n);
});

Deno.test("errors: unknown struct and field with suggestions, a field of an integer, casts of strings, #define constants", () => {
  assert.match(
    messages("kprobe:f { $s = (struct sk_buf *)arg0; }")[0],
    /^Unknown type "struct sk_buf"; did you mean "struct sk_buff"/,
  );
  // One typo, one error: the members of the unknown type are not checked.
  assert.deepEqual(
    messages("kprobe:f { $s = (struct sk_buf *)arg0; @ = $s->len; }").length,
    1,
  );
  assert.match(
    messages("kprobe:f { @ = ((struct sk_buff *)arg0)->lenn; }")[0],
    /^struct sk_buff has no field named "lenn"; did you mean "len"/,
  );
  // `.` and `->` are one operator (0.26): through a pointer or not.
  assert.deepEqual(
    messages("kprobe:f { @ = ((struct sk_buff *)arg0).len; }"),
    [],
  );
  assert.deepEqual(
    messages(
      "kprobe:f { @ = ((struct sock *)arg0)->__sk_common->skc_family; }",
    ),
    [],
  );
  assert.match(
    messages("kprobe:f { @ = ((struct sk_buff *)arg0).len.x; }")[0],
    /^Cannot access field "x" of a value of type uint32$/,
  );
  assert.match(
    messages('BEGIN { $s = (struct sock *)"abc"; }')[0],
    /^Cannot cast from string\[4\] to struct sock \*/,
  );
  assert.match(
    messages("BEGIN { @ = TASK_RUNNING; }")[0],
    /"TASK_RUNNING" .*#define constant from a header is not in BTF/,
  );
  assert.match(
    messages("BEGIN { @ = (struct sock)0; }")[0],
    /^Cannot cast to struct sock: cast to a pointer/,
  );
});

Deno.test("ntop() of a sock's address members: the __be32 and the 16-byte array", () => {
  const sock = object("struct sock", {
    "__sk_common.skc_family": 10,
    "__sk_common.skc_daddr": 0x0100007f,
  });
  const v6 = at("struct sock", "__sk_common.skc_v6_daddr");
  sock.set(
    [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    v6.offset,
  );
  const l = load(
    'kprobe:f { $s = (struct sock *)arg0; printf("%s %s\\n",' +
      " ntop($s->__sk_common.skc_daddr)," +
      " ntop($s->__sk_common.skc_v6_daddr.in6_u.u6_addr8)); }",
    {},
    { memory: [{ addr: SOCK, bytes: sock, space: "kernel" }] },
  );
  run(l, "kprobe:f", regs({ di: SOCK }));
  // Each inet value: the family (8 bytes), then the address bytes.
  const rec = l.maps[l.prog.eventsMap!] as unknown as {
    drain(cb: (r: Uint8Array) => void): number;
  };
  const recs: Uint8Array[] = [];
  rec.drain((r) => recs.push(r.slice()));
  const lay = l.prog.formats[0].layout.offsets.map((o) => 8 + o);
  assert.deepEqual([u64(recs[0], lay[0]), u64(recs[0], lay[1])], [2n, 10n]);
  assert.deepEqual([...recs[0].subarray(lay[0] + 8, lay[0] + 12)], [
    127,
    0,
    0,
    1,
  ]);
  assert.deepEqual(
    [...recs[0].subarray(lay[1] + 8, lay[1] + 24)],
    [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
  );
});

Deno.test("struct values are read through, never copied: a clear error, with the stack limit when too large", () => {
  assert.match(
    messages("BEGIN { $t = *curtask; }")[0],
    /^A struct task_struct value cannot be copied: read its members with "\."; at \d+ bytes it would not fit the BPF stack \(512 bytes\)$/,
  );
  assert.match(
    messages("BEGIN { @[*curtask] = count(); }")[0],
    /^A struct task_struct value cannot be copied: .*would not fit the BPF stack/,
  );
});

Deno.test("bswap() reverses an integer's bytes at its size (tcpconnect's ports)", () => {
  const l = load(
    "BEGIN { @a = bswap((uint16)0x1234); @b = bswap((uint32)0x12345678);" +
      " @c = bswap((uint64)0x0102030405060708); @d = bswap((uint8)7);" +
      " $p = (uint16)0x1234; @v = bswap($p); }",
  );
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@a"), 0x3412n);
  assert.equal(valueOf(l, "@b"), 0x78563412n);
  assert.equal(valueOf(l, "@c"), 0x0807060504030201n);
  assert.equal(valueOf(l, "@d"), 7n);
  // A variable swaps at its declared size, as bpftrace 0.17's.
  assert.equal(valueOf(l, "@v"), 0x3412n);
});

Deno.test("bswap() of a signed integer is unsigned (0.17 prints 65279 for (int16)-2)", () => {
  const l = load(
    "BEGIN { $x = (int16)-2; @a = bswap($x); @b = bswap((int8)-1);" +
      " @c = bswap((int32)-2); }",
  );
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@a"), 65279n);
  assert.equal(valueOf(l, "@b"), 255n);
  assert.equal(valueOf(l, "@c"), 0xfeffffffn);
});

Deno.test("buf() with a run-time length reads that many bytes, at most a string's size (undump)", () => {
  const text = new TextEncoder().encode("x".repeat(100));
  const src =
    'kprobe:f { printf("%r|%r\\n", buf(arg0, arg1), buf(arg0, arg2)); }';
  const l = load(src, {}, {
    memory: [{ addr: SKB, bytes: text, space: "kernel" }],
  });
  run(l, "kprobe:f", regs({ di: SKB, si: 5n, dx: 100n }));
  // Each buffer: its length byte, then the bytes read.
  const rec = l.maps[l.prog.eventsMap!] as unknown as {
    drain(cb: (r: Uint8Array) => void): number;
  };
  const recs: Uint8Array[] = [];
  rec.drain((r) => recs.push(r.slice()));
  const lay = l.prog.formats[0].layout.offsets.map((o) => 8 + o);
  const bufAt = (i: number) => {
    const n = recs[0][lay[i]];
    return new TextDecoder().decode(
      recs[0].subarray(lay[i] + 1, lay[i] + 1 + n),
    );
  };
  assert.equal(bufAt(0), "xxxxx");
  assert.equal(bufAt(1), "x".repeat(64));
});

Deno.test("curtask->real_parent->pid takes no more instructions than bpftrace 0.17 (16, bpftool's xlated dump)", () => {
  const insns = compile(
    "tracepoint:syscalls:sys_enter_getppid { @[curtask->real_parent->pid] = count(); }",
  ).probes[0].insns;
  const callsAt = insns.flatMap((x, i) => x.code === 0x85 ? [i] : []);
  // get_current_task, probe_read_kernel (real_parent), probe_read_kernel
  // (pid), then the value's load and sign extension.
  assert.equal(insns[callsAt[0]].imm, Helper.get_current_task);
  assert.equal(insns[callsAt[2]].imm, Helper.probe_read_kernel);
  const readEnd = callsAt[2] + 4;
  assert.ok(readEnd <= 16, `the read takes ${readEnd} instructions`);
});

Deno.test("the preamble's #define constants: decimal, hex, negative, suffixed; conditionals nest", () => {
  const src =
    "#define A 10\n#define B 0x20\n#define C -0x10\n#define D (4U)\n" +
    "#ifdef A\n#ifndef A\n#define E 1\n#else\n#define E 2\n#endif\n#endif\n" +
    "BEGIN { @a = A; @b = B; @c = C; @d = D; @e = E; }";
  const l = load(src);
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@a"), 10n);
  assert.equal(valueOf(l, "@b"), 32n);
  assert.equal(valueOf(l, "@c"), -16n);
  assert.equal(valueOf(l, "@d"), 4n);
  assert.equal(valueOf(l, "@e"), 2n);
});

Deno.test("cat() needs no --unsafe, as in bpftrace 0.17 (oomkill.bt); system() does", () => {
  assert.deepEqual(messages('BEGIN { cat("/proc/loadavg"); }'), []);
  assert.deepEqual(messages('BEGIN { system("true"); }'), [
    "system() is an unsafe function: use --unsafe",
  ]);
});

Deno.test("bit-fields of a preamble struct: laid out as gcc lays them out, read with sign", () => {
  // gcc x86-64: c at byte 0; a bits 8-10, b bits 11-17, s bits 18-21 of
  // the first unsigned int; d at byte 4 after `:0`; sizeof 16.
  const src =
    "struct foo { char c; unsigned int a:3, b:7; int s:4; unsigned int :0;" +
    " unsigned char d; long e:40; };" +
    " kprobe:f { $f = (struct foo *)arg0; @a = $f->a; @b = $f->b; @s = $f->s;" +
    " @d = $f->d; @size = sizeof(struct foo); @off = offsetof(struct foo, d); }";
  const bytes = new Uint8Array(16);
  const word = (5 << 8) | (100 << 11) | ((-3 & 0xf) << 18);
  new DataView(bytes.buffer).setUint32(0, word | 0x41, true);
  bytes[4] = 9;
  const l = load(src, {}, {
    memory: [{ addr: SKB, bytes, space: "kernel" }],
  });
  run(l, "kprobe:f", regs({ di: SKB }));
  assert.equal(valueOf(l, "@a"), 5n);
  assert.equal(valueOf(l, "@b"), 100n);
  assert.equal(valueOf(l, "@s"), -3n);
  assert.equal(valueOf(l, "@d"), 9n);
  assert.equal(valueOf(l, "@size"), 16n);
  assert.equal(valueOf(l, "@off"), 4n);
});

Deno.test("a u64 or unsigned member as a map key is read straight into the key slot", () => {
  const insns = (src: string) => compile(src).probes[0].insns.length;
  // The same read as a signed int needs its copy through a register (a
  // sign-extending load, a store); the u64 goes to its slot in the read
  // itself.
  const signed = insns("kprobe:f { @[curtask->pid] = count(); }");
  const wide = insns("kprobe:f { @[curtask->se.nr_migrations] = count(); }");
  assert.equal(signed - wide, 2);
  const l = load(
    "BEGIN { @[curtask->se.nr_migrations, curtask->flags] = count(); }",
    {},
    {
      task: TASK,
      memory: [{
        addr: TASK,
        bytes: object("struct task_struct", {
          "se.nr_migrations": 0x1122334455667788n,
          flags: 0x80000001,
        }),
        space: "kernel",
      }],
    },
  );
  run(l, "BEGIN");
  assert.deepEqual(
    entries(l, "@").map((e) => e.key),
    [[0x1122334455667788n, 0x80000001n]],
  );
});

Deno.test("a struct pointer field whose struct the types in use lack: the error says so, not just uint64", () => {
  // As with a replay's recorded types (only the structs its program read)
  // left in place for a later compile: the field degrades to an integer.
  const saved = kernelTypeSource()!;
  useKernelTypes({
    types: saved.types,
    find: (cname) =>
      cname.includes("__kernel_timespec") ? undefined : saved.find(cname),
    preamble: saved.preamble,
  });
  try {
    assert.match(
      messages(
        "tracepoint:syscalls:sys_enter_clock_nanosleep { @ = args->rqtp->tv_nsec; }",
      )[0],
      /^Cannot access field "tv_nsec" of a value of type uint64: args->rqtp is a "const struct __kernel_timespec \*", but the kernel types in use \(\w+\) have no struct __kernel_timespec$/,
    );
  } finally {
    useKernelTypes(saved);
  }
});
