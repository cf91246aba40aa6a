import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { formatDryRun } from "../../runtime/compiler/dry_run.ts";
import { Helper, MapType } from "../../runtime/bpf/opcodes.ts";
import { decodeMap } from "../../runtime/output/decode.ts";
import type { Insn } from "../../runtime/bpf/insn.ts";
import {
  entries,
  events,
  load,
  type Loaded,
  mapIndex,
  run,
  tpCtx,
  valueOf,
} from "./harness.ts";

const ENTER = "tracepoint:syscalls:sys_enter_read";
const EXIT = "tracepoint:syscalls:sys_exit_read";
const LATENCY =
  `${ENTER} { @s[tid] = nsecs; } ${EXIT} /@s[tid]/ { @lat = hist(nsecs - @s[tid]); delete(@s[tid]); }`;

/** How often a probe calls `helper`. */
function calls(insns: Insn[], helper: number): number {
  return insns.filter((i) => i.code === 0x85 && i.src === 0 && i.imm === helper)
    .length;
}

/** The printf lines a run sent, formatted with their integer arguments. */
function lines(l: Loaded): string[] {
  return events(l).map((e) =>
    e.format!.replace(/%d/g, () => String(e.args.shift())).trimEnd()
  );
}

Deno.test("latency pair: one pid_tgid call and one @s lookup in the exit probe", () => {
  const prog = compile(LATENCY, { tracefsAvailable: false });
  const exit = prog.probes.find((p) => p.attach[0].text === EXIT)!;
  assert.equal(calls(exit.insns, Helper.get_current_pid_tgid), 1);
  // @s once (the predicate's value is reused), @lat once (an array).
  assert.equal(calls(exit.insns, Helper.map_lookup_elem), 2);
  assert.equal(calls(exit.insns, Helper.map_update_elem), 0);
  assert.equal(calls(exit.insns, Helper.ktime_get_boot_ns), 1);
  const lat = prog.maps.find((m) => m.name === "@lat")!;
  assert.deepEqual(
    [lat.type, lat.keySize, lat.valueSize, lat.maxEntries],
    [MapType.PERCPU_ARRAY, 4, 8, 65],
  );
});

Deno.test("latency pair runs: the hist counts each start/end pair, @s empties", () => {
  const l = load(LATENCY, { tracefsAvailable: false }, {
    tid: 77,
    tickNs: 3000n,
  });
  // An exit without a start: the predicate fails.
  run(l, EXIT, tpCtx(l, EXIT, { ret: 1 }));
  for (let i = 0; i < 3; i++) {
    run(l, ENTER, tpCtx(l, ENTER, { count: 1 }));
    run(l, EXIT, tpCtx(l, EXIT, { ret: 1 }));
  }
  assert.deepEqual(entries(l, "@s"), []);
  // Each pair is one clock tick apart: 3000 ns, bucket [2K, 4K) = 13.
  assert.deepEqual(entries(l, "@lat"), [{
    key: null,
    bucket: 13n,
    value: [3n],
  }]);
});

Deno.test("nsecs, rand and jiffies are read afresh every time", () => {
  const p = compile(
    "BEGIN { @a = nsecs; @b = nsecs; @c = rand; @d = rand; @e = jiffies; @f = jiffies; }",
  ).probes[0];
  assert.equal(calls(p.insns, Helper.ktime_get_boot_ns), 2);
  assert.equal(calls(p.insns, Helper.get_prandom_u32), 2);
  assert.equal(calls(p.insns, Helper.jiffies64), 2);
});

Deno.test("stable builtins: one helper call each, the halves read from its slot", () => {
  const src =
    "BEGIN { @a[pid, tid] = 1; @b = uid + gid + uid; @c = cpu * cpu; @d = cgroup - cgroup; @e = username; }";
  const p = compile(src).probes[0];
  for (
    const h of [
      Helper.get_current_pid_tgid,
      Helper.get_current_uid_gid,
      Helper.get_smp_processor_id,
      Helper.get_current_cgroup_id,
    ]
  ) assert.equal(calls(p.insns, h), 1, `helper ${h}`);
  const l = load(src, {}, { pid: 10, tid: 11, uid: 5, gid: 7, cpu: 3 });
  run(l, "BEGIN");
  assert.deepEqual(entries(l, "@a").map((e) => e.key), [[10n, 11n]]);
  assert.equal(valueOf(l, "@b"), 17n);
  assert.equal(valueOf(l, "@c"), 9n);
  assert.equal(valueOf(l, "@d"), 0n);
});

Deno.test("a value first read on some paths only is read again where it must be", () => {
  // Each program passes our verifier, which refuses reads of stack
  // slots not written on every path.
  const src = `BEGIN {
    if (uid == 5) { @a = pid; }
    @b = pid > 0 && tid > 0 ? pid : 0;
    @c = tid;
    printf("%d %d\\n", pid, cpu);
    @d = cpu + pid;
    $i = 0;
    while ($i < 2) { @e = tid; $i++; }
    @f = tid + cpu;
  }`;
  for (const uid of [5, 6]) {
    const l = load(src, {}, { pid: 40, tid: 41, uid, cpu: 1, numCpus: 2 });
    run(l, "BEGIN");
    assert.equal(valueOf(l, "@a"), uid === 5 ? 40n : undefined);
    assert.equal(valueOf(l, "@b"), 40n);
    assert.equal(valueOf(l, "@c"), 41n);
    assert.deepEqual(lines(l), ["40 1"]);
    assert.equal(valueOf(l, "@d"), 41n);
    assert.equal(valueOf(l, "@e"), 41n);
    assert.equal(valueOf(l, "@f"), 42n);
  }
});

Deno.test("a map value is reused until the map is written", () => {
  const l = load(`BEGIN {
    @x = 5; @y[pid, tid] = 3;
    printf("%d %d %d %d\\n", @x, @x + @x, @y[pid, tid], @y[pid, tid] * 2);
    @x = 7; printf("%d\\n", @x);
    @x++; printf("%d %d\\n", @x, @x);
    @x += 2; printf("%d\\n", @x);
    delete(@x); printf("%d\\n", @x);
    @v = 1; if (@v > 0) { @v = 10; } printf("%d\\n", @v);
    if (@v == 10) { @v = 11; } else { @v = 12; } printf("%d\\n", @v);
    @w = @v > 5 ? @v++ : @v; printf("%d %d\\n", @w, @v);
    $i = 0; @z = 1; $t = @z; printf("%d\\n", $t);
    while ($i < 5) {
      printf("%d\\n", @z); @z = @z * 2; $i++;
      if ($i == 3) { break; }
    }
    printf("%d\\n", @z);
  }`);
  run(l, "BEGIN");
  assert.deepEqual(lines(l), [
    "5 10 3 6",
    "7",
    "8 8",
    "10",
    "0",
    "10",
    "11",
    "11 12",
    "1",
    "1",
    "2",
    "4",
    "8",
  ]);
});

Deno.test("a key built again is built once; a predicate's map value is reused", () => {
  const p = compile(
    `${EXIT} /@s[tid] > 5/ { @n[tid] = @s[tid]; @s[tid] = 0; delete(@n[tid]); }`,
    { tracefsAvailable: false },
  ).probes[0];
  assert.equal(calls(p.insns, Helper.get_current_pid_tgid), 1);
  assert.equal(calls(p.insns, Helper.map_lookup_elem), 1);
});

Deno.test("keyless aggregations live in per-CPU arrays; zeroed or deleted ones in hashes", () => {
  const prog = compile(
    "BEGIN { @c = count(); @s = sum(1); @mn = min(1); @mx = max(1); @a = avg(1); @st = stats(1); @h = hist(1); @l = lhist(1, 0, 100, 10); @z = count(); zero(@z); @k[1] = count(); @v = 1; }",
  );
  const shape = (name: string) => {
    const m = prog.maps.find((x) => x.name === name)!;
    return [m.type, m.keySize, m.valueSize, m.maxEntries];
  };
  const A = MapType.PERCPU_ARRAY;
  assert.deepEqual(shape("@c"), [A, 4, 8, 1]);
  assert.deepEqual(shape("@s"), [A, 4, 16, 1]);
  assert.deepEqual(shape("@mn"), [A, 4, 16, 1]);
  assert.deepEqual(shape("@mx"), [A, 4, 16, 1]);
  assert.deepEqual(shape("@a"), [A, 4, 16, 1]);
  assert.deepEqual(shape("@st"), [A, 4, 16, 1]);
  assert.deepEqual(shape("@h"), [A, 4, 8, 65]);
  assert.deepEqual(shape("@l"), [A, 4, 8, 12]);
  assert.deepEqual(shape("@z"), [MapType.PERCPU_HASH, 8, 8, 4096]);
  assert.deepEqual(shape("@k"), [MapType.PERCPU_HASH, 8, 8, 4096]);
  assert.deepEqual(shape("@v"), [MapType.HASH, 8, 8, 4096]);
});

Deno.test("array slots nobody wrote decode as absent entries, written ones as the hash map's", () => {
  const l = load(
    `BEGIN {
      @s = sum(0); @mx = max(-3); @mn = min(-8); @c = count(); @c = count();
      @h = hist(5); @h = hist(-1); @h = hist(1000); @l = lhist(50, 0, 10, 1);
      @a = avg(-9); @a = avg(4);
    }
    ${ENTER} /args->count == 12345/ {
      @nc = count(); @ns = sum(1); @nmn = min(1); @nmx = max(1); @na = avg(1);
      @nst = stats(1); @nh = hist(1); @nl = lhist(1, 0, 10, 1);
    }`,
    { tracefsAvailable: false },
    { numCpus: 2, cpu: 1 },
  );
  run(l, "BEGIN");
  run(l, ENTER, tpCtx(l, ENTER, { count: 1 }));
  const dec = (name: string) => {
    const i = mapIndex(l, name);
    return decodeMap(l.prog.maps[i], l.maps[i].entries());
  };
  for (
    const n of ["@nc", "@ns", "@nmn", "@nmx", "@na", "@nst", "@nh", "@nl"]
  ) assert.deepEqual(dec(n).entries, [], n);
  assert.deepEqual(dec("@s").entries, [{ key: [], value: 0 }]);
  assert.deepEqual(dec("@mx").entries, [{ key: [], value: -3 }]);
  assert.deepEqual(dec("@mn").entries, [{ key: [], value: -8 }]);
  assert.deepEqual(dec("@c").entries, [{ key: [], value: 2 }]);
  assert.deepEqual(dec("@a").entries, [{
    key: [],
    value: { count: 2, total: -5, average: -2 },
  }]);
  const h = dec("@h").entries[0].value as { index: number; count: number }[];
  assert.deepEqual(
    h.map((b) => [b.index, b.count]),
    [
      [0, 1],
      [1, 0],
      [2, 0],
      [3, 0],
      [4, 1],
      ...Array.from(
        { length: 6 },
        (_, i) => [5 + i, 0],
      ),
      [11, 1],
    ],
  );
  const lh = dec("@l").entries[0].value as { index: number; count: number }[];
  assert.deepEqual(lh.map((b) => [b.index, b.count]), [[11, 1]]);
  // Cleared (every slot zeroed): no entry.
  l.maps[mapIndex(l, "@c")].clear();
  assert.deepEqual(dec("@c").entries, []);
});

Deno.test("a probe whose stack cannot hold the reuse slots compiles without them", () => {
  const vars = Array.from(
    { length: 7 },
    (_, i) => `$s${i} = str(args->filename);`,
  ).join(" ");
  const src =
    `tracepoint:syscalls:sys_enter_openat { ${vars} $c0 = comm; $c1 = comm;
    @a[pid] = 1; @b[pid] = 2; printf("%d %d\\n", @a[pid], @a[pid]); }`;
  const prog = compile(src, { tracefsAvailable: false });
  const p = prog.probes[0];
  assert.equal(calls(p.insns, Helper.get_current_pid_tgid), 4);
  // One printf format: the attempt with slots left nothing behind.
  assert.equal(prog.formats.length, 1);
  // .events, .lost and .full (the counters of refused updates).
  assert.equal(prog.maps.filter((m) => m.internal).length, 3);
  assert.match(formatDryRun(prog), /ringbuf_output|ringbuf_reserve/);
});
