import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { replayEngine } from "../../runtime/record/cli_hooks.ts";
import { Session } from "../../runtime/session.ts";
import { event, headerFor, recordingBytes } from "./helpers.ts";
import {
  type RecordedEvent,
  RING_POSITION,
} from "../../runtime/record/format.ts";

const recorder = compile(
  "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }",
);
const layout = recorder.probes[0].ctx;
const filenameAt = layout.fields!.find((f) => f.name === "filename")!.offset;
const enc = new TextEncoder();

/** An openat event whose filename pointer has its string captured. */
function openat(i: number, path: string): RecordedEvent {
  const ctx = new Uint8Array(layout.size);
  const addr = 0x7ffc_0000_1000n + BigInt(i) * 0x100n;
  new DataView(ctx.buffer).setBigUint64(filenameAt, addr, true);
  const bytes = new Uint8Array(256);
  bytes.set(enc.encode(path));
  return event({
    timeNs: 2_000_000_000 + i * 1_000_000,
    pid: 100 + (i % 2),
    tid: 100 + (i % 2),
    ctx,
    calls: [{
      helper: 114,
      capture: true,
      r0: BigInt(path.length + 1),
      addr,
      bytes,
    }],
  });
}

const events = ["/etc/hosts", "/etc/passwd", "/tmp/x"].map((p, i) =>
  openat(i, p)
);

async function replay(
  text: string,
): Promise<{ out: string; error?: string }> {
  const path = Deno.makeTempFileSync({ suffix: ".tsrec" });
  Deno.writeFileSync(path, recordingBytes(headerFor(recorder), events));
  try {
    const program = compile(text);
    const r = await replayEngine(path, { realtime: false });
    let out = "";
    const session = new Session(program, r.engine, {
      format: "text",
      write: (t) => (out += t),
    });
    await session.start();
    await session.run({ durationMs: r.durationMs });
    await session.finish();
    return { out, error: r.feed.error?.message };
  } finally {
    Deno.removeSync(path);
  }
}

Deno.test("another program replays what the recording holds: context, task facts, captured strings", async () => {
  const { out, error } = await replay(
    'tracepoint:syscalls:sys_enter_openat { printf("%s %d %s %d\\n", comm, pid, str(args->filename), uid); @[pid] = count(); }',
  );
  assert.equal(error, undefined);
  assert.equal(
    out,
    "Attached 1 probe\n" +
      "nginx 100 /etc/hosts 33\n" +
      "nginx 101 /etc/passwd 33\n" +
      "nginx 100 /tmp/x 33\n\n\n" +
      "@[101]: 1\n@[100]: 2\n",
  );
});

Deno.test("a read the recording does not hold is a one-line error naming the probe and the read", async () => {
  const { error } = await replay(
    "tracepoint:syscalls:sys_enter_openat { @[rand % 4] = count(); }",
  );
  assert.equal(
    error,
    'Cannot replay probe "tracepoint:syscalls:sys_enter_openat": it calls get_prandom_u32, which the recording does not hold; record with this program (--record FILE) to replay it',
  );
  const str = await replay(
    "tracepoint:syscalls:sys_enter_openat { @[str(args->filename + 200)] = count(); }",
  );
  assert.match(
    str.error ?? "",
    /^Cannot replay probe "tracepoint:syscalls:sys_enter_openat": it reads 64 bytes at 0x7ffc000010c8 \(probe_read_user_str\), which/,
  );
});

Deno.test("a probe the recording has no events for is refused", async () => {
  await assert.rejects(
    () => replay("tracepoint:syscalls:sys_exit_openat { @ = count(); }"),
    /Cannot replay probe "tracepoint:syscalls:sys_exit_openat": the recording holds no events for it \(it recorded tracepoint:syscalls:sys_enter_openat\)/,
  );
});

Deno.test("outputs replay in the order they reached the live ring, not the order runs ended", async () => {
  const program = compile(
    'tracepoint:syscalls:sys_enter_openat { printf("%d\\n", pid); }',
  );
  // Run 1 ended (its record arrived) first, but run 2 printed first.
  const out = (pid: number, entry: number, printed: number) =>
    event({
      pid,
      timeNs: entry,
      ctx: new Uint8Array(program.probes[0].ctx.size),
      calls: [{ helper: 131, capture: false, r0: BigInt(printed), addr: 0n }],
    });
  const path = Deno.makeTempFileSync({ suffix: ".tsrec" });
  try {
    Deno.writeFileSync(
      path,
      recordingBytes(headerFor(program), [
        out(1, 1_000_000, 1_900_000),
        out(2, 1_100_000, 1_200_000),
        out(3, 9_000_000, 9_100_000),
      ]),
    );
    const r = await replayEngine(path, { realtime: false });
    let text = "";
    const session = new Session(program, r.engine, {
      format: "text",
      write: (t) => (text += t),
    });
    await session.start();
    await session.run({ durationMs: r.durationMs });
    await session.finish();
    assert.equal(text, "Attached 1 probe\n2\n1\n3\n\n\n");
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("outputs made within the same nanoseconds replay in ring order (the order the live reader consumed them)", async () => {
  const program = compile(
    'tracepoint:syscalls:sys_enter_openat { printf("%d\\n", pid); }',
  );
  // Reservations timed the other way round from their ring positions (two
  // CPUs, a few ns apart); the ring wrapped between pid 3 and pid 4.
  const size = 1 << 16;
  const out = (pid: number, entry: number, printed: number, pos: number) =>
    event({
      pid,
      timeNs: entry,
      ctx: new Uint8Array(program.probes[0].ctx.size),
      calls: [
        { helper: 131, capture: false, r0: BigInt(printed), addr: 0n },
        {
          helper: RING_POSITION,
          capture: false,
          r0: BigInt((0xffff0000 + pos) >>> 0),
          addr: 0n,
        },
      ],
    });
  const path = Deno.makeTempFileSync({ suffix: ".tsrec" });
  try {
    Deno.writeFileSync(
      path,
      recordingBytes({ ...headerFor(program), ringSize: size }, [
        out(1, 1_000_000, 1_000_009, size - 0x80),
        out(2, 1_000_001, 1_000_003, size - 0x100),
        out(3, 1_000_002, 1_000_004, size - 0x20),
        out(4, 1_000_003, 1_000_005, size + 0x40),
        out(5, 9_000_000, 9_100_000, size + 0x300),
      ]),
    );
    const r = await replayEngine(path, { realtime: false });
    let text = "";
    const session = new Session(program, r.engine, {
      format: "text",
      write: (t) => (text += t),
    });
    await session.start();
    await session.run({ durationMs: r.durationMs });
    await session.finish();
    assert.equal(text, "Attached 1 probe\n2\n1\n3\n4\n5\n\n\n");
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("a replay's ticks read the maps where the recorded ticks did, at the recorded time", async () => {
  const { trace } = await import("../../runtime/api/trace.ts");
  const text = "tracepoint:syscalls:sys_enter_openat { @n = count(); }";
  const program = compile(text);
  const at = (ms: number) =>
    event({
      timeNs: 5_000_000_000 + ms * 1_000_000,
      ctx: new Uint8Array(program.probes[0].ctx.size),
    });
  // The live ticks read after the 3rd and the 4th run: the 3rd run (at
  // 1.05 s) came before the first tick's read, which lagged its tick.
  const wall = 1_700_000_000_000_000_000n;
  const path = Deno.makeTempFileSync({ suffix: ".tsrec" });
  try {
    Deno.writeFileSync(
      path,
      recordingBytes(
        headerFor(program),
        [at(0), at(990), at(1050), at(1900), at(2500)],
        {
          marks: new Map([[2, wall + 1_000_000_000n], [
            3,
            wall + 2_000_000_000n,
          ]]),
        },
      ),
    );
    await using s = await trace(text, { replay: path });
    const seen: [number, number][] = [];
    for await (const _ of s.every(1000)) {
      const n = s.map<[], number>("n").read();
      seen.push([s.wallClock().getTime(), [...n.values()][0] ?? 0]);
    }
    assert.deepEqual(seen, [[1_700_000_001_000, 3], [1_700_000_002_000, 4]]);
    assert.equal([...s.map<[], number>("n").read().values()][0], 5);
  } finally {
    Deno.removeSync(path);
  }
});
