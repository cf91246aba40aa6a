/**
 * The testing API: run a tracing program over events you write, in the
 * interpreter, with no privileges, and assert on its output, maps and
 * emits. Kept out of `mod.ts` so that the CLI starts without loading it.
 *
 * @example Test the kfree_skb one-liner
 * ```ts
 * import assert from "node:assert/strict";
 * import { feedEvents } from "./testing.ts";
 * const r = await feedEvents(
 *   "tracepoint:skb:kfree_skb { @[comm] = count(); }",
 *   [{ probe: "tracepoint:skb:kfree_skb", comm: "nginx", args: { reason: 2 } }],
 * );
 * assert.deepEqual(r.maps[0].entries, [{ key: ["nginx"], value: 1 }]);
 * ```
 *
 * @module
 */

export {
  encodeEvents,
  eventsRecording,
  feedEvents,
  type FeedOptions,
  type FeedResult,
  runScript,
  type RunScriptOptions,
  type ScriptRun,
  type TestEvent,
  type TestSymbols,
} from "./runtime/testing/feed_events.ts";
export { ReplayError } from "./runtime/record/replay_feed.ts";
export { RecordingError } from "./runtime/record/format.ts";
export { openRecording } from "./runtime/record/reader.ts";
