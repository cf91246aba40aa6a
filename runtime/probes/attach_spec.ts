/**
 * Attach point text, bpftrace style, to the `AttachPoint` of the Program
 * contract: long provider names and their aliases (`t k kr u ur p i s h
 * rt`), `profile:hz:99`, `interval:s:1`, `uprobe:/bin/bash:readline`,
 * `kprobe:f+0x10`, `software:cpu-clock:1000000`. Purely syntactic: binaries
 * are not looked up and wildcards are kept (see `list_probes.ts`).
 *
 * @module
 */

import type { AttachPoint, ProbeKind } from "../program.ts";
import { hasWildcard } from "./glob.ts";
import { perfEvent } from "./perf_events.ts";

/** Provider aliases → long names. */
export const PROVIDER_ALIASES: Readonly<Record<string, ProbeKind>> = {
  t: "tracepoint",
  rt: "rawtracepoint",
  k: "kprobe",
  kr: "kretprobe",
  u: "uprobe",
  ur: "uretprobe",
  U: "usdt",
  p: "profile",
  i: "interval",
  s: "software",
  h: "hardware",
};

const LONG_NAMES: readonly ProbeKind[] = [
  "BEGIN",
  "END",
  "tracepoint",
  "rawtracepoint",
  "kprobe",
  "kretprobe",
  "uprobe",
  "uretprobe",
  "usdt",
  "profile",
  "interval",
  "software",
  "hardware",
];

/**
 * The long provider name for a provider or alias, or undefined.
 *
 * @example Normalizing providers
 * ```ts
 * import assert from "node:assert/strict";
 * import { providerKind } from "./attach_spec.ts";
 *
 * assert.equal(providerKind("kr"), "kretprobe");
 * assert.equal(providerKind("tracepoint"), "tracepoint");
 * assert.equal(providerKind("U"), "usdt");
 * assert.equal(providerKind("kfunc"), undefined);
 * ```
 */
export function providerKind(name: string): ProbeKind | undefined {
  if ((LONG_NAMES as readonly string[]).includes(name)) {
    return name as ProbeKind;
  }
  return Object.hasOwn(PROVIDER_ALIASES, name)
    ? PROVIDER_ALIASES[name]
    : undefined;
}

/** Parse "123", "0x10", "1e6", "1_000" as a non-negative safe integer. */
function parseCount(text: string): number | undefined {
  const t = text.replaceAll("_", "");
  let n: number;
  if (/^0x[0-9a-fA-F]+$/.test(t)) n = parseInt(t.slice(2), 16);
  else if (/^\d+$/.test(t)) n = Number(t);
  else if (/^\d+e\d+$/i.test(t)) n = Number(t);
  else return undefined;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Split "sym+off" into symbol and offset. */
function splitOffset(
  text: string,
  fail: (why: string) => never,
): [string, number | undefined] {
  const plus = text.lastIndexOf("+");
  if (plus <= 0) return [text, undefined];
  const off = parseCount(text.slice(plus + 1));
  if (off === undefined) fail(`bad offset "${text.slice(plus + 1)}"`);
  return [text.slice(0, plus), off];
}

const UNITS = ["hz", "s", "ms", "us"] as const;

/**
 * Parse one attach point. The result's `text` is the canonical form (long
 * provider name, canonical event names, explicit default periods).
 *
 * @throws {SyntaxError} `Invalid attach point "x": reason`.
 *
 * @example Aliases and shapes
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAttachPoint } from "./attach_spec.ts";
 *
 * assert.deepEqual(parseAttachPoint("t:skb:kfree_skb"), {
 *   kind: "tracepoint",
 *   target: "skb:kfree_skb",
 *   text: "tracepoint:skb:kfree_skb",
 * });
 * assert.equal(parseAttachPoint("p:hz:99").period, 99);
 * assert.equal(parseAttachPoint("u:/bin/bash:readline").symbol, "readline");
 * assert.equal(parseAttachPoint("k:f+0x10").offset, 16);
 * assert.equal(parseAttachPoint("s:cs").text, "software:context-switches:1000");
 * ```
 */
export function parseAttachPoint(text: string): AttachPoint {
  const raw = text.trim();
  const fail = (why: string): never => {
    throw new SyntaxError(`Invalid attach point "${raw}": ${why}`);
  };
  if (raw === "BEGIN" || raw === "END") {
    return { kind: raw, target: "", text: raw };
  }
  const colon = raw.indexOf(":");
  if (colon < 0) fail("expected provider:target");
  const provider = raw.slice(0, colon);
  const rest = raw.slice(colon + 1);
  const kind = providerKind(provider);
  if (kind === undefined) fail(`unknown provider "${provider}"`);
  if (rest === "") fail("missing target");
  switch (kind!) {
    case "BEGIN":
    case "END":
      return fail(`${kind} takes no arguments`);
    case "test":
    case "bench":
      return { kind: kind!, target: rest, text: `${kind}:${rest}` };
    case "tracepoint": {
      const parts = rest.split(":");
      if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
        fail("expected tracepoint:category:name");
      }
      return { kind: "tracepoint", target: rest, text: `tracepoint:${rest}` };
    }
    case "rawtracepoint": {
      if (rest.split(":").some((p) => p === "")) {
        fail("expected rawtracepoint:name");
      }
      return {
        kind: "rawtracepoint",
        target: rest,
        text: `rawtracepoint:${rest}`,
      };
    }
    case "kprobe":
    case "kretprobe": {
      const [fn, offset] = splitOffset(rest, fail);
      if (fn === "" || fn.split(":").some((p) => p === "")) {
        fail("missing function");
      }
      if (offset !== undefined && kind === "kretprobe") {
        fail("kretprobe takes no offset");
      }
      const ap: AttachPoint = {
        kind: kind!,
        target: fn,
        text: `${kind}:${fn}`,
      };
      if (offset !== undefined) {
        ap.offset = offset;
        ap.text += `+${offset}`;
      }
      return ap;
    }
    case "uprobe":
    case "uretprobe": {
      const last = rest.lastIndexOf(":");
      if (last <= 0 || last === rest.length - 1) {
        fail(`expected ${kind}:binary:symbol`);
      }
      const binary = rest.slice(0, last);
      const [symbol, offset] = splitOffset(rest.slice(last + 1), fail);
      if (symbol === "") fail("missing symbol");
      if (offset !== undefined && kind === "uretprobe") {
        fail("uretprobe takes no offset");
      }
      const ap: AttachPoint = {
        kind: kind!,
        target: binary,
        symbol,
        text: `${kind}:${binary}:${symbol}`,
      };
      if (offset !== undefined) {
        ap.offset = offset;
        ap.text += `+${offset}`;
      }
      return ap;
    }
    case "usdt": {
      const colon = rest.indexOf(":");
      const binary = colon < 0 ? "" : rest.slice(0, colon);
      const probe = colon < 0 ? "" : rest.slice(colon + 1);
      const parts = probe.split(":");
      if (binary === "" || parts.length > 2 || parts.some((p) => p === "")) {
        fail("expected usdt:binary:[provider:]probe");
      }
      return {
        kind: "usdt",
        target: binary,
        symbol: probe,
        text: `usdt:${binary}:${probe}`,
      };
    }
    case "profile":
    case "interval": {
      const parts = rest.split(":");
      if (parts.length !== 2) fail(`expected ${kind}:unit:number`);
      const unit = parts[0] as typeof UNITS[number];
      if (!UNITS.includes(unit)) {
        fail(`unknown unit "${parts[0]}" (expected ${UNITS.join(", ")})`);
      }
      const period = parseCount(parts[1]);
      if (period === undefined || period <= 0) fail(`bad number "${parts[1]}"`);
      return {
        kind: kind!,
        target: "",
        unit,
        period,
        text: `${kind}:${unit}:${period}`,
      };
    }
    case "software":
    case "hardware": {
      const parts = rest.split(":");
      if (parts.length > 2 || parts[0] === "") {
        fail(`expected ${kind}:event[:count]`);
      }
      let period: number | undefined;
      if (parts.length === 2 && parts[1] !== "") {
        period = parseCount(parts[1]);
        if (period === undefined || period <= 0) {
          fail(`bad count "${parts[1]}"`);
        }
      }
      if (hasWildcard(parts[0])) {
        const ap: AttachPoint = {
          kind: kind!,
          target: parts[0],
          text: `${kind}:${rest}`,
        };
        if (period !== undefined) ap.period = period;
        return ap;
      }
      const ev = perfEvent(kind!, parts[0]);
      if (ev === undefined) fail(`unknown ${kind} event "${parts[0]}"`);
      period ??= ev!.defaultPeriod;
      return {
        kind: kind!,
        target: ev!.name,
        period,
        text: `${kind}:${ev!.name}:${period}`,
      };
    }
  }
}

/**
 * Whether an attach point still holds a wildcard to expand.
 *
 * @example Spotting wildcards
 * ```ts
 * import assert from "node:assert/strict";
 * import { isWildcard, parseAttachPoint } from "./attach_spec.ts";
 *
 * assert.ok(isWildcard(parseAttachPoint("tracepoint:syscalls:sys_enter_*")));
 * assert.ok(!isWildcard(parseAttachPoint("uprobe:/bin/bash:readline")));
 * ```
 */
export function isWildcard(ap: AttachPoint): boolean {
  return hasWildcard(ap.target) ||
    (ap.symbol !== undefined && hasWildcard(ap.symbol));
}
