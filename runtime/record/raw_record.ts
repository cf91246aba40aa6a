/**
 * Decodes the record the kernel tap (tap.ts) sends for each run into a
 * {@linkcode RecordedEvent}.
 *
 * @module
 */

import {
  ORDER_HELPERS,
  type RecordedCall,
  type RecordedEvent,
  RecordingError,
  RESULT_HELPERS,
  RING_POSITION,
} from "./format.ts";
import { Helper } from "../bpf/opcodes.ts";
import { CALL_HEADER, Off, RECORD_ID } from "./tap.ts";

/** Whether a ring buffer record is a recording record. */
export function isRecordRecord(rec: Uint8Array): boolean {
  if (rec.length < Off.CTX) return false;
  const v = new DataView(rec.buffer, rec.byteOffset, 8);
  return v.getBigUint64(0, true) === RECORD_ID;
}

/**
 * Decodes one tap record.
 *
 * @throws {RecordingError} for a malformed record.
 */
export function decodeRawRecord(rec: Uint8Array): RecordedEvent {
  const v = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  const len = Math.min(v.getUint32(Off.LEN, true), rec.length);
  const ctxLen = v.getUint32(Off.CTX_LEN, true);
  if (Off.CTX + ctxLen > len) {
    throw new RecordingError(`Malformed kernel record (${len} bytes)`);
  }
  const pidTgid = v.getBigUint64(Off.PID_TGID, true);
  const uidGid = v.getBigUint64(Off.UID_GID, true);
  const comm = rec.slice(Off.COMM, Off.COMM + 16);
  const calls: RecordedCall[] = [];
  // Captures sit between the context and the calls; each starts with a
  // helper id carrying bit 16.
  let at = Off.CTX + ctxLen;
  while (at + 16 <= len) {
    const raw = v.getUint32(at, true);
    const size = v.getUint32(at + 4, true);
    const helper = raw & 0xffff;
    const capture = (raw & 0x10000) !== 0;
    const r0 = v.getBigUint64(at + 8, true);
    if (!capture && helper === Helper.ringbuf_reserve && size === 8) {
      // The reservation's time, then its position in the ring.
      calls.push({ helper, capture, r0, addr: 0n });
      calls.push({
        helper: RING_POSITION,
        capture,
        r0: v.getBigUint64(at + 16, true) & 0xffffffffn,
        addr: 0n,
      });
      at += 24;
      continue;
    }
    if (!capture && (RESULT_HELPERS.has(helper) || ORDER_HELPERS.has(helper))) {
      calls.push({ helper, capture, r0, addr: 0n });
      at += 16;
      continue;
    }
    if (at + CALL_HEADER > len) break;
    const addr = v.getBigUint64(at + 16, true);
    const end = at + CALL_HEADER + size;
    if (end > len) break;
    calls.push({
      helper,
      capture,
      r0,
      addr,
      bytes: rec.slice(at + CALL_HEADER, end),
    });
    at = (end + 7) & ~7;
  }
  return {
    probe: v.getUint32(Off.PROBE, true),
    cpu: v.getUint32(Off.CPU, true),
    timeNs: Number(v.getBigUint64(Off.TIME, true)),
    pid: Number(pidTgid >> 32n),
    tid: Number(pidTgid & 0xffffffffn),
    uid: Number(uidGid & 0xffffffffn),
    gid: Number(uidGid >> 32n),
    cgroupId: v.getBigUint64(Off.CGROUP, true),
    comm,
    flags: v.getUint32(Off.FLAGS, true),
    ctx: rec.slice(Off.CTX, Off.CTX + ctxLen),
    calls,
  };
}
