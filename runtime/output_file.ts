/**
 * The `-o FILE` output: every write goes out whole, and an error names
 * the path and the errno (`Cannot write "/dev/full": ENOSPC (No space left
 * on device)`).
 *
 * @module
 */

import { describeOsError } from "./probes/os_error.ts";

const encoder = new TextEncoder();

/**
 * A file opened for output (created or truncated).
 *
 * @example Write a file
 * ```ts
 * import assert from "node:assert/strict";
 * import { OutputFile } from "./output_file.ts";
 *
 * const path = Deno.makeTempFileSync();
 * const out = new OutputFile(path);
 * out.write("hello\n");
 * out.close();
 * assert.equal(Deno.readTextFileSync(path), "hello\n");
 * Deno.removeSync(path);
 * ```
 */
export class OutputFile {
  /** The path it was opened with. */
  readonly path: string;
  #file: Deno.FsFile;

  /**
   * Opens `path` for writing.
   *
   * @throws {Error} naming the path and the errno when it cannot.
   */
  constructor(path: string) {
    this.path = path;
    try {
      this.#file = Deno.openSync(path, {
        write: true,
        create: true,
        truncate: true,
      });
    } catch (e) {
      throw new Error(
        `Cannot open "${path}" for writing: ${describeOsError(e)}`,
        { cause: e },
      );
    }
  }

  /**
   * Writes all of `text`.
   *
   * @throws {Error} naming the path and the errno when the write fails.
   */
  write(text: string): void {
    let bytes = encoder.encode(text);
    try {
      while (bytes.length > 0) {
        bytes = bytes.subarray(this.#file.writeSync(bytes));
      }
    } catch (e) {
      throw new Error(`Cannot write "${this.path}": ${describeOsError(e)}`, {
        cause: e,
      });
    }
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }
}

/**
 * Wraps a standard-output writer so that its operating system errors say
 * where the write went (`Cannot write to standard output: ENOSPC (No
 * space left on device)`). A closed pipe (`BrokenPipe`) passes through
 * unchanged, for the caller to end quietly.
 *
 * @example Wrap a writer
 * ```ts
 * import assert from "node:assert/strict";
 * import { namingStdout } from "./output_file.ts";
 *
 * const write = namingStdout(() => {
 *   const e = new Error("No space left on device (os error 28)");
 *   Object.assign(e, { code: "ENOSPC" });
 *   throw e;
 * });
 * assert.throws(() => write("x"), {
 *   message: "Cannot write to standard output: ENOSPC (No space left on device)",
 * });
 * ```
 */
export function namingStdout(
  write: (text: string) => void,
): (text: string) => void {
  return (text) => {
    try {
      write(text);
    } catch (e) {
      const code = (e as { code?: unknown } | undefined)?.code;
      if (
        e instanceof Deno.errors.BrokenPipe || typeof code !== "string" ||
        code === "EPIPE"
      ) {
        throw e;
      }
      throw new Error(
        `Cannot write to standard output: ${describeOsError(e)}`,
        { cause: e },
      );
    }
  };
}
