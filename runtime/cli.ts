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
    if (opts.list !== undefined) return await list(opts.list);
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

async function list(pattern: string): Promise<number> {
  const { listProbes } = await import("./probes/list_probes.ts");
  const found = listProbes(pattern === "" ? undefined : pattern);
  writeStdout(found.map((p) => p + "\n").join(""));
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
      source = Deno.readTextFileSync(opts.file);
    } catch (e) {
      stderr(`ERROR: Cannot read "${opts.file}": ${errorMessage(e)}`);
      return 1;
    }
  } else {
    stderr(`tsbpf: No program given: use -e 'PROGRAM' or a FILE\n\n${USAGE}`);
    return 2;
  }
  // -c: start the command stopped, so nothing it does escapes the probes;
  // it continues once every probe is attached.
  let child: Deno.ChildProcess | undefined;
  if (opts.command !== undefined && !opts.dryRun) {
    child = await spawnStopped(opts.command);
  }
  if (!opts.dryRun && opts.replay === undefined) preloadEngine(opts.backend);
  // --record/--replay: their modules load only when asked for; a replay
  // opens its file first, the program compiling against its formats.
  const hooks = opts.record !== undefined || opts.replay !== undefined
    ? await import("./record/cli_hooks.ts")
    : undefined;
  let replay;
  try {
    replay = opts.replay === undefined || opts.dryRun
      ? undefined
      : await hooks!.replayEngine(opts.replay, opts);
  } catch (e) {
    await killChild(child);
    throw e;
  }
  if (replay?.warning !== undefined) {
    stderr(`tsbpf: WARNING: ${replay.warning}`);
  }
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
  if (opts.dryRun) return 0;

  let out: Deno.FsFile | undefined;
  let engine: Engine | undefined;
  try {
    let write = writeStdout;
    if (opts.output !== undefined) {
      const file = out = Deno.openSync(opts.output, {
        write: true,
        create: true,
        truncate: true,
      });
      write = (text: string) => {
        let bytes = encoder.encode(text);
        while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
      };
    }
    const selected = replay ?? await selectEngine(opts.backend, {
      seed: opts.seed,
      rate: opts.rate,
      pid: opts.pid,
      realtime: true,
    });
    engine = selected.engine;
    if (opts.record !== undefined) {
      engine = hooks!.recordingEngine(engine, opts.record, fileName);
    }
    await verifyForEngine(program, engine);
    const session = new Session(program, engine, {
      format: opts.format,
      write,
      unsafe: opts.unsafe,
    });
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    try {
      await session.start();
      // One line naming the engine and why, once its probes are live.
      stderr(`tsbpf: ${selected.note}`);
      if (child !== undefined) {
        child.status.then(() => abort.abort());
        Deno.kill(child.pid, "SIGCONT");
      }
      await session.run({
        durationMs: opts.duration === undefined
          ? replay?.durationMs
          : opts.duration * 1000,
        signal: abort.signal,
      });
      await session.finish();
      if (replay?.feed.error !== undefined) {
        stderr(`ERROR: ${replay.feed.error.message}`);
        return 1;
      }
      const summary = (engine as { summary?: () => unknown }).summary?.() as
        | { events: number; bytes: number; lost: number }
        | undefined;
      if (summary !== undefined) {
        stderr(
          `tsbpf: recorded ${summary.events} events (${summary.bytes} bytes${
            summary.lost > 0 ? `, ${summary.lost} lost` : ""
          }) to "${opts.record}"`,
        );
      }
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
