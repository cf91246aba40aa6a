/**
 * The benchmark workload (`tests/support/workload.c`, shared with the
 * tests): built once per source version with gcc, run as `tsbbench` in a
 * mode that makes a known number of system calls once released.
 *
 * @module
 */

import { workloadBinary } from "../tests/support/workload.ts";

/** The comm of the workload process. */
export const WORKLOAD_COMM = "tsbbench";

/**
 * Builds the workload (once) and returns the binary's path.
 *
 * @example Build it (needs gcc)
 * ```ts ignore
 * import { buildWorkload } from "./workload.ts";
 * console.log(await buildWorkload());
 * ```
 */
export function buildWorkload(): Promise<string> {
  return workloadBinary(WORKLOAD_COMM);
}

/** What a finished workload did. */
export interface WorkloadResult {
  /** System calls made. */
  syscalls: number;
  /** Nanoseconds from release to the last call. */
  elapsedNs: number;
}

/**
 * A workload process that waits at its gate until `release()`.
 *
 * @example Make 1000 getppid calls (needs gcc)
 * ```ts ignore
 * import { Workload } from "./workload.ts";
 * const w = await Workload.start("getppid", 1000);
 * const r = await w.release();
 * console.log(r.syscalls);
 * ```
 */
export class Workload {
  /** Pid of the workload. */
  readonly pid: number;
  #child: Deno.ChildProcess;
  #out: Promise<string>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;

  private constructor(child: Deno.ChildProcess, out: Promise<string>) {
    this.#child = child;
    this.pid = child.pid;
    this.#out = out;
    this.#writer = child.stdin.getWriter();
  }

  /** Starts `tsbbench MODE ARGS…` and waits until it is at its gate. */
  static async start(mode: string, ...args: number[]): Promise<Workload> {
    const bin = await buildWorkload();
    const child = new Deno.Command(bin, {
      args: [mode, ...args.map(String)],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    let text = "";
    let ready: () => void = () => {};
    const isReady = new Promise<void>((r) => ready = r);
    const out = (async () => {
      const d = new TextDecoder();
      for await (const chunk of child.stdout) {
        text += d.decode(chunk, { stream: true });
        if (text.includes("ready\n")) ready();
      }
      ready();
      return text;
    })();
    await isReady;
    if (!text.includes("ready\n")) {
      await child.status;
      throw new Error(`The workload "${mode}" did not start`);
    }
    return new Workload(child, out);
  }

  /** Opens the gate and waits for the workload to finish. */
  async release(): Promise<WorkloadResult> {
    await this.#writer.write(new Uint8Array([10]));
    await this.#writer.close();
    const status = await this.#child.status;
    const text = await this.#out;
    const m = /done (\d+) (\d+)/.exec(text);
    if (!status.success || !m) {
      throw new Error(`The workload failed (status ${status.code}): ${text}`);
    }
    return { syscalls: Number(m[1]), elapsedNs: Number(m[2]) };
  }

  /** Kills the workload if it still runs. */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // gone
    }
    await this.#writer.close().catch(() => {});
    await this.#child.status;
  }
}

/**
 * Starts `tsbbench tick US SEC` (getppid every US µs, not gated) in the
 * background: its pid, a promise of its end, and a way to stop it.
 *
 * @example Tick for 100 ms (needs gcc)
 * ```ts ignore
 * import { ticker } from "./workload.ts";
 * const t = await ticker(500, 0.1);
 * await t.done;
 * ```
 */
export async function ticker(
  everyUs: number,
  seconds: number,
): Promise<{ pid: number; done: Promise<void>; stop: () => void }> {
  const bin = await buildWorkload();
  const child = new Deno.Command(bin, {
    args: ["tick", String(everyUs), String(seconds)],
    env: { NOGATE: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  return {
    pid: child.pid,
    done: child.status.then(() => {}),
    stop: () => {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone
      }
    },
  };
}
