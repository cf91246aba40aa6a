/**
 * Assertions the parity table's rows share: find a map, read its shape,
 * sum its counts. Every helper throws an `AssertionError` with the
 * engine's name in it, so a failing row says which engine broke it.
 *
 * @module
 */

import assert from "node:assert/strict";
import type {
  HistBucket,
  Int,
  MapData,
  StackValue,
  Value,
} from "../../runtime/output/types.ts";
import type { RunResult } from "./run.ts";

/**
 * The decoded map `name` of a run; fails when it is absent.
 *
 * @example Find a map
 * ```ts
 * import { mapOf } from "./expect.ts";
 * const r = { engine: "interp", maps: [{ name: "@x", keyed: false, kind: "count", entries: [] }] };
 * console.assert(mapOf(r as never, "@x").kind === "count");
 * ```
 */
export function mapOf(r: RunResult, name: string): MapData {
  const m = r.maps.find((x) => x.name === name);
  assert.ok(
    m !== undefined,
    `${r.engine}: no map ${name} among ${r.maps.map((x) => x.name)}`,
  );
  return m;
}

/**
 * The value of the one entry of keyless map `name`.
 *
 * @example Read a keyless count
 * ```ts
 * import { only } from "./expect.ts";
 * const r = { engine: "interp", maps: [{ name: "@x", keyed: false, kind: "count", entries: [{ key: [], value: 3 }] }] };
 * console.assert(only(r as never, "@x") === 3);
 * ```
 */
export function only(r: RunResult, name: string): unknown {
  const m = mapOf(r, name);
  assert.equal(m.keyed, false, `${r.engine}: ${name} has keys`);
  assert.equal(m.entries.length, 1, `${r.engine}: ${name} entries`);
  return m.entries[0].value;
}

/**
 * The JS type of a decoded value, as the table compares them: `int`,
 * `string`, `tuple(...)`, `stack`, `buf`.
 *
 * @example Name value types
 * ```ts
 * import { typeOf } from "./expect.ts";
 * console.assert(typeOf([1, "a"]) === "tuple(int,string)");
 * ```
 */
export function typeOf(v: Value | unknown): string {
  if (typeof v === "number" || typeof v === "bigint") return "int";
  if (typeof v === "string") return "string";
  if (Array.isArray(v)) return `tuple(${v.map(typeOf).join(",")})`;
  if (typeof v === "object" && v !== null && "type" in v) {
    return String((v as { type: string }).type);
  }
  return typeof v;
}

/** A map's shape: what both engines must agree on whatever the events. */
export interface Shape {
  /** The MapData kind. */
  kind: MapData["kind"];
  /** Whether it has keys. */
  keyed: boolean;
  /** The distinct key type signatures, e.g. `["int,string"]`. */
  keys: string[];
  /** The distinct value types (`int`, `stats`, `buckets`, ...). */
  values: string[];
}

function valueType(m: MapData, v: unknown): string {
  switch (m.kind) {
    case "count":
    case "sum":
    case "min":
    case "max":
      return typeOf(v);
    case "avg":
    case "stats":
      return "stats";
    case "hist":
    case "lhist":
      return "buckets";
    default:
      return typeOf(v);
  }
}

/**
 * The shape of map `name`; fails when it is absent or empty.
 *
 * @example The shape of a two-key count
 * ```ts
 * import { shapeOf } from "./expect.ts";
 * const r = { engine: "interp", maps: [{ name: "@", keyed: true, kind: "count", entries: [{ key: [1, "a"], value: 3 }] }] };
 * console.assert(shapeOf(r as never, "@").keys[0] === "int,string");
 * ```
 */
export function shapeOf(r: RunResult, name: string): Shape {
  const m = mapOf(r, name);
  assert.ok(m.entries.length > 0, `${r.engine}: ${name} is empty`);
  const keys = new Set<string>();
  const values = new Set<string>();
  for (const e of m.entries as { key: Value[]; value: unknown }[]) {
    keys.add(e.key.map(typeOf).join(","));
    values.add(valueType(m, e.value));
  }
  return {
    kind: m.kind,
    keyed: m.keyed,
    keys: [...keys].sort(),
    values: [...values].sort(),
  };
}

/**
 * Asserts map `name` has exactly this shape.
 *
 * @example Check a shape
 * ```ts
 * import { assertShape } from "./expect.ts";
 * const r = { engine: "interp", maps: [{ name: "@", keyed: true, kind: "count", entries: [{ key: ["a"], value: 3 }] }] };
 * assertShape(r as never, "@", { kind: "count", keyed: true, keys: ["string"], values: ["int"] });
 * ```
 */
export function assertShape(r: RunResult, name: string, want: Shape): void {
  assert.deepEqual(shapeOf(r, name), want, `${r.engine}: shape of ${name}`);
}

/**
 * The sum of every integer value (count/sum maps) or every bucket count
 * (hist/lhist maps) of map `name`.
 *
 * @example Sum a count map
 * ```ts
 * import { total } from "./expect.ts";
 * const r = { engine: "interp", maps: [{ name: "@", keyed: true, kind: "count", entries: [{ key: [1], value: 3 }, { key: [2], value: 4 }] }] };
 * console.assert(total(r as never, "@") === 7);
 * ```
 */
export function total(r: RunResult, name: string): number {
  const m = mapOf(r, name);
  let n = 0;
  for (const e of m.entries as { value: unknown }[]) {
    if (m.kind === "hist" || m.kind === "lhist") {
      for (const b of e.value as HistBucket[]) n += Number(b.count);
    } else n += Number(e.value as Int);
  }
  return n;
}

/**
 * Entries of map `name` as `[key text, value]` pairs, keys joined by `|`.
 *
 * @example Flatten a map
 * ```ts
 * import { entries } from "./expect.ts";
 * const r = { engine: "interp", maps: [{ name: "@", keyed: true, kind: "count", entries: [{ key: [1, "a"], value: 3 }] }] };
 * console.assert(entries(r as never, "@")[0][0] === "1|a");
 * ```
 */
export function entries(r: RunResult, name: string): [string, unknown][] {
  const m = mapOf(r, name);
  return (m.entries as { key: Value[]; value: unknown }[]).map((e) => [
    e.key.map((k) => typeof k === "object" ? JSON.stringify(k) : String(k))
      .join("|"),
    e.value,
  ]);
}

/**
 * Asserts `v` is a resolved stack of the given side with at least one
 * named frame.
 *
 * @example Check a stack value
 * ```ts
 * import { assertStack } from "./expect.ts";
 * assertStack("interp", { type: "stack", kernel: true, frames: ["f+1"] }, true);
 * ```
 */
export function assertStack(engine: string, v: unknown, kernel: boolean): void {
  assert.equal(typeOf(v), "stack", `${engine}: not a stack: ${String(v)}`);
  const s = v as StackValue;
  assert.equal(s.kernel, kernel, `${engine}: stack side`);
  assert.ok(s.frames.length > 0, `${engine}: empty stack`);
  for (const f of s.frames) {
    assert.match(f, /^\S+$/, `${engine}: frame "${f}"`);
  }
}

/**
 * The output's lines, without the final empty one.
 *
 * @example Split output
 * ```ts
 * import { linesOf } from "./expect.ts";
 * console.assert(linesOf({ output: "a\nb\n" } as never).length === 2);
 * ```
 */
export function linesOf(r: RunResult): string[] {
  const l = r.output.split("\n");
  if (l.at(-1) === "") l.pop();
  return l;
}
