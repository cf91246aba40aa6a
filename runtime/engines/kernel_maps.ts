/**
 * The kernel engine's maps: creating a `Program`'s maps in the kernel and
 * reading, clearing and zeroing them through libbpf, per-CPU maps with one
 * value per possible CPU.
 *
 * @module
 */

import type { RawMapEntry } from "./engine.ts";
import type { MapSpec } from "../program.ts";
import { MapType } from "../bpf/opcodes.ts";
import { parseCpuList } from "../../ffi/attach.ts";
import type { NativeLibs } from "../../ffi/libbpf.ts";
import { cstr } from "../../ffi/structs.ts";

/**
 * A kernel program or map name: ≤ 15 characters of `[A-Za-z0-9_.]`.
 *
 * @example Clean a name
 * ```ts
 * import { kernelName } from "./kernel_maps.ts";
 * console.assert(kernelName("tracepoint:skb:kfree_skb") === "tracepoint_skb_");
 * ```
 */
export function kernelName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, "_").slice(0, 15);
}

/**
 * Number of possible CPUs, as per-CPU maps count them.
 *
 * @example Count CPUs
 * ```ts
 * import { possibleCpus } from "./kernel_maps.ts";
 * if (Deno.build.os === "linux") console.assert(possibleCpus() >= 1);
 * ```
 */
export function possibleCpus(): number {
  const cpus = parseCpuList(
    Deno.readTextFileSync("/sys/devices/system/cpu/possible"),
  );
  return Math.max(...cpus) + 1;
}

function isPerCpu(type: number): boolean {
  return type === MapType.PERCPU_HASH || type === MapType.PERCPU_ARRAY ||
    type === MapType.LRU_PERCPU_HASH;
}

function isArray(type: number): boolean {
  return type === MapType.ARRAY || type === MapType.PERCPU_ARRAY;
}

/**
 * The size of a ring buffer map holding at least `n` bytes: a power of two,
 * at least one page.
 *
 * @example Round up
 * ```ts
 * import { ringbufSize } from "./kernel_maps.ts";
 * console.assert(ringbufSize(5000) === 8192);
 * ```
 */
export function ringbufSize(n: number): number {
  let size = 4096;
  while (size < n) size *= 2;
  return size;
}

/** A map loaded in the kernel: what it is and where. */
export interface KernelMap {
  /** The loaded native libraries. */
  n: NativeLibs;
  /** The map as the program declares it. */
  spec: MapSpec;
  /** The map's fd. */
  fd: number;
  /** Possible CPUs (the values a per-CPU map has per key). */
  ncpus: number;
}

/**
 * Creates map number `index` of a program in the kernel; returns its fd.
 *
 * @throws {import("../../ffi/errors.ts").KernelError} when the kernel
 *   refuses.
 * @example Create and close an array map
 * ```ts
 * import { createKernelMap } from "./kernel_maps.ts";
 * import { probeKernel } from "./kernel_probe.ts";
 * import { native } from "../../ffi/libbpf.ts";
 * import { MapType } from "../bpf/opcodes.ts";
 * if (probeKernel().ok) {
 *   const n = native();
 *   const fd = createKernelMap(n, {
 *     name: "@x", type: MapType.ARRAY, keySize: 4, valueSize: 8,
 *     maxEntries: 1, key: { kind: "int", size: 4, signed: false },
 *     internal: false,
 *   }, 0);
 *   n.closeFd(fd);
 * }
 * ```
 */
export function createKernelMap(
  n: NativeLibs,
  m: MapSpec,
  index: number,
): number {
  const ring = m.type === MapType.RINGBUF;
  const name = kernelName(
    `${index}${m.name.replace(/^[@.]/, "_")}`,
  );
  const ret = n.bpf.bpf_map_create(
    m.type,
    cstr(name),
    ring ? 0 : m.keySize,
    ring ? 0 : m.valueSize,
    ring ? ringbufSize(m.maxEntries) : m.maxEntries,
    null,
  );
  return n.check(
    `create map "${m.name}"`,
    ret,
    ret === -1 ? "Creating BPF maps needs root or CAP_BPF" : undefined,
  );
}

/**
 * Every entry of a kernel map; per-CPU maps give one value per possible
 * CPU. A ring buffer has none.
 *
 * @example Read an empty hash map
 * ```ts
 * import assert from "node:assert/strict";
 * import { createKernelMap, readKernelMap } from "./kernel_maps.ts";
 * import { probeKernel } from "./kernel_probe.ts";
 * import { native } from "../../ffi/libbpf.ts";
 * import { MapType } from "../bpf/opcodes.ts";
 * if (probeKernel().ok) {
 *   const n = native();
 *   const spec = {
 *     name: "@h", type: MapType.HASH, keySize: 8, valueSize: 8,
 *     maxEntries: 16, key: { kind: "int", size: 8, signed: false },
 *     internal: false,
 *   } as const;
 *   const fd = createKernelMap(n, spec, 0);
 *   assert.deepEqual(readKernelMap({ n, spec, fd, ncpus: 1 }), []);
 *   n.closeFd(fd);
 * }
 * ```
 */
export function readKernelMap(map: KernelMap): RawMapEntry[] {
  const { n, spec, fd } = map;
  if (spec.type === MapType.RINGBUF) return [];
  const perCpu = isPerCpu(spec.type);
  const stride = perCpu ? Math.ceil(spec.valueSize / 8) * 8 : spec.valueSize;
  const ncpu = perCpu ? map.ncpus : 1;
  if (spec.type !== MapType.STACK_TRACE && spec.keySize > 0) {
    const batch = readBatch(map, stride, ncpu);
    if (batch !== undefined) return batch;
  }
  const out: RawMapEntry[] = [];
  let key: Uint8Array<ArrayBuffer> | null = null;
  for (;;) {
    const next = new Uint8Array(Math.max(spec.keySize, 1));
    const ret = n.bpf.bpf_map_get_next_key(fd, key, next);
    if (ret === -2) break; // ENOENT: end
    n.check(`read map "${spec.name}"`, ret);
    key = next;
    const value = new Uint8Array(Math.max(stride * ncpu, 1));
    const got = n.bpf.bpf_map_lookup_elem(fd, next, value);
    if (got === -2) continue; // deleted meanwhile
    n.check(`read map "${spec.name}"`, got);
    const values: Uint8Array[] = [];
    for (let c = 0; c < ncpu; c++) {
      values.push(value.slice(c * stride, c * stride + spec.valueSize));
    }
    out.push({ key: next.slice(0, spec.keySize), values });
  }
  return out;
}

/**
 * Reads a map with `bpf_map_lookup_batch` (one call per few thousand
 * entries). Undefined when the kernel cannot batch this map type.
 */
function readBatch(
  map: KernelMap,
  stride: number,
  ncpu: number,
): RawMapEntry[] | undefined {
  const { n, spec, fd } = map;
  const { keySize, valueSize } = spec;
  let chunk = Math.max(1, Math.min(spec.maxEntries, 4096));
  // Hash maps pass a u32 bucket token, array maps a key.
  const token = Math.max(keySize, 8);
  let inTok: Uint8Array<ArrayBuffer> | null = null;
  const outTok = new Uint8Array(token);
  const count = new Uint32Array(1);
  const countBytes = new Uint8Array(count.buffer);
  const out: RawMapEntry[] = [];
  for (;;) {
    const keys = new Uint8Array(chunk * keySize);
    const values = new Uint8Array(chunk * stride * ncpu);
    count[0] = chunk;
    const ret = n.bpf.bpf_map_lookup_batch(
      fd,
      inTok,
      outTok,
      keys,
      values,
      countBytes,
      null,
    );
    if (ret < 0 && ret !== -2) {
      // A hash bucket larger than the chunk: retry with more room.
      if (ret === -28 && chunk < spec.maxEntries * 2) {
        chunk *= 2;
        continue;
      }
      if (out.length === 0 && inTok === null) return undefined;
      n.check(`read map "${spec.name}"`, ret);
    }
    const got = count[0];
    for (let i = 0; i < got; i++) {
      const base = i * stride * ncpu;
      const vals: Uint8Array[] = [];
      for (let c = 0; c < ncpu; c++) {
        const at = base + c * stride;
        vals.push(values.subarray(at, at + valueSize));
      }
      // Views into this batch's fresh buffers: no copies.
      out.push({
        key: keys.subarray(i * keySize, (i + 1) * keySize),
        values: vals,
      });
    }
    if (ret === -2) return out; // ENOENT: that was the last batch
    inTok = outTok.slice();
  }
}

/**
 * Deletes every entry of a kernel map (array maps: zeroes every value).
 *
 * @example Clear a hash map
 * ```ts
 * import assert from "node:assert/strict";
 * import { clearKernelMap, createKernelMap, readKernelMap } from "./kernel_maps.ts";
 * import { probeKernel } from "./kernel_probe.ts";
 * import { native } from "../../ffi/libbpf.ts";
 * import { MapType } from "../bpf/opcodes.ts";
 * if (probeKernel().ok) {
 *   const n = native();
 *   const spec = {
 *     name: "@h", type: MapType.HASH, keySize: 8, valueSize: 8,
 *     maxEntries: 16, key: { kind: "int", size: 8, signed: false },
 *     internal: false,
 *   } as const;
 *   const fd = createKernelMap(n, spec, 0);
 *   n.bpf.bpf_map_update_elem(fd, new Uint8Array(8), new Uint8Array(8), 0n);
 *   clearKernelMap({ n, spec, fd, ncpus: 1 });
 *   assert.deepEqual(readKernelMap({ n, spec, fd, ncpus: 1 }), []);
 *   n.closeFd(fd);
 * }
 * ```
 */
export function clearKernelMap(map: KernelMap): void {
  const { n, spec, fd } = map;
  if (spec.type === MapType.RINGBUF) return;
  if (isArray(spec.type)) {
    const stride = isPerCpu(spec.type)
      ? Math.ceil(spec.valueSize / 8) * 8 * map.ncpus
      : spec.valueSize;
    const zero = new Uint8Array(stride);
    const key = new Uint32Array(1);
    for (let i = 0; i < spec.maxEntries; i++) {
      key[0] = i;
      n.check(
        `clear map "${spec.name}"`,
        n.bpf.bpf_map_update_elem(fd, new Uint8Array(key.buffer), zero, 0n),
      );
    }
    return;
  }
  const keys: Uint8Array<ArrayBuffer>[] = [];
  let key: Uint8Array<ArrayBuffer> | null = null;
  for (;;) {
    const next = new Uint8Array(Math.max(spec.keySize, 1));
    const ret = n.bpf.bpf_map_get_next_key(fd, key, next);
    if (ret === -2) break;
    n.check(`clear map "${spec.name}"`, ret);
    keys.push(next);
    key = next;
  }
  for (const k of keys) {
    const ret = n.bpf.bpf_map_delete_elem(fd, k);
    if (ret !== -2) n.check(`clear map "${spec.name}"`, ret);
  }
}

/**
 * Sets every value of a kernel map to zero, keeping the keys (bpftrace's
 * `zero()`).
 *
 * @example Zero a hash map's value
 * ```ts
 * import assert from "node:assert/strict";
 * import { createKernelMap, readKernelMap, zeroKernelMap } from "./kernel_maps.ts";
 * import { probeKernel } from "./kernel_probe.ts";
 * import { native } from "../../ffi/libbpf.ts";
 * import { MapType } from "../bpf/opcodes.ts";
 * if (probeKernel().ok) {
 *   const n = native();
 *   const spec = {
 *     name: "@h", type: MapType.HASH, keySize: 8, valueSize: 8,
 *     maxEntries: 16, key: { kind: "int", size: 8, signed: false },
 *     internal: false,
 *   } as const;
 *   const fd = createKernelMap(n, spec, 0);
 *   const one = new Uint8Array(8).fill(1);
 *   n.bpf.bpf_map_update_elem(fd, new Uint8Array(8), one, 0n);
 *   zeroKernelMap({ n, spec, fd, ncpus: 1 });
 *   const [entry] = readKernelMap({ n, spec, fd, ncpus: 1 });
 *   assert.deepEqual([...entry.values[0]], [0, 0, 0, 0, 0, 0, 0, 0]);
 *   n.closeFd(fd);
 * }
 * ```
 */
export function zeroKernelMap(map: KernelMap): void {
  const { n, spec, fd } = map;
  if (isArray(spec.type)) {
    clearKernelMap(map);
    return;
  }
  if (spec.type === MapType.RINGBUF || spec.type === MapType.STACK_TRACE) {
    return;
  }
  const stride = isPerCpu(spec.type)
    ? Math.ceil(spec.valueSize / 8) * 8 * map.ncpus
    : spec.valueSize;
  const zero = new Uint8Array(stride);
  let key: Uint8Array<ArrayBuffer> | null = null;
  for (;;) {
    const next = new Uint8Array(Math.max(spec.keySize, 1));
    const ret = n.bpf.bpf_map_get_next_key(fd, key, next);
    if (ret === -2) break;
    n.check(`zero map "${spec.name}"`, ret);
    // BPF_EXIST: a key deleted meanwhile stays deleted.
    const up = n.bpf.bpf_map_update_elem(fd, next, zero, 2n);
    if (up !== -2) n.check(`zero map "${spec.name}"`, up);
    key = next;
  }
}
