import assert from "node:assert/strict";
import { encodeBtf } from "../../runtime/btf/btf_writer.ts";
import { parseBtf } from "../../runtime/btf/btf_reader.ts";
import { KernelTypes } from "../../runtime/btf/kernel_types.ts";
import { formatType } from "../../runtime/btf/c_printer.ts";
import { BPFTRACE } from "../kernel/helpers.ts";
import {
  everyKindTypes,
  liveSkipReason,
  liveTypes,
  skipLive,
} from "./helpers.ts";
import { which } from "../support/skip.ts";

Deno.test("a struct with every kind of member, with and without offsets", async (t) => {
  const types = everyKindTypes();
  const plain = formatType(types, types.lookup("struct every")!);
  const withOffsets = formatType(types, types.lookup("every_t")!, {
    offsets: true,
  });
  await t.assertSnapshot(plain + "\n" + withOffsets);
  // The offsets are comments: removing them gives the plain form.
  assert.equal(withOffsets.replace(/ \/\/ [^\n]*/g, ""), plain);
  assert.match(
    formatType(types, 15),
    /^enum state \{\n\tST_DOWN = -1,\n\tST_UP = 1,\n\};\n$/,
  );
  assert.throws(() => formatType(types, 1), /Cannot print "int": not a struct/);
});

function holesTypes(): KernelTypes {
  return new KernelTypes(
    parseBtf(
      encodeBtf([
        { kind: "int", name: "char", size: 1, signed: true, char: true }, // 1
        { kind: "int", name: "int", size: 4, signed: true }, // 2
        { kind: "int", name: "long int", size: 8, signed: true }, // 3
        {
          kind: "struct",
          name: "holes",
          size: 64,
          members: [
            // A natural hole before `i` needs nothing.
            { name: "c", type: 1, bitOffset: 0 },
            { name: "i", type: 2, bitOffset: 32 },
            // Bit-fields with a gap inside the run.
            { name: "a", type: 2, bitOffset: 64, bitSize: 4 },
            { name: "b", type: 2, bitOffset: 96, bitSize: 4 },
            // A hole wider than alignment needs: explicit padding.
            { name: "l", type: 3, bitOffset: 256 },
            // Trailing space up to the size.
          ],
        },
      ]),
      "holes",
    ),
    "btf",
  );
}

Deno.test("holes are filled as a C compiler needs to lay members out", () => {
  assert.equal(
    formatType(holesTypes(), 4),
    [
      "struct holes {",
      "\tchar c;",
      "\tint i;",
      "\tint a: 4;",
      "\tint: 28;",
      "\tint b: 4;",
      "\tlong: 64;",
      "\tlong: 64;",
      "\tlong int l;",
      "\tlong: 64;",
      "\tlong: 64;",
      "\tlong: 64;",
      "};",
      "",
    ].join("\n"),
  );
});

Deno.test("a C compiler lays the printed structs out at the BTF offsets", async () => {
  const cc = which("cc");
  if (cc === undefined) {
    console.log("Skipping the C compiler check: no cc on PATH");
    return;
  }
  const sources: string[] = [];
  const checks: string[] = [];
  const add = (types: KernelTypes, id: number) => {
    const c = types.composite(id)!;
    sources.push(formatType(types, id));
    checks.push(
      `_Static_assert(sizeof(struct ${c.name}) == ${c.size}, "size");`,
    );
    for (const name of types.fieldNames(id)) {
      const f = types.field(id, name)!;
      if (f.bitSize === 0) {
        checks.push(
          `_Static_assert(offsetof(struct ${c.name}, ${name}) == ${f.offset}, "${name}");`,
        );
      }
    }
  };
  const holes = holesTypes();
  add(holes, 4);
  if (liveSkipReason === undefined) {
    // Live structures whose members are all base types or pointers.
    const live = liveTypes();
    for (const name of ["struct iphdr", "struct tcphdr", "struct bvec_iter"]) {
      const id = live.lookup(name);
      if (id !== undefined) add(live, id);
    }
  }
  const program = [
    "#include <stddef.h>",
    "typedef unsigned char __u8; typedef unsigned short __u16;",
    "typedef unsigned int __u32; typedef unsigned long long __u64;",
    "typedef __u16 __be16; typedef __u32 __be32; typedef __u16 __sum16;",
    "typedef unsigned long long sector_t; typedef unsigned int u32;",
    ...sources,
    ...checks,
    "",
  ].join("\n");
  const out = await new Deno.Command(cc, {
    args: ["-fsyntax-only", "-x", "c", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = out.stdin.getWriter();
  await writer.write(new TextEncoder().encode(program));
  await writer.close();
  const result = await out.output();
  assert.ok(
    result.success,
    new TextDecoder().decode(result.stderr) + "\n" + program,
  );
});

Deno.test("holes can be summarised for tables that leave members out", () => {
  assert.equal(
    formatType(holesTypes(), 4, { holes: "left out" }),
    [
      "struct holes {",
      "\tchar c;",
      "\tint i;",
      "\tint a: 4;",
      "\t/* 28 bits left out */",
      "\tint b: 4;",
      "\t/* 156 bits left out */",
      "\tlong int l;",
      "\t/* 24 bytes left out */",
      "};",
      "",
    ].join("\n"),
  );
});

Deno.test("a packed struct says so", () => {
  const types = new KernelTypes(
    parseBtf(
      encodeBtf([
        { kind: "int", name: "char", size: 1, signed: true, char: true },
        { kind: "int", name: "int", size: 4, signed: true },
        {
          kind: "struct",
          name: "p",
          size: 5,
          members: [
            { name: "c", type: 1, bitOffset: 0 },
            { name: "i", type: 2, bitOffset: 8 },
          ],
        },
      ]),
      "packed",
    ),
    "btf",
  );
  assert.equal(
    formatType(types, 3),
    "struct p {\n\tchar c;\n\tint i;\n} __attribute__((packed));\n",
  );
});

const bpftraceSkip = liveSkipReason ??
  (BPFTRACE === undefined ? "bpftrace is not installed" : undefined);

Deno.test("live BTF: structures print as bpftrace -lv prints them", async () => {
  if (bpftraceSkip !== undefined) {
    console.log(`Skipping the bpftrace comparison: ${bpftraceSkip}`);
    return;
  }
  const types = liveTypes();
  for (
    const name of ["struct task_struct", "struct sk_buff", "union bpf_attr"]
  ) {
    const out = await new Deno.Command(BPFTRACE!, {
      args: ["-lv", name],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const expected = new TextDecoder().decode(out.stdout);
    if (!out.success || expected === "") {
      console.log(`Skipping ${name}: bpftrace -lv printed nothing`);
      continue;
    }
    // bpftrace ends each listing with an empty line.
    assert.equal(formatType(types, types.lookup(name)!) + "\n", expected, name);
  }
});

Deno.test("live BTF: offsets in the listing agree with the field query", () => {
  if (skipLive("the live listing test")) return;
  const types = liveTypes();
  const skb = types.lookup("struct sk_buff")!;
  const text = formatType(types, skb, { offsets: true });
  const len = types.field(skb, "len")!;
  assert.ok(
    text.includes(`\tunsigned int len; // offset ${len.offset}, size 4\n`),
    "len's line",
  );
  const dev = types.field(skb, "dev")!;
  assert.match(text, new RegExp(`\\*dev; // offset ${dev.offset}, size 8\n`));
});
