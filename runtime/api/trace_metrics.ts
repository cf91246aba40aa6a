/**
 * `trace()`'s metrics exporters: their settings, and starting the
 * `/metrics` server and the remote writer a session serves and pushes its
 * maps through.
 *
 * @module
 */

import type { MetricsServer } from "../metrics/server.ts";
import type { RemoteWriter } from "../metrics/remote_write.ts";
import type { Program } from "../program.ts";
import type { StagedProgram } from "../staging/stage.ts";
import { VERSION } from "../version.ts";

/** Remote-write settings of `trace()`'s `remoteWrite` option. */
export interface TraceRemoteWriteOptions
  extends Omit<TraceMetricsOptions, "listen"> {
  /** The endpoint. */
  url: string;
  /** Seconds between pushes (default 15). */
  intervalSeconds?: number;
  /**
   * Labels added to every series (default `job="tsbpf"` and `instance`:
   * the host name).
   */
  labels?: Record<string, string>;
}

/** Metrics export settings of `trace()`'s `metrics` option. */
export interface TraceMetricsOptions {
  /** `"[HOST:]PORT"` or a port (HOST defaults to 127.0.0.1). */
  listen: string | number;
  /** Metric name prefix (default `tsbpf_`). */
  prefix?: string;
  /** Label sets shown per map (default 10,000). */
  maxSeries?: number;
  /**
   * Per map (`"drops"` or `"@drops"`): label names, one per key, and
   * HELP text. These win over `t.map(name, { labels, help })`.
   */
  maps?: Record<string, { labels?: string[]; help?: string }>;
}

/** The exporters of a session. */
export interface Exporters {
  server?: MetricsServer;
  writer?: RemoteWriter;
}

/**
 * Starts the exporters `trace()` was asked for (their modules imported only
 * now): the `/metrics` server listens and the remote writer is set up
 * before anything loads, so that a bad setting or a busy address fails
 * before any probe attaches. Staged maps' labels and HELP texts apply,
 * overridden by `maps` of the options.
 *
 * @example No exporter asked for
 * ```ts
 * import assert from "node:assert/strict";
 * import { startExporters } from "./trace_metrics.ts";
 * import { compile } from "../compiler/compile.ts";
 * const exporters = await startExporters({}, compile("BEGIN { @x = 1; }"));
 * assert.deepEqual(exporters, {});
 * ```
 */
export async function startExporters(
  options: {
    metrics?: string | number | TraceMetricsOptions;
    remoteWrite?: string | TraceRemoteWriteOptions;
  },
  program: Program,
  staged?: StagedProgram,
): Promise<Exporters> {
  const out: Exporters = {};
  if (options.metrics === undefined && options.remoteWrite === undefined) {
    return out;
  }
  const settings = (o: Omit<TraceMetricsOptions, "listen">) => {
    const maps: Record<string, { labels?: string[]; help?: string }> = {
      ...staged?.maps,
    };
    for (const [name, m] of Object.entries(o.maps ?? {})) {
      const full = name.startsWith("@") ? name : "@" + name;
      maps[full] = { ...maps[full], ...m };
    }
    return {
      version: VERSION.replace(/^tsbpf /, ""),
      prefix: o.prefix,
      maxSeries: o.maxSeries,
      maps,
    };
  };
  try {
    if (options.metrics !== undefined) {
      const { serveMetrics } = await import("../metrics/server.ts");
      const { parseMetricsAddress } = await import("../metrics/options.ts");
      const m = options.metrics;
      const o: TraceMetricsOptions = typeof m === "object" ? m : { listen: m };
      out.server = serveMetrics(
        parseMetricsAddress(String(o.listen)),
        program,
        undefined,
        settings(o),
      );
    }
    if (options.remoteWrite !== undefined) {
      const { startRemoteWrite } = await import("../metrics/remote_write.ts");
      const r = options.remoteWrite;
      const o: TraceRemoteWriteOptions = typeof r === "object" ? r : { url: r };
      out.writer = startRemoteWrite(o.url, program, {
        ...settings(o),
        intervalSeconds: o.intervalSeconds,
        labels: o.labels,
      });
    }
  } catch (e) {
    await out.server?.close();
    throw e;
  }
  return out;
}
