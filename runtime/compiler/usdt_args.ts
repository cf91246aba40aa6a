/**
 * The type of `argN` at a USDT attach point, from the argument its note
 * describes (type checking needs no ELF reader for it: the attach point
 * carries its site).
 *
 * @module
 */

import type { AttachPoint } from "../program.ts";
import type { IntType } from "./types.ts";

/**
 * The type of `argN` at a usdt attach point: a 64-bit integer, signed when
 * the note says so (sign-extended from its size), a user pointer when it
 * is an unsigned 8-byte value; or the error message when the probe has no
 * such argument (bpftrace's wording, then the count).
 *
 * @example Python's gc__start has one signed argument
 * ```ts
 * import assert from "node:assert/strict";
 * import { usdtArgType } from "./usdt_args.ts";
 *
 * const usdt = {
 *   path: "/p", provider: "python", name: "gc__start", address: 0,
 *   fileOffset: 0, semaphore: 0, semaphoreOffset: 0, argText: "-4@%edi",
 *   pie: false,
 *   args: [{ size: 4 as const, signed: true, text: "-4@%edi", kind: "reg" as const,
 *     reg: { reg: "di", byte: 0, width: 4 as const } }],
 * };
 * const ap = { kind: "usdt" as const, target: "/p", text: "usdt:/p:python:gc__start", usdt };
 * assert.deepEqual(usdtArgType(ap, 0), { k: "int", size: 8, signed: true });
 * assert.match(String(usdtArgType(ap, 1)), /couldn't get argument 1/);
 * ```
 */
export function usdtArgType(ap: AttachPoint, n: number): IntType | string {
  const site = ap.usdt;
  if (site?.argError !== undefined) {
    return `Cannot read the arguments of ${ap.target}:${
      ap.symbol ?? ""
    }: ${site.argError}`;
  }
  const arg = site?.args[n];
  if (site === undefined || arg === undefined) {
    const count = site?.args.length ?? 0;
    const has = count === 0
      ? "it has no arguments"
      : count === 1
      ? "it has 1 argument: arg0"
      : `it has ${count} arguments: arg0 to arg${count - 1}`;
    return `couldn't get argument ${n} for ${ap.target}:${
      ap.symbol ?? ""
    } (${has})`;
  }
  if (arg.signed) return { k: "int", size: 8, signed: true };
  return arg.size === 8
    ? { k: "int", size: 8, signed: false, ptr: "user" }
    : { k: "int", size: 8, signed: false };
}
