/**
 * The binary a uprobe or USDT attach point names: an absolute or relative
 * path, a library by bare name (`libc`, `libc.so.6`, `libbpf`) from the
 * standard library directories then `ldconfig -p`, or a program from
 * `PATH`. Results are cached per name.
 *
 * @module
 */

import { ElfError, isElfFile } from "./elf.ts";
import { envVar } from "./env.ts";

const utf8 = new TextDecoder();

const LIB_DIRS = [
  "/lib/x86_64-linux-gnu",
  "/usr/lib/x86_64-linux-gnu",
  "/lib64",
  "/usr/lib64",
  "/lib",
  "/usr/lib",
  "/usr/local/lib",
];
const binaryCache = new Map<string, string>();
let ldconfigCache: [string, string][] | undefined;

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** `ldconfig -p` as [soname, path] pairs (64-bit x86 entries only). */
function ldconfig(): [string, string][] {
  if (ldconfigCache !== undefined) return ldconfigCache;
  ldconfigCache = [];
  for (const exe of ["/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"]) {
    try {
      const out = new Deno.Command(exe, {
        args: ["-p"],
        stdout: "piped",
        stderr: "null",
      })
        .outputSync();
      if (!out.success) continue;
      for (const line of utf8.decode(out.stdout).split("\n")) {
        const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)\s*$/.exec(line);
        if (m && (m[2].includes("x86-64") || !m[2].includes(","))) {
          ldconfigCache.push([m[1], m[3]]);
        }
      }
      break;
    } catch {
      // not installed or --allow-run missing: standard directories only
    }
  }
  return ldconfigCache;
}

/** Rank library file names for a bare name: exact, then `name.so.N`, then `name.so`. */
function libRank(file: string, name: string): number {
  if (file === name) return 0;
  const base = name.endsWith(".so") ? name : `${name}.so`;
  if (
    file.startsWith(base + ".") && /^\.[\d.]+$/.test(file.slice(base.length))
  ) {
    return 1 + (file.length - base.length) / 100;
  }
  if (file === base) return 3;
  return -1;
}

function findLibrary(name: string): string | undefined {
  let best: [number, string] | undefined;
  const consider = (file: string, path: string) => {
    const r = libRank(file, name);
    if (r < 0 || (best && best[0] <= r) || !isElfFile(path)) return;
    best = [r, path];
  };
  for (const dir of LIB_DIRS) {
    let entries: Iterable<Deno.DirEntry>;
    try {
      entries = Deno.readDirSync(dir);
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.name.startsWith(name)) consider(e.name, `${dir}/${e.name}`);
    }
    if (best) return best[1];
  }
  for (const [so, path] of ldconfig()) consider(so, path);
  return best?.[1];
}

function findInPath(name: string): string | undefined {
  for (
    const dir of (envVar("PATH") ?? "/usr/local/bin:/usr/bin:/bin").split(":")
  ) {
    if (dir === "") continue;
    const p = `${dir}/${name}`;
    try {
      const st = Deno.statSync(p);
      // Scripts (a pyenv shim, a wrapper) are passed over: only an ELF
      // file can be probed.
      if (st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0 && isElfFile(p)) {
        return p;
      }
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The absolute path of a binary named in a uprobe: an absolute path as
 * is; a relative path against the working directory; a library name
 * (`libc`, `libc.so.6`, `libbpf`) from the standard library directories
 * then `ldconfig -p`; a program name from `PATH` (the first ELF file of
 * that name: scripts such as version-manager shims are passed over).
 *
 * @throws {ElfError} When nothing matches.
 *
 * @example Finding libc and bash
 * ```ts
 * import assert from "node:assert/strict";
 * import { findBinary } from "./find_binary.ts";
 *
 * assert.match(findBinary("libc"), /\/libc\.so\.6$/);
 * assert.equal(findBinary("/bin/true"), "/bin/true");
 * ```
 */
export function findBinary(name: string): string {
  if (name.startsWith("/")) return name;
  const cached = binaryCache.get(name);
  if (cached !== undefined) return cached;
  let found: string | undefined;
  if (name.includes("/")) {
    const cwd = Deno.cwd();
    found = `${cwd === "/" ? "" : cwd}/${name.replace(/^\.\//, "")}`;
    if (!isFile(found)) found = undefined;
  } else if (name.startsWith("lib") || name.includes(".so")) {
    found = findLibrary(name) ?? findInPath(name);
  } else {
    found = findInPath(name) ?? findLibrary(name);
  }
  if (found === undefined) {
    throw new ElfError(name, `Cannot find binary "${name}"`);
  }
  binaryCache.set(name, found);
  return found;
}
