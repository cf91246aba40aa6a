/**
 * A lazy reader of BTF blobs: `/sys/kernel/btf/vmlinux`, module BTF (split
 * BTF whose type ids and string offsets continue those of vmlinux), and
 * blobs made by {@link encodeBtf}.
 *
 * Parsing checks the header only. The first access to a type scans the type
 * section once to learn where each record starts (a few milliseconds for
 * vmlinux); a record is decoded into a {@link BtfType} when asked for, and
 * kept. Any inconsistency (a truncated section, an unknown kind, a type id
 * or string offset out of range) is a {@link BtfFormatError}, never a
 * `RangeError` from a `DataView`.
 *
 * @module
 */

import {
  BTF_HEADER_SIZE,
  BTF_KIND,
  BTF_KIND_NAMES,
  BTF_MAGIC,
  BTF_TYPE_SIZE,
  BtfFormatError,
  VOID_TYPE,
} from "./btf_types.ts";
import type {
  BtfKindName,
  BtfMember,
  BtfParam,
  BtfType,
  DatasecEntry,
  EnumValue,
} from "./btf_types.ts";

const utf8 = new TextDecoder();

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Strings decoded one by one before the whole section is decoded once. */
const SINGLE_STRING_CALLS = 512;

/** Bytes of kind-specific data after the fixed record, per kind and vlen. */
function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case BTF_KIND.int:
    case BTF_KIND.var:
    case BTF_KIND.decl_tag:
      return 4;
    case BTF_KIND.array:
      return 12;
    case BTF_KIND.struct:
    case BTF_KIND.union:
    case BTF_KIND.enum64:
    case BTF_KIND.datasec:
      return 12 * vlen;
    case BTF_KIND.enum:
    case BTF_KIND.func_proto:
      return 8 * vlen;
    default:
      return 0;
  }
}

/**
 * The hash {@link Btf.stringHash} computes, of a name's UTF-8 bytes.
 *
 * @example Hashing agrees with the blob's
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBtf } from "./btf_writer.ts";
 * import { hashName, parseBtf } from "./btf_reader.ts";
 *
 * const btf = parseBtf(encodeBtf([{ kind: "fwd", name: "sock" }]), "x");
 * assert.equal(btf.stringHash(btf.recordNameOff(1)), hashName(new TextEncoder().encode("sock")));
 * ```
 */
export function hashName(name: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name[i], 0x01000193);
  return h >>> 0;
}

/**
 * One BTF blob, optionally split on top of a base blob.
 *
 * @example Reading types from a blob
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBtf } from "./btf_writer.ts";
 * import { parseBtf } from "./btf_reader.ts";
 *
 * const blob = encodeBtf([
 *   { kind: "int", name: "int", size: 4, signed: true },
 *   { kind: "ptr", target: 1 },
 * ]);
 * const btf = parseBtf(blob, "example");
 * assert.equal(btf.type(2).kind, "ptr");
 * assert.equal(btf.endId, 3);
 * ```
 */
export class Btf {
  /** Where the blob came from, for messages. */
  readonly source: string;
  /** The base blob of a split blob. */
  readonly base: Btf | undefined;
  /** The first type id this blob defines (1, or the base's `endId`). */
  readonly firstId: number;
  /** The first string offset this blob defines (0, or past the base's). */
  readonly firstStringOffset: number;

  #bytes: Uint8Array;
  #view: DataView;
  #le: boolean;
  #typeStart: number;
  #typeEnd: number;
  #strStart: number;
  #strLen: number;
  #offsets: Uint32Array | undefined;
  #count = -1;
  #cache: (BtfType | undefined)[] = [];
  /** The blob as words, when their order is the host's and aligned. */
  #words: Uint32Array | undefined;
  #strText: string | undefined;
  #strCalls = 0;
  #strAscii = false;

  /** Use {@link parseBtf}. */
  constructor(bytes: Uint8Array, source: string, base?: Btf) {
    this.source = source;
    this.base = base;
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteLength < BTF_HEADER_SIZE) {
      throw this.#error(
        `${bytes.byteLength} bytes is shorter than the ${BTF_HEADER_SIZE}-byte header`,
      );
    }
    const magic = this.#view.getUint16(0, true);
    if (magic === BTF_MAGIC) this.#le = true;
    else if (magic === 0x9feb) this.#le = false;
    else {
      throw this.#error(
        `bad magic 0x${magic.toString(16)} (expected 0x${
          BTF_MAGIC.toString(16)
        })`,
      );
    }
    const version = bytes[2];
    if (version !== 1) throw this.#error(`unsupported version ${version}`);
    const hdrLen = this.#u32(4);
    if (hdrLen < BTF_HEADER_SIZE || hdrLen > bytes.byteLength) {
      throw this.#error(`bad header length ${hdrLen}`);
    }
    const typeOff = this.#u32(8), typeLen = this.#u32(12);
    const strOff = this.#u32(16), strLen = this.#u32(20);
    this.#typeStart = hdrLen + typeOff;
    this.#typeEnd = this.#typeStart + typeLen;
    this.#strStart = hdrLen + strOff;
    this.#strLen = strLen;
    if (this.#typeEnd > bytes.byteLength) {
      throw this.#error(
        `type section (${typeLen} bytes at ${this.#typeStart}) runs past the end (${bytes.byteLength} bytes): truncated?`,
      );
    }
    if (this.#strStart + strLen > bytes.byteLength) {
      throw this.#error(
        `string section (${strLen} bytes at ${this.#strStart}) runs past the end (${bytes.byteLength} bytes): truncated?`,
      );
    }
    if (typeLen % 4 !== 0) {
      throw this.#error(
        `type section length ${typeLen} is not a multiple of 4`,
      );
    }
    if (base === undefined && strLen > 0 && bytes[this.#strStart] !== 0) {
      throw this.#error("string section does not start with an empty string");
    }
    if (strLen > 0 && bytes[this.#strStart + strLen - 1] !== 0) {
      throw this.#error("string section does not end with a NUL byte");
    }
    if (
      this.#le === HOST_LITTLE_ENDIAN && bytes.byteOffset % 4 === 0 &&
      this.#typeStart % 4 === 0
    ) {
      this.#words = new Uint32Array(
        bytes.buffer,
        bytes.byteOffset,
        bytes.byteLength >>> 2,
      );
    }
    this.firstId = base === undefined ? 1 : base.endId;
    this.firstStringOffset = base === undefined
      ? 0
      : base.firstStringOffset + base.#strLen;
  }

  /** One past the last type id defined here (and in the base). */
  get endId(): number {
    return this.firstId + this.#scan();
  }

  /** The number of types this blob itself defines. */
  get typeCount(): number {
    return this.#scan();
  }

  /** Bytes of the blob itself (not counting the base). */
  get byteLength(): number {
    return this.#bytes.byteLength;
  }

  /** The kind of type `id` (`"void"` for 0), without decoding it. */
  kind(id: number): BtfKindName | "void" {
    if (id === 0) return "void";
    const own = this.#own(id);
    if (own === undefined) return this.base!.kind(id);
    return BTF_KIND_NAMES[(this.#u32(own + 4) >>> 24) & 0x1f]!;
  }

  /** The name of type `id` ("" when anonymous), without decoding it. */
  name(id: number): string {
    if (id === 0) return "";
    const own = this.#own(id);
    if (own === undefined) return this.base!.name(id);
    return this.string(this.#u32(own));
  }

  /**
   * The type with id `id`, decoded on first use.
   *
   * @throws {BtfFormatError} When `id` is out of range or its record is bad.
   */
  type(id: number): BtfType {
    if (id === 0) return VOID_TYPE;
    const own = this.#own(id);
    if (own === undefined) return this.base!.type(id);
    const i = id - this.firstId;
    return this.#cache[i] ??= this.#decode(id, own);
  }

  /**
   * The string at offset `offset` of the (combined) string section.
   *
   * @throws {BtfFormatError} When the offset is outside the section.
   */
  string(offset: number): string {
    if (offset < this.firstStringOffset) return this.base!.string(offset);
    const rel = offset - this.firstStringOffset;
    if (rel >= this.#strLen) {
      throw this.#error(
        `string offset ${offset} is outside the string section (${this.#strLen} bytes)`,
      );
    }
    if (
      this.#strText === undefined && ++this.#strCalls <= SINGLE_STRING_CALLS
    ) {
      // A few names: decode just them, not megabytes of strings.
      const start = this.#strStart + rel;
      const end = this.#bytes.indexOf(0, start);
      return utf8.decode(this.#bytes.subarray(start, end));
    }
    if (this.#strText === undefined) {
      this.#strText = utf8.decode(
        this.#bytes.subarray(this.#strStart, this.#strStart + this.#strLen),
      );
      // One character per byte: character offsets are byte offsets.
      this.#strAscii = this.#strText.length === this.#strLen;
    }
    if (this.#strAscii) {
      return this.#strText.slice(rel, this.#strText.indexOf("\0", rel));
    }
    const start = this.#strStart + rel;
    const end = this.#bytes.indexOf(0, start);
    return utf8.decode(this.#bytes.subarray(start, end));
  }

  /**
   * A 32-bit FNV-1a hash of the bytes of the string at `offset`, for
   * indexes that avoid decoding names (see {@link hashName}).
   */
  stringHash(offset: number): number {
    if (offset < this.firstStringOffset) return this.base!.stringHash(offset);
    const bytes = this.#bytes;
    let at = this.#stringStart(offset);
    let h = 0x811c9dc5;
    for (let c = bytes[at]; c !== 0; c = bytes[++at]) {
      h = Math.imul(h ^ c, 0x01000193);
    }
    return h >>> 0;
  }

  /** Whether the string at `offset` has exactly the bytes `name`. */
  stringEquals(offset: number, name: Uint8Array): boolean {
    if (offset < this.firstStringOffset) {
      return this.base!.stringEquals(offset, name);
    }
    const bytes = this.#bytes;
    const at = this.#stringStart(offset);
    for (let i = 0; i < name.length; i++) {
      if (bytes[at + i] !== name[i]) return false;
    }
    return bytes[at + name.length] === 0;
  }

  #stringStart(offset: number): number {
    const rel = offset - this.firstStringOffset;
    if (rel >= this.#strLen) {
      throw this.#error(
        `string offset ${offset} is outside the string section (${this.#strLen} bytes)`,
      );
    }
    return this.#strStart + rel;
  }

  /**
   * Low-level access for indexes, for a type `id` this blob defines (not
   * its base): the kind number of its record.
   */
  recordKind(id: number): number {
    return (this.#u32(this.#recordAt(id) + 4) >>> 24) & 0x1f;
  }

  /** The name offset of a record (see {@link Btf.recordKind}). */
  recordNameOff(id: number): number {
    return this.#u32(this.#recordAt(id));
  }

  /** The `vlen` of a record (see {@link Btf.recordKind}). */
  recordVlen(id: number): number {
    return this.#u32(this.#recordAt(id) + 4) & 0xffff;
  }

  /** Byte offset of a record's kind-specific data (see {@link Btf.recordKind}). */
  recordData(id: number): number {
    return this.#recordAt(id) + BTF_TYPE_SIZE;
  }

  #recordAt(id: number): number {
    if (this.#offsets === undefined) this.#scan();
    return this.#offsets![id - this.firstId];
  }

  /** One past the last string offset defined here (and in the base). */
  get endStringOffset(): number {
    return this.firstStringOffset + this.#strLen;
  }

  /** A little-endian-or-not 32-bit word of the blob at byte `at`. */
  u32(at: number): number {
    return this.#u32(at);
  }

  /** Scan the type section once; returns the number of types. */
  #scan(): number {
    if (this.#count >= 0) return this.#count;
    const end = this.#typeEnd;
    // Every record is at least 12 bytes: an upper bound on the count.
    let offsets = new Uint32Array(
      ((end - this.#typeStart) / BTF_TYPE_SIZE) | 0,
    );
    let n = 0;
    let at = this.#typeStart;
    const view = this.#view, le = this.#le, words = this.#words;
    while (at < end) {
      if (at + BTF_TYPE_SIZE > end) {
        throw this.#error(
          `type ${
            this.firstId + n
          } at byte ${at} is cut off by the end of the type section`,
        );
      }
      const info = words !== undefined
        ? words[(at + 4) >>> 2]
        : view.getUint32(at + 4, le);
      const kind = (info >>> 24) & 0x1f;
      if (kind === 0 || kind > BTF_KIND.enum64) {
        throw this.#error(
          `type ${this.firstId + n} at byte ${at} has unknown kind ${kind}`,
        );
      }
      offsets[n++] = at;
      at += BTF_TYPE_SIZE + extraBytes(kind, info & 0xffff);
    }
    if (at > end) {
      throw this.#error(
        `type ${
          this.firstId + n - 1
        } runs past the end of the type section: truncated?`,
      );
    }
    if (n < offsets.length) offsets = offsets.slice(0, n);
    this.#offsets = offsets;
    this.#cache = new Array(n);
    this.#count = n;
    return n;
  }

  /** The record offset of an id this blob defines, or undefined if base. */
  #own(id: number): number | undefined {
    if (id < this.firstId) {
      if (this.base === undefined || id < 0 || !Number.isInteger(id)) {
        throw this.#error(`type id ${id} is out of range`);
      }
      return undefined;
    }
    const n = this.#scan();
    const i = id - this.firstId;
    if (i >= n || !Number.isInteger(id)) {
      throw this.#error(
        `type id ${id} is out of range (last is ${this.firstId + n - 1})`,
      );
    }
    return this.#offsets![i];
  }

  #u32(at: number): number {
    const words = this.#words;
    return words !== undefined
      ? words[at >>> 2]
      : this.#view.getUint32(at, this.#le);
  }

  #ref(id: number, what: string, ref: number): number {
    if (ref >= this.firstId + this.#scan()) {
      throw this.#error(
        `type ${id} refers to ${what} ${ref}, which is out of range`,
      );
    }
    return ref;
  }

  #decode(id: number, at: number): BtfType {
    const nameOff = this.#u32(at);
    const info = this.#u32(at + 4);
    const vlen = info & 0xffff;
    const kindFlag = (info >>> 31) === 1;
    const kind = BTF_KIND_NAMES[(info >>> 24) & 0x1f]!;
    const sizeOrType = this.#u32(at + 8);
    const name = this.string(nameOff);
    const data = at + BTF_TYPE_SIZE;
    const ref = (what: string, r: number) => this.#ref(id, what, r);
    switch (kind) {
      case "int": {
        const enc = this.#u32(data);
        const bits = enc & 0xff;
        const bitOffset = (enc >>> 16) & 0xff;
        const flags = (enc >>> 24) & 0x0f;
        if (bits === 0 || bits > 128 || bitOffset + bits > sizeOrType * 8) {
          throw this.#error(
            `int type ${id} ("${name}") has ${bits} bits at bit ${bitOffset} in ${sizeOrType} bytes`,
          );
        }
        return {
          id,
          name,
          kind,
          size: sizeOrType,
          signed: (flags & 1) !== 0,
          char: (flags & 2) !== 0,
          bool: (flags & 4) !== 0,
          bits,
          bitOffset,
        };
      }
      case "float":
        return { id, name, kind, size: sizeOrType };
      case "ptr":
        return { id, name, kind, target: ref("type", sizeOrType) };
      case "array":
        return {
          id,
          name,
          kind,
          element: ref("element type", this.#u32(data)),
          index: ref("index type", this.#u32(data + 4)),
          count: this.#u32(data + 8),
        };
      case "struct":
      case "union": {
        const members: BtfMember[] = [];
        for (let i = 0; i < vlen; i++) {
          const m = data + 12 * i;
          const off = this.#u32(m + 8);
          members.push({
            name: this.string(this.#u32(m)),
            type: ref(`member ${i}'s type`, this.#u32(m + 4)),
            bitOffset: kindFlag ? off & 0xffffff : off,
            bitSize: kindFlag ? off >>> 24 : 0,
          });
        }
        return { id, name, kind, size: sizeOrType, members };
      }
      case "enum":
      case "enum64": {
        const values: EnumValue[] = [];
        for (let i = 0; i < vlen; i++) {
          if (kind === "enum") {
            const e = data + 8 * i;
            const raw = this.#u32(e + 4);
            values.push({
              name: this.string(this.#u32(e)),
              value: BigInt(kindFlag ? raw | 0 : raw),
            });
          } else {
            const e = data + 12 * i;
            const v = (BigInt(this.#u32(e + 8)) << 32n) |
              BigInt(this.#u32(e + 4));
            values.push({
              name: this.string(this.#u32(e)),
              value: kindFlag ? BigInt.asIntN(64, v) : v,
            });
          }
        }
        return { id, name, kind, size: sizeOrType, signed: kindFlag, values };
      }
      case "fwd":
        return { id, name, kind, union: kindFlag };
      case "typedef":
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag":
        return { id, name, kind, target: ref("type", sizeOrType) };
      case "func_proto": {
        const params: BtfParam[] = [];
        let variadic = false;
        for (let i = 0; i < vlen; i++) {
          const p = data + 8 * i;
          const pname = this.string(this.#u32(p));
          const ptype = ref(`parameter ${i}'s type`, this.#u32(p + 4));
          if (i === vlen - 1 && ptype === 0 && pname === "") variadic = true;
          else params.push({ name: pname, type: ptype });
        }
        return {
          id,
          name,
          kind,
          returns: ref("return type", sizeOrType),
          params,
          variadic,
        };
      }
      case "func":
        return {
          id,
          name,
          kind,
          proto: ref("prototype", sizeOrType),
          linkage: vlen,
        };
      case "var":
        return {
          id,
          name,
          kind,
          target: ref("type", sizeOrType),
          linkage: this.#u32(data),
        };
      case "datasec": {
        const vars: DatasecEntry[] = [];
        for (let i = 0; i < vlen; i++) {
          const v = data + 12 * i;
          vars.push({
            type: ref(`variable ${i}'s type`, this.#u32(v)),
            offset: this.#u32(v + 4),
            size: this.#u32(v + 8),
          });
        }
        return { id, name, kind, size: sizeOrType, vars };
      }
      case "decl_tag":
        return {
          id,
          name,
          kind,
          target: ref("type", sizeOrType),
          component: this.#view.getInt32(data, this.#le),
        };
    }
  }

  #error(message: string): BtfFormatError {
    return new BtfFormatError(this.source, message);
  }
}

/**
 * Parse a BTF blob; with `base`, a split blob whose ids and strings
 * continue the base's (module BTF on top of vmlinux). Only the header is
 * read now.
 *
 * @example A split blob continues its base's type ids
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBtf } from "./btf_writer.ts";
 * import { parseBtf } from "./btf_reader.ts";
 *
 * const base = parseBtf(
 *   encodeBtf([{ kind: "int", name: "int", size: 4, signed: true }]),
 *   "vmlinux",
 * );
 * const split = parseBtf(
 *   encodeBtf([{ kind: "ptr", target: 1 }], { base }),
 *   "module",
 *   base,
 * );
 * assert.equal(split.firstId, 2);
 * assert.equal(split.type(1).name, "int");
 * ```
 *
 * @throws {BtfFormatError} When the header is bad or the sections do not fit.
 */
export function parseBtf(bytes: Uint8Array, source: string, base?: Btf): Btf {
  return new Btf(bytes, source, base);
}

/**
 * Read and parse a BTF file such as `/sys/kernel/btf/vmlinux`.
 *
 * @example Reading the running kernel's BTF, when there is one
 * ```ts ignore
 * import { readBtfFile } from "./btf_reader.ts";
 *
 * const vmlinux = readBtfFile("/sys/kernel/btf/vmlinux");
 * console.log(vmlinux.typeCount);
 * ```
 *
 * @throws {BtfFormatError} When the file cannot be read or is not BTF.
 */
export function readBtfFile(path: string, base?: Btf): Btf {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (e) {
    throw new BtfFormatError(path, e instanceof Error ? e.message : String(e));
  }
  return parseBtf(bytes, path, base);
}
