import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { decodeEvent, decodeMap } from "../../runtime/output/decode.ts";
import type { SymbolResolver } from "../../runtime/output/types.ts";
import { PT_REGS, PT_REGS_SIZE } from "../../runtime/compiler/sema.ts";
import { load, mapIndex, run } from "./harness.ts";
import type { RingBufMap } from "../../runtime/vm/maps.ts";

/**
 * `usym` values are 16 bytes, as bpftrace's: the address, then the tgid,
 * so user space symbolizes in the traced process, not in its own.
 */

/** A resolver that records the pid each user address was resolved in. */
const resolver: SymbolResolver = {
  ksym: (a) => `k${a}`,
  usym: (a, pid) => `u${a.toString(16)}@${pid ?? "none"}`,
  stack: () => [],
};

function regs(ip: bigint): Uint8Array {
  const b = new Uint8Array(PT_REGS_SIZE);
  new DataView(b.buffer).setBigUint64(PT_REGS.ip, ip, true);
  return b;
}

Deno.test("usym() keys, values, variables and printf args carry the tgid", () => {
  const text = "uprobe:libc:getpid";
  const l = load(
    `${text} { @s[usym(reg("ip"))] = count(); @f[func] = count();` +
      ` $u = usym(reg("ip")); @v = $u; @w[1] = func;` +
      ` printf("%s %s\\n", usym(reg("ip")), func); }`,
    {},
    { pid: 4321, tid: 4322 },
  );
  run(l, text, regs(0x401136n));
  for (const name of ["@s", "@f"]) {
    const i = mapIndex(l, name);
    const spec = l.prog.maps[i];
    assert.deepEqual(spec.key, { kind: "usym", size: 16 });
    assert.equal(spec.keySize, 16);
    const data = decodeMap(spec, l.maps[i].entries(), resolver);
    assert.deepEqual(data.entries, [{ key: ["u401136@4321"], value: 1 }]);
  }
  for (const name of ["@v", "@w"]) {
    const i = mapIndex(l, name);
    const spec = l.prog.maps[i];
    assert.equal(spec.valueSize, 16);
    const data = decodeMap(spec, l.maps[i].entries(), resolver);
    assert.equal(data.entries[0].value, "u401136@4321");
  }
  const rb = l.maps[l.prog.eventsMap!] as RingBufMap;
  const got: unknown[] = [];
  rb.drain((rec) => got.push(decodeEvent(l.prog, rec, resolver)));
  assert.equal(got.length, 1);
  assert.deepEqual((got[0] as { args: unknown[] }).args, [
    "u401136@4321",
    "u401136@4321",
  ]);
});

Deno.test("usym in a tuple key lays out 16 bytes, 8-aligned", () => {
  const p = compile(
    'uprobe:libc:getpid { @[pid, usym(reg("ip")), comm] = count(); }',
  );
  const spec = p.maps[0];
  assert.equal(spec.key.kind, "tuple");
  if (spec.key.kind !== "tuple") return;
  assert.deepEqual(spec.key.offsets, [0, 8, 24]);
  assert.equal(spec.key.size, 40);
  assert.deepEqual(spec.key.fields[1], { kind: "usym", size: 16 });
});

Deno.test("print(usym) sends the tgid too", () => {
  const text = "uprobe:libc:getpid";
  const l = load(`${text} { print(usym(reg("ip"))); }`, {}, { pid: 77 });
  run(l, text, regs(0x1000n));
  const rb = l.maps[l.prog.eventsMap!] as RingBufMap;
  const got: unknown[][] = [];
  rb.drain((rec) => got.push(decodeEvent(l.prog, rec, resolver).args));
  assert.deepEqual(got, [["u1000@77"]]);
});
