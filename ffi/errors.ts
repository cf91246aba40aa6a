/**
 * Errors the kernel engine throws: the FFI libraries cannot be opened, a
 * kernel call failed with an errno, the verifier rejected a program, or a
 * probe cannot be attached on this kernel.
 *
 * @module
 */

/** Linux x86_64 errno names and their glibc texts, by number. */
const ERRNO: ReadonlyMap<number, readonly [string, string]> = new Map([
  [1, ["EPERM", "Operation not permitted"]],
  [2, ["ENOENT", "No such file or directory"]],
  [3, ["ESRCH", "No such process"]],
  [4, ["EINTR", "Interrupted system call"]],
  [5, ["EIO", "Input/output error"]],
  [6, ["ENXIO", "No such device or address"]],
  [7, ["E2BIG", "Argument list too long"]],
  [8, ["ENOEXEC", "Exec format error"]],
  [9, ["EBADF", "Bad file descriptor"]],
  [11, ["EAGAIN", "Resource temporarily unavailable"]],
  [12, ["ENOMEM", "Cannot allocate memory"]],
  [13, ["EACCES", "Permission denied"]],
  [14, ["EFAULT", "Bad address"]],
  [16, ["EBUSY", "Device or resource busy"]],
  [17, ["EEXIST", "File exists"]],
  [19, ["ENODEV", "No such device"]],
  [20, ["ENOTDIR", "Not a directory"]],
  [22, ["EINVAL", "Invalid argument"]],
  [24, ["EMFILE", "Too many open files"]],
  [25, ["ENOTTY", "Inappropriate ioctl for device"]],
  [28, ["ENOSPC", "No space left on device"]],
  [34, ["ERANGE", "Numerical result out of range"]],
  [38, ["ENOSYS", "Function not implemented"]],
  [61, ["ENODATA", "No data available"]],
  [75, ["EOVERFLOW", "Value too large for defined data type"]],
  [95, ["EOPNOTSUPP", "Operation not supported"]],
  [110, ["ETIMEDOUT", "Connection timed out"]],
  [524, ["ENOTSUPP", "Operation not supported by the kernel"]],
]);

/**
 * The symbolic name of an errno, e.g. `"EPERM"` for 1.
 *
 * @example Name an errno
 * ```ts
 * import { errnoName } from "./errors.ts";
 * console.assert(errnoName(13) === "EACCES");
 * ```
 */
export function errnoName(errno: number): string {
  return ERRNO.get(errno)?.[0] ?? `E${errno}`;
}

/**
 * A built-in description of an errno, used when libc's `strerror` is not
 * at hand.
 *
 * @example Describe an errno
 * ```ts
 * import { errnoText } from "./errors.ts";
 * console.assert(errnoText(1) === "Operation not permitted");
 * ```
 */
export function errnoText(errno: number): string {
  return ERRNO.get(errno)?.[1] ?? `Unknown error ${errno}`;
}

/**
 * The FFI libraries (libbpf, libc) cannot be used: not Linux, library
 * missing, or `--allow-ffi` not granted.
 *
 * @example Catch it
 * ```ts
 * import { FfiUnavailableError } from "./errors.ts";
 * const e = new FfiUnavailableError("libbpf.so.1 is not installed");
 * console.assert(e.reason === "libbpf.so.1 is not installed");
 * ```
 */
export class FfiUnavailableError extends Error {
  /** One sentence saying why. */
  readonly reason: string;
  /** Creates the error from a one-sentence reason. */
  constructor(reason: string, options?: ErrorOptions) {
    super(`Cannot use the kernel engine: ${reason}`, options);
    this.name = "FfiUnavailableError";
    this.reason = reason;
  }
}

/**
 * A kernel or libbpf call failed with an errno.
 *
 * The message reads `Cannot load program "x": EACCES: Permission denied`.
 *
 * @example Build one
 * ```ts
 * import { KernelError } from "./errors.ts";
 * const e = new KernelError('load program "x"', 13);
 * console.assert(e.message === 'Cannot load program "x": EACCES: Permission denied');
 * console.assert(e.code === "EACCES");
 * ```
 */
export class KernelError extends Error {
  /** The positive errno. */
  readonly errno: number;
  /** Its symbolic name, e.g. `"EPERM"`. */
  readonly code: string;
  /** What tsbpf was doing, e.g. `load program "kfree_skb"`. */
  readonly op: string;
  /**
   * @param op what was being done, completing "Cannot …".
   * @param errno the positive errno.
   * @param text the kernel's description (libc `strerror`), if known.
   * @param hint an extra sentence appended to the message.
   */
  constructor(op: string, errno: number, text?: string, hint?: string) {
    const code = errnoName(errno);
    super(
      `Cannot ${op}: ${code}: ${text ?? errnoText(errno)}${
        hint ? `. ${hint}` : ""
      }`,
    );
    this.name = "KernelError";
    this.errno = errno;
    this.code = code;
    this.op = op;
  }
}

/**
 * The kernel verifier refused a program. Carries the verifier log, the
 * index of the failing instruction slot, and the script location when the
 * program has one for that slot. The message reads as tsbpf's own
 * verifier's (`ProgramRejectedError`): the probe, the instruction and
 * its script line and column, the reason, then the instruction and the
 * script's line; the log's tail is the CLI's to show.
 *
 * @example Inspect a rejection
 * ```ts
 * import { VerifierRejection } from "./errors.ts";
 * const e = new VerifierRejection("p", "0: (95) exit\nR0 !read_ok\n", 13, 0);
 * console.assert(e.insnIndex === 0 && e.reason === "R0 !read_ok");
 * console.assert(e.message ===
 *   'Probe "p" rejected by the kernel\'s verifier at instruction 0: R0 !read_ok\n  0: exit');
 * ```
 */
export class VerifierRejection extends Error {
  /** The program's name in the kernel. */
  readonly program: string;
  /** The kernel's verifier log (log level 1). */
  readonly log: string;
  /** The errno the load failed with. */
  readonly errno: number;
  /** The failing instruction slot, parsed from the log, if found. */
  readonly insnIndex: number | undefined;
  /** The script line of that slot, if the program carries locations. */
  readonly line: number | undefined;
  /** The script column of that slot, if known. */
  readonly col: number | undefined;
  /** The verifier's own last message line. */
  readonly reason: string;

  /**
   * Creates the error; parses the reason line from the log. `shown`
   * names the probe as the script knows it (default: `program`) and
   * gives the text of the script line at `loc`.
   */
  constructor(
    program: string,
    log: string,
    errno: number,
    insnIndex: number | undefined,
    loc?: { line: number; col: number },
    shown: { probe?: string; sourceLine?: string } = {},
  ) {
    const reason = verifierReason(log);
    const where = insnIndex === undefined
      ? ""
      : ` at instruction ${insnIndex}${
        loc ? ` (script line ${loc.line}, column ${loc.col})` : ""
      }`;
    const insn = insnIndex === undefined
      ? undefined
      // Without the register states the kernel appends after a `;`.
      : new RegExp(`^${insnIndex}: \\([0-9a-f]{2}\\) (.*?)(?:\\s+;.*)?$`, "m")
        .exec(log)?.[1];
    super(
      `Probe "${
        shown.probe ?? program
      }" rejected by the kernel's verifier${where}: ${reason}` +
        (NO_KSYM.test(reason) ? NO_KSYM_HINT : "") +
        (insn === undefined ? "" : `\n  ${insnIndex}: ${insn}`) +
        (loc && shown.sourceLine !== undefined
          ? `\n  ${loc.line} | ${shown.sourceLine}`
          : ""),
    );
    this.name = "VerifierRejection";
    this.program = program;
    this.log = log;
    this.errno = errno;
    this.insnIndex = insnIndex;
    this.line = loc?.line;
    this.col = loc?.col;
    this.reason = reason;
  }
}

/** The kernel's words when a BTF variable (`percpu_kaddr()`) has no address. */
const NO_KSYM = /failed to find the address for kernel symbol/;
const NO_KSYM_HINT =
  "\n  The kernel resolves a variable's BTF id through its symbol " +
  "table, which lists data symbols only when it is built with " +
  "CONFIG_KALLSYMS_ALL: percpu_kaddr() cannot load on this kernel.";

/** The last meaningful line of a verifier log (its error message). */
function verifierReason(log: string): string {
  const lines = log.split("\n").map((l) => l.trim()).filter((l) =>
    l.length > 0 && !l.startsWith("processed ") &&
    !l.startsWith("verification time") && !l.startsWith("stack depth")
  );
  return lines.at(-1) ?? errnoText(22);
}

/**
 * The failing instruction slot in a verifier log: the last line of the
 * form `N: (op) …` before the end, or undefined.
 *
 * @example Parse a log
 * ```ts
 * import { failingInsn } from "./errors.ts";
 * const log = "0: (b7) r0 = 0\n1: (79) r1 = *(u64 *)(r2 +0)\nR2 !read_ok\n";
 * console.assert(failingInsn(log) === 1);
 * ```
 */
export function failingInsn(log: string): number | undefined {
  let last: number | undefined;
  for (const m of log.matchAll(/^(\d+): \([0-9a-f]{2}\)/gm)) {
    last = Number(m[1]);
  }
  return last;
}

/**
 * A probe cannot be attached on this kernel for a reason that is not an
 * errno (no kprobe support, unknown tracepoint, symbol not found, …).
 *
 * @example Build one
 * ```ts
 * import { AttachError } from "./errors.ts";
 * const e = new AttachError("kprobe:x", "this kernel has no kprobes");
 * console.assert(e.message === 'Cannot attach "kprobe:x": this kernel has no kprobes');
 * ```
 */
export class AttachError extends Error {
  /** The probe's canonical text. */
  readonly probe: string;
  /** Creates the error from the probe text and a reason sentence. */
  constructor(probe: string, reason: string, options?: ErrorOptions) {
    super(`Cannot attach "${probe}": ${reason}`, options);
    this.name = "AttachError";
    this.probe = probe;
  }
}
