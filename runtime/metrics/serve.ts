/**
 * `tsbpf serve`: several programs side by side in one process, each in its
 * own session, their maps on one `/metrics` with a `program` label.
 *
 * ```sh
 * deno run -A mod.ts serve --metrics :9464 syscalls.bt reads.bt
 * ```
 *
 * A program that fails (to compile, to load, or later) is reported on
 * standard error and shows as `tsbpf_program_up{program="..."} 0`; the
 * others keep running. SIGHUP stops every program and starts them again
 * from their files as they are now; SIGINT and SIGTERM end the service.
 * Event output (printf and the like) is not printed: a service exports
 * maps. Imported only for `serve`.
 *
 * @module
 */

import { FlagError, parseFlags } from "../args.ts";
import { selectEngine } from "../engines/backend.ts";
import type { BackendChoice } from "../engines/backend.ts";
import { prepareKernelTypes } from "../compiler/kernel_types.ts";
import { compile } from "../compiler/compile.ts";
import { loadOnDemand } from "../compiler/on_demand.ts";
import type { Engine } from "../engines/engine.ts";
import { CompileErrors } from "../lang/diagnostics.ts";
import { Session } from "../session.ts";
import {
  escapeLabelValue,
  type MapInput,
  MetricsRenderer,
  OPENMETRICS_CONTENT_TYPE,
  TEXT_CONTENT_TYPE,
} from "./exposition.ts";
import { parseMetricsAddress } from "./options.ts";
import { kernelStatsEnabled, wantsOpenMetrics } from "./server.ts";

/** The usage text of `serve`. */
export const SERVE_USAGE = `USAGE:
    tsbpf serve --metrics [HOST:]PORT [options] FILE.bt...

Runs every program, each in its own session, and serves all their maps at
http://HOST:PORT/metrics with a program="FILE" label. SIGHUP re-reads the
files; SIGINT or SIGTERM stops.

OPTIONS:
    --metrics [HOST:]PORT
                     where to serve (HOST defaults to 127.0.0.1)
    --metrics-prefix P
                     metric name prefix (default tsbpf_)
    --metrics-max-series N
                     label sets shown per map (default 10000)
    --backend B      auto (default), kernel or interp
    --seed N         seed of the synthetic events (interpreter)
    --rate N         synthetic events per second per probe (interpreter)
    -h, --help       this text
`;

const encoder = new TextEncoder();

function stderr(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text + "\n"));
}

function firstLine(e: unknown): string {
  if (e instanceof CompileErrors) {
    return e.format().split("\n")[0];
  }
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0];
}

/** Options of {@linkcode ProgramRunner}. */
interface RunnerOptions {
  backend: BackendChoice;
  seed?: number;
  rate?: number;
  prefix?: string;
  maxSeries?: number;
  version: string;
}

/** One program of the service: its file, session and exposition. */
class ProgramRunner {
  readonly label: string;
  readonly file: string;
  #options: RunnerOptions;
  #engine?: Engine;
  #session?: Session;
  #renderer?: MetricsRenderer;
  #abort = new AbortController();
  #loop?: Promise<void>;
  #startTime = 0;
  /** Why the program is not running, when it is not. */
  error?: string;

  constructor(file: string, label: string, options: RunnerOptions) {
    this.file = file;
    this.label = label;
    this.#options = options;
  }

  get up(): boolean {
    return this.#session !== undefined && this.error === undefined;
  }

  /** Compiles, loads and starts the program; records a failure. */
  async start(): Promise<void> {
    this.error = undefined;
    this.#abort = new AbortController();
    try {
      const source = Deno.readTextFileSync(this.file);
      // Kernel types for a script that reads kernel structs, as the CLI.
      await Promise.all([loadOnDemand(source), prepareKernelTypes(source)]);
      const program = compile(source, { fileName: this.file, histSums: true });
      this.#renderer = new MetricsRenderer({
        prefix: this.#options.prefix,
        maxSeries: this.#options.maxSeries,
        constLabels: { program: this.label },
      });
      this.#renderer.checkMaps(program.maps);
      const { engine } = await selectEngine(this.#options.backend, {
        seed: this.#options.seed,
        rate: this.#options.rate,
        realtime: true,
      });
      this.#engine = engine;
      engine.verify?.(program);
      const session = new Session(program, engine, {
        quiet: true,
        write: () => {},
      });
      await session.start();
      this.#session = session;
      this.#startTime = Date.now() / 1000;
      this.#loop = this.#run(session);
      stderr(`tsbpf serve: ${this.label}: running (${engine.kind})`);
    } catch (e) {
      this.error = firstLine(e);
      stderr(`tsbpf serve: ${this.label}: ${this.error}`);
      this.#engine?.close();
      this.#engine = undefined;
      this.#session = undefined;
    }
  }

  async #run(session: Session): Promise<void> {
    try {
      const why = await session.run({ signal: this.#abort.signal });
      if (why === "exit") {
        this.error = "the program called exit()";
        stderr(`tsbpf serve: ${this.label}: ${this.error}`);
      }
    } catch (e) {
      this.error = firstLine(e);
      stderr(`tsbpf serve: ${this.label}: ${this.error}`);
    }
  }

  /** Stops the program and releases its engine. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    const session = this.#session;
    this.#session = undefined;
    this.#loop = undefined;
    if (session !== undefined) {
      try {
        await session.finish({ printMaps: false });
      } catch (e) {
        stderr(`tsbpf serve: ${this.label}: ${firstLine(e)}`);
      }
    }
    this.#engine?.close();
    this.#engine = undefined;
  }

  /** This program's part of a scrape, or "" when it does not run. */
  render(om: boolean): string {
    const session = this.#session;
    if (session === undefined || this.#renderer === undefined) return "";
    const specs = session.program.maps.filter((m) =>
      !m.internal && m.agg !== undefined
    );
    const maps: MapInput[] = session.readMaps().map((d, i) => ({
      spec: specs[i],
      data: d,
    }));
    const engine = session.engine;
    const stats = engine.kind === "interp" || kernelStatsEnabled();
    return this.#renderer.render(maps, {
      version: this.#options.version,
      engine: engine.kind,
      synthetic: engine.synthetic ?? engine.kind === "interp",
      startTimeSeconds: this.#startTime,
      lostEvents: engine.lostEvents(),
      ...(stats ? { probeStats: engine.stats() } : {}),
    }, om);
  }
}

/**
 * Merges expositions (as {@linkcode MetricsRenderer} writes them, without
 * `# EOF`) into one: each metric family once, its samples from every part
 * in order. A family whose type differs from an earlier part's is left
 * out and named in `conflicts`.
 *
 * @example Two programs' count maps
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeExpositions } from "./serve.ts";
 *
 * const a = '# HELP x_total h\n# TYPE x_total counter\nx_total{program="a"} 1\n';
 * const b = '# HELP x_total h\n# TYPE x_total counter\nx_total{program="b"} 2\n';
 * assert.equal(
 *   mergeExpositions([a, b]).text,
 *   '# HELP x_total h\n# TYPE x_total counter\nx_total{program="a"} 1\nx_total{program="b"} 2\n',
 * );
 * ```
 */
export function mergeExpositions(
  parts: string[],
): { text: string; conflicts: string[] } {
  const families = new Map<
    string,
    { head: string[]; type: string; samples: string[] }
  >();
  const conflicts: string[] = [];
  for (const part of parts) {
    let current:
      | { head: string[]; type: string; samples: string[] }
      | undefined;
    let skip = false;
    let help = "";
    for (const line of part.split("\n")) {
      if (line === "" || line === "# EOF") continue;
      if (line.startsWith("# HELP ")) {
        help = line;
        continue;
      }
      if (line.startsWith("# TYPE ")) {
        const [, , name, type] = line.split(" ");
        const had = families.get(name);
        if (had === undefined) {
          current = { head: [help, line], type, samples: [] };
          families.set(name, current);
          skip = false;
        } else if (had.type !== type) {
          conflicts.push(name);
          skip = true;
        } else {
          current = had;
          skip = false;
        }
        continue;
      }
      if (!skip) current?.samples.push(line);
    }
  }
  const out: string[] = [];
  for (const f of families.values()) {
    out.push(...f.head.filter((l) => l !== ""), ...f.samples);
  }
  return { text: out.length === 0 ? "" : out.join("\n") + "\n", conflicts };
}

/** Labels for files: base names, or paths where base names repeat. */
function labelsFor(files: string[]): string[] {
  const base = files.map((f) => f.slice(f.lastIndexOf("/") + 1));
  return base.map((b, i) =>
    base.indexOf(b) === base.lastIndexOf(b) ? b : files[i]
  );
}

/**
 * Runs `serve` with its arguments (after the word `serve`); returns the
 * exit status: 0 after SIGINT/SIGTERM, 2 for a usage mistake, 1 when the
 * address cannot be bound.
 *
 * @example Usage mistakes exit 2
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveMain } from "./serve.ts";
 *
 * assert.equal(await serveMain(["a.bt"], () => {}), 2); // no --metrics
 * ```
 */
export async function serveMain(
  args: string[],
  report: (line: string) => void = stderr,
  version = "0.1.0",
): Promise<number> {
  let values, files: string[];
  try {
    const parsed = parseFlags(args, {
      metrics: { type: "string" },
      "metrics-prefix": { type: "string" },
      "metrics-max-series": { type: "string" },
      backend: { type: "string" },
      seed: { type: "string" },
      rate: { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    values = parsed.values;
    files = parsed.positionals;
  } catch (e) {
    if (e instanceof FlagError) {
      report(`tsbpf serve: ${e.message}\nTry "tsbpf serve --help".`);
      return 2;
    }
    throw e;
  }
  if (values.help) {
    Deno.stdout.writeSync(encoder.encode(SERVE_USAGE));
    return 0;
  }
  const usage = (msg: string) => {
    report(`tsbpf serve: ${msg}\nTry "tsbpf serve --help".`);
    return 2;
  };
  if (values.metrics === undefined) {
    return usage("Option --metrics [HOST:]PORT is required");
  }
  if (files.length === 0) return usage("No program files given");
  const backend = values.backend ?? "auto";
  if (backend !== "auto" && backend !== "kernel" && backend !== "interp") {
    return usage(
      `Backend must be "auto", "kernel" or "interp", got "${backend}"`,
    );
  }
  const number = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) {
      throw new RangeError(
        `Option ${name} needs a non-negative number, got "${v}"`,
      );
    }
    return n;
  };
  let address, options: RunnerOptions;
  try {
    address = parseMetricsAddress(values.metrics);
    options = {
      backend,
      seed: number("--seed", values.seed),
      rate: number("--rate", values.rate),
      prefix: values["metrics-prefix"],
      maxSeries: number("--metrics-max-series", values["metrics-max-series"]),
      version,
    };
    // The prefix and limit are checked once, before anything starts.
    new MetricsRenderer({
      prefix: options.prefix,
      maxSeries: options.maxSeries,
    });
  } catch (e) {
    return usage(firstLine(e));
  }
  const labels = labelsFor(files);
  let runners = files.map((f, i) => new ProgramRunner(f, labels[i], options));
  const prefix = options.prefix ?? "tsbpf_";
  const scrape = (om: boolean): string => {
    const up = [
      `# HELP ${prefix}program_up Whether each program runs (1) or failed (0).`,
      `# TYPE ${prefix}program_up gauge`,
      ...runners.map((r) =>
        `${prefix}program_up{program="${escapeLabelValue(r.label)}"} ${
          r.up ? 1 : 0
        }`
      ),
    ].join("\n") + "\n";
    const parts: string[] = [];
    for (const r of runners) {
      try {
        parts.push(r.render(om));
      } catch (e) {
        r.error = firstLine(e);
      }
    }
    const merged = mergeExpositions(parts);
    for (const c of merged.conflicts) {
      report(
        `tsbpf serve: metric "${c}" has different types in different programs; one is left out`,
      );
    }
    return up + merged.text + (om ? "# EOF\n" : "");
  };
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: address.hostname,
      port: address.port,
      onListen: () => {},
    }, (req) => {
      if (new URL(req.url).pathname !== "/metrics") {
        return new Response("Not found; metrics are at /metrics\n", {
          status: 404,
        });
      }
      const om = wantsOpenMetrics(req.headers.get("accept"));
      return new Response(scrape(om), {
        headers: {
          "content-type": om ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE,
        },
      });
    });
  } catch (e) {
    report(
      `tsbpf serve: Cannot serve metrics on ${address.hostname}:${address.port}: ${
        firstLine(e)
      }`,
    );
    return 1;
  }
  const host = server.addr.hostname.includes(":")
    ? `[${server.addr.hostname}]`
    : server.addr.hostname;
  // Programs start one after another: they share the kernel's attach path.
  for (const r of runners) await r.start();
  report(
    `tsbpf serve: serving metrics at http://${host}:${server.addr.port}/metrics`,
  );

  let reloading: Promise<void> = Promise.resolve();
  const done = Promise.withResolvers<void>();
  const onHup = () => {
    reloading = reloading.then(async () => {
      report("tsbpf serve: SIGHUP: reloading the programs");
      for (const r of runners) await r.stop();
      runners = files.map((f, i) => new ProgramRunner(f, labels[i], options));
      for (const r of runners) await r.start();
    });
  };
  const onStop = () => done.resolve();
  Deno.addSignalListener("SIGHUP", onHup);
  Deno.addSignalListener("SIGINT", onStop);
  Deno.addSignalListener("SIGTERM", onStop);
  try {
    await done.promise;
    await reloading;
  } finally {
    Deno.removeSignalListener("SIGHUP", onHup);
    Deno.removeSignalListener("SIGINT", onStop);
    Deno.removeSignalListener("SIGTERM", onStop);
    await server.shutdown();
    for (const r of runners) await r.stop();
  }
  return 0;
}
