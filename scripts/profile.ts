#!/usr/bin/env -S deno run -A
/**
 * profile: a sampling CPU profiler. Samples every CPU at 99 Hz (kernel and
 * user stacks) and writes folded stacks, one `comm;frame;…;frame count`
 * line per distinct stack, ready for flamegraph.pl:
 *
 * ```sh
 * deno run -A scripts/profile.ts --duration 10 > out.folded
 * flamegraph.pl out.folded > flame.svg
 * ```
 *
 * Frames run from the outermost (user `main`) to the innermost (kernel);
 * kernel frames carry the `_[k]` suffix flamegraph.pl colors.
 *
 * `--pprof FILE` also writes the samples as a gzipped pprof profile
 * (`profile.proto`) for `go tool pprof` and continuous-profiling servers:
 * one sample per distinct stack with `comm` and `pid` labels, sample types
 * `samples/count` and `cpu/nanoseconds`, user frames in the mappings of
 * `/proc/PID/maps`, kernel frames in one `[kernel.kallsyms]` mapping.
 *
 * @module
 */

import { groupBy, trace, type Value } from "../mod.ts";
import {
  COMMON_HELP,
  commonOptions,
  numberOption,
  out,
  parseTool,
  runTool,
  ToolUsageError,
  traceOptions,
} from "../runtime/api/tool.ts";
import type { PprofMapping, ProcessMaps } from "../runtime/metrics/pprof.ts";

// Not a literal specifier: Deno's start-up module graph follows literal
// dynamic imports and would fetch pprof's npm package on every run.
const PPROF = "../runtime/metrics/pprof.ts";
function loadPprof(): Promise<typeof import("../runtime/metrics/pprof.ts")> {
  return import(PPROF);
}

const USAGE = `USAGE: profile.ts [options] > out.folded

Samples on-CPU stacks and prints them folded (comm;frames… count), for
flamegraph.pl.

OPTIONS:
    --hz N           samples per second per CPU (default 99)
    -o FILE          write the folded stacks to FILE instead of stdout
    --pprof FILE     also write a gzipped pprof profile (profile.proto)
    --offsets        keep "+offset" on frames
    --no-offsets     function names only, without "+offset" (the default)
${COMMON_HELP}`;

interface Stack {
  frames: string[];
  addresses?: bigint[];
}

function stackOf(v: Value): Stack {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return { frames: [] };
  }
  return "frames" in v ? v : { frames: [] };
}

/** A frame without the ` (object)` perf-mode user frames end with. */
function symbol(frame: string, kernel: boolean): string {
  const i = frame.lastIndexOf(" (");
  return kernel || i < 0 || !frame.endsWith(")") ? frame : frame.slice(0, i);
}

/** The object a perf-mode user frame names, as a mapping without range. */
function objectOf(frame: string): PprofMapping | undefined {
  const i = frame.lastIndexOf(" (");
  const file = frame.slice(i + 2, -1);
  return i >= 0 && frame.endsWith(")") && file !== "" && file !== "[unknown]"
    ? { start: 0n, limit: 0n, offset: 0n, file }
    : undefined;
}

/** Innermost first, named as the folded output names them. */
function frames(v: Value, kernel: boolean, offsets: boolean): string[] {
  return stackOf(v).frames.map((f) => {
    const s = symbol(f, kernel);
    const name = offsets ? s : s.replace(/\+\d+$/, "");
    return kernel ? name + "_[k]" : name;
  });
}

type Sample = [[string, number | bigint, Value, Value], number | bigint];

/** Creates `path` (empty) or says in one line why it cannot. */
function writable(path: string): void {
  try {
    Deno.openSync(path, { write: true, create: true }).close();
  } catch (e) {
    const why = e instanceof Error ? e.name : String(e);
    throw new Error(`Cannot write the profile "${path}": ${why}`);
  }
}

/** Writes the samples as a gzipped pprof profile. */
async function writeProfile(
  path: string,
  samples: Sample[],
  maps: ProcessMaps | undefined,
  hz: number,
  startMs: number,
  endMs: number,
  note: string | undefined,
): Promise<void> {
  const { writePprof } = await loadPprof();
  const pprof = samples.map(([[comm, pid, ustack, kstack], n]) => {
    const frame = (kernel: boolean, v: Value) => {
      const { frames: raw, addresses } = stackOf(v);
      return frames(v, kernel, false).map((name, i) => {
        const address = addresses?.[i];
        return {
          name,
          systemName: kernel ? name.slice(0, -4) : name,
          address,
          kernel,
          mapping: kernel
            ? undefined
            : (address === undefined
              ? undefined
              : maps?.find(Number(pid), address)) ?? objectOf(raw[i]),
        };
      });
    };
    return {
      stack: [...frame(true, kstack), ...frame(false, ustack)],
      count: Number(n),
      labels: { comm, pid: String(pid) },
    };
  });
  await writePprof(path, pprof, {
    periodNs: 1e9 / hz,
    timeNs: BigInt(startMs) * 1_000_000n,
    durationNs: BigInt(Math.round((endMs - startMs) * 1e6)),
    // Synthetic samples say so (`pprof -comments`).
    comments: [
      `tsbpf profile.ts --hz ${hz}`,
      ...note === undefined ? [] : [note],
    ],
  });
}

async function main(signal: AbortSignal): Promise<void> {
  const v = parseTool(Deno.args, {
    hz: { type: "string" },
    o: { type: "string", short: "o" },
    offsets: { type: "boolean" },
    "no-offsets": { type: "boolean" },
    pprof: { type: "string" },
  });
  const common = commonOptions(v);
  if (common.help) {
    out(USAGE);
    return;
  }
  const hz = numberOption("--hz", v.hz) ?? 99;
  if (hz === 0) {
    throw new ToolUsageError('Option --hz needs a positive integer, got "0"');
  }
  if (v.offsets && v["no-offsets"]) {
    throw new ToolUsageError("Choose one of --offsets and --no-offsets");
  }
  const offsets = v.offsets ?? false;
  // A profile that cannot be written fails now, not after the sampling.
  if (v.pprof !== undefined) writable(v.pprof);
  await using session = await trace(
    `profile:hz:${hz} { @samples[comm, pid, ustack(perf), kstack(perf)] = count(); }`,
    traceOptions(common, signal),
  );
  Deno.stderr.writeSync(
    new TextEncoder().encode(
      `Sampling at ${hz} Hz per CPU... Hit Ctrl-C to end.\n`,
    ),
  );
  // The session's clock: the recorded time on a replay.
  const startMs = session.wallClock().getTime();
  // User mappings come from /proc/PID/maps; the interpreter's processes
  // are synthetic, so its profiles name the objects alone.
  const maps = v.pprof !== undefined && session.engineKind === "kernel"
    ? new (await loadPprof()).ProcessMaps()
    : undefined;
  // Reading the samples every second symbolizes user stacks while their
  // processes still live (the symbolizer keeps their memory maps), and
  // reads the memory maps of the processes sampled for --pprof.
  const map = session.map<Sample[0], Sample[1]>("samples");
  for await (const _ of session.every(1000)) {
    const read = map.read();
    if (maps === undefined) continue;
    const seen = new Set<number>();
    for (const [, pid, ustack] of read.keys()) {
      const p = Number(pid);
      if (seen.has(p)) continue;
      const addrs = stackOf(ustack).addresses ?? [];
      if (addrs.some((a) => maps.find(p, a) === undefined)) {
        seen.add(p);
        maps.see(p);
      }
    }
  }
  const samples = map.entries();
  const folded = groupBy(
    samples,
    ([[comm, , ustack, kstack]]) =>
      [
        comm,
        ...frames(ustack, false, offsets).toReversed(),
        ...frames(kstack, true, offsets).toReversed(),
      ]
        // One line per stack, frames apart: a comm may hold any byte
        // but NUL (a newline too), so spaces and control characters go.
        // deno-lint-ignore no-control-regex
        .map((f) => f.replaceAll(";", ":").replace(/[\s\x00-\x1f\x7f]/g, "_"))
        .join(";"),
    (n, [, c]) => n + Number(c),
    () => 0,
  );
  const lines = [...folded].sort((a, b) => b[1] - a[1])
    .map(([stack, n]) => `${stack} ${n}\n`).join("");
  // A file of synthetic samples says so on its first line, as the CLI's
  // -o does (flamegraph.pl skips a line without a count).
  const note = session.synthetic ? `tsbpf: ${session.note}` : undefined;
  if (v.o !== undefined) {
    Deno.writeTextFileSync(
      v.o,
      note === undefined ? lines : `${note}\n${lines}`,
    );
  } else out(lines);
  if (v.pprof !== undefined) {
    const endMs = session.wallClock().getTime();
    await writeProfile(v.pprof, samples, maps, hz, startMs, endMs, note);
  }
}

if (import.meta.main) Deno.exit(await runTool("profile", main));
