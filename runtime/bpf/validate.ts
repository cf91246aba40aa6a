/**
 * Checks of values handed to the public bytecode API (`bpf.ts`): the
 * functions there take plain objects, and a caller in JavaScript (or with
 * a cast) can pass anything. A malformed argument gets a `TypeError` or
 * `RangeError` naming the function, the argument and what was expected,
 * never an error from deep inside.
 *
 * @module
 */

import type { Insn } from "./opcodes.ts";

/** The fields of an instruction slot and their ranges. */
const FIELDS: readonly [keyof Insn, number, number][] = [
  ["code", 0, 0xff],
  ["dst", 0, 0xf],
  ["src", 0, 0xf],
  ["off", -0x8000, 0x7fff],
  ["imm", -0x80000000, 0x7fffffff],
];

/**
 * An instruction slot passed to the API is not a valid `Insn`.
 *
 * @example Catch it
 * ```ts
 * import { verify } from "../verifier/verifier.ts";
 * import { InvalidInsnError } from "./validate.ts";
 * try {
 *   verify([{}] as never, { maps: [], ctxSize: 0 });
 * } catch (e) {
 *   console.assert(e instanceof InvalidInsnError && e.index === 0);
 * }
 * ```
 */
export class InvalidInsnError extends TypeError {
  /** Index of the slot in the array. */
  readonly index: number;
  /** Makes the error. */
  constructor(message: string, index: number) {
    super(message);
    this.name = "InvalidInsnError";
    this.index = index;
  }
}

/**
 * A short, safe description of any value for an error message.
 *
 * @example Describe values
 * ```ts
 * import { describeValue } from "./validate.ts";
 * console.assert(describeValue(null) === "null");
 * console.assert(describeValue({}) === "an object");
 * console.assert(describeValue("r0 = 0") === '"r0 = 0"');
 * ```
 */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  switch (typeof v) {
    case "string":
      return JSON.stringify(v.length > 20 ? v.slice(0, 20) + "…" : v);
    case "number":
    case "boolean":
    case "undefined":
      return String(v);
    case "bigint":
      return `${v}n`;
    case "object":
      return v instanceof Uint8Array ? `${v.length} bytes` : "an object";
  }
  return `a ${typeof v}`;
}

/**
 * Throws unless `insns` is an array of instruction slots whose fields are
 * integers in range (`code` 0-255, `dst` and `src` 0-15, `off` int16,
 * `imm` int32).
 *
 * @param where the function being called, for the message (`"verify()"`).
 * @throws {TypeError} when `insns` is not an array.
 * @throws {InvalidInsnError} for the first malformed slot.
 * @example Check a program
 * ```ts
 * import { checkInsns } from "./validate.ts";
 * checkInsns([{ code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }], "run()");
 * ```
 */
export function checkInsns(
  insns: unknown,
  where: string,
): asserts insns is readonly Insn[] {
  if (!Array.isArray(insns)) {
    throw new TypeError(
      `${where} expects an array of instructions, got ${describeValue(insns)}`,
    );
  }
  for (let i = 0; i < insns.length; i++) {
    const x: unknown = insns[i];
    if (x === null || typeof x !== "object") {
      throw new InvalidInsnError(
        `Invalid instruction ${i} given to ${where}: expected an object { code, dst, src, off, imm }, got ${
          describeValue(x)
        }`,
        i,
      );
    }
    for (const [k, lo, hi] of FIELDS) {
      const v = (x as Record<string, unknown>)[k];
      if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
        throw new InvalidInsnError(
          `Invalid instruction ${i} given to ${where}: "${k}" must be an integer from ${lo} to ${hi}, got ${
            describeValue(v)
          }`,
          i,
        );
      }
    }
  }
}

/**
 * Throws unless `v` is a non-null object.
 *
 * @throws {TypeError} naming `what` and `where`.
 * @example Check an options argument
 * ```ts
 * import { checkObject } from "./validate.ts";
 * checkObject({ maps: [] }, "options", "verify()");
 * ```
 */
export function checkObject<T>(
  v: T,
  what: string,
  where: string,
): asserts v is T & Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new TypeError(
      `${where} expects ${what} to be an object, got ${describeValue(v)}`,
    );
  }
}

/**
 * Throws unless `o[key]` is an integer from `min` to `max` (or absent,
 * when `optional`).
 *
 * @throws {TypeError} for a value that is not an integer.
 * @throws {RangeError} for an integer out of range.
 * @example Check a size
 * ```ts
 * import { checkInt } from "./validate.ts";
 * checkInt({ ctxSize: 8 }, "ctxSize", "verify() options", 0, 1 << 20);
 * ```
 */
export function checkInt(
  o: Record<string, unknown>,
  key: string,
  where: string,
  min: number,
  max: number,
  optional = false,
): void {
  const v = o[key];
  if (v === undefined && optional) return;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new TypeError(
      `${where}: "${key}" must be an integer, got ${describeValue(v)}`,
    );
  }
  if (v < min || v > max) {
    throw new RangeError(
      `${where}: "${key}" must be from ${min} to ${max}, got ${v}`,
    );
  }
}
