import assert from "node:assert/strict";
import {
  kernelTypeSource,
  prepareKernelTypes,
} from "../../runtime/compiler/kernel_types.ts";
import { World } from "../../runtime/synthetic/world.ts";

/**
 * The synthetic kernel heap: tasks agree with their threads, a kprobe's
 * struct arguments and a tracepoint's skb are laid out by the kernel's
 * types (offsets asked of the types), the same for the same seed.
 */

await prepareKernelTypes("struct");
const types = kernelTypeSource()!.types();

function offset(cname: string, path: string): number {
  return types.fieldPath(types.lookup(cname)!, path)!.offset;
}

function u32(b: Uint8Array | null): number {
  assert.ok(b !== null, "unreadable");
  return new DataView(b.buffer, b.byteOffset).getUint32(0, true);
}

function u64(b: Uint8Array | null): bigint {
  assert.ok(b !== null, "unreadable");
  return new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);
}

Deno.test("a thread's task_struct holds its pid, tgid, comm and init as real_parent", () => {
  const w = new World(7, 2);
  const t = w.procs.threads.find((x) => x.pid !== x.tid) ??
    w.procs.threads[5];
  w.env.set(t, 0, 1000);
  const read = (path: string, n: number) =>
    w.env.readMemory(
      t.task + BigInt(offset("struct task_struct", path)),
      n,
      false,
    );
  assert.equal(u32(read("pid", 4)), t.tid);
  assert.equal(u32(read("tgid", 4)), t.pid);
  const comm = new TextDecoder().decode(read("comm", 16)!).replace(/\0.*/s, "");
  assert.equal(comm, t.comm);
  const parent = u64(read("real_parent", 8));
  const ppid = w.env.readMemory(
    parent + BigInt(offset("struct task_struct", "pid")),
    4,
    false,
  );
  assert.equal(u32(ppid), 1);
  // User reads never see kernel objects.
  assert.equal(w.env.readMemory(t.task, 8, true), null);
});

Deno.test("a kprobe's struct sock argument has a family and ports; the same per seed", () => {
  const bytes = (seed: number) => {
    const w = new World(seed, 1);
    const addr = 0xffff888123456740n;
    w.heap.addArgs("tcp_connect", [addr]);
    const fam = w.heap.read(
      addr + BigInt(offset("struct sock", "__sk_common.skc_family")),
      2,
    );
    const dport = w.heap.read(
      addr + BigInt(offset("struct sock", "__sk_common.skc_dport")),
      2,
    );
    return [...fam!, ...dport!];
  };
  const a = bytes(3);
  assert.ok([2, 10].includes(a[0]), `family ${a[0]}`);
  assert.ok(a[2] !== 0 || a[3] !== 0, "a destination port");
  assert.deepEqual(bytes(3), a);
});

Deno.test({
  name:
    "per-CPU variables: one copy per CPU, process counts summing to the processes, a small run queue",
  ignore: types.source !== "btf",
  async fn() {
    const { percpuVars } = await import("../../runtime/btf/percpu_vars.ts");
    const vars = percpuVars(types.btf);
    const pc = vars.get("process_counts")!;
    const rq = vars.get("runqueues")!;
    const w = new World(7, 2);
    const a0 = w.env.percpuAddress(pc.id, 0)!;
    const a1 = w.env.percpuAddress(pc.id, 1)!;
    assert.notEqual(a0, a1);
    assert.equal(w.env.percpuAddress(pc.id, 0), a0);
    const processes = w.procs.threads.filter((t) => t.pid === t.tid).length;
    assert.equal(
      u64(w.env.readMemory(a0, 8, false)) + u64(w.env.readMemory(a1, 8, false)),
      BigInt(processes),
    );
    const r1 = w.env.percpuAddress(rq.id, 1)!;
    const at = (path: string) => r1 + BigInt(offset("struct rq", path));
    assert.equal(u32(w.env.readMemory(at("cpu"), 4, false)), 1);
    const running = u32(w.env.readMemory(at("nr_running"), 4, false));
    assert.ok(running >= 1 && running <= 3, String(running));
    // Another variable: its size of zeros; an id that is no variable: none.
    const other = [...vars.values()].find((v) =>
      v.name !== "process_counts" && v.name !== "runqueues" && v.size >= 8
    )!;
    const o = w.env.percpuAddress(other.id, 0)!;
    assert.equal(u64(w.env.readMemory(o, 8, false)), 0n);
    assert.equal(w.env.percpuAddress(pc.type, 0), undefined);
  },
});
