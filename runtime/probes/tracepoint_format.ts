/**
 * Tracepoint metadata: parsing tracefs `format` files into field layouts,
 * reading them from the running kernel (or from the bundled capture when
 * tracefs is absent), listing and wildcard-expanding tracepoint names, and
 * the `__print_symbolic` value tables of their print fmt (for instance the
 * names of `skb:kfree_skb` drop reasons).
 *
 * @module
 */

import type { ContextLayout, FieldLayout } from "../program.ts";
import { bundledFormats } from "./bundled_formats.ts";
import type { BundledField } from "./bundled_formats.ts";
import { globToRegExp, hasWildcard } from "./glob.ts";
import { printFmtTables } from "./print_fmt.ts";
import type { PrintFmtTable } from "./print_fmt.ts";
import { findTracefs } from "./tracefs.ts";

/**
 * A tracepoint record field. `ctype` is the declared type with any array
 * part removed: `char comm[16]` gives `ctype: "char", arrayLen: 16`, and
 * `__data_loc char[] filename` gives `ctype: "char", dataLoc: true`.
 */
export interface TracepointField extends FieldLayout {
  /** One of the `common_*` header fields every record starts with. */
  common: boolean;
  /** The declaration exactly as the format file writes it. */
  decl: string;
  /** `__rel_loc` field: like `__data_loc`, offset relative to the field's end. */
  relLoc?: boolean;
}

/** A parsed tracefs `format` file. */
export interface TracepointFormat {
  /** The tracepoint's category (`skb`). */
  category: string;
  /** The tracepoint's name (`kfree_skb`). */
  name: string;
  /** The tracepoint ID (perf_event_attr.config for PERF_TYPE_TRACEPOINT). */
  id: number;
  /** All fields in record order, `common_*` fields included and flagged. */
  fields: TracepointField[];
  /** The `print fmt:` text (format string and arguments), if present. */
  printFmt?: string;
}

/** A tracepoint that neither tracefs nor the bundled data knows. */
export class UnknownTracepointError extends TypeError {
  /** The category asked for. */
  readonly category: string;
  /** The event name asked for. */
  readonly tracepoint: string;

  /**
   * @param category The category, e.g. "skb".
   * @param name The event name, e.g. "kfree_skbx".
   */
  constructor(category: string, name: string) {
    // bpftrace 0.26's wording, which users search for.
    super(`No matches for tracepoint ${category}:${name}`);
    this.name = "UnknownTracepointError";
    this.category = category;
    this.tracepoint = name;
  }
}

let root: string | null | undefined;

/**
 * The readable tracefs mount (`/sys/kernel/tracing` or
 * `/sys/kernel/debug/tracing`, or only `$TSBPF_TRACEFS` when that is set),
 * or undefined. Probed once (see `findTracefs`).
 *
 * @example Finding tracefs
 * ```ts
 * import { tracefsRoot } from "./tracepoint_format.ts";
 *
 * console.log(tracefsRoot() ?? "no tracefs: bundled formats will be used");
 * ```
 */
export function tracefsRoot(): string | undefined {
  if (root === undefined) root = findTracefs() ?? null;
  return root ?? undefined;
}

/**
 * Split a field declaration into name, type, array length and location
 * flags.
 *
 * @example Declarations of every shape
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFieldDecl } from "./tracepoint_format.ts";
 *
 * assert.deepEqual(parseFieldDecl("char comm[16]"), { name: "comm", ctype: "char", arrayLen: 16 });
 * assert.deepEqual(parseFieldDecl("__data_loc char[] filename"), { name: "filename", ctype: "char", dataLoc: true });
 * assert.deepEqual(parseFieldDecl("const char * filename"), { name: "filename", ctype: "const char *" });
 * ```
 */
export function parseFieldDecl(decl: string): {
  name: string;
  ctype: string;
  dataLoc?: boolean;
  relLoc?: boolean;
  arrayLen?: number;
} {
  let rest = decl.trim();
  let dataLoc = false;
  let relLoc = false;
  if (rest.startsWith("__data_loc ")) {
    dataLoc = true;
    rest = rest.slice(11).trim();
  } else if (rest.startsWith("__rel_loc ")) {
    relLoc = true;
    rest = rest.slice(10).trim();
  }
  const m = /^(.*?)\s*([A-Za-z_$][\w$]*)\s*(?:\[\s*(\w*)\s*\])?$/.exec(rest);
  if (m === null || m[1] === "") {
    throw new SyntaxError(`Cannot parse tracepoint field "${decl}"`);
  }
  let ctype = m[1].replace(/\s+/g, " ").trim();
  const out: ReturnType<typeof parseFieldDecl> = { name: m[2], ctype };
  if (dataLoc || relLoc) {
    ctype = ctype.replace(/\s*\[\s*\]$/, "");
    out.ctype = ctype;
    if (dataLoc) out.dataLoc = true;
    if (relLoc) out.relLoc = true;
  }
  if (m[3] !== undefined) {
    const n = m[3] === "" ? 0 : Number(m[3]);
    if (Number.isInteger(n)) out.arrayLen = n;
  }
  return out;
}

function makeField(
  decl: string,
  offset: number,
  size: number,
  signed: boolean,
): TracepointField {
  const d = parseFieldDecl(decl);
  const f: TracepointField = {
    name: d.name,
    ctype: d.ctype,
    offset,
    size,
    signed,
    common: d.name.startsWith("common_"),
    decl,
  };
  if (d.dataLoc) f.dataLoc = true;
  if (d.relLoc) f.relLoc = true;
  if (d.arrayLen !== undefined) f.arrayLen = d.arrayLen;
  return f;
}

/**
 * Parse the text of a tracefs `events/CATEGORY/NAME/format` file. The file
 * does not name the category; pass it as `category` when known.
 *
 * @example Parsing a format file
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTracepointFormat } from "./tracepoint_format.ts";
 *
 * const fmt = parseTracepointFormat(`name: sched_process_exec
 * ID: 300
 * format:
 * \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
 * \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;
 *
 * \tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;
 * \tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;
 *
 * print fmt: "filename=%s pid=%d", __get_str(filename), REC->pid
 * `, "sched");
 * assert.equal(fmt.id, 300);
 * assert.equal(fmt.fields.length, 4);
 * assert.equal(fmt.fields[2].dataLoc, true);
 * assert.equal(fmt.fields[3].signed, true);
 * ```
 */
export function parseTracepointFormat(
  text: string,
  category = "",
): TracepointFormat {
  let name = "";
  let id = -1;
  let printFmt: string | undefined;
  const fields: TracepointField[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("field:")) {
      let decl = "";
      let offset = -1;
      let size = -1;
      let signed = false;
      for (const part of line.split(";")) {
        const p = part.trim();
        const colon = p.indexOf(":");
        if (colon < 0) continue;
        const key = p.slice(0, colon);
        const value = p.slice(colon + 1).trim();
        if (key === "field") decl = value;
        else if (key === "offset") offset = Number(value);
        else if (key === "size") size = Number(value);
        else if (key === "signed") signed = value === "1";
      }
      if (decl === "" || !(offset >= 0) || !(size >= 0)) {
        throw new SyntaxError(`Cannot parse tracepoint field line "${line}"`);
      }
      fields.push(makeField(decl, offset, size, signed));
    } else if (line.startsWith("name:")) {
      name = line.slice(5).trim();
    } else if (line.startsWith("ID:")) {
      id = Number(line.slice(3).trim());
    } else if (line.startsWith("print fmt:")) {
      printFmt = line.slice(10).trim();
    }
  }
  if (name === "" || !Number.isInteger(id) || id < 0) {
    throw new SyntaxError(
      `Cannot parse tracepoint format: missing ${name === "" ? "name" : "ID"}`,
    );
  }
  const out: TracepointFormat = { category, name, id, fields };
  if (printFmt !== undefined) out.printFmt = printFmt;
  return out;
}

const NAME_RE = /^[\w.+-]+$/;
const formatCache = new Map<string, TracepointFormat>();

function fromBundle(category: string, name: string): TracepointFormat {
  const data = bundledFormats();
  const e = data.events[`${category}:${name}`];
  if (e === undefined) throw new UnknownTracepointError(category, name);
  const decode = (f: BundledField) => makeField(f[0], f[1], f[2], f[3] === 1);
  const fields = (e[3] ?? data.common).map(decode).concat(e[1].map(decode));
  const out: TracepointFormat = { category, name, id: e[0], fields };
  if (e[2] !== "") out.printFmt = e[2];
  return out;
}

/**
 * Read a tracepoint's format from tracefs when it is readable, else from
 * the bundled capture. Cached per tracepoint: the same object comes back
 * on every call, so do not modify it.
 *
 * @throws {UnknownTracepointError} When the tracepoint does not exist.
 *
 * @example Reading the kfree_skb layout
 * ```ts
 * import assert from "node:assert/strict";
 * import { readTracepointFormat } from "./tracepoint_format.ts";
 *
 * const fmt = readTracepointFormat("skb", "kfree_skb");
 * const reason = fmt.fields.find((f) => f.name === "reason");
 * assert.equal(reason?.size, 4);
 * ```
 */
export function readTracepointFormat(
  category: string,
  name: string,
): TracepointFormat {
  const key = `${category}:${name}`;
  const cached = formatCache.get(key);
  if (cached !== undefined) return cached;
  if (!NAME_RE.test(category) || !NAME_RE.test(name)) {
    throw new UnknownTracepointError(category, name);
  }
  const r = tracefsRoot();
  let text: string | undefined;
  if (r !== undefined) {
    try {
      text = Deno.readTextFileSync(`${r}/events/${category}/${name}/format`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new UnknownTracepointError(category, name);
      }
      // Not readable after all (permissions): use the bundle.
    }
  }
  if (text === undefined) bundleUsed = true;
  const fmt = text !== undefined
    ? parseTracepointFormat(text, category)
    : fromBundle(category, name);
  formatCache.set(key, fmt);
  return fmt;
}

/**
 * Read a tracepoint's format from the bundled capture only (whatever the
 * machine has). Useful for comparing and for deterministic synthetic runs.
 *
 * @throws {UnknownTracepointError} When the bundle lacks the tracepoint.
 *
 * @example Reading from the bundle
 * ```ts
 * import assert from "node:assert/strict";
 * import { readBundledTracepointFormat } from "./tracepoint_format.ts";
 *
 * assert.equal(readBundledTracepointFormat("skb", "kfree_skb").name, "kfree_skb");
 * ```
 */
export function readBundledTracepointFormat(
  category: string,
  name: string,
): TracepointFormat {
  return fromBundle(category, name);
}

let listCache: string[] | undefined;
let bundleUsed = false;

/**
 * When a tracepoint format or the tracepoint list came from the bundled
 * capture because tracefs could not be read, one sentence saying so and
 * what it risks (the bundle is another kernel build's: layouts and value
 * names such as drop reasons may differ); else undefined.
 *
 * @example After compiling
 * ```ts
 * import { bundledFormatsNotice } from "./tracepoint_format.ts";
 * const notice = bundledFormatsNotice();
 * if (notice !== undefined) console.error(notice);
 * ```
 */
export function bundledFormatsNotice(): string | undefined {
  if (!bundleUsed) return undefined;
  return `tracefs is not readable here, so tracepoint formats come from ` +
    `the bundled capture of Linux ${bundledFormats().kernel}: field ` +
    `layouts and value names (such as drop reasons) may differ from ` +
    `this kernel's`;
}

/**
 * Every tracepoint as "category:name", sorted: from tracefs
 * `available_events` (or its events directory), else from the bundle.
 *
 * @example Listing tracepoints
 * ```ts
 * import assert from "node:assert/strict";
 * import { listTracepoints } from "./tracepoint_format.ts";
 *
 * assert.ok(listTracepoints().includes("skb:kfree_skb"));
 * ```
 */
export function listTracepoints(): string[] {
  if (listCache !== undefined) return listCache;
  const r = tracefsRoot();
  let names: string[] | undefined;
  if (r !== undefined) {
    try {
      names = Deno.readTextFileSync(`${r}/available_events`).split("\n")
        .map((l) => l.trim()).filter((l) => l !== "");
    } catch {
      try {
        names = [];
        for (const cat of Deno.readDirSync(`${r}/events`)) {
          if (!cat.isDirectory) continue;
          for (const ev of Deno.readDirSync(`${r}/events/${cat.name}`)) {
            if (ev.isDirectory) names.push(`${cat.name}:${ev.name}`);
          }
        }
      } catch {
        names = undefined;
      }
    }
  }
  if (names === undefined) {
    bundleUsed = true;
    names = Object.keys(bundledFormats().events);
  }
  listCache = [...new Set(names)].sort();
  return listCache;
}

/**
 * Expand a tracepoint pattern ("category:name", each part may use `*` and
 * `?`) to the matching tracepoints, sorted. A pattern without a colon is
 * matched against the whole "category:name". A pattern without wildcards
 * gives itself when it exists, else nothing.
 *
 * @example Expanding patterns
 * ```ts
 * import assert from "node:assert/strict";
 * import { expandTracepoints } from "./tracepoint_format.ts";
 *
 * assert.ok(expandTracepoints("skb:*").includes("skb:kfree_skb"));
 * assert.ok(expandTracepoints("*:kfree_skb").includes("skb:kfree_skb"));
 * assert.deepEqual(expandTracepoints("skb:no_such_event"), []);
 * ```
 */
export function expandTracepoints(
  pattern: string,
  names: readonly string[] = listTracepoints(),
): string[] {
  const colon = pattern.indexOf(":");
  if (!hasWildcard(pattern)) return names.includes(pattern) ? [pattern] : [];
  if (colon < 0) {
    const re = globToRegExp(pattern);
    return names.filter((n) => re.test(n));
  }
  const catRe = globToRegExp(pattern.slice(0, colon));
  const nameRe = globToRegExp(pattern.slice(colon + 1));
  return names.filter((n) => {
    const c = n.indexOf(":");
    return catRe.test(n.slice(0, c)) && nameRe.test(n.slice(c + 1));
  });
}

const tableCache = new WeakMap<TracepointFormat, PrintFmtTable[]>();

function tables(format: TracepointFormat): PrintFmtTable[] {
  let t = tableCache.get(format);
  if (t === undefined) {
    t = format.printFmt === undefined ? [] : printFmtTables(format.printFmt);
    tableCache.set(format, t);
  }
  return t;
}

/**
 * The `__print_symbolic(REC->field, …)` table for a field: value → name.
 * Empty when the print fmt has none for that field.
 *
 * @example Drop reason names of kfree_skb
 * ```ts
 * import assert from "node:assert/strict";
 * import { readTracepointFormat, symbolicValues } from "./tracepoint_format.ts";
 *
 * const reasons = symbolicValues(readTracepointFormat("skb", "kfree_skb"), "reason");
 * assert.equal(reasons.get(2), "NOT_SPECIFIED");
 * ```
 */
export function symbolicValues(
  format: TracepointFormat,
  field: string,
): Map<number, string> {
  const out = new Map<number, string>();
  for (const t of tables(format)) {
    if (t.kind !== "symbolic" || t.field !== field) continue;
    for (const [k, v] of t.values) if (!out.has(k)) out.set(k, v);
  }
  return out;
}

/**
 * The `__print_flags(REC->field, "|", …)` table for a field: bit value →
 * name, plus the delimiter. Undefined when there is none.
 *
 * @example Reading a flags table
 * ```ts
 * import assert from "node:assert/strict";
 * import { flagValues, parseTracepointFormat } from "./tracepoint_format.ts";
 *
 * const fmt = parseTracepointFormat(`name: demo
 * ID: 1
 * \tfield:unsigned int flags;\toffset:8;\tsize:4;\tsigned:0;
 * print fmt: "%s", __print_flags(REC->flags, "|", { 1, "READ" }, { 2, "WRITE" })
 * `);
 * const f = flagValues(fmt, "flags");
 * assert.equal(f?.delimiter, "|");
 * assert.equal(f?.values.get(2), "WRITE");
 * ```
 */
export function flagValues(
  format: TracepointFormat,
  field: string,
): { delimiter: string; values: Map<number, string> } | undefined {
  for (const t of tables(format)) {
    if (t.kind === "flags" && t.field === field) {
      return { delimiter: t.delimiter ?? "|", values: t.values };
    }
  }
  return undefined;
}

/**
 * The `ContextLayout` of a tracepoint program's context (r1): the record's
 * fields, `size` = the end of the last fixed field (dynamic `__data_loc`
 * payloads follow it in real records).
 *
 * @example Context of sched_switch
 * ```ts
 * import assert from "node:assert/strict";
 * import { readTracepointFormat, tracepointContext } from "./tracepoint_format.ts";
 *
 * const ctx = tracepointContext(readTracepointFormat("sched", "sched_switch"));
 * assert.equal(ctx.kind, "tracepoint");
 * assert.ok(ctx.size >= 64);
 * ```
 */
export function tracepointContext(format: TracepointFormat): ContextLayout {
  let size = 0;
  for (const f of format.fields) size = Math.max(size, f.offset + f.size);
  return { kind: "tracepoint", size, fields: format.fields };
}

/**
 * Makes `formats` the only tracepoints there are: `readTracepointFormat`
 * answers from them and `listTracepoints` lists them, with no tracefs or
 * bundle read. A replay compiles against the formats its recording carries.
 *
 * @example Use one format
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   listTracepoints,
 *   readTracepointFormat,
 *   useTracepointFormats,
 * } from "./tracepoint_format.ts";
 * const skb = readTracepointFormat("skb", "kfree_skb");
 * useTracepointFormats([skb]);
 * assert.deepEqual(listTracepoints(), ["skb:kfree_skb"]);
 * ```
 */
export function useTracepointFormats(formats: TracepointFormat[]): void {
  formatCache.clear();
  for (const f of formats) formatCache.set(`${f.category}:${f.name}`, f);
  listCache = [...formatCache.keys()].sort();
}
