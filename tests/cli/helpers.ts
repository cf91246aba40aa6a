/**
 * Runs `mod.ts` as a user would, in a child process.
 *
 * @module
 */

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

/** What a CLI run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno run -A mod.ts ...args`. */
export async function runCli(
  args: string[],
  options: {
    stdin?: string;
    timeoutMs?: number;
    env?: Record<string, string>;
  } = {},
): Promise<CliRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", MOD, ...args],
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
export function kernelSkipReason(): string | undefined {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not root";
  for (
    const dir of [
      "/usr/lib/x86_64-linux-gnu",
      "/lib/x86_64-linux-gnu",
      "/usr/lib64",
      "/usr/lib",
    ]
  ) {
    try {
      Deno.statSync(`${dir}/libbpf.so.1`);
      return undefined;
    } catch {
      // next
    }
  }
  return "no libbpf.so.1";
}

/** A temporary file holding `text`; returns its path. */
export function tempFile(text: string, suffix = ".txt"): string {
  const path = Deno.makeTempFileSync({ suffix });
  Deno.writeTextFileSync(path, text);
  return path;
}

/** True when text looks like a JavaScript stack trace. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+:\d+:\d+\)?$/m.test(text) || text.includes("Uncaught");
}
