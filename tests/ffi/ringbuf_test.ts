import assert from "node:assert/strict";
import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import { Helper, MapType, ProgType } from "../../runtime/bpf/opcodes.ts";
import type { Program } from "../../runtime/program.ts";
import { KernelEngine } from "../../runtime/engines/kernel_engine.ts";
import {
  counterMap,
  mapSpec,
  noLeaks,
  point,
  probeOf,
  skipReason,
  spawnGetppid,
} from "./kernel_helpers.ts";

const N = 5000;

/** Both ways of reading the ring buffer run every test. */
const READERS = ["mmap", "libbpf"] as const;

/**
 * On each getppid of `tgid`: seq = atomic fetch-add on map 0, then
 * ringbuf_output({id: 3, seq}); on failure count into `.lost` (map 2).
 */
function eventProgram(tgid: number, ringBytes: number): Program {
  const b = new InsnBuilder();
  b.call(Helper.get_current_pid_tgid);
  b.alu64Imm("RSH", 0, 32);
  b.jmpImm("JNE", 0, tgid, "out");
  b.st(4, 10, -4, 0);
  b.movReg(2, 10).alu64Imm("ADD", 2, -4);
  b.ldMap(1, 0);
  b.call(Helper.map_lookup_elem);
  b.jmpImm("JEQ", 0, 0, "out");
  b.movImm(1, 1);
  b.atomic(8, "ADD", 0, 0, 1, true); // r1 = old value
  b.st(8, 10, -24, 3); // format id
  b.stx(8, 10, -16, 1); // seq
  b.ldMap(1, 1);
  b.movReg(2, 10).alu64Imm("ADD", 2, -24);
  b.movImm(3, 16);
  b.movImm(4, 0);
  b.call(Helper.ringbuf_output);
  b.jmpImm("JEQ", 0, 0, "out");
  b.ldMap(1, 2);
  b.movReg(2, 10).alu64Imm("ADD", 2, -4);
  b.call(Helper.map_lookup_elem);
  b.jmpImm("JEQ", 0, 0, "out");
  b.movImm(1, 1);
  b.atomic(8, "ADD", 0, 0, 1);
  b.label("out");
  b.movImm(0, 0);
  b.exit();
  return {
    probes: [
      probeOf("rb", ProgType.TRACEPOINT, [
        point("tracepoint", "syscalls:sys_enter_getppid"),
      ], b),
    ],
    maps: [
      counterMap,
      mapSpec(".events", MapType.RINGBUF, 0, 0, ringBytes),
      mapSpec(".lost", MapType.PERCPU_ARRAY, 4, 8, 1),
    ],
    formats: [],
    eventsMap: 1,
  };
}

function decode(rec: Uint8Array): [bigint, bigint] {
  const v = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  return [v.getBigUint64(0, true), v.getBigUint64(8, true)];
}

for (const reader of READERS) {
  Deno.test({
    name:
      `ring buffer delivers every record in order while polling (${reader} reader)`,
    ignore: skipReason !== undefined,
    fn: () =>
      noLeaks(async () => {
        const child = spawnGetppid(N);
        const engine = new KernelEngine({ ringReader: reader });
        try {
          await engine.load(eventProgram(child.pid, 1 << 18));
          await engine.attach();
          assert.equal(engine.ringReader, reader);
          const seqs: bigint[] = [];
          const onEvent = (rec: Uint8Array) => {
            assert.equal(rec.length, 16);
            const [id, seq] = decode(rec);
            assert.equal(id, 3n);
            seqs.push(seq);
          };
          const running = child.run();
          const deadline = Date.now() + 10_000;
          while (
            seqs.length + engine.lostEvents() < N && Date.now() < deadline
          ) {
            await engine.poll(50, onEvent);
          }
          assert.equal((await running).code, 0);
          await engine.poll(0, onEvent);
          assert.equal(engine.lostEvents(), 0);
          assert.equal(seqs.length, N);
          seqs.forEach((s, i) => assert.equal(s, BigInt(i)));
        } finally {
          engine.close();
          await child.kill();
        }
      }),
  });
}

for (const reader of READERS) {
  Deno.test({
    name:
      `ring buffer: a full buffer drops records, counted by .lost (${reader} reader)`,
    ignore: skipReason !== undefined,
    fn: () =>
      noLeaks(async () => {
        const child = spawnGetppid(N);
        const engine = new KernelEngine({ ringReader: reader });
        try {
          await engine.load(eventProgram(child.pid, 4096));
          await engine.attach();
          assert.equal((await child.run()).code, 0);
          const seqs: bigint[] = [];
          const got = await engine.poll(0, (r) => seqs.push(decode(r)[1]));
          assert.equal(got, seqs.length);
          assert.ok(seqs.length > 0 && seqs.length < N, `got ${seqs.length}`);
          assert.equal(seqs.length + engine.lostEvents(), N);
          seqs.forEach((s, i) => assert.equal(s, BigInt(i)));
          // Nothing left: a short poll times out with no records.
          assert.equal(await engine.poll(20, () => assert.fail("extra")), 0);
        } finally {
          engine.close();
          await child.kill();
        }
      }),
  });
}

for (const reader of READERS) {
  Deno.test({
    name:
      `an exception in the event handler reaches the poller (${reader} reader)`,
    ignore: skipReason !== undefined,
    fn: () =>
      noLeaks(async () => {
        const child = spawnGetppid(10);
        const engine = new KernelEngine({ ringReader: reader });
        try {
          await engine.load(eventProgram(child.pid, 1 << 16));
          await engine.attach();
          assert.equal((await child.run()).code, 0);
          await assert.rejects(
            engine.poll(100, () => {
              throw new RangeError("boom");
            }),
            RangeError,
          );
          // The failing record was consumed; the other 9 remain.
          let rest = 0;
          await engine.poll(0, () => rest++);
          assert.equal(rest, 9);
        } finally {
          engine.close();
          await child.kill();
        }
      }),
  });
}

for (const reader of READERS) {
  Deno.test({
    name:
      `BEGIN runs once through BPF_PROG_TEST_RUN and sends an event (${reader} reader)`,
    ignore: skipReason !== undefined,
    fn: () =>
      noLeaks(async () => {
        const engine = new KernelEngine({ ringReader: reader });
        try {
          const b = new InsnBuilder();
          b.st(8, 10, -16, 9).st(8, 10, -8, 1234);
          b.ldMap(1, 0);
          b.movReg(2, 10).alu64Imm("ADD", 2, -16);
          b.movImm(3, 16).movImm(4, 0);
          b.call(Helper.ringbuf_output);
          b.movImm(0, 42);
          b.exit();
          const begin = probeOf("begin", ProgType.KPROBE, [
            { kind: "BEGIN", target: "", text: "BEGIN" },
          ], b);
          await engine.load({
            probes: [begin],
            maps: [mapSpec(".events", MapType.RINGBUF, 0, 0, 4096)],
            formats: [],
            eventsMap: 0,
          });
          await engine.attach(); // BEGIN is not attached
          await engine.runSpecial("END"); // no END probe: nothing
          assert.equal(await engine.poll(0, () => {}), 0);
          await engine.runSpecial("BEGIN");
          const recs: [bigint, bigint][] = [];
          assert.equal(await engine.poll(100, (r) => recs.push(decode(r))), 1);
          assert.deepEqual(recs, [[9n, 1234n]]);
          assert.equal(engine.testRun(begin.name), 42);
        } finally {
          engine.close();
        }
      }),
  });
}

for (const reader of READERS) {
  Deno.test({
    name:
      `close() while a poll waits: the poll returns 0, nothing leaks (${reader} reader)`,
    ignore: skipReason !== undefined,
    fn: () =>
      noLeaks(async () => {
        const engine = new KernelEngine({ ringReader: reader });
        try {
          await engine.load(eventProgram(1, 4096));
          await engine.attach();
          const t0 = performance.now();
          const pending = engine.poll(300, () => assert.fail("no events"));
          engine.close();
          assert.equal(await pending, 0);
          assert.ok(performance.now() - t0 < 1000);
        } finally {
          engine.close();
        }
      }),
  });
}
