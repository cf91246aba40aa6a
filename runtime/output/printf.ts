/**
 * bpftrace 0.17's `printf()` formatting.
 *
 * Conversion specifiers are found by `lang/printf_format.ts` (re-exported
 * here as `parseFormat` and `FormatSpec`), as bpftrace 0.17 finds them.
 * Text between specifiers goes through `snprintf` with the specifier that
 * follows it (so `%%` there prints `%`), while the text after the last
 * specifier is copied raw (`%%` stays `%%`, as in bpftrace 0.17). Each
 * specifier is rendered by C `snprintf` rules with a 64-bit argument:
 * without a length modifier `%d`/`%u`/`%x` print the low 32 bits, `h` 16
 * bits, `hh` 8 bits, `l`/`ll`/`j`/`z`/`t` all 64 bits. Buffers print with
 * `%r` (printable bytes as they are, others `\xNN`), `%rx` (every byte
 * `\xNN`) and `%rh` (every byte two hex digits, separated by spaces);
 * with a flag, width or precision these three print their own text, as
 * bpftrace 0.17 does.
 *
 * @module
 */

import { type FormatSpec, parseFormat } from "../lang/printf_format.ts";
import { formatBuf, formatValueText } from "./text.ts";
import { onDemand } from "../compiler/on_demand.ts";
import type { Value } from "./types.ts";

export { type FormatSpec, parseFormat } from "../lang/printf_format.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function byteLength(s: string): number {
  // Fast path for ASCII.
  // deno-lint-ignore no-control-regex
  return /^[\x00-\x7f]*$/.test(s) ? s.length : encoder.encode(s).length;
}

function pad(s: string, spec: FormatSpec, zeroOk: boolean): string {
  const n = spec.width - byteLength(s);
  if (n <= 0) return s;
  if (spec.left) return s + " ".repeat(n);
  if (spec.zero && zeroOk) {
    const sign = s.startsWith("-") ? "-" : "";
    const body = sign ? s.slice(1) : s;
    const prefix = body.startsWith("0x") ? "0x" : "";
    return sign + prefix + "0".repeat(n) + body.slice(prefix.length);
  }
  return " ".repeat(n) + s;
}

function toBig(v: Value): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "boolean") return v ? 1n : 0n;
  if (typeof v === "number") return BigInt(Math.trunc(v));
  return 0n;
}

function lengthBits(length: string): number {
  if (length === "hh") return 8;
  if (length === "h") return 16;
  if (length === "") return 32;
  return 64;
}

function formatInteger(spec: FormatSpec, arg: Value): string {
  const raw = toBig(arg);
  const conv = spec.conversion;
  if (conv === "c") {
    return pad(
      String.fromCharCode(Number(BigInt.asUintN(8, raw))),
      spec,
      false,
    );
  }
  if (conv === "p") {
    const p = BigInt.asUintN(64, raw);
    if (p === 0n) return pad("(nil)", spec, false);
    let digits = p.toString(16);
    if (spec.precision !== undefined) {
      digits = digits.padStart(spec.precision, "0");
    }
    return pad("0x" + digits, spec, spec.precision === undefined);
  }
  const bits = lengthBits(spec.length);
  let v: bigint;
  let sign = "";
  if (conv === "d") {
    v = BigInt.asIntN(bits, raw);
    if (v < 0n) {
      sign = "-";
      v = -v;
    }
  } else v = BigInt.asUintN(bits, raw);
  const base = conv === "o" ? 8 : conv === "x" || conv === "X" ? 16 : 10;
  let digits = v.toString(base);
  if (conv === "X") digits = digits.toUpperCase();
  if (spec.precision !== undefined) {
    digits = spec.precision === 0 && v === 0n
      ? ""
      : digits.padStart(spec.precision, "0");
  }
  return pad(sign + digits, spec, spec.precision === undefined);
}

function hexAll(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += "\\x" + b.toString(16).padStart(2, "0");
  return s;
}

/** `%rh`: two lower-case hex digits a byte, separated by spaces. */
function hexSpaced(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0) s += " ";
    s += bytes[i].toString(16).padStart(2, "0");
  }
  return s;
}

function formatString(spec: FormatSpec, arg: Value): string {
  let s: string;
  const isBuf = typeof arg === "object" && !Array.isArray(arg) &&
    arg.type === "buf";
  if (spec.conversion === "rx" && isBuf) s = hexAll(arg.bytes);
  else if (spec.conversion === "rh") {
    s = hexSpaced(
      isBuf
        ? arg.bytes
        : encoder.encode(typeof arg === "string" ? arg : formatValueText(arg)),
    );
  } else if (isBuf) s = formatBuf(arg.bytes);
  else s = formatValueText(arg);
  if (spec.precision !== undefined && byteLength(s) > spec.precision) {
    s = s.length === byteLength(s)
      ? s.slice(0, spec.precision)
      : decoder.decode(encoder.encode(s).subarray(0, spec.precision));
  }
  return pad(s, spec, false);
}

/**
 * Renders one specifier with one argument, as C `snprintf` would.
 *
 * @example
 * ```ts
 * import { formatSpec, parseFormat } from "./printf.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatSpec(parseFormat("%05d")[0], 42), "00042");
 * ```
 */
export function formatSpec(spec: FormatSpec, arg: Value): string {
  switch (spec.conversion) {
    case "r":
    case "rx":
    case "rh":
      if (bufferLiteral(spec)) return spec.text;
      return formatString(spec, arg);
    case "s":
      return formatString(spec, arg);
    case "gr":
      // Loaded on demand for a script whose text has `%gr`.
      return pad(onDemand("gfp").formatGfpFlags(toBig(arg)), spec, false);
    default:
      return formatInteger(spec, arg);
  }
}

/**
 * bpftrace 0.17 prints a buffer specifier with a flag, width or precision
 * (`%10rx`, `%-r`, `%.2rh`) as its own text.
 */
function bufferLiteral(spec: FormatSpec): boolean {
  return spec.text.length !== spec.conversion.length + 1;
}

/** A printf format split once into literal text and renderers. */
interface CompiledFormat {
  /** Literal text before each specifier (`%%` already resolved). */
  lits: string[];
  /** Per specifier: its renderer, or undefined when it prints nothing. */
  render: (((arg: Value) => string) | undefined)[];
  /** Text after the last specifier, copied raw. */
  tail: string;
}

function formatIntFast(spec: FormatSpec): ((arg: Value) => string) | undefined {
  // Without width or precision a number argument needs no BigInt: integers
  // from the decoder are exact (|v| < 2^53), and `| 0`, `>>> 0` wrap them
  // to 32 bits exactly as C's conversion does.
  if (spec.width !== 0 || spec.precision !== undefined) return undefined;
  const conv = spec.conversion;
  const base = conv === "o" ? 8 : conv === "x" || conv === "X" ? 16 : 10;
  const upper = conv === "X";
  const bits = lengthBits(spec.length);
  const slow = (arg: Value) => formatInteger(spec, arg);
  if (conv === "c" || conv === "p") return undefined;
  if (bits === 64) {
    if (conv === "d") {
      return (a) => Number.isSafeInteger(a) ? String(a) : slow(a);
    }
    return (a) => {
      if (!Number.isSafeInteger(a) || (a as number) < 0) return slow(a);
      const s = (a as number).toString(base);
      return upper ? s.toUpperCase() : s;
    };
  }
  if (bits === 32) {
    if (conv === "d") {
      return (a) =>
        Number.isSafeInteger(a) ? String((a as number) | 0) : slow(a);
    }
    return (a) => {
      if (!Number.isSafeInteger(a)) return slow(a);
      const s = ((a as number) >>> 0).toString(base);
      return upper ? s.toUpperCase() : s;
    };
  }
  return undefined;
}

function compileSpec(spec: FormatSpec): (arg: Value) => string {
  switch (spec.conversion) {
    case "s":
      if (spec.width === 0 && spec.precision === undefined) {
        return (a) => typeof a === "string" ? a : formatString(spec, a);
      }
      return (a) => formatString(spec, a);
    case "r":
    case "rx":
    case "rh":
      if (bufferLiteral(spec)) return () => spec.text;
      return (a) => formatString(spec, a);
    case "gr":
      return (a) => formatSpec(spec, a);
    default:
      return formatIntFast(spec) ?? ((a) => formatInteger(spec, a));
  }
}

function compileFormat(format: string): CompiledFormat {
  const lits: string[] = [];
  const render: CompiledFormat["render"] = [];
  let pos = 0;
  for (const spec of parseFormat(format)) {
    // bpftrace 0.17 hands the text before each specifier to snprintf along
    // with it, so `%%` there prints `%` (and a `%` left over at its end
    // pairs with the specifier's own `%`, which then prints nothing); the
    // text after the last specifier is copied raw.
    const seg = format.slice(pos, spec.index + spec.text.length);
    const at = spec.index - pos;
    let lit = "";
    let emitted = false;
    for (let j = 0; j < seg.length;) {
      if (seg[j] !== "%") lit += seg[j++];
      else if (seg[j + 1] === "%") {
        lit += "%";
        j += 2;
      } else if (j === at) {
        emitted = true;
        break;
      } else lit += seg[j++];
    }
    lits.push(lit);
    render.push(emitted ? compileSpec(spec) : undefined);
    pos = spec.index + spec.text.length;
  }
  return { lits, render, tail: format.slice(pos) };
}

const MAX_CACHED = 1024;
const compiled = new Map<string, CompiledFormat>();

function compiledFormat(format: string): CompiledFormat {
  let c = compiled.get(format);
  if (c === undefined) {
    if (compiled.size >= MAX_CACHED) compiled.clear();
    c = compileFormat(format);
    compiled.set(format, c);
  }
  return c;
}

/**
 * Formats `printf(format, args...)` output exactly as bpftrace 0.17 does.
 * Escape sequences in `format` are expected to be processed already.
 * Missing arguments render as nothing; extra arguments are ignored (the
 * compiler rejects both). A format is parsed once and kept (up to 1,024
 * distinct formats), so formatting the same format again is cheap.
 *
 * @example
 * ```ts
 * import { formatPrintf } from "./printf.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatPrintf("%-6s|%5d|%x|%lu\n", ["ab", 42, -1, -1]),
 *   "ab    |   42|ffffffff|18446744073709551615\n");
 * ```
 */
export function formatPrintf(format: string, args: Value[]): string {
  const { lits, render, tail } = compiledFormat(format);
  let out = "";
  const n = lits.length;
  for (let i = 0; i < n; i++) {
    out += lits[i];
    const r = render[i];
    if (r !== undefined && i < args.length) out += r(args[i]);
  }
  return out + tail;
}
