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
import { compile, resolveMaxMapKeys } from "./compiler/compile.ts";
import { prepareKernelTypes } from "./compiler/kernel_types.ts";
import { maxSampleRate } from "./probes/perf_events.ts";
import type { Engine } from "./engine.ts";
import { CompileErrors } from "./lang/diagnostics.ts";
import { Session, writeStdout } from "./session.ts";
import { VerifierError } from "./verifier/error.ts";
import { bundledFormatsNotice } from "./probes/tracepoint_format.ts";
import { checkTargets } from "./cli_targets.ts";
import { namingStdout, OutputFile } from "./output_file.ts";
import { NotTextError, readScriptFile } from "./script_file.ts";

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
  if (args[0] === "completions") return await completions(args.slice(1));
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

/** `tsbpf completions bash|zsh`: the shell's completion script. */
async function completions(args: string[]): Promise<number> {
  const { completionScript } = await import("./completions.ts");
  if (args.length !== 1) {
    stderr('tsbpf: Usage: tsbpf completions bash|zsh\nTry "tsbpf --help".');
    return 2;
  }
  try {
    writeStdout(completionScript(args[0]));
    return 0;
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    stderr(`tsbpf: ${e.message}\nTry "tsbpf --help".`);
    return 2;
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
  if (/^\s*(struct|union|enum)\s/.test(pattern)) {
    const { runListType } = await import("./btf/list_type.ts");
    return runListType(pattern, writeStdout, stderr, verbose);
  }
  const { formatProbeList, listProbes } = await import(
    "./probes/list_probes.ts"
  );
  const text = formatProbeList(
    listProbes(pattern === "" ? undefined : pattern),
    verbose,
  );
  const bundled = bundledFormatsNotice();
  if (bundled !== undefined) stderr(`tsbpf: ${bundled}`);
  writeStdout(text);
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
    try {
      source = readScriptFile(opts.file);
    } catch (e) {
      if (e instanceof NotTextError) {
        stderr(`ERROR: ${e.message}`);
        return 2;
      }
      stderr(`ERROR: Cannot read "${opts.file}": ${errorMessage(e)}`);
      return 1;
    }
  } else {
    stderr(`tsbpf: No program given: use -e 'PROGRAM' or a FILE\n\n${USAGE}`);
    return 2;
  }
  let maxMapKeys: number;
  try {
    maxMapKeys = resolveMaxMapKeys(opts.maxMapKeys);
  } catch (e) {
    throw new UsageError(errorMessage(e));
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
  await prepareKernelTypes(source);
  let program;
  try {
    program = compile(source, {
      fileName,
      params: opts.params,
      unsafe: opts.unsafe,
      pid: opts.pid,
      maxMapKeys,
      maxSampleRate: opts.backend === "interp" ? undefined : maxSampleRate(),
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

  let out: OutputFile | undefined;
  let engine: Engine | undefined;
  try {
    let write = namingStdout(writeStdout);
    if (opts.output !== undefined) {
      const file = out = new OutputFile(opts.output);
      write = (text: string) => file.write(text);
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
