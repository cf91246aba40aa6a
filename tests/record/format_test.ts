import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import {
  ByteReader,
  ByteWriter,
  crc32,
  decodeEvent,
  encodeEvent,
  RecordingError,
} from "../../runtime/record/format.ts";
import {
  memorySource,
  openRecording,
  readRecording,
} from "../../runtime/record/reader.ts";
import { event, headerFor, recordingBytes } from "./helpers.ts";

const program = compile(
  "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }",
);
const header = headerFor(program);

Deno.test("crc32 gives the IEEE check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

Deno.test("an event survives encoding, calls and reads included", () => {
  const e = event({
    timeNs: 5_000_000_123,
    cgroupId: 0x1_0000_0005n,
    ctx: new Uint8Array([1, 2, 3, 0, 0, 0]),
    calls: [
      { helper: 5, capture: false, r0: 0xffff_ffff_ffff_fff0n, addr: 0n },
      {
        helper: 114,
        capture: true,
        r0: 11n,
        addr: 0x7ffc_0000_1000n,
        bytes: new TextEncoder().encode("/etc/hosts\0\0\0\0\0"),
      },
    ],
  });
  const w = new ByteWriter();
  encodeEvent(w, e, 5_000_000_000);
  // Trailing zeros of ctx and bytes are not stored.
  assert.ok(w.length < 60, `${w.length} bytes`);
  const back = decodeEvent(new ByteReader(w.bytes()), 5_000_000_000);
  assert.deepEqual(back, e);
});

Deno.test("a recording round-trips through the writer and the reader", () => {
  const events = Array.from(
    { length: 5000 },
    (_, i) => event({ timeNs: 1e9 + i * 997, pid: i }),
  );
  const bytes = recordingBytes(header, events);
  const rec = readRecording(memorySource(bytes), "mem");
  assert.deepEqual(rec.header, header);
  assert.equal(rec.trailer?.events, 5000);
  assert.equal(rec.trailer?.firstNs, "1000000000");
  const back = [...rec.events()];
  assert.deepEqual(back.map((e) => e.pid), events.map((e) => e.pid));
  assert.deepEqual(back.map((e) => e.timeNs), events.map((e) => e.timeNs));
  // The fast stream gives the same events.
  const s = rec.stream();
  let n = 0;
  for (let e = s.next(); e !== undefined; e = s.next()) {
    assert.equal(e.timeNs, events[n++].timeNs);
  }
  assert.equal(n, 5000);
});

function damaged(at: (bytes: Uint8Array) => Uint8Array): string {
  const events = Array.from({ length: 300 }, (_, i) => event({ pid: i }));
  const bytes = at(recordingBytes(header, events, { blockEvery: 100 }));
  const path = Deno.makeTempFileSync({ suffix: ".tsrec" });
  Deno.writeFileSync(path, bytes);
  return path;
}

Deno.test("a truncated recording is rejected, or salvaged when asked", () => {
  const full = recordingBytes(
    header,
    Array.from({ length: 300 }, (_, i) => event({ pid: i })),
    { blockEvery: 100 },
  );
  for (const cut of [full.length - 1, Math.floor(full.length * 0.6), 30, 10]) {
    const path = damaged((b) => b.slice(0, cut));
    try {
      assert.throws(
        () => openRecording(path),
        (e: unknown) =>
          e instanceof RecordingError &&
          /is truncated/.test(e.message) && e.message.includes(path),
      );
      if (cut > 100) {
        using rec = openRecording(path, { salvage: true });
        assert.ok(rec.damage instanceof RecordingError);
        const pids = [...rec.events()].map((e) => e.pid);
        // Whole blocks before the cut replay, in order.
        assert.deepEqual(
          pids,
          Array.from({ length: pids.length }, (_, i) => i),
        );
        if (cut === Math.floor(full.length * 0.6)) {
          assert.equal(pids.length, 100);
        }
      }
    } finally {
      Deno.removeSync(path);
    }
  }
});

Deno.test("a corrupted block fails its CRC", () => {
  const path = damaged((b) => {
    const c = b.slice();
    c[Math.floor(c.length * 0.5)] ^= 0x40;
    return c;
  });
  try {
    assert.throws(
      () => openRecording(path),
      (e: unknown) =>
        e instanceof RecordingError && /CRC does not match/.test(e.message) &&
        /--salvage/.test(e.message),
    );
    const rec = openRecording(path, { salvage: true });
    assert.equal([...rec.events()].length, 100);
    rec.close();
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("a file that is not a recording, or of another version, is named so", () => {
  const path = Deno.makeTempFileSync();
  try {
    Deno.writeTextFileSync(path, "hello world, not a recording at all");
    assert.throws(() => openRecording(path), /is not a tsbpf recording/);
    const b = recordingBytes(header, [event()]);
    b[8] = 9;
    Deno.writeFileSync(path, b);
    assert.throws(() => openRecording(path), /has format version 9/);
    assert.throws(
      () => openRecording(path + ".missing"),
      /Cannot open recording/,
    );
  } finally {
    Deno.removeSync(path);
  }
});
