import assert from "node:assert/strict";
import { MapType } from "../../runtime/bpf/opcodes.ts";
import {
  BPF_ANY,
  BPF_EXIST,
  BPF_NOEXIST,
  createMap,
  Errno,
  HashMap,
  PerfEventArrayMap,
  type RingBufMap,
  type StackTraceMap,
} from "../../runtime/vm/maps.ts";
import { le32, le64, u64 } from "./util.ts";

const shape = (
  type: number,
  keySize: number,
  valueSize: number,
  maxEntries: number,
) => ({
  type,
  keySize,
  valueSize,
  maxEntries,
});

Deno.test("HASH: flags, max entries, delete, entries, clear", () => {
  const m = createMap(shape(MapType.HASH, 4, 8, 2), 1);
  assert.equal(m.update(le32(1), le64(10n), BPF_EXIST), Errno.ENOENT);
  assert.equal(m.update(le32(1), le64(10n), BPF_NOEXIST), 0);
  assert.equal(m.update(le32(1), le64(11n), BPF_NOEXIST), Errno.EEXIST);
  assert.equal(m.update(le32(1), le64(12n), BPF_EXIST), 0);
  assert.equal(m.update(le32(2), le64(20n), BPF_ANY), 0);
  assert.equal(m.update(le32(3), le64(30n), BPF_ANY), Errno.E2BIG);
  assert.equal(
    m.update(le32(2), le64(21n), BPF_ANY),
    0,
    "updating an existing key when full works",
  );
  assert.equal(m.update(le32(2), le64(21n), 3), Errno.EINVAL);
  assert.equal(u64(m.lookup(le32(1))![0]), 12n);
  assert.equal(m.lookup(le32(3)), undefined);
  assert.deepEqual(
    m.entries().map((e) => [e.key[0], u64(e.values[0])]),
    [[1, 12n], [2, 21n]],
  );
  assert.equal(m.delete(le32(1)), 0);
  assert.equal(m.delete(le32(1)), Errno.ENOENT);
  assert.equal(m.update(le32(3), le64(30n)), 0);
  m.clear();
  assert.equal(m.entries().length, 0);
  assert.throws(() => m.lookup(new Uint8Array(3)), RangeError);
});

Deno.test("HASH keys compare by bytes for every key size", () => {
  for (const size of [1, 2, 3, 8, 16, 33]) {
    const m = createMap(shape(MapType.HASH, size, 4, 100), 1);
    const keys: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      const k = new Uint8Array(size);
      k[size - 1] = i; // differ only in the last byte
      if (size >= 8) k[4] = 0xff; // large u64 keys take the string path
      keys.push(k);
      assert.equal(m.update(k, le32(i)), 0);
    }
    for (let i = 0; i < 40; i++) {
      assert.equal(
        new DataView(m.lookup(keys[i])![0].buffer).getUint32(0, true),
        i,
        `size ${size}`,
      );
    }
    assert.equal(m.entries().length, 40);
  }
});

Deno.test("ARRAY: fixed entries, bounds, flags, delete refused, clear zeroes", () => {
  const m = createMap(shape(MapType.ARRAY, 4, 4, 3), 1);
  assert.equal(m.entries().length, 3);
  assert.equal(m.update(le32(2), le32(7)), 0);
  assert.equal(m.update(le32(3), le32(7)), Errno.E2BIG);
  assert.equal(m.update(le32(0), le32(7), BPF_NOEXIST), Errno.EEXIST);
  assert.equal(m.delete(le32(0)), Errno.EINVAL);
  assert.deepEqual(m.lookup(le32(2)), [le32(7)]);
  assert.equal(m.lookup(le32(3)), undefined);
  m.clear();
  assert.deepEqual(m.lookup(le32(2)), [le32(0)]);
  assert.throws(() => createMap(shape(MapType.ARRAY, 8, 4, 3), 1), RangeError);
});

Deno.test("PERCPU_HASH and PERCPU_ARRAY keep one value per CPU", () => {
  const h = createMap(shape(MapType.PERCPU_HASH, 4, 8, 4), 3);
  assert.equal(h.update(le32(1), [le64(1n), le64(2n), le64(3n)]), 0);
  assert.deepEqual(h.lookup(le32(1))!.map((v) => u64(v)), [1n, 2n, 3n]);
  assert.equal(h.update(le32(2), le64(9n)), 0);
  assert.deepEqual(h.lookup(le32(2))!.map((v) => u64(v)), [9n, 9n, 9n]);
  assert.throws(() => h.update(le32(3), [le64(1n)]), RangeError);
  const a = createMap(shape(MapType.PERCPU_ARRAY, 4, 8, 2), 2);
  assert.equal(a.entries()[1].values.length, 2);
});

Deno.test("LRU_HASH evicts the least recently used entry instead of failing", () => {
  const m = createMap(shape(MapType.LRU_HASH, 4, 4, 3), 1);
  for (let i = 0; i < 3; i++) assert.equal(m.update(le32(i), le32(i)), 0);
  assert.equal(m.update(le32(3), le32(3)), 0);
  const keys = m.entries().map((e) => e.key[0]).sort();
  assert.deepEqual(keys, [1, 2, 3]);
  assert.equal(m.update(le32(4), le32(4), BPF_EXIST), Errno.ENOENT);
});

Deno.test("RINGBUF: reserve, submit, discard, output, drain order, lost when full", () => {
  assert.throws(
    () => createMap(shape(MapType.RINGBUF, 0, 0, 100), 1),
    RangeError,
  );
  const rb = createMap(shape(MapType.RINGBUF, 0, 0, 64), 1) as RingBufMap;
  const a = rb.reserve(5)!; // 8 + 8
  a.bytes.set([1, 2, 3, 4, 5]);
  assert.equal(rb.output(new Uint8Array([9])), 0); // 8 + 8
  const c = rb.reserve(8)!; // 8 + 8
  assert.equal(rb.used, 48);
  assert.equal(rb.reserve(9), null, "16 bytes left, 24 needed");
  assert.equal(rb.output(new Uint8Array(9)), Errno.EAGAIN);
  assert.equal(rb.lost, 2);
  const got: number[][] = [];
  // a is still reserved: nothing can be consumed yet
  assert.equal(rb.drain((r) => got.push([...r])), 0);
  rb.commit(a, false);
  rb.commit(c, true);
  assert.equal(rb.drain((r) => got.push([...r])), 2);
  assert.deepEqual(got, [[1, 2, 3, 4, 5], [9]]);
  assert.equal(rb.used, 0);
});

Deno.test("STACK_TRACE: same stack same id, collisions, lookup as u64 ips", () => {
  const st = createMap(
    shape(MapType.STACK_TRACE, 4, 8 * 4, 16),
    1,
  ) as StackTraceMap;
  const s1 = [0xffffffff81000010n, 0xffffffff81000020n];
  const id = st.getStackId(s1, 0);
  assert.ok(id >= 0 && id < 16);
  assert.equal(st.getStackId(s1, 0), id);
  assert.equal(st.getStackId([], 0), Errno.EFAULT);
  const v = st.lookup(le32(id))![0];
  assert.equal(v.length, 32);
  assert.deepEqual([u64(v, 0), u64(v, 8), u64(v, 16)], [...s1, 0n]);
  // Fill buckets until a different stack collides with an existing id.
  const ids = new Set([id]);
  let collided: bigint | undefined;
  for (let i = 0; i < 200 && collided === undefined; i++) {
    const r = st.getStackId([BigInt(i)], 0);
    if (r === Errno.EEXIST) collided = BigInt(i);
    else ids.add(r);
  }
  assert.ok(
    collided !== undefined,
    "a colliding stack without REUSE_STACKID gets -EEXIST",
  );
  assert.equal(st.entries().length, ids.size);
  // With REUSE_STACKID the colliding stack takes the bucket over.
  const reused = st.getStackId([collided], 1 << 10);
  assert.ok(reused >= 0);
  assert.equal(u64(st.lookup(le32(reused))![0]), collided);
  assert.equal(st.delete(le32(id)), 0);
  st.clear();
  assert.equal(st.entries().length, 0);
});

Deno.test("PERF_EVENT_ARRAY keeps records per CPU and counts lost ones", () => {
  const pe = createMap(
    shape(MapType.PERF_EVENT_ARRAY, 4, 4, 2),
    2,
  ) as PerfEventArrayMap;
  assert.equal(pe.output(1, new Uint8Array([1, 2])), 0);
  assert.equal(pe.output(2, new Uint8Array([1])), Errno.E2BIG);
  const got: [number, number[]][] = [];
  assert.equal(pe.drain((r, cpu) => got.push([cpu, [...r]])), 1);
  assert.deepEqual(got, [[1, [1, 2]]]);
  const small = new PerfEventArrayMap(
    shape(MapType.PERF_EVENT_ARRAY, 4, 4, 1),
    1,
    32,
  );
  assert.equal(small.output(0, new Uint8Array(16)), 0);
  assert.equal(small.output(0, new Uint8Array(16)), Errno.ENOSPC);
  assert.equal(small.lost, 1);
});

Deno.test("createMap refuses unknown types and bad shapes", () => {
  assert.throws(
    () => createMap(shape(99, 4, 4, 1), 1),
    /Unsupported map type 99/,
  );
  assert.throws(() => createMap(shape(MapType.HASH, 4, 4, 1), 0), RangeError);
  assert.throws(() => createMap(shape(MapType.HASH, 0, 4, 1), 1), RangeError);
  assert.throws(
    () => createMap(shape(MapType.ARRAY, 4, 1 << 20, 1 << 20), 1),
    RangeError,
  );
});

Deno.test("hash maps reuse deleted slots with a fresh key and zeroed values", () => {
  const m = createMap(shape(MapType.PERCPU_HASH, 4, 8, 4), 2);
  assert.ok(m instanceof HashMap);
  assert.equal(m.update(le32(1), [le64(5n), le64(6n)]), 0);
  const before = m.entries();
  assert.equal(m.delete(le32(1)), 0);
  assert.equal(m.delete(le32(1)), Errno.ENOENT);
  // Key 2 takes the freed slot: stored on CPU 1 only, CPU 0 reads zero.
  assert.equal(m.store(le32(2), 0, le64(7n), 0, BPF_ANY, 1), 0);
  assert.equal(m.lookup(le32(1)), undefined);
  assert.deepEqual(m.lookup(le32(2))!.map((v) => u64(v)), [0n, 7n]);
  // Copies handed out earlier do not change with the reused slot.
  assert.deepEqual(before[0].key, le32(1));
  assert.deepEqual(before[0].values.map((v) => u64(v)), [5n, 6n]);
  const keys = m.entries().map((e) => e.key[0]);
  assert.deepEqual(keys, [2]);
});
