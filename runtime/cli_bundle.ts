/**
 * The entry point of the bundled command: `deno task bundle` compiles this
 * file and everything it imports into one JavaScript file, `dist/tsbpf.js`
 * (`deno task install` puts a `tsbpf` command in front of it). The command
 * is the CLI of `mod.ts`, starting faster: Deno loads one file of plain
 * JavaScript instead of ~150 TypeScript modules with their inline source
 * maps (about 34 ms to run `BEGIN { exit(); }` here, against about 50 ms).
 *
 * A bundle is a copy of the sources as they were when it was built. Beside
 * it, `tsbpf.manifest.json` lists the files it was built from with their
 * sizes and modification times; before each run the command checks them
 * (about 1 ms). When one has changed since, the bundle is out of date: the
 * command says so on standard error and runs the sources instead, so a
 * bundle never runs code older than the checkout it came from.
 *
 * @module
 */

import { main } from "./cli.ts";

/** What `tools/bundle_cli.ts` writes beside the bundle. */
export interface BundleManifest {
  /** Format version: 1. */
  version: 1;
  /** The checkout the bundle was built from, a `file:` URL ending in `/`. */
  root: string;
  /** Each input file relative to `root`, its size and mtime (ms). */
  files: [path: string, size: number, mtimeMs: number][];
}

/** The manifest's file name, beside the bundle. */
export const MANIFEST_FILE = "tsbpf.manifest.json";

/**
 * Whether a bundle built from `manifest` is still current: the first input
 * file whose size or modification time differs, or `undefined` when none
 * does. A file that cannot be looked at (no read permission) counts as
 * unchanged, since the sources could not be run either.
 *
 * @example A manifest of one file that has since changed
 * ```ts
 * import assert from "node:assert/strict";
 * import { changedFile } from "./cli_bundle.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/a.ts`, "export {};\n");
 * const root = new URL(`file://${dir}/`).href;
 * assert.equal(changedFile({ version: 1, root, files: [["a.ts", 1, 0]] }), "a.ts");
 * Deno.removeSync(dir, { recursive: true });
 * ```
 *
 * @param manifest The manifest written when the bundle was built.
 * @returns The path of a changed (or removed) file, or `undefined`.
 */
export function changedFile(manifest: BundleManifest): string | undefined {
  for (const [path, size, mtimeMs] of manifest.files) {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(new URL(path, manifest.root));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return path;
      continue;
    }
    if (info.size !== size || info.mtime?.getTime() !== mtimeMs) return path;
  }
  return undefined;
}

function readManifest(): BundleManifest | undefined {
  try {
    const text = Deno.readTextFileSync(new URL(MANIFEST_FILE, import.meta.url));
    const m = JSON.parse(text) as BundleManifest;
    return m.version === 1 && Array.isArray(m.files) ? m : undefined;
  } catch {
    return undefined;
  }
}

async function run(): Promise<number> {
  // Only the bundle runs this: the sources run `mod.ts`.
  if (import.meta.url.endsWith(".ts")) return await main(Deno.args);
  const manifest = readManifest();
  if (manifest === undefined) {
    Deno.stderr.writeSync(new TextEncoder().encode(
      `tsbpf: the bundle has no readable ${MANIFEST_FILE} beside it; ` +
        "rebuild it with `deno task bundle`\n",
    ));
    return 1;
  }
  const changed = changedFile(manifest);
  if (changed === undefined) return await main(Deno.args);
  Deno.stderr.writeSync(new TextEncoder().encode(
    `tsbpf: the bundle is older than its sources ("${changed}" changed); ` +
      "running the sources (rebuild with `deno task bundle`)\n",
  ));
  const sources = new URL("runtime/cli.ts", manifest.root).href;
  const cli = await import(sources) as { main: typeof main };
  return await cli.main(Deno.args);
}

if (import.meta.main) Deno.exit(await run());
