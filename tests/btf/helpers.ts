/**
 * Shared by the BTF tests: a hand-built blob with every kind, and the live
 * vmlinux BTF when this machine has a readable one.
 */
import { encodeBtf } from "../../runtime/btf/btf_writer.ts";
import type { BtfTypeSpec } from "../../runtime/btf/btf_writer.ts";
import { parseBtf, readBtfFile } from "../../runtime/btf/btf_reader.ts";
import { KernelTypes } from "../../runtime/btf/kernel_types.ts";

/** Path of the running kernel's BTF. */
export const VMLINUX = "/sys/kernel/btf/vmlinux";

function liveProblem(): string | undefined {
  try {
    const f = Deno.openSync(VMLINUX);
    f.close();
    return undefined;
  } catch (e) {
    return `${VMLINUX} is not readable (${
      e instanceof Error ? e.message : String(e)
    })`;
  }
}

/** Why the live-BTF tests cannot run here, or undefined. */
export const liveSkipReason: string | undefined = liveProblem();

/** True when the test must be skipped; prints why. */
export function skipLive(what: string): boolean {
  if (liveSkipReason !== undefined) {
    console.log(`Skipping ${what}: ${liveSkipReason}`);
    return true;
  }
  return false;
}

let live: KernelTypes | undefined;

/** The live vmlinux types, read once (call only when not skipping). */
export function liveTypes(): KernelTypes {
  return live ??= new KernelTypes(readBtfFile(VMLINUX), "btf");
}

/**
 * Every kind, with the ids the comments give. The struct `every` has:
 * an int, a pointer to itself, a char[16], an anonymous union holding an
 * anonymous struct, two bit-fields, a function pointer, a const pointer to
 * a typedef'd int, an enum and a float.
 */
export const EVERY_KIND: BtfTypeSpec[] = [
  { kind: "int", name: "int", size: 4, signed: true }, // 1
  { kind: "int", name: "char", size: 1, signed: true, char: true }, // 2
  { kind: "int", name: "long unsigned int", size: 8 }, // 3
  { kind: "int", name: "_Bool", size: 1, bool: true, bits: 8 }, // 4
  { kind: "ptr", target: 6 }, // 5: struct every *
  {
    kind: "struct",
    name: "every",
    size: 64,
    members: [ // 6
      { name: "count", type: 1, bitOffset: 0 },
      { name: "next", type: 5, bitOffset: 64 },
      { name: "comm", type: 7, bitOffset: 128 },
      { name: "", type: 8, bitOffset: 256 },
      { name: "low", type: 3, bitOffset: 320, bitSize: 3 },
      { name: "high", type: 3, bitOffset: 323, bitSize: 5 },
      { name: "callback", type: 11, bitOffset: 384 },
      { name: "id", type: 14, bitOffset: 448 },
      { name: "state", type: 15, bitOffset: 480 },
    ],
  },
  { kind: "array", element: 2, index: 1, count: 16 }, // 7: char[16]
  {
    kind: "union",
    size: 8,
    members: [ // 8
      { name: "raw", type: 3, bitOffset: 0 },
      { name: "", type: 9, bitOffset: 0 },
    ],
  },
  {
    kind: "struct",
    size: 8,
    members: [ // 9
      { name: "lo", type: 1, bitOffset: 0 },
      { name: "hi", type: 1, bitOffset: 32 },
    ],
  },
  { kind: "func_proto", returns: 1, params: [{ name: "e", type: 5 }] }, // 10
  { kind: "ptr", target: 10 }, // 11: int (*)(struct every *)
  { kind: "typedef", name: "u32_t", target: 1 }, // 12
  { kind: "const", target: 12 }, // 13
  { kind: "volatile", target: 13 }, // 14
  {
    kind: "enum",
    name: "state",
    size: 4,
    signed: true,
    values: [ // 15
      { name: "ST_DOWN", value: -1 },
      { name: "ST_UP", value: 1 },
    ],
  },
  {
    kind: "enum64",
    name: "big",
    values: [ // 16
      { name: "BIG_ONE", value: 0x1_0000_0001n },
    ],
  },
  { kind: "fwd", name: "later", union: true }, // 17
  { kind: "restrict", target: 5 }, // 18
  { kind: "func", name: "handler", proto: 10, linkage: 1 }, // 19
  {
    kind: "func_proto",
    returns: 0,
    params: [{ name: "fmt", type: 5 }],
    variadic: true,
  }, // 20: void (struct every *fmt, ...)
  { kind: "var", name: "counter", target: 1, linkage: 1 }, // 21
  {
    kind: "datasec",
    name: ".data",
    size: 4,
    vars: [{ type: 21, offset: 0, size: 4 }],
  }, // 22
  { kind: "float", name: "double", size: 8 }, // 23
  { kind: "decl_tag", name: "user", target: 6, component: 1 }, // 24
  { kind: "type_tag", name: "rcu", target: 6 }, // 25
  { kind: "typedef", name: "every_t", target: 6 }, // 26
];

/** {@link EVERY_KIND} encoded, little-endian unless `bigEndian`. */
export function everyKindBlob(bigEndian = false): Uint8Array {
  return encodeBtf(EVERY_KIND, { bigEndian });
}

/** Types over a fresh parse of {@link everyKindBlob}. */
export function everyKindTypes(bigEndian = false): KernelTypes {
  return new KernelTypes(
    parseBtf(everyKindBlob(bigEndian), "every kind"),
    "btf",
  );
}
