/**
 * Decoding one value from bytes by its {@linkcode TypeDesc}: integers,
 * strings, buffers, addresses, records, arrays, stacks and the names numbers
 * print as. Map and event decoding build on this.
 *
 * @module
 */

import { hostBootTimeNs } from "./boot_time.ts";
import { formatStrftime } from "./strftime.ts";
import type { Program, TypeDesc } from "../program.ts";
import type {
  ArrayValue,
  BufValue,
  Int,
  RecordValue,
  StackValue,
  SymbolResolver,
  Value,
} from "./types.ts";

const MAX_SAFE = 2n ** 53n;
const decoder = new TextDecoder();

/** Turns a 64-bit bigint into a `number` when it is exactly representable. */
export function toInt(v: bigint): Int {
  return v < MAX_SAFE && v > -MAX_SAFE ? Number(v) : v;
}

/** A little-endian view of `bytes`. */
export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function readInt(
  dv: DataView,
  offset: number,
  size: number,
  signed: boolean,
): Int {
  switch (size) {
    case 1:
      return signed ? dv.getInt8(offset) : dv.getUint8(offset);
    case 2:
      return signed ? dv.getInt16(offset, true) : dv.getUint16(offset, true);
    case 4:
      return signed ? dv.getInt32(offset, true) : dv.getUint32(offset, true);
    default: {
      // Fast path: values below 2^52 in magnitude need no BigInt.
      const hi = signed
        ? dv.getInt32(offset + 4, true)
        : dv.getUint32(offset + 4, true);
      if (hi < 0x100000 && hi >= -0x100000) {
        return hi * 0x100000000 + dv.getUint32(offset, true);
      }
      return toInt(
        signed ? dv.getBigInt64(offset, true) : dv.getBigUint64(offset, true),
      );
    }
  }
}

/** Reads a little-endian u64 at `offset`. */
export function readU64(bytes: Uint8Array, offset: number): bigint {
  return view(bytes).getBigUint64(offset, true);
}

/** Reads a little-endian i64 at `offset`. */
export function readI64(bytes: Uint8Array, offset: number): bigint {
  return view(bytes).getBigInt64(offset, true);
}

let passwd: Map<number, string> | undefined;

let numberNamer:
  | ((table: "errno" | "signal" | "syscall", n: number) => string)
  | undefined;

let cgroupNamer: ((id: bigint, filter?: string) => string) | undefined;

/**
 * Loads the names numbers print as (`strerror()`, `signal_name()`,
 * `syscall_name()`) when `program` has such values; until then they
 * decode as their numbers. Kept out of the start-up module graph.
 *
 * @example Usage
 * ```ts
 * import { compile } from "../compiler/compile.ts";
 * import { loadNumberNames } from "./decode.ts";
 * await loadNumberNames(compile("BEGIN { print(strerror(1)); }"));
 * ```
 */
export async function loadNumberNames(program: Program): Promise<void> {
  if (numberNamer !== undefined && cgroupNamer !== undefined) return;
  const text = JSON.stringify([
    program.formats.map((f) => f.action),
    program.maps,
  ]);
  if (cgroupNamer === undefined && text.includes('"table":"cgroup"')) {
    cgroupNamer = (await import("./cgroup_paths.ts")).cgroupPaths;
  }
  if (numberNamer === undefined && text.includes('"kind":"intname"')) {
    numberNamer = (await import("./int_names.ts")).numberName;
  }
}

/**
 * The name /etc/passwd gives `uid`, or `""` when it has none (or cannot be
 * read), as bpftrace prints `username`.
 */
export function userName(uid: number): string {
  if (passwd === undefined) {
    passwd = new Map();
    let text = "";
    try {
      text = Deno.readTextFileSync("/etc/passwd");
    } catch {
      // No file or no permission: every name is unknown.
    }
    for (const line of text.split("\n")) {
      const f = line.split(":");
      if (f.length >= 3 && /^\d+$/.test(f[2]) && !passwd.has(Number(f[2]))) {
        passwd.set(Number(f[2]), f[0]);
      }
    }
  }
  return passwd.get(uid) ?? "";
}

function hexAddr(addr: bigint): string {
  // bpftrace prints an unresolved address with `(void *)` stream output.
  return addr === 0n ? "0" : "0x" + addr.toString(16);
}

/**
 * Formats IPv4 (4 bytes) or IPv6 (16 bytes) addresses as `inet_ntop` does.
 *
 * @example Formatting addresses
 * ```ts
 * import { formatInet } from "./decode.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatInet(new Uint8Array([127, 0, 0, 1])), "127.0.0.1");
 * const v6 = new Uint8Array(16);
 * v6[15] = 1;
 * assert.equal(formatInet(v6), "::1");
 * ```
 */
export function formatInet(addr: Uint8Array): string {
  if (addr.length === 4) return addr.join(".");
  if (addr.length !== 16) return "";
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((addr[i] << 8) | addr[i + 1]);
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms, as glibc prints.
  if (
    words.slice(0, 5).every((w) => w === 0) &&
    (words[5] === 0xffff || (words[5] === 0 && (words[6] !== 0))) &&
    !(words[5] === 0 && words[6] === 0)
  ) {
    const v4 = `${addr[12]}.${addr[13]}.${addr[14]}.${addr[15]}`;
    return words[5] === 0xffff ? `::ffff:${v4}` : `::${v4}`;
  }
  // Longest run (length ≥ 2) of zero words becomes "::".
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return words.map((w) => w.toString(16)).join(":");
  const head = words.slice(0, bestStart).map((w) => w.toString(16));
  const tail = words.slice(bestStart + bestLen).map((w) => w.toString(16));
  return head.join(":") + "::" + tail.join(":");
}

/**
 * Decodes one value of type `type` at `offset` in `bytes`.
 *
 * Integers become {@linkcode Int}; strings stop at the first NUL; tuples
 * become arrays; `ksym`/`usym` are resolved through `resolver` (hexadecimal
 * without one; a 16-byte `usym` passes its tgid as `pid`); `username` through `resolver.username` or /etc/passwd;
 * `kstack`/`ustack` hold a stack id that `resolver.stack` turns into frames
 * (perf mode adds `resolver.stackAddresses` and, for user frames,
 * `resolver.userModule`); `inet` is formatted like `ntop()`; a
 * `timestamp` with a `format` (`strftime()`) becomes that text: the
 * boot-clock nanoseconds plus the boot time (`resolver.bootTimeNs`, else
 * the host's), formatted in local time (without a format: the raw
 * nanoseconds).
 *
 * @example Decoding a tuple of an int and a string
 * ```ts
 * import { decodeValue } from "./decode.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new Uint8Array(12);
 * new DataView(bytes.buffer).setInt32(0, -5, true);
 * bytes.set(new TextEncoder().encode("hi"), 4);
 * const v = decodeValue(bytes, 0, {
 *   kind: "tuple",
 *   fields: [{ kind: "int", size: 4, signed: true }, { kind: "string", size: 8 }],
 *   offsets: [0, 4],
 *   size: 12,
 * });
 * assert.deepEqual(v, [-5, "hi"]);
 * ```
 */
export function decodeValue(
  bytes: Uint8Array,
  offset: number,
  type: TypeDesc,
  resolver?: SymbolResolver,
): Value {
  switch (type.kind) {
    case "int": {
      const v = readInt(view(bytes), offset, type.size, type.signed);
      return type.show === undefined ||
          (type.show === "enum" && resolver?.enumNumbers)
        ? v
        : showInt(v, type);
    }
    case "string": {
      const s = stringAt(bytes, offset, type.size);
      const trailer = resolver?.strTruncTrailer;
      if (
        trailer !== undefined && type.size === trailer.size &&
        bytes.indexOf(0, offset) === offset + type.size - 1
      ) return s + trailer.text;
      return s;
    }
    case "buf": {
      // Layout as bpftrace: a length byte, then the data.
      const len = Math.min(bytes[offset], type.size - 1);
      const buf: BufValue = {
        type: "buf",
        bytes: bytes.slice(offset + 1, offset + 1 + len),
      };
      return buf;
    }
    case "tuple": {
      const vs = type.fields.map((f, i) =>
        decodeValue(bytes, offset + type.offsets[i], f, resolver)
      );
      if (type.names === undefined) return vs;
      const rec: RecordValue = {
        type: "record",
        fields: vs.map((v, i) => [type.names![i], v]),
      };
      return rec;
    }
    case "record": {
      const rec: RecordValue = {
        type: "record",
        fields: type.fields.map((f): [string, Value] => [
          f.name,
          f.bits === undefined
            ? decodeValue(bytes, offset + f.offset, f.type, resolver)
            : bitfield(bytes, offset + f.offset, f.type, f.bits),
        ]),
        struct: true,
      };
      return rec;
    }
    case "array": {
      const es = type.count > 0 ? type.size / type.count : 0;
      const arr: ArrayValue = {
        type: "array",
        values: Array.from(
          { length: type.count },
          (_, i) => decodeValue(bytes, offset + i * es, type.elem, resolver),
        ),
      };
      return arr;
    }
    case "ksym": {
      const addr = readU64(bytes, offset);
      return resolver ? resolver.ksym(addr) : hexAddr(addr);
    }
    case "usym": {
      const addr = readU64(bytes, offset);
      if (!resolver) return hexAddr(addr);
      // Size 16: the tgid follows the address (bpftrace's layout).
      return type.size >= 16
        ? resolver.usym(addr, Number(readU64(bytes, offset + 8) & 0xffffffffn))
        : resolver.usym(addr);
    }
    case "kstack":
    case "ustack": {
      const raw = readU64(bytes, offset);
      const id = Number(BigInt.asIntN(32, raw));
      const kernel = type.kind === "kstack";
      const pid = Number(raw >> 32n);
      if (type.mode === "raw") {
        // No symbols: the addresses in hexadecimal (bpftrace's raw mode).
        const addrs = resolver?.stackAddresses && id >= 0
          ? resolver.stackAddresses(type.mapIndex, id)
          : [];
        return {
          type: "stack",
          kernel,
          mode: "raw",
          frames: addrs.slice(0, type.depth).map((a) => a.toString(16)),
        };
      }
      const stack: StackValue = {
        type: "stack",
        kernel,
        frames: resolver && id >= 0
          ? resolver.stack(type.mapIndex, id, kernel, kernel ? undefined : pid)
            .slice(0, type.depth)
          : [],
      };
      if (type.mode === "perf") {
        stack.mode = "perf";
        const addrs = resolver?.stackAddresses && id >= 0
          ? resolver.stackAddresses(type.mapIndex, id)
          : undefined;
        if (addrs !== undefined) {
          stack.addresses = addrs.slice(0, stack.frames.length);
          // perf mode names the object of every user frame, as bpftrace.
          const mod = resolver?.userModule;
          if (!kernel && mod !== undefined) {
            stack.frames = stack.frames.map((f, i) => {
              const a = stack.addresses![i];
              const m = a === undefined ? undefined : mod(a, pid);
              return `${f} (${m ?? "[unknown]"})`;
            });
          }
        }
      }
      return stack;
    }
    case "inet": {
      // Layout as bpftrace: a u64 address family, then the address bytes.
      if (type.size >= 24) {
        const family = readU64(bytes, offset);
        const len = family === 10n ? 16 : 4;
        return formatInet(bytes.subarray(offset + 8, offset + 8 + len));
      }
      // Six bytes: a MAC address (`macaddr()`), as bpftrace prints it.
      if (type.size === 6) return formatMac(bytes.subarray(offset, offset + 6));
      return formatInet(bytes.subarray(offset, offset + type.size));
    }
    case "timestamp": {
      // Boot-clock nanoseconds (`nsecs`): with a format (`strftime()`),
      // the wall-clock time formatted as bpftrace prints it.
      const ns = readU64(bytes, offset);
      if (type.format === undefined) return toInt(ns);
      if (type.epoch) return formatStrftime(type.format, ns);
      const boot = resolver?.bootTimeNs?.() ?? hostBootTimeNs();
      return formatStrftime(type.format, boot + ns);
    }
    case "username": {
      const uid = view(bytes).getUint32(offset, true);
      return resolver?.username?.(uid) ?? userName(uid);
    }
    case "intname": {
      if (type.table === "cgroup") {
        const id = readU64(bytes, offset);
        return cgroupNamer === undefined ? "" : cgroupNamer(id, type.filter);
      }
      const n = Number(BigInt.asIntN(32, readU64(bytes, offset)));
      return numberNamer === undefined ? String(n) : numberNamer(type.table, n);
    }
    case "none":
      return 0;
  }
}

/**
 * An integer shown as 0.26 prints it: a bool as `true`/`false`, a typed
 * pointer as hex text, an enum as its enumerator's name (its number when
 * the value names none).
 */
function showInt(v: Int, type: TypeDesc & { kind: "int" }): Value {
  switch (type.show) {
    case "bool":
      return v !== 0 && v !== 0n;
    case "hex":
      return "0x" + BigInt.asUintN(64, BigInt(v)).toString(16);
    case "enum": {
      const text = String(v);
      const hit = type.enumerators?.find(([n]) => n === text);
      return hit === undefined ? v : hit[1];
    }
    default:
      return v;
  }
}

/**
 * A NUL-terminated string of at most `size` bytes at `o`: ASCII directly,
 * anything else through `TextDecoder` (the same text either way).
 */
export function stringAt(b: Uint8Array, o: number, size: number): string {
  const end = Math.min(o + size, b.length);
  let i = o;
  for (; i < end; i++) {
    const c = b[i];
    if (c === 0) break;
    if (c >= 0x80) {
      let nul = b.indexOf(0, i);
      if (nul < 0 || nul > end) nul = end;
      return decoder.decode(b.subarray(o, nul));
    }
  }
  if (i === o) return "";
  return String.fromCharCode.apply(
    null,
    b.subarray(o, i) as unknown as number[],
  );
}

/** A bit-field: `width` bits from bit `shift` of the bytes at `offset`. */
export function bitfield(
  bytes: Uint8Array,
  offset: number,
  type: TypeDesc,
  bits: { shift: number; width: number },
): Int {
  let raw = 0n;
  const n = Math.ceil((bits.shift + bits.width) / 8);
  for (let i = n - 1; i >= 0; i--) {
    raw = (raw << 8n) | BigInt(bytes[offset + i] ?? 0);
  }
  let v = (raw >> BigInt(bits.shift)) & ((1n << BigInt(bits.width)) - 1n);
  if (type.kind === "int" && type.signed) v = BigInt.asIntN(bits.width, v);
  return toInt(v);
}

/** Six bytes as a MAC address, `XX:XX:XX:XX:XX:XX` (upper case, as bpftrace). */
function formatMac(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).toUpperCase().padStart(2, "0"))
    .join(":");
}
