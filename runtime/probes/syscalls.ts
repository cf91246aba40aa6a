/**
 * x86_64 syscall numbers ↔ names, from the bundled table captured out of
 * `asm/unistd_64.h` (so it works on any host, e.g. for synthetic events).
 *
 * @module
 */

import { bundledSyscalls } from "./bundled_formats.ts";

let byName: Map<string, number> | undefined;
let byNumber: Map<number, string> | undefined;

function tables(): [Map<string, number>, Map<number, string>] {
  if (byName === undefined || byNumber === undefined) {
    byName = new Map(Object.entries(bundledSyscalls().syscalls));
    byNumber = new Map();
    for (const [name, nr] of byName) {
      if (!byNumber.has(nr)) byNumber.set(nr, name);
    }
  }
  return [byName, byNumber];
}

/**
 * The x86_64 syscall name for a number (as `__syscall_nr` / `args.id`
 * hold it), or undefined.
 *
 * @example Naming a syscall number
 * ```ts
 * import assert from "node:assert/strict";
 * import { syscallName } from "./syscalls.ts";
 *
 * assert.equal(syscallName(110), "getppid");
 * assert.equal(syscallName(-1), undefined);
 * ```
 */
export function syscallName(nr: number): string | undefined {
  return tables()[1].get(nr);
}

/**
 * The x86_64 syscall number for a name (`openat`; a `sys_` prefix or a
 * `sys_enter_`/`sys_exit_` tracepoint name is accepted, and the kernel's
 * `newstat`-style names map to their `__NR_` names), or undefined.
 *
 * @example Numbering a syscall
 * ```ts
 * import assert from "node:assert/strict";
 * import { syscallNumber } from "./syscalls.ts";
 *
 * assert.equal(syscallNumber("getppid"), 110);
 * assert.equal(syscallNumber("sys_enter_getppid"), 110);
 * assert.equal(syscallNumber("sys_enter_newstat"), 4);
 * ```
 */
export function syscallNumber(name: string): number | undefined {
  const t = tables()[0];
  const direct = t.get(name);
  if (direct !== undefined) return direct;
  const m = /^sys_(?:enter_|exit_)?(.+)$/.exec(name);
  const base = m === null ? name : m[1];
  return t.get(base) ?? t.get(DEFINE_ALIASES[base] ?? "");
}

/**
 * Syscalls whose kernel SYSCALL_DEFINE name (and so tracepoint name)
 * differs from their `__NR_` name.
 */
const DEFINE_ALIASES: Record<string, string> = {
  newstat: "stat",
  newfstat: "fstat",
  newlstat: "lstat",
  newuname: "uname",
  sendfile64: "sendfile",
  umount: "umount2",
};

/**
 * Every known syscall as [name, number], ordered by number.
 *
 * @example Counting syscalls
 * ```ts
 * import assert from "node:assert/strict";
 * import { syscallTable } from "./syscalls.ts";
 *
 * assert.deepEqual(syscallTable()[0], ["read", 0]);
 * ```
 */
export function syscallTable(): [string, number][] {
  return [...tables()[0]].sort((a, b) => a[1] - b[1]);
}
