/**
 * The metrics exporter's command-line values: the `[HOST:]PORT` address and
 * per-map label names (`--metrics-labels 'drops=pid,comm'`). Small and
 * dependency-free: the CLI validates them before anything runs, while the
 * HTTP server itself is imported only when `--metrics` is given.
 *
 * @module
 */

/** Where the exporter listens. */
export interface MetricsAddress {
  /** Host name or address (default `127.0.0.1`). */
  hostname: string;
  /** TCP port; 0 picks a free one. */
  port: number;
}

/** Default listening address: the loopback interface only. */
export const DEFAULT_METRICS_HOST = "127.0.0.1";

/**
 * Parses `[HOST:]PORT`: `9464`, `:9464` (both on 127.0.0.1),
 * `0.0.0.0:9464`, `[::1]:9464`, `localhost:9464`. Port 0 picks a free
 * port.
 *
 * @throws {RangeError} for a missing or out-of-range port or an empty host.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMetricsAddress } from "./options.ts";
 *
 * assert.deepEqual(parseMetricsAddress("9464"), { hostname: "127.0.0.1", port: 9464 });
 * assert.deepEqual(parseMetricsAddress("[::1]:0"), { hostname: "::1", port: 0 });
 * assert.throws(() => parseMetricsAddress("host:http"), /port/);
 * ```
 */
export function parseMetricsAddress(text: string): MetricsAddress {
  const t = text.trim();
  let host = "";
  let port = t;
  const bracket = /^\[([^\]]*)\]:(.*)$/.exec(t);
  if (bracket !== null) {
    host = bracket[1];
    port = bracket[2];
    if (host === "") {
      throw new RangeError(`Invalid metrics address "${text}": empty host`);
    }
  } else {
    const colon = t.lastIndexOf(":");
    if (colon >= 0) {
      host = t.slice(0, colon);
      port = t.slice(colon + 1);
      if (host.includes(":")) {
        throw new RangeError(
          `Invalid metrics address "${text}": write an IPv6 host in brackets, e.g. "[::1]:9464"`,
        );
      }
    }
  }
  const n = Number(port);
  if (!/^[0-9]+$/.test(port) || !Number.isInteger(n) || n > 65535) {
    throw new RangeError(
      `Invalid metrics address "${text}": expected [HOST:]PORT with a port from 0 to 65535`,
    );
  }
  return { hostname: host === "" ? DEFAULT_METRICS_HOST : host, port: n };
}

/**
 * Parses per-map label names: `MAP=NAME,NAME` entries separated by `;` or
 * spaces, e.g. `drops=pid,comm; lat=comm`. Map names may keep their `@`.
 *
 * @throws {RangeError} for an entry without `=` or without names.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMetricsLabels } from "./options.ts";
 *
 * assert.deepEqual(parseMetricsLabels("drops=pid,comm @lat=comm"), {
 *   "@drops": ["pid", "comm"],
 *   "@lat": ["comm"],
 * });
 * ```
 */
export function parseMetricsLabels(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const item of text.split(/[;\s]+/)) {
    if (item === "") continue;
    const eq = item.indexOf("=");
    const map = eq < 0 ? "" : item.slice(0, eq);
    const names = eq < 0 ? [] : item.slice(eq + 1).split(",");
    if (map === "" || names.some((n) => n === "")) {
      throw new RangeError(
        `Invalid metrics labels "${item}": expected MAP=NAME[,NAME...]`,
      );
    }
    out[map.startsWith("@") ? map : "@" + map] = names;
  }
  return out;
}
