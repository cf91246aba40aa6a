/**
 * Reading a bpftrace script file given on the command line, refusing what
 * is not text (an executable, an image, a compressed file) instead of
 * echoing its bytes back in error messages.
 *
 * @module
 */

/** A script file that is not text: NUL bytes or bytes that are not UTF-8. */
export class NotTextError extends TypeError {
  /** The file's path. */
  readonly path: string;

  /** Creates the error for `path`; `elf` says it is an ELF binary. */
  constructor(path: string, elf: boolean) {
    super(
      `"${path}" is not a text file${
        elf ? " (an ELF binary)" : ""
      }: give a bpftrace program (.bt file) or -e 'PROGRAM'`,
    );
    this.name = "NotTextError";
    this.path = path;
  }
}

/**
 * The text of `bytes`, or undefined when they are not text: a NUL byte,
 * or bytes that are not UTF-8.
 *
 * @example Text and not text
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeScript } from "./script_file.ts";
 *
 * assert.equal(decodeScript(new TextEncoder().encode("BEGIN { }")), "BEGIN { }");
 * assert.equal(decodeScript(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0])), undefined);
 * assert.equal(decodeScript(new Uint8Array([0xe9])), undefined);
 * ```
 */
export function decodeScript(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Reads a script file as text.
 *
 * @throws {NotTextError} when the file is not text.
 * @throws {Deno.errors.NotFound} (and the other file errors) when it
 *   cannot be read.
 * @example Read a script
 * ```ts
 * import assert from "node:assert/strict";
 * import { readScriptFile } from "./script_file.ts";
 *
 * const path = Deno.makeTempFileSync({ suffix: ".bt" });
 * Deno.writeTextFileSync(path, "BEGIN { exit(); }\n");
 * assert.equal(readScriptFile(path), "BEGIN { exit(); }\n");
 * Deno.removeSync(path);
 * ```
 */
export function readScriptFile(path: string): string {
  return scriptText(path, Deno.readFileSync(path));
}

/**
 * Reads the script from standard input to its end, as `tsbpf -` does
 * (bpftrace's `-` file name).
 *
 * @throws {NotTextError} when the input is not text.
 * @example Read a piped script
 * ```ts ignore
 * import { readScriptStdin } from "./script_file.ts";
 * // echo 'BEGIN { exit(); }' | deno run -A mod.ts -
 * console.log(await readScriptStdin());
 * ```
 */
export async function readScriptStdin(): Promise<string> {
  const bytes = new Uint8Array(
    await new Response(Deno.stdin.readable).arrayBuffer(),
  );
  return scriptText("-", bytes);
}

function scriptText(path: string, bytes: Uint8Array): string {
  const text = decodeScript(bytes);
  if (text === undefined) {
    const elf = bytes[0] === 0x7f && bytes[1] === 0x45 &&
      bytes[2] === 0x4c && bytes[3] === 0x46;
    throw new NotTextError(path, elf);
  }
  return text;
}
