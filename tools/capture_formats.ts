/**
 * Capture this machine's tracepoint formats and syscall numbers into the
 * bundled data files that `readTracepointFormat` and `syscallName` use when
 * tracefs is not available (no root, macOS, Windows):
 *
 * - `runtime/probes/data/tracepoint_formats.json`: every event listed in tracefs
 *   `available_events`, with its ID, its non-common fields (declaration,
 *   offset, size, signed), and its print fmt. The common fields are stored
 *   once.
 * - `runtime/probes/data/syscalls_x86_64.json`: name → number from
 *   `/usr/include/x86_64-linux-gnu/asm/unistd_64.h` (`__NR_*` lines).
 *
 * Run as root with tracefs mounted:
 * `deno run -A tools/capture_formats.ts [--out DIR]`
 * (`deno task formats:capture`), or with `--check` (`deno task
 * formats:check`) to list where the bundle differs from this machine's kernel
 * without writing anything. Kernel builds differ, so a difference is not a
 * defect: it says the bundle was captured elsewhere. Unit tests never compare
 * the bundle with the live kernel.
 *
 * @module
 */

import {
  parseTracepointFormat,
  tracefsRoot,
} from "../runtime/probes/tracepoint_format.ts";
import type {
  BundledEvent,
  BundledField,
  BundledFormats,
  BundledSyscalls,
} from "../runtime/probes/bundled_formats.ts";

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

/**
 * Compare the bundled files in `dataDir` with a fresh capture of this
 * machine's kernel and return one line per difference (empty when they
 * agree).
 *
 * @example Checking the bundle (needs tracefs, so not run)
 * ```ts ignore
 * import { checkBundle } from "./capture_formats.ts";
 *
 * for (const line of checkBundle("runtime/probes/data")) console.log(line);
 * ```
 */
export function checkBundle(dataDir: string): string[] {
  const fresh = Deno.makeTempDirSync();
  try {
    captureFormats(fresh);
    const read = (dir: string, file: string) => {
      try {
        return JSON.parse(Deno.readTextFileSync(`${dir}/${file}`));
      } catch {
        return undefined;
      }
    };
    const out: string[] = [];
    const old = read(dataDir, "tracepoint_formats.json") as BundledFormats;
    const now = read(fresh, "tracepoint_formats.json") as BundledFormats;
    if (old.kernel !== now.kernel) {
      out.push(`bundle from "${old.kernel}", kernel is "${now.kernel}"`);
    }
    const names = new Set([
      ...Object.keys(old.events),
      ...Object.keys(now.events),
    ]);
    for (const name of [...names].sort()) {
      const a = JSON.stringify(old.events[name]);
      const b = JSON.stringify(now.events[name]);
      if (a === b) continue;
      if (a === undefined) out.push(`${name}: only in the kernel`);
      else if (b === undefined) out.push(`${name}: only in the bundle`);
      else out.push(`${name}: format differs`);
    }
    const oldSys = read(dataDir, "syscalls_x86_64.json") as BundledSyscalls;
    const nowSys = read(fresh, "syscalls_x86_64.json") as
      | BundledSyscalls
      | undefined;
    if (
      nowSys !== undefined &&
      JSON.stringify(oldSys.syscalls) !== JSON.stringify(nowSys.syscalls)
    ) {
      out.push(`syscall numbers differ from ${UNISTD}`);
    }
    return out;
  } finally {
    Deno.removeSync(fresh, { recursive: true });
  }
}

if (import.meta.main && Deno.args.includes("--check")) {
  const dir = new URL("../runtime/probes/data", import.meta.url).pathname;
  try {
    const diffs = checkBundle(dir);
    for (const line of diffs) console.log(line);
    console.log(
      diffs.length === 0
        ? "The bundle matches this kernel"
        : `${diffs.length} differences between the bundle and this kernel`,
    );
    Deno.exit(diffs.length === 0 ? 0 : 1);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
} else if (import.meta.main) {
  const i = Deno.args.indexOf("--out");
  const out = i >= 0
    ? Deno.args[i + 1]
    : new URL("../runtime/probes/data", import.meta.url).pathname;
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
