/**
 * What the metrics tests share: a real Prometheus started on 127.0.0.1
 * with a temporary directory and a free port, scraping one target every
 * second; `promtool check metrics`; and workloads whose process name
 * (`comm`) the test chooses, so that only their own calls are counted.
 *
 * @module
 */

import assert from "node:assert/strict";
import { kernelSkipReason, skip, which } from "../support/skip.ts";
import { Tracer } from "../support/child.ts";

/** Path of `prometheus`, when installed. */
export const PROMETHEUS: string | undefined = which("prometheus");
/** Path of `promtool`, when installed. */
export const PROMTOOL: string | undefined = which("promtool");
/** Path of `python3` (the workloads), when installed. */
export const PYTHON: string | undefined = which("python3");

/** Why tests needing Prometheus cannot run, or undefined. */
export const prometheusSkip: string | undefined = PROMETHEUS === undefined
  ? "prometheus is not installed (Debian: apt-get install prometheus)"
  : undefined;
/**
 * Why the kernel tests with python3 workloads cannot run, or undefined.
 */
export const kernelWorkloadSkip: string | undefined = kernelSkipReason() ??
  (PYTHON === undefined ? "no python3 for the workloads" : undefined);

/**
 * Starts the CLI (`deno run -A mod.ts ...args`) serving metrics and waits
 * (up to `timeoutMs`) for its `serving metrics at URL` line: the running
 * tracer and the URL (undefined when it never came: see `tracer.stderr`).
 */
export async function serveCli(
  args: string[],
  timeoutMs = 60_000,
): Promise<{ tracer: Tracer; url: string | undefined }> {
  const tracer = Tracer.tsbpf(args);
  const m = await tracer.waitForStderr(/serving metrics at (\S+)/, timeoutMs);
  return { tracer, url: m?.[1] };
}

/** Why tests needing promtool cannot run, or undefined. */
export const promtoolSkip: string | undefined = PROMTOOL === undefined
  ? "promtool is not installed (Debian: apt-get install prometheus)"
  : undefined;

export { skip };

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The result of `promtool check metrics` on a text. */
export interface PromtoolResult {
  code: number;
  output: string;
}

/**
 * Runs `promtool check metrics` on `text` (it reads the text format;
 * OpenMetrics is checked by Prometheus's own scrapes). Exit 0: valid and
 * no lint problem; 3: lint problems only; 1: invalid.
 */
export async function promtoolCheck(text: string): Promise<PromtoolResult> {
  const child = new Deno.Command(PROMTOOL!, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await child.output();
  const d = new TextDecoder();
  return {
    code: out.code,
    output: d.decode(out.stdout) + d.decode(out.stderr),
  };
}

/** One sample of an instant query. */
export interface Sample {
  metric: Record<string, string>;
  value: number;
}

/** A Prometheus server scraping one target; `close()` kills it. */
export class Prometheus implements AsyncDisposable {
  readonly url: string;
  readonly #child: Deno.ChildProcess;
  readonly #dir: string;
  #log = "";

  private constructor(url: string, child: Deno.ChildProcess, dir: string) {
    this.url = url;
    this.#child = child;
    this.#dir = dir;
    (async () => {
      const d = new TextDecoder();
      for await (const c of child.stderr) this.#log += d.decode(c);
    })().catch(() => {});
  }

  /**
   * Starts Prometheus on 127.0.0.1 (free port, temporary storage),
   * scraping `target` (`host:port`) at `/metrics` every second (none when
   * `target` is undefined), and waits until it is ready. `receiver`:
   * accept remote writes at `/api/v1/write`.
   */
  static async start(
    target: string | undefined,
    options: { receiver?: boolean } = {},
  ): Promise<Prometheus> {
    const dir = Deno.makeTempDirSync({ prefix: "tsbpf_prom_" });
    const config = target === undefined
      ? "global:\n  scrape_interval: 1s\nscrape_configs: []\n"
      : `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: tsbpf
    static_configs:
      - targets: ["${target}"]
`;
    Deno.writeTextFileSync(`${dir}/prometheus.yml`, config);
    const port = freePort();
    const child = new Deno.Command(PROMETHEUS!, {
      args: [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
        ...(options.receiver ? ["--web.enable-remote-write-receiver"] : []),
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const p = new Prometheus(`http://127.0.0.1:${port}`, child, dir);
    const deadline = Date.now() + 60_000;
    while (true) {
      try {
        const r = await fetch(`${p.url}/-/ready`);
        await r.body?.cancel();
        if (r.ok) return p;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await p.close();
        throw new Error(`Prometheus did not become ready:\n${p.#log}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** An instant PromQL query through the HTTP API. */
  async query(promql: string): Promise<Sample[]> {
    const r = await fetch(
      `${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`,
    );
    const body = await r.json() as {
      status: string;
      error?: string;
      data?: {
        result: { metric: Record<string, string>; value: [number, string] }[];
      };
    };
    assert.equal(body.status, "success", body.error);
    return body.data!.result.map((s) => ({
      metric: s.metric,
      value: Number(s.value[1]),
    }));
  }

  /**
   * Queries until `ok` accepts the samples or `timeoutMs` passes; returns
   * the last samples either way.
   */
  async waitFor(
    promql: string,
    ok: (s: Sample[]) => boolean,
    timeoutMs = 30_000,
  ): Promise<Sample[]> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const s = await this.query(promql);
      if (ok(s) || Date.now() > deadline) return s;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** The health of the scrape target, as Prometheus reports it. */
  async targetHealth(): Promise<{ health: string; lastError: string }[]> {
    const r = await fetch(`${this.url}/api/v1/targets`);
    const body = await r.json() as {
      data: { activeTargets: { health: string; lastError: string }[] };
    };
    return body.data.activeTargets;
  }

  /** Kills Prometheus and removes its directory. */
  async close(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await this.#child.status;
    Deno.removeSync(this.#dir, { recursive: true });
  }

  /** `await using` support. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Runs python3 with process name `comm` (any bytes; the kernel keeps at
 * most 15), then `body` (Python statements, `os` imported).
 */
export async function runNamed(comm: Uint8Array, body: string): Promise<void> {
  const name = [...comm].map((b) => `\\x${b.toString(16).padStart(2, "0")}`)
    .join("");
  const script = `import ctypes, os
libc = ctypes.CDLL(None)
assert libc.prctl(15, ctypes.c_char_p(b"${name}"), 0, 0, 0) == 0
${body}
`;
  const out = await new Deno.Command(PYTHON!, {
    args: ["-c", script],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}
