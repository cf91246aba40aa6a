/**
 * The metrics exporter's HTTP side: serves a running program's maps at
 * `/metrics`, read from the live maps at scrape time, in the Prometheus
 * text format 0.0.4, or OpenMetrics 1.0 when the scraper's `Accept` header
 * asks for it. It only reads maps; it never touches the kernel otherwise.
 *
 * Imported lazily (by the CLI and `trace()` when metrics are asked for),
 * so that tracing without it loads none of this.
 *
 * @module
 */

import type { ProbeStats } from "../engines/engine.ts";
import type { MapData } from "../output/types.ts";
import type { Program } from "../program.ts";
import type { Session } from "../session.ts";
import {
  type ExpositionOptions,
  type MapInput,
  MetricsRenderer,
  OPENMETRICS_CONTENT_TYPE,
  type ProcessInfo,
  TEXT_CONTENT_TYPE,
} from "./exposition.ts";
import type { MetricsAddress } from "./options.ts";

/** What the exporter reads at scrape time. */
export interface MetricsSource {
  /** Which engine runs it. */
  engine: "kernel" | "interp";
  /**
   * True when its events are invented (the interpreter's synthetic world,
   * not a replay): every sample is labelled `synthetic="true"`. Absent:
   * true for the interpreter.
   */
  synthetic?: boolean;
  /** Every user-visible map, decoded, in `program.maps` order. */
  readMaps(): MapData[];
  /** Ring-buffer records lost so far. */
  lostEvents(): number;
  /** Per-probe statistics. */
  stats(): ProbeStats[];
  /**
   * Whether `stats()` is being collected: always on the interpreter; on
   * the kernel when the session asked for it or `kernel.bpf_stats_enabled`
   * is 1.
   */
  statsEnabled(): boolean;
  /**
   * Per map, updates that failed because the map was full, when the
   * engine counts them; exported as `tsbpf_map_update_failures_total`.
   */
  mapUpdateFailures?(): { map: string; count: number }[];
}

/** Options of {@linkcode serveMetrics}. */
export interface ServeMetricsOptions extends ExpositionOptions {
  /** The version `tsbpf_build_info` shows. */
  version: string;
}

/** A running exporter. */
export interface MetricsServer extends AsyncDisposable {
  /** The address it listens on, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  /** The bound port (useful with port 0). */
  readonly port: number;
  /**
   * Sets what scrapes read; until then `/metrics` answers 503 (the server
   * can listen before the program is loaded, so that a busy address fails
   * before anything attaches).
   */
  setSource(source: MetricsSource): void;
  /**
   * One scrape's body, as `/metrics` serves it.
   *
   * @throws {Error} before `setSource()`, or when the maps cannot be read.
   */
  scrape(openMetrics?: boolean): string;
  /** Stops listening; in-flight scrapes finish first. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Whether an `Accept` header prefers OpenMetrics to the text format:
 * `application/openmetrics-text` is listed with a quality above zero and
 * at least that of `text/plain`.
 *
 * @example Prometheus's own header
 * ```ts
 * import assert from "node:assert/strict";
 * import { wantsOpenMetrics } from "./server.ts";
 *
 * assert.equal(wantsOpenMetrics(
 *   "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*\/*;q=0.1",
 * ), true);
 * assert.equal(wantsOpenMetrics("text/plain"), false);
 * assert.equal(wantsOpenMetrics(null), false);
 * ```
 */
export function wantsOpenMetrics(accept: string | null): boolean {
  if (accept === null) return false;
  let om = 0, text = 0;
  for (const part of accept.split(",")) {
    const [type, ...params] = part.split(";").map((s) => s.trim());
    let q = 1;
    for (const p of params) {
      const m = /^q=([0-9.]+)$/.exec(p);
      if (m !== null) q = Number(m[1]);
    }
    const t = type.toLowerCase();
    if (t === "application/openmetrics-text") om = Math.max(om, q);
    else if (t === "text/plain") text = Math.max(text, q);
  }
  return om > 0 && om >= text;
}

function readStatsSysctl(): boolean {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/bpf_stats_enabled")
      .trim() === "1";
  } catch {
    return false;
  }
}

/**
 * Whether the kernel's BPF run-time statistics are on machine-wide
 * (`kernel.bpf_stats_enabled`).
 *
 * @example Usage
 * ```ts
 * import { kernelStatsEnabled } from "./server.ts";
 * console.assert(typeof kernelStatsEnabled() === "boolean");
 * ```
 */
export function kernelStatsEnabled(): boolean {
  return readStatsSysctl();
}

/**
 * What the exporters read of a running session: its maps, full maps, lost
 * events and run statistics. The CLI and `trace()` serve and push this one
 * source. `statsAsked`: the session turned the kernel's run-time
 * statistics on (the interpreter always counts).
 *
 * @example The source of a session on the interpreter
 * ```ts
 * import assert from "node:assert/strict";
 * import { sessionMetrics } from "./server.ts";
 * import { Session } from "../session.ts";
 * import { compile } from "../compiler/compile.ts";
 * import { InterpEngine } from "../engines/interp_engine.ts";
 *
 * const program = compile("BEGIN { @x = count(); }");
 * const session = new Session(program, new InterpEngine(), {
 *   quiet: true,
 *   attachLine: false,
 * });
 * await session.start();
 * const source = sessionMetrics(session);
 * assert.equal(source.readMaps()[0].name, "@x");
 * assert.ok(source.statsEnabled());
 * await session.finish({ printMaps: false });
 * ```
 */
export function sessionMetrics(
  session: Session,
  statsAsked = false,
): MetricsSource {
  const engine = session.engine;
  return {
    engine: engine.kind,
    synthetic: engine.synthetic ?? engine.kind === "interp",
    readMaps: () => session.readMaps(),
    mapUpdateFailures: () =>
      session.mapFull().map((m) => ({ map: m.name, count: m.lost })),
    lostEvents: () => engine.lostEvents(),
    stats: () => engine.stats(),
    statsEnabled: () =>
      engine.kind === "interp" || statsAsked || kernelStatsEnabled(),
  };
}

/**
 * Starts serving the maps of `program` at `http://HOST:PORT/metrics`,
 * read through `source` (given now or later with `setSource()`).
 *
 * @throws {RangeError} for bad options (prefix, label names that do not
 *   fit the program's maps); `Deno.errors.AddrInUse` and the like when the
 *   address cannot be bound, with the address in the message.
 * @example Serve an interpreter session on a free port
 * ```ts
 * import assert from "node:assert/strict";
 * import { trace } from "../api/trace.ts";
 * import { serveMetrics } from "./server.ts";
 *
 * await using s = await trace(
 *   "tracepoint:syscalls:sys_enter_getppid { @calls[comm] = count(); }",
 *   { backend: "interp", seed: 1 },
 * );
 * for await (const t of s.every(100)) if (t.index === 1) break;
 * await using server = serveMetrics({ hostname: "127.0.0.1", port: 0 }, s.program, {
 *   engine: "interp",
 *   readMaps: () => s.maps(),
 *   lostEvents: () => s.lostEvents(),
 *   stats: () => s.stats(),
 *   statsEnabled: () => true,
 * }, { version: "test" });
 * const body = await (await fetch(server.url)).text();
 * // The interpreter's events are synthetic: every sample says so.
 * assert.match(body, /^tsbpf_calls_total\{synthetic="true",comm="[^"]+"\} \d+$/m);
 * ```
 */
export function serveMetrics(
  address: MetricsAddress,
  program: Program,
  source: MetricsSource | undefined,
  options: ServeMetricsOptions,
): MetricsServer {
  const renderer = new MetricsRenderer(options);
  renderer.checkMaps(program.maps);
  const specs = program.maps.filter((m) => !m.internal && m.agg !== undefined);
  let startTimeSeconds = Date.now() / 1000;
  const scrape = (openMetrics = false): string => {
    if (source === undefined) throw new Error("The program is not running yet");
    const data = source.readMaps();
    const maps: MapInput[] = data.map((d, i) => ({ spec: specs[i], data: d }));
    const process: ProcessInfo = {
      version: options.version,
      engine: source.engine,
      synthetic: source.synthetic ?? source.engine === "interp",
      startTimeSeconds,
      lostEvents: source.lostEvents(),
    };
    if (source.statsEnabled()) process.probeStats = source.stats();
    const failures = source.mapUpdateFailures?.();
    if (failures !== undefined) process.mapUpdateFailures = failures;
    return renderer.render(maps, process, openMetrics);
  };
  const handler = (req: Request): Response => {
    const path = new URL(req.url).pathname;
    if (path !== "/metrics") {
      const body = path === "/"
        ? `tsbpf metrics exporter: see /metrics\n`
        : `Not found: ${path}; metrics are at /metrics\n`;
      return new Response(body, {
        status: path === "/" ? 200 : 404,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("Method not allowed\n", {
        status: 405,
        headers: { allow: "GET, HEAD" },
      });
    }
    const om = wantsOpenMetrics(req.headers.get("accept"));
    let body: string;
    try {
      body = scrape(om);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      return new Response(`Cannot read the maps: ${msg}\n`, {
        status: 503,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    return new Response(req.method === "HEAD" ? null : body, {
      headers: {
        "content-type": om ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE,
      },
    });
  };
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: address.hostname,
      port: address.port,
      onListen: () => {},
    }, handler);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const where = `${address.hostname}:${address.port}`;
    if (e instanceof Error) {
      e.message = `Cannot serve metrics on ${where}: ${msg}`;
      throw e;
    }
    throw new Error(`Cannot serve metrics on ${where}: ${msg}`);
  }
  const port = server.addr.port;
  const host = server.addr.hostname.includes(":")
    ? `[${server.addr.hostname}]`
    : server.addr.hostname;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= server.shutdown();
    return closed;
  };
  return {
    url: `http://${host}:${port}/metrics`,
    port,
    setSource(s: MetricsSource) {
      source = s;
      startTimeSeconds = Date.now() / 1000;
    },
    scrape,
    close,
    [Symbol.asyncDispose]: close,
  };
}
