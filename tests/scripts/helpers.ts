/**
 * Runs a script of `scripts/` as a user would, in a child process, starting
 * a workload once the script printed its first line on either stream (it is
 * attached then).
 *
 * @module
 */

import { kernelSkipReason } from "../support/skip.ts";
import { hasStackTrace } from "../support/child.ts";

/** True when text looks like a JavaScript stack trace. */
export { hasStackTrace };

/** What a script run printed and returned. */
export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  ms: number;
}

/** Why kernel script tests cannot run here, or undefined when they can. */
export const kernelSkip: string | undefined = kernelSkipReason();

/**
 * Runs `deno run -A scripts/NAME.ts ...args`; once standard output or
 * standard error has a first line, runs `workload` (awaited before the result is returned).
 */
export async function runScript(
  name: string,
  args: string[],
  workload?: () => Promise<unknown>,
): Promise<ScriptRun> {
  const path = new URL(`../../scripts/${name}.ts`, import.meta.url).pathname;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", path, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let stdout = "";
  let stderr = "";
  let started: Promise<unknown> | undefined;
  const begin = (text: string) => {
    if (started === undefined && text.includes("\n")) {
      started = workload?.() ?? Promise.resolve();
    }
  };
  const read = async (
    stream: ReadableStream<Uint8Array>,
    add: (text: string) => string,
  ) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      begin(add(decoder.decode(chunk, { stream: true })));
    }
  };
  const reading = Promise.all([
    read(child.stdout, (t) => stdout += t),
    read(child.stderr, (t) => stderr += t),
  ]);
  const status = await child.status;
  await reading;
  await started;
  return {
    code: status.code,
    stdout,
    stderr,
    ms: performance.now() - t0,
  };
}

/** Runs a command to completion, ignoring its output. */
export async function run(cmd: string, args: string[] = []): Promise<number> {
  const child = new Deno.Command(cmd, {
    args,
    stdout: "null",
    stderr: "null",
  }).spawn();
  await child.status;
  return child.pid;
}

/** Sends `n` UDP datagrams to a closed port on 127.0.0.1 from a bash child. */
export function udpToClosedPort(n: number): Promise<number> {
  return run("bash", [
    "-c",
    `for i in $(seq 1 ${n}); do echo x > /dev/udp/127.0.0.1/9; sleep 0.01; done`,
  ]);
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
