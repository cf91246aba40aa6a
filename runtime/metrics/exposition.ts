/**
 * A program's maps as Prometheus metrics: the text exposition format 0.0.4
 * and OpenMetrics 1.0, rendered from the same decoded map data
 * ({@linkcode MapData}) the text and JSON formatters print.
 *
 * Mapping (metric `PREFIX<map name>`, `tsbpf_` by default; the anonymous
 * map `@` is `PREFIXmap`):
 *
 * - `count()`: a counter, `tsbpf_<m>_total`.
 * - `sum()`: a counter (`_total`) when the summed expression is unsigned
 *   (it can only grow), else a gauge.
 * - `avg()`, `min()`, `max()` and integer values (`@m[k] = expr`): a gauge.
 *   Other values (strings, symbols, stacks, addresses): an info-style gauge
 *   of 1 with the value as the `value` label.
 * - `stats()`: a summary without quantiles (`tsbpf_<m>_count`,
 *   `tsbpf_<m>_sum`; in OpenMetrics a negative sum is left out) and a
 *   gauge `tsbpf_<m>_avg`.
 * - `hist()`, `lhist()`: a histogram with cumulative buckets whose `le` is
 *   each bpftrace bucket's largest value (`hist`: `[2^k, 2^(k+1))` is
 *   `le="2^(k+1)-1"`; the negative bucket is `le="-1"`), `+Inf`, exact
 *   `_count` and, when the program keeps bucket sums, exact `_sum`. Every
 *   series of a map shows the same buckets: the widest range any of them
 *   has reached since the exporter started.
 *
 * One label per key, named from the key expression (`MapSpec.keyNames`)
 * unless overridden. A map shows at most `maxSeries` label sets (keys);
 * beyond that the ones with the largest values are kept and the rest are
 * counted in `tsbpf_series_dropped_total{map="@m"}`.
 *
 * @module
 */

import type { ProbeStats } from "../engines/engine.ts";
import { histBucketRange, lhistBucketRange } from "../output/decode.ts";
import type {
  HistBucket,
  Int,
  MapData,
  MapEntry,
  Stats,
  Value,
} from "../output/types.ts";
import type { MapSpec } from "../program.ts";

/** Default series (label sets) per map. */
export const DEFAULT_MAX_SERIES = 10_000;

/** Default metric name prefix. */
export const DEFAULT_PREFIX = "tsbpf_";

/** Per-map settings: label names and help text. */
export interface MetricsMapOptions {
  /** One label name per key, replacing the derived ones. */
  labels?: string[];
  /** The HELP text (default: the map's name and aggregation). */
  help?: string;
}

/** Options of a {@linkcode MetricsRenderer}. */
export interface ExpositionOptions {
  /** Metric name prefix (default `tsbpf_`). */
  prefix?: string;
  /** Label sets shown per map (default 10,000). */
  maxSeries?: number;
  /** Per-map settings, by map name (`drops` or `@drops`). */
  maps?: Record<string, MetricsMapOptions>;
  /**
   * Labels put first on every sample, e.g. `{ program: "a.bt" }` when
   * several programs share one exposition.
   */
  constLabels?: Record<string, string>;
}

/** What the process metrics are made of, read at scrape time. */
export interface ProcessInfo {
  /** The tsbpf version, for `tsbpf_build_info`. */
  version: string;
  /** Which engine runs the program. */
  engine: "kernel" | "interp";
  /**
   * True when the events are invented (the interpreter's synthetic world;
   * not a replay of recorded ones): every sample then carries the label
   * {@linkcode SYNTHETIC_LABEL}, and the text format begins with
   * {@linkcode SYNTHETIC_COMMENT}.
   */
  synthetic?: boolean;
  /** Unix time in seconds when the session started. */
  startTimeSeconds: number;
  /** Ring-buffer records lost so far. */
  lostEvents: number;
  /** Per-probe run statistics, when they are being collected. */
  probeStats?: ProbeStats[];
  /**
   * Per map, updates that failed because the map was full, when the
   * engine counts them (the hook for map-full accounting).
   */
  mapUpdateFailures?: { map: string; count: number }[];
}

/** One map to render: its spec and its decoded data. */
export interface MapInput {
  spec: MapSpec;
  data: MapData;
}

/**
 * The label every sample of a session on synthetic events carries: it
 * survives a scrape and remote write, where comments do not.
 */
export const SYNTHETIC_LABEL = 'synthetic="true"';

/**
 * The first line of a text-format (0.0.4) exposition of synthetic events,
 * for whoever reads `/metrics` by eye (Prometheus's text parser and
 * `promtool check metrics` take it as a comment; OpenMetrics allows no
 * free comments, so it has the label only).
 */
export const SYNTHETIC_COMMENT =
  "# tsbpf: synthetic events from the interpreter, not the kernel\n";

/** Content type of the text format 0.0.4. */
export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** Content type of OpenMetrics 1.0. */
export const OPENMETRICS_CONTENT_TYPE =
  "application/openmetrics-text; version=1.0.0; charset=utf-8";

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const METRIC_NAME = /^[A-Za-z_:][A-Za-z0-9_:]*$/;

/**
 * Checks a metric name prefix.
 *
 * @throws {RangeError} when `prefix` cannot start a metric name.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkPrefix } from "./exposition.ts";
 * assert.equal(checkPrefix("bpf_"), "bpf_");
 * assert.throws(() => checkPrefix("1x"), /Invalid metric prefix/);
 * ```
 */
export function checkPrefix(prefix: string): string {
  if (prefix !== "" && !METRIC_NAME.test(prefix)) {
    throw new RangeError(
      `Invalid metric prefix "${prefix}": use letters, digits, "_" and ":", not starting with a digit`,
    );
  }
  return prefix;
}

/**
 * Checks label names given for a map.
 *
 * @throws {RangeError} for an invalid, reserved or repeated name.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLabelNames } from "./exposition.ts";
 * assert.deepEqual(checkLabelNames("drops", ["pid", "comm"]), ["pid", "comm"]);
 * assert.throws(() => checkLabelNames("drops", ["le"]), /reserved/);
 * ```
 */
export function checkLabelNames(map: string, labels: string[]): string[] {
  const seen = new Set<string>();
  for (const l of labels) {
    if (!LABEL_NAME.test(l) || l.startsWith("__")) {
      throw new RangeError(
        `Invalid label name "${l}" for map "${map}": use letters, digits and "_", not starting with a digit or "__"`,
      );
    }
    if (l === "le" || l === "quantile") {
      throw new RangeError(
        `Label name "${l}" for map "${map}" is reserved by histograms and summaries`,
      );
    }
    if (seen.has(l)) {
      throw new RangeError(`Label name "${l}" repeated for map "${map}"`);
    }
    seen.add(l);
  }
  return labels;
}

/**
 * Escapes a label value: backslash, double quote and newline, as both
 * formats require; lone surrogates (never produced by decoding, but
 * possible in values built by hand) become U+FFFD so the output is valid
 * UTF-8.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeLabelValue } from "./exposition.ts";
 * assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
 * ```
 */
export function escapeLabelValue(s: string): string {
  if (!/[\\"\n\uD800-\uDFFF]/.test(s)) return s;
  return s.toWellFormed().replace(
    /[\\"\n]/g,
    (c) => c === "\n" ? "\\n" : "\\" + c,
  );
}

function escapeHelp(s: string, openMetrics: boolean): string {
  const re = openMetrics ? /[\\"\n]/g : /[\\\n]/g;
  return s.toWellFormed().replace(re, (c) => c === "\n" ? "\\n" : "\\" + c);
}

/**
 * A key value as label text: integers in decimal, strings as they are,
 * stacks as folded frames (outermost first, `;`-separated, as flame graph
 * tools read them), buffers with `\xNN` for bytes that are not printable
 * ASCII, tuples as their elements joined by `,`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { labelText } from "./exposition.ts";
 * assert.equal(labelText(42), "42");
 * assert.equal(
 *   labelText({ type: "stack", kernel: true, frames: ["inner+1", "outer+2"] }),
 *   "outer+2;inner+1",
 * );
 * ```
 */
export function labelText(v: Value): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return v.map(labelText).join(",");
  if (typeof v === "boolean") return String(v);
  if (v.type === "stack") return [...v.frames].reverse().join(";");
  if (v.type === "record") {
    return v.fields.map(([, x]) => labelText(x)).join(",");
  }
  if (v.type === "array") return v.values.map(labelText).join(",");
  let s = "";
  for (const b of v.bytes) {
    s += b >= 0x20 && b < 0x7f && b !== 0x5c
      ? String.fromCharCode(b)
      : "\\x" + b.toString(16).padStart(2, "0");
  }
  return s;
}

function num(v: Int): string {
  return typeof v === "number" ? String(v) : v.toString();
}

function toBig(v: Int): bigint {
  return typeof v === "bigint" ? v : BigInt(v);
}

function addInt(a: Int, b: Int): Int {
  if (typeof a === "number" && typeof b === "number") {
    const s = a + b;
    if (Number.isSafeInteger(s)) return s;
  }
  return toBig(a) + toBig(b);
}

function minMax(a: Int, b: Int, min: boolean): Int {
  const x = toBig(a), y = toBig(b);
  return (min ? x <= y : x >= y) ? a : b;
}

function mergeStats(a: Stats, b: Stats): Stats {
  const count = addInt(a.count, b.count);
  const total = addInt(a.total, b.total);
  const c = toBig(count);
  const t = toBig(total);
  const average = c === 0n ? 0 : t / c;
  const avg = average >= -(2n ** 53n) && average <= 2n ** 53n
    ? Number(average)
    : average;
  return { count, total, average: avg };
}

function mergeBuckets(a: HistBucket[], b: HistBucket[]): HistBucket[] {
  const by = new Map<number, HistBucket>();
  for (const x of [...a, ...b]) {
    const had = by.get(x.index);
    if (had === undefined) by.set(x.index, { ...x });
    else {
      had.count = addInt(had.count, x.count);
      if (x.sum !== undefined) had.sum = addInt(had.sum ?? 0, x.sum);
    }
  }
  return [...by.values()].sort((x, y) => x.index - y.index);
}

/** Merges the values of two keys that render as the same label set. */
function mergeValues(kind: MapData["kind"], a: unknown, b: unknown): unknown {
  switch (kind) {
    case "count":
    case "sum":
      return addInt(a as Int, b as Int);
    case "min":
    case "max":
      return minMax(a as Int, b as Int, kind === "min");
    case "avg":
    case "stats":
      return mergeStats(a as Stats, b as Stats);
    case "hist":
    case "lhist":
      return mergeBuckets(a as HistBucket[], b as HistBucket[]);
    case "value":
    case "tseries":
      return a;
  }
}

/** Sample names of the process metrics, after the prefix. */
const PROCESS_SAMPLES = [
  "build_info",
  "start_time_seconds",
  "events_lost_total",
  "map_series",
  "series_dropped_total",
  "map_update_failures_total",
  "probe_runs_total",
  "probe_run_seconds_total",
];

/** How many key expressions a map has. */
function keyCount(spec: MapSpec): number {
  if (spec.keyNames !== undefined) return spec.keyNames.length;
  return spec.key.kind === "none" ? 0 : 1;
}

/** Compares by value for the series limit (largest kept). */
function magnitude(kind: MapData["kind"], value: unknown): number {
  switch (kind) {
    case "count":
    case "sum":
    case "min":
    case "max":
      return Number(value as Int);
    case "avg":
    case "stats":
      return Number((value as Stats).count);
    case "hist":
    case "lhist": {
      let n = 0;
      for (const b of value as HistBucket[]) n += Number(b.count);
      return n;
    }
    case "value": {
      const v = value as Value;
      return typeof v === "number" || typeof v === "bigint" ? Number(v) : 0;
    }
    case "tseries":
      return 0;
  }
}

/**
 * Renders maps and process metrics as Prometheus text or OpenMetrics.
 * Keeps, per map, the widest histogram bucket range seen (so a series'
 * buckets do not come and go between scrapes) and the count of series
 * dropped by the limit.
 *
 * @example A count map in the text format
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRenderer } from "./exposition.ts";
 *
 * const r = new MetricsRenderer();
 * const text = r.render([{
 *   spec: {
 *     name: "@calls", type: 5, keySize: 16, valueSize: 8, maxEntries: 4096,
 *     key: { kind: "string", size: 16 }, agg: { kind: "count" },
 *     internal: false, keyNames: ["comm"],
 *   },
 *   data: {
 *     name: "@calls", keyed: true, kind: "count",
 *     entries: [{ key: ["bash"], value: 3 }],
 *   },
 * }], undefined, false);
 * assert.match(text, /^tsbpf_calls_total\{comm="bash"\} 3$/m);
 * ```
 */
export class MetricsRenderer {
  readonly #prefix: string;
  readonly #maxSeries: number;
  readonly #maps: Map<string, MetricsMapOptions>;
  readonly #ranges = new Map<string, { lo: number; hi: number }>();
  readonly #dropped = new Map<string, number>();
  readonly #given: string;
  #const: string;

  /**
   * Creates a renderer.
   *
   * @throws {RangeError} for a bad prefix, limit or label names.
   */
  constructor(options: ExpositionOptions = {}) {
    this.#prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
    const max = options.maxSeries ?? DEFAULT_MAX_SERIES;
    if (!Number.isInteger(max) || max < 0) {
      throw new RangeError(
        `Series limit must be a non-negative integer, got ${max}`,
      );
    }
    this.#maxSeries = max;
    this.#given = Object.entries(options.constLabels ?? {})
      .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",");
    this.#const = this.#given;
    this.#maps = new Map();
    for (const [name, o] of Object.entries(options.maps ?? {})) {
      const full = name.startsWith("@") ? name : "@" + name;
      if (o.labels !== undefined) checkLabelNames(full, o.labels);
      this.#maps.set(full, o);
    }
  }

  /** The metric name of map `name` (`@calls` gives `tsbpf_calls`). */
  metricName(name: string): string {
    const bare = name.replace(/^@/, "");
    return this.#prefix + (bare === "" ? "map" : bare);
  }

  /**
   * Renders every map, then the process metrics (when `process` is given),
   * in OpenMetrics when `openMetrics`, else the text format 0.0.4.
   *
   * @throws {RangeError} when a map's label override has the wrong
   *   number of names for its keys.
   */
  render(
    maps: MapInput[],
    process: ProcessInfo | undefined,
    openMetrics: boolean,
  ): string {
    const out: string[] = [];
    const series: { map: string; n: number }[] = [];
    // Synthetic events: labelled on every sample, this render's only.
    const synthetic = process?.synthetic === true;
    this.#const = !synthetic
      ? this.#given
      : this.#given === ""
      ? SYNTHETIC_LABEL
      : `${this.#given},${SYNTHETIC_LABEL}`;
    if (synthetic && !openMetrics) out.push(SYNTHETIC_COMMENT);
    for (const m of maps) {
      const n = this.#renderMap(out, m, openMetrics);
      series.push({ map: m.spec.name, n });
    }
    if (process !== undefined) this.#process(out, process, series, openMetrics);
    if (openMetrics) out.push("# EOF\n");
    return out.join("");
  }

  #labelNames(spec: MapSpec, data: MapData): string[] {
    const given = this.#maps.get(spec.name)?.labels;
    if (given !== undefined) return given;
    if (spec.keyNames !== undefined) return spec.keyNames;
    const n = data.entries[0]?.key.length ?? 0;
    return Array.from({ length: n }, (_, i) => n === 1 ? "key" : `key${i}`);
  }

  /**
   * Checks the per-map settings against the program's maps: every named
   * map exists and is given one label name per key.
   *
   * @throws {RangeError} naming the map and what is wrong.
   */
  checkMaps(specs: MapSpec[]): void {
    // Two maps (or a map and tsbpf's own metrics) must not export the
    // same sample name: the exposition would be invalid.
    const owner = new Map<string, string>();
    for (const n of PROCESS_SAMPLES) owner.set(this.#prefix + n, "");
    for (const spec of specs) {
      if (spec.internal || spec.agg === undefined) continue;
      for (const sample of this.#sampleNames(spec)) {
        const had = owner.get(sample);
        if (had !== undefined) {
          throw new RangeError(
            had === ""
              ? `Map "${spec.name}" would export "${sample}", a name tsbpf uses for its own metrics: rename the map or change the prefix`
              : `Maps "${had}" and "${spec.name}" would both export "${sample}": rename one`,
          );
        }
        owner.set(sample, spec.name);
      }
    }
    for (const [name, o] of this.#maps) {
      const spec = specs.find((m) => m.name === name && !m.internal && m.agg);
      if (spec === undefined) {
        const known = specs.filter((m) => !m.internal && m.agg)
          .map((m) => `"${m.name}"`).join(", ");
        throw new RangeError(
          `Metrics settings name map "${name}", but the program has ${
            known || "no maps"
          }`,
        );
      }
      const nkeys = keyCount(spec);
      if (o.labels !== undefined && o.labels.length !== nkeys) {
        throw new RangeError(
          `Map "${name}" has ${nkeys} ${
            nkeys === 1 ? "key" : "keys"
          }, but ${o.labels.length} label ${
            o.labels.length === 1 ? "name was" : "names were"
          } given`,
        );
      }
    }
  }

  /** The sample names a map exports. */
  #sampleNames(spec: MapSpec): string[] {
    const base = this.metricName(spec.name);
    const agg = spec.agg!;
    switch (agg.kind) {
      case "count":
        return [base.replace(/_total$/, "") + "_total"];
      case "sum":
        return agg.signed === false
          ? [base.replace(/_total$/, "") + "_total"]
          : [base];
      case "stats":
        return [base + "_count", base + "_sum", base + "_avg"];
      case "hist":
      case "lhist":
        return [base + "_bucket", base + "_count", base + "_sum"];
      default:
        return [base];
    }
  }

  #help(
    out: string[],
    family: string,
    type: string,
    spec: MapSpec,
    what: string,
    openMetrics: boolean,
  ): void {
    const help = this.#maps.get(spec.name)?.help ??
      `${what} of map ${spec.name}`;
    out.push(
      `# HELP ${family} ${escapeHelp(help, openMetrics)}\n`,
      `# TYPE ${family} ${type}\n`,
    );
  }

  #renderMap(out: string[], m: MapInput, om: boolean): number {
    const { spec, data } = m;
    const names = this.#labelNames(spec, data);
    // Label text of a key: `a="x",b="y"`.
    const labelOf = (key: Value[]): string => {
      let s = "";
      for (let i = 0; i < key.length; i++) {
        if (i > 0) s += ",";
        s += `${names[i] ?? `key${i}`}="${
          escapeLabelValue(labelText(key[i]))
        }"`;
      }
      return s;
    };
    // Keys that render alike (stacks with the same frames, strings that
    // decoded alike) are one series: their values merge.
    const merged = new Map<string, MapEntry<unknown>>();
    for (const e of data.entries as MapEntry<unknown>[]) {
      const l = labelOf(e.key);
      const had = merged.get(l);
      merged.set(
        l,
        had === undefined
          ? e
          : { key: e.key, value: mergeValues(data.kind, had.value, e.value) },
      );
    }
    let rows = [...merged.entries()].map(([l, e]) => ({ l, value: e.value }));
    const total = rows.length;
    if (total > this.#maxSeries) {
      const kind = data.kind;
      rows = rows
        .map((r) => ({ r, m: magnitude(kind, r.value) }))
        .sort((x, y) => y.m - x.m)
        .slice(0, this.#maxSeries)
        .map((x) => x.r);
      this.#dropped.set(
        spec.name,
        (this.#dropped.get(spec.name) ?? 0) + total - rows.length,
      );
    }
    const base = this.metricName(spec.name);
    const c = this.#const;
    const line = (name: string, l: string, v: string, extra = "") => {
      let all = l === "" ? extra : extra === "" ? l : `${l},${extra}`;
      if (c !== "") all = all === "" ? c : `${c},${all}`;
      out.push(all === "" ? `${name} ${v}\n` : `${name}{${all}} ${v}\n`);
    };
    switch (data.kind) {
      case "count":
      case "sum": {
        const counter = data.kind === "count" ||
          (spec.agg?.kind === "sum" && spec.agg.signed === false);
        if (counter) {
          const family = base.endsWith("_total") ? base.slice(0, -6) : base;
          const what = data.kind === "count" ? "count()" : "sum()";
          this.#help(
            out,
            om ? family : family + "_total",
            "counter",
            spec,
            what,
            om,
          );
          for (const r of rows) {
            line(family + "_total", r.l, num(r.value as Int));
          }
        } else {
          this.#help(out, base, "gauge", spec, "sum()", om);
          for (const r of rows) line(base, r.l, num(r.value as Int));
        }
        break;
      }
      case "min":
      case "max":
        this.#help(out, base, "gauge", spec, `${data.kind}()`, om);
        for (const r of rows) line(base, r.l, num(r.value as Int));
        break;
      case "avg":
        this.#help(out, base, "gauge", spec, "avg()", om);
        for (const r of rows) line(base, r.l, num((r.value as Stats).average));
        break;
      case "stats": {
        this.#help(out, base, "summary", spec, "stats() count and total", om);
        for (const r of rows) {
          const v = r.value as Stats;
          line(base + "_count", r.l, num(v.count));
          // OpenMetrics: a summary's sum is a counter, never negative.
          if (!om || v.total >= 0) line(base + "_sum", r.l, num(v.total));
        }
        this.#help(out, base + "_avg", "gauge", spec, "stats() average", om);
        for (const r of rows) {
          line(base + "_avg", r.l, num((r.value as Stats).average));
        }
        break;
      }
      case "hist":
      case "lhist":
        this.#histogram(out, base, spec, data, rows, line, om);
        break;
      case "tseries":
        // Time series are printed, not exported.
        break;
      case "value": {
        this.#help(out, base, "gauge", spec, "value", om);
        let valueLabel = "value";
        while (names.includes(valueLabel)) valueLabel += "_";
        for (const r of rows) {
          const v = r.value as Value;
          if (typeof v === "number" || typeof v === "bigint") {
            line(base, r.l, num(v));
          } else {
            line(
              base,
              r.l,
              "1",
              `${valueLabel}="${escapeLabelValue(labelText(v))}"`,
            );
          }
        }
        break;
      }
    }
    return total;
  }

  #histogram(
    out: string[],
    base: string,
    spec: MapSpec,
    data: MapData & { kind: "hist" | "lhist" },
    rows: { l: string; value: unknown }[],
    line: (name: string, l: string, v: string, extra?: string) => void,
    om: boolean,
  ): void {
    const range = data.kind === "hist"
      ? histBucketRange
      : (i: number) => lhistBucketRange(i, data.min, data.max, data.step);
    // The top lhist bucket (at or above max) has no upper bound: +Inf.
    const top = data.kind === "hist"
      ? Infinity
      : Math.trunc((data.max - data.min) / data.step) + 1;
    let r = this.#ranges.get(spec.name);
    for (const row of rows) {
      for (const b of row.value as HistBucket[]) {
        if (b.count === 0 || b.index >= top) continue;
        if (r === undefined) r = { lo: b.index, hi: b.index };
        else {
          if (b.index < r.lo) r.lo = b.index;
          if (b.index > r.hi) r.hi = b.index;
        }
      }
    }
    if (r !== undefined) this.#ranges.set(spec.name, r);
    const les: string[] = [];
    if (r !== undefined) {
      for (let i = r.lo; i <= r.hi; i++) les.push(`le="${num(range(i).max!)}"`);
    }
    const sums = (spec.agg as { sum?: boolean } | undefined)?.sum === true;
    // OpenMetrics: a histogram with negative thresholds has no sum.
    const negative = les.length > 0 && les[0].startsWith('le="-');
    const withSum = sums && !(om && negative);
    const what = data.kind === "hist" ? "hist()" : "lhist()";
    this.#help(out, base, "histogram", spec, what, om);
    const bucket = base + "_bucket";
    for (const row of rows) {
      const buckets = row.value as HistBucket[];
      let total: Int = 0;
      let sum: Int = 0;
      for (const b of buckets) {
        total = addInt(total, b.count);
        if (b.sum !== undefined) sum = addInt(sum, b.sum);
      }
      if (r !== undefined) {
        // Buckets come sorted by index; those below the range are empty.
        let cum: Int = 0;
        let k = 0;
        for (let i = r.lo, j = 0; i <= r.hi; i++, j++) {
          while (k < buckets.length && buckets[k].index <= i) {
            cum = addInt(cum, buckets[k].count);
            k++;
          }
          line(bucket, row.l, num(cum), les[j]);
        }
      }
      line(bucket, row.l, num(total), 'le="+Inf"');
      line(base + "_count", row.l, num(total));
      if (withSum) line(base + "_sum", row.l, num(sum));
    }
  }

  #process(
    out: string[],
    p: ProcessInfo,
    series: { map: string; n: number }[],
    om: boolean,
  ): void {
    const P = this.#prefix;
    const c = this.#const;
    // Own labels: `{a="b"}` with the constant labels first.
    const own = (l: string) =>
      l === "" ? (c === "" ? "" : `{${c}}`) : `{${c === "" ? l : `${c},${l}`}}`;
    const counter = (name: string, help: string) => {
      out.push(
        `# HELP ${om ? name : name + "_total"} ${help}\n`,
        `# TYPE ${om ? name : name + "_total"} counter\n`,
      );
    };
    const gauge = (name: string, help: string) => {
      out.push(`# HELP ${name} ${help}\n`, `# TYPE ${name} gauge\n`);
    };
    const mapLabel = (m: string) => `map="${escapeLabelValue(m)}"`;
    gauge(
      `${P}build_info`,
      "The tsbpf version and the engine running the program.",
    );
    out.push(
      `${P}build_info${
        own(`version="${escapeLabelValue(p.version)}",engine="${p.engine}"`)
      } 1\n`,
    );
    gauge(`${P}start_time_seconds`, "Unix time the tracing session started.");
    out.push(`${P}start_time_seconds${own("")} ${p.startTimeSeconds}\n`);
    counter(`${P}events_lost`, "Events lost because the ring buffer was full.");
    out.push(`${P}events_lost_total${own("")} ${p.lostEvents}\n`);
    gauge(`${P}map_series`, "Label sets (keys) each map holds now.");
    for (const s of series) {
      out.push(`${P}map_series${own(mapLabel(s.map))} ${s.n}\n`);
    }
    counter(
      `${P}series_dropped`,
      "Series left out of scrapes by the per-map series limit, summed over scrapes.",
    );
    for (const s of series) {
      out.push(
        `${P}series_dropped_total${own(mapLabel(s.map))} ${
          this.#dropped.get(s.map) ?? 0
        }\n`,
      );
    }
    if (p.mapUpdateFailures !== undefined) {
      counter(
        `${P}map_update_failures`,
        "Map updates that failed because the map was full.",
      );
      for (const f of p.mapUpdateFailures) {
        out.push(
          `${P}map_update_failures_total${own(mapLabel(f.map))} ${f.count}\n`,
        );
      }
    }
    if (p.probeStats !== undefined) {
      counter(`${P}probe_runs`, "Times each probe's program ran.");
      for (const s of p.probeStats) {
        out.push(
          `${P}probe_runs_total${
            own(`probe="${escapeLabelValue(s.name)}"`)
          } ${s.runCount}\n`,
        );
      }
      counter(
        `${P}probe_run_seconds`,
        "Time spent in each probe's program, in seconds.",
      );
      for (const s of p.probeStats) {
        out.push(
          `${P}probe_run_seconds_total${
            own(`probe="${escapeLabelValue(s.name)}"`)
          } ${s.runTimeNs / 1e9}\n`,
        );
      }
    }
  }
}
