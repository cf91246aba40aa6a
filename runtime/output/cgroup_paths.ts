/**
 * The paths of a cgroup id, as bpftrace's `cgroup_path()` prints them:
 * each cgroup hierarchy mounted (from `/proc/mounts`) whose name matches
 * the filter and holds a directory whose inode number is the id, as
 * `name:path`, joined by `,`: the cgroup2 mounts first (named `unified`),
 * then the cgroup1 mounts by the name of their mount directory, sorted.
 * Loaded only by programs that call `cgroup_path()`.
 *
 * @module
 */

/** Found paths, by id and hierarchy root (checked again before use). */
const cache = new Map<string, string>();

/**
 * The text `cgroup_path(id, filter)` prints: `""` when no hierarchy has
 * the id.
 *
 * @example Usage
 * ```ts ignore
 * cgroupPaths(1n, "unified"); // "unified:/"
 * ```
 */
export function cgroupPaths(id: bigint, filter = "*"): string {
  const v2: [string, string][] = [];
  const v1: [string, string][] = [];
  for (const [type, root] of cgroupRoots()) {
    if (type === "cgroup2") v2.push(["unified", root]);
    else v1.push([root.slice(root.lastIndexOf("/") + 1), root]);
  }
  v1.sort(([a, ra], [b, rb]) =>
    a < b ? -1 : a > b ? 1 : ra < rb ? -1 : ra > rb ? 1 : 0
  );
  const out: string[] = [];
  for (const [name, root] of [...v2, ...v1]) {
    if (!wildcardMatch(filter, name)) continue;
    const path = pathIn(id, root);
    if (path !== "") out.push(`${name}:${path}`);
  }
  return out.join(",");
}

/** The cgroup mounts of `/proc/mounts`: type and mount point. */
function cgroupRoots(): [string, string][] {
  let text = "";
  try {
    text = Deno.readTextFileSync("/proc/mounts");
  } catch {
    return [];
  }
  const out: [string, string][] = [];
  for (const line of text.split("\n")) {
    const [type, dir] = line.split(" ");
    if (type !== "cgroup" && type !== "cgroup2") continue;
    const path = dir.replace(
      /\\(\d{3})/g,
      (_, o) => String.fromCharCode(parseInt(o, 8)),
    );
    if (isDirectory(path)) out.push([type, path]);
  }
  return out;
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function inode(path: string): bigint | undefined {
  try {
    const ino = Deno.statSync(path).ino;
    return ino === null ? undefined : BigInt(ino);
  } catch {
    return undefined;
  }
}

/** The path of the directory with inode `id` under `root`, or `""`. */
function pathIn(id: bigint, root: string): string {
  const key = `${id} ${root}`;
  const known = cache.get(key);
  if (
    known !== undefined && inode(root + (known === "/" ? "" : known)) === id
  ) {
    return known;
  }
  let found = "";
  if (inode(root) === id) found = "/";
  else {
    const stack = [root];
    search: while (stack.length > 0) {
      const dir = stack.pop()!;
      let entries: Deno.DirEntry[];
      try {
        entries = [...Deno.readDirSync(dir)];
      } catch {
        continue;
      }
      for (const e of entries) {
        if (!e.isDirectory) continue;
        const p = `${dir}/${e.name}`;
        if (inode(p) === id) {
          found = p.slice(root.length);
          break search;
        }
        stack.push(p);
      }
    }
  }
  if (found !== "") cache.set(key, found);
  return found;
}

/** Whether `name` matches `pattern`, whose `*` match any characters. */
function wildcardMatch(pattern: string, name: string): boolean {
  const re = pattern.split("*").map((s) =>
    s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
  ).join(".*");
  return new RegExp(`^${re}$`).test(name);
}
