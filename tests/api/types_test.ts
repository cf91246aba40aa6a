// Type tests: every `@ts-expect-error` line must fail `deno check`
// (`deno check tests/api/types_test.ts`, also run by `deno test`); if one
// stopped failing, the directive itself would be reported as unused.
import assert from "node:assert/strict";
import {
  type HistBucket,
  MapSnapshot,
  type Stats,
  type TraceMap,
  type TraceSession,
} from "../../mod.ts";

// Never called: checked by the compiler only (it needs a live session).
export function typedMaps(session: TraceSession): void {
  const drops = session.map<[number, string], number>("drops");
  const n: number | undefined = drops.get(42, "nc");
  // @ts-expect-error: the second key part is a string, not a number
  drops.get(42, 7);
  // @ts-expect-error: the key has two parts
  drops.get(42);
  // @ts-expect-error: values are numbers, not strings
  const s: string | undefined = drops.get(1, "a");
  for (const [[pid, comm], count] of drops.entries()) {
    const p: number = pid;
    const c: string = comm;
    const k: number = count;
    // @ts-expect-error: comm is a string
    const wrong: number = comm;
    void [p, c, k, wrong];
  }
  const byComm: TraceMap<string, bigint> = session.map("calls");
  // @ts-expect-error: a single string key is passed alone
  byComm.get(["bash"]);
  // @ts-expect-error: bigint values do not mix with number arithmetic
  const sum: number = (byComm.get("bash") ?? 0n) + 1;
  const lat = session.map<string, HistBucket[]>("usecs");
  const buckets: HistBucket[] | undefined = lat.get("nginx");
  // @ts-expect-error: a histogram value is a bucket list, not Stats
  const stats: Stats | undefined = lat.get("nginx");
  const keyless = session.map<[], number>("total");
  keyless.get();
  // @ts-expect-error: a keyless map takes no key
  keyless.get(1);
  void [n, s, sum, buckets, stats];
}

Deno.test("MapSnapshot lookups follow the declared key type", () => {
  const m = new MapSnapshot<[number, string], number>([[[1, "a"], 2]]);
  assert.equal(m.lookup(1, "a"), 2);
  // @ts-expect-error: the second key part is a string
  assert.equal(m.lookup(1, 2), undefined);
  // @ts-expect-error: values are numbers
  const v: string | undefined = m.lookup(1, "a");
  assert.equal(v, 2);
  const single = new MapSnapshot<string, number>([["x", 1]]);
  assert.equal(single.lookup("x"), 1);
  // @ts-expect-error: one key part, not two
  single.lookup("x", "y");
});
