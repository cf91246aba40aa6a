/**
 * Attach points: raw scanning of a probe header item such as
 * `uprobe:/bin/bash:readline+4` and its validation into a structured
 * {@linkcode AttachPointNode}.
 *
 * @module
 */

import type { AttachPointNode, ProviderName, Span } from "./ast.ts";
import { type Diagnostics, quote } from "./diagnostics.ts";
import { didYouMean } from "./suggest.ts";

/** Provider names and short aliases, mapped to the long name. */
export const PROVIDERS: Readonly<Record<string, ProviderName>> = {
  begin: "BEGIN",
  end: "END",
  BEGIN: "BEGIN",
  END: "END",
  tracepoint: "tracepoint",
  t: "tracepoint",
  rawtracepoint: "rawtracepoint",
  rt: "rawtracepoint",
  kprobe: "kprobe",
  k: "kprobe",
  kretprobe: "kretprobe",
  kr: "kretprobe",
  uprobe: "uprobe",
  u: "uprobe",
  uretprobe: "uretprobe",
  ur: "uretprobe",
  usdt: "usdt",
  U: "usdt",
  profile: "profile",
  p: "profile",
  interval: "interval",
  i: "interval",
  software: "software",
  s: "software",
  hardware: "hardware",
  h: "hardware",
  fentry: "kfunc",
  kfunc: "kfunc",
  f: "kfunc",
  fexit: "kretfunc",
  kretfunc: "kretfunc",
  fr: "kretfunc",
  watchpoint: "watchpoint",
  w: "watchpoint",
  iter: "iter",
  it: "iter",
  test: "test",
  bench: "bench",
};

/** Software event names (and aliases) perf knows. */
export const SOFTWARE_EVENTS: ReadonlySet<string> = new Set([
  "cpu-clock",
  "cpu",
  "task-clock",
  "page-faults",
  "faults",
  "context-switches",
  "cs",
  "cpu-migrations",
  "minor-faults",
  "major-faults",
  "alignment-faults",
  "emulation-faults",
  "dummy",
  "bpf-output",
]);

/** Hardware event names (and aliases) perf knows. */
export const HARDWARE_EVENTS: ReadonlySet<string> = new Set([
  "cpu-cycles",
  "cycles",
  "instructions",
  "cache-references",
  "cache-misses",
  "branch-instructions",
  "branches",
  "branch-misses",
  "bus-cycles",
  "frontend-stalls",
  "backend-stalls",
  "ref-cycles",
]);

/** The result of scanning one attach point's raw text. */
export interface RawAttachPoint {
  /** The exact source text. */
  raw: string;
  /** Colon-separated parts, quotes removed, `$N` substituted. */
  parts: string[];
  /** End offset of the raw text. */
  end: number;
  /** Whether an error was already reported while scanning. */
  failed?: boolean;
}

function isPlain(c: string): boolean {
  return /[A-Za-z0-9_.*?+\-$]/.test(c);
}

/**
 * Scans an attach point starting at `start`: a run of name characters,
 * `:` separators, quoted strings and `/` inside paths. A `/` ends the
 * attach point (it starts a predicate) unless the current part is a path
 * (empty so far, or starting with `/` or `.`).
 *
 * @example Usage
 * ```ts
 * import { scanAttachPoint } from "./attach_point.ts";
 * import { Diagnostics } from "./diagnostics.ts";
 * import assert from "node:assert/strict";
 * const src = "uprobe:/bin/bash:readline /pid/ {}";
 * const r = scanAttachPoint(src, 0, new Diagnostics(), [], 1, 0);
 * assert.deepEqual(r.parts, ["uprobe", "/bin/bash", "readline"]);
 * assert.equal(r.end, 25);
 * ```
 *
 * @param src The source.
 * @param start Where the attach point begins.
 * @param diag Where errors go.
 * @param params Positional parameters for `$N`.
 * @param line 1-based line of `start`.
 * @param lineStart Offset of that line's start.
 * @returns The raw text, parts and end offset.
 */
export function scanAttachPoint(
  src: string,
  start: number,
  diag: Diagnostics,
  params: readonly string[] | undefined,
  line: number,
  lineStart: number,
): RawAttachPoint {
  const parts: string[] = [];
  let failed = false;
  let part = "";
  let partRaw = "";
  let p = start;
  const span = (a: number, b: number): Span => ({
    start: a,
    end: b,
    line,
    col: a - lineStart + 1,
  });
  while (p < src.length) {
    const c = src[p];
    if (c === ":") {
      parts.push(part);
      part = "";
      partRaw = "";
      p++;
    } else if (c === '"') {
      let q = p + 1;
      let text = "";
      while (q < src.length && src[q] !== '"' && src[q] !== "\n") {
        if (src[q] === "\\" && q + 1 < src.length && src[q + 1] !== "\n") {
          q++;
        }
        text += src[q];
        q++;
      }
      if (src[q] !== '"') {
        failed = true;
        diag.error(span(p, q), "Unterminated string");
        p = q;
        break;
      }
      part += text;
      partRaw += src.slice(p, q + 1);
      p = q + 1;
    } else if (c === "/") {
      const pathLike = partRaw === "" || partRaw[0] === "/" ||
        partRaw[0] === ".";
      const comment = src[p + 1] === "/" || src[p + 1] === "*";
      if (!pathLike || (comment && partRaw === "" && parts.length === 0)) {
        break;
      }
      part += c;
      partRaw += c;
      p++;
    } else if (c === "$" && /[0-9]/.test(src[p + 1] ?? "")) {
      let q = p + 1;
      while (q < src.length && /[0-9]/.test(src[q])) q++;
      const n = Number(src.slice(p + 1, q));
      const value = params?.[n - 1];
      if (value === undefined) {
        failed = true;
        diag.error(
          span(p, q),
          `Positional parameter ${
            src.slice(p, q)
          } is used in an attach point but not given`,
        );
      } else {
        part += value;
      }
      partRaw += src.slice(p, q);
      p = q;
    } else if (isPlain(c)) {
      part += c;
      partRaw += c;
      p++;
    } else {
      break;
    }
  }
  parts.push(part);
  return {
    raw: src.slice(start, p),
    parts,
    end: p,
    ...(failed ? { failed } : {}),
  };
}

function parseNumber(text: string): number | undefined {
  const t = text.replaceAll("_", "");
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) v = parseInt(t.slice(2), 16);
  else if (/^[0-9]+$/.test(t)) v = parseInt(t, 10);
  else {
    const m = /^([0-9]+)[eE]([0-9]+)$/.exec(t);
    if (!m) return undefined;
    v = Number(m[1]) * 10 ** Number(m[2]);
  }
  return Number.isSafeInteger(v) ? v : undefined;
}

/** Nanoseconds per suffix of a period (C integer suffixes count 1). */
const PERIOD_NS: Readonly<Record<string, bigint>> = {
  "": 1n,
  u: 1n,
  ul: 1n,
  ull: 1n,
  l: 1n,
  ll: 1n,
  ns: 1n,
  us: 1000n,
  ms: 1000000n,
  s: 1000000000n,
  m: 60000000000n,
  h: 3600000000000n,
  d: 86400000000000n,
};

/**
 * `interval:1s`'s period in ns, read as bpftrace 0.26's to_uint() does
 * (`_` separators, 0x, 0b and 0 (octal) prefixes, `1e9`, a suffix), or
 * what is wrong with it.
 */
function periodNs(text: string): bigint | string {
  const m = /^(0[xX][\da-fA-F]+|0[bB][01]+|0[0-7]+|\d+)(?:[eE]([1-9]\d*))?(.*)$/
    .exec(text.replaceAll("_", ""));
  if (!m) return `${quote(text)} is not a number`;
  let v = BigInt(/^0[0-7]/.test(m[1]) ? "0o" + m[1].slice(1) : m[1]);
  if (m[2]) {
    if (v < 1n || v > 9n) {
      return `the coefficient part of the scientific literal ${
        quote(text)
      } must be 1-9`;
    }
    v *= 10n ** BigInt(Math.min(Number(m[2]), 99));
  }
  if (!Object.hasOwn(PERIOD_NS, m[3])) {
    return `invalid trailing bytes ${quote(m[3])} in ${
      quote(text)
    }, expected a number with a unit ns, us, ms, s, m, h or d`;
  }
  v *= PERIOD_NS[m[3]];
  const max = (1n << 64n) - 1n;
  return v > max
    ? `${quote(text)} overflows, the maximum is ${max} nanoseconds`
    : v;
}

const WILDCARD = /[*?]/;

/**
 * What an attach point's provider-specific parts say, once the grammar
 * accepted them (see {@linkcode parseAttachParts}).
 */
export interface AttachShape {
  /** What to attach to: see {@linkcode AttachPointNode}'s `target`. */
  target: string;
  /** Symbol, probe name or watchpoint mode, when the provider has one. */
  symbol?: string;
  /** A `+OFFSET` of a kprobe or uprobe. */
  offset?: number;
  /** A uprobe's numeric address. */
  address?: number;
  /** The unit of a profile or interval probe. */
  unit?: "hz" | "s" | "ms" | "us";
  /** A rate, period, event count or watchpoint length. */
  period?: number;
  /** Whether the target or symbol holds a `*` or `?`. */
  wildcard: boolean;
}

/**
 * Why the grammar rejects an attach point, as data: the language's
 * diagnostics and the probe lister each put it in their own words.
 */
export type AttachProblem =
  /** BEGIN or END was given parts. */
  | { problem: "arguments" }
  /** A `test:` or `bench:` probe without a name. */
  | { problem: "name" }
  /** The wrong number of parts for the provider. */
  | { problem: "shape" }
  /** A part that must not be empty is (`what` names it). */
  | { problem: "empty"; what: string }
  /** A `+OFFSET` that is not a number (`text` is after the `+`). */
  | { problem: "offset"; text: string }
  /** A `+OFFSET` on a return probe, which has none. */
  | { problem: "return offset" }
  /** A kernel function name with characters no function has. */
  | { problem: "function" }
  /** A profile or interval unit other than hz, s, ms, us. */
  | { problem: "unit"; unit: string }
  /** A rate or period that is not a positive number. */
  | { problem: "number"; text: string }
  /** A bad `interval:PERIOD`: `why` follows "invalid rate of ... probe". */
  | { problem: "period"; why: string }
  /** A software or hardware event perf does not know. */
  | { problem: "event"; name: string }
  /** An event count that is not a positive number. */
  | { problem: "count"; text: string }
  /** A watchpoint without a length and a mode of r, w and x. */
  | { problem: "watch" };

/**
 * The attach-point grammar: checks the colon-separated parts after the
 * provider and says what they mean, or what is wrong with them. The one
 * place that knows each provider's shape; both the language's
 * {@linkcode buildAttachPoint} and the probe lister
 * (`probes/attach_spec.ts`) use it.
 *
 * @example Usage
 * ```ts
 * import { parseAttachParts } from "./attach_point.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseAttachParts("kprobe", ["do_open+0x10"]), {
 *   target: "do_open",
 *   offset: 16,
 *   wildcard: false,
 * });
 * assert.deepEqual(parseAttachParts("tracepoint", ["sched"]), {
 *   problem: "shape",
 * });
 * ```
 *
 * @param provider The long provider name.
 * @param parts The parts after the provider.
 * @returns The shape, or the problem.
 */
export function parseAttachParts(
  provider: ProviderName,
  parts: readonly string[],
): AttachShape | AttachProblem {
  const shape: AttachShape = { target: "", wildcard: false };
  const empty = (what: string): AttachProblem | undefined =>
    parts.some((x) => x === "") ? { problem: "empty", what } : undefined;
  const splitOffset = (
    text: string,
  ): [string, number | undefined] | AttachProblem => {
    const plus = text.lastIndexOf("+");
    if (plus < 0) return [text, undefined];
    const off = parseNumber(text.slice(plus + 1));
    if (off === undefined || plus === 0) {
      return { problem: "offset", text: text.slice(plus + 1) };
    }
    return [text.slice(0, plus), off];
  };
  /** A return probe's `+N` (a number) is an offset it cannot have. */
  const returnOffset = (text: string): boolean => {
    const plus = text.lastIndexOf("+");
    return plus > 0 && parseNumber(text.slice(plus + 1)) !== undefined;
  };
  switch (provider) {
    case "BEGIN":
    case "END":
      return parts.length > 0 ? { problem: "arguments" } : shape;
    case "test":
    case "bench":
      // `test:NAME`, `bench:NAME`: run by --test / --bench only.
      if (parts.length === 0 || parts[0] === "") return { problem: "name" };
      if (parts.length !== 1 || !/^[A-Za-z0-9_.\-]+$/.test(parts[0])) {
        return { problem: "shape" };
      }
      shape.target = parts[0];
      return shape;
    case "tracepoint": {
      if (parts.length !== 2) return { problem: "shape" };
      const bad = empty("category or event");
      if (bad) return bad;
      shape.target = `${parts[0]}:${parts[1]}`;
      break;
    }
    case "rawtracepoint":
      // `rawtracepoint[:module]:event`: the target keeps the module.
      if (parts.length < 1 || parts.length > 2) return { problem: "shape" };
      if (parts.some((x) => x === "")) return { problem: "shape" };
      shape.target = parts.join(":");
      break;
    case "iter":
      if (parts.length !== 1 || parts[0] === "") return { problem: "shape" };
      shape.target = parts[0];
      break;
    case "kprobe":
    case "kretprobe":
    case "kfunc":
    case "kretfunc": {
      if (parts.length < 1 || parts.length > 2) return { problem: "shape" };
      const bad = empty("function");
      if (bad) return bad;
      const last = parts[parts.length - 1];
      if (provider === "kretprobe" && returnOffset(last)) {
        return { problem: "return offset" };
      }
      const split = provider === "kprobe"
        ? splitOffset(last)
        : [last, undefined] as const;
      if (!Array.isArray(split)) return split as AttachProblem;
      const [fn, off] = split;
      if (!/^[A-Za-z0-9_.*?]+$/.test(fn)) return { problem: "function" };
      shape.target = parts.length === 2 ? `${parts[0]}:${fn}` : fn;
      if (off !== undefined) shape.offset = off;
      break;
    }
    case "uprobe":
    case "uretprobe": {
      if (parts.length < 2 || parts.length > 3) return { problem: "shape" };
      const bad = empty("binary or symbol");
      if (bad) return bad;
      shape.target = parts[0];
      const last = parts[parts.length - 1];
      const addr = parseNumber(last);
      if (addr !== undefined && /^[0-9]/.test(last)) {
        shape.address = addr;
        shape.symbol = last;
        break;
      }
      if (provider === "uretprobe" && returnOffset(last)) {
        return { problem: "return offset" };
      }
      const split = provider === "uprobe"
        ? splitOffset(last)
        : [last, undefined] as const;
      if (!Array.isArray(split)) return split as AttachProblem;
      shape.symbol = split[0];
      if (split[1] !== undefined) shape.offset = split[1];
      break;
    }
    case "usdt":
      if (parts.length < 2 || parts.length > 3) return { problem: "shape" };
      // An empty binary (`usdt::p:n`, like `usdt:*:p:n`) means every file
      // of the `-p` process.
      if (parts.slice(1).some((x) => x === "")) {
        return { problem: "empty", what: "probe" };
      }
      shape.target = parts[0];
      shape.symbol = parts.slice(1).join(":");
      break;
    case "profile":
    case "interval": {
      if (parts.length === 1 && parts[0] !== "") {
        // `interval:1s`: microseconds, named `interval:us:1000000` as in 0.26.
        const ns = periodNs(parts[0]);
        if (typeof ns === "string") {
          return { problem: "period", why: ": " + ns };
        }
        if (ns < 1000n) {
          return {
            problem: "period",
            why: `, the minimum is 1000 or 1us, found ${ns} nanoseconds`,
          };
        }
        shape.unit = shape.target = "us";
        shape.period = Number(ns / 1000n);
        return shape;
      }
      if (parts.length !== 2) return { problem: "shape" };
      const [unit, num] = parts;
      if (unit !== "hz" && unit !== "s" && unit !== "ms" && unit !== "us") {
        return { problem: "unit", unit };
      }
      const n = parseNumber(num);
      if (n === undefined || n <= 0) return { problem: "number", text: num };
      shape.unit = unit;
      shape.period = n;
      shape.target = unit;
      return shape;
    }
    case "software":
    case "hardware": {
      if (parts.length < 1 || parts.length > 2 || parts[0] === "") {
        return { problem: "shape" };
      }
      const events = provider === "software"
        ? SOFTWARE_EVENTS
        : HARDWARE_EVENTS;
      if (!events.has(parts[0]) && !WILDCARD.test(parts[0])) {
        return { problem: "event", name: parts[0] };
      }
      shape.target = parts[0];
      if (parts.length === 2) {
        const n = parseNumber(parts[1]);
        if (n === undefined || n <= 0) {
          return { problem: "count", text: parts[1] };
        }
        shape.period = n;
      }
      break;
    }
    case "watchpoint": {
      if (parts.length !== 3) return { problem: "shape" };
      const len = parseNumber(parts[1]);
      if (len === undefined || !/^[rwx]+$/.test(parts[2])) {
        return { problem: "watch" };
      }
      shape.target = parts[0];
      shape.period = len;
      shape.symbol = parts[2];
      return shape;
    }
  }
  shape.wildcard = WILDCARD.test(shape.target) ||
    (shape.symbol !== undefined && WILDCARD.test(shape.symbol));
  return shape;
}

/** What each provider's attach point looks like, for a wrong one. */
function expectedShape(provider: ProviderName): string {
  switch (provider) {
    case "tracepoint":
      return 'expected "tracepoint:CATEGORY:EVENT"';
    case "uprobe":
    case "uretprobe":
      return `expected "${provider}:BINARY:SYMBOL"`;
    case "usdt":
      return 'expected "usdt:BINARY:[PROVIDER:]PROBE"';
    case "profile":
    case "interval":
      return `expected "${provider}:UNIT:N" or "${provider}:PERIOD" (like 1s, 100ms)`;
    case "software":
    case "hardware":
      return `expected "${provider}:EVENT[:COUNT]"`;
    case "watchpoint":
      return 'expected "watchpoint:ADDRESS:LENGTH:MODE"';
    case "kprobe":
    case "kretprobe":
    case "kfunc":
    case "kretfunc":
      return `expected "${provider}:FUNCTION"`;
    default:
      return `expected "${provider}:NAME"`;
  }
}

/** The language's words for each problem of {@linkcode parseAttachParts}. */
function describe(provider: ProviderName, p: AttachProblem): string {
  switch (p.problem) {
    case "arguments":
      return `${provider} takes no arguments`;
    case "name":
      return `${provider} probes must have a name`;
    case "shape":
      return expectedShape(provider);
    case "empty":
      return `empty ${p.what}`;
    case "offset":
      return "invalid offset";
    case "return offset":
      return `${provider} takes no offset`;
    case "function":
      return "invalid function name";
    case "unit":
      return `unknown unit ${quote(p.unit)}, expected hz, s, ms or us`;
    case "number":
      return `expected a positive number, found ${quote(p.text)}`;
    case "period":
      return `invalid rate of ${provider} probe${p.why}`;
    case "event":
      return `unknown ${provider} event ${quote(p.name)}`;
    case "count":
      return `expected a positive count, found ${quote(p.text)}`;
    case "watch":
      return "expected a length and a mode of r, w and x";
  }
}

/**
 * Validates a scanned attach point and builds its node, reporting errors
 * (returns `undefined` when it cannot be understood).
 *
 * @example Usage
 * ```ts
 * import { buildAttachPoint } from "./attach_point.ts";
 * import { Diagnostics } from "./diagnostics.ts";
 * import assert from "node:assert/strict";
 * const span = { start: 0, end: 14, line: 1, col: 1 };
 * const ap = buildAttachPoint({ raw: "k:do_open+0x10", parts: ["k", "do_open+0x10"], end: 14 }, span, new Diagnostics());
 * assert.equal(ap?.provider, "kprobe");
 * assert.equal(ap?.target, "do_open");
 * assert.equal(ap?.offset, 16);
 * ```
 *
 * @param raw The scanned text.
 * @param span Its span.
 * @param diag Where errors go.
 * @returns The node, or `undefined` after reporting an error.
 */
export function buildAttachPoint(
  raw: RawAttachPoint,
  span: Span,
  diag: Diagnostics,
): AttachPointNode | undefined {
  if (raw.failed) return undefined;
  const [head, ...parts] = raw.parts;
  const provider = Object.hasOwn(PROVIDERS, head) ? PROVIDERS[head] : undefined;
  if (provider === undefined) {
    diag.error(
      span,
      `Unknown attach point type ${quote(head)}${
        didYouMean(head, Object.keys(PROVIDERS).filter((p) => p.length > 2))
      }`,
    );
    return undefined;
  }
  const shape = parseAttachParts(provider, parts);
  if ("problem" in shape && shape.problem === "name") {
    // bpftrace's words, without the attach point around them.
    diag.error(span, describe(provider, shape));
    return undefined;
  }
  if ("problem" in shape) {
    diag.error(
      span,
      `Invalid attach point ${quote(raw.raw)}: ${describe(provider, shape)}`,
    );
    return undefined;
  }
  const node: AttachPointNode = {
    kind: "attach",
    provider,
    raw: raw.raw,
    parts,
    target: shape.target,
    wildcard: shape.wildcard,
    span,
  };
  // In the order the fields were always set (printed ASTs keep it).
  if (provider === "watchpoint") node.period = shape.period;
  if (shape.address !== undefined) node.address = shape.address;
  if (shape.symbol !== undefined) node.symbol = shape.symbol;
  if (shape.offset !== undefined) node.offset = shape.offset;
  if (shape.unit !== undefined) node.unit = shape.unit;
  if (shape.period !== undefined) node.period = shape.period;
  return node;
}
