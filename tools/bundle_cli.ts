/**
 * Builds the bundled command: the CLI (`runtime/cli_bundle.ts` and all it
 * imports) as one minified JavaScript file, which starts about a third
 * faster than `deno run -A mod.ts` (see `runtime/cli_bundle.ts` for why and
 * how it stays honest about being out of date).
 *
 * ```sh
 * deno task bundle            # writes dist/tsbpf.js
 * deno task install           # same, then installs it as the `tsbpf` command
 * deno run -A tools/bundle_cli.ts --out DIR [--install [--root DIR]]
 * ```
 *
 * The output directory gets:
 * - `tsbpf.js`, from `deno bundle --minify --keep-names` (class and
 *   function names kept: error names show in messages);
 * - `data/`, a copy of the bundled data the runtime reads beside its modules
 *   (`runtime/btf/data/`, `runtime/probes/data/`), so that the bundle finds
 *   it as the sources do: `./data/` next to the (one) module;
 * - `tsbpf.manifest.json`, the input files with their sizes and mtimes.
 *
 * Deno writes a module's V8 code cache only once it has been evaluated to
 * the end, which a CLI run (top-level await, then `Deno.exit`) never does
 * for its main module; so the build imports the bundle once, which writes
 * the cache that later runs find (~15 ms of a run without it).
 *
 * @module
 */

import type { BundleManifest } from "../runtime/cli_bundle.ts";
import { MANIFEST_FILE } from "../runtime/cli_bundle.ts";

const ROOT = new URL("../", import.meta.url);
const ENTRY = new URL("runtime/cli_bundle.ts", ROOT);
const DATA_DIRS = ["runtime/btf/data/", "runtime/probes/data/"];

/** What a build wrote. */
export interface BundleResult {
  /** The bundle, an absolute path. */
  file: string;
  /** Its size in bytes. */
  bytes: number;
  /** Input files listed in the manifest (modules and data). */
  inputs: number;
}

async function deno(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(
      `"deno ${args[0]}" failed: ${dec.decode(out.stderr).trim()}`,
    );
  }
  return dec.decode(out.stdout);
}

/** The local modules the entry may load, static and dynamic. */
async function moduleInputs(): Promise<string[]> {
  const info = JSON.parse(await deno(["info", "--json", ENTRY.href])) as {
    modules: { specifier: string; error?: string }[];
  };
  const bad = info.modules.find((m) => m.error !== undefined);
  if (bad !== undefined) {
    throw new Error(`Cannot bundle: ${bad.specifier}: ${bad.error}`);
  }
  return info.modules
    .map((m) => m.specifier)
    .filter((s) => s.startsWith(ROOT.href))
    .map((s) => s.slice(ROOT.href.length))
    .sort();
}

function dataInputs(): string[] {
  const out: string[] = [];
  const names = new Set<string>();
  for (const dir of DATA_DIRS) {
    for (const e of Deno.readDirSync(new URL(dir, ROOT))) {
      if (!e.isFile) continue;
      if (names.has(e.name)) {
        throw new Error(
          `Cannot bundle: two data files are named "${e.name}"; the bundle ` +
            "keeps its data in one folder",
        );
      }
      names.add(e.name);
      out.push(dir + e.name);
    }
  }
  return out.sort();
}

function manifestEntry(path: string): [string, number, number] {
  const info = Deno.statSync(new URL(path, ROOT));
  return [path, info.size, info.mtime?.getTime() ?? 0];
}

/**
 * Builds the bundle into `outDir` (created if missing) and primes its code
 * cache.
 *
 * @example Build into a temporary directory
 * ```ts ignore
 * import { bundleCli } from "./bundle_cli.ts";
 * const dir = await Deno.makeTempDir();
 * const { file } = await bundleCli(dir);
 * // deno run -A <file> -e 'BEGIN { exit(); }'
 * ```
 *
 * @param outDir Where to write `tsbpf.js`, `data/` and the manifest.
 * @returns What was written.
 */
export async function bundleCli(outDir: string): Promise<BundleResult> {
  Deno.mkdirSync(outDir, { recursive: true });
  const dir = Deno.realPathSync(outDir);
  const file = `${dir}/tsbpf.js`;
  // Stat the inputs before bundling: a file changed during the build then
  // shows as changed, and the bundle as out of date.
  const inputs = [...await moduleInputs(), ...dataInputs()];
  const manifest: BundleManifest = {
    version: 1,
    root: ROOT.href,
    files: inputs.map(manifestEntry),
  };
  await deno([
    "bundle",
    "-q",
    "--minify",
    "--keep-names",
    ENTRY.pathname,
    "-o",
    file,
  ]);
  Deno.mkdirSync(`${dir}/data`, { recursive: true });
  for (const path of dataInputs()) {
    Deno.copyFileSync(
      new URL(path, ROOT),
      `${dir}/data/${path.slice(path.lastIndexOf("/") + 1)}`,
    );
  }
  Deno.writeTextFileSync(
    `${dir}/${MANIFEST_FILE}`,
    JSON.stringify(manifest) + "\n",
  );
  await primeCodeCache(file);
  return { file, bytes: Deno.statSync(file).size, inputs: inputs.length };
}

/**
 * Imports `file` once in a child Deno, which evaluates it to the end and so
 * writes its V8 code cache (a CLI run never does for its main module).
 *
 * @example After rebuilding a bundle
 * ```ts ignore
 * import { primeCodeCache } from "./bundle_cli.ts";
 * await primeCodeCache("/tmp/dist/tsbpf.js");
 * ```
 *
 * @param file The bundle, an absolute path.
 */
export async function primeCodeCache(file: string): Promise<void> {
  const primer = await Deno.makeTempFile({ prefix: "tsbpf", suffix: ".ts" });
  try {
    Deno.writeTextFileSync(primer, "await import(Deno.args[0]);\n");
    await deno(["run", "-A", primer, new URL(`file://${file}`).href]);
  } finally {
    Deno.removeSync(primer);
  }
}

/**
 * Installs `file` as the `tsbpf` command with `deno install -g` (all
 * permissions, replacing an earlier one). Without `deno` on PATH (Deno run
 * through `npx -y deno`) the command names this Deno by its path.
 *
 * @example Into a folder of one's own
 * ```ts ignore
 * import { bundleCli, installBundle } from "./bundle_cli.ts";
 * const { file } = await bundleCli("dist");
 * console.log(await installBundle(file, "/opt/tsbpf")); // /opt/tsbpf/bin/tsbpf
 * ```
 *
 * @param file The bundle, an absolute path.
 * @param root Where to install (`DIR/bin/tsbpf`); by default Deno's
 *   (`$DENO_INSTALL_ROOT`, else `~/.deno`).
 * @returns The installed command's path.
 */
export async function installBundle(
  file: string,
  root?: string,
): Promise<string> {
  const at = root ?? Deno.env.get("DENO_INSTALL_ROOT") ??
    `${Deno.env.get("HOME") ?? ""}/.deno`;
  await deno(["install", "-g", "-A", "-f", "-n", "tsbpf", "--root", at, file]);
  const bin = `${at}/bin/tsbpf`;
  // The script Deno writes runs `deno` from PATH; run through `npx -y deno`,
  // there is none: name this Deno by its path instead.
  if (!onPath("deno")) {
    const text = Deno.readTextFileSync(bin);
    const q = `'${Deno.execPath().replaceAll("'", `'\\''`)}'`;
    Deno.writeTextFileSync(bin, text.replace(/^exec deno /m, `exec ${q} `));
  }
  return bin;
}

function onPath(cmd: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      const st = Deno.statSync(`${dir}/${cmd}`);
      if (st.isFile && (st.mode === null || (st.mode & 0o111) !== 0)) {
        return true;
      }
    } catch {
      // not here
    }
  }
  return false;
}

if (import.meta.main) {
  const args = [...Deno.args];
  const value = (flag: string): string | undefined => {
    const at = args.indexOf(flag);
    if (at < 0) return undefined;
    if (args[at + 1] === undefined) {
      console.error(
        "usage: bundle_cli.ts [--out DIR] [--install [--root DIR]]",
      );
      Deno.exit(2);
    }
    return args[at + 1];
  };
  const out = value("--out") ?? new URL("dist", ROOT).pathname;
  const root = value("--root");
  try {
    const r = await bundleCli(out);
    console.log(
      `Wrote ${r.file} (${(r.bytes / 1024).toFixed(0)} KiB, ${r.inputs} ` +
        "input files)",
    );
    if (args.includes("--install")) {
      const bin = await installBundle(r.file, root);
      console.log(`Installed ${bin}: run \`tsbpf -e '…'\``);
      const dir = bin.slice(0, bin.lastIndexOf("/"));
      const path = (Deno.env.get("PATH") ?? "").split(":");
      if (!path.includes(dir)) console.log(`Add ${dir} to PATH to run it.`);
    }
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
}
