/**
 * The native libraries of the kernel engine: libbpf (`libbpf.so.1`) and
 * libc (`libc.so.6`), opened lazily and shared by the whole process. The
 * only place in tsbpf that calls `Deno.dlopen`.
 *
 * Binding a function costs Deno ≈ 70 µs (it compiles a call trampoline):
 * the functions every kernel run calls ({@linkcode EAGER}) are bound when
 * a library opens, the others on first use ({@linkcode LazyLibrary}).
 *
 * libbpf ≥ 1.0 conventions: int-returning calls return `-errno`;
 * pointer-returning calls return NULL and set errno, read right after the
 * (synchronous) call through `__errno_location`.
 *
 * @module
 */

import { FfiUnavailableError, KernelError } from "./errors.ts";
import { envVar } from "../runtime/probes/env.ts";

const LIBBPF_SYMBOLS = {
  bpf_map_create: {
    parameters: ["i32", "buffer", "u32", "u32", "u32", "buffer"],
    result: "i32",
  },
  bpf_map_update_elem: {
    parameters: ["i32", "buffer", "buffer", "u64"],
    result: "i32",
  },
  bpf_map_lookup_elem: {
    parameters: ["i32", "buffer", "buffer"],
    result: "i32",
  },
  bpf_map_delete_elem: { parameters: ["i32", "buffer"], result: "i32" },
  bpf_map_get_next_key: {
    parameters: ["i32", "buffer", "buffer"],
    result: "i32",
  },
  bpf_map_lookup_batch: {
    parameters: [
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  bpf_map_lookup_and_delete_batch: {
    parameters: [
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
    optional: true,
  },
  bpf_prog_load: {
    parameters: ["i32", "buffer", "buffer", "buffer", "usize", "buffer"],
    result: "i32",
  },
  bpf_btf_load: {
    parameters: ["buffer", "usize", "buffer"],
    result: "i32",
    optional: true,
  },
  bpf_link_create: {
    parameters: ["i32", "i32", "i32", "buffer"],
    result: "i32",
  },
  bpf_link_detach: { parameters: ["i32"], result: "i32", optional: true },
  bpf_raw_tracepoint_open: {
    parameters: ["buffer", "i32"],
    result: "i32",
  },
  bpf_prog_test_run_opts: { parameters: ["i32", "buffer"], result: "i32" },
  bpf_obj_get_info_by_fd: {
    parameters: ["i32", "buffer", "buffer"],
    result: "i32",
  },
  bpf_prog_get_next_id: { parameters: ["u32", "buffer"], result: "i32" },
  bpf_prog_get_fd_by_id: { parameters: ["u32"], result: "i32" },
  bpf_enable_stats: { parameters: ["i32"], result: "i32" },
  ring_buffer__new: {
    parameters: ["i32", "function", "pointer", "pointer"],
    result: "pointer",
  },
  ring_buffer__poll: { parameters: ["pointer", "i32"], result: "i32" },
  ring_buffer__consume: { parameters: ["pointer"], result: "i32" },
  ring_buffer__epoll_fd: { parameters: ["pointer"], result: "i32" },
  ring_buffer__free: { parameters: ["pointer"], result: "void" },
  libbpf_strerror: {
    parameters: ["i32", "buffer", "usize"],
    result: "i32",
  },
  libbpf_version_string: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

const LIBC_SYMBOLS = {
  syscall: {
    parameters: ["i64", "buffer", "i64", "i64", "i64", "i64"],
    result: "i64",
  },
  ioctl: { parameters: ["i32", "u64", "u64"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  /** `close` on a worker thread: releasing a perf event can take long. */
  closeAsync: {
    name: "close",
    parameters: ["i32"],
    result: "i32",
    nonblocking: true,
  },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
  pthread_create: {
    parameters: ["buffer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  pthread_join: { parameters: ["u64", "pointer"], result: "i32" },
  /** `pthread_join` on a worker thread. */
  pthread_joinAsync: {
    name: "pthread_join",
    parameters: ["u64", "pointer"],
    result: "i32",
    nonblocking: true,
  },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  getpid: { parameters: [], result: "i32" },
  geteuid: { parameters: [], result: "u32" },
  mount: {
    parameters: ["buffer", "buffer", "buffer", "u64", "pointer"],
    result: "i32",
  },
  epoll_wait: {
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  sysconf: { parameters: ["i32"], result: "i64" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * The functions every kernel run calls (create maps, load, attach, run
 * BEGIN, read maps, the ring buffer, close), bound when the libraries
 * open; the rest bind on first use.
 */
const EAGER = {
  libbpf: [
    "bpf_map_create",
    "bpf_map_update_elem",
    "bpf_map_lookup_elem",
    "bpf_map_get_next_key",
    "bpf_map_lookup_batch",
    "bpf_prog_load",
    "bpf_prog_test_run_opts",
    "bpf_link_create",
  ] satisfies (keyof typeof LIBBPF_SYMBOLS)[],
  libc: [
    "syscall",
    "ioctl",
    "close",
    "closeAsync",
    "__errno_location",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "mmap",
    "munmap",
    "sysconf",
  ] satisfies (keyof typeof LIBC_SYMBOLS)[],
};

/** libbpf's symbols as Deno FFI exposes them. */
export type LibbpfSymbols = Deno.DynamicLibrary<typeof LIBBPF_SYMBOLS>[
  "symbols"
];
/** libc's symbols as Deno FFI exposes them. */
export type LibcSymbols = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

/**
 * Both native libraries, opened. Disposing closes them; `native()` opens
 * them again on next use.
 */
export class NativeLibs implements Disposable {
  #bpf: LazyLibrary<typeof LIBBPF_SYMBOLS>;
  #libc: LazyLibrary<typeof LIBC_SYMBOLS>;
  #closed = false;
  #closeFn: Deno.PointerValue | undefined;
  /** libbpf's symbols. */
  readonly bpf: LibbpfSymbols;
  /** libc's symbols. */
  readonly libc: LibcSymbols;

  /** Opens both libraries; prefer `native()`, which shares one instance. */
  constructor() {
    this.#libc = new LazyLibrary(
      "libc.so.6",
      LIBC_SYMBOLS,
      EAGER.libc,
      "libc6",
    );
    try {
      this.#bpf = new LazyLibrary(
        libbpfName(),
        LIBBPF_SYMBOLS,
        EAGER.libbpf,
        "libbpf1",
      );
    } catch (e) {
      this.#libc.close();
      throw e;
    }
    this.bpf = this.#bpf.symbols;
    this.libc = this.#libc.symbols;
  }

  /**
   * Closes a file descriptor on a thread of its own; returns the thread
   * (for `pthread_join`, which must follow), or undefined when no thread
   * could be started (nothing was closed). Releasing a tracepoint's perf
   * link takes the kernel an RCU grace period (~20-30 ms) before `close`
   * returns, and Deno runs at most 32 blocking calls (`closeAsync`) at
   * once: the rest would wait a grace period per 32. The thread's start
   * routine is libc's `close` itself, the fd its argument (a `void *`:
   * on x86_64 and arm64 the first integer argument travels in the same
   * register either way).
   */
  closeOnThread(fd: number): bigint | undefined {
    const libc = this.libc;
    this.#closeFn ??= libc.dlsym(
      null,
      new TextEncoder().encode("close\0"),
    );
    if (this.#closeFn === null) return undefined;
    const tid = new BigUint64Array(1);
    const ret = libc.pthread_create(
      new Uint8Array(tid.buffer),
      null,
      this.#closeFn,
      Deno.UnsafePointer.create(BigInt(fd)),
    );
    return ret === 0 ? tid[0] : undefined;
  }

  /** The current thread's errno. Meaningful right after a sync call only. */
  errno(): number {
    const p = this.libc.__errno_location();
    return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32(0);
  }

  /** libc's `strerror` text for an errno. */
  strerror(errno: number): string {
    const p = this.libc.strerror(errno);
    return p === null ? `Unknown error ${errno}` : Deno.UnsafePointerView
      .getCString(p);
  }

  /** libbpf's version, e.g. "v1.1". */
  version(): string {
    const p = this.bpf.libbpf_version_string();
    return p === null ? "unknown" : Deno.UnsafePointerView.getCString(p);
  }

  /**
   * Throws a `KernelError` when a libbpf int result is negative
   * (`-errno`); returns it otherwise.
   */
  check(op: string, ret: number, hint?: string): number {
    if (ret >= 0) return ret;
    throw new KernelError(op, -ret, this.strerror(-ret), hint);
  }

  /** A `KernelError` from an errno. */
  error(op: string, errno: number, hint?: string): KernelError {
    return new KernelError(op, errno, this.strerror(errno), hint);
  }

  /** Closes a file descriptor, ignoring errors. */
  closeFd(fd: number): void {
    if (fd >= 0) this.libc.close(fd);
  }

  /** Closes both libraries. Safe to call twice. */
  [Symbol.dispose](): void {
    if (this.#closed) return;
    this.#closed = true;
    if (shared === this) shared = undefined;
    this.#bpf.close();
    this.#libc.close();
  }
}

/**
 * The libbpf to open: `TSBPF_LIBBPF` when set (a path, or a name the dynamic
 * loader finds; pointing it at a missing file hides libbpf, as on a machine
 * without it), else `libbpf.so.1`.
 */
function libbpfName(): string {
  return envVar("TSBPF_LIBBPF") || "libbpf.so.1";
}

function openLib<S extends Deno.ForeignLibraryInterface>(
  name: string,
  symbols: S,
  debianPackage: string,
): Deno.DynamicLibrary<S> {
  if (Deno.build.os !== "linux") {
    throw new FfiUnavailableError(
      `the kernel engine needs Linux, this is ${Deno.build.os}`,
    );
  }
  try {
    return Deno.dlopen(name, symbols);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) {
      throw new FfiUnavailableError(
        "FFI is not permitted (run with --allow-ffi)",
        { cause: e },
      );
    }
    const msg = e instanceof Error ? e.message : String(e);
    if (/cannot open shared object|No such file/i.test(msg)) {
      throw new FfiUnavailableError(
        `${name} is not installed (Debian/Ubuntu: apt-get install ${debianPackage})`,
        { cause: e },
      );
    }
    throw new FfiUnavailableError(`cannot open ${name}: ${msg}`, {
      cause: e,
    });
  }
}

/**
 * A library whose functions outside `eager` are bound on first use, each
 * by its own `Deno.dlopen` (the library is loaded already: that costs the
 * trampoline only). Opening still fails, as one `Deno.dlopen` of every
 * function would, when a required symbol is missing: the others are
 * looked up as plain addresses, which compiles nothing.
 */
class LazyLibrary<S extends Deno.ForeignLibraryInterface> {
  /** The functions, as `Deno.DynamicLibrary.symbols`. */
  readonly symbols: Deno.DynamicLibrary<S>["symbols"];
  #libs: Deno.DynamicLibrary<Deno.ForeignLibraryInterface>[] = [];
  #name: string;

  constructor(
    name: string,
    symbols: S,
    eager: readonly (keyof S & string)[],
    debianPackage: string,
  ) {
    this.#name = name;
    const isEager = new Set<string>(eager);
    const first: Deno.ForeignLibraryInterface = {};
    for (const [k, def] of Object.entries(symbols)) {
      first[k] = isEager.has(k) ? def : {
        name: "name" in def && def.name !== undefined ? def.name : k,
        type: "pointer",
        optional: def.optional,
      };
    }
    const lib = openLib(name, first, debianPackage);
    this.#libs.push(lib);
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(symbols)) {
      // Absent optional symbols read as null, as Deno gives them.
      if (isEager.has(k) || lib.symbols[k] === null) {
        out[k] = lib.symbols[k];
        continue;
      }
      Object.defineProperty(out, k, {
        configurable: true,
        enumerable: true,
        get: () => {
          const fn = this.#bind(k, symbols[k]);
          Object.defineProperty(out, k, { value: fn, enumerable: true });
          return fn;
        },
      });
    }
    this.symbols = out as Deno.DynamicLibrary<S>["symbols"];
  }

  #bind(
    key: string,
    def: Deno.ForeignFunction | Deno.ForeignStatic,
  ): unknown {
    if (this.#libs.length === 0) {
      throw new Error(`Cannot call ${key}: ${this.#name} is closed`);
    }
    const one = Deno.dlopen(this.#name, { [key]: def });
    this.#libs.push(one);
    return one.symbols[key];
  }

  /** Closes the library (every handle). Safe to call twice. */
  close(): void {
    for (const lib of this.#libs.splice(0)) lib.close();
  }
}

let shared: NativeLibs | undefined;

/**
 * The process-wide native libraries, opened on first use.
 *
 * @throws {FfiUnavailableError} when not on Linux, a library is missing or
 * `--allow-ffi` is not granted.
 * @example Read libbpf's version
 * ```ts
 * import { native } from "./libbpf.ts";
 * import { FfiUnavailableError } from "./errors.ts";
 * try {
 *   console.log(native().version());
 * } catch (e) {
 *   if (!(e instanceof FfiUnavailableError)) throw e;
 *   console.log(e.reason);
 * }
 * ```
 */
export function native(): NativeLibs {
  shared ??= new NativeLibs();
  return shared;
}

/** The signature of libbpf's `ring_buffer_sample_fn`. */
export const RINGBUF_SAMPLE_FN = {
  parameters: ["pointer", "pointer", "usize"],
  result: "i32",
} as const satisfies Deno.UnsafeCallbackDefinition;

/**
 * An `UnsafeCallback` that can be disposed (`using`) and closed twice.
 *
 * @example A callback that is released at scope end
 * ```ts
 * import { Callback, RINGBUF_SAMPLE_FN } from "./libbpf.ts";
 * using cb = new Callback(RINGBUF_SAMPLE_FN, () => 0);
 * console.log(cb.pointer);
 * ```
 */
export class Callback<D extends Deno.UnsafeCallbackDefinition>
  implements Disposable {
  #cb: Deno.UnsafeCallback<D> | undefined;
  /** The function pointer to hand to C. */
  readonly pointer: Deno.PointerObject<D>;

  /** Wraps `new Deno.UnsafeCallback(definition, fn)`. */
  constructor(
    definition: D,
    fn: Deno.UnsafeCallbackFunction<D["parameters"], D["result"]>,
  ) {
    this.#cb = new Deno.UnsafeCallback(definition, fn);
    this.pointer = this.#cb.pointer;
  }

  /** Releases the callback. Safe to call twice. */
  [Symbol.dispose](): void {
    this.#cb?.close();
    this.#cb = undefined;
  }
}

/**
 * A pointer's address as a bigint, for storing into a struct field.
 * The buffer must stay referenced for as long as C may use the pointer.
 *
 * @example Address of a buffer
 * ```ts
 * import { addressOf } from "./libbpf.ts";
 * console.assert(addressOf(new Uint8Array(8)) !== 0n);
 * ```
 */
export function addressOf(buf: Uint8Array<ArrayBuffer>): bigint {
  const p = Deno.UnsafePointer.of(buf);
  return p === null ? 0n : BigInt(Deno.UnsafePointer.value(p));
}
