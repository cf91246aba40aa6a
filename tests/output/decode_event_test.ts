/**
 * decodeEvent's per-format decoders (u32 format id, ASCII strings without
 * TextDecoder, cached readers) give exactly what a plain DataView +
 * TextDecoder reading of the record gives.
 */

import assert from "node:assert/strict";
import { decodeEvent } from "../../runtime/output/decode.ts";
import type { EventFormat, Program, TypeDesc } from "../../runtime/program.ts";
import type { Value } from "../../runtime/output/types.ts";

/** A seeded xorshift generator: the same records on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0) / 2 ** 32;
  };
}

/** The reference reading: DataView for integers, TextDecoder for strings. */
function reference(t: TypeDesc, rec: Uint8Array, at: number): Value {
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  if (t.kind === "int") {
    let v: bigint;
    if (t.size === 8) {
      v = t.signed ? dv.getBigInt64(at, true) : dv.getBigUint64(at, true);
    } else if (t.size === 4) {
      v = BigInt(t.signed ? dv.getInt32(at, true) : dv.getUint32(at, true));
    } else if (t.size === 2) {
      v = BigInt(t.signed ? dv.getInt16(at, true) : dv.getUint16(at, true));
    } else v = BigInt(t.signed ? dv.getInt8(at) : dv.getUint8(at));
    return v < 2n ** 53n && v > -(2n ** 53n) ? Number(v) : v;
  }
  if (t.kind === "string") {
    const end = Math.min(at + t.size, rec.length);
    let nul = rec.indexOf(0, at);
    if (nul < 0 || nul > end) nul = end;
    return new TextDecoder().decode(rec.subarray(at, nul));
  }
  throw new TypeError(t.kind);
}

const TYPES: TypeDesc[] = [
  { kind: "int", size: 1, signed: false },
  { kind: "int", size: 1, signed: true },
  { kind: "int", size: 2, signed: false },
  { kind: "int", size: 2, signed: true },
  { kind: "int", size: 4, signed: false },
  { kind: "int", size: 4, signed: true },
  { kind: "int", size: 8, signed: false },
  { kind: "int", size: 8, signed: true },
  { kind: "string", size: 16 },
  { kind: "string", size: 64 },
];

const enc = new TextEncoder();
const WORDS = [
  "systemd-journal",
  "/proc/self/status",
  "",
  "é",
  "日本語",
  "a\u0080b",
];

Deno.test("decodeEvent agrees with DataView + TextDecoder on random records", () => {
  const r = rng(7);
  for (let round = 0; round < 200; round++) {
    const n = 1 + Math.floor(r() * 5);
    const args: TypeDesc[] = [];
    const offsets: number[] = [];
    let off = 0;
    for (let i = 0; i < n; i++) {
      const t = TYPES[Math.floor(r() * TYPES.length)];
      off = Math.ceil(off / t.size) * t.size;
      args.push(t);
      offsets.push(off);
      off += t.size;
    }
    const fmt: EventFormat = {
      id: 0,
      action: { kind: "printf", format: "", args },
      layout: { offsets, size: off },
    };
    const prog: Program = { probes: [], maps: [], formats: [fmt] };
    const rec = new Uint8Array(8 + off);
    for (let i = 8; i < rec.length; i++) rec[i] = Math.floor(r() * 256);
    args.forEach((t, i) => {
      if (t.kind !== "string") return;
      const w = enc.encode(WORDS[Math.floor(r() * WORDS.length)]);
      const at = 8 + offsets[i];
      // Mostly terminated strings; sometimes a full, unterminated one.
      if (r() < 0.8) {
        rec.set(w.subarray(0, t.size - 1), at);
        rec[at + Math.min(w.length, t.size - 1)] = 0;
      }
    });
    const got = decodeEvent(prog, rec).args;
    const want = args.map((t, i) => reference(t, rec, 8 + offsets[i]));
    assert.deepEqual(got, want, `round ${round}`);
  }
});

Deno.test("decodeEvent: a format id beyond 32 bits is unknown, not truncated", () => {
  const prog: Program = {
    probes: [],
    maps: [],
    formats: [{
      id: 0,
      action: { kind: "exit" },
      layout: { offsets: [], size: 0 },
    }],
  };
  const rec = new Uint8Array(8);
  assert.deepEqual(decodeEvent(prog, rec).args, []);
  rec[4] = 1; // id 2^32: low 32 bits are 0, but it is not format 0
  assert.throws(
    () => decodeEvent(prog, rec),
    new RangeError("Unknown event format id 4294967296"),
  );
});

Deno.test("decodeEvent: a record too short for its integers is rejected", () => {
  const prog: Program = {
    probes: [],
    maps: [],
    formats: [{
      id: 0,
      action: {
        kind: "printf",
        format: "%d\n",
        args: [{ kind: "int", size: 8, signed: false }],
      },
      layout: { offsets: [0], size: 8 },
    }],
  };
  assert.throws(
    () => decodeEvent(prog, new Uint8Array(12)),
    new RangeError("Event record too short for format 0: 12 bytes, need 16"),
  );
});

Deno.test("decodeEvent: a replaced format gets a new decoder", () => {
  const prog: Program = {
    probes: [],
    maps: [],
    formats: [{
      id: 0,
      action: {
        kind: "printf",
        format: "%d\n",
        args: [{ kind: "int", size: 4, signed: true }],
      },
      layout: { offsets: [0], size: 4 },
    }],
  };
  const rec = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  assert.deepEqual(decodeEvent(prog, rec).args, [-1]);
  prog.formats[0] = {
    ...prog.formats[0],
    action: {
      kind: "printf",
      format: "%u\n",
      args: [{ kind: "int", size: 4, signed: false }],
    },
  };
  assert.deepEqual(decodeEvent(prog, rec).args, [0xffffffff]);
});
