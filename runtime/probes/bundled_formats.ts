/**
 * The bundled probe data captured by `tools/capture_formats.ts`: tracepoint
 * formats and the x86_64 syscall table, for machines without tracefs.
 *
 * The files are read lazily, on first use, from `./data/` next to this
 * module (a local checkout needs `--allow-read` for them; `-A` covers it).
 *
 * Coverage of the current capture (see each file's header for the kernel):
 * - `tracepoint_formats.json`: every event of tracefs `available_events`
 *   on Linux 6.18 x86_64 (2305 events in 101 categories; the internal
 *   `ftrace:*` events, which cannot be attached, are not in that list).
 * - `syscalls_x86_64.json`: the `__NR_*` numbers of the installed
 *   `asm/unistd_64.h` (linux-libc-dev 6.1: 362 syscalls up to 450);
 *   syscalls added after Linux 6.1 (cachestat, mseal, …) have no number.
 *
 * Re-capture with `deno task formats:capture`.
 *
 * @module
 */

/** A field as bundled: declaration text, offset, size, signed (0 or 1). */
export type BundledField = [
  decl: string,
  offset: number,
  size: number,
  signed: 0 | 1,
];

/**
 * An event as bundled: ID, non-common fields, print fmt ("" if none), and
 * the common fields only when they differ from `BundledFormats.common`.
 */
export type BundledEvent =
  | [id: number, fields: BundledField[], printFmt: string]
  | [
    id: number,
    fields: BundledField[],
    printFmt: string,
    common: BundledField[],
  ];

/** The content of `data/tracepoint_formats.json`. */
export interface BundledFormats {
  version: 1;
  /** `uname -r` of the machine captured from. */
  kernel: string;
  arch: string;
  /** ISO date of the capture. */
  captured: string;
  /** The tracefs root read. */
  source: string;
  /** Which events are included. */
  coverage: string;
  /** The `common_*` fields shared by every event. */
  common: BundledField[];
  /** "category:name" → event. */
  events: Record<string, BundledEvent>;
}

/** The content of `data/syscalls_x86_64.json`. */
export interface BundledSyscalls {
  version: 1;
  arch: "x86_64";
  /** The header the numbers were read from. */
  source: string;
  kernel: string;
  /** Syscall name (no `sys_` prefix) → number. */
  syscalls: Record<string, number>;
}

let formats: BundledFormats | undefined;
let syscalls: BundledSyscalls | undefined;

function load<T>(file: string): T {
  const url = new URL(`./data/${file}`, import.meta.url);
  let text: string;
  try {
    text = url.protocol === "file:" ? Deno.readTextFileSync(url) : (() => {
      throw new Error(`not a local file: ${url.href}`);
    })();
  } catch (e) {
    throw new Error(
      `Cannot read bundled probe data "${file}": ${
        e instanceof Error ? e.message : String(e)
      }`,
    );
  }
  return JSON.parse(text) as T;
}

/**
 * The bundled tracepoint formats (read once, then cached).
 *
 * @example Looking at the bundle's header
 * ```ts
 * import assert from "node:assert/strict";
 * import { bundledFormats } from "./bundled_formats.ts";
 *
 * const data = bundledFormats();
 * assert.ok(data.kernel.length > 0);
 * assert.ok("skb:kfree_skb" in data.events);
 * ```
 */
export function bundledFormats(): BundledFormats {
  return formats ??= load<BundledFormats>("tracepoint_formats.json");
}

/**
 * The bundled x86_64 syscall table (read once, then cached).
 *
 * @example Looking up a number
 * ```ts
 * import assert from "node:assert/strict";
 * import { bundledSyscalls } from "./bundled_formats.ts";
 *
 * assert.equal(bundledSyscalls().syscalls.getppid, 110);
 * ```
 */
export function bundledSyscalls(): BundledSyscalls {
  return syscalls ??= load<BundledSyscalls>("syscalls_x86_64.json");
}
