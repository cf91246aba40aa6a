/**
 * Test harness: compile a script, verify every probe with our verifier,
 * run probes on the interpreter with synthetic contexts, and decode map
 * entries and ring buffer records.
 *
 * @module
 */

import {
  compile,
  type CompileOptions,
} from "../../runtime/compiler/compile.ts";
import type { FieldLayout, Program, TypeDesc } from "../../runtime/program.ts";
import type { RawMapEntry } from "../../runtime/engines/engine.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import { MapType } from "../../runtime/bpf/opcodes.ts";
import { verify } from "../../runtime/verifier/verifier.ts";
import { VmProgram } from "../../runtime/vm/interpreter.ts";
import {
  createMap,
  type RingBufMap,
  type VmMap,
} from "../../runtime/vm/maps.ts";
import {
  createEnvironment,
  type EnvironmentOptions,
  type VmEnvironment,
} from "../../runtime/vm/environment.ts";

/** A compiled, verified program loaded into the interpreter. */
export interface Loaded {
  prog: Program;
  maps: VmMap[];
  vms: VmProgram[];
  env: VmEnvironment;
}

/**
 * Compiles, verifies and loads a script; `adjust` may change the compiled
 * program first (e.g. shrink the ring buffer).
 */
export function load(
  src: string,
  opts: CompileOptions = {},
  env: EnvironmentOptions = {},
  adjust?: (prog: Program) => void,
): Loaded {
  const prog = compile(src, opts);
  adjust?.(prog);
  for (const p of prog.probes) {
    verify(p.insns, {
      maps: prog.maps,
      ctxSize: p.ctx.size,
      progType: p.progType,
    });
  }
  const maps = prog.maps.map((m) => createMap(m, env.numCpus ?? 1));
  const vms = prog.probes.map((p) => new VmProgram(p.insns, maps));
  return { prog, maps, vms, env: createEnvironment(env) };
}

/** Finds a probe by attach text (or kind for BEGIN/END). */
export function probeIndex(l: Loaded, text: string): number {
  const i = l.prog.probes.findIndex((p) =>
    p.attach.some((a) => a.text === text)
  );
  if (i < 0) throw new ReferenceError(`No probe "${text}"`);
  return i;
}

/** Runs one probe once. */
export function run(
  l: Loaded,
  text: string,
  ctx: Uint8Array = new Uint8Array(0),
  env: VmEnvironment = l.env,
): bigint {
  return l.vms[probeIndex(l, text)].run(ctx, env);
}

/** Lays out a tracepoint context from field values. */
export function tpCtx(
  l: Loaded,
  text: string,
  values: Record<string, bigint | number | string>,
): Uint8Array {
  const p = l.prog.probes[probeIndex(l, text)];
  const buf = new Uint8Array(p.ctx.size + 256);
  const dv = new DataView(buf.buffer);
  let tail = p.ctx.size;
  for (const [name, v] of Object.entries(values)) {
    const f = p.ctx.fields?.find((x: FieldLayout) => x.name === name);
    if (f === undefined) throw new ReferenceError(`No field "${name}"`);
    if (typeof v === "string") {
      const bytes = new TextEncoder().encode(v);
      if (f.dataLoc) {
        buf.set(bytes, tail);
        dv.setUint32(f.offset, ((bytes.length + 1) << 16) | tail, true);
        tail += bytes.length + 1;
      } else buf.set(bytes.subarray(0, f.size), f.offset);
      continue;
    }
    const n = BigInt(v);
    switch (f.size) {
      case 1:
        dv.setUint8(f.offset, Number(BigInt.asUintN(8, n)));
        break;
      case 2:
        dv.setUint16(f.offset, Number(BigInt.asUintN(16, n)), true);
        break;
      case 4:
        dv.setUint32(f.offset, Number(BigInt.asUintN(32, n)), true);
        break;
      default:
        dv.setBigUint64(f.offset, BigInt.asUintN(64, n), true);
    }
  }
  return buf.subarray(0, Math.max(p.ctx.size, tail));
}

/** Index of a map by name. */
export function mapIndex(l: Loaded, name: string): number {
  const i = l.prog.maps.findIndex((m) => m.name === name);
  if (i < 0) throw new ReferenceError(`No map "${name}"`);
  return i;
}

/** Decodes one value of a type at an offset. */
export function decode(
  bytes: Uint8Array,
  off: number,
  t: TypeDesc,
): unknown {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (t.kind) {
    case "int": {
      const u = t.size === 8
        ? dv.getBigUint64(off, true)
        : t.size === 4
        ? BigInt(dv.getUint32(off, true))
        : t.size === 2
        ? BigInt(dv.getUint16(off, true))
        : BigInt(dv.getUint8(off));
      return t.signed ? BigInt.asIntN(t.size * 8, u) : u;
    }
    case "string": {
      const s = bytes.subarray(off, off + t.size);
      const end = s.indexOf(0);
      return new TextDecoder().decode(end < 0 ? s : s.subarray(0, end));
    }
    case "tuple":
      return t.fields.map((f, i) => decode(bytes, off + t.offsets[i], f));
    case "none":
      return null;
    default:
      return dv.getBigUint64(off, true);
  }
}

/** u64 at an offset. */
export function u64(bytes: Uint8Array, off = 0): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(off, true);
}

/**
 * A map's entries as the interpreter holds them, except that a keyless
 * aggregation's per-CPU array (see `runtime/compiler/codegen.ts`) gives
 * only the slots some CPU wrote: the count (or bucket count) nonzero, or
 * for sum, min and max the flag after the value set.
 */
export function rawEntries(l: Loaded, i: number): RawMapEntry[] {
  const spec = l.prog.maps[i];
  const all = l.maps[i].entries();
  if (spec.internal || spec.type !== MapType.PERCPU_ARRAY) return all;
  const k = spec.agg?.kind;
  const at = k === "sum" || k === "min" || k === "max" ? 8 : 0;
  return all.filter((e) => e.values.some((v) => u64(v, at) !== 0n));
}

/**
 * Map entries decoded: key (per `MapSpec.key`, plus the bucket for hist
 * maps as the last element) and the value summed over CPUs (u64 slots;
 * a keyless sum's written flag left out).
 */
export function entries(
  l: Loaded,
  name: string,
): { key: unknown; bucket?: bigint; value: bigint[] }[] {
  const i = mapIndex(l, name);
  const spec = l.prog.maps[i];
  const hist = spec.agg?.kind === "hist" || spec.agg?.kind === "lhist";
  const array = spec.type === MapType.PERCPU_ARRAY;
  return rawEntries(l, i).map((e) => {
    const key = decode(e.key, 0, spec.key);
    const slots = spec.agg?.kind === "sum"
      ? 1
      : Math.max(1, Math.floor(spec.valueSize / 8));
    const value: bigint[] = [];
    for (let s = 0; s < slots; s++) {
      let sum = 0n;
      for (const v of e.values) {
        if (v.length >= (s + 1) * 8) sum += u64(v, s * 8);
      }
      value.push(sum);
    }
    const bucket = array
      ? BigInt(new DataView(e.key.buffer, e.key.byteOffset).getUint32(0, true))
      : u64(e.key, spec.keySize - 8);
    return hist ? { key, bucket, value } : { key, value };
  });
}

/** A plain (value) map entry's decoded value. */
export function valueOf(l: Loaded, name: string, key: unknown = null): unknown {
  const i = mapIndex(l, name);
  const spec = l.prog.maps[i];
  const t = spec.agg?.kind === "value" ? spec.agg.type : undefined;
  for (const e of rawEntries(l, i)) {
    const k = decode(e.key, 0, spec.key);
    if (JSON.stringify(k, big) === JSON.stringify(key, big)) {
      return t === undefined ? u64(e.values[0]) : decode(e.values[0], 0, t);
    }
  }
  return undefined;
}

function big(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? `${v}n` : v;
}

/** One decoded ring buffer record. */
export interface Event {
  id: number;
  kind: string;
  args: unknown[];
  format?: string;
}

/** Drains and decodes every event record. */
export function events(l: Loaded): Event[] {
  const out: Event[] = [];
  if (l.prog.eventsMap === undefined) return out;
  const rb = l.maps[l.prog.eventsMap] as RingBufMap;
  rb.drain((rec) => {
    const id = Number(u64(rec, 0));
    const f = l.prog.formats[id];
    const a = f.action;
    const types: TypeDesc[] = "args" in a
      ? a.args ?? []
      : a.kind === "print_value"
      ? [a.type]
      : [];
    out.push({
      id,
      kind: a.kind,
      format: "format" in a ? a.format : undefined,
      args: types.map((t, i) => decode(rec, 8 + f.layout.offsets[i], t)),
    });
  });
  return out;
}

/**
 * The messages (without locations) of the errors compiling `src` reports;
 * empty when it compiles. Any other exception propagates.
 */
export function compileErrors(
  src: string,
  opts: CompileOptions = {},
): string[] {
  try {
    compile(src, opts);
  } catch (e) {
    if (e instanceof CompileErrors) return e.errors.map((x) => x.message);
    throw e;
  }
  return [];
}

/**
 * The formatted diagnostics (`stdin:L:C: ERROR: …`, the line, the mark)
 * of a script that does not compile; throws when it compiles.
 */
export function failure(src: string, opts: CompileOptions = {}): string {
  try {
    compile(src, { tracefsAvailable: false, ...opts });
  } catch (e) {
    if (e instanceof CompileErrors) return e.format();
    throw e;
  }
  throw new Error(`compiled: ${src}`);
}

/** One error of a one-line script: location, message, line and mark. */
export function one(
  src: string,
  col: number,
  len: number,
  message: string,
): string {
  return `stdin:1:${col}: ERROR: ${message}\n${src}\n` +
    " ".repeat(col - 1) + "~".repeat(len);
}
