import assert from "node:assert/strict";
import { parseBtf, readBtfFile } from "../../runtime/btf/btf_reader.ts";
import type { Btf } from "../../runtime/btf/btf_reader.ts";
import { encodeBtf } from "../../runtime/btf/btf_writer.ts";
import { BtfIndex } from "../../runtime/btf/btf_index.ts";
import { BtfFormatError } from "../../runtime/btf/btf_types.ts";
import { KernelTypes } from "../../runtime/btf/kernel_types.ts";
import { formatType } from "../../runtime/btf/c_printer.ts";
import { everyKindBlob, liveTypes, skipLive, VMLINUX } from "./helpers.ts";

for (const bigEndian of [false, true]) {
  Deno.test(
    `every kind decodes from a hand-built ${
      bigEndian ? "big" : "little"
    }-endian blob`,
    () => {
      const btf = parseBtf(everyKindBlob(bigEndian), "every kind");
      assert.equal(btf.typeCount, 26);
      assert.equal(btf.endId, 27);
      assert.deepEqual(btf.type(0), { id: 0, name: "", kind: "void" });
      assert.deepEqual(btf.type(2), {
        id: 2,
        name: "char",
        kind: "int",
        size: 1,
        signed: true,
        char: true,
        bool: false,
        bits: 8,
        bitOffset: 0,
      });
      const b = btf.type(4);
      assert.ok(b.kind === "int" && b.bool && !b.signed);
      assert.deepEqual(btf.type(5), {
        id: 5,
        name: "",
        kind: "ptr",
        target: 6,
      });
      const every = btf.type(6);
      assert.equal(every.kind, "struct");
      assert.ok(every.kind === "struct");
      assert.equal(every.size, 64);
      assert.deepEqual(
        every.members.map((m) => [m.name, m.type, m.bitOffset, m.bitSize]),
        [
          ["count", 1, 0, 0],
          ["next", 5, 64, 0],
          ["comm", 7, 128, 0],
          ["", 8, 256, 0],
          ["low", 3, 320, 3],
          ["high", 3, 323, 5],
          ["callback", 11, 384, 0],
          ["id", 14, 448, 0],
          ["state", 15, 480, 0],
        ],
      );
      assert.deepEqual(btf.type(7), {
        id: 7,
        name: "",
        kind: "array",
        element: 2,
        index: 1,
        count: 16,
      });
      assert.equal(btf.type(8).kind, "union");
      assert.deepEqual(btf.type(10), {
        id: 10,
        name: "",
        kind: "func_proto",
        returns: 1,
        params: [{ name: "e", type: 5 }],
        variadic: false,
      });
      assert.deepEqual(btf.type(12), {
        id: 12,
        name: "u32_t",
        kind: "typedef",
        target: 1,
      });
      assert.equal(btf.type(13).kind, "const");
      assert.equal(btf.type(14).kind, "volatile");
      assert.deepEqual(btf.type(15), {
        id: 15,
        name: "state",
        kind: "enum",
        size: 4,
        signed: true,
        values: [{ name: "ST_DOWN", value: -1n }, { name: "ST_UP", value: 1n }],
      });
      assert.deepEqual(btf.type(16), {
        id: 16,
        name: "big",
        kind: "enum64",
        size: 8,
        signed: false,
        values: [{ name: "BIG_ONE", value: 0x1_0000_0001n }],
      });
      assert.deepEqual(btf.type(17), {
        id: 17,
        name: "later",
        kind: "fwd",
        union: true,
      });
      assert.equal(btf.type(18).kind, "restrict");
      assert.deepEqual(btf.type(19), {
        id: 19,
        name: "handler",
        kind: "func",
        proto: 10,
        linkage: 1,
      });
      const variadic = btf.type(20);
      assert.ok(variadic.kind === "func_proto" && variadic.variadic);
      assert.equal(variadic.params.length, 1);
      assert.deepEqual(btf.type(21), {
        id: 21,
        name: "counter",
        kind: "var",
        target: 1,
        linkage: 1,
      });
      assert.deepEqual(btf.type(22), {
        id: 22,
        name: ".data",
        kind: "datasec",
        size: 4,
        vars: [{ type: 21, offset: 0, size: 4 }],
      });
      assert.deepEqual(btf.type(23), {
        id: 23,
        name: "double",
        kind: "float",
        size: 8,
      });
      assert.deepEqual(btf.type(24), {
        id: 24,
        name: "user",
        kind: "decl_tag",
        target: 6,
        component: 1,
      });
      assert.deepEqual(btf.type(25), {
        id: 25,
        name: "rcu",
        kind: "type_tag",
        target: 6,
      });
      // Kinds and names without decoding agree with the decoded types.
      for (let id = 0; id < btf.endId; id++) {
        assert.equal(btf.kind(id), btf.type(id).kind);
        assert.equal(btf.name(id), btf.type(id).name);
      }
    },
  );
}

Deno.test("the index finds names of every indexed kind and enumerators", () => {
  const btf = parseBtf(everyKindBlob(), "every kind");
  const index = BtfIndex.of(btf);
  assert.equal(BtfIndex.of(btf), index, "built once per blob");
  assert.deepEqual(index.ids("struct", "every"), [6]);
  assert.deepEqual(index.ids("union", "every"), []);
  assert.deepEqual(index.ids("typedef", "u32_t"), [12]);
  assert.deepEqual(index.ids("int", "long unsigned int"), [3]);
  assert.deepEqual(index.ids("func", "handler"), [19]);
  assert.deepEqual(index.ids("fwd", "later"), [17]);
  assert.deepEqual(index.ids("enum64", "big"), [16]);
  assert.deepEqual(index.ids("float", "double"), [23]);
  assert.deepEqual(index.ids("struct", ""), []);
  assert.deepEqual(index.ids("struct", "nothing"), []);
  assert.deepEqual(index.enumsDefining("ST_UP"), [15]);
  assert.deepEqual(index.enumsDefining("BIG_ONE"), [16]);
  assert.deepEqual(index.enumsDefining("ST_SIDEWAYS"), []);
  assert.ok(index.names(["struct"]).includes("every"));
  assert.deepEqual(index.enumeratorNames().sort(), [
    "BIG_ONE",
    "ST_DOWN",
    "ST_UP",
  ]);
});

Deno.test("the index keeps every type of a repeated name, in id order", () => {
  const btf = parseBtf(
    encodeBtf([
      { kind: "struct", name: "dup", size: 0, members: [] },
      { kind: "int", name: "int", size: 4, signed: true },
      {
        kind: "struct",
        name: "dup",
        size: 4,
        members: [{ name: "x", type: 2, bitOffset: 0 }],
      },
    ]),
    "dups",
  );
  assert.deepEqual(BtfIndex.of(btf).ids("struct", "dup"), [1, 3]);
  // The lookup prefers the definition that has members.
  assert.equal(new KernelTypes(btf, "btf").lookup("struct dup"), 3);
});

Deno.test("split BTF continues its base's type ids and strings", () => {
  const base = parseBtf(everyKindBlob(), "base");
  const split = parseBtf(
    encodeBtf([
      { kind: "ptr", target: 6 }, // 27: struct every *
      {
        kind: "struct",
        name: "module_thing",
        size: 16,
        members: [
          { name: "owner", type: 27, bitOffset: 0 },
          { name: "count", type: 12, bitOffset: 64 }, // u32_t from the base
        ],
      }, // 28
      { kind: "typedef", name: "every", target: 28 }, // 29: reuses a base string
    ], { base }),
    "module",
    base,
  );
  assert.equal(split.firstId, 27);
  assert.equal(split.typeCount, 3);
  assert.equal(split.endId, 30);
  assert.equal(
    split.type(6).name,
    "every",
    "base ids resolve through the split",
  );
  const thing = new KernelTypes(split, "btf");
  const id = thing.lookup("struct module_thing")!;
  assert.equal(id, 28);
  assert.equal(
    thing.typeName(thing.field(id, "owner")!.type),
    "struct every *",
  );
  assert.equal(thing.typeName(thing.field(id, "count")!.type), "u32_t");
  assert.equal(
    thing.lookup("struct every"),
    6,
    "the base's index is consulted",
  );
  assert.equal(thing.lookup("every"), 29, "typedefs before tags");
  assert.equal(split.name(29), "every");
  assert.throws(() => split.type(30), BtfFormatError);
});

/** Every way of reading a blob: what a user of the reader may call. */
function readAll(btf: Btf): void {
  const types = new KernelTypes(btf, "btf");
  for (let id = 0; id < btf.endId; id++) {
    btf.type(id);
    btf.kind(id);
    types.sizeOf(id);
    types.alignOf(id);
    types.typeName(id);
    types.fieldNames(id);
    const t = types.resolve(id);
    if (t.kind === "struct" || t.kind === "union") formatType(types, id);
  }
  types.lookup("struct every");
  types.enumConstant("ST_UP");
  types.suggestTypes("struct evry");
}

Deno.test("truncated blobs give a BtfFormatError at every length", () => {
  const blob = everyKindBlob();
  for (let n = 0; n < blob.length; n++) {
    try {
      readAll(parseBtf(blob.slice(0, n), `first ${n} bytes`));
      // A prefix can only be read if the header's lengths still fit.
      assert.fail(`${n} of ${blob.length} bytes read without an error`);
    } catch (e) {
      if (!(e instanceof BtfFormatError)) throw e;
      assert.match(e.message, /^Cannot read BTF from "first \d+ bytes": /);
    }
  }
});

Deno.test("corrupt blobs give a BtfFormatError, never another exception", () => {
  const blob = everyKindBlob();
  // A fixed seed: the same corruptions every run.
  let seed = 12345;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  let failures = 0;
  for (let round = 0; round < 2000; round++) {
    const bad = blob.slice();
    const flips = 1 + random() % 3;
    for (let i = 0; i < flips; i++) {
      bad[random() % bad.length] = random() & 0xff;
    }
    try {
      readAll(parseBtf(bad, "corrupt"));
    } catch (e) {
      if (!(e instanceof BtfFormatError)) {
        throw new Error(`round ${round}: ${e}`, { cause: e });
      }
      failures++;
    }
  }
  assert.ok(failures > 100, `only ${failures} corruptions were noticed`);
});

Deno.test("malformed headers are named in the error", () => {
  const blob = everyKindBlob();
  const cases: [string, (b: Uint8Array) => void, RegExp][] = [
    ["magic", (b) => b[0] = 0, /bad magic/],
    ["version", (b) => b[2] = 2, /unsupported version 2/],
    ["header length", (b) => b[4] = 2, /bad header length/],
    ["type length", (b) => b[12] = 0xff, /type section .* runs past the end/],
    [
      "string length",
      (b) => b[21] = 0xff,
      /string section .* runs past the end/,
    ],
    ["unknown kind", (b) => b[24 + 7] = 0x1f, /unknown kind 31/],
  ];
  for (const [what, corrupt, message] of cases) {
    const bad = blob.slice();
    corrupt(bad);
    assert.throws(
      () => readAll(parseBtf(bad, what)),
      (e: unknown) => e instanceof BtfFormatError && message.test(e.message),
      what,
    );
  }
  assert.throws(
    () => readBtfFile("/nonexistent/btf"),
    /Cannot read BTF from "\/nonexistent\/btf": /,
  );
});

Deno.test("a reference loop is an error, not a stack overflow", () => {
  const btf = parseBtf(
    encodeBtf([
      { kind: "array", element: 1, index: 1, count: 2 }, // array of itself
      { kind: "typedef", name: "a", target: 3 },
      { kind: "typedef", name: "b", target: 2 },
    ]),
    "loops",
  );
  const types = new KernelTypes(btf, "btf");
  assert.throws(() => types.sizeOf(1), BtfFormatError);
  assert.throws(() => types.typeName(1), BtfFormatError);
  assert.throws(() => types.resolve(2), /typedef loop/);
});

Deno.test("the live vmlinux BTF is read and indexed lazily and fast", () => {
  if (skipLive("the live vmlinux test")) return;
  const t0 = performance.now();
  const btf = readBtfFile(VMLINUX);
  const read = performance.now() - t0;
  const index = BtfIndex.of(btf);
  const total = performance.now() - t0;
  console.log(
    `vmlinux: ${btf.typeCount} types, ${btf.byteLength} bytes; read ${
      read.toFixed(1)
    } ms, scanned and indexed ${
      index.buildMs.toFixed(1)
    } ms (${index.size} names)`,
  );
  assert.ok(btf.typeCount > 1000);
  // The goal is 30 ms here; the bound allows for a loaded machine.
  assert.ok(total < 1000, `read and index took ${total.toFixed(0)} ms`);
  // Function names are indexed on the first function lookup.
  assert.equal(index.funcBuildMs, undefined);
  const [schedule] = index.ids("func", "schedule");
  assert.equal(btf.kind(schedule), "func");
  assert.ok(index.funcBuildMs !== undefined);
  // Every type decodes (the whole of a real kernel's BTF is well formed).
  for (let id = 1; id < btf.endId; id++) btf.type(id);
  assert.equal(liveTypes().source, "btf");
});
