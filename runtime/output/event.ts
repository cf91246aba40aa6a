/**
 * Rendering of the ring-buffer events that only produce output
 * (`printf`, `print(value)`, `time`, `join`) in bpftrace's text or JSON
 * format.
 * Actions that need the session (printing or clearing maps, `exit`,
 * `system`, `cat`) are left to it.
 *
 * @module
 */

import { formatMessageJson, formatPrintValueJson } from "./json.ts";
import { formatPrintf } from "./printf.ts";
import { formatTime } from "./strftime.ts";
import { formatPrintValueText, formatValueText } from "./text.ts";
import type { DecodedEvent } from "./types.ts";

/** Output format, as bpftrace's `-f`. */
export type OutputFormat = "text" | "json";

/**
 * Renders an output-only event in bpftrace's text format, or returns
 * `undefined` when the event's action is one the session must carry out
 * itself.
 *
 * @example A printf event
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatEventText } from "./event.ts";
 *
 * const ev = {
 *   id: 0,
 *   action: { kind: "printf" as const, format: "pid %d\n", args: [] },
 *   args: [42],
 * };
 * assert.equal(formatEventText(ev), "pid 42\n");
 * ```
 */
export function formatEventText(
  event: DecodedEvent,
  now: Date = new Date(),
): string | undefined {
  const a = event.action;
  switch (a.kind) {
    case "printf":
      return formatPrintf(a.format, event.args);
    case "print_value":
      return formatPrintValueText(event.args[0]);
    case "join":
      // bpftrace 0.17: the strings joined by the separator, and a newline.
      return joined(event, a.separator) + "\n";
    case "time":
      return formatTime(a.format, now);
    default:
      return undefined;
  }
}

/**
 * Renders an output-only event as a `-f json` line, or returns `undefined`
 * when the event's action is one the session must carry out itself.
 *
 * @example A printf event
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatEventJson } from "./event.ts";
 *
 * const ev = {
 *   id: 0,
 *   action: { kind: "printf" as const, format: "pid %d\n", args: [] },
 *   args: [42],
 * };
 * assert.equal(
 *   formatEventJson(ev),
 *   '{"type": "printf", "data": "pid 42\\n"}\n',
 * );
 * ```
 */
export function formatEventJson(
  event: DecodedEvent,
  now: Date = new Date(),
): string | undefined {
  const a = event.action;
  switch (a.kind) {
    case "printf":
      return formatMessageJson("printf", formatPrintf(a.format, event.args));
    case "print_value":
      return formatPrintValueJson(event.args[0]);
    case "join":
      // bpftrace 0.17: JSON carries the joined text alone.
      return formatMessageJson("join", joined(event, a.separator));
    case "time":
      return formatMessageJson("time", formatTime(a.format, now));
    default:
      return undefined;
  }
}

function joined(event: DecodedEvent, separator: string): string {
  return event.args.map((v) => formatValueText(v)).join(separator);
}

/**
 * Renders an output-only event in `format`, or returns `undefined` when
 * the event's action is one the session must carry out itself.
 *
 * @example Rendering a printf event both ways
 * ```ts
 * import { formatEventOutput } from "./event.ts";
 * import assert from "node:assert/strict";
 *
 * const ev = {
 *   id: 0,
 *   action: { kind: "printf" as const, format: "pid %d\n", args: [] },
 *   args: [42],
 * };
 * assert.equal(formatEventOutput(ev, "text"), "pid 42\n");
 * assert.equal(
 *   formatEventOutput(ev, "json"),
 *   '{"type": "printf", "data": "pid 42\\n"}\n',
 * );
 * ```
 */
export function formatEventOutput(
  event: DecodedEvent,
  format: OutputFormat,
  now: Date = new Date(),
): string | undefined {
  return format === "json"
    ? formatEventJson(event, now)
    : formatEventText(event, now);
}
