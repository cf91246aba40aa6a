/**
 * Runs `mod.ts` as a user would, in a child process.
 *
 * @module
 */

import { kernelSkipReason } from "../support/skip.ts";
import { hasStackTrace } from "../support/child.ts";

/** True when text looks like a JavaScript stack trace. */
export { hasStackTrace };

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

/** What a CLI run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `deno run -A mod.ts ...args` (or `entry` instead of `mod.ts`, such
 * as the bundled command).
 */
export async function runCli(
  args: string[],
  options: {
    stdin?: string;
    timeoutMs?: number;
    env?: Record<string, string>;
    entry?: string;
  } = {},
): Promise<CliRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", options.entry ?? MOD, ...args],
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const timer = setTimeout(
    () => child.kill("SIGKILL"),
    options.timeoutMs ?? 60_000,
  );
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/** Why kernel tests cannot run here, or undefined when they can. */
export { kernelSkipReason };

/** A temporary file holding `text`; returns its path. */
export function tempFile(text: string, suffix = ".txt"): string {
  const path = Deno.makeTempFileSync({ suffix });
  Deno.writeTextFileSync(path, text);
  return path;
}

/** Why runs as another user cannot be made here, or undefined. */
export function nobodySkipReason(): string | undefined {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not root: cannot change user";
  try {
    Deno.statSync("/usr/bin/setpriv");
  } catch {
    return "no /usr/bin/setpriv (util-linux)";
  }
  return undefined;
}

/**
 * Runs `deno run -A mod.ts ...args` (or another script given as the first
 * argument ending in `.ts`) through `/usr/bin/setpriv` with `privileges`
 * (its options: another user, fewer capabilities).
 */
export async function runCliWithPrivileges(
  privileges: string[],
  args: string[],
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<CliRun> {
  const script = args[0]?.endsWith(".ts")
    ? new URL(`../../${args[0]}`, import.meta.url).pathname
    : MOD;
  const rest = args[0]?.endsWith(".ts") ? args.slice(1) : args;
  const child = new Deno.Command("/usr/bin/setpriv", {
    args: [
      ...privileges,
      Deno.execPath(),
      "run",
      "-A",
      "--no-lock",
      script,
      ...rest,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  const timer = setTimeout(
    () => child.kill("SIGKILL"),
    options.timeoutMs ?? 120_000,
  );
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

let nobodyHome: string | undefined;

/**
 * Runs `deno run -A mod.ts ...args` (or another script given as the first
 * argument ending in `.ts`) as uid/gid 65534 without capabilities, through
 * `setpriv`, with a Deno cache of its own that user can write.
 */
export function runCliAsNobody(
  args: string[],
  options: { timeoutMs?: number } = {},
): Promise<CliRun> {
  if (nobodyHome === undefined) {
    const home = nobodyHome = Deno.makeTempDirSync({
      prefix: "tsbpf_nobody_",
    });
    Deno.chmodSync(home, 0o777);
    globalThis.addEventListener("unload", () => {
      Deno.removeSync(home, { recursive: true });
    });
  }
  return runCliWithPrivileges(
    ["--reuid=65534", "--regid=65534", "--clear-groups"],
    args,
    {
      ...options,
      env: { DENO_DIR: `${nobodyHome}/deno`, HOME: nobodyHome },
    },
  );
}
