/**
 * bpftrace 0.26's `-f json` output: one JSON object per line, with
 * bpftrace's exact spacing and key order, e.g.
 * `{"type": "map", "data": {"@x": {"a": 1}}}`. Where 0.26 changed 0.17's
 * shapes, 0.26 is followed: `hist` buckets are separated by `,` alone and
 * their bounds are exact 64-bit values (0.17 wrapped them from 2^31 up);
 * the maps printed at exit come without 0.17's two blank lines;
 * `attached_probes` and `lost_events` carry `"count"`; integers a double
 * cannot hold exactly are strings; booleans are `true`/`false`, a value
 * of no type `null`, records objects and tuples arrays.
 *
 * Strings are escaped as bpftrace escapes them: `"` `\` `\n` `\r` `\t`
 * with a backslash, other control bytes as `\u00XX`, and — reproducing
 * bpftrace's signed-`char` quirk (0.17 and 0.26 alike) — every byte of a
 * non-ASCII UTF-8 sequence as `\uffffffXX`.
 *
 * @module
 */

import { sortMapData } from "./decode.ts";
import {
  formatBuf,
  formatKeyText,
  formatValueText,
  isUnwrittenCount,
} from "./text.ts";
import { formatTseriesJson } from "./tseries.ts";
import type { HistBucket, Int, MapData, Stats, Value } from "./types.ts";

/**
 * A record value (bpftrace 0.26's `(a=1, b="x")`): its fields in order.
 * The JSON output writes it as an object.
 */
export interface JsonRecord {
  /** Discriminant. */
  type: "record";
  /** Field names and values, in declaration order. */
  fields: [string, JsonValue][];
}

/**
 * What the JSON output renders: every {@linkcode Value}, and the values of
 * bpftrace 0.26's newer types — booleans, `null` (a value of no type)
 * and records — nested in tuples and records as well.
 */
export type JsonValue = Value | boolean | null | JsonRecord | JsonValue[];
import type { PrintMapOptions } from "./text.ts";

const encoder = new TextEncoder();

/**
 * Escapes a string as bpftrace's JSON output does (without the quotes).
 *
 * @example Usage
 * ```ts
 * import { jsonEscape } from "./json.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(jsonEscape('a"b\n\x01'), 'a\\"b\\n\\u0001');
 * assert.equal(jsonEscape("é"), "\\uffffffc3\\uffffffa9");
 * ```
 */
export function jsonEscape(s: string): string {
  let out = "";
  // deno-lint-ignore no-control-regex
  const ascii = /^[\x00-\x7f]*$/.test(s);
  const units: ArrayLike<number> = ascii
    ? Array.from(s, (c) => c.charCodeAt(0))
    : encoder.encode(s);
  for (let i = 0; i < units.length; i++) {
    const c = units[i];
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c <= 0x1f) out += "\\u" + c.toString(16).padStart(4, "0");
    else if (c >= 0x80) out += "\\uffffff" + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out;
}

/**
 * An integer as bpftrace 0.26's JSON writes it: bare when a double holds
 * it exactly, otherwise quoted (JSON numbers are doubles, RFC 8259).
 *
 * @example Usage
 * ```ts
 * import { formatIntJson } from "./json.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatIntJson(-5), "-5");
 * assert.equal(formatIntJson(9007199254740993n), '"9007199254740993"');
 * ```
 */
export function formatIntJson(v: Int): string {
  if (typeof v === "number") return String(v);
  return BigInt(Number(v)) === v ? String(v) : `"${v}"`;
}

/**
 * A value as bpftrace's JSON output writes it: integers bare (quoted
 * beyond a double's precision), booleans, `null`, strings, symbols,
 * stacks and buffers quoted, tuples as arrays (no spaces), records as
 * objects (`", "` between fields).
 *
 * @example Usage
 * ```ts
 * import { formatValueJson } from "./json.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatValueJson([1, "two"]), '[1,"two"]');
 * assert.equal(formatValueJson([true, null]), "[true,null]");
 * assert.equal(
 *   formatValueJson({ type: "record", fields: [["a", 0], ["d", [5, 6]]] }),
 *   '{"a": 0, "d": [5,6]}',
 * );
 * ```
 */
export function formatValueJson(v: JsonValue): string {
  if (typeof v === "number" || typeof v === "bigint") return formatIntJson(v);
  if (typeof v === "boolean") return String(v);
  if (v === null) return "null";
  if (typeof v === "string") return '"' + jsonEscape(v) + '"';
  if (Array.isArray(v)) return "[" + v.map(formatValueJson).join(",") + "]";
  if (v.type === "record") {
    const fields = v.fields.map(([k, x]) =>
      `"${jsonEscape(k)}": ${formatValueJson(x)}`
    ).join(", ");
    // A C struct as bpftrace prints it: { "a": 1 }; a 0.26 record {"a": 1}.
    return "struct" in v && v.struct === true
      ? "{ " + fields + " }"
      : "{" + fields + "}";
  }
  if (v.type === "buf") return '"' + jsonEscape(formatBuf(v.bytes)) + '"';
  if (v.type === "array") {
    return "[" + v.values.map(formatValueJson).join(",") + "]";
  }
  return '"' + jsonEscape(formatValueText(v)) + '"';
}

function divInt(v: Int, div: number): string {
  return formatIntJson(divRaw(v, div));
}

function divRaw(v: Int, div: number): Int {
  if (div === 1) return v;
  if (typeof v === "number") return Math.trunc(v / div);
  return v / BigInt(div);
}

function histJson(buckets: HistBucket[], div: number): string {
  const parts = buckets.map((b) => {
    let s = "{";
    if (b.min !== undefined) s += `"min": ${formatIntJson(b.min)}, `;
    if (b.max !== undefined) s += `"max": ${formatIntJson(b.max)}, `;
    return s + `"count": ${divInt(b.count, div)}}`;
  });
  // bpftrace 0.26: buckets separated by "," alone.
  return "[" + parts.join(",") + "]";
}

function statsJson(kind: "avg" | "stats", s: Stats, div: number): string {
  if (kind === "avg") return divInt(s.average, div);
  return `{"count": ${formatIntJson(s.count)}, "average": ${
    formatIntJson(s.average)
  }, "total": ${formatIntJson(s.total)}}`;
}

function selectTop<T>(entries: T[], top: number): T[] {
  if (top > 0 && entries.length > top) {
    return entries.slice(entries.length - top);
  }
  return entries;
}

/**
 * Formats a map as one bpftrace JSON line (`"type"` is `map`, `hist` or
 * `stats`), honouring `print(@map, top, div)`. An empty map gives `""`, as
 * bpftrace prints nothing for it, except a keyless `count()`, which is 0.
 *
 * @example Usage
 * ```ts
 * import { formatMapJson } from "./json.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   formatMapJson({ name: "@c", keyed: true, kind: "count",
 *     entries: [{ key: ["a"], value: 1 }, { key: [1, "x"], value: 2 }] }),
 *   '{"type": "map", "data": {"@c": {"a": 1, "1,x": 2}}}\n',
 * );
 * ```
 */
export function formatMapJson(
  data: MapData,
  options: PrintMapOptions = {},
): string {
  if (isUnwrittenCount(data)) {
    return `{"type": "map", "data": {"${jsonEscape(data.name)}": 0}}\n`;
  }
  if (data.entries.length === 0) return "";
  const top = options.top ?? 0;
  const div = options.div || 1;
  const sorted = sortMapData(data);
  let type: string;
  let items: { key: Value[]; text: string }[];
  switch (sorted.kind) {
    case "count":
    case "sum":
    case "min":
    case "max":
      type = "map";
      items = selectTop(sorted.entries, top).map((e) => ({
        key: e.key,
        text: divInt(e.value, div),
      }));
      break;
    case "value":
      type = "map";
      items = selectTop(sorted.entries, top).map((e) => ({
        key: e.key,
        text: typeof e.value === "number" || typeof e.value === "bigint"
          ? divInt(e.value, div)
          : formatValueJson(e.value),
      }));
      break;
    case "avg":
    case "stats": {
      type = "stats";
      const kind = sorted.kind;
      const chosen = kind === "avg"
        ? selectTop(sorted.entries, top)
        : sorted.entries;
      items = chosen.map((e) => ({
        key: e.key,
        text: statsJson(kind, e.value, div),
      }));
      break;
    }
    case "hist":
    case "lhist": {
      type = "hist";
      const log2 = sorted.kind === "hist";
      items = selectTop(sorted.entries, top).map((e) => ({
        key: e.key,
        text: histJson(e.value, log2 ? div : 1),
      }));
      break;
    }
    case "tseries":
      type = "tseries";
      items = sorted.entries.map((e) => ({
        key: e.key,
        text: formatTseriesJson(e.value),
      }));
      break;
  }
  const body = items.map((it) =>
    data.keyed
      ? '"' + jsonEscape(jsonKeyText(it.key)) + '": ' + it.text
      : it.text
  ).join(", ");
  const value = data.keyed ? "{" + body + "}" : body;
  return `{"type": "${type}", "data": {"${
    jsonEscape(data.name)
  }": ${value}}}\n`;
}

/**
 * A map key as a JSON object's name. A tuple key (`@m[a, b]`, the same as
 * `@m[(a, b)]`) is written as bpftrace 0.26 writes it: its text without
 * the outer parentheses and without any space (`"(1,2),3"` for
 * `@m[(1, 2), 3]`).
 */
function jsonKeyText(key: Value[]): string {
  if (key.length === 1) return formatKeyText(key[0]);
  return key.map(formatKeyText).join(",").replaceAll(" ", "");
}

/**
 * The maps printed at the end of a run with `-f json`: one line per
 * non-empty map (and per keyless `count()`, empty or not) in name order.
 * bpftrace 0.26 writes nothing before them (0.17 wrote `"\n\n"`, as in
 * text).
 *
 * @example Usage
 * ```ts
 * import { formatExitMapsJson } from "./json.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   formatExitMapsJson([{ name: "@a", keyed: false, kind: "sum",
 *     entries: [{ key: [], value: -7 }] }]),
 *   '{"type": "map", "data": {"@a": -7}}\n',
 * );
 * ```
 */
export function formatExitMapsJson(maps: MapData[]): string {
  const ordered = [...maps].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  );
  return ordered.map((m) => formatMapJson(m)).join("");
}

/**
 * Message types bpftrace's JSON output uses for text payloads, and
 * tsbpf's `"system_not_run"`: the command a `system()` call on a synthetic
 * event would have run.
 */
export type JsonMessageType =
  | "printf"
  | "time"
  | "cat"
  | "join"
  | "syscall"
  | "system_not_run";

/**
 * A text message line: `printf()` output (`"printf"`), `time()`
 * (`"time"`), `cat()`, `join()`, `system()` (`"syscall"`).
 *
 * @example Usage
 * ```ts
 * import { formatMessageJson } from "./json.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatMessageJson("printf", "hi 5\n"),
 *   '{"type": "printf", "data": "hi 5\\n"}\n');
 * ```
 */
export function formatMessageJson(type: JsonMessageType, text: string): string {
  return `{"type": "${type}", "data": "${jsonEscape(text)}"}\n`;
}

/**
 * The line `print(value)` writes.
 *
 * @example Usage
 * ```ts
 * import { formatPrintValueJson } from "./json.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatPrintValueJson("x"), '{"type": "value", "data": "x"}\n');
 * ```
 */
export function formatPrintValueJson(v: Value): string {
  return `{"type": "value", "data": ${formatValueJson(v)}}\n`;
}

/**
 * The line written once probes are attached, as bpftrace 0.26 writes it
 * (with `"count"` beside `"data"`; 0.17 had only `"data"`). On synthetic
 * events (the interpreter) it carries `"synthetic": true`.
 *
 * @example Usage
 * ```ts
 * import { formatAttachedProbesJson } from "./json.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatAttachedProbesJson(2),
 *   '{"type": "attached_probes", "count": 2, "data": {"probes": 2}}\n');
 * assert.equal(formatAttachedProbesJson(1, true),
 *   '{"type": "attached_probes", "count": 1, "data": {"probes": 1, "synthetic": true}}\n');
 * ```
 */
export function formatAttachedProbesJson(
  n: number,
  synthetic = false,
): string {
  return `{"type": "attached_probes", "count": ${n}, "data": {"probes": ${n}${
    synthetic ? ', "synthetic": true' : ""
  }}}\n`;
}

/**
 * The line written when ring-buffer records were lost, as bpftrace 0.26
 * writes it (with `"count"`).
 *
 * @example Usage
 * ```ts
 * import { formatLostEventsJson } from "./json.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatLostEventsJson(3),
 *   '{"type": "lost_events", "count": 3, "data": {"events": 3}}\n');
 * ```
 */
export function formatLostEventsJson(n: number): string {
  return `{"type": "lost_events", "count": ${n}, "data": {"events": ${n}}}\n`;
}
