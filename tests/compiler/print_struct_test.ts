import assert from "node:assert/strict";
import {
  kernelTypeSource,
  prepareKernelTypes,
} from "../../runtime/compiler/kernel_types.ts";
import { decodeEvent, decodeMap } from "../../runtime/output/decode.ts";
import { formatMapText, formatValueText } from "../../runtime/output/text.ts";
import { formatValueJson } from "../../runtime/output/json.ts";
import type { RingBufMap } from "../../runtime/vm/maps.ts";
import type { Value } from "../../runtime/output/types.ts";
import { load, mapIndex, run } from "./harness.ts";

/**
 * Whole structs copied out of memory (`print(*p)`, a map value, a map
 * key), printed as bpftrace 0.17 prints them here: `{ .a = 1, .b = [..] }`,
 * keys `{.a=1}`, anonymous members flattened, char arrays as strings,
 * pointers signed, JSON objects. The layouts are the script's own and the
 * kernel's, their bytes written from the same types.
 */

await prepareKernelTypes("struct");
const types = kernelTypeSource()!.types();

const OBJ = 0xffff888000100000n;

function printed(l: ReturnType<typeof load>): Value[] {
  const out: Value[] = [];
  const rb = l.maps[l.prog.eventsMap!] as RingBufMap;
  rb.drain((rec) => {
    const ev = decodeEvent(l.prog, rec);
    if (ev.action.kind === "print_value") out.push(ev.args[0]);
  });
  return out;
}

Deno.test("print(*p), a struct map value and key: bpftrace's text and JSON", () => {
  const src = "struct pr { short lo; short hi; }\n" +
    "struct x { int a[3]; char c; char name[8]; long *p; struct pr pair;" +
    " int i; }\n" +
    "kprobe:f { print(*(struct x *)arg0); @v = *(struct x *)arg0;" +
    " @k[*(struct x *)arg0] = 1; print(((struct x *)arg0)->a); }";
  const bytes = new Uint8Array(48);
  const v = new DataView(bytes.buffer);
  v.setInt32(0, 1, true);
  v.setInt32(4, -2, true);
  v.setInt32(8, 3, true);
  bytes[12] = 65;
  bytes.set(new TextEncoder().encode("abc"), 13);
  v.setBigUint64(24, 0xffff888000000010n, true);
  v.setInt16(32, 7, true);
  v.setInt16(34, 8, true);
  v.setInt32(36, 0x141, true);
  const regs = new Uint8Array(168);
  new DataView(regs.buffer).setBigUint64(112, OBJ, true); // di: arg0
  const l = load(src, {}, {
    memory: [{ addr: OBJ, bytes, space: "kernel" }],
  });
  run(l, "kprobe:f", regs);
  const vals = printed(l);
  const text =
    "{ .a = [1,-2,3], .c = 65, .name = abc, .p = -131391639519216, " +
    ".pair = { .lo = 7, .hi = 8 }, .i = 321 }";
  assert.equal(formatValueText(vals[0]), text);
  assert.equal(formatValueText(vals[1]), "[1,-2,3]");
  assert.equal(
    formatValueJson(vals[0]),
    '{ "a": [1,-2,3], "c": 65, "name": "abc", "p": -131391639519216, ' +
      '"pair": { "lo": 7, "hi": 8 }, "i": 321 }',
  );
  const map = (name: string) => {
    const i = mapIndex(l, name);
    return formatMapText(
      decodeMap(l.prog.maps[i], l.maps[i].entries()),
    );
  };
  assert.equal(map("@v").trim(), `@v: ${text}`);
  assert.equal(
    map("@k").trim(),
    "@k[{.a=[1,-2,3],.c=65,.name=abc,.p=-131391639519216," +
      ".pair={.lo=7,.hi=8},.i=321}]: 1",
  );
});

Deno.test("a struct variable: copied once, printed, its members read, copied again", () => {
  const src = "struct pr { short lo; short hi; }\n" +
    "struct x { int a[3]; struct pr pair; long i; }\n" +
    "kprobe:f { $x = *(struct x *)arg0; print($x); @i = $x.i;" +
    " @hi = $x.pair.hi; @a1 = $x.a[1]; $y = $x; print($y.pair); @v = $y; }";
  const bytes = new Uint8Array(32);
  const v = new DataView(bytes.buffer);
  v.setInt32(4, -9, true);
  v.setInt16(14, 42, true);
  v.setBigInt64(16, 123456789012n, true);
  const regs = new Uint8Array(168);
  new DataView(regs.buffer).setBigUint64(112, OBJ, true);
  const l = load(src, {}, {
    memory: [{ addr: OBJ, bytes, space: "kernel" }],
  });
  run(l, "kprobe:f", regs);
  const vals = printed(l).map((x) => formatValueText(x));
  const text =
    "{ .a = [0,-9,0], .pair = { .lo = 0, .hi = 42 }, .i = 123456789012 }";
  assert.deepEqual(vals, [text, "{ .lo = 0, .hi = 42 }"]);
  const value = (name: string) => {
    const i = mapIndex(l, name);
    return formatMapText(decodeMap(l.prog.maps[i], l.maps[i].entries()))
      .trim();
  };
  assert.equal(value("@i"), "@i: 123456789012");
  assert.equal(value("@hi"), "@hi: 42");
  assert.equal(value("@a1"), "@a1: -9");
  assert.equal(value("@v"), `@v: ${text}`);
});

Deno.test("a kernel struct with bit-fields and nested anonymous unions decodes each member", () => {
  // struct sock's sk_type/sk_protocol are bit-fields on some kernels and
  // plain members on others: asked of the types, never assumed.
  const sock = types.lookup("struct sock_common")!;
  const fam = types.fieldPath(sock, "skc_family")!;
  const dport = types.fieldPath(sock, "skc_dport")!;
  const bytes = new Uint8Array(types.sizeOf(sock));
  const v = new DataView(bytes.buffer);
  v.setUint16(fam.offset, 10, true);
  v.setUint16(dport.offset, 0x5000, true);
  const regs = new Uint8Array(168);
  new DataView(regs.buffer).setBigUint64(112, OBJ, true);
  const l = load("kprobe:f { print(*(struct sock_common *)arg0); }", {}, {
    memory: [{ addr: OBJ, bytes, space: "kernel" }],
  });
  run(l, "kprobe:f", regs);
  const text = formatValueText(printed(l)[0]);
  assert.match(text, /^\{ \.skc_addrpair = 0, .*\.skc_family = 10, /);
  assert.match(text, / \.skc_dport = 20480, /);
  assert.ok(text.endsWith(" }"));
});

Deno.test("a struct too large for the stack is still refused, by name", () => {
  assert.throws(
    () => load("kprobe:f { print(*(struct task_struct *)arg0); }"),
    /struct task_struct value cannot be copied: .*would not fit the BPF stack/,
  );
});
