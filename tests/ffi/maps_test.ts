import assert from "node:assert/strict";
import { InsnBuilder } from "../../runtime/bpf/builder.ts";
import { Helper, MapType, ProgType } from "../../runtime/bpf/opcodes.ts";
import { KernelEngine } from "../../runtime/engines/kernel_engine.ts";
import { mapSpec, noLeaks, probeOf, skipReason } from "./kernel_helpers.ts";

const N = 10_000;

/** BEGIN: for i in 0..N-1: hash[i] = i * 3 (a bounded loop). */
function fill(): InsnBuilder {
  const b = new InsnBuilder();
  b.movImm(6, 0);
  b.label("loop");
  b.stx(8, 10, -8, 6);
  b.movReg(7, 6).alu64Imm("MUL", 7, 3).stx(8, 10, -16, 7);
  b.ldMap(1, 0);
  b.movReg(2, 10).alu64Imm("ADD", 2, -8);
  b.movReg(3, 10).alu64Imm("ADD", 3, -16);
  b.movImm(4, 0);
  b.call(Helper.map_update_elem);
  b.alu64Imm("ADD", 6, 1);
  b.jmpImm("JLT", 6, N, "loop");
  b.movImm(0, 0).exit();
  return b;
}

Deno.test({
  name: "readMap/clearMap on a 10,000-entry hash, verifier log on request",
  ignore: skipReason !== undefined,
  fn: () =>
    noLeaks(async () => {
      const engine = new KernelEngine({ logLevel: 1 });
      try {
        const begin = probeOf("fill", ProgType.RAW_TRACEPOINT, [
          { kind: "BEGIN", target: "", text: "BEGIN" },
        ], fill());
        await engine.load({
          probes: [begin],
          maps: [
            mapSpec("@h", MapType.HASH, 8, 8, N),
            mapSpec("@a", MapType.ARRAY, 4, 8, 4),
          ],
          formats: [],
        });
        assert.match(
          engine.verifierLog(begin.name) ?? "",
          /processed \d+ insns/,
        );
        await engine.runSpecial("BEGIN");
        let entries = engine.readMap(0);
        const t0 = performance.now();
        for (let i = 0; i < 5; i++) entries = engine.readMap(0);
        const ms = (performance.now() - t0) / 5;
        console.log(`readMap of ${N} hash entries: ${ms.toFixed(1)} ms`);
        assert.equal(entries.length, N);
        const seen = new Set<bigint>();
        for (const e of entries) {
          const k = new DataView(e.key.buffer, e.key.byteOffset)
            .getBigUint64(0, true);
          const v = new DataView(e.values[0].buffer, e.values[0].byteOffset)
            .getBigUint64(0, true);
          assert.equal(v, k * 3n);
          seen.add(k);
        }
        assert.equal(seen.size, N);
        // Array maps list every slot, zeroed.
        assert.equal(engine.readMap(1).length, 4);
        engine.clearMap(0);
        assert.equal(engine.readMap(0).length, 0);
        engine.clearMap(1);
        assert.equal(engine.readMap(1).length, 4);
        // Run counts need enableStats: without it they stay 0.
        const [st] = engine.stats();
        assert.equal(st.name, begin.name);
        assert.ok(st.insnCount > 10);
      } finally {
        engine.close();
      }
    }),
});
