/**
 * Capture this machine's tracepoint formats and syscall numbers into the
 * bundled data files that `readTracepointFormat` and `syscallName` use when
 * tracefs is not available (no root, macOS, Windows):
 *
 * - `data/tracepoint_formats.json`: every event listed in tracefs
 *   `available_events`, with its ID, its non-common fields (declaration,
 *   offset, size, signed), and its print fmt. The common fields are stored
 *   once.
 * - `data/syscalls_x86_64.json`: name → number from
 *   `/usr/include/x86_64-linux-gnu/asm/unistd_64.h` (`__NR_*` lines).
 *
 * Run as root with tracefs mounted:
 * `deno run -A runtime/probes/capture_formats.ts [--out DIR]`
 *
 * @module
 */

import { parseTracepointFormat, tracefsRoot } from "./tracepoint_format.ts";
import type {
  BundledEvent,
  BundledField,
  BundledFormats,
  BundledSyscalls,
} from "./bundled_formats.ts";

const UNISTD = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";

/** What a capture wrote. */
export interface CaptureResult {
  /** Events captured. */
  events: number;
  /** Events whose format could not be read or parsed, with the reason. */
  skipped: [string, string][];
  /** Syscall numbers captured. */
  syscalls: number;
  /** Bytes written per file. */
  files: Record<string, number>;
}

/**
 * Parse `#define __NR_name N` lines of an `asm/unistd_64.h` header.
 *
 * @example Reading syscall numbers from header text
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseUnistd } from "./capture_formats.ts";
 *
 * const table = parseUnistd("#define __NR_read 0\n#define __NR_getppid 110\n");
 * assert.deepEqual(table, { read: 0, getppid: 110 });
 * ```
 */
export function parseUnistd(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^#define\s+__NR_(\w+)\s+(\d+)\s*$/gm)) {
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/**
 * Read every tracepoint format from tracefs and write the bundled files
 * into `outDir`.
 *
 * @example Capturing into a temporary directory (needs tracefs, so not run)
 * ```ts ignore
 * import { captureFormats } from "./capture_formats.ts";
 *
 * const result = captureFormats(await Deno.makeTempDir());
 * console.log(result.events, "formats");
 * ```
 */
export function captureFormats(outDir: string): CaptureResult {
  const root = tracefsRoot();
  if (root === undefined) {
    throw new Error(
      'Cannot capture tracepoint formats: tracefs is not readable (try "mount -t tracefs nodev /sys/kernel/tracing" as root)',
    );
  }
  const names = Deno.readTextFileSync(`${root}/available_events`)
    .split("\n").map((l) => l.trim()).filter((l) => l !== "").sort();
  const kernel = Deno.readTextFileSync("/proc/sys/kernel/osrelease").trim();
  const events: Record<string, BundledEvent> = {};
  const skipped: [string, string][] = [];
  let common: BundledField[] | undefined;
  for (const full of names) {
    const colon = full.indexOf(":");
    const cat = full.slice(0, colon);
    const name = full.slice(colon + 1);
    let text: string;
    try {
      text = Deno.readTextFileSync(`${root}/events/${cat}/${name}/format`);
    } catch (e) {
      skipped.push([full, e instanceof Error ? e.message : String(e)]);
      continue;
    }
    const fmt = parseTracepointFormat(text, cat);
    const encode = (f: typeof fmt.fields[number]): BundledField => [
      f.decl,
      f.offset,
      f.size,
      f.signed ? 1 : 0,
    ];
    const own = fmt.fields.filter((f) => f.common).map(encode);
    common ??= own;
    const entry: BundledEvent = [
      fmt.id,
      fmt.fields.filter((f) => !f.common).map(encode),
      fmt.printFmt ?? "",
    ];
    if (JSON.stringify(own) !== JSON.stringify(common)) entry.push(own);
    events[full] = entry;
  }
  const data: BundledFormats = {
    version: 1,
    kernel,
    arch: Deno.build.arch,
    captured: new Date().toISOString(),
    source: root,
    coverage: "all events in available_events",
    common: common ?? [],
    events,
  };
  Deno.mkdirSync(outDir, { recursive: true });
  const files: Record<string, number> = {};
  const write = (file: string, value: unknown) => {
    const path = `${outDir}/${file}`;
    Deno.writeTextFileSync(path, JSON.stringify(value) + "\n");
    // Leave the file as `deno fmt` would, so formatting the repository
    // does not rewrite captured data (best effort: needs --allow-run).
    try {
      new Deno.Command(Deno.execPath(), {
        args: ["fmt", "--quiet", path],
        stdout: "null",
        stderr: "null",
      }).outputSync();
    } catch {
      // not permitted or not deno: the compact file is just as valid
    }
    files[file] = Deno.statSync(path).size;
  };
  write("tracepoint_formats.json", data);
  let syscalls: Record<string, number> = {};
  try {
    syscalls = parseUnistd(Deno.readTextFileSync(UNISTD));
  } catch (e) {
    skipped.push([UNISTD, e instanceof Error ? e.message : String(e)]);
  }
  if (Object.keys(syscalls).length > 0) {
    const table: BundledSyscalls = {
      version: 1,
      arch: "x86_64",
      source: UNISTD,
      kernel,
      syscalls,
    };
    write("syscalls_x86_64.json", table);
  }
  return {
    events: Object.keys(events).length,
    skipped,
    syscalls: Object.keys(syscalls).length,
    files,
  };
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--out");
  const out = i >= 0
    ? Deno.args[i + 1]
    : new URL("./data", import.meta.url).pathname;
  try {
    const t0 = performance.now();
    const r = captureFormats(out);
    console.log(
      `Captured ${r.events} tracepoint formats and ${r.syscalls} syscalls into ${out} in ${
        (performance.now() - t0).toFixed(0)
      } ms`,
    );
    for (const [f, n] of Object.entries(r.files)) {
      console.log(`  ${f}: ${n} bytes`);
    }
    for (const [what, why] of r.skipped) {
      console.log(`  skipped ${what}: ${why}`);
    }
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
}
