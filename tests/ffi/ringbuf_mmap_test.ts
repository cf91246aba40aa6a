/**
 * The memory-mapped ring buffer reader, driven deterministically: the test
 * process itself makes the `getppid` calls the probe turns into records,
 * so it knows exactly what the ring holds before each poll.
 */

import assert from "node:assert/strict";
import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import { Helper, MapType, ProgType } from "../../runtime/bpf/opcodes.ts";
import type { Program } from "../../runtime/program.ts";
import { KernelEngine } from "../../runtime/engines/kernel_engine.ts";
import { native } from "../../ffi/libbpf.ts";
import {
  counterMap,
  mapSpec,
  noLeaks,
  point,
  probeOf,
  skipReason,
} from "./kernel_helpers.ts";

const SYS_GETPPID = 110n;

/** Makes `n` getppid system calls from this thread. */
function getppid(n: number): void {
  const libc = native().libc;
  for (let i = 0; i < n; i++) libc.syscall(SYS_GETPPID, null, 0n, 0n, 0n, 0n);
}

/** Lines of /proc/self/maps that map a BPF map. */
function bpfMappings(): number {
  return Deno.readTextFileSync("/proc/self/maps").split("\n")
    .filter((l) => l.includes("bpf-map")).length;
}

/**
 * On each getppid of this process: seq = fetch-add on map 0; reserve a
 * record of 16 bytes (even seq) or 40 bytes (odd seq) holding {3, seq,
 * seq...}; discard it when `discard` and seq % 3 == 1, else submit. A
 * failed reserve counts into `.lost` (map 2).
 */
function reserveProgram(ringBytes: number, discard: boolean): Program {
  const b = new InsnBuilder();
  b.call(Helper.get_current_pid_tgid);
  b.alu64Imm("RSH", 0, 32);
  b.jmpImm("JNE", 0, Deno.pid, "out");
  b.st(4, 10, -4, 0);
  b.movReg(2, 10).alu64Imm("ADD", 2, -4);
  b.ldMap(1, 0);
  b.call(Helper.map_lookup_elem);
  b.jmpImm("JEQ", 0, 0, "out");
  b.movImm(1, 1);
  b.atomic(8, "ADD", 0, 0, 1, true); // r1 = old value
  b.movReg(6, 1); // seq
  b.movReg(7, 6).alu64Imm("AND", 7, 1);
  b.jmpImm("JNE", 7, 0, "long");
  b.ldMap(1, 1).movImm(2, 16).movImm(3, 0);
  b.call(Helper.ringbuf_reserve);
  b.jmpImm("JEQ", 0, 0, "lost");
  b.st(8, 0, 0, 3).stx(8, 0, 8, 6);
  b.ja("commit");
  b.label("long");
  b.ldMap(1, 1).movImm(2, 40).movImm(3, 0);
  b.call(Helper.ringbuf_reserve);
  b.jmpImm("JEQ", 0, 0, "lost");
  b.st(8, 0, 0, 3);
  for (const off of [8, 16, 24, 32]) b.stx(8, 0, off, 6);
  b.label("commit");
  b.movReg(1, 0).movImm(2, 0);
  if (discard) {
    b.movReg(3, 6).alu64Imm("MOD", 3, 3);
    b.jmpImm("JEQ", 3, 1, "discard");
  }
  b.call(Helper.ringbuf_submit);
  b.ja("out");
  if (discard) {
    b.label("discard");
    b.call(Helper.ringbuf_discard);
    b.ja("out");
  }
  b.label("lost");
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
      probeOf("rbm", ProgType.TRACEPOINT, [
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

/** Checks a record's layout and returns its seq. */
function seqOf(rec: Uint8Array): number {
  const v = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  assert.equal(v.getBigUint64(0, true), 3n);
  const seq = v.getBigUint64(8, true);
  assert.equal(rec.length, seq % 2n === 0n ? 16 : 40, `length of ${seq}`);
  for (let off = 16; off < rec.length; off += 8) {
    assert.equal(v.getBigUint64(off, true), seq);
  }
  return Number(seq);
}

/**
 * Runs `rounds` rounds of `perRound` calls each, polling after each round,
 * and returns the records kept by the handler (checked after close).
 */
async function stream(
  reader: "mmap" | "libbpf",
  rounds: number,
  perRound: number,
): Promise<{ seqs: number[]; lost: number }> {
  const engine = new KernelEngine({ ringReader: reader });
  const kept: Uint8Array[] = [];
  let lost = 0;
  try {
    await engine.load(reserveProgram(4096, true));
    await engine.attach();
    assert.equal(engine.ringReader, reader);
    for (let r = 0; r < rounds; r++) {
      getppid(perRound);
      await engine.poll(0, (rec) => kept.push(rec));
    }
    lost = engine.lostEvents();
  } finally {
    engine.close();
  }
  // Kept records stay valid after the ring is gone.
  return { seqs: kept.map(seqOf), lost };
}

Deno.test({
  name:
    "mmap ring reader: records wrap around a 4 KiB ring many times, in order, discarded ones skipped",
  ignore: skipReason !== undefined,
  fn: () =>
    noLeaks(async () => {
      const maps = bpfMappings();
      // 60 records of 24 or 48 bytes (≤ 2,880) fit a 4,096-byte ring; 200
      // rounds push ~430 KB through it, records straddling its end.
      const rounds = 200, perRound = 60;
      const { seqs, lost } = await stream("mmap", rounds, perRound);
      assert.equal(lost, 0);
      const want: number[] = [];
      for (let s = 0; s < rounds * perRound; s++) if (s % 3 !== 1) want.push(s);
      assert.equal(seqs.length, want.length);
      assert.deepEqual(seqs, want);
      assert.equal(bpfMappings(), maps, "ring buffer left mapped");
    }),
});

Deno.test({
  name: "mmap and libbpf ring readers deliver the same records",
  ignore: skipReason !== undefined,
  fn: () =>
    noLeaks(async () => {
      const a = await stream("mmap", 20, 50);
      const b = await stream("libbpf", 20, 50);
      assert.equal(a.lost, 0);
      assert.deepEqual(a, b);
    }),
});

Deno.test({
  name:
    "mmap ring reader: a full ring drops the rest, counted, and delivery resumes after a drain",
  ignore: skipReason !== undefined,
  fn: () =>
    noLeaks(async () => {
      const engine = new KernelEngine();
      try {
        await engine.load(reserveProgram(4096, false));
        await engine.attach();
        assert.equal(engine.ringReader, "mmap");
        const seqs: number[] = [];
        const onEvent = (rec: Uint8Array) => seqs.push(seqOf(rec));
        getppid(300); // 300 records of 36 bytes on average: ~10,800 > 4,096
        assert.equal(await engine.poll(0, onEvent), seqs.length);
        const first = seqs.length;
        assert.ok(first > 0 && first < 300, `got ${first}`);
        assert.equal(first + engine.lostEvents(), 300);
        getppid(100);
        await engine.poll(0, onEvent);
        assert.equal(await engine.poll(10, onEvent), 0);
        // The first records, in order, as many as fit (a short record
        // may still fit after a long one did not).
        const head = seqs.slice(0, first);
        assert.equal(head[0], 0);
        head.forEach((s, i) => i > 0 && assert.ok(s > head[i - 1]));
        const bytes = head.reduce((n, s) => n + (s % 2 === 0 ? 24 : 48), 0);
        assert.ok(bytes <= 4096 && bytes > 4096 - 48, `${bytes} bytes`);
        assert.deepEqual(
          seqs.slice(first),
          Array.from({ length: 100 }, (_, i) => 300 + i),
        );
      } finally {
        engine.close();
      }
    }),
});

Deno.test({
  name:
    "mmap ring reader: a handler exception keeps the rest of the batch for the next poll",
  ignore: skipReason !== undefined,
  fn: () =>
    noLeaks(async () => {
      const engine = new KernelEngine();
      try {
        await engine.load(reserveProgram(4096, false));
        await engine.attach();
        getppid(10);
        let calls = 0;
        await assert.rejects(
          engine.poll(0, () => {
            if (++calls === 4) throw new RangeError("boom");
          }),
          RangeError,
        );
        getppid(5);
        const seqs: number[] = [];
        assert.equal(await engine.poll(0, (r) => seqs.push(seqOf(r))), 11);
        assert.deepEqual(seqs, Array.from({ length: 11 }, (_, i) => 4 + i));
      } finally {
        engine.close();
      }
    }),
});

Deno.test({
  name:
    "mmap ring reader: while records stream, a waiting poll wakes for new ones and for close()",
  ignore: skipReason !== undefined,
  fn: () =>
    noLeaks(async () => {
      const engine = new KernelEngine();
      try {
        await engine.load(reserveProgram(4096, false));
        await engine.attach();
        const seqs: number[] = [];
        const onEvent = (rec: Uint8Array) => seqs.push(seqOf(rec));
        getppid(5);
        assert.equal(await engine.poll(0, onEvent), 5);
        // Records made while the poll waits arrive before its timeout.
        let t0 = performance.now();
        const next = engine.poll(2000, onEvent);
        getppid(3);
        assert.equal(await next, 3);
        assert.ok(performance.now() - t0 < 1000);
        assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5, 6, 7]);
        // close() ends a waiting poll.
        t0 = performance.now();
        const pending = engine.poll(2000, () => assert.fail("no events"));
        engine.close();
        assert.equal(await pending, 0);
        assert.ok(performance.now() - t0 < 1000);
      } finally {
        engine.close();
      }
    }),
});
