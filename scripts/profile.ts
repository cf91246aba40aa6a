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

const USAGE = `USAGE: profile.ts [options] > out.folded

Samples on-CPU stacks and prints them folded (comm;frames… count), for
flamegraph.pl.

OPTIONS:
    --hz N           samples per second per CPU (default 99)
    -o FILE          write the folded stacks to FILE instead of stdout
    --offsets        keep "+offset" on frames
    --no-offsets     function names only, without "+offset" (the default)
${COMMON_HELP}`;

interface Stack {
  frames: string[];
}

function frames(v: Value, kernel: boolean, offsets: boolean): string[] {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return [];
  if (!("frames" in v)) return [];
  return (v as Stack).frames.toReversed().map((f) => {
    const name = offsets ? f : f.replace(/\+\d+$/, "");
    return kernel ? name + "_[k]" : name;
  });
}

async function main(signal: AbortSignal): Promise<void> {
  const v = parseTool(Deno.args, {
    hz: { type: "string" },
    o: { type: "string", short: "o" },
    offsets: { type: "boolean" },
    "no-offsets": { type: "boolean" },
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
  await using session = await trace(
    `profile:hz:${hz} { @samples[comm, ustack, kstack] = count(); }`,
    traceOptions(common, signal),
  );
  Deno.stderr.writeSync(
    new TextEncoder().encode(
      `Sampling at ${hz} Hz per CPU... Hit Ctrl-C to end.\n`,
    ),
  );
  // Reading the samples every second symbolizes user stacks while their
  // processes still live (the symbolizer keeps their memory maps).
  const map = session.map<[string, Value, Value], number | bigint>("samples");
  for await (const _ of session.every(1000)) map.read();
  const samples = map.entries();
  const folded = groupBy(
    samples,
    ([[comm, ustack, kstack]]) =>
      [
        comm,
        ...frames(ustack, false, offsets),
        ...frames(kstack, true, offsets),
      ]
        .map((f) => f.replaceAll(";", ":").replaceAll(" ", "_")).join(";"),
    (n, [, c]) => n + Number(c),
    () => 0,
  );
  const lines = [...folded].sort((a, b) => b[1] - a[1])
    .map(([stack, n]) => `${stack} ${n}\n`).join("");
  if (v.o !== undefined) Deno.writeTextFileSync(v.o, lines);
  else out(lines);
}

if (import.meta.main) Deno.exit(await runTool("profile", main));
