/**
 * The bundled kernel type table: the structures common tools read,
 * captured from one kernel's BTF by `deno task btf:capture`
 * (`tools/capture_types.ts`), for machines without BTF (macOS, Windows,
 * kernels built without `CONFIG_DEBUG_INFO_BTF`). It is a BTF blob, read
 * by the same reader and answered by the same queries as the kernel's.
 *
 * @module
 */

import { BtfFormatError } from "./btf_types.ts";
import { parseBtf } from "./btf_reader.ts";
import { KernelTypes } from "./kernel_types.ts";

/** The content of `data/kernel_types.json`. */
export interface BundledTypesInfo {
  /** The format of this description. */
  version: 1;
  /** The kernel release the table was captured from. */
  kernel: string;
  /** The BTF file it was captured from. */
  source: string;
  /** Size of `kernel_types.btf`. */
  bytes: number;
  /** `struct name` / `union name` → the members kept. */
  structs: Record<string, string[]>;
  /** Enums kept whole besides those members refer to. */
  enums: string[];
}

let cached: KernelTypes | undefined;
let cachedInfo: BundledTypesInfo | undefined;

function dataUrl(file: string): URL {
  const url = new URL(`./data/${file}`, import.meta.url);
  if (url.protocol !== "file:") {
    throw new BtfFormatError(
      url.href,
      "the bundled types are not a local file",
    );
  }
  return url;
}

/**
 * The description of the bundled table (read once).
 *
 * @example Which kernel the table comes from
 * ```ts
 * import assert from "node:assert/strict";
 * import { bundledTypesInfo } from "./bundled_types.ts";
 *
 * const info = bundledTypesInfo();
 * assert.ok(info.structs["struct task_struct"].includes("pid"));
 * ```
 *
 * @throws {BtfFormatError} When the file cannot be read.
 */
export function bundledTypesInfo(): BundledTypesInfo {
  if (cachedInfo !== undefined) return cachedInfo;
  const url = dataUrl("kernel_types.json");
  try {
    cachedInfo = JSON.parse(Deno.readTextFileSync(url)) as BundledTypesInfo;
  } catch (e) {
    throw new BtfFormatError(
      url.pathname,
      e instanceof Error ? e.message : String(e),
    );
  }
  return cachedInfo;
}

/**
 * The bundled kernel types (read once); `source` is `"bundled"`.
 *
 * @example Reading a field offset from the bundle
 * ```ts
 * import assert from "node:assert/strict";
 * import { bundledTypes } from "./bundled_types.ts";
 *
 * const types = bundledTypes();
 * const task = types.lookup("struct task_struct")!;
 * assert.equal(types.field(task, "comm")?.size, 16);
 * assert.equal(types.source, "bundled");
 * ```
 *
 * @throws {BtfFormatError} When the table cannot be read.
 */
export function bundledTypes(): KernelTypes {
  if (cached !== undefined) return cached;
  const url = dataUrl("kernel_types.btf");
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(url);
  } catch (e) {
    throw new BtfFormatError(
      url.pathname,
      e instanceof Error ? e.message : String(e),
    );
  }
  const info = bundledTypesInfo();
  cached = new KernelTypes(
    parseBtf(bytes, url.pathname),
    "bundled",
    `bundled types (captured from Linux ${info.kernel})`,
  );
  return cached;
}
