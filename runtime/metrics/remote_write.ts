/**
 * Pushes a running program's maps to a Prometheus remote-write 1.0
 * endpoint (`--remote-write URL`): every interval, the same series
 * `/metrics` serves are encoded as a protobuf `WriteRequest`, compressed
 * with snappy (block format) and POSTed. 5xx answers and network errors
 * are retried with exponential backoff within the interval; a 4xx answer
 * (the endpoint refuses the data) is not retried and is reported as one
 * line. A last push goes out when the session ends.
 *
 * Loaded only when remote write is asked for. Its two npm packages
 * (protobufjs' minimal writer, snappyjs) are in `codecs.ts`, imported through
 * a computed specifier: Deno's start-up module graph follows literal dynamic
 * imports and would fetch the packages on every run otherwise, also where the
 * npm registry is unreachable and remote write is not used.
 *
 * @module
 */

import type * as Codecs from "./codecs.ts";
import type { Program } from "../program.ts";
import { type ExpositionOptions, MetricsRenderer } from "./exposition.ts";
import type { MetricsSource } from "./server.ts";
import type { Series } from "./series.ts";

export type { Series } from "./series.ts";

// Not a literal: see the module doc.
const CODECS = "./codecs.ts";
let codecs: typeof Codecs | undefined;

/**
 * Loads the protobuf and snappy codecs (their npm packages are fetched on
 * first use).
 *
 * @example Encoding a request
 * ```ts
 * import { loadCodecs } from "./remote_write.ts";
 *
 * const { encodeWriteRequest } = await loadCodecs();
 * const bytes = encodeWriteRequest([{ labels: [["__name__", "up"]], value: 1 }], 1000);
 * console.assert(bytes[0] === 0x0a);
 * ```
 */
export async function loadCodecs(): Promise<typeof Codecs> {
  codecs ??= await import(CODECS) as typeof Codecs;
  return codecs;
}

const SAMPLE = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/;

function unescape(s: string): string {
  return s.replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
}

/**
 * Parses text in the exposition format 0.0.4, as
 * {@linkcode MetricsRenderer} writes it, into series.
 *
 * @throws {SyntaxError} for a line it cannot read.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseExposition } from "./remote_write.ts";
 *
 * const text = '# TYPE a counter\na_total{b="x\\"y",c="1"} 2\n';
 * assert.deepEqual(parseExposition(text), [
 *   { labels: [["__name__", "a_total"], ["b", 'x"y'], ["c", "1"]], value: 2 },
 * ]);
 * ```
 */
export function parseExposition(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (m === null) throw new SyntaxError(`Cannot read metrics line: ${line}`);
    const labels: [string, string][] = [["__name__", m[1]]];
    const body = m[2] ?? "";
    const re = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
    let at = 0;
    while (at < body.length) {
      re.lastIndex = at;
      const l = re.exec(body);
      if (l === null) {
        throw new SyntaxError(`Cannot read the labels of: ${line}`);
      }
      labels.push([l[1], unescape(l[2])]);
      at = re.lastIndex;
    }
    labels.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    const v = m[3] === "+Inf"
      ? Infinity
      : m[3] === "-Inf"
      ? -Infinity
      : Number(m[3]);
    out.push({ labels, value: v });
  }
  return out;
}

/** Options of {@linkcode startRemoteWrite}. */
export interface RemoteWriteOptions extends ExpositionOptions {
  /** The version `tsbpf_build_info` shows. */
  version: string;
  /** Seconds between pushes (default 15). */
  intervalSeconds?: number;
  /** Labels added to every series (default: `job="tsbpf"`, `instance`: the host name). */
  labels?: Record<string, string>;
  /** Where refusals and give-ups are reported (default: standard error). */
  report?: (line: string) => void;
}

/** A running remote-write loop. */
export interface RemoteWriter {
  /** The endpoint. */
  readonly url: string;
  /** Sets what pushes read; nothing is pushed before. */
  setSource(source: MetricsSource): void;
  /** Pushes once now; resolves to the HTTP status (0: network error). */
  push(): Promise<number>;
  /** Stops the loop after a last push. Safe to call twice. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * Starts pushing the maps of `program` to `url` every interval, once a
 * source is set.
 *
 * @throws {TypeError} for a URL that is not http(s).
 * @example Push to an endpoint that takes everything
 * ```ts ignore
 * import { startRemoteWrite } from "./remote_write.ts";
 * const w = startRemoteWrite("http://127.0.0.1:9090/api/v1/write", program, { version: "0.1.0" });
 * w.setSource(source);
 * await w.close();
 * ```
 */
export function startRemoteWrite(
  url: string,
  program: Program,
  options: RemoteWriteOptions,
): RemoteWriter {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`Invalid remote write URL "${url}"`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TypeError(
      `Invalid remote write URL "${url}": expected http:// or https://`,
    );
  }
  const renderer = new MetricsRenderer(options);
  renderer.checkMaps(program.maps);
  const specs = program.maps.filter((m) => !m.internal && m.agg !== undefined);
  const interval = (options.intervalSeconds ?? 15) * 1000;
  if (!(interval > 0)) {
    throw new RangeError(
      `Remote write interval must be positive, got ${options.intervalSeconds}`,
    );
  }
  const extra = Object.entries(
    options.labels ?? { job: "tsbpf", instance: Deno.hostname() },
  );
  const report = options.report ??
    ((line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n")));
  let source: MetricsSource | undefined;
  let startTimeSeconds = Date.now() / 1000;
  let lastProblem = "";
  const problem = (line: string) => {
    // One line per distinct problem, not one per interval.
    if (line !== lastProblem) report(line);
    lastProblem = line;
  };
  const loading = loadCodecs();
  const body = async (): Promise<Uint8Array<ArrayBuffer> | undefined> => {
    if (source === undefined) return undefined;
    const { compress, encodeWriteRequest } = await loading;
    const maps = source.readMaps().map((d, i) => ({ spec: specs[i], data: d }));
    const text = renderer.render(maps, {
      version: options.version,
      engine: source.engine,
      synthetic: source.synthetic ?? source.engine === "interp",
      startTimeSeconds,
      lostEvents: source.lostEvents(),
      ...(source.statsEnabled() ? { probeStats: source.stats() } : {}),
    }, false);
    const series = parseExposition(text);
    for (const s of series) {
      for (const [k, v] of extra) {
        if (!s.labels.some(([n]) => n === k)) s.labels.push([k, v]);
      }
      s.labels.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    }
    return new Uint8Array(compress(encodeWriteRequest(series, Date.now())));
  };
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inflight: Promise<number> | undefined;
  const send = async (
    payload: Uint8Array<ArrayBuffer>,
    budgetMs: number,
  ): Promise<number> => {
    const deadline = Date.now() + budgetMs;
    for (let attempt = 0;; attempt++) {
      let status = 0;
      let why = "";
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: {
            "content-encoding": "snappy",
            "content-type": "application/x-protobuf",
            "x-prometheus-remote-write-version": "0.1.0",
            "user-agent": `tsbpf/${options.version}`,
          },
          body: payload,
          signal: AbortSignal.timeout(Math.max(1000, interval)),
        });
        status = res.status;
        why = (await res.text()).split("\n")[0].trim().slice(0, 200);
      } catch (e) {
        why = e instanceof Error ? e.message.split("\n")[0] : String(e);
      }
      if (status >= 200 && status < 300) {
        lastProblem = "";
        return status;
      }
      if (status >= 400 && status < 500 && status !== 429) {
        problem(
          `tsbpf: remote write to ${url} refused: HTTP ${status}${
            why === "" ? "" : `: ${why}`
          }`,
        );
        return status;
      }
      const wait = Math.min(8000, 250 * 2 ** attempt);
      if (Date.now() + wait >= deadline) {
        problem(
          `tsbpf: remote write to ${url} failed after ${attempt + 1} ${
            attempt === 0 ? "try" : "tries"
          }: ${status === 0 ? why : `HTTP ${status}${why ? `: ${why}` : ""}`}`,
        );
        return status;
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  };
  const push = async (): Promise<number> => {
    if (inflight !== undefined) await inflight.catch(() => 0);
    let payload: Uint8Array<ArrayBuffer> | undefined;
    try {
      payload = await body();
    } catch (e) {
      problem(
        `tsbpf: remote write skipped: cannot read the maps: ${
          e instanceof Error ? e.message : String(e)
        }`,
      );
      return 0;
    }
    if (payload === undefined) return 0;
    // Retries fit in the interval; the last push, as the session ends,
    // tries for at most 5 seconds.
    inflight = send(payload, closed ? Math.min(interval, 5000) : interval);
    try {
      return await inflight;
    } finally {
      inflight = undefined;
    }
  };
  const tick = () => {
    if (closed) return;
    push().finally(() => {
      if (!closed) timer = setTimeout(tick, interval);
    });
  };
  return {
    url,
    setSource(s: MetricsSource) {
      source = s;
      startTimeSeconds = Date.now() / 1000;
      if (timer === undefined && !closed) timer = setTimeout(tick, interval);
    },
    push,
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      if (inflight !== undefined) await inflight.catch(() => 0);
      // The last numbers, as the session ends.
      if (source !== undefined) await push();
    },
  };
}
