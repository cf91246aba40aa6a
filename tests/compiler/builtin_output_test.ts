/**
 * Builtins whose values reach the output: `join` records, `kstack`/`ustack`
 * modes, `numaid` and `username`, compiled, run and rendered as bpftrace
 * prints them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { decodeEvent, decodeMap } from "../../runtime/output/decode.ts";
import { formatEventOutput } from "../../runtime/output/event.ts";
import { formatValueText } from "../../runtime/output/text.ts";
import type { RingBufMap } from "../../runtime/vm/maps.ts";
import {
  compileErrors as errorsOf,
  entries,
  load,
  mapIndex,
  run,
  tpCtx,
} from "./harness.ts";

/** A resolver that knows no symbols. */
const noSymbols = {
  ksym: (a: bigint) => `0x${a.toString(16)}`,
  usym: (a: bigint) => `0x${a.toString(16)}`,
  stack: () => [],
};

// ---- join end to end --------------------------------------------------

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

// ---- builtins: stack modes, numaid ------------------------------------

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
      "Argument mismatch for @: trying to access with arguments: 'kstack' when map expects arguments: 'kstack(perf)'",
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
