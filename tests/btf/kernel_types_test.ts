import assert from "node:assert/strict";
import { encodeBtf } from "../../runtime/btf/btf_writer.ts";
import { parseBtf } from "../../runtime/btf/btf_reader.ts";
import {
  bitfieldLoad,
  declare,
  KernelTypes,
} from "../../runtime/btf/kernel_types.ts";
import {
  btfModules,
  findKernelType,
  moduleTypes,
} from "../../runtime/btf/load_types.ts";
import { editDistance, nearestNames } from "../../runtime/btf/nearest_names.ts";
import { everyKindTypes, liveTypes, skipLive } from "./helpers.ts";

Deno.test("lookup by C name, through typedefs and qualifiers", () => {
  const types = everyKindTypes();
  assert.equal(types.lookup("struct every"), 6);
  assert.equal(types.lookup("  struct   every "), 6);
  assert.equal(types.lookup("every"), 6, "a bare tag");
  assert.equal(types.lookup("every_t"), 26);
  assert.equal(types.lookup("union every"), undefined);
  assert.equal(types.lookup("union later"), 17, "a forward declaration");
  assert.equal(types.lookup("enum state"), 15);
  assert.equal(types.lookup("enum big"), 16);
  assert.equal(types.lookup("long  unsigned int"), 3);
  assert.equal(types.lookup("struct nothing"), undefined);
  assert.equal(types.strip(14), 1, "volatile const u32_t is int");
  assert.equal(types.resolve(26).kind, "struct");
  assert.equal(types.resolve(25).name, "every", "type tags are skipped");
});

Deno.test("sizes and alignments", () => {
  const types = everyKindTypes();
  const cases: [number, number, number][] = [
    [0, 0, 1], // void
    [1, 4, 4],
    [2, 1, 1],
    [3, 8, 8],
    [5, 8, 8], // pointer
    [6, 64, 8], // struct every
    [7, 16, 1], // char[16]
    [8, 8, 8], // the anonymous union
    [10, 0, 1], // a function prototype has no size
    [14, 4, 4], // volatile const u32_t
    [15, 4, 4],
    [16, 8, 8],
    [17, 0, 1], // a forward declaration
    [23, 8, 8],
    [26, 64, 8], // typedef of the struct
  ];
  for (const [id, size, align] of cases) {
    assert.equal(types.sizeOf(id), size, `size of ${types.typeName(id)}`);
    assert.equal(types.alignOf(id), align, `align of ${types.typeName(id)}`);
  }
  const packed = new KernelTypes(
    parseBtf(
      encodeBtf([
        { kind: "int", name: "int", size: 4, signed: true },
        {
          kind: "struct",
          name: "packed",
          size: 5,
          members: [
            { name: "c", type: 1, bitOffset: 0, bitSize: 8 },
            { name: "i", type: 1, bitOffset: 8 },
          ],
        },
      ]),
      "packed",
    ),
    "btf",
  );
  assert.equal(packed.alignOf(2), 1);
});

Deno.test("fields: offsets, bit-fields, anonymous members, dotted paths", () => {
  const types = everyKindTypes();
  const every = types.lookup("struct every")!;
  const at = (name: string) => {
    const f = types.field(every, name);
    assert.ok(f !== undefined, name);
    return [f.offset, f.bitOffset, f.bitSize, f.size, f.path];
  };
  assert.deepEqual(at("count"), [0, 0, 0, 4, [0]]);
  assert.deepEqual(at("comm"), [16, 128, 0, 16, [2]]);
  assert.deepEqual(at("raw"), [32, 256, 0, 8, [3, 0]]);
  assert.deepEqual(at("hi"), [36, 288, 0, 4, [3, 1, 1]]);
  assert.deepEqual(at("low"), [40, 320, 3, 8, [4]]);
  assert.deepEqual(at("high"), [40, 323, 5, 8, [5]]);
  assert.equal(types.field(every, "nothing"), undefined);
  assert.equal(types.field(1, "count"), undefined, "int has no fields");
  assert.equal(types.field(26, "count")?.offset, 0, "through the typedef");
  assert.deepEqual(types.fieldNames(every), [
    "count",
    "next",
    "comm",
    "raw",
    "lo",
    "hi",
    "low",
    "high",
    "callback",
    "id",
    "state",
  ]);
  // Pointer and array queries.
  const next = types.field(every, "next")!;
  assert.equal(types.pointee(next.type), every);
  assert.equal(types.pointee(every), undefined);
  const comm = types.array(types.field(every, "comm")!.type)!;
  assert.equal(comm.count, 16);
  assert.equal(types.typeName(comm.element), "char");
  assert.equal(types.array(every), undefined);
});

Deno.test("old-style bit-fields: the int encoding gives the bits", () => {
  const types = new KernelTypes(
    parseBtf(
      encodeBtf([
        {
          kind: "int",
          name: "int",
          size: 4,
          signed: true,
          bits: 3,
          bitOffset: 2,
        },
        {
          kind: "struct",
          name: "old",
          size: 4,
          members: [{ name: "f", type: 1, bitOffset: 8 }],
        },
      ]),
      "old",
    ),
    "btf",
  );
  const f = types.field(2, "f")!;
  assert.deepEqual([f.bitOffset, f.bitSize, f.offset], [10, 3, 1]);
});

Deno.test("dotted paths add the offsets of each step", () => {
  const types = new KernelTypes(
    parseBtf(
      encodeBtf([
        { kind: "int", name: "short", size: 2, signed: true }, // 1
        {
          kind: "struct",
          name: "inner",
          size: 8,
          members: [
            { name: "a", type: 1, bitOffset: 0 },
            { name: "b", type: 1, bitOffset: 48 },
          ],
        }, // 2
        {
          kind: "struct",
          name: "outer",
          size: 24,
          members: [
            { name: "x", type: 1, bitOffset: 0 },
            { name: "in", type: 2, bitOffset: 128 },
          ],
        }, // 3
      ]),
      "paths",
    ),
    "btf",
  );
  const b = types.fieldPath(3, "in.b")!;
  assert.equal(b.offset, 16 + 6);
  assert.deepEqual(b.path, [1, 1]);
  assert.equal(types.fieldPath(3, "in.c"), undefined);
  assert.equal(types.fieldPath(3, "x.a"), undefined, "x is not a struct");
});

Deno.test("enum constants by name and by value", () => {
  const types = everyKindTypes();
  assert.deepEqual(types.enumConstant("ST_DOWN"), {
    name: "ST_DOWN",
    value: -1n,
    type: 15,
  });
  assert.equal(types.enumConstant("BIG_ONE")?.value, 0x1_0000_0001n);
  assert.equal(types.enumConstant("ST_SIDEWAYS"), undefined);
  assert.equal(types.enumName(15, 1), "ST_UP");
  assert.equal(types.enumName(15, -1n), "ST_DOWN");
  assert.equal(types.enumName(15, 7), undefined);
  assert.equal(types.enumName(1, 1), undefined, "int is not an enum");
});

Deno.test("C spellings of types", () => {
  const types = everyKindTypes();
  const cases: [number, string][] = [
    [0, "void"],
    [5, "struct every *"],
    [7, "char[16]"],
    [8, "union {...}"],
    [11, "int (*)(struct every *)"],
    [13, "const u32_t"],
    [14, "volatile const u32_t"],
    [15, "enum state"],
    [17, "union later"],
    [18, "struct every * restrict"],
    [20, "void (struct every *, ...)"],
  ];
  for (const [id, spelling] of cases) {
    assert.equal(types.typeName(id), spelling);
  }
});

Deno.test("nearest names for misspelt types, fields and constants", () => {
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("ab", "ba"), 1, "a swap is one edit");
  assert.deepEqual(nearestNames("skc_famliy", ["skc_family", "skc_flags"]), [
    "skc_family",
  ]);
  assert.deepEqual(nearestNames("zzz", ["skc_family"]), []);
  const types = everyKindTypes();
  assert.deepEqual(types.suggestTypes("struct evry"), ["struct every"]);
  assert.deepEqual(types.suggestFields(6, "hgih"), ["high"]);
  assert.deepEqual(types.suggestFields(6, "lo"), ["low"], "inside anonymous");
  assert.deepEqual(types.suggestEnumConstants("ST_UPP"), ["ST_UP"]);
});

Deno.test("live BTF: facts every kernel build has", () => {
  if (skipLive("the live type queries")) return;
  const types = liveTypes();
  const task = types.lookup("struct task_struct")!;
  assert.ok(task !== undefined);
  const pid = types.field(task, "pid")!;
  assert.equal(pid.size, 4);
  assert.equal(types.resolve(pid.type).kind, "int");
  const comm = types.field(task, "comm")!;
  assert.equal(types.typeName(types.strip(comm.type)), "char[16]");
  const parent = types.field(task, "real_parent")!;
  assert.equal(types.typeName(parent.type), "struct task_struct *");
  assert.equal(types.pointee(parent.type), task);

  // offsetof(struct sock, __sk_common.skc_family) from the members.
  const sock = types.lookup("struct sock")!;
  const common = types.field(sock, "__sk_common")!;
  const family = types.field(
    types.lookup("struct sock_common")!,
    "skc_family",
  )!;
  const path = types.fieldPath(sock, "__sk_common.skc_family")!;
  assert.equal(path.offset, common.offset + family.offset);
  assert.equal(path.size, 2);

  // sk_buff: members inside anonymous unions.
  const skb = types.lookup("struct sk_buff")!;
  for (const name of ["len", "dev", "sk", "protocol", "data", "head"]) {
    const f = types.field(skb, name);
    assert.ok(f !== undefined, `sk_buff has ${name}`);
    assert.ok(f.offset + f.size <= types.sizeOf(skb));
  }
  assert.equal(
    types.typeName(types.field(skb, "dev")!.type),
    "struct net_device *",
  );
  assert.ok(
    types.field(skb, "dev")!.path.length > 1,
    "dev is in an anonymous union",
  );

  // TCP states are part of the user-space ABI.
  const finWait1 = types.enumConstant("TCP_FIN_WAIT1")!;
  assert.equal(finWait1.value, 4n);
  assert.equal(types.enumName(finWait1.type, 4), "TCP_FIN_WAIT1");
  assert.ok(
    types.suggestTypes("struct task_strct").includes("struct task_struct"),
  );
  assert.ok(types.suggestFields(task, "real_parnt").includes("real_parent"));
});

Deno.test("live BTF: a split blob resolves to vmlinux base types", () => {
  if (skipLive("the split BTF test")) return;
  const vmlinux = liveTypes();
  const u32 = vmlinux.lookup("u32")!;
  const skb = vmlinux.lookup("struct sk_buff")!;
  const base = vmlinux.btf;
  const split = parseBtf(
    encodeBtf([
      { kind: "ptr", target: skb },
      {
        kind: "struct",
        name: "tsbpf_test_module_thing",
        size: 16,
        members: [
          { name: "skb", type: base.endId, bitOffset: 0 },
          { name: "mark", type: u32, bitOffset: 64 },
        ],
      },
    ], { base }),
    "test module",
    base,
  );
  const types = new KernelTypes(split, "btf");
  const thing = types.lookup("struct tsbpf_test_module_thing")!;
  assert.equal(thing, base.endId + 1);
  assert.equal(
    types.typeName(types.field(thing, "skb")!.type),
    "struct sk_buff *",
  );
  assert.equal(types.typeName(types.field(thing, "mark")!.type), "u32");
  assert.equal(
    types.lookup("struct task_struct"),
    vmlinux.lookup("struct task_struct"),
  );
});

Deno.test("live BTF: the kernel's own module BTF, where modules have it", () => {
  if (skipLive("the module BTF test")) return;
  const names = btfModules();
  if (names.length === 0) {
    console.log("Skipping the module BTF test: no module publishes BTF here");
    return;
  }
  const types = moduleTypes(names[0]);
  assert.equal(types.btf.firstId, liveTypes().btf.endId);
  for (let id = types.btf.firstId; id < types.btf.endId; id++) {
    types.typeName(id);
  }
  assert.equal(
    types.lookup("struct task_struct"),
    liveTypes().lookup("struct task_struct"),
  );
});

Deno.test("bit-field loads cover the bits from the byte of the first one", () => {
  assert.deepEqual(bitfieldLoad({ bitOffset: 320, bitSize: 3 }), {
    offset: 40,
    size: 1,
    shift: 0,
    bits: 3,
  });
  assert.deepEqual(bitfieldLoad({ bitOffset: 323, bitSize: 5 }), {
    offset: 40,
    size: 1,
    shift: 3,
    bits: 5,
  });
  assert.deepEqual(bitfieldLoad({ bitOffset: 6, bitSize: 4 }), {
    offset: 0,
    size: 2,
    shift: 6,
    bits: 4,
  });
  assert.deepEqual(bitfieldLoad({ bitOffset: 12, bitSize: 20 }).size, 4);
  assert.deepEqual(bitfieldLoad({ bitOffset: 1, bitSize: 40 }).size, 8);
  assert.throws(() => bitfieldLoad({ bitOffset: 7, bitSize: 64 }), RangeError);
});

Deno.test("findKernelType looks in vmlinux first", () => {
  const found = findKernelType("struct task_struct");
  assert.ok(found !== undefined);
  assert.equal(found.module, undefined);
  assert.equal(findKernelType("struct tsbpf_no_such_type"), undefined);
});

Deno.test("qualified pointers and functions returning pointers", () => {
  const types = new KernelTypes(
    parseBtf(
      encodeBtf([
        { kind: "int", name: "char", size: 1, signed: true, char: true }, // 1
        { kind: "const", target: 1 }, // 2: const char
        { kind: "ptr", target: 2 }, // 3: const char *
        { kind: "const", target: 3 }, // 4: const char * const
        { kind: "ptr", target: 4 }, // 5: const char * const *
        { kind: "func_proto", returns: 3, params: [] }, // 6
        { kind: "ptr", target: 6 }, // 7
        { kind: "array", element: 7, index: 1, count: 2 }, // 8
      ]),
      "qualifiers",
    ),
    "btf",
  );
  assert.equal(declare(types, 5, "names"), "const char * const *names");
  assert.equal(declare(types, 4, "p"), "const char * const p");
  assert.equal(declare(types, 7, "f"), "const char * (*f)(void)");
  assert.equal(declare(types, 8, "fs"), "const char * (*fs[2])(void)");
  assert.equal(types.typeName(8), "const char * (*[2])(void)");
});
