/**
 * bpftrace's text output, byte for byte: maps (`@x[k]: v`), stats,
 * histograms with their 52-wide bars, values, stacks and buffers (as 0.17
 * and 0.26 print them), and the `Attached N probes` / `Lost N events`
 * lines (0.26's wording; the CLI writes both on standard error).
 *
 * @module
 */

import { formatTseriesText } from "./tseries.ts";
import { sortMapData } from "./decode.ts";
import type {
  ArrayValue,
  HistBucket,
  Int,
  MapData,
  MapEntry,
  RecordValue,
  Stats,
  Value,
} from "./types.ts";

/** Options of `print(@map, top, div)`. */
export interface PrintMapOptions {
  /** Print only the `top` last (largest) entries; 0 or absent = all. */
  top?: number;
  /** Divide printed values by `div` (integer division); 0 or absent = 1. */
  div?: number;
}

/** Indentation of stack frames in map values and printf (bpftrace: 8). */
export const STACK_VALUE_INDENT = 8;
/** Indentation of stack frames inside map keys (bpftrace: 4). */
export const STACK_KEY_INDENT = 4;

/**
 * Formats bytes as bpftrace prints `buf()` values: printable ASCII as is,
 * every other byte as `\xNN` (lower-case hex).
 *
 * @example Escaping a buffer
 * ```ts
 * import { formatBuf } from "./text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatBuf(new Uint8Array([0x61, 0x01, 0x0a])), "a\\x01\\x0a");
 * ```
 */
export function formatBuf(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) {
    s += b >= 32 && b <= 126
      ? String.fromCharCode(b)
      : "\\x" + b.toString(16).padStart(2, "0");
  }
  return s;
}

/**
 * Formats stack frames as bpftrace does: a leading newline, then one
 * indented frame per line. In perf mode (`kstack(perf)`) every line is a
 * tab, the address in hexadecimal, a space and the frame, whatever the
 * indentation; frames without a known address print after the tab alone.
 * In raw mode the frames (addresses) print without indentation.
 * An empty stack prints as nothing (bpftrace's `@e[]: 3`).
 *
 * @example A kernel stack as a map value, in bpftrace and perf mode
 * ```ts
 * import { formatStack } from "./text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatStack(["a+1", "b+2"], 8), "\n        a+1\n        b+2\n");
 * assert.equal(formatStack([], 8), "");
 * assert.equal(
 *   formatStack(["a+1"], 8, { mode: "perf", addresses: [0xffffffff81000001n] }),
 *   "\n\tffffffff81000001 a+1\n",
 * );
 * ```
 */
export function formatStack(
  frames: string[],
  indent: number,
  perf?: { mode?: "perf" | "raw"; addresses?: bigint[] },
): string {
  // bpftrace prints nothing at all for an empty stack (a failed
  // get_stackid), not a lone newline: `@e[]: 3`.
  if (frames.length === 0) return "";
  let s = "\n";
  if (perf?.mode === "perf") {
    frames.forEach((f, i) => {
      const a = perf.addresses?.[i];
      s += a === undefined ? `\t${f}\n` : `\t${a.toString(16)} ${f}\n`;
    });
    return s;
  }
  const pad = perf?.mode === "raw" ? "" : " ".repeat(indent);
  for (const f of frames) s += pad + f + "\n";
  return s;
}

/**
 * Formats one value as bpftrace's text output does: integers in decimal,
 * strings raw, tuples `(a, b)`, stacks on indented lines, buffers escaped.
 *
 * @example Tuples
 * ```ts
 * import { formatValueText } from "./text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatValueText([1, "a", [2, "b"]]), "(1, a, (2, b))");
 * ```
 */
export function formatValueText(
  v: Value,
  stackIndent: number = STACK_VALUE_INDENT,
): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) {
    return "(" + v.map((x) => formatValueText(x, stackIndent)).join(", ") +
      ")";
  }
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v.type === "stack") return formatStack(v.frames, stackIndent, v);
  if (v.type === "record" || v.type === "array") {
    return formatRecord(v, true);
  }
  return formatBuf(v.bytes);
}

/**
 * A record or array as bpftrace prints it: `{ .a = 1, .b = [0,1] }` as a
 * value, a struct `{.a=1,.b=[0,1]}` in a map key.
 */
function formatRecord(v: RecordValue | ArrayValue, spaced: boolean): string {
  const one = (x: Value): string =>
    typeof x === "object" && !Array.isArray(x) &&
      (x.type === "record" || x.type === "array")
      ? formatRecord(x, spaced)
      : formatValueText(x);
  if (v.type === "array") return "[" + v.values.map(one).join(",") + "]";
  const parts = v.fields.map(([name, x]) =>
    spaced ? `.${name} = ${one(x)}` : `.${name}=${one(x)}`
  );
  return spaced ? `{ ${parts.join(", ")} }` : `{${parts.join(",")}}`;
}

/** Integer division truncating toward zero (C semantics), keeping `Int`. */
function divInt(v: Int, div: number): Int {
  if (div === 1) return v;
  if (typeof v === "number") return Math.trunc(v / div);
  return v / BigInt(div);
}

/**
 * The `@name[k1, k2]` prefix of a map line.
 *
 * @example Map key text
 * ```ts
 * import { formatMapKey } from "./text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatMapKey("@x", [1, "bash"], true), "@x[1, bash]");
 * assert.equal(formatMapKey("@x", [], false), "@x");
 * ```
 */
export function formatMapKey(
  name: string,
  key: Value[],
  keyed: boolean,
): string {
  if (!keyed) return name;
  return name + "[" + key.map(formatKeyText).join(", ") + "]";
}

/**
 * One map key as bpftrace prints it in `@m[...]`: stacks indented by 4,
 * structs without spaces (`{.a=1,.b=[0,1]}`).
 *
 * @example A struct key
 * ```ts
 * import { formatKeyText } from "./text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   formatKeyText({ type: "record", fields: [["val", 0]], struct: true }),
 *   "{.val=0}",
 * );
 * ```
 */
export function formatKeyText(k: Value): string {
  return typeof k === "object" && !Array.isArray(k) &&
      k.type === "record" && k.struct === true
    ? formatRecord(k, false)
    : formatValueText(k, STACK_KEY_INDENT);
}

function histPowerLabel(power: number): string {
  let suffix = "";
  if (power >= 40) {
    suffix = "T";
    power -= 40;
  } else if (power >= 30) {
    suffix = "G";
    power -= 30;
  } else if (power >= 20) {
    suffix = "M";
    power -= 20;
  } else if (power >= 10) {
    suffix = "K";
    power -= 10;
  }
  return String(2 ** power) + suffix;
}

function lhistNumberLabel(n: number): string {
  if (n === 0) return "0";
  if (n % 1048576 === 0) return `${n / 1048576}M`;
  if (n % 1024 === 0) return `${n / 1024}K`;
  return String(n);
}

/** Row label of `hist()` bucket `index`, e.g. `[4, 8)`, `[1K, 2K)`. */
export function histLabel(index: number): string {
  if (index === 0) return "(..., 0)";
  if (index === 1) return "[0]";
  if (index === 2) return "[1]";
  return `[${histPowerLabel(index - 2)}, ${histPowerLabel(index - 1)})`;
}

/**
 * Row label of bucket `index` of a `hist(n, k)`, as bpftrace 0.26 prints
 * it: `[5]` for a bucket of one value, `[16, 18)` or `[9K, 10K)` for a
 * range (bounds above 2^(k+1) in K, M, G… units when whole).
 *
 * @example Usage
 * ```ts
 * import { finerLabel } from "./text.ts";
 * console.assert(finerLabel(5, 3) === "[4]");
 * console.assert(finerLabel(17, 3) === "[16, 18)");
 * ```
 */
export function finerLabel(index: number, k: number): string {
  if (index === 0) return "(..., 0)";
  // Bounds up to 2^(k+1) are the plain numbers index - 1 and index.
  const bound = (i: number): { text: string; plain: boolean } => {
    if (i <= 2 << k) return { text: String(i), plain: true };
    const n = 1 << k;
    let power = (i >> k) - 1;
    const part = i & (n - 1);
    const decade = Math.floor(power / 10);
    power -= 10 * decade;
    const v = (1n << BigInt(power)) * BigInt(n + part);
    return {
      text: `${v}${["", "K", "M", "G", "T", "P", "E"][decade]}`,
      plain: false,
    };
  };
  const lo = bound(index - 1);
  const hi = bound(index);
  return lo.plain && hi.plain && index <= 2 << k
    ? `[${lo.text}]`
    : `[${lo.text}, ${hi.text})`;
}

/** Row label of `lhist(min, max, step)` bucket `index`, e.g. `[0, 10)`. */
export function lhistLabel(
  index: number,
  min: number,
  max: number,
  step: number,
): string {
  const buckets = Math.trunc((max - min) / step);
  if (index === 0) return `(..., ${lhistNumberLabel(min)})`;
  if (index === buckets + 1) return `[${lhistNumberLabel(max)}, ...)`;
  return `[${lhistNumberLabel((index - 1) * step + min)}, ${
    lhistNumberLabel(index * step + min)
  })`;
}

/** bpftrace keeps bucket counts in a C `int` when scaling bars. */
function asCInt(v: Int): number {
  if (typeof v === "number" && v <= 0x7fffffff) return v;
  return Number(BigInt.asIntN(32, BigInt(v)));
}

const BAR_WIDTH = 52;

/**
 * Histogram rows exactly as bpftrace prints them: a 16-wide left-aligned
 * label, an 8-wide right-aligned count (divided by `div` for `hist`), then
 * a 52-wide `|@@@…|` bar scaled to the largest bucket.
 */
export function formatHistRows(
  buckets: HistBucket[],
  label: (index: number) => string,
  div = 1,
): string {
  let first = -1, last = -1, maxValue = 0;
  buckets.forEach((b, i) => {
    const v = asCInt(b.count);
    if (v > 0) {
      if (first === -1) first = i;
      last = i;
    }
    if (v > maxValue) maxValue = v;
  });
  if (last === -1) return "";
  const fmax = Math.fround(maxValue);
  let out = "";
  for (let i = first; i <= last; i++) {
    const b = buckets[i];
    const ratio = Math.fround(Math.fround(Number(b.count)) / fmax);
    const width = Math.trunc(Math.fround(ratio * BAR_WIDTH));
    out += label(b.index).padEnd(16) +
      String(divInt(b.count, div)).padStart(8) + " |" +
      "@".repeat(width).padEnd(BAR_WIDTH) + "|\n";
  }
  return out;
}

function selectTop<T>(entries: T[], top: number): T[] {
  if (top > 0 && entries.length > top) {
    return entries.slice(entries.length - top);
  }
  return entries;
}

function noDelimiter(data: MapData): boolean {
  if (data.kind !== "value") return false;
  const k = data.type?.kind;
  if (k !== undefined) {
    return k === "kstack" || k === "ustack" || k === "ksym" ||
      k === "usym" || k === "inet";
  }
  const first = data.entries[0]?.value;
  return typeof first === "object" && first !== null &&
    !Array.isArray(first) && first.type === "stack";
}

/**
 * Whether `data` is a keyless `count()` map with no entry: bpftrace 0.17
 * prints it as `@name: 0` (text) and `{"@name": 0}` (JSON), where every
 * other empty map prints as a blank line (text) or nothing (JSON).
 *
 * @example A count nobody incremented
 * ```ts
 * import assert from "node:assert/strict";
 * import { isUnwrittenCount } from "./text.ts";
 *
 * assert.ok(isUnwrittenCount({ name: "@c", keyed: false, kind: "count", entries: [] }));
 * assert.ok(!isUnwrittenCount({ name: "@c", keyed: true, kind: "count", entries: [] }));
 * ```
 */
export function isUnwrittenCount(data: MapData): boolean {
  return data.kind === "count" && !data.keyed && data.entries.length === 0;
}

/**
 * Formats a map as bpftrace 0.17's `print(@map, top, div)` and the
 * end-of-run dump do, including the trailing blank line where bpftrace
 * prints one (after `hist`, `lhist`, `avg` and `stats` maps, none after
 * scalar maps). Entries are ordered as bpftrace orders them.
 *
 * @example A count map and a stats map
 * ```ts
 * import { formatMapText } from "./text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatMapText({ name: "@c", keyed: true, kind: "count",
 *   entries: [{ key: ["b"], value: 2 }, { key: ["a"], value: 1 }] }),
 *   "@c[a]: 1\n@c[b]: 2\n");
 * assert.equal(formatMapText({ name: "@s", keyed: false, kind: "stats",
 *   entries: [{ key: [], value: { count: 2, average: 5, total: 10 } }] }),
 *   "@s: count 2, average 5, total 10\n\n");
 * ```
 */
export function formatMapText(
  data: MapData,
  options: PrintMapOptions = {},
): string {
  const top = options.top ?? 0;
  const div = options.div || 1;
  const sorted = sortMapData(data);
  const head = (e: MapEntry<unknown>) =>
    formatMapKey(data.name, e.key, data.keyed) + ": ";
  switch (sorted.kind) {
    case "count":
    case "sum":
    case "min":
    case "max": {
      // bpftrace 0.17 prints a keyless count nobody incremented as 0; every
      // other empty map as its bare separator (a blank line).
      if (isUnwrittenCount(sorted)) return `${sorted.name}: 0\n`;
      const lines = selectTop(sorted.entries, top).map((e) =>
        head(e) + String(divInt(e.value, div))
      );
      return lines.join("\n") + "\n";
    }
    case "value": {
      const lines = selectTop(sorted.entries, top).map((e) =>
        head(e) +
        (typeof e.value === "number" || typeof e.value === "bigint"
          ? String(divInt(e.value, div))
          : formatValueText(e.value))
      );
      return lines.join(noDelimiter(sorted) ? "" : "\n") + "\n";
    }
    case "avg":
    case "stats": {
      // bpftrace 0.17 ignores top and div for stats() maps.
      const chosen = sorted.kind === "avg"
        ? selectTop(sorted.entries, top)
        : sorted.entries;
      const lines = chosen.map((e) => head(e) + statsText(sorted.kind, e, div));
      return lines.join("\n") + "\n\n";
    }
    case "hist": {
      const k = sorted.bits ?? 0;
      const label = k === 0 ? histLabel : (i: number) => finerLabel(i, k);
      const lines = selectTop(sorted.entries, top).map((e) =>
        head(e) + "\n" + formatHistRows(e.value, label, div)
      );
      return lines.join("\n") + "\n";
    }
    case "tseries":
      // 0.26: `@name:` or `@name[key]:`, the chart, a blank line.
      return sorted.entries.map((e) =>
        formatMapKey(data.name, e.key, data.keyed) + ":\n" +
        formatTseriesText(e.value) + "\n"
      ).join("");
    case "lhist": {
      const { min, max, step } = sorted;
      const label = (i: number) => lhistLabel(i, min, max, step);
      const lines = selectTop(sorted.entries, top).map((e) =>
        head(e) + "\n" + formatHistRows(e.value, label)
      );
      return lines.join("\n") + "\n";
    }
  }
}

function statsText(
  kind: "avg" | "stats",
  e: MapEntry<Stats>,
  div: number,
): string {
  const s = e.value;
  if (kind === "avg") return String(divInt(s.average, div));
  return `count ${s.count}, average ${s.average}, total ${s.total}`;
}

/**
 * Formats the maps bpftrace prints when a run ends: a blank two-line
 * preamble (`"\n\n"`), then every map in name order, empty ones too (see
 * {@linkcode formatMapText}).
 *
 * @example End-of-run output
 * ```ts
 * import { formatExitMapsText } from "./text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatExitMapsText([
 *   { name: "@b", keyed: false, kind: "count", entries: [{ key: [], value: 1 }] },
 *   { name: "@a", keyed: false, kind: "sum", entries: [{ key: [], value: 2 }] },
 * ]), "\n\n@a: 2\n@b: 1\n");
 * ```
 */
export function formatExitMapsText(maps: MapData[]): string {
  const ordered = [...maps].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  );
  return "\n\n" + ordered.map((m) => formatMapText(m)).join("");
}

/**
 * The text `print(value)` writes: the value and a newline.
 *
 * @example
 * ```ts
 * import { formatPrintValueText } from "./text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatPrintValueText([1, "a"]), "(1, a)\n");
 * ```
 */
export function formatPrintValueText(v: Value): string {
  return formatValueText(v) + "\n";
}

/** What the attach line adds when the events are synthetic. */
export const SYNTHETIC_LABEL =
  "(synthetic events from the interpreter, not the kernel)";

/**
 * The line bpftrace (0.24 and later) prints once probes are attached:
 * `Attached N probes` (bpftrace 0.17 printed `Attaching N probes...` on
 * standard output; the CLI writes this one on standard error). On
 * synthetic events (the interpreter) it says so, so that invented data
 * cannot pass for real data.
 *
 * @example The attach line
 * ```ts
 * import { formatAttachedProbesText } from "./text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatAttachedProbesText(1), "Attached 1 probe\n");
 * assert.equal(formatAttachedProbesText(3), "Attached 3 probes\n");
 * assert.equal(
 *   formatAttachedProbesText(1, true),
 *   "Attached 1 probe (synthetic events from the interpreter, not the kernel)\n",
 * );
 * ```
 */
export function formatAttachedProbesText(
  n: number,
  synthetic = false,
): string {
  return `Attached ${n} ${n === 1 ? "probe" : "probes"}${
    synthetic ? ` ${SYNTHETIC_LABEL}` : ""
  }\n`;
}

/**
 * The line bpftrace prints when ring-buffer records were lost.
 *
 * @example
 * ```ts
 * import { formatLostEventsText } from "./text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatLostEventsText(7), "Lost 7 events\n");
 * ```
 */
export function formatLostEventsText(n: number): string {
  return `Lost ${n} events\n`;
}
