/**
 * The command-line tool: `deno run -A mod.ts …`. Every failure becomes one
 * clear message on standard error and an exit status; never a stack trace.
 *
 * Exit status: 0 success, 1 runtime/kernel/assembly/verifier error,
 * 2 usage or compile error.
 *
 * @module
 */

import { preloadEngine, selectEngine, verifyForEngine } from "./backend.ts";
import { type CliOptions, parseCli, USAGE, UsageError } from "./cli_args.ts";
import { compile } from "./compiler/compile.ts";
import type { Engine } from "./engine.ts";
import { CompileErrors } from "./lang/diagnostics.ts";
import { Session, writeStdout } from "./session.ts";
import { VerifierError } from "./verifier/error.ts";
import { bundledFormatsNotice } from "./probes/tracepoint_format.ts";

/** The version `--version` prints. */
export const VERSION = "tsbpf 0.1.0";

const encoder = new TextEncoder();

function stderr(text: string): void {
  Deno.stderr.writeSync(
    encoder.encode(text.endsWith("\n") ? text : text + "\n"),
  );
}

function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * Runs the CLI and returns the exit status.
 *
 * @example Print the version
 * ```ts
 * import { main } from "./cli.ts";
 * const status = await main(["--version"]);
 * console.assert(status === 0);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let opts: CliOptions;
  try {
    opts = parseCli(args);
  } catch (e) {
    stderr(`tsbpf: ${errorMessage(e)}\nTry "tsbpf --help".`);
    return 2;
  }
  if (opts.help) {
    writeStdout(USAGE);
    return 0;
  }
  if (opts.version) {
    writeStdout(VERSION + "\n");
    return 0;
  }
  try {
    // The playground and the probe list import their modules when asked
    // for, so that tracing starts without loading them.
    if (opts.asm !== undefined) return await playground(opts);
    if (opts.list !== undefined) return await list(opts.list, opts.verbose);
    return await runScript(opts);
  } catch (e) {
    return report(e, opts);
  }
}

function report(e: unknown, opts: CliOptions): number {
  if (e instanceof CompileErrors) {
    stderr(e.format());
    return 2;
  }
  if (e instanceof UsageError) {
    stderr(`tsbpf: ${e.message}\nTry "tsbpf --help".`);
    return 2;
  }
  if (e instanceof VerifierError) {
    stderr(`ERROR: ${e.message}`);
    return 1;
  }
  if (e instanceof Deno.errors.NotCapable) {
    stderr(`ERROR: ${e.message}; run with -A`);
    return 1;
  }
  const err = e as { log?: unknown };
  stderr(`ERROR: ${errorMessage(e)}`);
  if (typeof err.log === "string" && err.log.length > 0) {
    const lines = err.log.trimEnd().split("\n");
    const shown = opts.verbose ? lines : lines.slice(-12);
    if (!opts.verbose && lines.length > shown.length) {
      stderr(
        `Verifier log (last ${shown.length} of ${lines.length} lines; -v shows all):`,
      );
    } else {
      stderr("Verifier log:");
    }
    stderr(shown.join("\n"));
  }
  return 1;
}

async function playground(opts: CliOptions): Promise<number> {
  const { AsmError } = await import("./bpf/assembler.ts");
  const { parseHexBytes, runPlayground } = await import("./playground.ts");
  const { VmError } = await import("./vm/vm_error.ts");
  const path = opts.asm!;
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    stderr(`ERROR: Cannot read "${path}": ${errorMessage(e)}`);
    return 1;
  }
  let mem: Uint8Array | undefined;
  try {
    mem = opts.mem === undefined ? undefined : parseHexBytes(opts.mem);
  } catch (e) {
    stderr(`ERROR: ${errorMessage(e)}`);
    return 1;
  }
  try {
    const r = runPlayground(text, {
      mem,
      noVerify: opts.noVerify,
      disasm: opts.disasm,
      fileName: path,
    });
    writeStdout(r.lines.join("\n") + "\n");
  } catch (e) {
    if (e instanceof AsmError || e instanceof VmError) {
      stderr(`ERROR: ${e.message}`);
      return 1;
    }
    throw e;
  }
  return 0;
}

async function list(pattern: string, verbose: boolean): Promise<number> {
  const { listProbes } = await import("./probes/list_probes.ts");
  const found = listProbes(pattern === "" ? undefined : pattern);
  const bundled = bundledFormatsNotice();
  if (bundled !== undefined && !verbose) stderr(`tsbpf: ${bundled}`);
  if (!verbose) {
    writeStdout(found.map((p) => p + "\n").join(""));
    return 0;
  }
  // -v: each tracepoint's arguments as its format declares them, as
  // bpftrace -lv prints them (the common_* header fields left out).
  const { readTracepointFormat } = await import(
    "./probes/tracepoint_format.ts"
  );
  const lines: string[] = [];
  for (const probe of found) {
    lines.push(probe + "\n");
    if (!probe.startsWith("tracepoint:")) continue;
    const [, category, name] = probe.split(":");
    let fields;
    try {
      fields = readTracepointFormat(category, name).fields;
    } catch {
      continue; // listed but its format is unreadable: the name alone
    }
    for (const f of fields) if (!f.common) lines.push(`    ${f.decl}\n`);
  }
  const bundledAfter = bundledFormatsNotice();
  if (bundledAfter !== undefined) stderr(`tsbpf: ${bundledAfter}`);
  writeStdout(lines.join(""));
  return 0;
}

async function runScript(opts: CliOptions): Promise<number> {
  let source: string;
  let fileName: string;
  if (opts.expr !== undefined) {
    source = opts.expr;
    fileName = "stdin";
  } else if (opts.file !== undefined) {
    fileName = opts.file;
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(opts.file);
    } catch (e) {
      stderr(`ERROR: Cannot read "${opts.file}": ${errorMessage(e)}`);
      return 1;
    }
    const text = scriptText(bytes);
    if (text === undefined) {
      stderr(
        `ERROR: "${opts.file}" is not a text file${
          isElf(bytes) ? " (an ELF binary)" : ""
        }: give a bpftrace program (.bt file) or -e 'PROGRAM'`,
      );
      return 2;
    }
    source = text;
  } else {
    stderr(`tsbpf: No program given: use -e 'PROGRAM' or a FILE\n\n${USAGE}`);
    return 2;
  }
  // Bad targets are errors, as in bpftrace, before anything is compiled.
  const badTarget = checkTargets(opts);
  if (badTarget !== undefined) {
    stderr(`ERROR: ${badTarget}`);
    return 1;
  }
  // -c: start the command stopped, so nothing it does escapes the probes;
  // it continues once every probe is attached.
  let child: Deno.ChildProcess | undefined;
  if (opts.command !== undefined && !opts.dryRun) {
    child = await spawnStopped(opts.command);
  }
  if (!opts.dryRun) preloadEngine(opts.backend);
  let program;
  try {
    program = compile(source, {
      fileName,
      params: opts.params,
      unsafe: opts.unsafe,
      pid: opts.pid,
      cpid: child?.pid ?? (opts.command !== undefined ? 0 : undefined),
    });
    if (opts.dryRun) {
      const { verifyProgram } = await import("./verify_program.ts");
      verifyProgram(program);
    }
  } catch (e) {
    await killChild(child);
    throw e;
  }
  if (opts.disasm) {
    const { formatDryRun } = await import("./compiler/dry_run.ts");
    writeStdout(formatDryRun(program));
  }
  // Formats from the bundle rather than this kernel: say so once, after
  // the engine is settled (a refusal stays one line) and before the
  // attach line.
  const bundled = bundledFormatsNotice();
  if (opts.dryRun) {
    if (bundled !== undefined) stderr(`tsbpf: ${bundled}`);
    return 0;
  }

  let out: Deno.FsFile | undefined;
  let engine: Engine | undefined;
  try {
    let write = writeStdout;
    if (opts.output !== undefined) {
      const path = opts.output;
      let file: Deno.FsFile;
      try {
        file = out = Deno.openSync(path, {
          write: true,
          create: true,
          truncate: true,
        });
      } catch (e) {
        throw new Error(`Cannot open "${path}" for writing: ${errnoName(e)}`, {
          cause: e,
        });
      }
      write = (text: string) => {
        let bytes = encoder.encode(text);
        try {
          while (bytes.length > 0) {
            bytes = bytes.subarray(file.writeSync(bytes));
          }
        } catch (e) {
          throw new Error(`Cannot write "${path}": ${errnoName(e)}`, {
            cause: e,
          });
        }
      };
    }
    const selected = await selectEngine(opts.backend, {
      seed: opts.seed,
      rate: opts.rate,
      pid: opts.pid,
      realtime: true,
    });
    engine = selected.engine;
    await verifyForEngine(program, engine);
    const session = new Session(program, engine, {
      format: opts.format,
      write,
      unsafe: opts.unsafe,
      runSystemOnSynthetic: opts.runSystemOnSynthetic,
    });
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    // The engine notice: for the interpreter always (its events are
    // synthetic), for the kernel only with -v; before the attach line.
    if (engine.kind === "interp" || opts.verbose) {
      stderr(`tsbpf: ${selected.note}`);
    }
    if (bundled !== undefined) stderr(`tsbpf: ${bundled}`);
    try {
      await session.start();
      if (child !== undefined) {
        child.status.then(() => abort.abort());
        Deno.kill(child.pid, "SIGCONT");
      }
      await session.run({
        durationMs: opts.duration === undefined
          ? undefined
          : opts.duration * 1000,
        signal: abort.signal,
      });
      await session.finish();
    } finally {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    }
  } finally {
    engine?.close();
    out?.close();
    await killChild(child);
  }
  return 0;
}

/**
 * A script file's text, or undefined when it is not text: a NUL byte or
 * bytes that are not UTF-8 (an executable, an image, a compressed file).
 */
function scriptText(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function isElf(bytes: Uint8Array): boolean {
  return bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c &&
    bytes[3] === 0x46;
}

/** `ENOSPC (No space left on device)` for an OS error, else its message. */
function errnoName(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const message = errorMessage(e).replace(/ \(os error \d+\).*$/s, "");
  return typeof code === "string" && code !== "" && code !== message
    ? `${code} (${message})`
    : message;
}

/**
 * Why `-p PID` or `-c CMD` cannot be traced, or undefined. A pid must name
 * a live process (on Linux, where /proc tells; the interpreter's processes
 * are synthetic); a simple command's program must be an executable file,
 * given as a path or found in PATH. Shell lines (`a; b`, pipes) are left
 * to the shell.
 */
function checkTargets(opts: CliOptions): string | undefined {
  if (
    opts.pid !== undefined && opts.backend !== "interp" &&
    Deno.build.os === "linux" && !exists(`/proc/${opts.pid}`) &&
    exists("/proc/self")
  ) {
    return `Cannot trace pid ${opts.pid} (-p): No such process`;
  }
  if (opts.command === undefined || /[;&|<>()`\n]/.test(opts.command)) {
    return undefined;
  }
  const words = opts.command.trim().split(/\s+/);
  const program = words.find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
  if (program === undefined || /["'$\\]/.test(program)) return undefined;
  if (findExecutable(program) === undefined) {
    return `Cannot run "${program}" (-c): ${
      program.includes("/")
        ? "no such executable file"
        : "no such executable file in PATH"
    }`;
  }
  return undefined;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function isExecutableFile(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && (st.mode === null || (st.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

function findExecutable(program: string): string | undefined {
  if (program.includes("/")) {
    return isExecutableFile(program) ? program : undefined;
  }
  const path = Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
  for (const dir of path.split(":")) {
    const candidate = `${dir === "" ? "." : dir}/${program}`;
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Starts CMD through `sh` stopped (the shell sends itself SIGSTOP, then
 * execs the command in the same process) and waits until it is stopped.
 */
async function spawnStopped(command: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command("sh", {
    // A simple command is exec'd, so its pid is the child's (cpid); a shell
    // line (`a; b`, pipes, redirections) runs whole in that shell.
    args: [
      "-c",
      /[;&|<>()`\n]/.test(command)
        ? `kill -STOP "$$"; ${command}`
        : `kill -STOP "$$"; exec ${command}`,
    ],
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  for (let i = 0; i < 500; i++) {
    let state = "";
    try {
      const stat = Deno.readTextFileSync(`/proc/${child.pid}/stat`);
      state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    } catch {
      break; // not Linux /proc: run it as it is
    }
    if (state === "T" || state === "t" || state === "Z") break;
    await new Promise((r) => setTimeout(r, 2));
  }
  return child;
}

async function killChild(child: Deno.ChildProcess | undefined): Promise<void> {
  if (child === undefined) return;
  try {
    child.kill("SIGTERM");
    Deno.kill(child.pid, "SIGCONT");
  } catch {
    // already gone
  }
  await child.status;
}
