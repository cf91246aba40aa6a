/**
 * Events dropped at a full ring buffer (printf, join, exit, print) are
 * counted in the per-CPU `.lost` map, on a cold path only.
 *
 * @module
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { MapType } from "../../runtime/bpf/opcodes.ts";
import type { Program } from "../../runtime/program.ts";
import type { RingBufMap } from "../../runtime/vm/maps.ts";
import {
  events,
  load,
  type Loaded,
  mapIndex,
  run,
  tpCtx,
  u64,
  valueOf,
} from "./harness.ts";

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
