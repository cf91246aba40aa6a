/**
 * One formatter per output format, as bpftrace splits its `Output` into a
 * text and a JSON implementation: a session hands plain data in (decoded
 * maps, events, counts) and writes the string that comes out, choosing the
 * format once instead of at every line it prints.
 *
 * @module
 */

import {
  formatEventJson,
  formatEventText,
  type OutputFormat,
} from "./event.ts";
import {
  formatAttachedProbesJson,
  formatExitMapsJson,
  formatLostEventsJson,
  formatMapJson,
  formatMessageJson,
} from "./json.ts";
import { formatMapFullJson, type MapFull } from "./map_full.ts";
import {
  formatAttachedProbesText,
  formatExitMapsText,
  formatLostEventsText,
  formatMapText,
  type PrintMapOptions,
} from "./text.ts";
import type { DecodedEvent, MapData } from "./types.ts";

/** Renders everything a session prints, in one output format. */
export interface Formatter {
  /** The format it writes. */
  readonly format: OutputFormat;
  /**
   * The line written once probes are attached; `synthetic` labels events
   * the interpreter invents.
   */
  attached(probes: number, synthetic: boolean): string;
  /** One map, as `print(@map)` shows it. */
  map(data: MapData, options?: PrintMapOptions): string;
  /** Every map at exit. */
  exitMaps(maps: MapData[]): string;
  /** The count of ring-buffer records lost. */
  lostEvents(count: number): string;
  /**
   * A full map's record in the output: JSON only (text says it in a
   * warning on standard error, which the session writes).
   */
  mapFull(full: MapFull): string;
  /**
   * An event that only prints (`printf`, `print(value)`, `time`, `join`),
   * or `undefined` for an action the session carries out itself.
   */
  event(event: DecodedEvent, now?: Date): string | undefined;
  /** What a `system()` command wrote. */
  systemOutput(text: string): string;
  /**
   * A `system()` command not run because its event was made up
   * (`synthetic`) or replayed.
   */
  systemNotRun(command: string, source: "synthetic" | "replayed"): string;
  /** What `cat()` read (or the error it met). */
  catOutput(text: string): string;
}

/**
 * bpftrace's text output.
 *
 * @example The attach line and a lost-event count
 * ```ts
 * import assert from "node:assert/strict";
 * import { textFormatter } from "./formatter.ts";
 * import { formatAttachedProbesText, formatLostEventsText } from "./text.ts";
 * assert.equal(textFormatter.attached(2, false), formatAttachedProbesText(2));
 * assert.equal(textFormatter.lostEvents(3), formatLostEventsText(3));
 * ```
 */
export const textFormatter: Formatter = {
  format: "text",
  attached: formatAttachedProbesText,
  map: formatMapText,
  exitMaps: formatExitMapsText,
  lostEvents: formatLostEventsText,
  mapFull: () => "",
  event: formatEventText,
  systemOutput: (text) => text,
  systemNotRun: (command, source) =>
    `[${source} event] system() not run: ${command}\n`,
  catOutput: (text) => text,
};

/**
 * bpftrace's `-f json` output: one JSON object a line.
 *
 * @example A full map's record
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonFormatter } from "./formatter.ts";
 * import { formatMapFullJson } from "./map_full.ts";
 * const full = { name: "@m", lost: 3, maxEntries: 4096 };
 * assert.equal(jsonFormatter.mapFull(full), formatMapFullJson(full));
 * ```
 */
export const jsonFormatter: Formatter = {
  format: "json",
  attached: formatAttachedProbesJson,
  map: formatMapJson,
  exitMaps: formatExitMapsJson,
  lostEvents: formatLostEventsJson,
  mapFull: formatMapFullJson,
  event: formatEventJson,
  systemOutput: (text) => formatMessageJson("syscall", text),
  systemNotRun: (command) => formatMessageJson("system_not_run", command),
  catOutput: (text) => formatMessageJson("cat", text),
};

/**
 * The formatter of an output format.
 *
 * @example Pick the JSON one
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatterFor } from "./formatter.ts";
 * assert.equal(formatterFor("json").format, "json");
 * ```
 */
export function formatterFor(format: OutputFormat): Formatter {
  return format === "json" ? jsonFormatter : textFormatter;
}
