/**
 * A fuzz runner process: runs cases `[from, to)` of one fuzzer and prints
 * one JSON line per case (`{"i", "o", "ms", "f"?}`). The parent
 * (`main.ts`) starts it with a 300 MB heap and a watchdog, so a case that
 * needs more memory or never ends kills only this process, and the parent
 * records it and starts a new runner after it.
 *
 * Usage: `deno run -A runner.ts --fuzzer compiler --seed 1 --from 0 --to 100`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Fuzzer, newReport, runCase } from "./engine.ts";

/** Makes the fuzzer called `name`. */
export async function fuzzerNamed(name: string): Promise<Fuzzer> {
  switch (name) {
    case "compiler":
      return new (await import("./compiler_fuzz.ts")).CompilerFuzzer();
    case "cli":
      return new (await import("./compiler_fuzz.ts")).CliFuzzer();
    case "bytecode":
      return new (await import("./bytecode_fuzz.ts")).BytecodeFuzzer();
  }
  throw new RangeError(`Unknown fuzzer "${name}"`);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      fuzzer: { type: "string" },
      seed: { type: "string", default: "1" },
      from: { type: "string", default: "0" },
      to: { type: "string", default: "1" },
    },
  });
  const fuzzer = await fuzzerNamed(values.fuzzer ?? "");
  const seed = Number(values.seed);
  const enc = new TextEncoder();
  for (let i = Number(values.from); i < Number(values.to); i++) {
    const r = newReport();
    await runCase(fuzzer, seed, i, r);
    const f = r.findings[0];
    const line = JSON.stringify({
      i,
      o: Object.keys(r.outcomes)[0],
      ms: Math.round(r.slowestMs),
      ...(f ? { f: { kind: f.kind, detail: f.detail } } : {}),
    });
    Deno.stdout.writeSync(enc.encode(line + "\n"));
  }
}
