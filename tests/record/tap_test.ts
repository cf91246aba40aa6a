import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { Helper } from "../../runtime/bpf/opcodes.ts";
import {
  decodeRawRecord,
  isRecordRecord,
} from "../../runtime/record/raw_record.ts";
import { instrument, stackLow } from "../../runtime/record/tap.ts";
import { VmProgram } from "../../runtime/vm/interpreter.ts";
import { createMap, type RingBufMap } from "../../runtime/vm/maps.ts";
import { createEnvironment } from "../../runtime/vm/environment.ts";
import {
  type RecordedEvent,
  RING_POSITION,
} from "../../runtime/record/format.ts";

/**
 * Runs the tapped program in the interpreter (the kernel allows a
 * privileged program to store pointers in a map value; our verifier, made
 * for the unprivileged rules, does not: the VM runs it unverified), once
 * per filename, and returns the tap's records and the program's events.
 */
function tapRecords(text: string, paths: string[], pid?: number): {
  events: RecordedEvent[];
  other: Uint8Array[];
} {
  const program = compile(text, { pid });
  const tapped = instrument(program, { pid }).program;
  const maps = tapped.maps.map((m) => createMap(m, 1));
  const vm = new VmProgram(tapped.probes[0].insns, maps);
  const ring = maps[tapped.eventsMap!] as RingBufMap;
  const at = program.probes[0].ctx.fields!.find((f) => f.name === "filename")!
    .offset;
  const events: RecordedEvent[] = [];
  const other: Uint8Array[] = [];
  paths.forEach((path, i) => {
    const addr = 0x7ffc_0000_0000n + BigInt(i) * 0x1000n;
    const bytes = new Uint8Array(512);
    bytes.set(new TextEncoder().encode(path));
    const env = createEnvironment({
      pid: 40 + i,
      comm: "nginx",
      kernelStack: [0xffffffff81000000n + BigInt(i)],
      userStack: [0x401000n],
      memory: [{ addr, bytes, space: "user" }],
    });
    const ctx = new Uint8Array(program.probes[0].ctx.size);
    new DataView(ctx.buffer).setBigUint64(at, addr, true);
    vm.run(ctx, env);
    ring.drain((rec) => {
      if (isRecordRecord(rec)) events.push(decodeRawRecord(rec));
      else other.push(rec.slice());
    });
  });
  return { events, other };
}

Deno.test("the tap records task facts, the context, results and reads of every run", () => {
  const paths = ["/etc/hosts", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/"];
  const { events, other } = tapRecords(
    'tracepoint:syscalls:sys_enter_openat { printf("%s %d\\n", str(args->filename), nsecs); @[kstack, ustack] = count(); }',
    paths,
  );
  assert.equal(events.length, 3);
  // The program's own events still arrive, one per run.
  assert.equal(other.length, events.length);
  const dec = new TextDecoder();
  for (const [i, e] of events.entries()) {
    assert.equal(e.flags, 0);
    assert.equal(e.ctx.length, 48);
    assert.equal(e.pid, 40 + i);
    assert.equal(dec.decode(e.comm.subarray(0, 5)), "nginx");
    const helpers = e.calls.map((c) => c.helper);
    // The captured filename, then the program's own calls in order.
    assert.deepEqual(helpers, [
      Helper.probe_read_user_str,
      // The printf record's reservation, with the time it was made and
      // its position in the ring.
      Helper.ringbuf_reserve,
      RING_POSITION,
      Helper.probe_read_user_str,
      Helper.ktime_get_boot_ns,
      Helper.get_stackid,
      Helper.get_stackid,
    ]);
    const [capture, reserve, , read] = e.calls;
    assert.ok(reserve.r0 > 0n);
    assert.ok(capture.capture && !read.capture);
    assert.equal(capture.addr, read.addr);
    const path = dec.decode(read.bytes!.subarray(0, Number(read.r0) - 1));
    assert.equal(path, paths[i]);
    assert.equal(
      dec.decode(capture.bytes!.subarray(0, Number(capture.r0) - 1)),
      path,
    );
    // The printf record carries the same string the read recorded.
    assert.ok(dec.decode(other[i]).includes(path));
  }
});

Deno.test("with -p PID the tap records that process's runs only", () => {
  const text = 'tracepoint:syscalls:sys_enter_openat { printf("%d\\n", pid); }';
  const paths = ["/a", "/b", "/c"];
  // Runs of pids 40, 41, 42: the program (-p 41) prints for 41 only, and
  // the recording holds 41's run only, not the two the program drops.
  const { events, other } = tapRecords(text, paths, 41);
  assert.deepEqual(events.map((e) => e.pid), [41]);
  assert.deepEqual(other.length, 1);
  // Without -p, every run.
  assert.deepEqual(tapRecords(text, paths).events.map((e) => e.pid), [
    40,
    41,
    42,
  ]);
  // BEGIN has no pid test (as in the compiler): recorded with -p too.
  const begin = compile("BEGIN { @ = 1; }", { pid: 41 });
  assert.deepEqual(
    instrument(begin, { pid: 41 }).program.probes[0].insns,
    instrument(begin).program.probes[0].insns,
  );
});

Deno.test("stackLow finds the lowest stack byte a program touches", () => {
  const p = compile(
    "tracepoint:syscalls:sys_enter_openat { @[comm, pid] = count(); }",
  );
  const low = stackLow(p.probes[0].insns);
  assert.ok(low < 0 && low >= -512, String(low));
  const t = instrument(p).program.probes[0].insns;
  assert.equal(stackLow(t), low - 16);
});
