/**
 * Metric labels of maps keyed by a tuple: `@x[pid, fd]`, `@x[(pid, fd)]`
 * and `@x[$t]` with `$t = (pid, fd)` are one key of two parts (bpftrace
 * 0.26), exported as two labels however the first use wrote it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { MetricsRenderer } from "../../runtime/metrics/exposition.ts";
import { decodeMap } from "../../runtime/output/decode.ts";
import type { MapSpec } from "../../runtime/program.ts";

function specsOf(source: string): Map<string, MapSpec> {
  const p = compile(source, { tracefsAvailable: false });
  return new Map(p.maps.filter((m) => !m.internal).map((m) => [m.name, m]));
}

function u64(...ns: number[]): Uint8Array {
  return new Uint8Array(new BigUint64Array(ns.map(BigInt)).buffer);
}

Deno.test("tuple keys: one label per element, however the key was written", () => {
  const specs = specsOf(`tracepoint:syscalls:sys_enter_read {
  @a[pid, args.fd] = count();
  @b[(pid, args.fd)] = count();
  $t = (pid, args.fd);
  @c[$t] = count();
  @c[pid, args.fd] = count();
  @d[(a = pid, b = args.fd)] = count();
}`);
  assert.deepEqual(specs.get("@a")!.keyNames, ["pid", "fd"]);
  assert.deepEqual(specs.get("@b")!.keyNames, ["pid", "fd"]);
  assert.deepEqual(specs.get("@c")!.keyNames, ["t_0", "t_1"]);
  // A record is one value: one label.
  assert.deepEqual(specs.get("@d")!.keyNames, ["key"]);
  for (const name of ["@a", "@b", "@c"]) {
    assert.deepEqual(specs.get(name)!.key, specs.get("@a")!.key, name);
  }
  const r = new MetricsRenderer({ prefix: "bpf_" });
  for (
    const [name, labels] of [["@b", 'pid="7",fd="3"'], [
      "@c",
      't_0="7",t_1="3"',
    ]]
  ) {
    const spec = specs.get(name)!;
    const data = decodeMap(spec, [{ key: u64(7, 3), values: [u64(5)] }]);
    const text = r.render([{ spec, data }], undefined, false);
    const metric = `bpf_${name.slice(1)}_total`;
    assert.match(text, new RegExp(`^${metric}\\{${labels}\\} 5$`, "m"), text);
  }
});
