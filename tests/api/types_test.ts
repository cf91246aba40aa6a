// Type tests: every `@ts-expect-error` line must fail `deno check`
// (`deno check tests/api/types_test.ts`, also run by `deno test`); if one
// stopped failing, the directive itself would be reported as unused.
import assert from "node:assert/strict";
import {
  type HistBucket,
  type Int,
  type KeyOf,
  MapSnapshot,
  type RecordOf,
  type S32,
  type Stats,
  type Str,
  type TraceMap,
  Tracer,
  type TraceSession,
  type U32,
  type U64,
  type ValueOf,
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

// Maps and events declared in TS probe bodies keep their types through the
// session. Never called: checked by the compiler only.
export async function typedStaged(session: TraceSession): Promise<void> {
  const t = new Tracer();
  const drops = t.map<[U32, Str], "count">("drops");
  const lat = t.map<[Str], "hist">("lat");
  const bytes = t.map<[U32], "sum">("bytes");
  const last = t.map<[], U64>("last");
  const big = t.event<{ pid: U32; comm: Str; ts: U64; ret: S32 }>("big");

  t.probe("tracepoint:syscalls:sys_exit_kill", (c) => {
    drops.at(c.pid, c.comm).count();
    // @ts-expect-error: keys in the declared order: [U32, Str]
    drops.at(c.comm, c.pid).count();
    // @ts-expect-error: a count map cannot sum
    drops.at(c.pid, c.comm).sum(1);
    c.emit(big, {
      pid: c.pid,
      comm: c.comm,
      ts: c.nsecs,
      ret: c.args.ret.as("s32"),
    });
    // @ts-expect-error: every declared field is needed
    c.emit(big, { pid: c.pid });
    // @ts-expect-error: comm is a string field
    c.emit(big, { pid: c.pid, comm: c.pid, ts: c.nsecs, ret: 0 });
  });

  const m: TraceMap<[number, string], number> = session.map(drops);
  const n: number | undefined = session.map(drops).get(42, "nc");
  // @ts-expect-error: the key is [pid, comm]: comm is a string
  session.map(drops).get(42, 7);
  // @ts-expect-error: the key has two parts
  session.map(drops).get(42);
  // @ts-expect-error: a count is a number, not a string
  const s: string | undefined = session.map(drops).get(1, "a");
  const h: HistBucket[] | undefined = session.map(lat).get("nginx");
  // @ts-expect-error: one string key, not a number
  session.map(lat).get(1);
  // @ts-expect-error: a histogram is a bucket list, not Stats
  const st: Stats | undefined = session.map(lat).get("nginx");
  // A sum may pass 2^53: number | bigint.
  const b: Int | undefined = session.map(bytes).get(1);
  // @ts-expect-error: not just a number
  const bn: number | undefined = session.map(bytes).get(1);
  const l: Int | undefined = session.map(last).get();
  // @ts-expect-error: a keyless map takes no key
  session.map(last).get(1);
  for (const [[pid, comm], count] of m.entries()) {
    const p: number = pid;
    const c: string = comm;
    const k: number = count;
    void [p, c, k];
  }
  const key: KeyOf<typeof drops> = [1, "sh"];
  const value: ValueOf<typeof drops> = 3;
  // @ts-expect-error: the key is a pair
  const badKey: KeyOf<typeof drops> = 1;

  for await (const r of session.emits(big)) {
    const pid: number = r.pid;
    const comm: string = r.comm;
    const ret: number = r.ret;
    const ts: number | bigint = r.ts;
    // @ts-expect-error: 64-bit fields may be bigints
    const tsn: number = r.ts;
    // @ts-expect-error: no such field
    r.tid;
    // @ts-expect-error: comm is a string
    const cn: number = r.comm;
    void [pid, comm, ret, ts, tsn, cn];
  }
  const rec: RecordOf<typeof big> = { pid: 1, comm: "x", ts: 1n, ret: -1 };
  // @ts-expect-error: a record needs every field
  const partial: RecordOf<typeof big> = { pid: 1 };
  for await (const r of session.emits<{ pid: U32 }>("big")) {
    const pid: number = r.pid;
    // @ts-expect-error: the shape given has no comm
    r.comm;
    void pid;
  }
  for await (const { event, record } of session.emits()) {
    const e: string = event;
    void [e, record.anything];
  }
  void [n, s, h, st, b, bn, l, key, value, badKey, rec, partial];
}
