/**
 * Attach point text, bpftrace style, to the `AttachPoint` of the Program
 * contract: long provider names and their aliases (`t k kr u ur p i s h
 * rt`), `profile:hz:99`, `interval:s:1`, `uprobe:/bin/bash:readline`,
 * `kprobe:f+0x10`, `software:cpu-clock:1000000`, checked by the language's
 * attach-point grammar (`lang/attach_point.ts`) and worded for the probe
 * lister. Purely syntactic: binaries are not looked up and wildcards are
 * kept (see `list_probes.ts`).
 *
 * @module
 */

import type { AttachPoint, ProbeKind } from "../program.ts";
import {
  type AttachProblem,
  parseAttachParts,
  PROVIDERS,
} from "../lang/attach_point.ts";
import { hasWildcard } from "./glob.ts";
import { perfEvent } from "./perf_events.ts";

/** The providers probes can be listed and attached for. */
const LONG_NAMES: readonly ProbeKind[] = [
  "BEGIN",
  "END",
  "tracepoint",
  "rawtracepoint",
  "fentry",
  "fexit",
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
 * Provider aliases → long names: the language's short aliases
 * (`PROVIDERS` of `lang/attach_point.ts`) of the providers above.
 */
export const PROVIDER_ALIASES: Readonly<Record<string, ProbeKind>> = {
  ...Object.fromEntries(
    Object.entries(PROVIDERS).filter(([alias, name]) =>
      alias.length <= 2 && alias !== name &&
      (LONG_NAMES as readonly string[]).includes(name)
    ),
  ) as Record<string, ProbeKind>,
  // The language's provider names of fentry and fexit are their aliases.
  kfunc: "fentry",
  f: "fentry",
  kretfunc: "fexit",
  fr: "fexit",
};

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
 * assert.equal(providerKind("kfunc"), "fentry");
 * assert.equal(providerKind("watchpoint"), undefined);
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

/** The lister's words for a problem the attach-point grammar found. */
function describe(kind: ProbeKind, p: AttachProblem): string {
  switch (p.problem) {
    case "arguments":
      return `${kind} takes no arguments`;
    case "offset":
      return `bad offset "${p.text}"`;
    case "return offset":
      return `${kind} takes no offset`;
    case "function":
      return "invalid function name";
    case "unit":
      return `unknown unit "${p.unit}" (expected hz, s, ms, us)`;
    case "number":
      return `bad number "${p.text}"`;
    case "period":
      return `invalid rate of ${kind} probe${p.why}`;
    case "event":
      return `unknown ${kind} event "${p.name}"`;
    case "count":
      return `bad count "${p.text}"`;
    default:
      // A wrong number of parts, or an empty one.
      switch (kind) {
        case "tracepoint":
          return "expected tracepoint:category:name";
        case "rawtracepoint":
          return "expected rawtracepoint:name";
        case "kprobe":
        case "kretprobe":
        case "fentry":
        case "fexit":
          return "missing function";
        case "uprobe":
        case "uretprobe":
          return `expected ${kind}:binary:symbol`;
        case "usdt":
          return "expected usdt:binary:[provider:]probe";
        case "profile":
        case "interval":
          return `expected ${kind}:unit:number or ${kind}:period`;
        default:
          return `expected ${kind}:event[:count]`;
      }
  }
}

/**
 * Parse one attach point with the language's attach-point grammar
 * (`parseAttachParts` of `lang/attach_point.ts`). The result's `text` is
 * the canonical form (long provider name, canonical event names, explicit
 * default periods; `interval:1s` is `interval:us:1000000`, as bpftrace
 * 0.26 names it). Stricter than a program's attach point where a listing
 * needs it: usdt names its binary.
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
  const kind = providerKind(provider) ??
    fail(`unknown provider "${provider}"`);
  if (rest === "") fail("missing target");
  let parts = rest.split(":");
  switch (kind) {
    case "rawtracepoint":
      // `rawtracepoint:module:event` names the event of a module.
      if (parts.some((p) => p === "")) return fail(describe(kind, shape()));
      parts = [rest];
      break;
    case "usdt":
      if (parts[0] === "") return fail(describe(kind, shape()));
      break;
    case "profile":
    case "interval":
      if (parts.length > 2) return fail(describe(kind, shape()));
      break;
    case "software":
    case "hardware":
      // `h:branches:` lists the event with its default count.
      if (parts.length === 2 && parts[1] === "") parts = [parts[0]];
      break;
  }
  const found = parseAttachParts(
    kind === "fentry" ? "kfunc" : kind === "fexit" ? "kretfunc" : kind,
    parts,
  );
  if ("problem" in found) return fail(describe(kind, found));
  const ap: AttachPoint = { kind, target: found.target, text: "" };
  switch (kind) {
    case "kprobe":
    case "kretprobe":
    case "uprobe":
    case "uretprobe":
    case "usdt":
      if (found.symbol !== undefined) ap.symbol = found.symbol;
      ap.text = [kind, found.target, found.symbol]
        .filter((x) => x !== undefined).join(":");
      if (found.offset !== undefined) {
        ap.offset = found.offset;
        ap.text += `+${found.offset}`;
      }
      return ap;
    case "profile":
    case "interval":
      return {
        kind,
        target: "",
        unit: found.unit,
        period: found.period,
        text: `${kind}:${found.unit}:${found.period}`,
      };
    case "software":
    case "hardware": {
      if (hasWildcard(found.target)) {
        ap.text = `${kind}:${rest}`;
        if (found.period !== undefined) ap.period = found.period;
        return ap;
      }
      const ev = perfEvent(kind, found.target) ??
        fail(`unknown ${kind} event "${found.target}"`);
      const period = found.period ?? ev.defaultPeriod;
      return {
        kind,
        target: ev.name,
        period,
        text: `${kind}:${ev.name}:${period}`,
      };
    }
    default:
      ap.text = `${kind}:${found.target}`;
      return ap;
  }
}

function shape(): AttachProblem {
  return { problem: "shape" };
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
