/**
 * Lays out the struct and union definitions of a script's preamble for
 * `sizeof` and `offsetof` (`c_structs.ts` holds the result): nested
 * definitions, anonymous members, `__attribute__((packed))`. Loaded on
 * demand, for the scripts that define a struct or union.
 *
 * @module
 */

import {
  type CField,
  type CLayoutFailure,
  type CRecord,
  CStructs,
  normalize,
  scalarSize,
} from "./c_structs.ts";

/**
 * A definition that could not be laid out.
 *
 * @example Usage
 * ```ts
 * import { CLayoutError } from "./c_layout.ts";
 * const e = new CLayoutError(0, "struct a", "In struct a: cannot read member");
 * console.assert(e.type === "struct a" && e instanceof SyntaxError);
 * ```
 */
export class CLayoutError extends SyntaxError implements CLayoutFailure {
  /** Index of the definition in the list given to `parseCStructs`. */
  index: number;
  /** The type it defines (`struct foo`). */
  type: string;

  /** Builds the error for definition `index` of `type`. */
  constructor(index: number, type: string, message: string) {
    super(message);
    this.name = "CLayoutError";
    this.index = index;
    this.type = type;
  }
}

/**
 * Lays out the named `struct`/`union` definitions among `defs` (raw C
 * texts, in order; other definitions such as enums and typedefs are
 * skipped). A definition that cannot be laid out is recorded in `errors`.
 *
 * @example A nested struct and a union
 * ```ts
 * import { parseCStructs } from "./c_layout.ts";
 * import assert from "node:assert/strict";
 *
 * const t = parseCStructs([
 *   "struct in { char c; long l; };",
 *   "union u { int i; struct in s; char b[3]; };",
 *   "struct out { short s; struct in x[2]; void *p; };",
 * ]);
 * assert.equal(t.sizeOf("struct in"), 16);
 * assert.equal(t.sizeOf("union u"), 16);
 * assert.equal(t.offsetOf("struct out", ["x", "l"]), 16);
 * assert.equal(t.sizeOf("struct out"), 48);
 * ```
 */
export function parseCStructs(defs: readonly string[]): CStructs {
  const out = new CStructs();
  defs.forEach((text, index) => {
    const d = splitDefinition(text);
    if (d === undefined) return;
    const name = `${d.kind} ${d.tag}`;
    try {
      let anon = 0;
      const define = (
        kind: string,
        tag: string | undefined,
        body: string,
      ): string => {
        const inner = tag === undefined
          ? `${kind} ${d.tag}.anon${anon++}`
          : `${kind} ${tag}`;
        // A nested definition is not packed by its parent's attribute.
        out.add(layout(inner, kind === "union", body, out, false, define));
        return inner;
      };
      out.add(layout(name, d.kind === "union", d.body, out, d.packed, define));
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      out.errors.push(new CLayoutError(index, name, e.message));
    }
  });
  return out;
}

/** A struct or union definition's parts. */
export interface CDefinitionParts {
  /** `struct` or `union`. */
  kind: "struct" | "union";
  /** Its tag (`foo` of `struct foo`). */
  tag: string;
  /** The text between its braces. */
  body: string;
  /** Whether `__attribute__((packed))` follows it. */
  packed: boolean;
}

/**
 * The parts of a `struct`/`union` definition (comments removed, any
 * `__attribute__((...))` after the closing brace read for `packed`), or
 * undefined for other definitions.
 *
 * @example A packed struct
 * ```ts
 * import { splitDefinition } from "./c_layout.ts";
 * const d = splitDefinition("struct a { int x; char y; } /* c *\/ __attribute__((packed));");
 * console.assert(d?.tag === "a" && d.packed && d.body.trim() === "int x; char y;");
 * ```
 */
export function splitDefinition(text: string): CDefinitionParts | undefined {
  const src = text.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/.*$/gm, "");
  const m = /^\s*(struct|union)\s+([A-Za-z_]\w*)\s*\{([\s\S]*)\}([^{}]*)$/
    .exec(src);
  if (m === null) return undefined;
  const tail = m[4].replace(/\s+/g, "");
  if (!/^(__attribute__\(\(.*\)\))*;?$/.test(tail)) return undefined;
  return {
    kind: m[1] as "struct" | "union",
    tag: m[2],
    body: m[3],
    packed: /\bpacked\b/.test(tail),
  };
}

/**
 * A record body's member declarations, split at the `;`s outside braces
 * (the last one may lack its `;`, as clang allows), nested definitions
 * (`struct Bar { int x; } bar;`, `struct { int y; } b;`) replaced by the
 * name `define` gives them. An anonymous member (`struct { int a; };`)
 * is its type's name alone.
 *
 * @example A nested struct
 * ```ts
 * import { memberDeclarations } from "./c_layout.ts";
 * const d = memberDeclarations("int x; struct { int y; } b; int z", () => "struct in");
 * console.assert(d.join("|") === "int x|struct in b|int z");
 * ```
 */
export function memberDeclarations(
  body: string,
  define: (kind: string, tag: string | undefined, body: string) => string,
): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  const push = (end: number) => {
    const decl = body.slice(start, end).trim();
    start = end + 1;
    if (decl === "") return;
    const m = /^(struct|union)\s*([A-Za-z_]\w*)?\s*\{([\s\S]*)\}\s*([\s\S]*)$/
      .exec(decl);
    if (m === null) {
      out.push(decl);
      return;
    }
    const name = define(m[1], m[2], m[3]);
    out.push(m[4] === "" ? name : `${name} ${m[4]}`);
  };
  for (let i = 0; i < body.length; i++) {
    if (body[i] === "{") depth++;
    else if (body[i] === "}") depth--;
    else if (body[i] === ";" && depth === 0) push(i);
  }
  push(body.length);
  return out;
}

function layout(
  name: string,
  union: boolean,
  body: string,
  known: CStructs,
  packed = false,
  define: (kind: string, tag: string | undefined, body: string) => string =
    () => {
      throw new SyntaxError(
        `In ${name}: nested type definitions are not supported`,
      );
    },
): CRecord {
  const fields: CField[] = [];
  let size = 0;
  let align = 1;
  for (const decl of memberDeclarations(body, define)) {
    if (/^(struct|union) [^ ]+$/.test(decl) && known.get(decl) !== undefined) {
      // An anonymous member: its fields are the record's own.
      const rec = known.get(decl)!;
      const a = packed ? 1 : rec.align;
      const offset = union ? 0 : Math.ceil(size / a) * a;
      for (const f of rec.fields) {
        fields.push({ ...f, offset: offset + f.offset });
      }
      size = union ? Math.max(size, rec.size) : offset + rec.size;
      align = Math.max(align, a);
      continue;
    }
    if (decl.includes(":")) {
      throw new SyntaxError(
        `In ${name}: bit-fields are not supported: "${decl}"`,
      );
    }
    const parts = splitDecl(decl, name);
    for (const d of parts.declarators) {
      const dm = /^(\**)\s*([A-Za-z_]\w*)\s*((?:\[\s*\w*\s*\]\s*)*)$/.exec(d);
      if (dm === null) {
        throw new SyntaxError(`In ${name}: cannot read member "${d}"`);
      }
      const [, stars, member, dims] = dm;
      let count = 1;
      for (const n of dims.matchAll(/\[\s*(\w*)\s*\]/g)) {
        if (!/^(0x[0-9a-f]+|\d+)$/i.test(n[1])) {
          throw new SyntaxError(
            `In ${name}: array "${member}" needs a constant size`,
          );
        }
        count *= Number(n[1]);
      }
      let esize: number;
      let ealign: number;
      let record: string | undefined;
      if (stars.length > 0) {
        esize = ealign = 8;
      } else {
        const rec = known.get(parts.base);
        const sc = scalarSize(parts.base);
        if (rec !== undefined) {
          esize = rec.size;
          ealign = rec.align;
          record = rec.name;
        } else if (sc !== undefined) {
          esize = ealign = sc;
        } else {
          throw new SyntaxError(
            `In ${name}: unknown type "${parts.base}" of member "${member}"`,
          );
        }
      }
      if (packed) ealign = 1;
      const offset = union ? 0 : Math.ceil(size / ealign) * ealign;
      const f: CField = { name: member, offset, size: esize * count };
      if (record !== undefined) f.record = record;
      fields.push(f);
      size = union ? Math.max(size, f.size) : offset + f.size;
      align = Math.max(align, ealign);
    }
  }
  return { name, size: Math.ceil(size / align) * align, align, fields };
}

/** `const unsigned long *a, b[4]` → base type and declarators. */
function splitDecl(
  decl: string,
  owner: string,
): { base: string; declarators: string[] } {
  const clean = decl.replace(/\b(const|volatile|restrict|__user)\b/g, " ")
    .replace(/\*/g, " * ").replace(/\s+/g, " ").trim();
  const [head, ...rest] = clean.split(",");
  // The base type is every word of the first declarator before the name.
  const split = splitDeclarator(head.trim());
  if (split === undefined || split[0].trim() === "") {
    throw new SyntaxError(`In ${owner}: cannot read member "${decl}"`);
  }
  return {
    base: normalize(split[0]),
    declarators: [split[1], ...rest].map((d) => d.replace(/\s+/g, "").trim()),
  };
}

/**
 * `unsigned long * a [4]` → `["unsigned long", "* a [4]"]`: the words
 * before the last declarator, and the declarator (its stars, name and
 * array lengths). Scans from the end once: a regular expression doing the
 * same backtracks quadratically on a long word.
 */
function splitDeclarator(h: string): [string, string] | undefined {
  let end = h.length;
  while (end > 0 && h[end - 1] === "]") {
    const open = h.lastIndexOf("[", end - 1);
    if (open < 0) return undefined;
    end = open;
    while (end > 0 && h[end - 1] === " ") end--;
  }
  let start = end;
  while (start > 0 && /\w/.test(h[start - 1])) start--;
  if (start === end || /\d/.test(h[start])) return undefined;
  while (start > 0 && (h[start - 1] === " " || h[start - 1] === "*")) start--;
  return [h.slice(0, start), h.slice(start)];
}
