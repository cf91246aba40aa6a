import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import { MapType } from "../../runtime/bpf/opcodes.ts";
import { decodeEvent, decodeMap } from "../../runtime/output/decode.ts";
import { formatEventOutput } from "../../runtime/output/event.ts";
import { formatValueText } from "../../runtime/output/text.ts";
import type { Program } from "../../runtime/program.ts";
import type { RingBufMap } from "../../runtime/vm/maps.ts";
import {
  entries,
  events,
  load,
  type Loaded,
  mapIndex,
  run,
  tpCtx,
  u64,
  valueOf,
} from "./harness.ts";

/** A resolver that knows no symbols. */
const noSymbols = {
  ksym: (a: bigint) => `0x${a.toString(16)}`,
  usym: (a: bigint) => `0x${a.toString(16)}`,
  stack: () => [],
};

/** Shrinks the events ring buffer of a compiled program to `bytes`. */
function ring(bytes: number): (p: Program) => void {
  return (p) => {
    p.maps[p.eventsMap!].maxEntries = bytes;
  };
}

/** The `.lost` counter summed over CPUs. */
function lost(l: Loaded): bigint {
  const e = l.maps[mapIndex(l, ".lost")].entries();
  let n = 0n;
  for (const x of e) for (const v of x.values) n += u64(v);
  return n;
}

function errorsOf(src: string, opts = {}): string[] {
  try {
    compile(src, opts);
  } catch (e) {
    if (e instanceof CompileErrors) return e.errors.map((d) => d.message);
    throw e;
  }
  return [];
}

// ---- 1. lost events ------------------------------------------------------

Deno.test("programs with events get a per-CPU .lost counter; others none", () => {
  const p = compile('BEGIN { printf("x\\n"); }');
  const spec = p.maps.find((m) => m.name === ".lost");
  assert.deepEqual(spec, {
    name: ".lost",
    internal: true,
    type: MapType.PERCPU_ARRAY,
    keySize: 4,
    valueSize: 8,
    maxEntries: 1,
    key: { kind: "int", size: 4, signed: false },
  });
  assert.equal(
    compile("BEGIN { @x = 1; }").maps.some((m) => m.name === ".lost"),
    false,
  );
});

Deno.test("lost events: printf drops past a full ring buffer are counted exactly", () => {
  // Each record: 8 (id) + 8 (int) bytes + 8 header = 24; 256 bytes hold 10.
  const l = load(
    'BEGIN { $i = 0; while ($i < 100) { printf("%d\\n", $i); $i++; } @done = $i; }',
    {},
    {},
    ring(256),
  );
  run(l, "BEGIN");
  const got = events(l);
  const rb = l.maps[l.prog.eventsMap!] as RingBufMap;
  assert.equal(got.length, 10);
  assert.deepEqual(
    got.map((e) => e.args[0]),
    [...Array(10).keys()].map(BigInt),
  );
  assert.equal(lost(l), 90n);
  assert.equal(BigInt(rb.lost), lost(l));
  // A dropped event does not end the probe: the code after it still ran.
  assert.equal(valueOf(l, "@done"), 100n);
  // Once drained, events flow again and the count keeps growing.
  run(l, "BEGIN");
  assert.equal(events(l).length, 10);
  assert.equal(lost(l), 180n);
});

Deno.test("lost events: join, exit and print drops are counted too", () => {
  const tp = "tracepoint:syscalls:sys_enter_execve";
  const argv = 0x9000n;
  const bytes = new Uint8Array(64);
  const dv = new DataView(bytes.buffer);
  dv.setBigUint64(0, 0x9100n, true);
  dv.setBigUint64(8, 0n, true);
  const src = `${tp} { join(args->argv); print(comm); exit(); }`;
  // A join record is 8 + 8 + 16 * 64 bytes: one fits in 2048, no more.
  const l = load(src, {}, {
    comm: "sh",
    memory: [
      { addr: argv, bytes, space: "user" },
      {
        addr: 0x9100n,
        bytes: new TextEncoder().encode("/bin/true\0"),
        space: "user",
      },
    ],
  }, ring(2048));
  const ctx = tpCtx(l, tp, { argv });
  for (let i = 0; i < 3; i++) run(l, tp, ctx);
  const got = events(l);
  const sent = 3 * 3;
  assert.equal(BigInt(got.length) + lost(l), BigInt(sent));
  // The second and third joins find no room; the small records still fit.
  assert.deepEqual(got.map((e) => e.kind), [
    "join",
    "print_value",
    "exit",
    "print_value",
    "exit",
    "print_value",
    "exit",
  ]);
  assert.equal(lost(l), 2n);
});

Deno.test("lost events: the success path is unchanged, the count path is cold", () => {
  const p = compile(
    'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); }',
  ).probes[0];
  // Everything up to the first exit is the hot path; the .lost update
  // (a map lookup) only follows it.
  const exitAt = p.insns.findIndex((i) => i.code === 0x95);
  const calls = p.insns.slice(0, exitAt).filter((i) => i.code === 0x85)
    .map((i) => i.imm);
  assert.deepEqual(calls, [131, 16, 114, 132]);
  assert.equal(exitAt, 23);
  assert.ok(p.insns.slice(exitAt).some((i) => i.code === 0x85 && i.imm === 1));
});

// ---- 2. process filter and cpid -----------------------------------------

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

Deno.test("cpid is a constant with the cpid option, an error without", () => {
  const l = load(
    "BEGIN { @c = cpid; @same = pid == cpid ? 1 : 0; }",
    { cpid: 31337 },
    { pid: 31337 },
  );
  run(l, "BEGIN");
  assert.equal(valueOf(l, "@c"), 31337n);
  assert.equal(valueOf(l, "@same"), 1n);
  assert.deepEqual(errorsOf("BEGIN { @c = cpid; }"), [
    "cpid is only available with -c",
  ]);
  assert.throws(() => compile("BEGIN { }", { pid: -1 }), RangeError);
  assert.throws(() => compile("BEGIN { }", { cpid: 1.5 }), RangeError);
});

// ---- 3. unique program names ---------------------------------------------

Deno.test("program names are unique, at most 15 chars of [A-Za-z0-9_]", () => {
  const p = compile(
    "tracepoint:syscalls:sys_enter_accept, tracepoint:syscalls:sys_enter_accept4 { @[probe] = count(); }" +
      " tracepoint:syscalls:sys_enter_getppid { @g = count(); }" +
      " interval:s:1 { exit(); } interval:s:1 { exit(); }" +
      " BEGIN { @b = 1; } END { @e = 1; }",
    { tracefsAvailable: false },
  );
  const names = p.probes.map((x) => x.name);
  assert.deepEqual(names, [
    "sys_enter_acc_1",
    "sys_enter_acc_2",
    "sys_enter_getpp",
    "interval_s_1_1",
    "interval_s_1_2",
    "BEGIN",
    "END",
  ]);
  for (const n of names) assert.match(n, /^[A-Za-z0-9_]{1,15}$/);
  assert.equal(new Set(names).size, names.length);
});

Deno.test("program names: a suffix never collides with an existing name", () => {
  // Eleven programs sharing a name: the suffix grows and the base shrinks.
  const pts = Array.from(
    { length: 11 },
    () => "tracepoint:syscalls:sys_enter_getppid",
  ).join(", ");
  const p = compile(`${pts} { @[probe] = count(); }`, {
    tracefsAvailable: false,
  });
  const names = p.probes.map((x) => x.name);
  assert.equal(names.length, 11);
  assert.equal(new Set(names).size, 11);
  assert.equal(names[0], "sys_enter_get_1");
  assert.equal(names[10], "sys_enter_ge_11");
  for (const n of names) assert.ok(n.length <= 15);
});

// ---- 4. join end to end --------------------------------------------------

Deno.test("join: compiled record decodes and renders as bpftrace prints it", () => {
  const tp = "tracepoint:syscalls:sys_enter_execve";
  const argv = 0x9000n;
  const strs = ["/bin/echo", "a", "b"];
  const ptrs = new Uint8Array(8 * (strs.length + 1));
  const memory = [{ addr: argv, bytes: ptrs, space: "user" as const }];
  strs.forEach((s, i) => {
    const addr = 0xa000n + BigInt(i) * 0x100n;
    new DataView(ptrs.buffer).setBigUint64(8 * i, addr, true);
    memory.push({
      addr,
      bytes: new TextEncoder().encode(s + "\0"),
      space: "user",
    });
  });
  const l = load(
    `${tp} { join(args->argv); join(args->argv, ","); }`,
    {},
    { memory },
  );
  run(l, tp, tpCtx(l, tp, { argv }));
  const rb = l.maps[l.prog.eventsMap!] as RingBufMap;
  const text: string[] = [];
  const json: string[] = [];
  rb.drain((rec) => {
    const ev = decodeEvent(l.prog, rec);
    text.push(formatEventOutput(ev, "text")!);
    json.push(formatEventOutput(ev, "json")!);
  });
  assert.deepEqual(text, ["/bin/echo a b\n", "/bin/echo,a,b\n"]);
  assert.deepEqual(json, [
    '{"type": "join", "data": "/bin/echo a b"}\n',
    '{"type": "join", "data": "/bin/echo,a,b"}\n',
  ]);
});

// ---- 5. builtins: stack modes, numaid ------------------------------------

Deno.test("kstack/ustack modes: perf flows into the TypeDesc, errors otherwise", () => {
  const p = compile(
    "profile:hz:99 { @k[kstack(perf)] = count(); @u[ustack(perf, 5)] = count();" +
      " @b[kstack(bpftrace, 3)] = count(); @d[kstack(4)] = count(); }",
  );
  const key = (n: string) => p.maps.find((m) => m.name === n)!.key;
  assert.deepEqual(key("@k"), {
    kind: "kstack",
    size: 8,
    mapIndex: p.maps.findIndex((m) => m.name === ".stack127"),
    depth: 127,
    mode: "perf",
  });
  const u = key("@u");
  assert.ok(u.kind === "ustack" && u.mode === "perf" && u.depth === 5);
  const b = key("@b");
  assert.ok(b.kind === "kstack" && b.mode === undefined && b.depth === 3);
  const d = key("@d");
  assert.ok(d.kind === "kstack" && d.mode === undefined && d.depth === 4);
  assert.deepEqual(
    errorsOf("profile:hz:99 { @[kstack(fancy)] = count(); }"),
    ['kstack() mode must be bpftrace, perf or raw, not "fancy"'],
  );
  assert.deepEqual(
    errorsOf("profile:hz:99 { @[ustack(3, 4)] = count(); }"),
    ["ustack() with 2 arguments expects a mode (bpftrace, perf or raw) first"],
  );
  assert.deepEqual(
    errorsOf(
      "profile:hz:99 { @[kstack(perf)] = count(); @[kstack] = count(); }",
    ),
    [
      "Argument mismatch for @: trying to access with arguments: [kstack] when map expects arguments: [kstack(perf)]",
    ],
  );
});

Deno.test("kstack(perf) in a map key prints as bpftrace's perf mode", () => {
  const l = load("profile:hz:99 { @[kstack(perf, 2)] = count(); }", {}, {
    kernelStack: [0xffffffff81000010n, 0xffffffff81000020n],
  });
  run(l, "profile:hz:99", new Uint8Array(184));
  const i = mapIndex(l, "@");
  const resolver = {
    ksym: (a: bigint) => `f${a & 0xffn}`,
    usym: (a: bigint) => `u${a}`,
    stack: (_m: number, _id: number) => ["f16+0", "f32+0"],
    stackAddresses: () => [0xffffffff81000010n, 0xffffffff81000020n],
  };
  const data = decodeMap(l.prog.maps[i], l.maps[i].entries(), resolver);
  assert.equal(
    formatValueText(data.entries[0].key[0]),
    "\n\tffffffff81000010 f16+0\n\tffffffff81000020 f32+0\n",
  );
});

Deno.test("numaid calls get_numa_node_id", () => {
  const p = compile("BEGIN { @n = numaid; }").probes[0];
  assert.ok(p.insns.some((i) => i.code === 0x85 && i.imm === 42));
});

Deno.test("username: holds the uid, prints the /etc/passwd name", () => {
  const l = load(
    'BEGIN { @[username] = count(); @u = username; printf("%s|\\n", username); }',
    {},
    { uid: 0, gid: 5 },
  );
  run(l, "BEGIN");
  const i = mapIndex(l, "@");
  assert.deepEqual(l.prog.maps[i].key, { kind: "username", size: 8 });
  assert.deepEqual(entries(l, "@").map((e) => e.key), [0n]);
  // Names come from the resolver, else from the host's /etc/passwd.
  const names = { ...noSymbols, username: (uid: number) => `user${uid}` };
  const data = decodeMap(l.prog.maps[i], l.maps[i].entries(), names);
  assert.deepEqual(data.entries, [{ key: ["user0"], value: 1 }]);
  const passwd = Deno.readTextFileSync("/etc/passwd");
  const root = /^([^:]*):[^:]*:0:/m.exec(passwd)?.[1] ?? "";
  const v = mapIndex(l, "@u");
  assert.deepEqual(
    decodeMap(l.prog.maps[v], l.maps[v].entries()).entries,
    [{ key: [], value: root }],
  );
  const rb = l.maps[l.prog.eventsMap!] as RingBufMap;
  const out: string[] = [];
  rb.drain((rec) =>
    out.push(formatEventOutput(decodeEvent(l.prog, rec), "text")!)
  );
  assert.deepEqual(out, [`${root}|\n`]);
});
