/**
 * The USDT test target (tests/probes/usdt_target.c) built with gcc once
 * per source version into /tmp, and why USDT tests that need it or
 * Debian's python3.11 cannot run here.
 *
 * @module
 */

const TARGET_C = new URL("./usdt_target.c", import.meta.url).pathname;
const decoder = new TextDecoder();

/** Debian's python3.11, which carries USDT notes. */
export const PYTHON = "/usr/bin/python3.11";

function computeGccSkip(): string | undefined {
  if (Deno.build.os !== "linux") return `not Linux (${Deno.build.os})`;
  try {
    const out = new Deno.Command("gcc", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return out.success ? undefined : "gcc does not run";
  } catch {
    return "no gcc to build the USDT test target";
  }
}

/** Why the USDT test target cannot be built here, or undefined. */
export const targetSkipReason: string | undefined = computeGccSkip();

function computePythonSkip(): string | undefined {
  try {
    const f = Deno.openSync(PYTHON);
    f.close();
    return undefined;
  } catch {
    return `no ${PYTHON} (Debian's, with USDT notes)`;
  }
}

/** Why python3.11's notes cannot be read here, or undefined. */
export const pythonSkipReason: string | undefined = computePythonSkip();

let built: Promise<string> | undefined;

async function build(): Promise<string> {
  const src = await Deno.readFile(TARGET_C);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", src));
  const tag = [...digest.slice(0, 6)]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const dir = `/tmp/tsbpf_usdt_${tag}`;
  const bin = `${dir}/usdt_target`;
  try {
    if (Deno.statSync(bin).isFile) return bin;
  } catch {
    // not built yet
  }
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${Deno.pid}`;
  const out = await new Deno.Command("gcc", {
    args: ["-O1", "-g", "-o", tmp, TARGET_C],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`gcc failed:\n${decoder.decode(out.stderr)}`);
  }
  Deno.renameSync(tmp, bin);
  return bin;
}

/**
 * Path of the built USDT test target. Run as `usdt_target N now` it fires
 * every probe N times (I = 0 .. N-1) at once; without `now` it prints
 * "ready" and waits for a byte on standard input first.
 */
export function usdtTargetPath(): Promise<string> {
  return built ??= build();
}
