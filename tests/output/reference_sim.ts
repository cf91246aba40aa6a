/**
 * Test helper: a tiny model of bpftrace's aggregations. From one list of
 * operations it produces both a bpftrace program (to run the real
 * bpftrace 0.17) and the raw per-CPU map entries our engines would hold
 * (to run through `decodeMap` and our formatters), so comparison tests
 * check decoding and formatting end to end against the reference.
 *
 * @module
 */

import type { RawMapEntry } from "../../runtime/engines/engine.ts";
import type { MapSpec, TypeDesc } from "../../runtime/program.ts";
import { decodeMap } from "../../runtime/output/decode.ts";
import type { MapData } from "../../runtime/output/types.ts";

/** A key or assigned value: an integer, a string or a tuple of them. */
export type Arg = number | bigint | string | Arg[];

/** One aggregation or assignment statement. */
export type Op =
  | {
    fn: "count" | "sum" | "min" | "max" | "avg" | "stats" | "hist";
    map: string;
    key?: Arg[];
    v?: number;
  }
  | {
    fn: "lhist";
    map: string;
    key?: Arg[];
    v: number;
    min: number;
    max: number;
    step: number;
  }
  | { fn: "assign"; map: string; key?: Arg[]; v: Arg };

const STR_SIZE = 64;
const CPUS = 2;

function argType(a: Arg): TypeDesc {
  if (typeof a === "number" || typeof a === "bigint") {
    return { kind: "int", size: 8, signed: true };
  }
  if (typeof a === "string") return { kind: "string", size: STR_SIZE };
  return tupleType(a);
}

function tupleType(items: Arg[]): TypeDesc {
  const fields = items.map(argType);
  const offsets: number[] = [];
  let off = 0;
  for (const f of fields) {
    offsets.push(off);
    off += f.size;
  }
  return { kind: "tuple", fields, offsets, size: off };
}

function keyType(key: Arg[] | undefined): TypeDesc {
  if (!key || key.length === 0) return { kind: "none", size: 0 };
  if (key.length === 1) return argType(key[0]);
  return tupleType(key);
}

function encode(a: Arg, t: TypeDesc, out: Uint8Array, at: number): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (t.kind === "int") dv.setBigInt64(at, BigInt(a as number | bigint), true);
  else if (t.kind === "string") {
    out.set(new TextEncoder().encode(a as string), at);
  } else if (t.kind === "tuple") {
    (a as Arg[]).forEach((x, i) =>
      encode(x, t.fields[i], out, at + t.offsets[i])
    );
  }
}

function encodeKey(key: Arg[] | undefined, t: TypeDesc, extra = 0): Uint8Array {
  const size = t.kind === "none" ? 8 : t.size;
  const out = new Uint8Array(size + extra);
  if (t.kind === "none") return out;
  if (key!.length === 1) encode(key![0], t, out, 0);
  else encode(key!, t, out, 0);
  return out;
}

function literal(a: Arg): string {
  if (typeof a === "number" || typeof a === "bigint") return String(a);
  if (typeof a === "string") return JSON.stringify(a);
  return "(" + a.map(literal).join(", ") + ")";
}

/** The bpftrace statement for one operation. */
export function statement(op: Op): string {
  const k = op.key && op.key.length
    ? `[${op.key.map(literal).join(", ")}]`
    : "";
  const lhs = `${op.map}${k}`;
  switch (op.fn) {
    case "count":
      return `${lhs} = count();`;
    case "assign":
      return `${lhs} = ${literal(op.v)};`;
    case "lhist":
      return `${lhs} = lhist(${op.v}, ${op.min}, ${op.max}, ${op.step});`;
    default:
      return `${lhs} = ${op.fn}(${op.v});`;
  }
}

/** Bucket index bpftrace's hist() uses for `v` (|v| < 2^32). */
export function histIndex(v: number): number {
  if (v < 0) return 0;
  if (v === 0) return 1;
  return Math.floor(Math.log2(v)) + 2;
}

/** Bucket index bpftrace's lhist() uses for `v`. */
export function lhistIndex(
  v: number,
  min: number,
  max: number,
  step: number,
): number {
  if (v < min) return 0;
  if (v >= max) return Math.trunc((max - min) / step) + 1;
  return Math.trunc((v - min) / step) + 1;
}

interface SimMap {
  spec: MapSpec;
  entries: Map<string, RawMapEntry>;
}

/** The simulated maps: per-CPU raw entries, as an engine would hold them. */
export class Sim {
  maps = new Map<string, SimMap>();
  #tick = 0;

  /** Applies one operation to the simulated per-CPU maps. */
  apply(op: Op): void {
    const kt = keyType(op.key);
    const bucketed = op.fn === "hist" || op.fn === "lhist";
    let m = this.maps.get(op.map);
    if (!m) {
      const valueType: TypeDesc = op.fn === "assign"
        ? argType(op.v)
        : { kind: "int", size: 8, signed: true };
      const agg: MapSpec["agg"] = op.fn === "assign"
        ? { kind: "value", type: valueType }
        : op.fn === "lhist"
        ? { kind: "lhist", min: op.min, max: op.max, step: op.step }
        : { kind: op.fn };
      const keySize = (kt.kind === "none" ? 8 : kt.size) + (bucketed ? 8 : 0);
      const valueSize = op.fn === "assign"
        ? valueType.size
        : ["avg", "stats", "min", "max"].includes(op.fn)
        ? 16
        : 8;
      m = {
        spec: {
          name: op.map,
          type: op.fn === "assign" ? 1 : 5,
          keySize,
          valueSize,
          maxEntries: 4096,
          key: kt,
          agg,
          internal: false,
        },
        entries: new Map(),
      };
      this.maps.set(op.map, m);
    }
    const key = encodeKey(op.key, kt, bucketed ? 8 : 0);
    const prefixLen = key.length - (bucketed ? 8 : 0);
    if (op.fn === "hist" || op.fn === "lhist") {
      const idx = op.fn === "lhist"
        ? lhistIndex(op.v, op.min, op.max, op.step)
        : histIndex(op.v!);
      new DataView(key.buffer).setBigUint64(prefixLen, BigInt(idx), true);
    }
    const id = Array.from(key).join(",");
    let e = m.entries.get(id);
    const perCpu = op.fn !== "assign";
    if (!e) {
      e = {
        key,
        values: Array.from(
          { length: perCpu ? CPUS : 1 },
          () => new Uint8Array(m!.spec.valueSize),
        ),
      };
      m.entries.set(id, e);
    }
    // Spread updates over the CPUs, as a real per-CPU map would see them.
    const cpu = perCpu ? this.#tick++ % CPUS : 0;
    const buf = e.values[cpu];
    const dv = new DataView(buf.buffer);
    const v = BigInt(
      op.fn === "count" ? 1 : typeof op.v === "number" ? op.v : 0,
    );
    switch (op.fn) {
      case "count":
      case "sum":
      case "hist":
      case "lhist": {
        const inc = op.fn === "sum" ? v : 1n;
        dv.setBigInt64(
          0,
          BigInt.asIntN(64, dv.getBigInt64(0, true) + inc),
          true,
        );
        break;
      }
      case "min":
      case "max": {
        const set = dv.getBigUint64(8, true) !== 0n;
        const cur = dv.getBigInt64(0, true);
        if (!set || (op.fn === "min" ? v < cur : v > cur)) {
          dv.setBigInt64(0, v, true);
          dv.setBigUint64(8, 1n, true);
        }
        break;
      }
      case "avg":
      case "stats":
        dv.setBigUint64(0, dv.getBigUint64(0, true) + 1n, true);
        dv.setBigInt64(8, dv.getBigInt64(8, true) + v, true);
        break;
      case "assign":
        buf.fill(0);
        encode(
          op.v,
          m.spec.agg!.kind === "value" ? m.spec.agg!.type : kt,
          buf,
          0,
        );
        break;
    }
  }

  /** Removes every entry of a map (`clear(@m)`). */
  clear(name: string): void {
    this.maps.get(name)?.entries.clear();
  }

  /** One map decoded by `decodeMap`. */
  decode(name: string): MapData {
    const m = this.maps.get(name)!;
    return decodeMap(m.spec, [...m.entries.values()]);
  }

  /** Every map decoded. */
  decodeAll(): MapData[] {
    return [...this.maps.keys()].map((n) => this.decode(n));
  }
}

/** Why real-bpftrace comparisons cannot run here, or `undefined`. */
export async function bpftraceUnavailable(): Promise<string | undefined> {
  if (Deno.uid() !== 0) return "not root";
  try {
    const out = await new Deno.Command("bpftrace", { args: ["--version"] })
      .output();
    const v = new TextDecoder().decode(out.stdout);
    if (!/v0\.17\./.test(v)) return `bpftrace is ${v.trim()}, not v0.17`;
  } catch {
    return "bpftrace is not installed";
  }
  return undefined;
}

/** Runs bpftrace on a program and returns its stdout. */
export async function runBpftrace(
  program: string,
  json = false,
): Promise<string> {
  const args = json ? ["-f", "json", "-e", program] : ["-e", program];
  const out = await new Deno.Command("bpftrace", {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `bpftrace failed: ${new TextDecoder().decode(out.stderr)}\n${stdout}`,
    );
  }
  return stdout;
}
