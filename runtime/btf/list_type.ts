/**
 * `tsbpf -l 'struct sock_common'` / `-lv 'struct sock_common'`: the C
 * definition of a kernel structure, union or enum with its members'
 * offsets, from the running kernel's BTF or else the bundled table (a
 * notice on stderr says so); `-l 'struct sock_*'` lists matching names.
 *
 * @module
 */

import { globToRegExp, hasWildcard } from "../probes/glob.ts";
import { formatType } from "./c_printer.ts";
import { kernelTypes, liveBtfProblem } from "./load_types.ts";
import type { KernelTypes } from "./kernel_types.ts";

/**
 * A type that BTF (or the bundle) does not have, with the nearest names.
 *
 * @example The message suggests names
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnknownTypeError } from "./list_type.ts";
 *
 * const e = new UnknownTypeError("struct sok", ["struct sock"], "vmlinux");
 * assert.equal(e.message, 'Unknown type "struct sok" in vmlinux; did you mean "struct sock"?');
 * ```
 */
export class UnknownTypeError extends TypeError {
  /** The name asked for. */
  readonly cname: string;
  /** Close names, written with their kind (`struct sock`). */
  readonly suggestions: string[];

  /** An error about `cname`, not found in `origin`. */
  constructor(cname: string, suggestions: string[], origin: string) {
    const hint = suggestions.length === 0
      ? ""
      : `; did you mean ${suggestions.map((s) => `"${s}"`).join(" or ")}?`;
    super(`Unknown type "${cname.trim()}" in ${origin}${hint}`);
    this.name = "UnknownTypeError";
    this.cname = cname;
    this.suggestions = suggestions;
  }
}

/**
 * The definition of `cname` with offsets, as `-l`/`-lv` prints it.
 *
 * @example Listing a struct
 * ```ts
 * import assert from "node:assert/strict";
 * import { listType } from "./list_type.ts";
 * import { bundledTypes } from "./bundled_types.ts";
 *
 * const text = listType("struct qstr", bundledTypes());
 * assert.match(text, /^struct qstr \{\n/);
 * assert.match(text, /const unsigned char \*name; \/\/ offset 8, size 8/);
 * ```
 *
 * @throws {UnknownTypeError} When there is no such type.
 */
export function listType(cname: string, types: KernelTypes): string {
  const id = types.lookup(cname);
  const t = id === undefined ? undefined : types.resolve(id);
  if (
    id === undefined || t === undefined ||
    !["struct", "union", "enum", "enum64"].includes(t.kind)
  ) {
    throw new UnknownTypeError(cname, types.suggestTypes(cname), types.origin);
  }
  return formatType(types, id, {
    offsets: true,
    holes: types.source === "bundled" ? "not in the bundled table" : undefined,
  });
}

/**
 * The names of the structs, unions or enums matching a wildcard pattern
 * (`struct sock_c*`), sorted, each with its tag, as `bpftrace -l` lists
 * them.
 *
 * @example Listing struct names
 * ```ts
 * import assert from "node:assert/strict";
 * import { listTypeNames } from "./list_type.ts";
 * import { bundledTypes } from "./bundled_types.ts";
 *
 * assert.deepEqual(listTypeNames("struct qst*", bundledTypes()), ["struct qstr"]);
 * ```
 */
export function listTypeNames(pattern: string, types: KernelTypes): string[] {
  const m = /^\s*(struct|union|enum)\s+(\S+)\s*$/.exec(pattern);
  if (m === null) return [];
  const [, tag, glob] = m;
  const re = globToRegExp(glob);
  const kinds = tag === "enum"
    ? ["enum", "enum64"] as const
    : [tag as "struct" | "union"];
  return types.index.names([...kinds])
    .filter((name) => re.test(name))
    .sort()
    .map((name) => `${tag} ${name}`);
}

/**
 * Run `-l 'struct NAME'`: print the definition (or, for a wildcard
 * pattern, the matching names), or an error with the nearest names;
 * returns the exit code.
 *
 * @example Listing from the CLI
 * ```ts ignore
 * import { runListType } from "./list_type.ts";
 *
 * Deno.exit(runListType("struct task_struct", console.log, console.error));
 * ```
 */
export function runListType(
  cname: string,
  out: (text: string) => void,
  err: (text: string) => void,
  verbose = true,
): number {
  const types = kernelTypes();
  if (types.source === "bundled") {
    err(`Using ${types.origin}: ${liveBtfProblem ?? "no kernel BTF"}`);
  }
  if (hasWildcard(cname)) {
    out(listTypeNames(cname, types).map((n) => n + "\n").join(""));
    return 0;
  }
  try {
    // As bpftrace: -l names the type, -lv prints its definition.
    const text = listType(cname, types);
    out(verbose ? text + "\n" : cname.trim().replace(/\s+/g, " ") + "\n");
    return 0;
  } catch (e) {
    if (!(e instanceof UnknownTypeError)) throw e;
    err(`ERROR: ${e.message}`);
    return 1;
  }
}
