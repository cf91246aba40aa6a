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
  kfunc: "kfunc",
  f: "kfunc",
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

const WILDCARD = /[*?]/;

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
  const node: AttachPointNode = {
    kind: "attach",
    provider,
    raw: raw.raw,
    parts,
    target: "",
    wildcard: false,
    span,
  };
  const fail = (why: string): undefined => {
    diag.error(span, `Invalid attach point ${quote(raw.raw)}: ${why}`);
    return undefined;
  };
  const nonEmpty = (what: string): boolean => {
    if (parts.some((x) => x === "")) {
      fail(`empty ${what}`);
      return false;
    }
    return true;
  };
  const splitOffset = (text: string): [string, number | undefined] | null => {
    const plus = text.lastIndexOf("+");
    if (plus < 0) return [text, undefined];
    const off = parseNumber(text.slice(plus + 1));
    if (off === undefined || plus === 0) return null;
    return [text.slice(0, plus), off];
  };
  switch (provider) {
    case "BEGIN":
    case "END":
      if (parts.length > 0) return fail(`${provider} takes no arguments`);
      return node;
    case "test":
    case "bench":
      // `test:NAME`, `bench:NAME`: run by --test / --bench only.
      if (parts.length === 0 || parts[0] === "") {
        diag.error(span, `${provider} probes must have a name`);
        return undefined;
      }
      if (parts.length !== 1 || !/^[A-Za-z0-9_.\-]+$/.test(parts[0])) {
        return fail(`expected "${provider}:NAME"`);
      }
      node.target = parts[0];
      return node;
    case "tracepoint":
      if (parts.length !== 2) {
        return fail('expected "tracepoint:CATEGORY:EVENT"');
      }
      if (!nonEmpty("category or event")) return undefined;
      node.target = `${parts[0]}:${parts[1]}`;
      break;
    case "rawtracepoint":
    case "iter":
      if (parts.length !== 1 || parts[0] === "") {
        return fail(`expected "${provider}:NAME"`);
      }
      node.target = parts[0];
      break;
    case "kprobe":
    case "kretprobe":
    case "kfunc":
    case "kretfunc": {
      if (parts.length < 1 || parts.length > 2) {
        return fail(`expected "${provider}:FUNCTION"`);
      }
      if (!nonEmpty("function")) return undefined;
      const last = parts[parts.length - 1];
      const split = provider === "kprobe"
        ? splitOffset(last)
        : [last, undefined] as const;
      if (split === null) return fail("invalid offset");
      const [fn, off] = split;
      if (!/^[A-Za-z0-9_.*?]+$/.test(fn)) return fail("invalid function name");
      node.target = parts.length === 2 ? `${parts[0]}:${fn}` : fn;
      if (off !== undefined) node.offset = off;
      break;
    }
    case "uprobe":
    case "uretprobe": {
      if (parts.length < 2 || parts.length > 3) {
        return fail(`expected "${provider}:BINARY:SYMBOL"`);
      }
      if (!nonEmpty("binary or symbol")) return undefined;
      node.target = parts[0];
      const last = parts[parts.length - 1];
      const addr = parseNumber(last);
      if (addr !== undefined && /^[0-9]/.test(last)) {
        node.address = addr;
        node.symbol = last;
        break;
      }
      const split = provider === "uprobe"
        ? splitOffset(last)
        : [last, undefined] as const;
      if (split === null) return fail("invalid offset");
      node.symbol = split[0];
      if (split[1] !== undefined) node.offset = split[1];
      break;
    }
    case "usdt":
      if (parts.length < 2 || parts.length > 3) {
        return fail('expected "usdt:BINARY:[PROVIDER:]PROBE"');
      }
      // An empty binary (`usdt::p:n`, like `usdt:*:p:n`) means every file
      // of the `-p` process.
      if (parts.slice(1).some((x) => x === "")) return fail("empty probe");
      node.target = parts[0];
      node.symbol = parts.slice(1).join(":");
      break;
    case "profile":
    case "interval": {
      let unit = "hz";
      let num: string;
      if (parts.length === 2) [unit, num] = parts;
      else if (parts.length === 1 && provider === "profile") num = parts[0];
      else return fail(`expected "${provider}:UNIT:N"`);
      if (unit !== "hz" && unit !== "s" && unit !== "ms" && unit !== "us") {
        return fail(`unknown unit ${quote(unit)}, expected hz, s, ms or us`);
      }
      const n = parseNumber(num);
      if (n === undefined || n <= 0) {
        return fail(`expected a positive number, found ${quote(num)}`);
      }
      node.unit = unit;
      node.period = n;
      node.target = unit;
      return node;
    }
    case "software":
    case "hardware": {
      if (parts.length < 1 || parts.length > 2 || parts[0] === "") {
        return fail(`expected "${provider}:EVENT[:COUNT]"`);
      }
      const events = provider === "software"
        ? SOFTWARE_EVENTS
        : HARDWARE_EVENTS;
      if (!events.has(parts[0]) && !WILDCARD.test(parts[0])) {
        return fail(`unknown ${provider} event ${quote(parts[0])}`);
      }
      node.target = parts[0];
      if (parts.length === 2) {
        const n = parseNumber(parts[1]);
        if (n === undefined || n <= 0) {
          return fail(`expected a positive count, found ${quote(parts[1])}`);
        }
        node.period = n;
      }
      break;
    }
    case "watchpoint": {
      if (parts.length !== 3) {
        return fail('expected "watchpoint:ADDRESS:LENGTH:MODE"');
      }
      const len = parseNumber(parts[1]);
      if (len === undefined || !/^[rwx]+$/.test(parts[2])) {
        return fail("expected a length and a mode of r, w and x");
      }
      node.target = parts[0];
      node.period = len;
      node.symbol = parts[2];
      return node;
    }
  }
  node.wildcard = WILDCARD.test(node.target) ||
    (node.symbol !== undefined && WILDCARD.test(node.symbol));
  return node;
}
