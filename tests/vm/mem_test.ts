import assert from "node:assert/strict";
import { insn } from "../../runtime/bpf/insn.ts";
import { AtomicOp, MapType } from "../../runtime/bpf/opcodes.ts";
import { createEnvironment } from "../../runtime/vm/environment.ts";
import { VmError } from "../../runtime/vm/interpreter.ts";
import { createMap } from "../../runtime/vm/maps.ts";
import { prog, run1, TWO64, u64 } from "./util.ts";

const V = 0x8182838485868788n;

Deno.test("LDX, ST and STX of every size on the stack", () => {
  for (const w of [1, 2, 4, 8] as const) {
    const mask = (1n << BigInt(w * 8)) - 1n;
    // stx then ldx
    assert.equal(
      run1((b) => {
        b.ldImm64(1, V).stx(w, 10, -8, 1).ldx(w, 0, 10, -8).exit();
      }),
      V & mask,
      `stx/ldx ${w}`,
    );
    // st imm (sign-extended to 64 for DW) then ldx
    assert.equal(
      run1((b) => {
        b.st(8, 10, -8, 0).st(w, 10, -8, -2).ldx(8, 0, 10, -8).exit();
      }),
      (TWO64 - 2n) & mask,
      `st ${w}`,
    );
  }
  // little-endian layout
  assert.equal(
    run1((b) => {
      b.ldImm64(1, V).stx(8, 10, -8, 1).ldx(1, 0, 10, -8).exit();
    }),
    0x88n,
  );
});

Deno.test("MEMSX loads sign-extend", () => {
  for (
    const [w, want] of [[1, TWO64 - 0x78n], [2, TWO64 - 0x7878n], [
      4,
      TWO64 - 0x7a797878n,
    ]] as const
  ) {
    assert.equal(
      run1((b) => {
        b.ldImm64(1, V).stx(8, 10, -8, 1).ldxsx(w, 0, 10, -8).exit();
      }),
      want,
      `ldxsx ${w}`,
    );
  }
  assert.equal(
    run1((b) => {
      b.st(4, 10, -4, 0x7f).ldxsx(1, 0, 10, -4).exit();
    }),
    0x7fn,
  );
});

Deno.test("atomics: add/and/or/xor with and without fetch, xchg, cmpxchg, 32 and 64 bits", () => {
  type Case = {
    w: 4 | 8;
    op: keyof typeof AtomicOp;
    fetch: boolean;
    mem: bigint;
    src: bigint;
    r0?: bigint;
    wantMem: bigint;
    wantSrc: bigint;
    wantR0?: bigint;
  };
  const M32 = 0xffffffffn;
  const cases: Case[] = [
    {
      w: 8,
      op: "ADD",
      fetch: false,
      mem: 0xffffffffn,
      src: 1n,
      wantMem: 0x100000000n,
      wantSrc: 1n,
    },
    {
      w: 8,
      op: "ADD",
      fetch: true,
      mem: 5n,
      src: TWO64 - 1n,
      wantMem: 4n,
      wantSrc: 5n,
    },
    {
      w: 4,
      op: "ADD",
      fetch: true,
      mem: 0xffffffffn,
      src: 0xaaaa00000002n,
      wantMem: 1n,
      wantSrc: 0xffffffffn,
    },
    {
      w: 8,
      op: "OR",
      fetch: true,
      mem: 0xf0n,
      src: 0x0fn,
      wantMem: 0xffn,
      wantSrc: 0xf0n,
    },
    {
      w: 4,
      op: "OR",
      fetch: false,
      mem: 0xf0n,
      src: 0x0fn,
      wantMem: 0xffn,
      wantSrc: 0x0fn,
    },
    {
      w: 8,
      op: "AND",
      fetch: true,
      mem: V,
      src: 0xff00ff00ff00ff00n,
      wantMem: V & 0xff00ff00ff00ff00n,
      wantSrc: V,
    },
    {
      w: 4,
      op: "AND",
      fetch: true,
      mem: V,
      src: 0xff00n,
      wantMem: (V & ~M32) | 0x8700n,
      wantSrc: V & M32,
    },
    { w: 8, op: "XOR", fetch: false, mem: V, src: V, wantMem: 0n, wantSrc: V },
    {
      w: 4,
      op: "XOR",
      fetch: true,
      mem: 3n,
      src: 5n,
      wantMem: 6n,
      wantSrc: 3n,
    },
    {
      w: 8,
      op: "XCHG",
      fetch: false,
      mem: V,
      src: 7n,
      wantMem: 7n,
      wantSrc: V,
    },
    {
      w: 4,
      op: "XCHG",
      fetch: false,
      mem: V,
      src: 7n,
      wantMem: (V & ~M32) | 7n,
      wantSrc: V & M32,
    },
    {
      w: 8,
      op: "CMPXCHG",
      fetch: false,
      mem: V,
      src: 9n,
      r0: V,
      wantMem: 9n,
      wantSrc: 9n,
      wantR0: V,
    },
    {
      w: 8,
      op: "CMPXCHG",
      fetch: false,
      mem: V,
      src: 9n,
      r0: V + 1n,
      wantMem: V,
      wantSrc: 9n,
      wantR0: V,
    },
    {
      w: 4,
      op: "CMPXCHG",
      fetch: false,
      mem: V,
      src: 9n,
      r0: 0xaaaa00000000n | (V & M32),
      wantMem: (V & ~M32) | 9n,
      wantSrc: 9n,
      wantR0: V & M32,
    },
    {
      w: 4,
      op: "CMPXCHG",
      fetch: false,
      mem: V,
      src: 9n,
      r0: 1n,
      wantMem: V,
      wantSrc: 9n,
      wantR0: V & M32,
    },
  ];
  for (const c of cases) {
    const name = `${c.op}${c.fetch ? "|FETCH" : ""} ${c.w * 8}`;
    const out = new Uint8Array(24);
    const q = prog((b) => {
      b.movReg(6, 1);
      b.ldImm64(1, c.mem).stx(8, 10, -8, 1);
      b.ldImm64(2, c.src).ldImm64(0, c.r0 ?? 0n);
      b.atomic(c.w, c.op, 10, -8, 2, c.fetch);
      b.ldx(8, 3, 10, -8);
      b.stx(8, 6, 0, 3).stx(8, 6, 8, 2).stx(8, 6, 16, 0);
      b.movImm(0, 0).exit();
    });
    q.run(out, createEnvironment(), { writableCtx: true });
    assert.equal(u64(out, 0), c.wantMem, `${name}: memory`);
    assert.equal(u64(out, 8), c.wantSrc, `${name}: src`);
    if (c.wantR0 !== undefined) {
      assert.equal(u64(out, 16), c.wantR0, `${name}: r0`);
    }
  }
});

Deno.test("load-acquire and store-release", () => {
  assert.equal(
    run1((b) => {
      b.ldImm64(1, V).stx(8, 10, -8, 1);
      b.raw(insn(0xd3, 0, 10, -8, AtomicOp.LOAD_ACQ)); // r0 = load_acquire((u8 *)(r10 - 8))
      b.exit();
    }),
    0x88n,
  );
  assert.equal(
    run1((b) => {
      b.st(8, 10, -8, 0).ldImm64(1, V);
      b.raw(insn(0xdb, 10, 1, -8, AtomicOp.STORE_REL)); // store_release((u64 *)(r10 - 8), r1)
      b.ldx(8, 0, 10, -8).exit();
    }),
    V,
  );
});

Deno.test("ctx is read-only unless writable; r2 carries a value", () => {
  const ctx = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const read = prog((b) => {
    b.ldx(4, 0, 1, 4).alu64Reg("ADD", 0, 2).exit();
  });
  assert.equal(
    read.run(ctx, createEnvironment(), { r2: 0x100000000n }),
    0x108070605n,
  );
  const write = prog((b) => {
    b.st(1, 1, 0, 9).movImm(0, 0).exit();
  });
  assert.throws(() => write.run(ctx, createEnvironment()), {
    name: "VmError",
    message:
      /Invalid write of 1 bytes to read-only ctx at pc 0: "\*\(u8 \*\)\(r1 \+0\) = 9"/,
  });
  write.run(ctx, createEnvironment(), { writableCtx: true });
  assert.equal(ctx[0], 9);
});

Deno.test("memory-safety errors stop the run with a VmError naming the instruction", () => {
  const fails = (
    fn: Parameters<typeof prog>[0],
    re: RegExp,
    ctx = new Uint8Array(8),
  ) => {
    const p = prog(fn, [
      createMap({
        type: MapType.ARRAY,
        keySize: 4,
        valueSize: 8,
        maxEntries: 1,
      }, 1),
    ]);
    let err: unknown;
    try {
      p.run(ctx, createEnvironment());
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof VmError, `expected a VmError, got ${err}`);
    assert.match(err.message, re);
    assert.equal(typeof err.pc, "number");
    assert.ok(err.insnText.length > 0);
  };
  // Stack: below the frame and above r10.
  fails(
    (b) => b.ldx(8, 0, 10, -520).exit(),
    /Out-of-bounds read of 8 bytes at offset -8 of stack/,
  );
  fails(
    (b) => b.stx(8, 10, 0, 1).exit(),
    /Out-of-bounds write of 8 bytes at offset 512 of stack/,
  );
  fails(
    (b) => b.stx(4, 10, -2, 1).exit(),
    /Out-of-bounds write of 4 bytes at offset 510/,
  );
  // Pointer arithmetic that walks off the frame.
  fails(
    (b) => b.movReg(1, 10).alu64Imm("SUB", 1, 513).st(1, 1, 0, 0).exit(),
    /not a pointer|Out-of-bounds/,
  );
  // Map value: past its 8 bytes.
  fails(
    (b) => b.ldMapValue(1, 0, 4).ldx(8, 0, 1, 0).exit(),
    /Out-of-bounds read of 8 bytes at offset 4 of map value \(8 bytes\) at pc 2/,
  );
  // A scalar is not a pointer.
  fails(
    (b) => b.movImm(1, 4096).ldx(8, 0, 1, 0).exit(),
    /Invalid read of 8 bytes through 0x1000: not a pointer/,
  );
  fails((b) => b.movImm(1, 0).st(8, 1, 0, 0).exit(), /not a pointer/);
  // A map handle cannot be dereferenced.
  fails((b) => b.ldMap(1, 0).ldx(8, 0, 1, 0).exit(), /through a map handle/);
  // ctx: out of bounds and read-only.
  fails(
    (b) => b.ldx(8, 0, 1, 4).exit(),
    /Out-of-bounds read of 8 bytes at offset 4 of ctx \(8 bytes\)/,
  );
  fails((b) => b.stx(8, 1, 0, 1).exit(), /read-only ctx/);
  // Unknown map index.
  fails((b) => b.ldMap(1, 3).exit(), /Unknown map index 3/);
});

Deno.test("MAP_VALUE points into an array map's first value", () => {
  const arr = createMap({
    type: MapType.ARRAY,
    keySize: 4,
    valueSize: 16,
    maxEntries: 4,
  }, 1);
  prog((b) => {
    b.ldMapValue(1, 0, 8).st(8, 1, 0, 42).movImm(0, 0).exit();
  }, [arr]).run(new Uint8Array(0), createEnvironment());
  const v = arr.lookup(new Uint8Array(4))![0];
  assert.equal(u64(v, 8), 42n);
  assert.equal(u64(v, 0), 0n);
});

Deno.test("the stack is zeroed for every run and pointers can be compared", () => {
  const p = prog((b) => {
    b.ldx(8, 0, 10, -8).st(8, 10, -8, 77).exit();
  });
  const env = createEnvironment();
  assert.equal(p.run(new Uint8Array(0), env), 0n);
  assert.equal(p.run(new Uint8Array(0), env), 0n);
  // r10 - r10 == 0; (r10 - 8) + 8 == r10.
  assert.equal(
    run1((b) => {
      b.movReg(1, 10).alu64Imm("ADD", 1, -8).alu64Imm("ADD", 1, 8);
      b.movReg(0, 1).alu64Reg("SUB", 0, 10).exit();
    }),
    0n,
  );
});
