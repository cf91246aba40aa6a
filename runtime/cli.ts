/**
 * The command-line tool: `deno run -A mod.ts …`. Every failure becomes one
 * clear message on standard error and an exit status; never a stack trace.
 *
 * Exit status: 0 success, 1 runtime/kernel/assembly/verifier error,
 * 2 usage or compile error.
 *
 * @module
 */

import { preloadEngine, selectEngine } from "./engines/backend.ts";
import { type CliOptions, parseCli, USAGE, UsageError } from "./cli_args.ts";
import { compile, resolveMaxMapKeys } from "./compiler/compile.ts";
import { prepareKernelTypes } from "./compiler/kernel_types.ts";
import { CONFIG_ENV, loadOnDemand } from "./compiler/on_demand.ts";
import { maxSampleRate } from "./probes/perf_events.ts";
import type { Engine } from "./engines/engine.ts";
import type { MetricsSource } from "./metrics/server.ts";
import type { Program } from "./program.ts";
import type { Program as Tree } from "./lang/ast.ts";
import type { Analysis } from "./compiler/sema.ts";
import { CompileErrors } from "./lang/diagnostics.ts";
import { type DetachProgress, Session, writeStdout } from "./session.ts";
import { VerifierError } from "./verifier/error.ts";
import { bundledFormatsNotice } from "./probes/tracepoint_format.ts";
import { checkTargets } from "./cli_targets.ts";
import { checkProbeLimit } from "./probe_limit.ts";
import { namingStdout, OutputFile } from "./output_file.ts";
import { describeOsError } from "./probes/os_error.ts";

import { VERSION } from "./version.ts";
import { envVar } from "./probes/env.ts";

export { VERSION } from "./version.ts";

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
  // `serve`: several programs behind one /metrics (imported only here).
  if (args[0] === "serve") {
    const { serveMain } = await import("./metrics/serve.ts");
    return await serveMain(
      args.slice(1),
      undefined,
      VERSION.replace(/^tsbpf /, ""),
    );
  }
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
    if (opts.list !== undefined) {
      return await list(opts.list, opts.verbose, opts.pid);
    }
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
  // A program a verifier refused (ours or the kernel's) never ran: like
  // a compile error, status 2.
  if (e instanceof VerifierError) {
    stderr(`ERROR: ${e.message}`);
    return 2;
  }
  if (e instanceof Deno.errors.NotCapable) {
    stderr(`ERROR: ${e.message}; run with -A`);
    return 1;
  }
  const err = e as { log?: unknown; probe?: unknown };
  stderr(`ERROR: ${errorMessage(e)}`);
  // bpftrace 0.26's words for a probe that fails to attach with
  // missing_probes = error, its default (src/bpftrace.cpp).
  if (e instanceof Error && e.name === "AttachError") {
    stderr(
      `ERROR: Unable to attach probe: ${err.probe}. If this is expected, set the 'missing_probes' config variable to 'warn'.`,
    );
  }
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
  // The kernel's VerifierRejection (ffi/errors.ts, loaded with the engine).
  return e instanceof Error && e.name === "VerifierRejection" ? 2 : 1;
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
    stderr(`ERROR: Cannot read "${path}": ${describeOsError(e)}`);
    return 1;
  }
  let mem: Uint8Array | undefined;
  try {
    mem = opts.mem === undefined ? undefined : parseHexBytes(opts.mem);
  } catch (e) {
    stderr(`tsbpf: ${errorMessage(e)}\nTry "tsbpf --help".`);
    return 2;
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
    // Assembly errors are compile errors (status 2, as are verifier
    // rejections: see report()); faults of the run are run-time errors.
    if (e instanceof AsmError || e instanceof VmError) {
      stderr(`ERROR: ${e.message}`);
      return e instanceof AsmError ? 2 : 1;
    }
    throw e;
  }
  return 0;
}

async function list(
  pattern: string,
  verbose: boolean,
  pid?: number,
): Promise<number> {
  if (/^\s*(struct|union|enum)\s/.test(pattern)) {
    const { runListType } = await import("./btf/list_type.ts");
    return runListType(pattern, writeStdout, stderr, verbose);
  }
  const { formatProbeList, listProbes } = await import(
    "./probes/list_probes.ts"
  );
  const text = formatProbeList(
    listProbes(pattern === "" ? undefined : pattern, { pid }),
    verbose,
  );
  const bundled = bundledFormatsNotice();
  if (bundled !== undefined) stderr(`tsbpf: ${bundled}`);
  if (/^kr?(?:et)?probe:/m.test(text) && !hasKprobes()) {
    stderr(
      "tsbpf: this kernel has no kprobes (built without CONFIG_KPROBES): " +
        "the kernel functions listed cannot be attached; use tracepoints",
    );
  }
  writeStdout(text);
  return 0;
}

/** Whether the kernel can attach kprobes (its perf "kprobe" PMU exists). */
function hasKprobes(): boolean {
  if (Deno.build.os !== "linux") return true;
  try {
    Deno.statSync("/sys/bus/event_source/devices/kprobe");
    return true;
  } catch (e) {
    return !(e instanceof Deno.errors.NotFound);
  }
}

async function runScript(opts: CliOptions): Promise<number> {
  let source: string;
  let fileName: string;
  if (opts.expr !== undefined) {
    source = opts.expr;
    fileName = "stdin";
  } else if (opts.file !== undefined) {
    // `-` reads the program from standard input, named "stdin" as bpftrace
    // names it.
    fileName = opts.file === "-" ? "stdin" : opts.file;
    // Imported only here: a one-liner reads no script file.
    const { NotTextError, readScriptFile, readScriptStdin } = await import(
      "./script_file.ts"
    );
    try {
      source = opts.file === "-"
        ? await readScriptStdin()
        : readScriptFile(opts.file);
    } catch (e) {
      if (e instanceof NotTextError) {
        stderr(`ERROR: ${e.message}`);
        return 2;
      }
      const what = opts.file === "-" ? "standard input" : `"${opts.file}"`;
      stderr(`ERROR: Cannot read ${what}: ${describeOsError(e)}`);
      return 1;
    }
  } else {
    stderr(`tsbpf: No program given: use -e 'PROGRAM' or a FILE\n\n${USAGE}`);
    return 2;
  }
  // --include FILE: as bpftrace, an #include of the preamble; appended so
  // that the script's own line numbers stay as written.
  for (const inc of opts.includes) {
    source += inc.startsWith("/") || inc.startsWith(".")
      ? `\n#include "${inc}"`
      : `\n#include <${inc}>`;
  }
  const warn = opts.noWarnings ? () => {} : stderr;
  for (const hint of opts.migrationHints) warn(`tsbpf: WARNING: ${hint}`);
  if (opts.helperErrors) {
    warn(
      "tsbpf: WARNING: -k has nothing to do: tsbpf does not report BPF helper errors yet",
    );
  }
  try {
    // Checked now (a usage error); resolved by the compile, where the
    // script's config block may set it.
    resolveMaxMapKeys(opts.maxMapKeys);
    // BPFTRACE_STACK_MODE and the other settings of a config block.
    if (CONFIG_ENV.some(envVar)) {
      (await import("./lang/config.ts")).checkConfigEnv();
    }
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
  // What a plain one-liner does not need loads only for the scripts that
  // may need it: kernel types, macros, ELF and USDT readers, kallsyms.
  await Promise.all([
    prepareKernelTypes(source),
    loadOnDemand(source, opts.params),
  ]);
  // -d parse/ast/types: the compiler's intermediate results, on stdout.
  const stages =
    opts.debug.some((s) => s === "parse" || s === "ast" || s === "types")
      ? await import("./compiler/debug_stages.ts")
      : undefined;
  let program;
  try {
    program = compile(source, {
      fileName,
      params: opts.params,
      unsafe: opts.unsafe,
      pid: opts.pid,
      maxMapKeys: opts.maxMapKeys,
      maxSampleRate: opts.backend === "interp" ? undefined : maxSampleRate(),
      cpid: child?.pid ?? (opts.command !== undefined ? 0 : undefined),
      histSums: opts.metrics !== undefined || opts.remoteWrite !== undefined,
      debug: stages === undefined ? undefined : {
        parsed: opts.debug.includes("parse")
          ? (t) =>
            writeStdout(stages.formatAstStage("Parsed program", t as Tree))
          : undefined,
        lowered: opts.debug.includes("ast")
          ? (t) => writeStdout(stages.formatAstStage("AST", t as Tree))
          : undefined,
        types: opts.debug.includes("types")
          ? (a) => writeStdout(stages.formatTypesStage(a as Analysis))
          : undefined,
      },
      named: opts.named,
    });
    if (opts.dryRun) {
      const { verifyProgram } = await import("./verify_program.ts");
      verifyProgram(program);
    }
  } catch (e) {
    await killChild(child);
    throw e;
  }
  // test:/bench: probes run only with --test/--bench (the module loads
  // only for programs that have them or ask for a mode).
  const modes = opts.mode !== undefined ||
      program.probes.some((p) =>
        p.attach[0]?.kind === "test" || p.attach[0]?.kind === "bench"
      )
    ? await import("./test_mode.ts")
    : undefined;
  if (modes !== undefined) program = modes.probesForMode(program, opts.mode);
  if (opts.probeFilter !== undefined) {
    const { filterProbes } = await import("./probe_filter.ts");
    try {
      program = filterProbes(program, opts.probeFilter);
    } catch (e) {
      await killChild(child);
      throw e;
    }
  }
  if (opts.named.size > 0) {
    // Named parameters the program does not read, `--help`, bad values.
    const { checkNamed } = await import("./compiler/getopt.ts");
    const issues = checkNamed(program.options ?? [], opts.named);
    if (issues.length > 0) {
      await killChild(child);
      for (const i of issues) stderr(`${i.kind}: ${i.text}`);
      return 1;
    }
  }
  for (const w of program.config?.warnings ?? []) warn(w);
  if (opts.disasm) {
    const { formatDryRun } = await import("./compiler/dry_run.ts");
    writeStdout(formatDryRun(program));
  }
  // Formats from the bundle rather than this kernel: say so once, after
  // the engine is settled (a refusal stays one line) and before the
  // attach line.
  const bundled = bundledFormatsNotice();
  if (opts.debug.includes("libbpf")) {
    warn(
      "tsbpf: WARNING: -d libbpf has nothing to print: tsbpf calls no libbpf function that logs",
    );
  }
  if (opts.dryRun) {
    if (bundled !== undefined) stderr(`tsbpf: ${bundled}`);
    // As bpftrace 0.26 (man/adoc/bpftrace.adoc, src/bpftrace.cpp): load
    // and attach every probe, then end, printing nothing (no attach line,
    // no end probe, no maps). With --backend interp (or --replay): the
    // compile and tsbpf's verifier only, which need no privileges.
    if (opts.backend !== "interp" && opts.replay === undefined) {
      return await dryRunAttach(opts, program, warn);
    }
    return 0;
  }

  let out: OutputFile | undefined;
  let engine: Engine | undefined;
  let metrics: Exporter[] = [];
  try {
    metrics = await startExporters(opts, program);
    let write = namingStdout(writeStdout);
    if (opts.output !== undefined) {
      const file = out = new OutputFile(opts.output);
      write = (text: string) => file.write(text);
    }
    const selected = replay ?? await selectEngine(opts.backend, {
      seed: opts.seed,
      rate: opts.rate,
      pid: opts.pid,
      realtime: true,
      logLevel: opts.debug.includes("verifier") ? 2 : undefined,
    });
    engine = selected.engine;
    // A text file of synthetic events says so on its first line, in the
    // words of the notice on stderr (JSON's attach record carries
    // "synthetic": true); not for the kernel's events, nor a replay's.
    if (
      out !== undefined && opts.format === "text" &&
      (engine.synthetic ?? engine.kind === "interp")
    ) out.write(`tsbpf: ${selected.note}\n`);
    if (opts.record !== undefined) {
      engine = hooks!.recordingEngine(engine, opts.record, fileName, {
        pid: opts.pid,
      });
    }
    engine.verify?.(program);
    // --test/--bench divert the output of each run (kept or dropped).
    let diverted: ((text: string) => void) | undefined;
    const output = write;
    const session = new Session(program, engine, {
      format: opts.format,
      write: (text) => (diverted ?? output)(text),
      unsafe: opts.unsafe,
      runSystemOnSynthetic: opts.runSystemOnSynthetic,
      notice: stderr,
      attachLine: !opts.quiet && opts.mode === undefined,
      // As bpftrace 0.24+: the attach and lost-events lines on stderr.
      messages: stderr,
      warn,
      // bpftrace's runtime tests wait for this line on stdout.
      onAttached: notifyAttached()
        ? () => writeStdout("__BPFTRACE_NOTIFY_PROBES_ATTACHED\n")
        : undefined,
    });
    const abort = new AbortController();
    // The first Ctrl-C (or SIGTERM) ends the run; the second says what
    // is being waited for and how to force an exit; the third forces it.
    let presses = 0;
    const onSignal = () => {
      presses++;
      if (presses === 1) abort.abort();
      else if (presses === 2) stderr(forceExitHint(session.detaching));
      else {
        const left = engine?.handOff?.();
        if (left !== undefined) {
          stderr(
            `tsbpf: exiting; process ${left.pid} holds the ${left.count} probes left until the kernel has released them`,
          );
        }
        Deno.exit(130);
      }
    };
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
      if (opts.debug.includes("verifier")) printVerifierLogs(engine, program);
      if (modes !== undefined && opts.mode !== undefined) {
        const status = await modes.runProbeMode(session, opts.mode, {
          format: opts.format,
          color: opts.output === undefined && Deno.stdout.isTerminal() &&
            !Deno.noColor,
          write: output,
          divert: (to) => diverted = to,
          error: stderr,
        });
        // As bpftrace 0.26 (src/bpftrace.cpp): no maps at exit in these
        // modes.
        await session.finish({ printMaps: false, end: true });
        return session.outputClosed ? 141 : status;
      }
      if (metrics.length > 0) await exportSession(metrics, session);
      if (child !== undefined) {
        child.status.then(() => abort.abort());
        Deno.kill(child.pid, "SIGCONT");
      }
      // As bpftrace 0.24+: a program of begin and end probes only ends
      // once begin has run (unless a command or an exporter keeps it).
      const onlySpecial = child === undefined && metrics.length === 0 &&
        program.probes.every((p) =>
          p.attach.every((a) => a.kind === "BEGIN" || a.kind === "END")
        );
      // -p: as bpftrace 0.26, the run ends when that process exits (the
      // interpreter's process is synthetic, a replay's recorded: they
      // are not this machine's).
      const watch = opts.pid !== undefined && engine.kind === "kernel"
        ? (await import("./process_watch.ts")).watchProcess(opts.pid)
        : undefined;
      try {
        if (!onlySpecial) {
          await session.run({
            durationMs: opts.duration === undefined
              ? replay?.durationMs
              : opts.duration * 1000,
            signal: abort.signal,
            process: watch?.signal,
          });
        }
      } finally {
        watch?.close();
      }
      await closeExporters(metrics);
      await session.finish();
      // As bpftrace, killed by SIGPIPE: `| head -1` ends the run quietly
      // (everything released) with the status a shell gives that death.
      if (session.outputClosed) return 141;
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
      // exit(code) (0.26): the program's own status.
      if (session.exitCode !== undefined) return session.exitCode;
    } finally {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    }
  } finally {
    await closeExporters(metrics);
    engine?.close();
    out?.close();
    await killChild(child);
  }
  return 0;
}

/**
 * `--dry-run` on the kernel engine: loads the program and attaches every
 * probe (`missing_probes` applies), then releases them. Begin is not run:
 * bpftrace runs it but reads none of its output, so nothing of it shows.
 */
async function dryRunAttach(
  opts: CliOptions,
  program: Program,
  warn: (text: string) => void,
): Promise<number> {
  checkProbeLimit(program);
  const { engine } = await selectEngine(opts.backend, {
    pid: opts.pid,
    logLevel: opts.debug.includes("verifier") ? 2 : undefined,
  });
  try {
    await engine.load(program);
    if (opts.debug.includes("verifier")) printVerifierLogs(engine, program);
    await engine.attach();
    if (program.config?.missingProbes === "warn") {
      for (const s of engine.skippedAttachPoints?.() ?? []) {
        warn(
          `WARNING: ${s.error.message}\nWARNING: Unable to attach probe: ${s.point}. Skipping.`,
        );
      }
    }
  } finally {
    engine.close();
  }
  return 0;
}

/**
 * `-d verifier`: the kernel verifier's log of every probe, on stdout
 * (the interpreter's verifier keeps none: it says so).
 */
function printVerifierLogs(engine: Engine, program: Program): void {
  const logs = engine as { verifierLog?: (name: string) => string | undefined };
  if (logs.verifierLog === undefined) {
    stderr(
      `tsbpf: -d verifier: the ${engine.kind} engine keeps no verifier log`,
    );
    return;
  }
  for (const p of program.probes) {
    const log = logs.verifierLog(p.name) ?? "";
    writeStdout(`Verifier log of ${p.name}\n${log.trimEnd()}\n\n`);
  }
}

/** A metrics exporter: the HTTP server or the remote-write loop. */
interface Exporter {
  /** What to say once it runs. */
  note: string;
  setSource(source: MetricsSource): void;
  close(): Promise<void>;
}

/**
 * Starts the exporters asked for (their modules imported only here):
 * the `/metrics` server listens and the remote-write loop is set up
 * before the program is loaded, so that a bad option or a busy address
 * fails before anything attaches.
 */
async function startExporters(
  opts: CliOptions,
  program: Program,
): Promise<Exporter[]> {
  if (opts.metrics === undefined && opts.remoteWrite === undefined) return [];
  const exposition = {
    version: VERSION.replace(/^tsbpf /, ""),
    prefix: opts.metricsPrefix,
    maxSeries: opts.metricsMaxSeries,
    maps: Object.fromEntries(
      Object.entries(opts.metricsLabels ?? {}).map((
        [m, labels],
      ) => [m, { labels }]),
    ),
  };
  const out: Exporter[] = [];
  try {
    if (opts.metrics !== undefined) {
      const { serveMetrics } = await import("./metrics/server.ts");
      const server = serveMetrics(opts.metrics, program, undefined, exposition);
      out.push({
        note: `serving metrics at ${server.url}`,
        setSource: server.setSource,
        close: server.close,
      });
    }
    if (opts.remoteWrite !== undefined) {
      const { startRemoteWrite } = await import("./metrics/remote_write.ts");
      const w = startRemoteWrite(opts.remoteWrite, program, {
        ...exposition,
        intervalSeconds: opts.remoteWriteInterval,
      });
      out.push({
        note: `writing metrics to ${w.url} every ${
          opts.remoteWriteInterval ?? 15
        } s`,
        setSource: w.setSource,
        close: w.close,
      });
    }
  } catch (e) {
    await closeExporters(out);
    if (e instanceof RangeError || e instanceof TypeError) {
      throw new UsageError(e.message);
    }
    throw e;
  }
  return out;
}

/** Points the exporters at the running session; says so on stderr. */
async function exportSession(
  exporters: Exporter[],
  session: Session,
): Promise<void> {
  const { sessionMetrics } = await import("./metrics/server.ts");
  const source = sessionMetrics(session);
  for (const e of exporters) {
    e.setSource(source);
    stderr(`tsbpf: ${e.note}`);
  }
}

/** Closes every exporter (a remote writer pushes a last time). */
async function closeExporters(exporters: Exporter[]): Promise<void> {
  const all = exporters.splice(0);
  await Promise.all(all.map((e) => e.close()));
}

/**
 * Whether `__BPFTRACE_NOTIFY_PROBES_ATTACHED` is set (false without
 * `--allow-env`: a run allowed to read only its input still runs).
 */
function notifyAttached(): boolean {
  return envVar("__BPFTRACE_NOTIFY_PROBES_ATTACHED") !== undefined;
}

/** What a second Ctrl-C prints while the run ends. */
function forceExitHint(detaching: DetachProgress | undefined): string {
  const again = "Press Ctrl-C again to exit now";
  if (detaching === undefined || detaching.total === 0) {
    return `tsbpf: exiting. ${again}.`;
  }
  const { done, total, elapsedMs } = detaching;
  const left = total - done;
  const eta = done === 0
    ? ""
    : `, about ${Math.ceil((elapsedMs / done) * left / 1000)} s more`;
  return `tsbpf: still detaching ${left} of ${total} probes${eta}: the kernel releases them one at a time and no signal hurries it (kill -9 would not either: the kernel still releases them before the process ends). ${again}, leaving them to a background process.`;
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
