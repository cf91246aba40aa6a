import assert from "node:assert/strict";
import type { InsnBuilder } from "../../runtime/bpf/builder.ts";
import { Helper, MapType } from "../../runtime/bpf/opcodes.ts";
import { createEnvironment } from "../../runtime/vm/environment.ts";
import {
  createMap,
  Errno,
  type PerfEventArrayMap,
  type RingBufMap,
  type StackTraceMap,
} from "../../runtime/vm/maps.ts";
import { le32, prog, run1, TWO64, u64 } from "./util.ts";

const E = (errno: number) => BigInt.asUintN(64, BigInt(errno));
const ctx0 = new Uint8Array(0);

/** r2 = r10 + off */
const fp = (b: InsnBuilder, reg: number, off: number) =>
  b.movReg(reg, 10).alu64Imm("ADD", reg, off);

Deno.test("map_lookup_elem / map_update_elem / map_delete_elem from a program", () => {
  const m = createMap({
    type: MapType.HASH,
    keySize: 4,
    valueSize: 8,
    maxEntries: 1,
  }, 1);
  const update = (key: number, val: number, flags: number) =>
    run1((b) => {
      b.st(4, 10, -4, key).st(8, 10, -16, val);
      b.ldMap(1, 0);
      fp(b, 2, -4);
      fp(b, 3, -16);
      b.movImm(4, flags).call(Helper.map_update_elem).exit();
    }, [m]);
  assert.equal(update(5, 50, 0), 0n);
  assert.equal(update(6, 60, 0), E(Errno.E2BIG));
  assert.equal(update(5, 51, 1), E(Errno.EEXIST));
  assert.equal(update(7, 51, 2), E(Errno.ENOENT));
  const lookup = (key: number) =>
    run1((b) => {
      b.st(4, 10, -4, key).ldMap(1, 0);
      fp(b, 2, -4);
      b.call(Helper.map_lookup_elem);
      b.jmpImm("JEQ", 0, 0, "none").ldx(8, 0, 0, 0).exit();
      b.label("none").movImm(0, -1).exit();
    }, [m]);
  assert.equal(lookup(5), 50n);
  assert.equal(lookup(6), TWO64 - 1n);
  const del = (key: number) =>
    run1((b) => {
      b.st(4, 10, -4, key).ldMap(1, 0);
      fp(b, 2, -4);
      b.call(Helper.map_delete_elem).exit();
    }, [m]);
  assert.equal(del(5), 0n);
  assert.equal(del(5), E(Errno.ENOENT));
  // A lookup's pointer covers exactly the value.
  update(5, 1, 0);
  assert.throws(
    () =>
      run1((b) => {
        b.st(4, 10, -4, 5).ldMap(1, 0);
        fp(b, 2, -4);
        b.call(Helper.map_lookup_elem).ldx(8, 0, 0, 4).exit();
      }, [m]),
    {
      name: "VmError",
      message:
        /Out-of-bounds read of 8 bytes at offset 4 of map value \(8 bytes\)/,
    },
  );
  // The key pointer must cover the key.
  assert.throws(
    () =>
      run1((b) => {
        b.ldMap(1, 0);
        fp(b, 2, -2);
        b.call(Helper.map_lookup_elem).exit();
      }, [m]),
    {
      name: "VmError",
      message:
        /Out-of-bounds read of 4 bytes at offset 510 of stack.*call bpf_map_lookup_elem/,
    },
  );
  // The map argument must be a map.
  assert.throws(
    () =>
      run1(
        (b) => b.movImm(1, 0).movImm(2, 0).call(Helper.map_lookup_elem).exit(),
        [m],
      ),
    { message: /Helper argument is not a map/ },
  );
});

Deno.test("per-CPU maps: the program sees the environment's CPU; map_lookup_percpu_elem any CPU", () => {
  const m = createMap({
    type: MapType.PERCPU_ARRAY,
    keySize: 4,
    valueSize: 8,
    maxEntries: 1,
  }, 4);
  const p = prog((b) => {
    b.st(4, 10, -4, 0).ldMap(1, 0);
    fp(b, 2, -4);
    b.call(Helper.map_lookup_elem).jmpImm("JEQ", 0, 0, "out");
    b.call(Helper.get_smp_processor_id).alu64Imm("ADD", 0, 10).movReg(1, 0);
    b.st(4, 10, -4, 0).ldMap(1, 0); // reload; r1 clobbered
    fp(b, 2, -4);
    b.movReg(6, 0).call(Helper.map_lookup_elem).movReg(7, 0);
    b.call(Helper.get_smp_processor_id).alu64Imm("ADD", 0, 10).stx(8, 7, 0, 0);
    b.label("out").movImm(0, 0).exit();
  }, [m]);
  for (const cpu of [1, 3]) p.run(ctx0, createEnvironment({ cpu, numCpus: 4 }));
  assert.deepEqual(m.lookup(le32(0))!.map((v) => u64(v)), [0n, 11n, 0n, 13n]);
  assert.throws(
    () => p.run(ctx0, createEnvironment({ cpu: 4, numCpus: 8 })),
    RangeError,
  );
  const percpu = (cpu: number) =>
    run1((b) => {
      b.st(4, 10, -4, 0).ldMap(1, 0);
      fp(b, 2, -4);
      b.movImm(3, cpu).call(Helper.map_lookup_percpu_elem);
      b.jmpImm("JEQ", 0, 0, "none").ldx(8, 0, 0, 0).exit();
      b.label("none").movImm(0, -1).exit();
    }, [m]);
  assert.equal(percpu(3), 13n);
  assert.equal(percpu(4), TWO64 - 1n);
});

Deno.test("probe_read* copy readable memory and fail with -EFAULT (-ERANGE) and a zeroed buffer", () => {
  const memory = [
    {
      addr: 0x1000n,
      bytes: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]),
      space: "kernel" as const,
    },
    {
      addr: 0x2000n,
      bytes: new TextEncoder().encode("hello\0world"),
      space: "user" as const,
    },
  ];
  const read = (helper: number, addr: number, n: number) => {
    const out = new Uint8Array(16);
    const r = prog((b) => {
      b.movReg(6, 1).st(8, 10, -16, -1).st(8, 10, -8, -1);
      fp(b, 1, -16);
      b.movImm(2, n).movImm(3, addr).call(helper);
      b.ldx(8, 1, 10, -16).stx(8, 6, 0, 1).ldx(8, 1, 10, -8).stx(8, 6, 8, 1);
      b.exit();
    }).run(out, createEnvironment({ memory }), { writableCtx: true });
    return { r, out: [...out] };
  };
  let x = read(Helper.probe_read_kernel, 0x1002, 4);
  assert.equal(x.r, 0n);
  assert.deepEqual(x.out.slice(0, 5), [3, 4, 5, 6, 255]);
  // A failed kernel read at a user-half address is -ERANGE, as the kernel
  // refuses those before trying them.
  x = read(Helper.probe_read_kernel, 0x1006, 4);
  assert.equal(x.r, E(Errno.ERANGE));
  assert.deepEqual(x.out.slice(0, 5), [0, 0, 0, 0, 255]);
  assert.equal(
    read(Helper.probe_read_user, 0x1000, 2).r,
    E(Errno.EFAULT),
    "kernel memory is not user memory",
  );
  assert.equal(
    read(Helper.probe_read, 0x2000, 2).r,
    0n,
    "probe_read reads either",
  );
  // Strings: length includes the NUL; truncated strings are NUL-terminated.
  x = read(Helper.probe_read_user_str, 0x2000, 16);
  assert.equal(x.r, 6n);
  assert.deepEqual(
    x.out.slice(0, 7),
    [..."hello"].map((c) => c.charCodeAt(0)).concat([0, 255]),
  );
  x = read(Helper.probe_read_str, 0x2000, 3);
  assert.equal(x.r, 3n);
  assert.deepEqual(x.out.slice(0, 4), [104, 101, 0, 255]);
  x = read(Helper.probe_read_user_str, 0x2006, 16); // "world" runs to the end of the segment unterminated
  assert.equal(x.r, E(Errno.EFAULT));
  assert.deepEqual(x.out.slice(0, 8), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(
    read(Helper.probe_read_kernel_str, 0x2000, 8).r,
    E(Errno.ERANGE),
    "probe_read_kernel_str refuses a user address",
  );
  // Reading the program's own stack through a pointer works too.
  assert.equal(
    run1((b) => {
      b.st(8, 10, -8, 0x41).movReg(3, 10).alu64Imm("ADD", 3, -8);
      fp(b, 1, -16);
      b.movImm(2, 8).call(Helper.probe_read_kernel).ldx(8, 0, 10, -16).exit();
    }),
    0x41n,
  );
  // The destination must be writable memory of that size.
  assert.throws(
    () =>
      run1((b) =>
        b.movImm(2, 8).movImm(3, 0x1000).call(Helper.probe_read_kernel).exit()
      ),
    {
      message: /Invalid write of 8 bytes to read-only ctx|Out-of-bounds write/,
    },
  );
});

Deno.test("ringbuf_reserve / submit / discard / output", () => {
  const rb = createMap({
    type: MapType.RINGBUF,
    keySize: 0,
    valueSize: 0,
    maxEntries: 64,
  }, 1) as RingBufMap;
  const p = prog((b) => {
    b.ldMap(1, 0).movImm(2, 8).movImm(3, 0).call(Helper.ringbuf_reserve);
    b.jmpImm("JEQ", 0, 0, "full");
    b.st(8, 0, 0, 0x1234).movReg(1, 0).movImm(2, 0).call(Helper.ringbuf_submit);
    b.ldMap(1, 0).movImm(2, 4).movImm(3, 0).call(Helper.ringbuf_reserve);
    b.jmpImm("JEQ", 0, 0, "full");
    b.movReg(1, 0).movImm(2, 0).call(Helper.ringbuf_discard);
    b.st(8, 10, -8, 0x55).ldMap(1, 0);
    fp(b, 2, -8);
    b.movImm(3, 1).movImm(4, 0).call(Helper.ringbuf_output);
    b.exit();
    b.label("full").movImm(0, -1).exit();
  }, [rb]);
  const env = createEnvironment();
  assert.equal(p.run(ctx0, env), 0n);
  const got: number[][] = [];
  rb.drain((r) => got.push([...r]));
  assert.deepEqual(got, [[0x34, 0x12, 0, 0, 0, 0, 0, 0], [0x55]]);
  // Fill it: 64 bytes hold 3 such runs' worth? each run uses 16+16+16.
  p.run(ctx0, env);
  assert.equal(p.run(ctx0, env), TWO64 - 1n);
  assert.equal(rb.lost, 1);
  // A submitted record cannot be touched again.
  const rb2 = createMap({
    type: MapType.RINGBUF,
    keySize: 0,
    valueSize: 0,
    maxEntries: 64,
  }, 1);
  assert.throws(
    () =>
      run1((b) => {
        b.ldMap(1, 0).movImm(2, 8).movImm(3, 0).call(Helper.ringbuf_reserve);
        b.jmpImm("JEQ", 0, 0, "out").movReg(6, 0);
        b.movReg(1, 0).movImm(2, 0).call(Helper.ringbuf_submit);
        b.st(8, 6, 0, 1);
        b.label("out").movImm(0, 0).exit();
      }, [rb2]),
    {
      name: "VmError",
      message:
        /Out-of-bounds write of 8 bytes at offset 0 of ring buffer record \(0 bytes\)/,
    },
  );
  assert.throws(
    () =>
      run1((b) => {
        fp(b, 1, -8);
        b.movImm(2, 0).call(Helper.ringbuf_submit).exit();
      }, [rb2]),
    { message: /ringbuf_submit needs a reserved ring buffer record/ },
  );
  // A record neither submitted nor discarded is an error, and is discarded.
  assert.throws(
    () =>
      run1((b) => {
        b.ldMap(1, 0).movImm(2, 8).movImm(3, 0).call(Helper.ringbuf_reserve);
        b.movImm(0, 0).exit();
      }, [rb2]),
    { name: "VmError", message: /neither submitted nor discarded at pc 4/ },
  );
  assert.equal(
    (rb2 as RingBufMap).used,
    32,
    "discarded records hold space until consumed",
  );
  assert.equal(
    (rb2 as RingBufMap).drain(() => {}),
    1,
    "the submitted record of the earlier run",
  );
  assert.equal((rb2 as RingBufMap).used, 0);
});

Deno.test("perf_event_output goes to the current CPU's buffer", () => {
  const pe = createMap({
    type: MapType.PERF_EVENT_ARRAY,
    keySize: 4,
    valueSize: 4,
    maxEntries: 2,
  }, 2) as PerfEventArrayMap;
  const p = prog((b) => {
    b.movReg(1, 1).st(4, 10, -4, 0x01020304).ldMap(2, 0).ldImm64(
      3,
      0xffffffffn,
    );
    fp(b, 4, -4);
    b.movImm(5, 4).call(Helper.perf_event_output).exit();
  }, [pe]);
  assert.equal(p.run(ctx0, createEnvironment({ cpu: 1, numCpus: 2 })), 0n);
  const got: [number, number[]][] = [];
  pe.drain((r, cpu) => got.push([cpu, [...r]]));
  assert.deepEqual(got, [[1, [4, 3, 2, 1]]]);
});

Deno.test("get_stackid and get_stack", () => {
  const st = createMap({
    type: MapType.STACK_TRACE,
    keySize: 4,
    valueSize: 8 * 8,
    maxEntries: 64,
  }, 1) as StackTraceMap;
  const env = {
    kernelStack: [
      0xffffffff81001000n,
      0xffffffff81002000n,
      0xffffffff81003000n,
    ],
    userStack: [0x401000n],
  };
  const stackid = (flags: number) =>
    run1(
      (b) => {
        b.ldMap(2, 0).movImm(3, flags).call(Helper.get_stackid).exit();
      },
      [st],
      env,
    );
  const k = stackid(0);
  assert.equal(stackid(0), k);
  const skipped = stackid(1);
  assert.notEqual(skipped, k);
  const v = st.lookup(le32(Number(skipped)))![0];
  assert.deepEqual([u64(v, 0), u64(v, 8), u64(v, 16)], [
    0xffffffff81002000n,
    0xffffffff81003000n,
    0n,
  ]);
  const user = stackid(1 << 8);
  assert.equal(u64(st.lookup(le32(Number(user)))![0]), 0x401000n);
  assert.equal(
    stackid(3),
    E(Errno.EFAULT),
    "skipping every frame leaves nothing",
  );
  assert.equal(stackid(1 << 20), E(Errno.EINVAL));
  const out = new Uint8Array(24);
  const n = prog((b) => {
    b.movReg(6, 1).st(8, 10, -8, -1);
    fp(b, 2, -24);
    b.movImm(3, 24).movImm(4, 1).call(Helper.get_stack).movReg(7, 0);
    for (const off of [0, 8, 16]) b.ldx(8, 1, 10, -24 + off).stx(8, 6, off, 1);
    b.movReg(0, 7).exit();
  }).run(out, createEnvironment(env), { writableCtx: true });
  assert.equal(n, 16n);
  assert.deepEqual([u64(out, 0), u64(out, 8), u64(out, 16)], [
    0xffffffff81002000n,
    0xffffffff81003000n,
    0n,
  ]);
});

Deno.test("process-context helpers read the environment", () => {
  const envOpts = {
    pid: 4242,
    tid: 4243,
    uid: 1000,
    gid: 100,
    comm: "a-rather-long-command",
    cpu: 1,
    numCpus: 2,
    startNs: 5_000_000_000n,
    cgroupId: 77n,
    task: 0xffff888012345678n,
    funcIp: 0xffffffff81234560n,
  };
  const call = (h: number) => run1((b) => b.call(h).exit(), [], envOpts);
  assert.equal(call(Helper.get_current_pid_tgid), (4242n << 32n) | 4243n);
  assert.equal(call(Helper.get_current_uid_gid), (100n << 32n) | 1000n);
  assert.equal(call(Helper.ktime_get_ns), 5_000_000_000n);
  assert.equal(call(Helper.ktime_get_boot_ns), 5_000_000_000n);
  assert.equal(call(Helper.jiffies64), 5_000_000_000n / 4_000_000n);
  assert.equal(call(Helper.get_smp_processor_id), 1n);
  assert.equal(call(Helper.get_current_cgroup_id), 77n);
  assert.equal(call(Helper.get_current_task), 0xffff888012345678n);
  assert.equal(call(Helper.get_func_ip), 0xffffffff81234560n);
  const r1 = call(Helper.get_prandom_u32);
  assert.ok(r1 < 1n << 32n);
  // Two readings differ (seeded generator, fake clock advances).
  assert.equal(
    run1((b) =>
      b.call(Helper.get_prandom_u32).movReg(6, 0).call(Helper.get_prandom_u32)
        .alu64Reg("SUB", 0, 6).jmpImm("JEQ", 0, 0, "same").movImm(0, 1).exit()
        .label("same").movImm(0, 0).exit()
    ),
    1n,
  );
  // comm: 15 bytes and a NUL, zero-padded.
  const out = new Uint8Array(16);
  prog((b) => {
    b.movReg(6, 1);
    fp(b, 1, -16);
    b.movImm(2, 16).call(Helper.get_current_comm);
    b.ldx(8, 1, 10, -16).stx(8, 6, 0, 1).ldx(8, 1, 10, -8).stx(8, 6, 8, 1)
      .exit();
  }).run(out, createEnvironment(envOpts), { writableCtx: true });
  assert.equal(new TextDecoder().decode(out), "a-rather-long-c\0");
});

Deno.test("trace_printk formats and collects lines; send_signal is recorded", () => {
  const fmt = new TextEncoder().encode("pid %d x=%x s=%s\n\0");
  const p = prog((b) => {
    // fmt at r10-32, a string at r10-40
    for (let i = 0; i < fmt.length; i++) b.st(1, 10, -32 + i, fmt[i]);
    b.st(4, 10, -40, 0x006b6f); // "ok\0"
    fp(b, 1, -32);
    b.movImm(2, fmt.length).movImm(3, -5).movImm(4, 255);
    fp(b, 5, -40);
    b.call(Helper.trace_printk).movReg(6, 0);
    b.movImm(1, 9).call(Helper.send_signal);
    b.movImm(1, 99).call(Helper.send_signal);
    b.alu64Imm("LSH", 0, 32).alu64Reg("OR", 0, 6).exit();
  });
  const r = p.run(ctx0, createEnvironment({ pid: 7, tid: 8 }));
  assert.deepEqual(p.output.trace, ["pid -5 x=ff s=ok"]);
  assert.equal(r & 0xffffffffn, 17n);
  assert.equal(r >> 32n, 0xffffffffn - 21n, "signal 99 is invalid: -EINVAL");
  assert.deepEqual(p.output.signals, [{ signal: 9, pid: 7, tid: 8 }]);
});
