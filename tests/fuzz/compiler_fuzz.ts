/**
 * The compiler fuzzer: mutates seed programs at the token level (delete,
 * duplicate, swap, splice, replace), nests them deeply, plants huge
 * literals and strings, and compiles the result through the whole
 * pipeline (lexer, parser, sema, codegen, our verifier). The oracle: a
 * `Program` or `CompileErrors` whose every error is located
 * (`FILE:LINE:COL: ERROR: …`, inside the source), nothing else thrown.
 * `checkCli` runs an input through the CLI as a user would and checks the
 * exit code (0, 1 or 2) and that no JavaScript stack trace is printed.
 *
 * @module
 */

import { compile } from "../../runtime/compiler/compile.ts";
import { CompileErrors } from "../../runtime/lang/diagnostics.ts";
import { VerifierError } from "../../runtime/verifier/error.ts";
import { verify } from "../../runtime/verifier/verifier.ts";
import { describe, type Fuzzer, type Rand, type Verdict } from "./engine.ts";
import { seedPrograms } from "./seeds.ts";
import { SOURCE_TOKENS } from "./vocabulary.ts";

const FILE = "fuzz.bt";

/**
 * Our verifier's budget of processed instructions here: a fifth of the
 * kernel's. A program that explores a million instructions costs our
 * verifier about 8 s and 400 MB (reported separately, not the compiler's
 * bound), which would drown the compiler's findings.
 */
const VERIFY_BUDGET = 200_000;

/** Longest input generated. */
const MAX_INPUT = 300_000;

/** Tokens independent of our lexer: it is under test too. */
const TOKEN_RE =
  /\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/|"(?:\\.|[^"\\\n])*"|0x[0-9a-fA-F]+|\d[\d_]*(?:e\d+)?|[A-Za-z_$@][\w]*(?::[\w/*.+-]*)*|->|<<=|>>=|&&|\|\||\+\+|--|<<|>>|[-+*\/%&|^<>=!]=|[\s\S]/g;

function tokens(src: string): string[] {
  return src.match(TOKEN_RE) ?? [];
}

const HUGE_INTS = [
  "18446744073709551615",
  "18446744073709551616",
  "99999999999999999999999999999",
  "0xffffffffffffffffff",
  "-9223372036854775808",
  "9223372036854775807",
  "1e30",
  "1e19",
  "4294967296",
  "0x80000000",
  "-2147483649",
  "1_000_000_000_000",
];

/** A deep construct around or in place of `x`. */
function deep(r: Rand, x: string): string {
  if (x.length > 40) x = "1";
  const n = r.pick([10, 100, 199, 200, 500, 999, 1000, 2000, 5000]);
  switch (r.int(12)) {
    case 0:
      return "(".repeat(n) + x + ")".repeat(n);
    case 1:
      return `${x} + `.repeat(n) + x;
    case 2:
      return `${x} && `.repeat(n) + x;
    case 3:
      return `${x} == `.repeat(n) + x;
    case 4:
      return "if (1) { } else ".repeat(n) + "{ }";
    case 5:
      return "{ ".repeat(n) + "} ".repeat(n);
    case 6:
      return "-".repeat(n) + x;
    case 7:
      return "!".repeat(n) + x;
    case 8:
      return `unroll(${r.pick([2, 10, 100])}) { `.repeat(r.int(6) + 1) +
        "@u = @u + 1; " + "} ".repeat(6);
    case 9:
      return x + ".a".repeat(n);
    case 10:
      return `@m[${"1, ".repeat(r.int(200))}1]`;
    default:
      return "(uint8)".repeat(Math.min(n, 1000)) + x;
  }
}

/** Tokens by class, for mutations that keep a program well-formed. */
const SAME_CLASS: readonly (readonly string[])[] = [
  [
    "pid",
    "tid",
    "uid",
    "gid",
    "cpu",
    "nsecs",
    "elapsed",
    "rand",
    "cgroup",
    "comm",
    "probe",
    "retval",
    "arg0",
    "arg1",
    "curtask",
    "kstack",
    "ustack",
    "func",
    "username",
    "$1",
    "$2",
    "$#",
    "args",
    "cpid",
    "numaid",
    "jiffies",
  ],
  [
    "+",
    "-",
    "*",
    "/",
    "%",
    "&",
    "|",
    "^",
    "<<",
    ">>",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
  ],
  ["=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="],
  [
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "stats",
    "hist",
    "lhist",
    "delete",
    "clear",
    "zero",
    "print",
    "printf",
    "str",
    "ksym",
    "usym",
    "kaddr",
    "uaddr",
    "ntop",
    "strncmp",
    "join",
    "time",
    "strftime",
    "exit",
    "signal",
    "system",
    "cat",
    "reg",
    "sizeof",
    "buf",
    "macaddr",
    "cgroupid",
    "path",
    "override",
    "unwatch",
  ],
  [
    "0",
    "1",
    "-1",
    "2",
    "7",
    "8",
    "16",
    "63",
    "64",
    "255",
    "4096",
    "65536",
    "0x7fffffff",
    "0xffffffff",
    "-9223372036854775808",
    "18446744073709551615",
  ],
  ["@", "@x", "@m", "@start", "$x", "$i", "$s", "$t"],
  [
    "(uint8)",
    "(int8)",
    "(uint16)",
    "(int32)",
    "(uint64)",
    "(int64)",
    "(struct task_struct *)",
    "(char *)",
  ],
];

function mutate(r: Rand, toks: string[], seeds: readonly string[]): void {
  const at = r.int(toks.length + 1);
  if (r.chance(0.3)) {
    // Same-class replacement: the program stays parseable more often, so
    // sema and codegen see more of these.
    const spots = toks.flatMap((t, i) =>
      SAME_CLASS.some((c) => c.includes(t)) ? [i] : []
    );
    if (spots.length > 0) {
      const i = r.pick(spots);
      const cls = SAME_CLASS.find((c) => c.includes(toks[i]))!;
      toks[i] = r.pick(cls);
      return;
    }
  }
  switch (r.int(11)) {
    case 0: // delete a run of tokens
      toks.splice(at, 1 + r.int(4));
      break;
    case 1: { // duplicate a run
      const len = 1 + r.int(8);
      toks.splice(at, 0, ...toks.slice(at, at + len));
      break;
    }
    case 2: { // swap two tokens
      const b = r.int(toks.length);
      if (at < toks.length) [toks[at], toks[b]] = [toks[b], toks[at]];
      break;
    }
    case 3: { // splice in a run of another seed
      const other = tokens(r.pick(seeds));
      const from = r.int(other.length);
      toks.splice(at, r.int(3), ...other.slice(from, from + 1 + r.int(20)));
      break;
    }
    case 4: // replace with a dictionary token
      toks.splice(at, 1, r.pick(SOURCE_TOKENS));
      break;
    case 5: // insert a dictionary token
      toks.splice(at, 0, r.pick(SOURCE_TOKENS), " ");
      break;
    case 6: { // a huge literal in place of a number
      const nums = toks.flatMap((t, i) => /^\d|^0x/.test(t) ? [i] : []);
      const i = nums.length > 0 ? r.pick(nums) : at;
      toks.splice(i, 1, r.pick(HUGE_INTS));
      break;
    }
    case 7: { // a huge string or identifier
      const n = r.pick([100, 1000, 10_000, 100_000]);
      const s = r.chance(0.5)
        ? `"${r.pick(["x", "%d", "\\n", "\\x41", "%s"]).repeat(n)}"`
        : `$${"v".repeat(n)}`;
      toks.splice(at, r.int(2), s);
      break;
    }
    case 8: // deep nesting of a neighbouring token
      toks.splice(at, 1, deep(r, toks[at]?.trim() || "1"));
      break;
    case 9: // a random character
      toks.splice(at, r.int(2), String.fromCharCode(r.int(128)));
      break;
    default: { // truncate
      toks.length = Math.min(toks.length, at);
    }
  }
}

/**
 * Whether every `ERROR:` line of `text` is `fuzz.bt:LINE:COL: ERROR: …`
 * with a line inside `src`.
 */
export function locatedErrors(
  text: string,
  src: string,
  file: string,
): true | string {
  const lines = src.split("\n").length;
  for (const line of text.split("\n")) {
    if (!line.includes("ERROR")) continue;
    const m = line.match(/^(.+?):(\d+):(\d+): ERROR: \S/);
    if (m === null || m[1] !== file) return line.slice(0, 200);
    const l = Number(m[2]);
    if (l < 1 || l > lines || Number(m[3]) < 1) return line.slice(0, 200);
  }
  return true;
}

/** The compiler fuzzer, in-process. */
export class CompilerFuzzer implements Fuzzer {
  readonly name = "compiler";
  readonly seeds = seedPrograms();

  /** A seed with one to four mutations. */
  generate(r: Rand): string {
    const toks = tokens(r.pick(this.seeds));
    const n = r.chance(0.5) ? 1 : 2 + r.int(3);
    for (let i = 0; i < n; i++) {
      mutate(r, toks, this.seeds);
      let len = 0;
      const keep = toks.findIndex((t) => (len += t.length) > MAX_INPUT);
      if (keep >= 0) toks.length = keep;
    }
    // Duplicating a huge token again and again: keep inputs to a size a
    // user could type or generate (a few hundred kB).
    return toks.join("").slice(0, MAX_INPUT);
  }

  /**
   * Compiles and verifies `src`. The time bound applies to the compiler;
   * our verifier's own time (up to a million processed instructions, as
   * the kernel's) is not part of it.
   */
  check(src: string): Verdict {
    let prog;
    const t0 = performance.now();
    try {
      prog = compile(src, {
        fileName: FILE,
        params: ["1", "/bin/sh"],
        tracefsAvailable: false,
      });
    } catch (e) {
      if (!(e instanceof CompileErrors)) {
        return {
          outcome: "crash",
          finding: { kind: "crash", detail: describe(e) },
        };
      }
      if (e.errors.length === 0) {
        return {
          outcome: "unlocated",
          finding: {
            kind: "unlocated",
            detail: "CompileErrors without errors",
          },
        };
      }
      const bad = locatedErrors(e.format(), src, FILE);
      if (bad !== true) {
        return {
          outcome: "unlocated",
          finding: { kind: "unlocated", detail: bad },
        };
      }
      const internal = e.errors.find((x) =>
        /Internal|Maximum call stack|Cannot read properties|is not a function|undefined/
          .test(x.message)
      );
      if (internal !== undefined) {
        return {
          outcome: "crash",
          finding: {
            kind: "crash",
            detail: `internal error reported: ${internal.message}`,
          },
        };
      }
      return { outcome: "errors", ms: performance.now() - t0 };
    }
    const ms = performance.now() - t0;
    try {
      for (const probe of prog.probes) {
        verify(probe.insns, {
          maps: prog.maps,
          ctxSize: probe.ctx.size,
          progType: probe.progType,
          maxInsnsProcessed: VERIFY_BUDGET,
        });
      }
    } catch (e) {
      if (e instanceof VerifierError) return { outcome: "rejected", ms };
      return {
        outcome: "crash",
        finding: { kind: "crash", detail: describe(e) },
      };
    }
    return { outcome: "ok", ms };
  }
}

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

/**
 * Runs `src` through the CLI (`--dry-run`, interpreter backend, 300 MB
 * heap) and judges its exit code and output.
 */
export async function checkCli(
  src: string,
  timeoutMs = 30_000,
): Promise<Verdict> {
  // A long program, or one with a NUL byte, goes in a file: an argument
  // list has a size limit and no NUL.
  const file = src.length > 50_000 || src.includes("\0")
    ? await Deno.makeTempFile({ suffix: ".bt" })
    : undefined;
  if (file !== undefined) await Deno.writeTextFile(file, src);
  try {
    return await runCli(src, file, timeoutMs);
  } finally {
    if (file !== undefined) await Deno.remove(file);
  }
}

async function runCli(
  src: string,
  file: string | undefined,
  timeoutMs: number,
): Promise<Verdict> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-lock",
      "--v8-flags=--max-old-space-size=300",
      MOD,
      "--dry-run",
      "--backend",
      "interp",
      ...(file === undefined ? ["-e", src] : [file]),
      "1",
      "/bin/sh",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const err = new TextDecoder().decode(out.stderr);
  if (killed) {
    return {
      outcome: "hang",
      finding: { kind: "hang", detail: `CLI killed after ${timeoutMs} ms` },
    };
  }
  if (![0, 1, 2].includes(out.code)) {
    return {
      outcome: "exit-code",
      finding: {
        kind: "exit-code",
        detail: `exit ${out.code}: ${err.slice(0, 300)}`,
      },
    };
  }
  if (/^\s+at .+:\d+:\d+\)?$/m.test(err) || err.includes("Uncaught")) {
    return {
      outcome: "crash",
      finding: { kind: "crash", detail: `stack trace: ${err.slice(0, 400)}` },
    };
  }
  if (out.code === 2) {
    const bad = locatedErrors(err, src, file ?? "stdin");
    if (bad !== true) {
      return {
        outcome: "unlocated",
        finding: { kind: "unlocated", detail: bad },
      };
    }
  }
  return { outcome: `cli-exit-${out.code}` };
}

/** The CLI as a fuzzer over the compiler fuzzer's inputs (slow: a process per case). */
export class CliFuzzer implements Fuzzer {
  readonly name = "cli";
  readonly #inner = new CompilerFuzzer();

  /** The compiler fuzzer's input for the same random source. */
  generate(r: Rand): string {
    return this.#inner.generate(r);
  }

  /** Runs the CLI. */
  check(src: string): Promise<Verdict> {
    return checkCli(src);
  }
}
