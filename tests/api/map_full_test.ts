/**
 * Full maps: an update a map refuses because it holds `maxMapKeys` keys is
 * counted by the program and reported, the same way on both engines.
 */
import assert from "node:assert/strict";
import { getppidChild, ignoreKernel } from "./helpers.ts";
import { type MapData, trace } from "../../mod.ts";

// Every event adds a new key (rand) until the map is full; `@total` (a
// keyless per-CPU array, which never refuses) counts the events. In the
// kernel only python3's calls (the workload) count.
const source = (predicate = "") =>
  `tracepoint:syscalls:sys_enter_getppid ${predicate} {
  @m[tid, rand] = count();
  @v[rand] = 1;
  @total = count();
}`;

const KEYS = 50;

function sumOf(data: MapData): number {
  let n = 0;
  for (const e of data.entries) n += Number(e.value);
  return n;
}

/**
 * Checks what a session ending with a full `@m` and `@v` reports: each
 * holds `KEYS` keys, and every event either counted under a key or was
 * refused and counted as lost.
 */
function checkFull(
  maps: MapData[],
  full: { name: string; lost: number; maxEntries: number }[],
): void {
  const byName = new Map(maps.map((m) => [m.name, m]));
  const total = sumOf(byName.get("@total")!);
  assert.ok(total > KEYS * 2, `only ${total} events`);
  const m = byName.get("@m")!;
  const v = byName.get("@v")!;
  assert.equal(m.entries.length, KEYS);
  assert.equal(v.entries.length, KEYS);
  const lostM = full.find((f) => f.name === "@m")?.lost ?? 0;
  const lostV = full.find((f) => f.name === "@v")?.lost ?? 0;
  // count(): hits add to a key; each refused first update is one event.
  assert.equal(sumOf(m) + lostM, total);
  // `@v[rand] = 1`: the update of a new key after the map filled fails;
  // an update of a key already there (a repeated rand) does not.
  assert.ok(lostV > 0 && lostV <= total - KEYS, `lost ${lostV} of ${total}`);
  assert.deepEqual(full.map((f) => f.maxEntries), [KEYS, KEYS]);
  assert.equal(m.lostUpdates, lostM);
  assert.equal(v.lostUpdates, lostV);
  assert.equal(byName.get("@total")!.lostUpdates, undefined);
}

Deno.test("a full map's refused updates are counted on the interpreter", async () => {
  const warnings: string[] = [];
  await using s = await trace(source(), {
    backend: "interp",
    seed: 3,
    durationMs: 2000,
    maxMapKeys: KEYS,
    warn: (text) => warnings.push(text),
  });
  await s.run();
  checkFull(s.maps(), s.mapFull());
  await s.close();
  assert.equal(warnings.length, 2);
  assert.match(
    warnings[0],
    /^WARNING: Map @m is full \(50 keys\): \d+ updates were lost\. Raise max_map_keys: --max-map-keys N, BPFTRACE_MAP_KEYS_MAX=N /,
  );
});

Deno.test({
  name: "a full map's refused updates are counted in the kernel",
  ignore: ignoreKernel,
  async fn() {
    const warnings: string[] = [];
    await using s = await trace(source('/comm == "tsbmapfull"/'), {
      backend: "kernel",
      maxMapKeys: KEYS,
      warn: (text) => warnings.push(text),
    });
    await getppidChild(400, "tsbmapfull");
    await s.every(100).next();
    checkFull(s.maps(), s.mapFull());
    await s.close();
    assert.equal(warnings.length, 2);
    assert.match(warnings[1], /^WARNING: Map @v is full \(50 keys\): \d+/);
  },
});

Deno.test("maps that never fill report nothing", async () => {
  const warnings: string[] = [];
  await using s = await trace(source(), {
    backend: "interp",
    durationMs: 500,
    warn: (text) => warnings.push(text),
  });
  await s.run();
  assert.deepEqual(s.mapFull(), []);
  assert.equal(s.maps().find((m) => m.name === "@m")!.lostUpdates, undefined);
  await s.close();
  assert.deepEqual(warnings, []);
});
