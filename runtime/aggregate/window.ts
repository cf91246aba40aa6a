/**
 * Sliding windows: per-key counts over the last N ticks.
 *
 * @module
 */

import { keyText } from "./key.ts";

/**
 * A time-bucketed counter over the last `size` ticks. Feed it either the
 * counts of one tick (`add`) or successive cumulative snapshots of a
 * counter map (`observe`, which keeps the deltas); read the sum over the
 * window (`total`) or one key's per-tick series (`series`, for sparklines).
 *
 * @example Drops over the last three seconds
 * ```ts
 * import assert from "node:assert/strict";
 * import { SlidingWindow } from "./window.ts";
 *
 * const w = new SlidingWindow<string>(3);
 * w.observe(new Map([["nc", 2]]));           // tick 1: +2
 * w.observe(new Map([["nc", 5], ["sh", 1]])); // tick 2: +3, +1
 * w.observe(new Map([["nc", 5], ["sh", 4]])); // tick 3: +0, +3
 * w.observe(new Map([["nc", 9], ["sh", 4]])); // tick 4: +4, +0 (tick 1 leaves)
 * assert.deepEqual([...w.total()], [["nc", 7], ["sh", 4]]);
 * assert.deepEqual(w.series("nc"), [3, 0, 4]);
 * ```
 */
export class SlidingWindow<K> {
  /** How many ticks the window spans. */
  readonly size: number;
  #ticks: Map<string, number>[] = [];
  #keys = new Map<string, K>();
  #last: Map<string, number> | undefined;

  /** Creates a window of `size` ticks. */
  constructor(size: number) {
    if (!(size >= 1) || !Number.isInteger(size)) {
      throw new RangeError(
        `Window size must be a positive integer, got ${size}`,
      );
    }
    this.size = size;
  }

  /** Ticks held so far (at most `size`). */
  get length(): number {
    return this.#ticks.length;
  }

  /** Adds one tick's counts; the oldest tick leaves a full window. */
  add(counts: Iterable<readonly [K, number | bigint]>): void {
    const tick = new Map<string, number>();
    for (const [k, v] of counts) {
      const t = keyText(k);
      this.#keys.set(t, k);
      tick.set(t, (tick.get(t) ?? 0) + Number(v));
    }
    this.#ticks.push(tick);
    if (this.#ticks.length > this.size) this.#ticks.shift();
  }

  /**
   * Adds the difference between this cumulative snapshot and the previous
   * one as a tick (the first snapshot counts whole). A counter that went
   * down (the map was cleared) counts from 0 again.
   */
  observe(cumulative: Iterable<readonly [K, number | bigint]>): void {
    const now = new Map<string, number>();
    const delta: [K, number][] = [];
    for (const [k, v] of cumulative) {
      const t = keyText(k);
      const n = Number(v);
      now.set(t, n);
      const before = this.#last?.get(t) ?? 0;
      delta.push([k, n >= before ? n - before : n]);
    }
    this.#last = now;
    this.add(delta);
  }

  /** Sum per key over the window, keys in first-seen order. */
  total(): Map<K, number> {
    const sums = new Map<string, number>();
    for (const tick of this.#ticks) {
      for (const [t, v] of tick) sums.set(t, (sums.get(t) ?? 0) + v);
    }
    const out = new Map<K, number>();
    for (const [t, k] of this.#keys) {
      const s = sums.get(t);
      if (s !== undefined) out.set(k, s);
    }
    return out;
  }

  /** One key's count per tick, oldest first (0 where it had none). */
  series(key: K): number[] {
    const t = keyText(key);
    return this.#ticks.map((tick) => tick.get(t) ?? 0);
  }
}
