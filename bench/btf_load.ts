/**
 * The first-use cost of kernel types: each round is a fresh Deno process
 * that reads `/sys/kernel/btf/vmlinux`, builds the type-name index, answers
 * a struct field query and an enum constant query (which builds the
 * enumerator index), and reports times and memory. Cold processes, since a
 * script pays this once, before its JIT is warm.
 *
 * Run: `deno run -A bench/btf_load.ts [--rounds N]`
 *
 * @module
 */

import { median } from "./stats.ts";

const PROBE = `
import { kernelTypes } from ${
  JSON.stringify(new URL("../runtime/btf/load_types.ts", import.meta.url).href)
};
const m0 = Deno.memoryUsage();
const t0 = performance.now();
const types = kernelTypes();
const index = types.index;
const t1 = performance.now();
const sock = types.lookup("struct sock");
types.fieldPath(sock, "__sk_common.skc_family");
const t2 = performance.now();
types.enumConstant("TCP_FIN_WAIT1");
const t3 = performance.now();
const m1 = Deno.memoryUsage();
console.log(JSON.stringify({
  source: types.source,
  types: types.btf.typeCount,
  names: index.size,
  loadMs: t1 - t0,
  indexMs: index.buildMs,
  fieldMs: t2 - t1,
  enumMs: t3 - t2,
  heapMB: (m1.heapUsed - m0.heapUsed) / 1e6,
  externalMB: (m1.external - m0.external) / 1e6,
}));
`;

interface Sample {
  source: string;
  types: number;
  names: number;
  loadMs: number;
  indexMs: number;
  fieldMs: number;
  enumMs: number;
  heapMB: number;
  externalMB: number;
}

async function sample(): Promise<Sample> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", PROBE],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("The BTF probe process failed");
  return JSON.parse(new TextDecoder().decode(out.stdout)) as Sample;
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--rounds");
  const rounds = i >= 0 ? Number(Deno.args[i + 1]) : 7;
  const samples: Sample[] = [];
  for (let r = 0; r < rounds; r++) samples.push(await sample());
  const s = samples[0];
  const fmt = (key: keyof Sample) => {
    const values = samples.map((x) => x[key] as number);
    return `${median(values).toFixed(1)} (min ${
      Math.min(...values).toFixed(1)
    })`;
  };
  console.log(
    `Kernel types from ${s.source}: ${s.types} types, ${s.names} names; medians of ${rounds} cold processes, ms`,
  );
  console.log(`  read + scan + type index: ${fmt("loadMs")}`);
  console.log(`    of which scan + index:  ${fmt("indexMs")}`);
  console.log(`  first field query:        ${fmt("fieldMs")}`);
  console.log(`  first enum constant:      ${fmt("enumMs")}`);
  console.log(`  JS heap MB:               ${fmt("heapMB")}`);
  console.log(`  outside the heap MB:      ${fmt("externalMB")}`);
}
