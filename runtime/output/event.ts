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
 * Renders an output-only event, or returns `undefined` when the event's
 * action is one the session must carry out itself.
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
  const a = event.action;
  switch (a.kind) {
    case "printf": {
      const text = formatPrintf(a.format, event.args);
      return format === "json" ? formatMessageJson("printf", text) : text;
    }
    case "print_value":
      return format === "json"
        ? formatPrintValueJson(event.args[0])
        : formatPrintValueText(event.args[0]);
    case "join": {
      // bpftrace 0.17: the strings joined by the separator; text output
      // adds a newline, JSON carries the joined text alone.
      const text = event.args.map((v) => formatValueText(v)).join(
        a.separator,
      );
      return format === "json" ? formatMessageJson("join", text) : text + "\n";
    }
    case "time": {
      const text = formatTime(a.format, now);
      return format === "json" ? formatMessageJson("time", text) : text;
    }
    default:
      return undefined;
  }
}
