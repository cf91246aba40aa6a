import assert from "node:assert/strict";
import {
  bundledTypes,
  bundledTypesInfo,
} from "../../runtime/btf/bundled_types.ts";
import { kernelTypes, liveBtfProblem } from "../../runtime/btf/load_types.ts";
import { formatType } from "../../runtime/btf/c_printer.ts";
import { encodeBtf } from "../../runtime/btf/btf_writer.ts";
import { parseBtf } from "../../runtime/btf/btf_reader.ts";
import { KernelTypes } from "../../runtime/btf/kernel_types.ts";
import { captureTypes } from "../../tools/capture_types.ts";
import { BUNDLE_SPEC } from "../../tools/bundle_spec.ts";
import { liveSkipReason } from "./helpers.ts";

// The bundle is checked against its own description and against facts of
// every kernel build, never against the running kernel.

Deno.test("the bundle has every struct and member its description lists", () => {
  const types = bundledTypes();
  const info = bundledTypesInfo();
  assert.equal(types.source, "bundled");
  assert.match(types.origin, /^bundled types \(captured from Linux /);
  assert.equal(types.btf.byteLength, info.bytes);
  for (const [cname, members] of Object.entries(info.structs)) {
    const id = types.lookup(cname);
    assert.ok(id !== undefined, `${cname} is in the bundle`);
    for (const m of members) {
      const f = types.field(id, m);
      assert.ok(f !== undefined, `${cname} has ${m}`);
      assert.ok(f.offset + f.size <= types.sizeOf(id), `${cname}.${m} fits`);
    }
    formatType(types, id, { offsets: true });
  }
  // Every structure the spec names is described (a spec name missing from
  // the capture kernel would be reported by the capture instead).
  for (const name of Object.keys(BUNDLE_SPEC)) {
    assert.ok(
      info.structs[`struct ${name}`] !== undefined ||
        info.structs[`union ${name}`] !== undefined,
      name,
    );
  }
  // Each type decodes.
  for (let id = 1; id < types.btf.endId; id++) types.typeName(id);
});

Deno.test("the bundle answers what the common tools read", () => {
  const types = bundledTypes();
  const task = types.lookup("struct task_struct")!;
  assert.equal(types.field(task, "pid")!.size, 4);
  assert.equal(
    types.typeName(types.strip(types.field(task, "comm")!.type)),
    "char[16]",
  );
  const parent = types.field(task, "real_parent")!;
  assert.equal(types.pointee(parent.type), task);
  const sock = types.lookup("struct sock")!;
  const family = types.fieldPath(sock, "__sk_common.skc_family")!;
  assert.equal(
    family.offset,
    types.field(sock, "__sk_common")!.offset +
      types.field(types.lookup("struct sock_common")!, "skc_family")!.offset,
  );
  assert.ok(types.fieldPath(sock, "__sk_common.skc_v6_daddr.in6_u.u6_addr8"));
  const skb = types.lookup("struct sk_buff")!;
  assert.ok(types.field(skb, "len") !== undefined);
  assert.equal(
    types.typeName(types.field(skb, "dev")!.type),
    "struct net_device *",
  );
  const request = types.lookup("struct request")!;
  const q = types.pointee(types.field(request, "q")!.type)!;
  const disk = types.pointee(types.field(q, "disk")!.type)!;
  assert.equal(types.sizeOf(types.field(disk, "disk_name")!.type), 32);
  assert.equal(types.enumConstant("TCP_ESTABLISHED")?.value, 1n);
  // A structure not in the bundle, reached through a pointer, is declared
  // but has no members.
  const files = types.field(task, "files")!;
  const filesStruct = types.type(types.pointee(files.type)!);
  assert.equal(filesStruct.kind, "fwd");
});

Deno.test("capture keeps the asked members, declares the rest", () => {
  const from = new KernelTypes(
    parseBtf(
      encodeBtf([
        { kind: "int", name: "int", size: 4, signed: true }, // 1
        { kind: "struct", name: "other", size: 24, members: [] }, // 2
        { kind: "ptr", target: 2 }, // 3
        {
          kind: "union",
          size: 4,
          members: [
            { name: "u1", type: 1, bitOffset: 0 },
            { name: "u2", type: 1, bitOffset: 0 },
          ],
        }, // 4
        {
          kind: "struct",
          name: "big",
          size: 48,
          members: [
            { name: "a", type: 1, bitOffset: 0 },
            { name: "b", type: 1, bitOffset: 32 },
            { name: "p", type: 3, bitOffset: 64 },
            { name: "embedded", type: 2, bitOffset: 128 },
            { name: "", type: 4, bitOffset: 320 },
          ],
        }, // 5
      ]),
      "source",
    ),
    "btf",
  );
  const capture = captureTypes(from, {
    big: ["b", "p", "embedded", "u2", "zz"],
  }, []);
  assert.deepEqual(capture.missing, ["struct big.zz"]);
  assert.deepEqual(capture.structs, { "struct big": ["b", "p", "embedded"] });
  const types = new KernelTypes(parseBtf(capture.btf, "bundle"), "bundled");
  const big = types.lookup("struct big")!;
  assert.equal(types.sizeOf(big), 48);
  assert.equal(types.field(big, "a"), undefined);
  assert.equal(types.field(big, "b")!.offset, 4);
  assert.equal(types.field(big, "u1")!.offset, 40, "the anonymous union whole");
  assert.equal(types.typeName(types.field(big, "p")!.type), "struct other *");
  assert.equal(
    types.type(types.pointee(types.field(big, "p")!.type)!).kind,
    "fwd",
  );
  const embedded = types.field(big, "embedded")!;
  assert.equal(embedded.size, 24, "an embedded struct keeps its size");
  assert.deepEqual(types.composite(embedded.type)!.members, []);
});

Deno.test("the loader says which source answers", () => {
  const bundled = kernelTypes({ bundled: true });
  assert.equal(bundled.source, "bundled");
  assert.equal(liveBtfProblem, undefined, "asked for, not a fallback");
  // Unreadable BTF: the bundle answers, and the reason is kept.
  const fallback = kernelTypes({ vmlinux: "/nonexistent/vmlinux" });
  assert.equal(fallback.source, "bundled");
  assert.match(
    liveBtfProblem ?? "",
    /^Cannot read BTF from "\/nonexistent\/vmlinux": /,
  );
  const corrupt = Deno.makeTempFileSync();
  try {
    Deno.writeFileSync(corrupt, new Uint8Array(100));
    assert.equal(kernelTypes({ vmlinux: corrupt }).source, "bundled");
    assert.match(liveBtfProblem ?? "", /bad magic/);
  } finally {
    Deno.removeSync(corrupt);
  }
  const types = kernelTypes();
  if (liveSkipReason === undefined) assert.equal(types.source, "btf");
  else assert.equal(types.source, "bundled");
  assert.ok(types.lookup("struct task_struct") !== undefined);
});
